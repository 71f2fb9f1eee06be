// Internal to the store: SQL for the run outputs of schema version 2. These
// functions throw SQLite::Exception; call them only inside store.cc's
// exception guard, within a transaction.
#ifndef WINBACK_JOBS_STORE_OUTPUTS_SQL_H_
#define WINBACK_JOBS_STORE_OUTPUTS_SQL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/store/outputs.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace winback::store_internal {

class StatementCache;

void WriteCustomers(SQLite::Database& db, int64_t run_id,
                    const std::vector<CustomerRecord>& customers);
void WriteSegments(SQLite::Database& db, int64_t run_id,
                   const std::vector<SegmentRecord>& segments);
void WriteCampaigns(SQLite::Database& db, int64_t run_id,
                    const std::vector<CampaignRecord>& campaigns);
// Positions restart at 0 for each campaign, in the table's row order.
void WriteTargets(SQLite::Database& db, int64_t run_id,
                  const TargetTable& targets);
void WriteModelReport(SQLite::Database& db, int64_t run_id,
                      const ModelReportRecord& report);
void WriteDiagnosis(SQLite::Database& db, int64_t run_id,
                    const DiagnosisRecord& diagnosis);
void WriteReadouts(SQLite::Database& db, int64_t run_id,
                   const std::vector<CampaignReadout>& readouts);
void WriteHolds(SQLite::Database& db, int64_t run_id,
                const std::vector<ContactHold>& holds);

std::vector<SegmentRecord> ReadSegments(SQLite::Database& db, int64_t run_id);
absl::StatusOr<std::vector<CampaignRecord>> ReadCampaigns(
    SQLite::Database& db, int64_t run_id);
// The service's per-request reads, on the connection's cached statements.
// -1 when the run has no such campaign.
int64_t CountTargets(StatementCache& statements, int64_t run_id,
                     const std::string& campaign);
TargetTable ReadTargets(StatementCache& statements, int64_t run_id,
                        const std::string& campaign, int64_t offset,
                        int64_t limit);
// NotFound when the run has no row for the customer.
absl::StatusOr<CustomerRecord> ReadCustomer(StatementCache& statements,
                                            int64_t run_id,
                                            int64_t customer_id);
// NotFound when the run has no model report.
absl::StatusOr<ModelReportRecord> ReadModelReport(SQLite::Database& db,
                                                  int64_t run_id);
// NotFound when the run has no diagnosis. Its as_of is the run's as-of time.
absl::StatusOr<DiagnosisRecord> ReadDiagnosis(SQLite::Database& db,
                                              int64_t run_id);
std::vector<CampaignReadout> ReadReadouts(SQLite::Database& db, int64_t run_id);
std::vector<PublishedList> ReadPublishedLists(SQLite::Database& db,
                                              Micros before);

}  // namespace winback::store_internal

#endif  // WINBACK_JOBS_STORE_OUTPUTS_SQL_H_
