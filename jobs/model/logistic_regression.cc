#include "jobs/model/logistic_regression.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "jobs/model/newton_terms.h"

namespace winback::model {
namespace {

using logistic_internal::AddNewtonTerms;
using logistic_internal::LinearPredictor;
using logistic_internal::LogisticLoss;
using logistic_internal::LogisticWeights;

struct Problem {
  const Eigen::MatrixXd& x;
  const Eigen::VectorXd& y;
  const Eigen::VectorXd& s;
  double c;
  bool fit_intercept;
};

// The objective at theta = [w; b] (b present only when fitting the
// intercept). Leaves z = X w + b in `z` and exp(-|z|) in `e`, from which
// the Newton pass gets sigmoid(z) without a second exp.
double Objective(const Problem& pr, const Eigen::VectorXd& theta,
                 Eigen::VectorXd& z, Eigen::VectorXd& e) {
  const Eigen::Index d = pr.x.cols();
  const auto w = theta.head(d);
  const double b = pr.fit_intercept ? theta(d) : 0.0;
  LinearPredictor(pr.x, w, b, z);
  return 0.5 * w.squaredNorm() + pr.c * LogisticLoss(z, pr.y, pr.s, e);
}

}  // namespace

double Sigmoid(double z) {
  // From e = exp(-|z|), without overflow; LogisticWeights does the same.
  const double e = std::exp(-std::abs(z));
  return (z >= 0 ? 1.0 : e) / (1.0 + e);
}

double Logit(double p) { return std::log(p / (1.0 - p)); }

absl::Status LogisticOptions::Validate() const {
  if (!(c > 0.0) || !std::isfinite(c)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("LogisticOptions.c must be finite and > 0, got %g", c));
  }
  if (max_iterations < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "LogisticOptions.max_iterations must be >= 1, got %d", max_iterations));
  }
  if (!(tolerance > 0.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "LogisticOptions.tolerance must be > 0, got %g", tolerance));
  }
  return absl::OkStatus();
}

Eigen::VectorXd PredictLogistic(const Eigen::MatrixXd& x,
                                const Eigen::VectorXd& coefficients,
                                double intercept) {
  Eigen::VectorXd p;
  LinearPredictor(x, coefficients, intercept, p);
  for (Eigen::Index i = 0; i < p.size(); ++i) p(i) = Sigmoid(p(i));
  return p;
}

absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x,
                                        const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& sample_weight,
                                        const LogisticOptions& options,
                                        const LogisticFit* start) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  const Eigen::Index n = x.rows();
  const Eigen::Index d = x.cols();
  if (n == 0) return absl::InvalidArgumentError("FitLogistic: no rows");
  if (y.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("FitLogistic: %d labels for %d rows", y.size(), n));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (y(i) != 0.0 && y(i) != 1.0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "FitLogistic: label of row %d is %g, not 0 or 1", i, y(i)));
    }
  }
  if (!x.allFinite()) {
    return absl::InvalidArgumentError(
        "FitLogistic: features hold a NaN or infinite value");
  }
  Eigen::VectorXd s = sample_weight.size() == 0
                          ? Eigen::VectorXd::Ones(n)
                          : Eigen::VectorXd(sample_weight);
  if (s.size() != n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "FitLogistic: %d sample weights for %d rows", s.size(), n));
  }
  if (!s.allFinite() || (s.array() < 0).any() || !(s.sum() > 0)) {
    return absl::InvalidArgumentError(
        "FitLogistic: sample weights must be finite, >= 0 and not all 0");
  }

  const Problem pr{x, y, s, options.c, options.fit_intercept};
  const Eigen::Index m = d + (options.fit_intercept ? 1 : 0);
  if (start != nullptr &&
      (start->coefficients.size() != d || !start->coefficients.allFinite() ||
       !std::isfinite(start->intercept))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "FitLogistic: the start has %d finite coefficients, want %d",
        start->coefficients.size(), d));
  }
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(m);
  if (start != nullptr) {
    theta.head(d) = start->coefficients;
    if (options.fit_intercept) theta(d) = start->intercept;
  } else if (options.fit_intercept) {
    // Start at the weighted base rate: the optimum when w = 0.
    const double pi = std::clamp(s.dot(y) / s.sum(), 1e-6, 1 - 1e-6);
    theta(d) = Logit(pi);
  }
  const double grad_scale = std::max(1.0, options.c * s.sum());

  LogisticFit fit;
  Eigen::VectorXd z, e;
  double f = Objective(pr, theta, z, e);
  Eigen::VectorXd grad(m), dvec(n), r(n), cross(d);
  Eigen::MatrixXd hess(m, m);
  for (int iter = 0;; ++iter) {
    // Gradient [w; 0] + C * [X 1]^T r and Hessian
    // diag([1..1, 0]) + [X 1]^T diag(dvec) [X 1], with r = C * s * (p - y)
    // and dvec = C * s * p * (1 - p), summed in one pass over X.
    LogisticWeights(z, e, y, s, options.c, r, dvec);
    grad.setZero();
    cross.setZero();
    hess.setZero();
    AddNewtonTerms(x, r, dvec, grad, cross, hess);
    grad.head(d) += theta.head(d);
    if (options.fit_intercept) grad(d) = r.sum();
    fit.gradient_norm = grad.lpNorm<Eigen::Infinity>();
    fit.iterations = iter;
    if (fit.gradient_norm <= options.tolerance * grad_scale) {
      fit.converged = true;
      break;
    }
    if (iter == options.max_iterations) break;

    // AddNewtonTerms filled the X block's lower triangle.
    auto hxx = hess.topLeftCorner(d, d);
    hxx.triangularView<Eigen::StrictlyUpper>() = hxx.transpose();
    hxx.diagonal().array() += 1.0;
    if (options.fit_intercept) {
      hess.block(0, d, d, 1) = cross;
      hess.block(d, 0, 1, d) = cross.transpose();
      hess(d, d) = dvec.sum();
    }
    Eigen::LDLT<Eigen::MatrixXd> ldlt(hess);
    Eigen::VectorXd step;
    bool newton_ok = ldlt.info() == Eigen::Success;
    if (newton_ok) {
      step = -ldlt.solve(grad);
      newton_ok = step.allFinite() && step.dot(grad) < 0;
    }
    if (!newton_ok) {
      // Fallback: a steepest-descent step scaled by the Hessian's diagonal.
      step = -grad.array() / hess.diagonal().array().max(1.0);
      ++fit.steepest_descent_steps;
    }

    // Backtracking (Armijo) line search. Close to the optimum the predicted
    // decrease falls below the rounding error of f, where the full Newton
    // step is trusted (the quadratic model is then exact to rounding).
    const double slope = step.dot(grad);
    const bool at_rounding_level = -slope < 1e-13 * (1.0 + std::abs(f));
    double t = 1.0;
    bool accepted = false;
    Eigen::VectorXd candidate, z_new, e_new;
    for (int halving = 0; halving < 60; ++halving, t *= 0.5) {
      candidate = theta + t * step;
      const double f_new = Objective(pr, candidate, z_new, e_new);
      if ((std::isfinite(f_new) && f_new <= f + 1e-4 * t * slope) ||
          (at_rounding_level && halving == 0 && std::isfinite(f_new))) {
        theta = std::move(candidate);
        z.swap(z_new);
        e.swap(e_new);
        f = f_new;
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      fit.iterations = iter + 1;
      break;  // no decrease possible: report as not converged
    }
  }
  fit.objective = f;
  fit.coefficients = theta.head(d);
  fit.intercept = options.fit_intercept ? theta(d) : 0.0;
  if (!fit.converged && options.require_convergence) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "FitLogistic: no convergence after %d Newton iterations (C = %g, "
        "gradient norm %g > tolerance %g)",
        fit.iterations, options.c, fit.gradient_norm,
        options.tolerance * grad_scale));
  }
  return fit;
}

}  // namespace winback::model
