// What a run publishes beyond its history: per-customer features and scores,
// segment and campaign figures, target lists, the model report and the
// business diagnosis. The same types are written by PublishRun and read back
// by the Store's read methods (which the gRPC service uses).
#ifndef WINBACK_JOBS_STORE_OUTPUTS_H_
#define WINBACK_JOBS_STORE_OUTPUTS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/diagnosis/diagnosis.h"
#include "jobs/features/features.h"
#include "jobs/readout/readout.h"
#include "jobs/targets/targets.h"

namespace winback {

// One reason behind a churn score: a feature and its contribution
// (coefficient x standardized value) to the score's log-odds.
struct Reason {
  std::string feature;
  double contribution = 0;
  bool operator==(const Reason&) const = default;
};

// Reasons as stored: a JSON array [{"feature": "...", "contribution": 1.23}].
std::string EncodeReasons(const std::vector<Reason>& reasons);
// Inverse of EncodeReasons; "" decodes to no reasons. DataLoss when malformed.
absl::StatusOr<std::vector<Reason>> DecodeReasons(std::string_view json);

// One row of customer_features, with the customer's score when scored.
struct CustomerRecord {
  int64_t customer_id = 0;
  std::array<double, kFeatureCount> features{};  // as of the run's as-of
  int r_score = 0;  // RFM quintile scores 1..5; 0 when never purchased
  int f_score = 0;
  int m_score = 0;
  std::string segment;  // "" when never purchased
  ChurnStatus status = ChurnStatus::kNeverPurchased;
  std::optional<Micros> last_purchase_at;
  std::optional<double> churn_score;  // scored (active) customers only
  std::string reasons;                // EncodeReasons text; "" when unscored

  // Filled by Store::GetCustomer from the run's target lists; ignored when
  // writing.
  std::string campaign;  // "" when on no list
  bool holdout = false;
  double revenue_at_risk = 0;
  // When on no list: the campaign whose contact cap kept the customer off
  // (see ContactHold); "" otherwise.
  std::string held_by;
};

struct SegmentRecord {
  std::string name;
  int64_t customers = 0;
  int64_t active_customers = 0;
  int64_t churned_customers = 0;
  double mean_churn_score = 0;  // over scored customers of the segment
  double revenue_at_risk = 0;   // IDR, over the segment's list rows
};

struct CampaignRecord {
  Campaign config;
  CampaignSummary summary;
};

struct GridCellRecord {
  double c = 0;
  std::string imbalance;
  double mean_score = 0;
  double sd_score = 0;
};

struct ModelReportRecord {
  double c = 0;
  std::string imbalance;
  std::string holdout_month;                // YYYY-MM
  std::vector<std::string> training_months; // YYYY-MM, ascending
  int64_t training_rows = 0;
  int64_t holdout_rows = 0;
  int64_t scored_customers = 0;
  double auc = 0;
  double pr_auc = 0;
  double brier = 0;
  double lift_top_decile = 0;
  double log_loss = 0;
  double holdout_positive_rate = 0;
  double baseline_recency_auc = 0;  // recency alone on the held-out month
  std::string cv_metric;            // "roc_auc" or "average_precision"
  double cv_mean = 0;
  double cv_sd = 0;
  std::vector<std::pair<std::string, double>> coefficients;  // standardized
  std::vector<GridCellRecord> grid;
  std::string notes;  // resampling notes, subsampling, convergence
};

struct DiagnosisRecord {
  Diagnosis diagnosis;
  std::string summary;  // FormatDiagnosis text
};

}  // namespace winback

#endif  // WINBACK_JOBS_STORE_OUTPUTS_H_
