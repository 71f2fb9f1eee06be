#include "jobs/model/logistic_regression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "jobs/model/standardizer.h"

namespace winback::model {
namespace {

double TestSigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Checks the first-order optimality conditions of
// 0.5 ||w||^2 + C sum s_i logloss_i directly (independent of the solver):
// X^T (s .* (y - p)) = w / C and sum s .* (y - p) = 0.
void ExpectOptimal(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                   const Eigen::VectorXd& s, double c, const LogisticFit& fit,
                   double tol) {
  Eigen::VectorXd r(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double p =
        TestSigmoid(x.row(i).dot(fit.coefficients) + fit.intercept);
    r(i) = s(i) * (y(i) - p);
  }
  const Eigen::VectorXd lhs = x.transpose() * r;
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    EXPECT_NEAR(lhs(j), fit.coefficients(j) / c, tol) << "feature " << j;
  }
  EXPECT_NEAR(r.sum(), 0.0, tol);
}

// x = +1 with n1 rows y = 1 and n2 rows y = 0; x = -1 mirrored. By symmetry
// b = 0, and the optimum solves w = 2C (n1 (1 - sigmoid(w)) - n2 sigmoid(w)).
void SymmetricData(int n1, int n2, Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  const int n = 2 * (n1 + n2);
  x->resize(n, 1);
  y->resize(n);
  int i = 0;
  for (int k = 0; k < n1; ++k, ++i) {
    (*x)(i, 0) = 1;
    (*y)(i) = 1;
  }
  for (int k = 0; k < n2; ++k, ++i) {
    (*x)(i, 0) = 1;
    (*y)(i) = 0;
  }
  for (int k = 0; k < n1; ++k, ++i) {
    (*x)(i, 0) = -1;
    (*y)(i) = 0;
  }
  for (int k = 0; k < n2; ++k, ++i) {
    (*x)(i, 0) = -1;
    (*y)(i) = 1;
  }
}

// Root of w - 2C (n1 (1 - sigmoid(w)) - n2 sigmoid(w)), increasing in w, by
// bisection on [-2C(n1+n2), 2C(n1+n2)].
double SymmetricOptimum(int n1, int n2, double c) {
  auto h = [&](double w) {
    return w - 2 * c * (n1 * (1 - TestSigmoid(w)) - n2 * TestSigmoid(w));
  };
  double lo = -2 * c * (n1 + n2), hi = 2 * c * (n1 + n2);
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (h(mid) > 0 ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

TEST(FitLogistic, MatchesScalarOptimumOfSymmetricData) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  SymmetricData(7, 3, &x, &y);
  LogisticOptions options;
  options.c = 0.5;
  auto fit = FitLogistic(x, y, Eigen::VectorXd(), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->converged);
  EXPECT_NEAR(fit->coefficients(0), SymmetricOptimum(7, 3, 0.5), 1e-10);
  EXPECT_NEAR(fit->intercept, 0.0, 1e-10);
  ExpectOptimal(x, y, Eigen::VectorXd::Ones(x.rows()), 0.5, *fit, 1e-8);
}

TEST(FitLogistic, WeightedFitSatisfiesOptimalityConditions) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  const int n = 400, d = 5;
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n), s(n);
  const Eigen::VectorXd beta =
      (Eigen::VectorXd(d) << 1, -2, 0.5, 0, 3).finished();
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x(i, j) = normal(rng) * (j + 1) + j;
    y(i) = unit(rng) < TestSigmoid(x.row(i).dot(beta) * 0.3 - 1) ? 1 : 0;
    s(i) = 0.2 + 2 * unit(rng);
  }
  for (double c : {1e-3, 0.3, 10.0}) {
    LogisticOptions options;
    options.c = c;
    auto fit = FitLogistic(x, y, s, options);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_TRUE(fit->converged);
    EXPECT_LT(fit->iterations, 30);
    ExpectOptimal(x, y, s, c, *fit, 1e-8);
  }
}

TEST(FitLogistic, WarmStartReachesTheSameOptimum) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  const int n = 600, d = 4;
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x(i, j) = normal(rng);
    y(i) = unit(rng) < TestSigmoid(x(i, 0) - 0.5 * x(i, 2) + 0.3) ? 1 : 0;
  }
  LogisticOptions options;
  options.c = 0.01;
  auto weak = FitLogistic(x, y, Eigen::VectorXd(), options);
  ASSERT_TRUE(weak.ok()) << weak.status();
  options.c = 10.0;
  auto cold = FitLogistic(x, y, Eigen::VectorXd(), options);
  auto warm = FitLogistic(x, y, Eigen::VectorXd(), options, &*weak);
  ASSERT_TRUE(cold.ok() && warm.ok());
  ExpectOptimal(x, y, Eigen::VectorXd::Ones(n), 10.0, *warm, 1e-8);
  EXPECT_LT((warm->coefficients - cold->coefficients).lpNorm<Eigen::Infinity>(),
            1e-8);
  EXPECT_NEAR(warm->intercept, cold->intercept, 1e-8);
  // Starting at the optimum itself needs no step at all.
  auto again = FitLogistic(x, y, Eigen::VectorXd(), options, &*cold);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->iterations, 0);

  LogisticFit wrong = *cold;
  wrong.coefficients.resize(d + 1);
  wrong.coefficients.setZero();
  EXPECT_EQ(FitLogistic(x, y, Eigen::VectorXd(), options, &wrong)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FitLogistic, SeparableDataGivesFiniteRidgeOptimum) {
  // x = +1 -> y = 1 and x = -1 -> y = 0, five rows each: the unpenalised MLE
  // runs off to w = infinity, the ridge optimum solves w = 10 C sigmoid(-w).
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  SymmetricData(5, 0, &x, &y);
  double previous = 0.0;
  for (double c : {0.1, 1.0, 100.0, 1e6}) {
    LogisticOptions options;
    options.c = c;
    auto fit = FitLogistic(x, y, Eigen::VectorXd(), options);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_TRUE(std::isfinite(fit->coefficients(0)));
    EXPECT_NEAR(fit->coefficients(0), SymmetricOptimum(5, 0, c),
                1e-9 * std::max(1.0, fit->coefficients(0)));
    EXPECT_GT(fit->coefficients(0), previous);  // grows without bound in C
    previous = fit->coefficients(0);
  }
}

TEST(FitLogistic, SeparableMultiFeatureFitIsFiniteAndOptimal) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  const int n = 200, d = 3;
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x(i, j) = normal(rng);
    const double margin = x(i, 0) + 0.5 * x(i, 1) - 0.2;
    if (std::abs(margin) < 0.1) x(i, 0) += margin > 0 ? 0.2 : -0.2;  // gap
    y(i) = x(i, 0) + 0.5 * x(i, 1) - 0.2 > 0 ? 1 : 0;
  }
  for (double c : {1.0, 1e4}) {
    LogisticOptions options;
    options.c = c;
    auto fit = FitLogistic(x, y, Eigen::VectorXd(), options);
    ASSERT_TRUE(fit.ok()) << fit.status();
    EXPECT_TRUE(fit->coefficients.allFinite());
    ExpectOptimal(x, y, Eigen::VectorXd::Ones(n), c, *fit, 1e-8);
  }
}

// Fisher's iris (scikit-learn's load_iris()), label 1 = virginica (target 2).
// Columns: sepal length, sepal width, petal length, petal width, label.
constexpr double kIris[150][5] = {
    {5.1, 3.5, 1.4, 0.2, 0}, {4.9, 3, 1.4, 0.2, 0},   {4.7, 3.2, 1.3, 0.2, 0},
    {4.6, 3.1, 1.5, 0.2, 0}, {5, 3.6, 1.4, 0.2, 0},   {5.4, 3.9, 1.7, 0.4, 0},
    {4.6, 3.4, 1.4, 0.3, 0}, {5, 3.4, 1.5, 0.2, 0},   {4.4, 2.9, 1.4, 0.2, 0},
    {4.9, 3.1, 1.5, 0.1, 0}, {5.4, 3.7, 1.5, 0.2, 0}, {4.8, 3.4, 1.6, 0.2, 0},
    {4.8, 3, 1.4, 0.1, 0},   {4.3, 3, 1.1, 0.1, 0},   {5.8, 4, 1.2, 0.2, 0},
    {5.7, 4.4, 1.5, 0.4, 0}, {5.4, 3.9, 1.3, 0.4, 0}, {5.1, 3.5, 1.4, 0.3, 0},
    {5.7, 3.8, 1.7, 0.3, 0}, {5.1, 3.8, 1.5, 0.3, 0}, {5.4, 3.4, 1.7, 0.2, 0},
    {5.1, 3.7, 1.5, 0.4, 0}, {4.6, 3.6, 1, 0.2, 0},   {5.1, 3.3, 1.7, 0.5, 0},
    {4.8, 3.4, 1.9, 0.2, 0}, {5, 3, 1.6, 0.2, 0},     {5, 3.4, 1.6, 0.4, 0},
    {5.2, 3.5, 1.5, 0.2, 0}, {5.2, 3.4, 1.4, 0.2, 0}, {4.7, 3.2, 1.6, 0.2, 0},
    {4.8, 3.1, 1.6, 0.2, 0}, {5.4, 3.4, 1.5, 0.4, 0}, {5.2, 4.1, 1.5, 0.1, 0},
    {5.5, 4.2, 1.4, 0.2, 0}, {4.9, 3.1, 1.5, 0.2, 0}, {5, 3.2, 1.2, 0.2, 0},
    {5.5, 3.5, 1.3, 0.2, 0}, {4.9, 3.6, 1.4, 0.1, 0}, {4.4, 3, 1.3, 0.2, 0},
    {5.1, 3.4, 1.5, 0.2, 0}, {5, 3.5, 1.3, 0.3, 0},   {4.5, 2.3, 1.3, 0.3, 0},
    {4.4, 3.2, 1.3, 0.2, 0}, {5, 3.5, 1.6, 0.6, 0},   {5.1, 3.8, 1.9, 0.4, 0},
    {4.8, 3, 1.4, 0.3, 0},   {5.1, 3.8, 1.6, 0.2, 0}, {4.6, 3.2, 1.4, 0.2, 0},
    {5.3, 3.7, 1.5, 0.2, 0}, {5, 3.3, 1.4, 0.2, 0},   {7, 3.2, 4.7, 1.4, 0},
    {6.4, 3.2, 4.5, 1.5, 0}, {6.9, 3.1, 4.9, 1.5, 0}, {5.5, 2.3, 4, 1.3, 0},
    {6.5, 2.8, 4.6, 1.5, 0}, {5.7, 2.8, 4.5, 1.3, 0}, {6.3, 3.3, 4.7, 1.6, 0},
    {4.9, 2.4, 3.3, 1, 0},   {6.6, 2.9, 4.6, 1.3, 0}, {5.2, 2.7, 3.9, 1.4, 0},
    {5, 2, 3.5, 1, 0},       {5.9, 3, 4.2, 1.5, 0},   {6, 2.2, 4, 1, 0},
    {6.1, 2.9, 4.7, 1.4, 0}, {5.6, 2.9, 3.6, 1.3, 0}, {6.7, 3.1, 4.4, 1.4, 0},
    {5.6, 3, 4.5, 1.5, 0},   {5.8, 2.7, 4.1, 1, 0},   {6.2, 2.2, 4.5, 1.5, 0},
    {5.6, 2.5, 3.9, 1.1, 0}, {5.9, 3.2, 4.8, 1.8, 0}, {6.1, 2.8, 4, 1.3, 0},
    {6.3, 2.5, 4.9, 1.5, 0}, {6.1, 2.8, 4.7, 1.2, 0}, {6.4, 2.9, 4.3, 1.3, 0},
    {6.6, 3, 4.4, 1.4, 0},   {6.8, 2.8, 4.8, 1.4, 0}, {6.7, 3, 5, 1.7, 0},
    {6, 2.9, 4.5, 1.5, 0},   {5.7, 2.6, 3.5, 1, 0},   {5.5, 2.4, 3.8, 1.1, 0},
    {5.5, 2.4, 3.7, 1, 0},   {5.8, 2.7, 3.9, 1.2, 0}, {6, 2.7, 5.1, 1.6, 0},
    {5.4, 3, 4.5, 1.5, 0},   {6, 3.4, 4.5, 1.6, 0},   {6.7, 3.1, 4.7, 1.5, 0},
    {6.3, 2.3, 4.4, 1.3, 0}, {5.6, 3, 4.1, 1.3, 0},   {5.5, 2.5, 4, 1.3, 0},
    {5.5, 2.6, 4.4, 1.2, 0}, {6.1, 3, 4.6, 1.4, 0},   {5.8, 2.6, 4, 1.2, 0},
    {5, 2.3, 3.3, 1, 0},     {5.6, 2.7, 4.2, 1.3, 0}, {5.7, 3, 4.2, 1.2, 0},
    {5.7, 2.9, 4.2, 1.3, 0}, {6.2, 2.9, 4.3, 1.3, 0}, {5.1, 2.5, 3, 1.1, 0},
    {5.7, 2.8, 4.1, 1.3, 0}, {6.3, 3.3, 6, 2.5, 1},   {5.8, 2.7, 5.1, 1.9, 1},
    {7.1, 3, 5.9, 2.1, 1},   {6.3, 2.9, 5.6, 1.8, 1}, {6.5, 3, 5.8, 2.2, 1},
    {7.6, 3, 6.6, 2.1, 1},   {4.9, 2.5, 4.5, 1.7, 1}, {7.3, 2.9, 6.3, 1.8, 1},
    {6.7, 2.5, 5.8, 1.8, 1}, {7.2, 3.6, 6.1, 2.5, 1}, {6.5, 3.2, 5.1, 2, 1},
    {6.4, 2.7, 5.3, 1.9, 1}, {6.8, 3, 5.5, 2.1, 1},   {5.7, 2.5, 5, 2, 1},
    {5.8, 2.8, 5.1, 2.4, 1}, {6.4, 3.2, 5.3, 2.3, 1}, {6.5, 3, 5.5, 1.8, 1},
    {7.7, 3.8, 6.7, 2.2, 1}, {7.7, 2.6, 6.9, 2.3, 1}, {6, 2.2, 5, 1.5, 1},
    {6.9, 3.2, 5.7, 2.3, 1}, {5.6, 2.8, 4.9, 2, 1},   {7.7, 2.8, 6.7, 2, 1},
    {6.3, 2.7, 4.9, 1.8, 1}, {6.7, 3.3, 5.7, 2.1, 1}, {7.2, 3.2, 6, 1.8, 1},
    {6.2, 2.8, 4.8, 1.8, 1}, {6.1, 3, 4.9, 1.8, 1},   {6.4, 2.8, 5.6, 2.1, 1},
    {7.2, 3, 5.8, 1.6, 1},   {7.4, 2.8, 6.1, 1.9, 1}, {7.9, 3.8, 6.4, 2, 1},
    {6.4, 2.8, 5.6, 2.2, 1}, {6.3, 2.8, 5.1, 1.5, 1}, {6.1, 2.6, 5.6, 1.4, 1},
    {7.7, 3, 6.1, 2.3, 1},   {6.3, 3.4, 5.6, 2.4, 1}, {6.4, 3.1, 5.5, 1.8, 1},
    {6, 3, 4.8, 1.8, 1},     {6.9, 3.1, 5.4, 2.1, 1}, {6.7, 3.1, 5.6, 2.4, 1},
    {6.9, 3.1, 5.1, 2.3, 1}, {5.8, 2.7, 5.1, 1.9, 1}, {6.8, 3.2, 5.9, 2.3, 1},
    {6.7, 3.3, 5.7, 2.5, 1}, {6.7, 3, 5.2, 2.3, 1},   {6.3, 2.5, 5, 1.9, 1},
    {6.5, 3, 5.2, 2, 1},     {6.2, 3.4, 5.4, 2.3, 1}, {5.9, 3, 5.1, 1.8, 1},
};

void Iris(Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  x->resize(150, 4);
  y->resize(150);
  for (int i = 0; i < 150; ++i) {
    for (int j = 0; j < 4; ++j) (*x)(i, j) = kIris[i][j];
    (*y)(i) = kIris[i][4];
  }
}

void ExpectCoefficients(const LogisticFit& fit, const double (&want)[5],
                        double tol) {
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(fit.coefficients(j), want[j], tol);
  EXPECT_NEAR(fit.intercept, want[4], tol);
}

// References, with /usr/bin/python3 (scikit-learn 1.2.1, numpy, scipy):
//   X, t = sklearn.datasets.load_iris(return_X_y=True); y = (t == 2)
//   LogisticRegression(penalty='l2', solver='lbfgs', tol=1e-12,
//                      max_iter=100000, C=...).fit(A, y)   -> kSk* (lbfgs
//     stops ~1e-5 short of the optimum, hence the loose tolerance), and the
//   same objective minimised by scipy.optimize.minimize(method='trust-exact',
//     options={'gtol': 1e-13}) with the analytic gradient and Hessian
//     -> kExact* (final max |gradient| < 1e-9).
// A = X raw, C = 0.05:
constexpr double kSkRaw[5] = {0.25893378560186586, 0.02469693434470123,
                              0.8697141024281172, 0.5222415979055044,
                              -6.867843270645639};
constexpr double kExactRaw[5] = {0.25893409183308097, 0.02469677171921909,
                                 0.8697141456034087, 0.5222416941521597,
                                 -6.867845001758759};
// A = StandardScaler().fit_transform(X), C = 1.0:
constexpr double kSkStd[5] = {0.1399478245877806, -0.5147763377473942,
                              2.4802560117556602, 3.140771331885859,
                              -3.8015738988923644};
constexpr double kExactStd[5] = {0.13995214220052585, -0.5147810512145329,
                                 2.4802612709876235, 3.14076238101648,
                                 -3.801573693146811};
// A standardised, C = 0.1, class_weight='balanced' (sample weights
// n / (2 n_c), i.e. compute_sample_weight('balanced', y), for scipy):
constexpr double kSkBal[5] = {0.4296044752075648, -0.03455189108115809,
                              0.875046637119578, 1.1436272654046695,
                              -1.0034503604507};
constexpr double kExactBal[5] = {0.429602469163498, -0.03455100690803496,
                                 0.8750411795078853, 1.143636985003717,
                                 -1.0034521579326936};

TEST(FitLogistic, MatchesScikitLearnOnRawIris) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Iris(&x, &y);
  LogisticOptions options;
  options.c = 0.05;
  auto fit = FitLogistic(x, y, Eigen::VectorXd(), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectCoefficients(*fit, kSkRaw, 1e-5);
  ExpectCoefficients(*fit, kExactRaw, 1e-7);
}

TEST(FitLogistic, MatchesScikitLearnOnStandardizedIris) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Iris(&x, &y);
  auto standardizer = Standardizer::Fit(x);
  ASSERT_TRUE(standardizer.ok());
  const Eigen::MatrixXd z = standardizer->Transform(x);
  LogisticOptions options;
  options.c = 1.0;
  auto fit = FitLogistic(z, y, Eigen::VectorXd(), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectCoefficients(*fit, kSkStd, 5e-5);
  ExpectCoefficients(*fit, kExactStd, 1e-8);

  // Balanced class weights: 150 / (2 * 50) for virginica, 150 / (2 * 100).
  Eigen::VectorXd s(150);
  for (int i = 0; i < 150; ++i) s(i) = y(i) == 1 ? 1.5 : 0.75;
  options.c = 0.1;
  auto balanced = FitLogistic(z, y, s, options);
  ASSERT_TRUE(balanced.ok()) << balanced.status();
  ExpectCoefficients(*balanced, kSkBal, 5e-5);
  ExpectCoefficients(*balanced, kExactBal, 1e-8);
}

TEST(FitLogistic, ReportsNonConvergence) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Iris(&x, &y);
  LogisticOptions options;
  options.max_iterations = 1;
  auto failed = FitLogistic(x, y, Eigen::VectorXd(), options);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  options.require_convergence = false;
  auto flagged = FitLogistic(x, y, Eigen::VectorXd(), options);
  ASSERT_TRUE(flagged.ok());
  EXPECT_FALSE(flagged->converged);
  EXPECT_EQ(flagged->iterations, 1);
  EXPECT_GT(flagged->gradient_norm, 0.0);
}

TEST(FitLogistic, RejectsBadInput) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 1);
  Eigen::VectorXd y(3);
  y << 0, 1, 2;
  EXPECT_EQ(FitLogistic(x, y, Eigen::VectorXd(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  y << 0, 1, 1;
  LogisticOptions bad;
  bad.c = 0;
  EXPECT_EQ(FitLogistic(x, y, Eigen::VectorXd(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLogistic(x, y, Eigen::VectorXd::Ones(2), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitLogistic(x, y, -Eigen::VectorXd::Ones(3), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Standardizer, UsesPopulationSdAndUnitScaleForConstantColumns) {
  Eigen::MatrixXd x(4, 2);
  x << 1, 5, 2, 5, 3, 5, 6, 5;
  auto s = Standardizer::Fit(x);
  ASSERT_TRUE(s.ok());
  // Column 0: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, sd sqrt(14/4).
  EXPECT_DOUBLE_EQ(s->mean(0), 3.0);
  EXPECT_DOUBLE_EQ(s->scale(0), std::sqrt(3.5));
  EXPECT_DOUBLE_EQ(s->scale(1), 1.0);
  const Eigen::MatrixXd z = s->Transform(x);
  EXPECT_DOUBLE_EQ(z(3, 0), 3.0 / std::sqrt(3.5));
  EXPECT_DOUBLE_EQ(z(0, 1), 0.0);
  EXPECT_FALSE(Standardizer::Fit(Eigen::MatrixXd(0, 2)).ok());
}

}  // namespace
}  // namespace winback::model
