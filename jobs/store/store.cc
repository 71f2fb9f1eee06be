#include "jobs/store/store.h"

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Exception.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "jobs/common/resource_usage.h"
#include "jobs/common/status_macros.h"
#include "jobs/common/utf8.h"
#include "jobs/store/batch_insert.h"
#include "jobs/store/outputs_sql.h"
#include "jobs/store/schema.h"
#include "jobs/store/statement_cache.h"

namespace winback {
namespace {

using store_internal::StatementCache;

constexpr char kInterruptedError[] =
    "interrupted: the daemon stopped while the run was in progress";

// Column list decoded by DecodeRun, in this order.
constexpr char kRunColumns[] =
    "run_id, request_id, state, trigger, as_of_us, started_at_us, "
    "finished_at_us, error, published, current_stage, config_json, "
    "as_of_requested, cpu_seconds, peak_rss_bytes";

constexpr char kUnfinishedStates[] = "('pending', 'running')";
// Picks the run served by default (LatestPublishedRun) from `runs`: the
// published run with the latest as-of time, the newest of those on a tie.
constexpr char kCurrentRunFilter[] =
    "WHERE published = 1 ORDER BY as_of_us DESC, run_id DESC LIMIT 1";

// ---------------------------------------------------------------------------
// The one place where SQLiteCpp exceptions become Status values.

// absl here predates its use of std::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW is 0), so views cross into absl::StrCat
// through this.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

absl::Status StatusFromSqlite(absl::string_view what,
                              const SQLite::Exception& e) {
  const std::string message = absl::StrCat(what, ": ", e.what());
  switch (e.getErrorCode() & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Runs `fn` (returning absl::Status or absl::StatusOr<T>) and turns any
// exception it throws into an error Status naming `what`. Every statement in
// this file runs inside Guarded; an open SQLite::Transaction rolls back as
// the exception unwinds.
template <typename Fn>
auto Guarded(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SQLite::Exception& e) {
    return StatusFromSqlite(what, e);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

// ---------------------------------------------------------------------------
// Helpers below throw SQLite::Exception; call them only inside Guarded.

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Text(const SQLite::Column& column) {
  return column.isNull() ? std::string() : column.getString();
}

absl::Status NotFound(int64_t run_id) {
  return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
}

absl::Status ConfigureConnection(SQLite::Database& db,
                                 const std::string& path) {
  db.exec("PRAGMA foreign_keys = ON");
  if (db.execAndGet("PRAGMA foreign_keys").getInt() != 1) {
    return absl::FailedPreconditionError(
        "this SQLite build does not enforce foreign keys");
  }
  const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL");
  if (mode != "wal" && mode != "memory") {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot use WAL journal mode (got '", mode, "')"));
  }
  // One fsync per commit; commits are few (a handful per run).
  db.exec("PRAGMA synchronous = FULL");
  // Bounds the WAL file left behind by a large publish.
  db.exec("PRAGMA journal_size_limit = 67108864");
  db.exec("PRAGMA cache_size = -32768");  // 32 MiB
  return absl::OkStatus();
}

int UserVersion(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

absl::Status CheckVersionKnown(int version, const std::string& path) {
  if (version > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": database schema version ", version,
                     " is newer than the newest this build of Winback knows (",
                     LatestSchemaVersion(), "); upgrade Winback to open it"));
  }
  return absl::OkStatus();
}

absl::Status Migrate(SQLite::Database& db, const std::string& path) {
  const int app_id = db.execAndGet("PRAGMA application_id").getInt();
  if (app_id != 0 && app_id != kApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": not a Winback database (application_id ", app_id, ")"));
  }
  WB_RETURN_IF_ERROR(CheckVersionKnown(UserVersion(db), path));
  if (UserVersion(db) == LatestSchemaVersion()) return absl::OkStatus();

  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  // Another connection may have migrated since the check above.
  const int version = UserVersion(db);
  WB_RETURN_IF_ERROR(CheckVersionKnown(version, path));
  if (version == 0) {
    const int tables = db.execAndGet(
                             "SELECT COUNT(*) FROM sqlite_schema "
                             "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
                           .getInt();
    if (tables != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": not a Winback database (has tables but no schema version)"));
    }
  }
  for (const SchemaMigration& m : SchemaMigrations()) {
    if (m.version <= version) continue;
    db.exec(std::string(m.sql));
    SQLite::Statement log(db,
                          "INSERT INTO schema_migrations "
                          "(version, description, applied_at_us) "
                          "VALUES (?, ?, ?)");
    log.bind(1, m.version);
    log.bind(2, std::string(m.description));
    log.bind(3, WallNow());
    log.exec();
    db.exec(absl::StrCat("PRAGMA user_version = ", m.version));
  }
  db.exec(absl::StrCat("PRAGMA application_id = ", kApplicationId));
  tx.commit();
  return absl::OkStatus();
}

// Decodes a row selected with kRunColumns (stages are loaded separately).
absl::StatusOr<RunRecord> DecodeRun(SQLite::Statement& q) {
  RunRecord run;
  run.run_id = q.getColumn(0).getInt64();
  run.request_id = Text(q.getColumn(1));
  const std::string state = Text(q.getColumn(2));
  const std::optional<RunState> parsed_state = ParseRunState(state);
  if (!parsed_state) {
    return absl::DataLossError(
        absl::StrCat("run ", run.run_id, ": unknown runs.state '", state, "'"));
  }
  run.state = *parsed_state;
  const std::string trigger = Text(q.getColumn(3));
  const std::optional<RunTrigger> parsed_trigger = ParseRunTrigger(trigger);
  if (!parsed_trigger) {
    return absl::DataLossError(absl::StrCat(
        "run ", run.run_id, ": unknown runs.trigger '", trigger, "'"));
  }
  run.trigger = *parsed_trigger;
  run.as_of = q.getColumn(4).getInt64();
  run.started_at = q.getColumn(5).getInt64();
  if (!q.getColumn(6).isNull()) run.finished_at = q.getColumn(6).getInt64();
  run.error = Text(q.getColumn(7));
  run.published = q.getColumn(8).getInt() != 0;
  run.current_stage = Text(q.getColumn(9));
  run.config_json = Text(q.getColumn(10));
  if (!q.getColumn(11).isNull()) {
    run.as_of_requested = q.getColumn(11).getInt() != 0;
  }
  if (!q.getColumn(12).isNull()) run.cpu_seconds = q.getColumn(12).getDouble();
  if (!q.getColumn(13).isNull()) {
    run.peak_rss_bytes = q.getColumn(13).getInt64();
  }
  return run;
}

// The statements of the helpers below come from the connection's
// StatementCache: the service runs them on every request.

void LoadStages(StatementCache& statements, RunRecord& run) {
  StatementCache::Handle q = statements.Get(
      "SELECT stage, seconds, rows, cpu_seconds FROM run_stages "
      "WHERE run_id = ? ORDER BY seq");
  q->bind(1, run.run_id);
  while (q->executeStep()) {
    StageStat& stage = run.stages.emplace_back();
    stage.stage = Text(q->getColumn(0));
    stage.seconds = q->getColumn(1).getDouble();
    stage.rows = q->getColumn(2).getInt64();
    if (!q->getColumn(3).isNull()) {
      stage.cpu_seconds = q->getColumn(3).getDouble();
    }
  }
}

// Runs `q` (selecting kRunColumns) and decodes every row with its stages.
absl::StatusOr<std::vector<RunRecord>> LoadRuns(StatementCache& statements,
                                                SQLite::Statement& q) {
  std::vector<RunRecord> runs;
  while (q.executeStep()) {
    WB_ASSIGN_OR_RETURN(RunRecord run, DecodeRun(q));
    runs.push_back(std::move(run));
  }
  for (RunRecord& run : runs) LoadStages(statements, run);
  return runs;
}

// Loads the single run selected by `q`, or nullopt.
absl::StatusOr<std::optional<RunRecord>> LoadOptionalRun(
    StatementCache& statements, SQLite::Statement& q) {
  WB_ASSIGN_OR_RETURN(std::vector<RunRecord> runs, LoadRuns(statements, q));
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front());
}

absl::StatusOr<RunRecord> LoadRun(StatementCache& statements, int64_t run_id) {
  StatementCache::Handle q = statements.Get(
      absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE run_id = ?"));
  q->bind(1, run_id);
  WB_ASSIGN_OR_RETURN(std::optional<RunRecord> run,
                      LoadOptionalRun(statements, *q));
  if (!run) return NotFound(run_id);
  return std::move(*run);
}

absl::StatusOr<std::optional<RunRecord>> LoadRunByRequestId(
    StatementCache& statements, std::string_view request_id) {
  StatementCache::Handle q = statements.Get(
      absl::StrCat("SELECT ", kRunColumns, " FROM runs WHERE request_id = ?"));
  q->bind(1, std::string(request_id));
  return LoadOptionalRun(statements, *q);
}

absl::Status CheckExists(StatementCache& statements, int64_t run_id) {
  StatementCache::Handle q =
      statements.Get("SELECT 1 FROM runs WHERE run_id = ?");
  q->bind(1, run_id);
  if (!q->executeStep()) return NotFound(run_id);
  return absl::OkStatus();
}

// Ok when `run_id` exists and is pending or running.
absl::Status CheckUnfinished(SQLite::Database& db, int64_t run_id) {
  SQLite::Statement q(db, "SELECT state FROM runs WHERE run_id = ?");
  q.bind(1, run_id);
  if (!q.executeStep()) return NotFound(run_id);
  const std::string state = Text(q.getColumn(0));
  const std::optional<RunState> parsed = ParseRunState(state);
  if (!parsed) {
    return absl::DataLossError(
        absl::StrCat("run ", run_id, ": unknown runs.state '", state, "'"));
  }
  if (IsFinished(*parsed)) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", run_id, " is already ", state));
  }
  return absl::OkStatus();
}

void DeleteOutputs(SQLite::Database& db, int64_t run_id) {
  for (std::string_view table : RunOutputTables()) {
    SQLite::Statement del(
        db, absl::StrCat("DELETE FROM ", Sv(table), " WHERE run_id = ?"));
    del.bind(1, run_id);
    del.exec();
  }
}

absl::Status ValidateOutputs(const RunOutputs& outputs) {
  std::set<std::string_view> names;
  for (const auto& [name, value] : outputs.counts) {
    if (name.empty()) return absl::InvalidArgumentError("empty count name");
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate count name '", name, "'"));
    }
  }
  std::set<std::pair<std::string_view, std::string_view>> reasons;
  for (const RejectStat& r : outputs.rejects) {
    if (!reasons.emplace(r.file, r.reason).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate reject (", r.file, ", ", r.reason, ")"));
    }
  }
  if (const LabelTable* l = outputs.labels; l != nullptr) {
    const size_t n = l->customer_id.size();
    if (l->month.size() != n || l->last_purchase_at.size() != n ||
        l->churned.size() != n || l->censored.size() != n) {
      return absl::InvalidArgumentError(
          "LabelTable columns have different lengths");
    }
    for (size_t i = 0; i < n; ++i) {
      if (l->churned[i] > 1 || l->censored[i] > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "label row ", i, ": churned and censored must be 0 or 1"));
      }
    }
  }
  return absl::OkStatus();
}

void WriteCounts(SQLite::Database& db, int64_t run_id,
                 const std::vector<std::pair<std::string, int64_t>>& counts) {
  SQLite::Statement ins(
      db, "INSERT INTO run_counts (run_id, name, value) VALUES (?, ?, ?)");
  ins.bind(1, run_id);
  for (const auto& [name, value] : counts) {
    ins.bindNoCopy(2, name);
    ins.bind(3, value);
    ins.exec();
    ins.reset();
  }
}

void WriteRejects(SQLite::Database& db, int64_t run_id,
                  const std::vector<RejectStat>& rejects) {
  SQLite::Statement ins(db,
                        "INSERT INTO run_rejects "
                        "(run_id, file, reason, count, first_lines) "
                        "VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, run_id);
  for (const RejectStat& r : rejects) {
    ins.bindNoCopy(2, r.file);
    ins.bindNoCopy(3, r.reason);
    ins.bind(4, r.count);
    ins.bind(5, absl::StrJoin(r.first_lines, ","));
    ins.exec();
    ins.reset();
  }
}

// The hot path of a publish (~600k rows): one prepared statement, the
// run_id bound once, month texts formatted once per distinct month.
void WriteLabels(SQLite::Database& db, int64_t run_id,
                 const LabelTable& labels) {
  absl::flat_hash_map<MonthIndex, std::string> month_text;
  for (MonthIndex m : labels.month) {
    if (!month_text.contains(m)) month_text.emplace(m, FormatMonth(m));
  }
  store_internal::BatchInsert ins(db,
                                  "INSERT INTO churn_labels (run_id, "
                                  "customer_id, month, last_purchase_at_us, "
                                  "churned, censored)",
                                  6, labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    auto [q, k] = ins.Row();
    q.bind(k, run_id);
    q.bind(k + 1, labels.customer_id[i]);
    q.bindNoCopy(k + 2, month_text.find(labels.month[i])->second);
    q.bind(k + 3, labels.last_purchase_at[i]);
    q.bind(k + 4, static_cast<int>(labels.churned[i]));
    q.bind(k + 5, static_cast<int>(labels.censored[i]));
  }
  ins.Finish();
}

void WriteOutputsV2(SQLite::Database& db, int64_t run_id,
                    const RunOutputs& outputs) {
  using namespace store_internal;
  if (outputs.customers) WriteCustomers(db, run_id, *outputs.customers);
  if (outputs.segments) WriteSegments(db, run_id, *outputs.segments);
  if (outputs.campaigns) WriteCampaigns(db, run_id, *outputs.campaigns);
  if (outputs.targets) WriteTargets(db, run_id, *outputs.targets);
  if (outputs.model_report) WriteModelReport(db, run_id, *outputs.model_report);
  if (outputs.diagnosis) WriteDiagnosis(db, run_id, *outputs.diagnosis);
  if (outputs.readouts) WriteReadouts(db, run_id, *outputs.readouts);
  if (outputs.holds) WriteHolds(db, run_id, *outputs.holds);
}

// Turns foreign-key enforcement off on `db` while it lives and back on after.
// Construct it outside any transaction (SQLite ignores the pragma inside one)
// and before the transaction it covers, so that it outlives it.
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(SQLite::Database& db) : db_(db) {
    db_.exec("PRAGMA foreign_keys = OFF");
  }
  ~ForeignKeysOff() {
    try {
      db_.exec("PRAGMA foreign_keys = ON");
    } catch (const SQLite::Exception&) {
      // Outside a transaction this pragma cannot fail; nothing to do if it
      // somehow does, as a destructor must not throw.
    }
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  SQLite::Database& db_;
};

// Deletes every finished run older than the newest `keep_runs` published
// runs, with its rows: its outputs (DeleteOutputs) and its stage history.
// The run served by default (LatestPublishedRun) is always kept, even when
// newer backfills push it past `keep_runs`.
//
// Call it with foreign keys off (ForeignKeysOff): it does the cascade itself.
// With enforcement on, SQLite deletes from a table that has a foreign key in
// two passes (collect every key in a temporary b-tree, then seek and check
// each row), and the ON DELETE CASCADE of one full-size run (~700k rows,
// mostly churn_labels) took ~0.7 s; table by table without it, ~0.15 s.
void ApplyRetention(SQLite::Database& db, int keep_runs) {
  SQLite::Statement oldest_kept(db,
                                "SELECT run_id FROM runs WHERE published = 1 "
                                "ORDER BY run_id DESC LIMIT 1 OFFSET ?");
  oldest_kept.bind(1, keep_runs - 1);
  if (!oldest_kept.executeStep()) return;  // fewer published runs than kept
  SQLite::Statement expired(
      db, absl::StrCat("SELECT run_id FROM runs WHERE run_id < ? AND state "
                       "NOT IN ",
                       kUnfinishedStates,
                       " AND run_id IS NOT (SELECT run_id FROM runs ",
                       kCurrentRunFilter, ")"));
  expired.bind(1, oldest_kept.getColumn(0).getInt64());
  std::vector<int64_t> run_ids;
  while (expired.executeStep()) run_ids.push_back(expired.getColumn(0));
  for (int64_t run_id : run_ids) {
    DeleteOutputs(db, run_id);
    for (const char* sql : {"DELETE FROM run_stages WHERE run_id = ?",
                            "DELETE FROM runs WHERE run_id = ?"}) {
      SQLite::Statement del(db, sql);
      del.bind(1, run_id);
      del.exec();
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kPending:
      return "pending";
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<RunState> ParseRunState(std::string_view name) {
  for (RunState s :
       {RunState::kPending, RunState::kRunning, RunState::kSucceeded,
        RunState::kFailed, RunState::kCancelled}) {
    if (RunStateName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsFinished(RunState state) {
  return state == RunState::kSucceeded || state == RunState::kFailed ||
         state == RunState::kCancelled;
}

std::string_view RunTriggerName(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::kSchedule:
      return "schedule";
    case RunTrigger::kManual:
      return "manual";
    case RunTrigger::kCatchUp:
      return "catch-up";
  }
  return "unknown";
}

std::optional<RunTrigger> ParseRunTrigger(std::string_view name) {
  for (RunTrigger t :
       {RunTrigger::kSchedule, RunTrigger::kManual, RunTrigger::kCatchUp}) {
    if (RunTriggerName(t) == name) return t;
  }
  return std::nullopt;
}

absl::Status StoreOptions::Validate() const {
  if (keep_runs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_runs must be at least 1, got ", keep_runs));
  }
  if (busy_timeout_ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "busy_timeout_ms must not be negative, got ", busy_timeout_ms));
  }
  return absl::OkStatus();
}

Store::Store(std::string path, StoreOptions options,
             std::unique_ptr<SQLite::Database> db)
    : path_(std::move(path)),
      options_(options),
      db_(std::move(db)),
      statements_(std::make_unique<store_internal::StatementCache>(*db_)) {}

Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& path, const StoreOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  if (path.empty()) return absl::InvalidArgumentError("empty database path");
  // SQLite's memory statistics take a process-wide mutex on every
  // allocation; nothing here reads them. Only possible before SQLite is
  // initialised, so a process that opened a database some other way first
  // keeps them (harmless).
  [[maybe_unused]] static const bool no_memstatus =
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  return Guarded(
      absl::StrCat("opening ", path),
      [&]() -> absl::StatusOr<std::unique_ptr<Store>> {
        // NOMUTEX: mu_ already serialises every use of the connection, so
        // SQLite's own per-call connection mutex is not needed.
        auto db = std::make_unique<SQLite::Database>(
            path,
            SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
            options.busy_timeout_ms);
        WB_RETURN_IF_ERROR(ConfigureConnection(*db, path));
        WB_RETURN_IF_ERROR(Migrate(*db, path));
        return std::unique_ptr<Store>(new Store(path, options, std::move(db)));
      });
}

absl::Status ValidateRequestId(std::string_view request_id) {
  if (request_id.size() > kMaxRequestIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: at most ", kMaxRequestIdBytes, " bytes, got ",
                     request_id.size()));
  }
  if (const size_t bad = FirstInvalidUtf8(request_id);
      bad != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: not UTF-8 text (byte ", bad + 1, " of '",
                     EscapeInvalidUtf8(request_id), "')"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunRecord> Store::BeginRun(RunTrigger trigger,
                                          std::string_view request_id,
                                          std::optional<Micros> as_of,
                                          Micros now) {
  WB_RETURN_IF_ERROR(ValidateRequestId(request_id));
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded("BeginRun", [&]() -> absl::StatusOr<RunRecord> {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (!request_id.empty()) {
      WB_ASSIGN_OR_RETURN(std::optional<RunRecord> existing,
                          LoadRunByRequestId(statements, request_id));
      if (existing) {
        return absl::AlreadyExistsError(
            absl::StrCat("request_id '", Sv(request_id),
                         "' already started run ", existing->run_id));
      }
    }
    SQLite::Statement active(
        db, absl::StrCat("SELECT run_id, state FROM runs "
                         "WHERE state IN ",
                         kUnfinishedStates, " ORDER BY run_id LIMIT 1"));
    if (active.executeStep()) {
      return absl::AbortedError(
          absl::StrCat("run ", active.getColumn(0).getInt64(), " is already ",
                       Text(active.getColumn(1))));
    }
    SQLite::Statement ins(db,
                          "INSERT INTO runs (request_id, state, trigger, "
                          "as_of_us, as_of_requested, started_at_us) "
                          "VALUES (?, ?, ?, ?, ?, ?)");
    if (request_id.empty()) {
      ins.bind(1);  // NULL: UNIQUE allows any number of runs without one
    } else {
      ins.bind(1, std::string(request_id));
    }
    ins.bind(2, std::string(RunStateName(RunState::kRunning)));
    ins.bind(3, std::string(RunTriggerName(trigger)));
    ins.bind(4, as_of.value_or(0));
    ins.bind(5, as_of.has_value() ? 1 : 0);
    ins.bind(6, now);
    ins.exec();
    const int64_t run_id = db.getLastInsertRowid();
    WB_ASSIGN_OR_RETURN(RunRecord run, LoadRun(statements, run_id));
    tx.commit();
    return run;
  });
}

absl::Status Store::SetAsOf(int64_t run_id, Micros as_of) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("SetAsOf(run ", run_id, ")"), [&]() -> absl::Status {
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        WB_RETURN_IF_ERROR(CheckUnfinished(db, run_id));
        SQLite::Statement q(db,
                            "UPDATE runs SET as_of_us = ? WHERE run_id = ?");
        q.bind(1, as_of);
        q.bind(2, run_id);
        q.exec();
        tx.commit();
        return absl::OkStatus();
      });
}

absl::Status Store::SetRunUsage(int64_t run_id, double cpu_seconds,
                                int64_t peak_rss_bytes) {
  if (!std::isfinite(cpu_seconds) || cpu_seconds < 0 || peak_rss_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("run ", run_id,
                     ": CPU seconds and peak memory must be finite and >= 0"));
  }
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(absl::StrCat("SetRunUsage(run ", run_id, ")"),
                 [&]() -> absl::Status {
                   SQLite::Statement q(db,
                                       "UPDATE runs SET cpu_seconds = ?, "
                                       "peak_rss_bytes = ? WHERE run_id = ?");
                   q.bind(1, cpu_seconds);
                   q.bind(2, peak_rss_bytes);
                   q.bind(3, run_id);
                   if (q.exec() == 0) {
                     return absl::NotFoundError(
                         absl::StrCat("run ", run_id, " not found"));
                   }
                   return absl::OkStatus();
                 });
}

absl::Status Store::SetConfigJson(int64_t run_id,
                                  std::string_view config_json) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("SetConfigJson(run ", run_id, ")"), [&]() -> absl::Status {
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        WB_RETURN_IF_ERROR(CheckUnfinished(db, run_id));
        SQLite::Statement q(db,
                            "UPDATE runs SET config_json = ? WHERE run_id = ?");
        q.bind(1, std::string(config_json));
        q.bind(2, run_id);
        q.exec();
        tx.commit();
        return absl::OkStatus();
      });
}

namespace {

// Adds `stat` to the run's stage history (after its other stages), or
// replaces the figures of a stage recorded before.
void WriteStage(SQLite::Database& db, int64_t run_id, const StageStat& stat) {
  SQLite::Statement up(
      db,
      "INSERT INTO run_stages (run_id, stage, seq, seconds, rows, "
      "cpu_seconds) "
      "VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 "
      "FROM run_stages WHERE run_id = ?1), ?3, ?4, ?5) "
      "ON CONFLICT (run_id, stage) DO UPDATE "
      "SET seconds = excluded.seconds, rows = excluded.rows, "
      "cpu_seconds = excluded.cpu_seconds");
  up.bind(1, run_id);
  up.bind(2, stat.stage);
  up.bind(3, stat.seconds);
  up.bind(4, stat.rows);
  if (stat.cpu_seconds.has_value()) {
    up.bind(5, *stat.cpu_seconds);
  } else {
    up.bind(5);
  }
  up.exec();
}

}  // namespace

absl::Status Store::RecordStage(int64_t run_id, const StageStat& stat) {
  if (stat.stage.empty()) return absl::InvalidArgumentError("empty stage name");
  if (!std::isfinite(stat.seconds) || stat.seconds < 0 || stat.rows < 0 ||
      (stat.cpu_seconds.has_value() &&
       !(std::isfinite(*stat.cpu_seconds) && *stat.cpu_seconds >= 0))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stage ", stat.stage,
        ": seconds, CPU seconds and rows must be finite and >= 0"));
  }
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("RecordStage(run ", run_id, ", ", stat.stage, ")"),
      [&]() -> absl::Status {
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        WB_RETURN_IF_ERROR(CheckUnfinished(db, run_id));
        WriteStage(db, run_id, stat);
        SQLite::Statement cur(
            db, "UPDATE runs SET current_stage = ? WHERE run_id = ?");
        cur.bind(1, stat.stage);
        cur.bind(2, run_id);
        cur.exec();
        tx.commit();
        return absl::OkStatus();
      });
}

int64_t OutputRows(const RunOutputs& o) {
  int64_t n = static_cast<int64_t>(o.counts.size() + o.rejects.size());
  if (o.labels) n += static_cast<int64_t>(o.labels->size());
  if (o.customers) n += static_cast<int64_t>(o.customers->size());
  if (o.segments) n += static_cast<int64_t>(o.segments->size());
  if (o.campaigns) n += static_cast<int64_t>(o.campaigns->size());
  if (o.targets) n += static_cast<int64_t>(o.targets->size());
  if (o.model_report) ++n;
  if (o.diagnosis) {
    const Diagnosis& d = o.diagnosis->diagnosis;
    n += static_cast<int64_t>(d.months.size() + d.segment_months.size() +
                              d.funnel.size() + d.promo_by_segment.size() + 1);
  }
  if (o.readouts) n += static_cast<int64_t>(o.readouts->size());
  if (o.holds) n += static_cast<int64_t>(o.holds->size());
  return n;
}

absl::Status Store::PublishRun(int64_t run_id, const RunOutputs& outputs,
                               Micros now) {
  const auto publish_start = std::chrono::steady_clock::now();
  const double publish_cpu_start = ProcessCpuSeconds();
  WB_RETURN_IF_ERROR(ValidateOutputs(outputs));
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("PublishRun(run ", run_id, ")"), [&]() -> absl::Status {
        // Retention below deletes with foreign keys off (see ApplyRetention).
        // The inserts need no check either: CheckUnfinished finds the run
        // inside this IMMEDIATE transaction, so no one can delete it first.
        ForeignKeysOff fk_off(db);
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        WB_RETURN_IF_ERROR(CheckUnfinished(db, run_id));
        DeleteOutputs(db, run_id);
        SQLite::Statement done(db,
                               "UPDATE runs SET state = 'succeeded', "
                               "published = 1, finished_at_us = ?, error = '', "
                               "current_stage = 'publish' WHERE run_id = ?");
        done.bind(1, now);
        done.bind(2, run_id);
        done.exec();
        // Retention before the run's rows: the pages it frees are reused
        // for them in this transaction, so each is written to the WAL (and
        // then checkpointed) once. Deleting after the inserts wrote both the
        // new pages and the old run's: on the full data twice the WAL
        // (18.4k against 9.3k frames) and about twice the commit's time.
        ApplyRetention(db, options_.keep_runs);
        WriteCounts(db, run_id, outputs.counts);
        WriteRejects(db, run_id, outputs.rejects);
        if (outputs.labels != nullptr) WriteLabels(db, run_id, *outputs.labels);
        WriteOutputsV2(db, run_id, outputs);
        // The publish stage's own timing, up to the commit (so with the
        // retention's deletes), joins the run's stage history in the same
        // transaction.
        StageStat stage;
        stage.stage = "publish";
        stage.seconds = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - publish_start)
                            .count();
        stage.rows = OutputRows(outputs);
        stage.cpu_seconds =
            std::max(0.0, ProcessCpuSeconds() - publish_cpu_start);
        WriteStage(db, run_id, stage);
        tx.commit();
        return absl::OkStatus();
      });
}

absl::Status Store::FinishUnpublished(
    int64_t run_id, RunState state, std::string_view error, Micros now,
    const std::vector<std::pair<std::string, int64_t>>& counts,
    const std::vector<RejectStat>& rejects) {
  if (state != RunState::kFailed && state != RunState::kCancelled) {
    return absl::InvalidArgumentError(
        absl::StrCat("FinishUnpublished takes failed or cancelled, not ",
                     Sv(RunStateName(state))));
  }
  RunOutputs kept;
  kept.counts = counts;
  kept.rejects = rejects;
  WB_RETURN_IF_ERROR(ValidateOutputs(kept));
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("FinishUnpublished(run ", run_id, ")"),
      [&]() -> absl::Status {
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        WB_RETURN_IF_ERROR(CheckUnfinished(db, run_id));
        DeleteOutputs(db, run_id);
        WriteCounts(db, run_id, kept.counts);
        WriteRejects(db, run_id, kept.rejects);
        SQLite::Statement q(db,
                            "UPDATE runs SET state = ?, published = 0, "
                            "finished_at_us = ?, error = ? WHERE run_id = ?");
        q.bind(1, std::string(RunStateName(state)));
        q.bind(2, now);
        q.bind(3, std::string(error));
        q.bind(4, run_id);
        q.exec();
        tx.commit();
        return absl::OkStatus();
      });
}

absl::StatusOr<int> Store::FailInterruptedRuns(Micros now) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded("FailInterruptedRuns", [&]() -> absl::StatusOr<int> {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    std::vector<int64_t> ids;
    SQLite::Statement q(db, absl::StrCat("SELECT run_id FROM runs WHERE "
                                         "state IN ",
                                         kUnfinishedStates));
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    SQLite::Statement fail(db,
                           "UPDATE runs SET state = 'failed', published = 0, "
                           "finished_at_us = ?, error = ? WHERE run_id = ?");
    fail.bind(1, now);
    fail.bind(2, std::string(kInterruptedError));
    for (int64_t id : ids) {
      DeleteOutputs(db, id);
      fail.bind(3, id);
      fail.exec();
      fail.reset();
    }
    tx.commit();
    return static_cast<int>(ids.size());
  });
}

absl::Status Store::MarkCancelledRunInterrupted(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("MarkCancelledRunInterrupted(run ", run_id, ")"),
      [&]() -> absl::Status {
        SQLite::Statement q(db,
                            "UPDATE runs SET state = 'failed', error = ? "
                            "WHERE run_id = ? AND state = 'cancelled'");
        q.bind(1, std::string(kInterruptedError));
        q.bind(2, run_id);
        if (q.exec() == 1) return absl::OkStatus();
        SQLite::Statement state(db, "SELECT state FROM runs WHERE run_id = ?");
        state.bind(1, run_id);
        if (!state.executeStep()) return NotFound(run_id);
        return absl::FailedPreconditionError(
            absl::StrCat("run ", run_id, " is ", Text(state.getColumn(0)),
                         ", not cancelled"));
      });
}

absl::StatusOr<RunRecord> Store::GetRun(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetRun(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<RunRecord> {
                   SQLite::Transaction tx(db);  // stages match the run row
                   return LoadRun(statements, run_id);
                 });
}

absl::StatusOr<std::vector<RunRecord>> Store::ListRuns(
    int limit, std::optional<int64_t> before_run_id) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be positive, got ", limit));
  }
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded("ListRuns", [&]() -> absl::StatusOr<std::vector<RunRecord>> {
    SQLite::Transaction tx(db);
    SQLite::Statement q(db, absl::StrCat("SELECT ", kRunColumns,
                                         " FROM runs WHERE run_id < ? "
                                         "ORDER BY run_id DESC LIMIT ?"));
    q.bind(1, before_run_id.value_or(std::numeric_limits<int64_t>::max()));
    q.bind(2, limit);
    return LoadRuns(statements, q);
  });
}

absl::StatusOr<std::optional<RunRecord>> Store::LatestPublishedRun() {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(
      "LatestPublishedRun", [&]() -> absl::StatusOr<std::optional<RunRecord>> {
        SQLite::Transaction tx(db);
        StatementCache::Handle q = statements.Get(absl::StrCat(
            "SELECT ", kRunColumns, " FROM runs ", kCurrentRunFilter));
        return LoadOptionalRun(statements, *q);
      });
}

absl::StatusOr<std::optional<RunRecord>> Store::LastSucceededRun() {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(
      "LastSucceededRun", [&]() -> absl::StatusOr<std::optional<RunRecord>> {
        SQLite::Transaction tx(db);
        StatementCache::Handle q = statements.Get(
            absl::StrCat("SELECT ", kRunColumns,
                         " FROM runs WHERE published = 1 "
                         "ORDER BY finished_at_us DESC, run_id DESC LIMIT 1"));
        return LoadOptionalRun(statements, *q);
      });
}

absl::StatusOr<std::optional<RunRecord>> Store::FindRunByRequestId(
    std::string_view request_id) {
  if (request_id.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded("FindRunByRequestId",
                 [&]() -> absl::StatusOr<std::optional<RunRecord>> {
                   SQLite::Transaction tx(db);
                   return LoadRunByRequestId(statements, request_id);
                 });
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Store::GetCounts(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(
      absl::StrCat("GetCounts(run ", run_id, ")"),
      [&]() -> absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> {
        SQLite::Transaction tx(db);
        WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
        SQLite::Statement q(db,
                            "SELECT name, value FROM run_counts "
                            "WHERE run_id = ? ORDER BY name");
        q.bind(1, run_id);
        std::vector<std::pair<std::string, int64_t>> counts;
        while (q.executeStep()) {
          counts.emplace_back(Text(q.getColumn(0)), q.getColumn(1).getInt64());
        }
        return counts;
      });
}

absl::StatusOr<std::vector<RejectStat>> Store::GetRejects(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(
      absl::StrCat("GetRejects(run ", run_id, ")"),
      [&]() -> absl::StatusOr<std::vector<RejectStat>> {
        SQLite::Transaction tx(db);
        WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
        SQLite::Statement q(db,
                            "SELECT file, reason, count, first_lines "
                            "FROM run_rejects WHERE run_id = ? "
                            "ORDER BY file, reason");
        q.bind(1, run_id);
        std::vector<RejectStat> rejects;
        while (q.executeStep()) {
          RejectStat r;
          r.file = Text(q.getColumn(0));
          r.reason = Text(q.getColumn(1));
          r.count = q.getColumn(2).getInt64();
          const std::string lines = Text(q.getColumn(3));
          for (absl::string_view part :
               absl::StrSplit(lines, ',', absl::SkipEmpty())) {
            int64_t line = 0;
            if (!absl::SimpleAtoi(part, &line)) {
              return absl::DataLossError(
                  absl::StrCat("run ", run_id,
                               ": bad run_rejects.first_lines '", lines, "'"));
            }
            r.first_lines.push_back(line);
          }
          rejects.push_back(std::move(r));
        }
        return rejects;
      });
}

absl::StatusOr<LabelTable> Store::GetLabels(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(
      absl::StrCat("GetLabels(run ", run_id, ")"),
      [&]() -> absl::StatusOr<LabelTable> {
        SQLite::Transaction tx(db);
        WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
        SQLite::Statement q(db,
                            "SELECT customer_id, month, last_purchase_at_us, "
                            "churned, censored FROM churn_labels "
                            "WHERE run_id = ? ORDER BY customer_id, month");
        q.bind(1, run_id);
        LabelTable labels;
        absl::flat_hash_map<std::string, MonthIndex> months;
        while (q.executeStep()) {
          const char* text = q.getColumn(1).getText();
          auto it = months.find(text);
          if (it == months.end()) {
            const std::optional<MonthIndex> m = ParseMonth(text);
            if (!m) {
              return absl::DataLossError(absl::StrCat(
                  "run ", run_id, ": bad churn_labels.month '", text, "'"));
            }
            it = months.emplace(text, *m).first;
          }
          labels.customer_id.push_back(q.getColumn(0).getInt64());
          labels.month.push_back(it->second);
          labels.last_purchase_at.push_back(q.getColumn(2).getInt64());
          labels.churned.push_back(
              static_cast<uint8_t>(q.getColumn(3).getInt()));
          labels.censored.push_back(
              static_cast<uint8_t>(q.getColumn(4).getInt()));
        }
        return labels;
      });
}

absl::StatusOr<std::vector<SegmentRecord>> Store::GetSegments(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetSegments(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<std::vector<SegmentRecord>> {
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadSegments(db, run_id);
                 });
}

absl::StatusOr<std::vector<CampaignRecord>> Store::GetCampaigns(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetCampaigns(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<std::vector<CampaignRecord>> {
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadCampaigns(db, run_id);
                 });
}

namespace {
absl::Status UnknownCampaign(int64_t run_id, const std::string& campaign) {
  return absl::NotFoundError(
      absl::StrCat("run ", run_id, " has no campaign '", campaign, "'"));
}
}  // namespace

absl::StatusOr<int64_t> Store::CountTargets(int64_t run_id,
                                            const std::string& campaign) {
  absl::MutexLock lock(&mu_);
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("CountTargets(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<int64_t> {
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   const int64_t n = store_internal::CountTargets(
                       statements, run_id, campaign);
                   if (n < 0) return UnknownCampaign(run_id, campaign);
                   return n;
                 });
}

absl::StatusOr<TargetTable> Store::GetTargets(int64_t run_id,
                                              const std::string& campaign,
                                              int64_t offset, int64_t limit) {
  if (offset < 0 || limit < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetTargets: offset and limit must be >= 0, got ", offset,
                     " and ", limit));
  }
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetTargets(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<TargetTable> {
                   SQLite::Transaction tx(db);
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   if (store_internal::CountTargets(statements, run_id,
                                                    campaign) < 0) {
                     return UnknownCampaign(run_id, campaign);
                   }
                   return store_internal::ReadTargets(statements, run_id,
                                                      campaign, offset, limit);
                 });
}

absl::StatusOr<CustomerRecord> Store::GetCustomer(int64_t run_id,
                                                  int64_t customer_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetCustomer(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<CustomerRecord> {
                   SQLite::Transaction tx(db);
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadCustomer(statements, run_id,
                                                       customer_id);
                 });
}

absl::StatusOr<ModelReportRecord> Store::GetModelReport(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetModelReport(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<ModelReportRecord> {
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadModelReport(db, run_id);
                 });
}

absl::StatusOr<DiagnosisRecord> Store::GetDiagnosis(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetDiagnosis(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<DiagnosisRecord> {
                   SQLite::Transaction tx(db);
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadDiagnosis(db, run_id);
                 });
}

absl::StatusOr<std::vector<CampaignReadout>> Store::GetReadouts(
    int64_t run_id) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  StatementCache& statements = *statements_;
  return Guarded(absl::StrCat("GetReadouts(run ", run_id, ")"),
                 [&]() -> absl::StatusOr<std::vector<CampaignReadout>> {
                   SQLite::Transaction tx(db);
                   WB_RETURN_IF_ERROR(CheckExists(statements, run_id));
                   return store_internal::ReadReadouts(db, run_id);
                 });
}

absl::StatusOr<std::vector<PublishedList>> Store::GetPublishedLists(
    Micros before) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded("GetPublishedLists",
                 [&]() -> absl::StatusOr<std::vector<PublishedList>> {
                   SQLite::Transaction tx(db);
                   return store_internal::ReadPublishedLists(db, before);
                 });
}

absl::StatusOr<std::vector<int64_t>> Store::GetListedCustomers(
    std::string_view campaign, Micros from, Micros before) {
  absl::MutexLock lock(&mu_);
  SQLite::Database& db = *db_;
  return Guarded(
      absl::StrCat("GetListedCustomers(", Sv(campaign), ")"),
      [&]() -> absl::StatusOr<std::vector<int64_t>> {
        SQLite::Transaction tx(db);
        SQLite::Statement q(
            db,
            "SELECT DISTINCT t.customer_id FROM runs r JOIN targets t "
            "ON t.run_id = r.run_id AND t.campaign = ? "
            "WHERE r.published = 1 AND r.as_of_us >= ? AND r.as_of_us < ? "
            "AND r.as_of_requested IS NOT 1 ORDER BY t.customer_id");
        q.bind(1, std::string(campaign));
        q.bind(2, from);
        q.bind(3, before);
        std::vector<int64_t> out;
        while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
        return out;
      });
}

}  // namespace winback
