// The churn model: grid search, refit, prior correction and holdout
// evaluation, producing a ChurnModel that scores rows and explains scores.
//
// Pure math on Eigen with no I/O: callers build the feature matrix (rows =
// customer-months, columns = features) and persist ModelSummary themselves.
#ifndef WINBACK_JOBS_MODEL_CHURN_MODEL_H_
#define WINBACK_JOBS_MODEL_CHURN_MODEL_H_

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/model/cross_validation.h"
#include "jobs/model/metrics.h"
#include "jobs/model/resample.h"
#include "jobs/model/standardizer.h"

namespace winback::model {

struct ChurnModelOptions {
  // Grid, folds, seed, solver and resampling settings.
  GridSearchOptions grid;
  // One name per feature column, kept in the model and its summary; empty
  // means "f0", "f1", ...
  std::vector<std::string> feature_names;

  absl::Status Validate() const;
};

struct CoefficientSummary {
  std::string name;
  double coefficient = 0.0;      // on the standardised feature
  double mean = 0.0;             // standardiser mean of the raw feature
  double scale = 1.0;            // standardiser scale of the raw feature
  double raw_coefficient = 0.0;  // coefficient / scale: per raw unit
};

// Everything worth reporting about a trained model; plain data for the
// caller to serialise (model_reports).
struct ModelSummary {
  double c = 0.0;
  Imbalance imbalance = Imbalance::kNone;
  std::string imbalance_name;
  // Prior-corrected intercept on standardised features, and the same model's
  // intercept on raw features (raw_intercept + sum raw_coefficient * x).
  double intercept = 0.0;
  double raw_intercept = 0.0;
  std::vector<CoefficientSummary> coefficients;
  // Class priors: of the training rows (pi), of the data the final model was
  // fitted on (pi_s), and the intercept shift logit(pi) - logit(pi_s).
  double train_prior = 0.0;
  double fit_prior = 0.0;
  double prior_shift = 0.0;
  int64_t n_train = 0;
  int64_t n_train_positive = 0;
  int64_t n_fit_rows = 0;  // rows after resampling (incl. synthetic)
  // Final fit's solver report.
  bool converged = false;
  int iterations = 0;
  double gradient_norm = 0.0;
  // Remarks from the imbalance treatment (fallbacks, subsampling).
  std::string resample_note;
  // Cross-validation.
  CvMetric cv_metric = CvMetric::kRocAuc;
  int cv_folds = 0;
  double cv_mean = 0.0;  // of the chosen cell
  double cv_sd = 0.0;
  std::vector<GridCell> grid;
  // Metrics on the held-out rows with the prior-corrected probabilities
  // (empty/zero when the model was built by FitChurnModel alone).
  BinaryMetrics holdout;
};

// One explanatory feature of a score.
struct Reason {
  int feature = 0;  // column index
  std::string name;
  double contribution = 0.0;  // coefficient * standardised value
};

// A fitted, prior-corrected logistic churn model. Immutable and safe to use
// from several threads.
class ChurnModel {
 public:
  // `coefficients` apply to standardizer-transformed features; `intercept`
  // is final (already prior-corrected). Reasons take feature names from
  // summary.coefficients ("f<j>" where it has no entry j).
  ChurnModel(Standardizer standardizer, Eigen::VectorXd coefficients,
             double intercept, ModelSummary summary);

  // Churn probability for every row of `x` (raw features, one column per
  // feature). InvalidArgument on a column-count mismatch or non-finite input.
  absl::StatusOr<Eigen::VectorXd> Predict(const Eigen::MatrixXd& x) const;

  // The k (clamped to the feature count) features with the largest signed
  // contribution coefficient * standardised value for the raw feature row
  // `row`, i.e. those pushing the score up most, largest first; ties go to
  // the lower index. InvalidArgument on a size mismatch or k < 1.
  absl::StatusOr<std::vector<Reason>> TopReasons(const Eigen::VectorXd& row,
                                                 int k = 3) const;

  const ModelSummary& summary() const { return summary_; }
  const Standardizer& standardizer() const { return standardizer_; }
  // Coefficients on standardised features and the prior-corrected intercept.
  const Eigen::VectorXd& coefficients() const { return coefficients_; }
  double intercept() const { return intercept_; }

 private:
  const Standardizer standardizer_;
  const Eigen::VectorXd coefficients_;
  const double intercept_;
  const ModelSummary summary_;
};

// Fits one setting (C, imbalance) on all rows: standardise, apply the
// imbalance treatment (seed derived from options.grid.seed), fit, and shift
// the intercept by the prior correction. No cross-validation or holdout; the
// summary's grid and holdout fields stay empty. Fails on bad input or when
// the fit does not converge.
absl::StatusOr<ChurnModel> FitChurnModel(const Eigen::MatrixXd& x,
                                         const Eigen::VectorXd& y, double c,
                                         Imbalance imbalance,
                                         const ChurnModelOptions& options);

// Grid search on the training rows, refit of the best setting on all of
// them, prior correction, and evaluation on the holdout rows (which must hold
// both classes). Fails with InvalidArgument on bad input or options.
absl::StatusOr<ChurnModel> TrainChurnModel(const Eigen::MatrixXd& x_train,
                                           const Eigen::VectorXd& y_train,
                                           const Eigen::MatrixXd& x_holdout,
                                           const Eigen::VectorXd& y_holdout,
                                           const ChurnModelOptions& options);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_CHURN_MODEL_H_
