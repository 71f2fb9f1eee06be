// Writes a run's intermediate tables as CSV for analysts and for checks
// against other tools (RunRequest::export_dir).
#ifndef WINBACK_JOBS_PIPELINE_EXPORT_H_
#define WINBACK_JOBS_PIPELINE_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "jobs/scoring/scoring.h"
#include "jobs/tables/tables.h"

namespace winback {

// `customer_id,sessions`: re-split sessions linked to each customer, sorted
// by customer_id.
absl::Status ExportSessionsPerCustomer(const SessionTable& sessions,
                                       const std::string& path);

// The model inputs: one row per customer-month, the ModelFeatureNames()
// columns then `churned`.
absl::Status ExportDesign(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                          const std::string& path);

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_EXPORT_H_
