// L2-regularised (ridge) logistic regression fitted by damped Newton / IRLS.
//
// Minimises, over coefficients w and intercept b,
//   0.5 * ||w||^2 + C * sum_i s_i * logloss(y_i, sigmoid(b + x_i . w))
// with per-sample weights s_i; the intercept is not penalised. This is the
// objective of scikit-learn's LogisticRegression(penalty='l2', C=C) with the
// lbfgs/newton-cg solvers, so coefficients are directly comparable.
#ifndef WINBACK_JOBS_MODEL_LOGISTIC_REGRESSION_H_
#define WINBACK_JOBS_MODEL_LOGISTIC_REGRESSION_H_

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace winback::model {

struct LogisticOptions {
  // Inverse regularisation strength (> 0); larger C = weaker penalty.
  double c = 1.0;
  bool fit_intercept = true;
  // Newton iterations allowed; a well-posed ridge problem needs ~5-15, so the
  // default leaves room for badly scaled or nearly separable data.
  int max_iterations = 200;
  // Converged when ||gradient||_inf <= tolerance * max(1, C * sum_i s_i).
  double tolerance = 1e-10;
  // When true a fit that does not converge is an error (FailedPrecondition);
  // when false it is returned with converged = false.
  bool require_convergence = true;

  absl::Status Validate() const;
};

struct LogisticFit {
  Eigen::VectorXd coefficients;  // w, one per column of x
  double intercept = 0.0;        // b (0 when fit_intercept is false)
  bool converged = false;
  int iterations = 0;          // Newton iterations taken
  double gradient_norm = 0.0;  // ||gradient of the objective||_inf at the end
  double objective = 0.0;      // the objective above at the end
  int steepest_descent_steps = 0;  // iterations whose Newton step was unusable
};

// Fits the model to rows `x` (samples x features), labels `y` in {0, 1} and
// weights `sample_weight` (size x.rows(), each >= 0, positive sum; pass an
// empty vector for unit weights). Fails with InvalidArgument on bad shapes,
// labels, weights, non-finite inputs or options, and with FailedPrecondition
// when require_convergence is set and the fit does not converge.
//
// Newton starts from `start` when given (a warm start, e.g. the fit of the
// same data at a neighbouring C, which saves iterations along a grid) and
// otherwise from w = 0 at the weighted base rate. The problem is strictly
// convex, so the optimum does not depend on the start.
absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x,
                                        const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& sample_weight,
                                        const LogisticOptions& options,
                                        const LogisticFit* start = nullptr);

// sigmoid(intercept + x * coefficients) for every row of x.
Eigen::VectorXd PredictLogistic(const Eigen::MatrixXd& x,
                                const Eigen::VectorXd& coefficients,
                                double intercept);

// Numerically stable 1 / (1 + exp(-z)).
double Sigmoid(double z);
// log(p / (1 - p)); p must be in (0, 1).
double Logit(double p);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_LOGISTIC_REGRESSION_H_
