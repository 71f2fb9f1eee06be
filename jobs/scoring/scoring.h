// Stage 5: train the churn model on past customer-months and score the
// customers whose churn window is open at the as-of time T.
//
// Training rows are customer-months (c, M) with a known label, with features
// as of the last instant of month M (so nothing after M leaks in). Only
// months whose labels are all known are used: the latest such month is held
// out for validation, the `training_months` before it are the training set.
#ifndef WINBACK_JOBS_SCORING_SCORING_H_
#define WINBACK_JOBS_SCORING_SCORING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/features/features.h"
#include "jobs/model/churn_model.h"
#include "jobs/tables/tables.h"
#include "jobs/targets/targets.h"

namespace winback {

struct ScoringOptions {
  int training_months = 6;          // fully labeled months before the holdout
  int64_t max_training_rows = 50000;  // stratified, seeded subsample above it
  int reasons = 3;                  // reasons kept per scored customer
  model::GridSearchOptions grid;    // C values, imbalance options, folds, seed
  FeatureOptions features;
  // Keep the model's training and holdout inputs in the result (for export
  // and differential checks against other tools).
  bool keep_design = false;

  absl::Status Validate() const;
};

// The model's inputs exactly as fitted: rows of ModelFeatureNames() columns.
struct DesignMatrix {
  Eigen::MatrixXd x_train, x_holdout;
  Eigen::VectorXd y_train, y_holdout;
};

// The model's columns: FeatureNames(), with heavy-tailed counts and amounts
// log1p-transformed (see ModelInputs in scoring.cc).
std::vector<std::string> ModelFeatureNames();

struct ScoredReason {
  std::string feature;
  double contribution = 0;
};

struct ScoringResult {
  // Per CustomerTable row, as of T.
  FeatureTable current;
  std::vector<ChurnStatus> status;
  std::vector<std::optional<Micros>> last_purchase_at;
  std::vector<std::optional<double>> churn_score;   // active customers only
  std::vector<std::vector<ScoredReason>> reasons;   // active customers only

  // The model and how it was chosen and validated.
  model::ModelSummary model;
  MonthIndex holdout_month = 0;
  std::vector<MonthIndex> training_months;
  int64_t training_rows = 0;          // after subsampling
  int64_t training_rows_available = 0;
  int64_t holdout_rows = 0;
  double baseline_recency_auc = 0;    // recency alone on the holdout month
  int64_t scored_customers = 0;
  std::optional<DesignMatrix> design;  // when options.keep_design
};

// FailedPrecondition when the labels hold no fully labeled month with both
// classes to hold out, or too few training months.
absl::StatusOr<ScoringResult> TrainAndScore(const CustomerTable& customers,
                                            const CustomerHistory& history,
                                            const LabelTable& labels,
                                            Micros as_of, Micros churn_window,
                                            const ScoringOptions& options);

// Plain-language caveats on the chosen model, "; "-joined (empty when there
// are none): how its training set was resampled or subsampled, a final fit
// that did not converge, and a held-out AUC below recency alone's (sorting by
// days since the last purchase would have ranked that month's churners
// better than the model did).
std::string ModelNotes(const ScoringResult& result);

}  // namespace winback

#endif  // WINBACK_JOBS_SCORING_SCORING_H_
