#include "jobs/model/newton_terms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace winback::model::logistic_internal {
namespace {

std::vector<SimdKernel> Kernels() {
  std::vector<SimdKernel> kernels = {SimdKernel::kBaseline};
  if (CpuHasAvx2()) kernels.push_back(SimdKernel::kAvx2);
  return kernels;
}

// Sizes around the kernels' 4-row vectors, 2 x 4 Hessian tiles and
// 256-row blocks.
constexpr int kDims[] = {1, 2, 3, 4, 5, 7, 20};
constexpr int kRows[] = {0, 1, 3, 4, 5, 255, 256, 257, 515, 1030};

Eigen::MatrixXd Random(int rows, int cols, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = normal(rng);
  return m;
}

// Calls check(kernel, d, n) for every kernel build, kDims and kRows, with
// the case named in failure messages.
template <typename Check>
void ForEachShape(Check check) {
  for (SimdKernel kernel : Kernels()) {
    for (int d : kDims) {
      for (int n : kRows) {
        SCOPED_TRACE(testing::Message()
                     << "d " << d << ", n " << n << ", kernel "
                     << static_cast<int>(kernel));
        check(kernel, d, n);
      }
    }
  }
}

TEST(AddNewtonTerms, AddsTheSumsOfPlainLoops) {
  std::mt19937_64 rng(11);
  ForEachShape([&](SimdKernel kernel, int d, int n) {
    const Eigen::MatrixXd x = Random(n, d, rng);
    const Eigen::VectorXd r = Random(n, 1, rng);
    const Eigen::VectorXd dv = Random(n, 1, rng).cwiseAbs();
    // Start from non-zero sums: the kernel adds to them. The Hessian
    // has a spare row and column, as FitLogistic's intercept needs.
    Eigen::VectorXd grad = Random(d, 1, rng), cross = Random(d, 1, rng);
    Eigen::MatrixXd hess = Random(d + 1, d + 1, rng);
    Eigen::VectorXd want_grad = grad, want_cross = cross;
    Eigen::MatrixXd want_hess = hess;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < d; ++j) {
        want_grad(j) += r(i) * x(i, j);
        want_cross(j) += dv(i) * x(i, j);
        for (int k = 0; k <= j; ++k) {
          want_hess(j, k) += dv(i) * x(i, j) * x(i, k);
        }
      }
    }
    AddNewtonTerms(x, r, dv, grad, cross, hess, kernel);
    const double tol = 1e-12 * (1 + n);
    for (int j = 0; j < d; ++j) {
      EXPECT_NEAR(grad(j), want_grad(j), tol) << "grad " << j;
      EXPECT_NEAR(cross(j), want_cross(j), tol) << "cross " << j;
    }
    for (int j = 0; j <= d; ++j) {
      for (int k = 0; k <= d; ++k) {
        if (k <= j && j < d) {
          EXPECT_NEAR(hess(j, k), want_hess(j, k), tol)
              << "hess " << j << "," << k;
        } else {  // the upper triangle and the spare row: untouched
          EXPECT_EQ(hess(j, k), want_hess(j, k)) << "hess " << j << "," << k;
        }
      }
    }
  });
}

// Calls check(kernel, n) for every kernel build and kRows, with the case
// named in failure messages.
template <typename Check>
void ForEachRowCount(Check check) {
  for (SimdKernel kernel : Kernels()) {
    for (int n : kRows) {
      SCOPED_TRACE(testing::Message()
                   << "n " << n << ", kernel " << static_cast<int>(kernel));
      check(kernel, n);
    }
  }
}

// n rows for the per-row kernels: margins z from tiny to saturated, both
// signs and both zeros; labels y; weights s, some of them zero.
void MarginRows(int n, std::mt19937_64& rng, Eigen::VectorXd* z,
                Eigen::VectorXd* y, Eigen::VectorXd* s) {
  std::normal_distribution<double> normal;
  z->resize(n);
  y->resize(n);
  s->resize(n);
  for (int i = 0; i < n; ++i) {
    (*z)(i) = i % 7 == 0   ? (i % 2 ? 0.0 : -0.0)
              : i % 7 == 1 ? 800.0 * normal(rng)
                           : 4.0 * normal(rng);
    (*y)(i) = i % 3 == 0 ? 1.0 : 0.0;
    (*s)(i) = i % 5 == 0 ? 0.0 : std::abs(normal(rng)) + 0.5;
  }
}

TEST(LogisticWeights, EqualTheScalarFormulasExactly) {
  std::mt19937_64 rng(13);
  ForEachRowCount([&](SimdKernel kernel, int n) {
    Eigen::VectorXd z, y, s;
    MarginRows(n, rng, &z, &y, &s);
    Eigen::VectorXd e(n);
    for (int i = 0; i < n; ++i) e(i) = std::exp(-std::abs(z(i)));
    const double c = 0.37;
    Eigen::VectorXd r, dv;
    LogisticWeights(z, e, y, s, c, r, dv, kernel);
    ASSERT_EQ(r.size(), n);
    ASSERT_EQ(dv.size(), n);
    for (int i = 0; i < n; ++i) {
      const double p = z(i) >= 0 ? 1.0 / (1.0 + e(i)) : e(i) / (1.0 + e(i));
      EXPECT_EQ(r(i), c * s(i) * (p - y(i))) << "row " << i;
      EXPECT_EQ(dv(i), c * s(i) * p * (1.0 - p)) << "row " << i;
    }
  });
}

TEST(LogisticLoss, MatchesLogOfOnePlusExpInLongDouble) {
  // The reference is the loss's definition, log(1 + exp(z)) - y z, in long
  // double, where exp(+-800) neither overflows nor underflows; the kernels
  // compute it another way (softplus from exp(-|z|)), in double.
  std::mt19937_64 rng(17);
  ForEachRowCount([&](SimdKernel kernel, int n) {
    Eigen::VectorXd z, y, s;
    MarginRows(n, rng, &z, &y, &s);
    Eigen::VectorXd e;
    const double loss = LogisticLoss(z, y, s, e, kernel);
    ASSERT_EQ(e.size(), n);
    long double want = 0.0L, scale = 0.0L;
    for (int i = 0; i < n; ++i) {
      const long double zi = z(i);
      const long double row = std::log(1.0L + std::exp(zi)) - y(i) * zi;
      want += s(i) * row;
      scale += s(i) * std::abs(row);
      // exp(-|z|) to a few ulps; below double's range it is 0.
      const long double ei = std::exp(-std::abs(zi));
      EXPECT_NEAR(static_cast<long double>(e(i)), ei, 4e-16L * ei + 1e-300L)
          << "row " << i << ", z " << z(i);
    }
    EXPECT_NEAR(static_cast<long double>(loss), want, 1e-14L * scale)
        << "weighted loss of " << n << " rows";
  });
}

TEST(LinearPredictor, GivesInterceptPlusRowDotCoefficients) {
  std::mt19937_64 rng(12);
  ForEachShape([&](SimdKernel kernel, int d, int n) {
    const Eigen::MatrixXd x = Random(n, d, rng);
    const Eigen::VectorXd w = Random(d, 1, rng);
    const double b = 0.25 * n - 3;
    Eigen::VectorXd z = Eigen::VectorXd::Constant(7, 99.0);
    LinearPredictor(x, w, b, z, kernel);
    ASSERT_EQ(z.size(), n);
    for (int i = 0; i < n; ++i) {
      double want = b;
      for (int j = 0; j < d; ++j) want += x(i, j) * w(j);
      EXPECT_NEAR(z(i), want, 1e-12 * (1 + std::abs(want))) << "row " << i;
    }
  });
}

}  // namespace
}  // namespace winback::model::logistic_internal
