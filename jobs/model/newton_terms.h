// Internal to the model: the sums over rows that one Newton iteration of the
// logistic regression needs, as vectorised kernels over a column-major
// feature matrix.
//
// Eigen in this build vectorises with the baseline's SSE2 only (its packet
// width is fixed when it is compiled), and its matrix products pack their
// operands for each call. The Newton pass calls for many thin products over
// the same rows, so these kernels read each block of rows once while it is
// in cache, with an AVX2/FMA variant chosen at run time. The two variants
// round differently (FMA contracts a * b + c), at the level of the last bits.
#ifndef WINBACK_JOBS_MODEL_NEWTON_TERMS_H_
#define WINBACK_JOBS_MODEL_NEWTON_TERMS_H_

#include <Eigen/Dense>

#include "jobs/model/simd.h"

namespace winback::model::logistic_internal {

// Adds to `grad`, `cross` (x.cols() each) and the lower triangle of `hess`
// (x.cols() x x.cols() or larger; the strict upper triangle is left alone):
//   grad(j)    += sum_i r(i) x(i, j)
//   cross(j)   += sum_i dv(i) x(i, j)
//   hess(j, k) += sum_i dv(i) x(i, j) x(i, k)     for k <= j.
// r and dv have x.rows() entries.
void AddNewtonTerms(const Eigen::MatrixXd& x, const Eigen::VectorXd& r,
                    const Eigen::VectorXd& dv, Eigen::VectorXd& grad,
                    Eigen::VectorXd& cross, Eigen::MatrixXd& hess,
                    SimdKernel kernel = SimdKernel::kAuto);

// The Newton pass's row weights from z = X w + b and e = exp(-|z|), with
// p = sigmoid(z) = (z >= 0 ? 1 : e) / (1 + e):
//   r(i)  = c * s(i) * (p - y(i))
//   dv(i) = c * s(i) * p * (1 - p).
// Both builds do these operations in this order and none fuses into an FMA,
// so the results equal the scalar formulas exactly. r and dv are resized.
void LogisticWeights(const Eigen::VectorXd& z, const Eigen::VectorXd& e,
                     const Eigen::VectorXd& y, const Eigen::VectorXd& s,
                     double c, Eigen::VectorXd& r, Eigen::VectorXd& dv,
                     SimdKernel kernel = SimdKernel::kAuto);

// The weighted logistic loss sum_i s(i) * (softplus(z(i)) - y(i) z(i)),
// with softplus(z) = max(z, 0) + log1p(exp(-|z|)); leaves e(i) =
// exp(-|z(i)|) in `e` (resized) for LogisticWeights. The AVX2 build takes
// exp and log1p four rows at a time from glibc's vector math library and
// sums in four lanes, so its results can differ from the baseline's in the
// last bits.
double LogisticLoss(const Eigen::VectorXd& z, const Eigen::VectorXd& y,
                    const Eigen::VectorXd& s, Eigen::VectorXd& e,
                    SimdKernel kernel = SimdKernel::kAuto);

// z(i) = b + sum_j x(i, j) w(j) for every row; z is resized to x.rows().
void LinearPredictor(const Eigen::MatrixXd& x, const Eigen::VectorXd& w,
                     double b, Eigen::VectorXd& z,
                     SimdKernel kernel = SimdKernel::kAuto);

}  // namespace winback::model::logistic_internal

#endif  // WINBACK_JOBS_MODEL_NEWTON_TERMS_H_
