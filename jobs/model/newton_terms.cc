#include "jobs/model/newton_terms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "jobs/model/simd.h"

// Load and Splat below return 32-byte vectors by value. They are always
// inlined, so the baseline build's calling convention for such values, which
// GCC warns about, never applies.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace winback::model::logistic_internal {
namespace {

using Index = Eigen::Index;
using Double4 = double __attribute__((vector_size(4 * sizeof(double))));

#if defined(__x86_64__)
// glibc's vector math library (libmvec): exp and log1p of four doubles in
// one AVX2 register, within an ulp or two of the scalar functions. Only the
// AVX2 build calls them.
extern "C" Double4 _ZGVdN4v_exp(Double4 x);
extern "C" Double4 _ZGVdN4v_log1p(Double4 x);
#endif

// Rows per block: a block of 20 feature columns and its weighted copy take
// 80 KB, well inside a core's L2, while the Hessian tiles reread them.
// A multiple of 4.
constexpr Index kBlock = 256;

__attribute__((always_inline)) inline Double4 Load(const double* p) {
  Double4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
__attribute__((always_inline)) inline void Store(double* p, const Double4& v) {
  std::memcpy(p, &v, sizeof(v));
}
__attribute__((always_inline)) inline double Sum(const Double4& v) {
  return (v[0] + v[1]) + (v[2] + v[3]);
}
__attribute__((always_inline)) inline Double4 Splat(double v) {
  return Double4{} + v;
}
// {Sum(a[0]), Sum(a[1]), Sum(a[2]), Sum(a[3])}, summed in vector registers.
__attribute__((always_inline)) inline Double4 Sums(const Double4 a[4]) {
  using Mask = int64_t __attribute__((vector_size(4 * sizeof(int64_t))));
  // {a0[0] + a0[1], a1[0] + a1[1], a0[2] + a0[3], a1[2] + a1[3]}, and the
  // same for a2, a3.
  const Double4 t0 = __builtin_shuffle(a[0], a[1], Mask{0, 4, 2, 6}) +
                     __builtin_shuffle(a[0], a[1], Mask{1, 5, 3, 7});
  const Double4 t1 = __builtin_shuffle(a[2], a[3], Mask{0, 4, 2, 6}) +
                     __builtin_shuffle(a[2], a[3], Mask{1, 5, 3, 7});
  return __builtin_shuffle(t0, t1, Mask{0, 1, 4, 5}) +
         __builtin_shuffle(t0, t1, Mask{2, 3, 6, 7});
}

// x: column j of the rows at x + j * stride; rows [0, n). `u` is scratch of
// d * kBlock doubles. Adds to grad[j], cross[j] and, for k <= j, to
// tri[j * dp + k]; dp is d rounded up to a multiple of 4.
template <bool kAvx2>
__attribute__((always_inline)) inline void NewtonBody(
    const double* __restrict x, Index stride, int d, Index n,
    const double* __restrict r, const double* __restrict dv,
    double* __restrict u, double* __restrict grad, double* __restrict cross,
    double* __restrict tri, int dp) {
  const Index n4 = n & ~Index{3};
  for (Index i0 = 0; i0 < n4; i0 += kBlock) {
    const Index nb = std::min(kBlock, n4 - i0);
    // u = diag(dv) x for the block, with the gradient and cross sums.
    for (int j = 0; j < d; ++j) {
      const double* xj = x + j * stride + i0;
      double* uj = u + j * kBlock;
      Double4 g{}, c{};
      for (Index i = 0; i < nb; i += 4) {
        // The column's next block, a line (8 doubles) at a time: one stream
        // per feature column is more than the hardware prefetcher follows.
        if ((i & 7) == 0) __builtin_prefetch(xj + kBlock + i);
        const Double4 xv = Load(xj + i);
        const Double4 uv = Load(dv + i0 + i) * xv;
        Store(uj + i, uv);
        g += Load(r + i0 + i) * xv;
        c += uv;
      }
      grad[j] += Sum(g);
      cross[j] += Sum(c);
    }
    // The lower triangle of u^T x in tiles of 2 rows (j, j + 1) by 4
    // columns (k .. k + 3): 8 running sums in registers, added as two
    // vectors to the row-major `tri` (rows of `dp` >= d entries). Columns
    // past the last are read as the last one, and they and the cells above
    // the diagonal collect sums that are never read.
    for (int j = 0; j < d; j += 2) {
      const int j1 = std::min(j + 1, d - 1);
      const double* u0 = u + j * kBlock;
      const double* u1 = u + j1 * kBlock;
      for (int k = 0; k <= j1; k += 4) {
        const double* xk[4];
        for (int q = 0; q < 4; ++q) {
          xk[q] = x + std::min(k + q, d - 1) * stride + i0;
        }
        Double4 a0[4] = {}, a1[4] = {};
        for (Index i = 0; i < nb; i += 4) {
          const Double4 v0 = Load(u0 + i);
          const Double4 v1 = Load(u1 + i);
#pragma GCC unroll 4
          for (int q = 0; q < 4; ++q) {
            Double4 xv = Load(xk[q] + i);
            // Keep xv in a register: folded into both FMAs as a memory
            // operand it is loaded twice, and loads bound this loop.
            if constexpr (kAvx2) asm("" : "+x"(xv));
            a0[q] += v0 * xv;
            a1[q] += v1 * xv;
          }
        }
        double* t0 = tri + j * dp + k;
        Store(t0, Load(t0) + Sums(a0));
        if (j1 != j) {
          double* t1 = tri + j1 * dp + k;
          Store(t1, Load(t1) + Sums(a1));
        }
      }
    }
  }
  for (Index i = n4; i < n; ++i) {  // the last n % 4 rows
    for (int j = 0; j < d; ++j) {
      const double xj = x[j * stride + i];
      grad[j] += r[i] * xj;
      cross[j] += dv[i] * xj;
      for (int k = 0; k <= j; ++k) {
        tri[j * dp + k] += dv[i] * xj * x[k * stride + i];
      }
    }
  }
}

__attribute__((always_inline)) inline void PredictorBody(
    const double* __restrict x, Index stride, int d, Index n,
    const double* __restrict w, double b, double* __restrict z) {
  const Index n4 = n & ~Index{3};
  for (Index i0 = 0; i0 < n4; i0 += kBlock) {
    const Index nb = std::min(kBlock, n4 - i0);
    double* zb = z + i0;
    for (Index i = 0; i < nb; i += 4) Store(zb + i, Splat(b));
    // Four columns per pass over the block's z.
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      const double* p0 = x + j * stride + i0;
      const double* p1 = p0 + stride;
      const double* p2 = p1 + stride;
      const double* p3 = p2 + stride;
      const Double4 w0 = Splat(w[j]), w1 = Splat(w[j + 1]),
                    w2 = Splat(w[j + 2]), w3 = Splat(w[j + 3]);
      for (Index i = 0; i < nb; i += 4) {
        Double4 acc = Load(zb + i);
        acc += w0 * Load(p0 + i);
        acc += w1 * Load(p1 + i);
        acc += w2 * Load(p2 + i);
        acc += w3 * Load(p3 + i);
        Store(zb + i, acc);
      }
    }
    for (; j < d; ++j) {
      const double* p = x + j * stride + i0;
      const Double4 wj = Splat(w[j]);
      for (Index i = 0; i < nb; i += 4) {
        Store(zb + i, Load(zb + i) + wj * Load(p + i));
      }
    }
  }
  for (Index i = n4; i < n; ++i) {
    double acc = b;
    for (int j = 0; j < d; ++j) acc += w[j] * x[j * stride + i];
    z[i] = acc;
  }
}

__attribute__((always_inline)) inline void WeightsBody(
    const double* __restrict z, const double* __restrict e,
    const double* __restrict y, const double* __restrict s, double c, Index n,
    double* __restrict r, double* __restrict dv) {
  const Index n4 = n & ~Index{3};
  const Double4 one = Splat(1.0), cv = Splat(c);
  for (Index i = 0; i < n4; i += 4) {
    const Double4 ev = Load(e + i);
    const Double4 p = (Load(z + i) >= 0.0 ? one : ev) / (one + ev);
    const Double4 cs = cv * Load(s + i);
    Store(r + i, cs * (p - Load(y + i)));
    Store(dv + i, cs * p * (one - p));
  }
  for (Index i = n4; i < n; ++i) {
    const double p = (z[i] >= 0.0 ? 1.0 : e[i]) / (1.0 + e[i]);
    const double cs = c * s[i];
    r[i] = cs * (p - y[i]);
    dv[i] = cs * p * (1.0 - p);
  }
}

void WeightsBaseline(const double* z, const double* e, const double* y,
                     const double* s, double c, Index n, double* r,
                     double* dv) {
  WeightsBody(z, e, y, s, c, n, r, dv);
}

__attribute__((target("avx2,fma"))) void WeightsAvx2(
    const double* z, const double* e, const double* y, const double* s,
    double c, Index n, double* r, double* dv) {
  WeightsBody(z, e, y, s, c, n, r, dv);
}

// softplus(z) - y z = max(z, 0) + log1p(e) - y z, with e = exp(-|z|): the
// logistic loss of one row, without overflow.
double RowLoss(double z, double y, double* e) {
  *e = std::exp(-std::abs(z));
  return std::max(z, 0.0) + std::log1p(*e) - y * z;
}

double LossBaseline(const double* z, const double* y, const double* s, Index n,
                    double* e) {
  double loss = 0.0;
  for (Index i = 0; i < n; ++i) loss += s[i] * RowLoss(z[i], y[i], e + i);
  return loss;
}

__attribute__((target("avx2,fma"))) double LossAvx2(const double* z,
                                                    const double* y,
                                                    const double* s, Index n,
                                                    double* e) {
#if defined(__x86_64__)
  const Index n4 = n & ~Index{3};
  Double4 sum{};
  for (Index i = 0; i < n4; i += 4) {
    const Double4 zv = Load(z + i);
    const Double4 ev = _ZGVdN4v_exp(zv > 0.0 ? -zv : zv);
    Store(e + i, ev);
    const Double4 softplus = (zv > 0.0 ? zv : Double4{}) + _ZGVdN4v_log1p(ev);
    sum += Load(s + i) * (softplus - Load(y + i) * zv);
  }
  double loss = Sum(sum);
  for (Index i = n4; i < n; ++i) loss += s[i] * RowLoss(z[i], y[i], e + i);
  return loss;
#else
  return LossBaseline(z, y, s, n, e);
#endif
}

void NewtonBaseline(const double* x, Index stride, int d, Index n,
                    const double* r, const double* dv, double* u, double* grad,
                    double* cross, double* tri, int dp) {
  NewtonBody<false>(x, stride, d, n, r, dv, u, grad, cross, tri, dp);
}

__attribute__((target("avx2,fma"))) void NewtonAvx2(const double* x,
                                                    Index stride, int d,
                                                    Index n, const double* r,
                                                    const double* dv, double* u,
                                                    double* grad, double* cross,
                                                    double* tri, int dp) {
  NewtonBody<true>(x, stride, d, n, r, dv, u, grad, cross, tri, dp);
}

void PredictorBaseline(const double* x, Index stride, int d, Index n,
                       const double* w, double b, double* z) {
  PredictorBody(x, stride, d, n, w, b, z);
}

__attribute__((target("avx2,fma"))) void PredictorAvx2(const double* x,
                                                       Index stride, int d,
                                                       Index n, const double* w,
                                                       double b, double* z) {
  PredictorBody(x, stride, d, n, w, b, z);
}

}  // namespace

void AddNewtonTerms(const Eigen::MatrixXd& x, const Eigen::VectorXd& r,
                    const Eigen::VectorXd& dv, Eigen::VectorXd& grad,
                    Eigen::VectorXd& cross, Eigen::MatrixXd& hess,
                    SimdKernel kernel) {
  const int d = static_cast<int>(x.cols());
  if (d == 0 || x.rows() == 0) return;
  const int dp = (d + 3) & ~3;
  std::vector<double> u(static_cast<size_t>(d) * kBlock);
  std::vector<double> tri(static_cast<size_t>(d) * dp, 0.0);
  (UseAvx2(kernel) ? NewtonAvx2 : NewtonBaseline)(
      x.data(), x.rows(), d, x.rows(), r.data(), dv.data(), u.data(),
      grad.data(), cross.data(), tri.data(), dp);
  for (int j = 0; j < d; ++j) {
    for (int k = 0; k <= j; ++k) hess(j, k) += tri[j * dp + k];
  }
}

void LogisticWeights(const Eigen::VectorXd& z, const Eigen::VectorXd& e,
                     const Eigen::VectorXd& y, const Eigen::VectorXd& s,
                     double c, Eigen::VectorXd& r, Eigen::VectorXd& dv,
                     SimdKernel kernel) {
  r.resize(z.size());
  dv.resize(z.size());
  (UseAvx2(kernel) ? WeightsAvx2 : WeightsBaseline)(
      z.data(), e.data(), y.data(), s.data(), c, z.size(), r.data(), dv.data());
}

double LogisticLoss(const Eigen::VectorXd& z, const Eigen::VectorXd& y,
                    const Eigen::VectorXd& s, Eigen::VectorXd& e,
                    SimdKernel kernel) {
  e.resize(z.size());
  return (UseAvx2(kernel) ? LossAvx2 : LossBaseline)(
      z.data(), y.data(), s.data(), z.size(), e.data());
}

void LinearPredictor(const Eigen::MatrixXd& x, const Eigen::VectorXd& w,
                     double b, Eigen::VectorXd& z, SimdKernel kernel) {
  z.resize(x.rows());
  (UseAvx2(kernel) ? PredictorAvx2 : PredictorBaseline)(
      x.data(), x.rows(), static_cast<int>(x.cols()), x.rows(), w.data(), b,
      z.data());
}

}  // namespace winback::model::logistic_internal
