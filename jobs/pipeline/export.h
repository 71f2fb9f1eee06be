// Writes a run's intermediate tables as CSV for analysts and for checks
// against other tools (RunRequest::export_dir).
#ifndef WINBACK_JOBS_PIPELINE_EXPORT_H_
#define WINBACK_JOBS_PIPELINE_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "jobs/common/string_pool.h"
#include "jobs/scoring/scoring.h"
#include "jobs/tables/tables.h"

namespace winback {

// `customer_id,sessions`: re-split sessions linked to each customer, sorted
// by customer_id.
absl::Status ExportSessionsPerCustomer(const SessionTable& sessions,
                                       const std::string& path);

// `sessions.csv`: one row per re-split session, in table order (by session
// id, then piece): `session_id` (`<session_id>#<k>`), `customer_id` (empty
// when no booking links it), `start_us`, `end_us`, `events`, the count of
// each event type (one column per type, named in lower case:
// `homepage` ... `promo_page`), `traffic_source` and `last_event`.
absl::Status ExportSessions(const SessionTable& sessions,
                            const StringPool& session_ids,
                            const std::string& path);

// The model inputs: one row per customer-month, the ModelFeatureNames()
// columns then `churned`.
absl::Status ExportDesign(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                          const std::string& path);

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_EXPORT_H_
