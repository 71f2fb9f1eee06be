// The SQLite store: run history and published run outputs.
//
// The database is Winback's system of record and other tools read it; its
// tables are documented in jobs/store/SCHEMA.md. A run is inserted by
// BeginRun, reports progress with RecordStage, and ends either with
// PublishRun (all outputs become visible in one transaction) or with
// FinishUnpublished (nothing becomes visible). Readers use the newest run
// with published = 1.
//
// Errors: every method returns a Status; SQLite exceptions never escape.
// NotFound for an unknown run, InvalidArgument for bad arguments,
// FailedPrecondition for a run in the wrong state, Unavailable when the
// database is busy or cannot be opened, DataLoss when stored data cannot be
// decoded (e.g. a hand-edited state), Internal for other SQLite errors.
//
// Thread safety: one Store is one SQLite connection. Calls are serialized by
// an internal mutex, so a Store may be shared between threads, but calls on
// it never run in parallel. For parallel readers (the service), open one
// Store per reader; SQLite's WAL mode lets readers on their own connections
// run while the pipeline writes, each seeing the last committed state.
#ifndef WINBACK_JOBS_STORE_STORE_H_
#define WINBACK_JOBS_STORE_STORE_H_

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "jobs/common/time_util.h"
#include "jobs/store/outputs.h"
#include "jobs/tables/tables.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace winback::store_internal {
class StatementCache;
}  // namespace winback::store_internal

namespace winback {

enum class RunState { kPending, kRunning, kSucceeded, kFailed, kCancelled };
enum class RunTrigger { kSchedule, kManual, kCatchUp };

// The spelling stored in runs.state: "pending", "running", "succeeded",
// "failed", "cancelled".
std::string_view RunStateName(RunState state);
// Inverse of RunStateName; nullopt for anything else.
std::optional<RunState> ParseRunState(std::string_view name);
// True for succeeded, failed and cancelled.
bool IsFinished(RunState state);

// The spelling stored in runs.trigger: "schedule", "manual", "catch-up".
std::string_view RunTriggerName(RunTrigger trigger);
// Inverse of RunTriggerName; nullopt for anything else.
std::optional<RunTrigger> ParseRunTrigger(std::string_view name);

// Wall time and output rows of one pipeline stage.
struct StageStat {
  std::string stage;  // e.g. "ingest"
  double seconds = 0;
  int64_t rows = 0;
  // CPU time (user + system, all threads) of the process during the stage;
  // unset for stages recorded before schema 10, or not measured.
  std::optional<double> cpu_seconds = std::nullopt;
};

// Rows of one input file rejected for one reason.
// run_rejects.reason of rows kept after a repair: "repaired:" + the reason.
inline constexpr absl::string_view kRepairedReasonPrefix = "repaired:";

struct RejectStat {
  std::string file;  // e.g. "click_stream.csv"
  std::string reason;  // kRepairedReasonPrefix first for repairs
  int64_t count = 0;
  std::vector<int64_t> first_lines;  // 1-based line numbers, a few at most
};

// A request_id (the operator's idempotency key) is at most this many bytes
// of UTF-8 text: it is served in gRPC strings.
inline constexpr size_t kMaxRequestIdBytes = 200;
// InvalidArgument, saying what is wrong, for any other request_id.
absl::Status ValidateRequestId(std::string_view request_id);

struct RunRecord {
  int64_t run_id = 0;
  std::string request_id;  // empty when the run has none
  RunState state = RunState::kPending;
  RunTrigger trigger = RunTrigger::kManual;
  // 0 until ingest sets it when the run was begun without one.
  Micros as_of = 0;
  // True: the as-of time was asked for (a backfill); false: it is the
  // export's latest event. Unset for runs begun before schema 6.
  std::optional<bool> as_of_requested;
  Micros started_at = 0;
  std::optional<Micros> finished_at;  // set once the run is finished
  std::string error;                  // empty unless failed or cancelled
  bool published = false;
  std::string current_stage;      // the stage last recorded; empty before any
  // What the run's process used, once recorded (SetRunUsage): CPU time
  // (user + system) and peak resident memory. Unset before schema 9 and
  // until the run has ended.
  std::optional<double> cpu_seconds;
  std::optional<int64_t> peak_rss_bytes;
  std::string config_json;        // empty when not recorded
  std::vector<StageStat> stages;  // in the order they were first recorded
};

// What one run publishes. Grows as pipeline stages are added; the pointed-to
// tables are borrowed for the duration of the PublishRun call.
struct RunOutputs {
  std::vector<std::pair<std::string, int64_t>> counts;  // unique names
  std::vector<RejectStat> rejects;                      // unique (file, reason)
  const LabelTable* labels = nullptr;                   // null: no labels
  // Schema 2 outputs; each is optional (null: none written).
  const std::vector<CustomerRecord>* customers = nullptr;
  const std::vector<SegmentRecord>* segments = nullptr;
  const std::vector<CampaignRecord>* campaigns = nullptr;
  // Ordered by campaign (grouped) and, within one, list position.
  const TargetTable* targets = nullptr;
  const ModelReportRecord* model_report = nullptr;
  const DiagnosisRecord* diagnosis = nullptr;
  // Schema 5: how the lists of earlier runs did.
  const std::vector<CampaignReadout>* readouts = nullptr;
  // Schema 8: the customers contact caps kept off every list; unique ids.
  const std::vector<ContactHold>* holds = nullptr;
};

// The rows PublishRun writes for `outputs`: the publish stage's row count,
// wherever it is shown.
int64_t OutputRows(const RunOutputs& outputs);

struct StoreOptions {
  // Published runs kept. Publishing a run deletes every older finished run
  // (and its rows) beyond the newest `keep_runs` published ones.
  int keep_runs = 30;
  // How long a statement waits for another connection's lock.
  int busy_timeout_ms = 5000;

  absl::Status Validate() const;
};

class Store {
 public:
  // Opens or creates the database at `path`, turns on foreign keys and WAL,
  // and applies any pending migrations in one transaction. Fails with
  // FailedPrecondition when the file's schema is newer than this code or the
  // file is not a Winback database.
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& path, const StoreOptions& options);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Inserts a run in state running and returns it. `as_of` is the as-of
  // time asked for, or nullopt for the export's latest event (stored as 0
  // until SetAsOf). A `request_id` that ValidateRequestId refuses fails with
  // its error. A non-empty `request_id` that already names a run fails
  // with AlreadyExists, with that run_id in the message (see
  // FindRunByRequestId). Fails with Aborted while another run is pending or
  // running: never two runs at once.
  absl::StatusOr<RunRecord> BeginRun(RunTrigger trigger,
                                     std::string_view request_id,
                                     std::optional<Micros> as_of, Micros now);

  // Updates the as-of time of an unfinished run (known after ingest).
  absl::Status SetAsOf(int64_t run_id, Micros as_of);

  // Records what the run's process used (a finished run too: it is known
  // once the process has exited). InvalidArgument for negative or
  // non-finite figures, NotFound for an unknown run.
  absl::Status SetRunUsage(int64_t run_id, double cpu_seconds,
                           int64_t peak_rss_bytes);

  // Records the effective configuration (JSON) of an unfinished run.
  absl::Status SetConfigJson(int64_t run_id, std::string_view config_json);

  // Records (or replaces) a stage's timing and rows for an unfinished run
  // and makes it the run's current_stage.
  absl::Status RecordStage(int64_t run_id, const StageStat& stat);

  // In one transaction: writes all of `outputs`, records the stage
  // "publish" (its time up to the commit and the rows written), marks the
  // run succeeded and published with finished_at = now, and applies
  // retention. Either all of
  // it becomes visible to readers or, on error, none of it. The run must be
  // pending or running.
  absl::Status PublishRun(int64_t run_id, const RunOutputs& outputs,
                          Micros now);

  // Marks an unfinished run failed or cancelled (`state`) with `error`;
  // publishes nothing and deletes any output rows of the run. Stage timings
  // are kept as history, and so are `counts` and `rejects`: what the run
  // had counted before it stopped (rows read and rejected per file, and the
  // first bad lines), which is what an operator needs to see why it failed.
  absl::Status FinishUnpublished(
      int64_t run_id, RunState state, std::string_view error, Micros now,
      const std::vector<std::pair<std::string, int64_t>>& counts = {},
      const std::vector<RejectStat>& rejects = {});
  // The same, for an error text straight from absl::Status::message(): this
  // absl build's absl::string_view is not std::string_view and does not
  // convert to it. (A template, so that string literals stay unambiguous.)
  template <std::same_as<absl::string_view> S>
  absl::Status FinishUnpublished(
      int64_t run_id, RunState state, S error, Micros now,
      const std::vector<std::pair<std::string, int64_t>>& counts = {},
      const std::vector<RejectStat>& rejects = {}) {
    return FinishUnpublished(run_id, state,
                             std::string_view(error.data(), error.size()), now,
                             counts, rejects);
  }

  // Marks every pending or running run failed ("interrupted: the daemon
  // stopped while the run was in progress") and returns how many. Call at
  // daemon start, before beginning a run.
  absl::StatusOr<int> FailInterruptedRuns(Micros now);

  // Records a run that ended cancelled because the daemon was stopping, not
  // by an operator's cancel, as interrupted: failed with the error that
  // FailInterruptedRuns gives a run cut short by a crash, so that the two
  // read (and are retried) alike. NotFound for an unknown run,
  // FailedPrecondition when the run is not cancelled.
  absl::Status MarkCancelledRunInterrupted(int64_t run_id);

  // The run with `run_id`, with its stages; NotFound when unknown.
  absl::StatusOr<RunRecord> GetRun(int64_t run_id);

  // Up to `limit` (> 0) runs, newest first, with run_id < `before_run_id`
  // when given: pass the last run_id of a page to get the next page.
  absl::StatusOr<std::vector<RunRecord>> ListRuns(
      int limit, std::optional<int64_t> before_run_id);

  // The run whose lists are served by default: the published run with the
  // latest as-of time (the newest of those on a tie), so that a backfill of
  // an earlier as-of time does not replace the current lists. nullopt when
  // none is published.
  absl::StatusOr<std::optional<RunRecord>> LatestPublishedRun();

  // The run that succeeded (and so was published) last by finish time, a
  // backfill included; nullopt when none has.
  absl::StatusOr<std::optional<RunRecord>> LastSucceededRun();

  // The run started with `request_id`, or nullopt.
  absl::StatusOr<std::optional<RunRecord>> FindRunByRequestId(
      std::string_view request_id);

  // A run's counts, ordered by name. NotFound for an unknown run.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> GetCounts(
      int64_t run_id);

  // A run's rejects, ordered by (file, reason). NotFound for an unknown run.
  absl::StatusOr<std::vector<RejectStat>> GetRejects(int64_t run_id);

  // A run's churn labels, ordered by (customer_id, month). NotFound for an
  // unknown run; empty for a run without labels.
  absl::StatusOr<LabelTable> GetLabels(int64_t run_id);

  // Reads of a run's published outputs. Each fails with NotFound for an
  // unknown run, and returns what the run stored (empty when none).
  absl::StatusOr<std::vector<SegmentRecord>> GetSegments(int64_t run_id);
  // Ordered by priority, then name.
  absl::StatusOr<std::vector<CampaignRecord>> GetCampaigns(int64_t run_id);
  // The length of a campaign's list; NotFound for an unknown campaign.
  absl::StatusOr<int64_t> CountTargets(int64_t run_id,
                                       const std::string& campaign);
  // Up to `limit` rows of a campaign's list starting at position `offset`
  // (0-based), in list order. NotFound for an unknown campaign.
  absl::StatusOr<TargetTable> GetTargets(int64_t run_id,
                                         const std::string& campaign,
                                         int64_t offset, int64_t limit);
  // A customer's features, segment, status, score, reasons and list row.
  // NotFound when the run has no such customer.
  absl::StatusOr<CustomerRecord> GetCustomer(int64_t run_id,
                                             int64_t customer_id);
  // NotFound when the run stored no model report (or diagnosis).
  absl::StatusOr<ModelReportRecord> GetModelReport(int64_t run_id);
  absl::StatusOr<DiagnosisRecord> GetDiagnosis(int64_t run_id);
  // The campaign readouts a run stored, latest list first (by list as-of
  // time, then list run), then by campaign.
  absl::StatusOr<std::vector<CampaignReadout>> GetReadouts(int64_t run_id);

  // The campaign lists of the published runs whose as-of time is before
  // `before` (of several runs with the same as-of time, the newest), latest
  // first, each run's campaigns by priority then name: what a run as of
  // `before` reads out.
  absl::StatusOr<std::vector<PublishedList>> GetPublishedLists(Micros before);

  // The customers on `campaign`'s list, in either group, in the published
  // runs whose as-of time lies in [from, before), ascending and distinct.
  // Backfills (runs whose as-of time was asked for) are left out: their
  // lists were not the ones served for sending. Runs from before schema 6,
  // which did not record that, count.
  absl::StatusOr<std::vector<int64_t>> GetListedCustomers(
      std::string_view campaign, Micros from, Micros before);

  const std::string& path() const { return path_; }

 private:
  Store(std::string path, StoreOptions options,
        std::unique_ptr<SQLite::Database> db);

  const std::string path_;
  const StoreOptions options_;
  absl::Mutex mu_;
  // The connection. Statements run only inside the exception guard in
  // store.cc, with mu_ held.
  const std::unique_ptr<SQLite::Database> db_ ABSL_PT_GUARDED_BY(mu_);
  // Prepared statements of the frequent reads, reused across calls. Declared
  // after db_: they must be finalized before the connection closes.
  const std::unique_ptr<store_internal::StatementCache> statements_
      ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace winback

#endif  // WINBACK_JOBS_STORE_STORE_H_
