// Binary-classification metrics for churn scores.
//
// All functions take labels y in {0, 1} and scores/probabilities of the same
// length, and fail with InvalidArgument on empty or mismatched input, other
// labels, non-finite scores, or when the metric is undefined (noted below).
#ifndef WINBACK_JOBS_MODEL_METRICS_H_
#define WINBACK_JOBS_MODEL_METRICS_H_

#include <Eigen/Dense>
#include <cstdint>

#include "absl/status/statusor.h"

namespace winback::model {

// Area under the ROC curve as the Mann-Whitney statistic: the share of
// (positive, negative) pairs ranked correctly, a tied pair counting 1/2.
// Needs both classes.
absl::StatusOr<double> RocAuc(const Eigen::VectorXd& y,
                              const Eigen::VectorXd& score);

// Average precision, scikit-learn's definition: sum over distinct score
// thresholds t (descending) of (R(t) - R(t_prev)) * P(t), where rows scoring
// >= t are predicted positive. Needs a positive.
absl::StatusOr<double> AveragePrecision(const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& score);

// Mean of (p - y)^2; p in [0, 1].
absl::StatusOr<double> BrierScore(const Eigen::VectorXd& y,
                                  const Eigen::VectorXd& p);

// Mean of -(y log p + (1 - y) log(1 - p)), p clipped to [1e-15, 1 - 1e-15]
// (scikit-learn 1.2's log_loss); p in [0, 1].
absl::StatusOr<double> LogLoss(const Eigen::VectorXd& y,
                               const Eigen::VectorXd& p);

// Lift in the top `fraction` (0 < fraction <= 1) by score: the positive rate
// among the n_top = max(1, ceil(fraction * n)) highest-scoring rows divided by
// the overall positive rate. Tie rule: rows tied at the cut-off score share
// the remaining slots equally, i.e. a tied group of g rows holding q positives
// that gets r < g of the slots contributes q * r / g positives (the expected
// value under a random order within ties). Needs a positive.
absl::StatusOr<double> LiftAtTop(const Eigen::VectorXd& y,
                                 const Eigen::VectorXd& score,
                                 double fraction = 0.1);

struct BinaryMetrics {
  double roc_auc = 0.0;
  double average_precision = 0.0;  // PR-AUC
  double brier = 0.0;
  double log_loss = 0.0;
  double lift_top_decile = 0.0;
  double positive_rate = 0.0;    // observed share of y = 1
  double mean_prediction = 0.0;  // mean predicted probability
  int64_t n = 0;
  int64_t n_positive = 0;
};

// All of the above for probabilities `p`; needs both classes.
absl::StatusOr<BinaryMetrics> EvaluateBinary(const Eigen::VectorXd& y,
                                             const Eigen::VectorXd& p);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_METRICS_H_
