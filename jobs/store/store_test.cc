#include "jobs/store/store.h"

#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/store/schema.h"

namespace winback {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;

#define ASSERT_OK(expr) ASSERT_TRUE((expr).ok()) << (expr).status()
#define EXPECT_OK_STATUS(expr)      \
  do {                              \
    const absl::Status s_ = (expr); \
    EXPECT_TRUE(s_.ok()) << s_;     \
  } while (false)

// `rows` labels: three consecutive months per customer from 2022-11, so
// months cross a year end; ordered by (customer_id, month).
LabelTable MakeLabels(int64_t rows, int64_t first_customer = 1000) {
  LabelTable t;
  const MonthIndex start = *ParseMonth("2022-11");
  for (int64_t i = 0; i < rows; ++i) {
    t.customer_id.push_back(first_customer + i / 3);
    t.month.push_back(start + static_cast<MonthIndex>(i % 3));
    t.last_purchase_at.push_back(MonthStart(t.month.back()) +
                                 (i % 97) * kMicrosPerHour + 123);
    const bool censored = i % 3 == 2;
    t.censored.push_back(censored ? 1 : 0);
    t.churned.push_back(!censored && i % 5 == 0 ? 1 : 0);
  }
  return t;
}

void ExpectSameLabels(const LabelTable& a, const LabelTable& b) {
  EXPECT_EQ(a.customer_id, b.customer_id);
  EXPECT_EQ(a.month, b.month);
  EXPECT_EQ(a.last_purchase_at, b.last_purchase_at);
  EXPECT_EQ(a.churned, b.churned);
  EXPECT_EQ(a.censored, b.censored);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "store_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (std::filesystem::path(dir_) / "winback.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> OpenStore(StoreOptions options = {}) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // A raw connection, as another tool reading the database would have.
  std::unique_ptr<SQLite::Database> Raw() {
    auto db =
        std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE, 5000);
    db->exec("PRAGMA foreign_keys = ON");
    return db;
  }

  // Undoes the migrations after `version`, newest first: the layout of a
  // database written by the code of that version.
  void RollBackTo(int version) {
    const std::vector<std::pair<int, std::vector<const char*>>> undo = {
        {10, {"ALTER TABLE run_stages DROP COLUMN cpu_seconds"}},
        {9,
         {"ALTER TABLE runs DROP COLUMN cpu_seconds",
          "ALTER TABLE runs DROP COLUMN peak_rss_bytes"}},
        {8, {"DROP TABLE contact_holds"}},
        {7,
         {"ALTER TABLE campaigns DROP COLUMN suppress_listed_within_us",
          "ALTER TABLE campaigns DROP COLUMN recently_listed"}},
        {6, {"ALTER TABLE runs DROP COLUMN as_of_requested"}},
        {5, {"DROP TABLE campaign_readouts"}},
        {4, {"ALTER TABLE diagnosis_months DROP COLUMN partial"}},
        {3, {"ALTER TABLE campaigns DROP COLUMN min_revenue_at_risk"}},
    };
    ASSERT_EQ(undo.front().first, LatestSchemaVersion())
        << "a new migration needs its undo here";
    auto db = Raw();
    for (const auto& [v, statements] : undo) {
      if (v <= version) continue;
      for (const char* sql : statements) db->exec(sql);
    }
    db->exec(absl::StrCat("DELETE FROM schema_migrations WHERE version > ",
                          version));
    db->exec(absl::StrCat("PRAGMA user_version = ", version));
  }

  // A database of `version` holding one published run (*old_run), opened
  // by this code: migrated to the latest version.
  std::unique_ptr<Store> MigratedFrom(int version, int64_t* old_run) {
    {
      auto store = OpenStore();
      if (store == nullptr) return nullptr;
      *old_run = PublishNewRun(*store, 2);
    }
    RollBackTo(version);
    auto store = OpenStore();
    EXPECT_EQ(Raw()->execAndGet("PRAGMA user_version").getInt(),
              LatestSchemaVersion());
    return store;
  }

  int64_t CountRows(const char* table, int64_t run_id) {
    return Raw()
        ->execAndGet(absl::StrCat("SELECT COUNT(*) FROM ", table,
                                  " WHERE run_id = ", run_id))
        .getInt64();
  }

  // Begins and publishes a run with `label_rows` labels; returns its id.
  int64_t PublishNewRun(Store& store, int64_t label_rows, Micros now = kT0) {
    absl::StatusOr<RunRecord> run =
        store.BeginRun(RunTrigger::kSchedule, "", now, now);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return -1;
    EXPECT_OK_STATUS(store.RecordStage(run->run_id, {"ingest", 0.5, 10}));
    const LabelTable labels = MakeLabels(label_rows);
    RunOutputs out;
    out.counts = {{"customers", label_rows}};
    out.rejects = {{"click_stream.csv", "bad timestamp", 2, {12, 57}}};
    out.labels = &labels;
    EXPECT_OK_STATUS(store.PublishRun(run->run_id, out, now + 1));
    return run->run_id;
  }

  std::string dir_;
  std::string path_;
};

TEST(RunEnums, RoundTripThroughTheirNames) {
  for (RunState s :
       {RunState::kPending, RunState::kRunning, RunState::kSucceeded,
        RunState::kFailed, RunState::kCancelled}) {
    EXPECT_EQ(ParseRunState(RunStateName(s)), s);
  }
  for (RunTrigger t :
       {RunTrigger::kSchedule, RunTrigger::kManual, RunTrigger::kCatchUp}) {
    EXPECT_EQ(ParseRunTrigger(RunTriggerName(t)), t);
  }
  EXPECT_EQ(RunTriggerName(RunTrigger::kCatchUp), "catch-up");
  EXPECT_EQ(RunStateName(RunState::kCancelled), "cancelled");
  EXPECT_EQ(ParseRunState("Running"), std::nullopt);
  EXPECT_EQ(ParseRunState(""), std::nullopt);
  EXPECT_EQ(ParseRunTrigger("catch_up"), std::nullopt);
}

TEST(StoreOptions, ValidateRejectsNonsense) {
  EXPECT_TRUE(StoreOptions{}.Validate().ok());
  EXPECT_EQ(StoreOptions{.keep_runs = 0}.Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StoreOptions{.busy_timeout_ms = -1}.Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Store::Open("/tmp/x.db", {.keep_runs = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, MigratesAnEmptyDatabase) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->path(), path_);
  auto db = Raw();
  EXPECT_EQ(db->execAndGet("PRAGMA user_version").getInt(),
            LatestSchemaVersion());
  EXPECT_EQ(db->execAndGet("PRAGMA application_id").getInt(), kApplicationId);
  EXPECT_EQ(db->execAndGet("PRAGMA journal_mode").getString(), "wal");
  for (const char* table : {"schema_migrations", "runs", "run_stages",
                            "run_counts", "run_rejects", "churn_labels"}) {
    EXPECT_TRUE(db->tableExists(table)) << table;
  }
  EXPECT_EQ(db->execAndGet("SELECT COUNT(*) FROM schema_migrations").getInt(),
            static_cast<int>(SchemaMigrations().size()));
}

TEST_F(StoreTest, MigratesAVersion2DatabaseKeepingItsRuns) {
  CampaignRecord campaign;
  campaign.config.name = "win-back";
  campaign.config.max_size = 10;
  campaign.config.min_revenue_at_risk = 5000;
  campaign.summary.assigned = 4;
  const std::vector<CampaignRecord> campaigns = {campaign};
  int64_t old_run = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    const LabelTable labels = MakeLabels(3);
    absl::StatusOr<RunRecord> run =
        store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
    ASSERT_OK(run);
    old_run = run->run_id;
    RunOutputs out;
    out.labels = &labels;
    out.campaigns = &campaigns;
    const absl::Status published = store->PublishRun(old_run, out, kT0 + 1);
    ASSERT_TRUE(published.ok()) << published;
  }
  // Back to the version-2 layout: what a database written by the code
  // before migration 3 holds.
  RollBackTo(2);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw()->execAndGet("PRAGMA user_version").getInt(),
            LatestSchemaVersion());
  EXPECT_EQ(Raw()
                ->execAndGet("SELECT description FROM schema_migrations "
                             "WHERE version = 3")
                .getString(),
            "campaigns.min_revenue_at_risk");
  absl::StatusOr<std::vector<CampaignRecord>> read =
      store->GetCampaigns(old_run);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].config.name, "win-back");
  EXPECT_EQ((*read)[0].config.max_size, 10);
  EXPECT_EQ((*read)[0].summary.assigned, 4);
  EXPECT_EQ((*read)[0].config.min_revenue_at_risk, 0);  // none before v3
  EXPECT_EQ((*read)[0].config.suppress_listed_within, 0);  // none before v7
  EXPECT_EQ((*read)[0].summary.recently_listed, 0);
  EXPECT_EQ(CountRows("churn_labels", old_run), 3);

  // New runs store the floor.
  const LabelTable labels = MakeLabels(1);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kManual, "", kT0 + 2, kT0 + 2);
  ASSERT_OK(run);
  RunOutputs out;
  out.labels = &labels;
  out.campaigns = &campaigns;
  const absl::Status published = store->PublishRun(run->run_id, out, kT0 + 3);
  ASSERT_TRUE(published.ok()) << published;
  read = store->GetCampaigns(run->run_id);
  ASSERT_OK(read);
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].config.min_revenue_at_risk, 5000);
}

// Migration 4 adds diagnosis_months.partial and sets it for runs published
// before it from their as-of time: 1 for the month of as-of when as-of is
// before the month's last microsecond, so they read back as new runs do.
TEST_F(StoreTest, MigratesAVersion3DatabaseMarkingEachRunsPartialMonth) {
  // Run 1 as of 2022-07-20T12:00:00Z: July is partial, June complete. Run 2
  // as of 2022-06-30T23:59:59.999999Z, June's last microsecond: complete.
  const Micros mid_july = 1'658'318'400'000'000;
  const Micros end_of_june = 1'656'633'599'999'999;
  const MonthIndex june = *ParseMonth("2022-06"), july = june + 1;
  std::vector<int64_t> runs;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    for (const auto& [as_of, months] :
         std::vector<std::pair<Micros, std::vector<MonthIndex>>>{
             {mid_july, {june, july}}, {end_of_june, {june}}}) {
      absl::StatusOr<RunRecord> run =
          store->BeginRun(RunTrigger::kManual, "", as_of, kT0);
      ASSERT_OK(run);
      DiagnosisRecord diagnosis;
      diagnosis.summary = "old summary";
      for (MonthIndex m : months) {
        MonthlyRow row;
        row.month = m;
        row.revenue = 100 + m;
        diagnosis.diagnosis.months.push_back(row);
      }
      RunOutputs out;
      out.diagnosis = &diagnosis;
      const absl::Status published =
          store->PublishRun(run->run_id, out, kT0 + 1);
      ASSERT_TRUE(published.ok()) << published;
      runs.push_back(run->run_id);
    }
  }
  // Back to the version-3 layout: no partial column.
  RollBackTo(3);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Raw()->execAndGet("PRAGMA user_version").getInt(),
            LatestSchemaVersion());
  auto partial_months = [&](int64_t run_id) {
    absl::StatusOr<DiagnosisRecord> d = store->GetDiagnosis(run_id);
    EXPECT_TRUE(d.ok()) << d.status();
    std::vector<std::pair<std::string, bool>> out;
    if (!d.ok()) return out;
    for (const MonthlyRow& m : d->diagnosis.months) {
      out.emplace_back(FormatMonth(m.month), m.partial);
    }
    return out;
  };
  EXPECT_THAT(partial_months(runs[0]),
              ElementsAre(Pair("2022-06", false), Pair("2022-07", true)));
  EXPECT_THAT(partial_months(runs[1]), ElementsAre(Pair("2022-06", false)));
  absl::StatusOr<DiagnosisRecord> d = store->GetDiagnosis(runs[0]);
  ASSERT_OK(d);
  EXPECT_EQ(d->diagnosis.as_of, mid_july);
  EXPECT_EQ(d->diagnosis.months[1].revenue, 100 + july);
}

// Migration 6 adds runs.as_of_requested: runs begun before it read back
// without it (not recorded), new runs with it.
TEST_F(StoreTest, MigratesAVersion5DatabaseLeavingItsRunsAsOfRequestUnknown) {
  int64_t old_run = 0;
  auto store = MigratedFrom(5, &old_run);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> old = store->GetRun(old_run);
  ASSERT_OK(old);
  EXPECT_FALSE(old->as_of_requested.has_value());
  EXPECT_EQ(old->as_of, kT0);

  absl::StatusOr<RunRecord> latest =
      store->BeginRun(RunTrigger::kSchedule, "", std::nullopt, kT0 + 1);
  ASSERT_OK(latest);
  EXPECT_EQ(latest->as_of, 0);  // until SetAsOf
  EXPECT_EQ(latest->as_of_requested, false);
  EXPECT_OK_STATUS(store->SetAsOf(latest->run_id, kT0 + 2));
  EXPECT_OK_STATUS(store->FinishUnpublished(latest->run_id, RunState::kFailed,
                                            "x", kT0 + 3));
  absl::StatusOr<RunRecord> read = store->GetRun(latest->run_id);
  ASSERT_OK(read);
  EXPECT_EQ(read->as_of, kT0 + 2);
  EXPECT_EQ(read->as_of_requested, false);

  absl::StatusOr<RunRecord> backfill =
      store->BeginRun(RunTrigger::kManual, "b", kT0 - 5, kT0 + 4);
  ASSERT_OK(backfill);
  EXPECT_EQ(backfill->as_of, kT0 - 5);
  EXPECT_EQ(backfill->as_of_requested, true);
  absl::StatusOr<std::optional<RunRecord>> found =
      store->FindRunByRequestId("b");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->as_of_requested, true);
}

TEST_F(StoreTest, ARequestIdIsAtMost200BytesOfUtf8) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run = store->BeginRun(
      RunTrigger::kManual, std::string(201, 'k'), std::nullopt, kT0);
  EXPECT_EQ(run.status(), absl::InvalidArgumentError(
                              "request_id: at most 200 bytes, got 201"));
  run = store->BeginRun(RunTrigger::kManual, "caf\xE9", std::nullopt, kT0);
  EXPECT_EQ(run.status(),
            absl::InvalidArgumentError(
                "request_id: not UTF-8 text (byte 4 of 'caf\\xE9')"));
  // Nothing was begun: the next run starts.
  run = store->BeginRun(RunTrigger::kManual, std::string(200, 'k'),
                        std::nullopt, kT0);
  ASSERT_OK(run);
  EXPECT_EQ(run->request_id, std::string(200, 'k'));
  EXPECT_OK_STATUS(
      store->FinishUnpublished(run->run_id, RunState::kFailed, "x", kT0 + 1));
  run = store->BeginRun(RunTrigger::kManual, "caf\xC3\xA9", std::nullopt,
                        kT0 + 2);
  ASSERT_OK(run);
}

// Migration 9 adds what a run's process used: unknown for the runs before
// it; SetRunUsage records it, on a finished run too.
TEST_F(StoreTest, MigratesAVersion8DatabaseAndRecordsRunUsage) {
  int64_t old_run = 0;
  auto store = MigratedFrom(8, &old_run);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> old = store->GetRun(old_run);
  ASSERT_OK(old);
  EXPECT_FALSE(old->cpu_seconds.has_value());
  EXPECT_FALSE(old->peak_rss_bytes.has_value());

  EXPECT_OK_STATUS(store->SetRunUsage(old_run, 11.25, 1'073'741'824));
  old = store->GetRun(old_run);
  ASSERT_OK(old);
  EXPECT_EQ(old->cpu_seconds, 11.25);
  EXPECT_EQ(old->peak_rss_bytes, 1'073'741'824);
  // ListRuns decodes the same columns.
  absl::StatusOr<std::vector<RunRecord>> listed =
      store->ListRuns(10, std::nullopt);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().peak_rss_bytes, 1'073'741'824);

  EXPECT_EQ(store->SetRunUsage(old_run + 1, 1, 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->SetRunUsage(old_run, -1, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->SetRunUsage(old_run, 1, -1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetRun(old_run)->cpu_seconds, 11.25);
}

TEST_F(StoreTest, MigratesAVersion9DatabaseAndRecordsStageCpu) {
  int64_t old_run = 0;
  auto store = MigratedFrom(9, &old_run);
  ASSERT_NE(store, nullptr);
  // The old run's stages were not measured: no CPU time, not a zero.
  absl::StatusOr<RunRecord> old = store->GetRun(old_run);
  ASSERT_OK(old);
  ASSERT_EQ(old->stages.size(), 2u);
  for (const StageStat& s : old->stages) {
    EXPECT_FALSE(s.cpu_seconds.has_value()) << s.stage;
  }

  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kManual, "", kT0 + 1, kT0 + 1);
  ASSERT_OK(run);
  // A stage is recorded when it begins (no figures) and again when it ends.
  EXPECT_OK_STATUS(store->RecordStage(run->run_id, {"ingest", 0.0, 0}));
  EXPECT_OK_STATUS(store->RecordStage(run->run_id, {"ingest", 2.5, 10, 4.75}));
  EXPECT_OK_STATUS(store->RecordStage(run->run_id, {"sessionize", 0.0, 0}));
  EXPECT_EQ(store->RecordStage(run->run_id, {"sessionize", 1, 1, -0.5}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store
          ->RecordStage(run->run_id, {"sessionize", 1, 1,
                                      std::numeric_limits<double>::infinity()})
          .code(),
      absl::StatusCode::kInvalidArgument);
  run = store->GetRun(run->run_id);
  ASSERT_OK(run);
  ASSERT_EQ(run->stages.size(), 2u);
  EXPECT_EQ(run->stages[0].cpu_seconds, 4.75);
  EXPECT_FALSE(run->stages[1].cpu_seconds.has_value());
  // ListRuns loads the same stage rows.
  absl::StatusOr<std::vector<RunRecord>> listed =
      store->ListRuns(1, std::nullopt);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->front().stages[0].cpu_seconds, 4.75);
}

TEST_F(StoreTest, ReopeningIsIdempotent) {
  int64_t run_id = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    run_id = PublishNewRun(*store, 6);
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run = store->GetRun(run_id);
  ASSERT_OK(run);
  EXPECT_TRUE(run->published);
  EXPECT_EQ(
      Raw()->execAndGet("SELECT COUNT(*) FROM schema_migrations").getInt(),
      static_cast<int>(SchemaMigrations().size()));
}

TEST_F(StoreTest, RefusesADatabaseFromNewerCode) {
  { ASSERT_NE(OpenStore(), nullptr); }
  Raw()->exec(
      absl::StrCat("PRAGMA user_version = ", LatestSchemaVersion() + 1));
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
}

TEST_F(StoreTest, RefusesAForeignDatabase) {
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE something_else (x INTEGER)");
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path_, {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("not a Winback database"));
}

TEST_F(StoreTest, OpenReportsAnUnopenablePathAsAStatus) {
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir_ + "/no/such/dir/winback.db", {});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("no/such/dir"));
}

TEST_F(StoreTest, BeginRunIsIdempotentOnRequestId) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kManual, "req-1", kT0, kT0 + 5);
  ASSERT_OK(run);
  EXPECT_EQ(run->state, RunState::kRunning);
  EXPECT_EQ(run->trigger, RunTrigger::kManual);
  EXPECT_EQ(run->request_id, "req-1");
  EXPECT_EQ(run->as_of, kT0);
  EXPECT_EQ(run->started_at, kT0 + 5);
  EXPECT_EQ(run->finished_at, std::nullopt);
  EXPECT_FALSE(run->published);

  absl::StatusOr<RunRecord> again =
      store->BeginRun(RunTrigger::kManual, "req-1", kT0, kT0 + 9);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(),
              HasSubstr(absl::StrCat("run ", run->run_id)));

  // Still the same answer once the run has finished.
  ASSERT_TRUE(store
                  ->FinishUnpublished(run->run_id, RunState::kCancelled, "stop",
                                      kT0 + 10)
                  .ok());
  EXPECT_EQ(store->BeginRun(RunTrigger::kManual, "req-1", kT0, kT0 + 11)
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);

  absl::StatusOr<std::optional<RunRecord>> found =
      store->FindRunByRequestId("req-1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->run_id, run->run_id);
  EXPECT_EQ((*found)->state, RunState::kCancelled);
  absl::StatusOr<std::optional<RunRecord>> missing =
      store->FindRunByRequestId("req-2");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(StoreTest, BeginRunRefusesASecondActiveRun) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> first =
      store->BeginRun(RunTrigger::kSchedule, "", kT0, kT0);
  ASSERT_OK(first);
  absl::StatusOr<RunRecord> second =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("run ", first->run_id)));
  // Runs without a request_id do not collide with each other.
  ASSERT_TRUE(
      store->FinishUnpublished(first->run_id, RunState::kFailed, "x", kT0)
          .ok());
  ASSERT_OK(store->BeginRun(RunTrigger::kManual, "", kT0, kT0));
}

TEST_F(StoreTest, PublishRunWritesOutputsThatReadBackIdentical) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kCatchUp, "req", kT0, kT0 + 1);
  ASSERT_OK(run);
  ASSERT_TRUE(store->SetAsOf(run->run_id, kT0 - 7).ok());
  ASSERT_TRUE(store->SetConfigJson(run->run_id, R"({"keep_runs":30})").ok());
  ASSERT_TRUE(store->RecordStage(run->run_id, {"ingest", 1.25, 1000}).ok());
  ASSERT_TRUE(store->RecordStage(run->run_id, {"sessionize", 0.5, 40}).ok());

  LabelTable labels = MakeLabels(1000);
  labels.customer_id.push_back(int64_t{1} << 50);  // beyond 32 bits
  labels.month.push_back(*ParseMonth("1999-12"));
  labels.last_purchase_at.push_back(-5);  // before the epoch
  labels.churned.push_back(1);
  labels.censored.push_back(0);
  RunOutputs out;
  out.counts = {{"transactions.csv/rows_read", 1234},
                {"customers", 77},
                {"click_stream.csv/rows_rejected", 3}};
  out.rejects = {{"transactions.csv", "bad amount", 1, {4}},
                 {"click_stream.csv", "bad timestamp", 3, {12, 57, 90}},
                 {"click_stream.csv", "empty session_id", 0, {}}};
  out.labels = &labels;
  ASSERT_TRUE(store->PublishRun(run->run_id, out, kT0 + 100).ok());

  absl::StatusOr<LabelTable> read = store->GetLabels(run->run_id);
  ASSERT_OK(read);
  ExpectSameLabels(*read, labels);

  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
      store->GetCounts(run->run_id);
  ASSERT_OK(counts);
  EXPECT_THAT(*counts, ElementsAre(Pair("click_stream.csv/rows_rejected", 3),
                                   Pair("customers", 77),
                                   Pair("transactions.csv/rows_read", 1234)));

  absl::StatusOr<std::vector<RejectStat>> rejects =
      store->GetRejects(run->run_id);
  ASSERT_OK(rejects);
  ASSERT_EQ(rejects->size(), 3u);
  EXPECT_EQ((*rejects)[0].file, "click_stream.csv");
  EXPECT_EQ((*rejects)[0].reason, "bad timestamp");
  EXPECT_EQ((*rejects)[0].count, 3);
  EXPECT_THAT((*rejects)[0].first_lines, ElementsAre(12, 57, 90));
  EXPECT_EQ((*rejects)[1].reason, "empty session_id");
  EXPECT_TRUE((*rejects)[1].first_lines.empty());
  EXPECT_EQ((*rejects)[2].file, "transactions.csv");
  EXPECT_EQ(Raw()
                ->execAndGet("SELECT first_lines FROM run_rejects WHERE "
                             "reason = 'bad timestamp'")
                .getString(),
            "12,57,90");

  absl::StatusOr<RunRecord> done = store->GetRun(run->run_id);
  ASSERT_OK(done);
  EXPECT_EQ(done->state, RunState::kSucceeded);
  EXPECT_EQ(done->trigger, RunTrigger::kCatchUp);
  EXPECT_TRUE(done->published);
  EXPECT_EQ(done->as_of, kT0 - 7);
  EXPECT_EQ(done->finished_at, kT0 + 100);
  EXPECT_EQ(done->error, "");
  EXPECT_EQ(done->current_stage, "publish");
  EXPECT_EQ(done->config_json, R"({"keep_runs":30})");
  ASSERT_EQ(done->stages.size(), 3u);
  EXPECT_EQ(done->stages[2].stage, "publish");
  EXPECT_GE(done->stages[2].seconds, 0.0);
  // Rows written: the counts, the rejects and the labels.
  EXPECT_EQ(done->stages[2].rows,
            static_cast<int64_t>(out.counts.size() + out.rejects.size() +
                                 labels.size()));
  EXPECT_EQ(done->stages[0].stage, "ingest");
  EXPECT_EQ(done->stages[0].seconds, 1.25);
  EXPECT_EQ(done->stages[0].rows, 1000);
  EXPECT_EQ(done->stages[1].stage, "sessionize");

  absl::StatusOr<std::optional<RunRecord>> latest = store->LatestPublishedRun();
  ASSERT_OK(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->run_id, run->run_id);

  // Published runs are final.
  EXPECT_EQ(store->PublishRun(run->run_id, out, kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->RecordStage(run->run_id, {"late", 1, 1}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, RecordStageReplacesAStageAndKeepsItsPlace) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_OK(run);
  ASSERT_TRUE(store->RecordStage(run->run_id, {"ingest", 1, 1}).ok());
  ASSERT_TRUE(store->RecordStage(run->run_id, {"sessionize", 2, 2}).ok());
  ASSERT_TRUE(store->RecordStage(run->run_id, {"ingest", 3, 3}).ok());
  EXPECT_EQ(store->RecordStage(run->run_id, {"", 1, 1}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->RecordStage(run->run_id, {"x", -1, 1}).code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<RunRecord> got = store->GetRun(run->run_id);
  ASSERT_OK(got);
  EXPECT_EQ(got->current_stage, "ingest");
  ASSERT_EQ(got->stages.size(), 2u);
  EXPECT_EQ(got->stages[0].stage, "ingest");
  EXPECT_EQ(got->stages[0].rows, 3);
  EXPECT_EQ(got->stages[1].stage, "sessionize");
}

TEST_F(StoreTest, AReaderSeesThePreviousOrTheNewRunNeverAMix) {
  auto writer = OpenStore();
  ASSERT_NE(writer, nullptr);
  const int64_t run1 = PublishNewRun(*writer, 30);

  // Another tool holds a read transaction open across the publish.
  auto reader = Raw();
  reader->exec("BEGIN");
  auto latest = [&]() {
    return reader
        ->execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1")
        .getInt64();
  };
  ASSERT_EQ(latest(), run1);

  const int64_t run2 = PublishNewRun(*writer, 60);
  EXPECT_EQ(latest(), run1);
  EXPECT_EQ(reader
                ->execAndGet(absl::StrCat(
                    "SELECT COUNT(*) FROM churn_labels WHERE run_id = ", run2))
                .getInt64(),
            0);
  reader->exec("COMMIT");
  EXPECT_EQ(latest(), run2);

  // And through the API, on a second Store.
  auto second = OpenStore();
  ASSERT_NE(second, nullptr);
  absl::StatusOr<std::optional<RunRecord>> seen = second->LatestPublishedRun();
  ASSERT_OK(seen);
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->run_id, run2);
  absl::StatusOr<LabelTable> labels = second->GetLabels(run2);
  ASSERT_OK(labels);
  EXPECT_EQ(labels->size(), 60u);
}

TEST_F(StoreTest, ConcurrentReaderNeverSeesAPartialPublish) {
  auto writer = OpenStore();
  ASSERT_NE(writer, nullptr);
  auto reader = OpenStore();
  ASSERT_NE(reader, nullptr);
  constexpr int kRuns = 8;
  constexpr int64_t kRowsPerRunId = 3000;  // run k publishes k * 3000 labels
  std::atomic<bool> done = false;
  std::atomic<int> reads = 0;
  std::atomic<int> bad = 0;
  std::thread thread([&] {
    while (!done.load()) {
      absl::StatusOr<std::optional<RunRecord>> latest =
          reader->LatestPublishedRun();
      if (!latest.ok()) {
        ++bad;
        continue;
      }
      if (!latest->has_value()) continue;
      const int64_t id = (*latest)->run_id;
      absl::StatusOr<LabelTable> labels = reader->GetLabels(id);
      absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> counts =
          reader->GetCounts(id);
      if (!labels.ok() || !counts.ok() ||
          static_cast<int64_t>(labels->size()) != id * kRowsPerRunId ||
          counts->size() != 1) {
        ++bad;
      }
      ++reads;
    }
  });
  for (int i = 1; i <= kRuns; ++i) {
    EXPECT_EQ(PublishNewRun(*writer, i * kRowsPerRunId), i);
  }
  done = true;
  thread.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

TEST_F(StoreTest, FailedPublishLeavesNothingBehind) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t run1 = PublishNewRun(*store, 9);
  absl::StatusOr<RunRecord> run2 =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_OK(run2);
  LabelTable labels = MakeLabels(20);
  labels.customer_id[19] = labels.customer_id[18];  // duplicate key at the end
  labels.month[19] = labels.month[18];
  RunOutputs out;
  out.counts = {{"customers", 7}};
  out.labels = &labels;
  absl::Status status = store->PublishRun(run2->run_id, out, kT0);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("PublishRun"));
  EXPECT_THAT(status.message(), HasSubstr("UNIQUE"));

  EXPECT_EQ(CountRows("churn_labels", run2->run_id), 0);
  EXPECT_EQ(CountRows("run_counts", run2->run_id), 0);
  absl::StatusOr<RunRecord> still = store->GetRun(run2->run_id);
  ASSERT_OK(still);
  EXPECT_EQ(still->state, RunState::kRunning);
  EXPECT_FALSE(still->published);
  absl::StatusOr<std::optional<RunRecord>> latest = store->LatestPublishedRun();
  ASSERT_OK(latest);
  EXPECT_EQ((*latest)->run_id, run1);
}

TEST_F(StoreTest, FinishUnpublishedKeepsThePreviousRunServed) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t run1 = PublishNewRun(*store, 9);
  absl::StatusOr<RunRecord> run2 =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_OK(run2);
  ASSERT_TRUE(store->RecordStage(run2->run_id, {"ingest", 1, 5}).ok());
  // Rows that a crashed writer could have left (not possible through the
  // API, which publishes atomically) are cleaned up too.
  Raw()->exec(absl::StrCat("INSERT INTO churn_labels VALUES (", run2->run_id,
                           ", 1, '2023-01', 0, 0, 0)"));

  EXPECT_EQ(
      store->FinishUnpublished(run2->run_id, RunState::kSucceeded, "", kT0)
          .code(),
      absl::StatusCode::kInvalidArgument);
  // The error text usually comes from a Status.
  const absl::Status cause =
      absl::InvalidArgumentError("ingest: customer.csv line 3: bad id");
  ASSERT_TRUE(store
                  ->FinishUnpublished(run2->run_id, RunState::kFailed,
                                      cause.message(), kT0 + 50)
                  .ok());

  absl::StatusOr<RunRecord> failed = store->GetRun(run2->run_id);
  ASSERT_OK(failed);
  EXPECT_EQ(failed->state, RunState::kFailed);
  EXPECT_FALSE(failed->published);
  EXPECT_EQ(failed->finished_at, kT0 + 50);
  EXPECT_EQ(failed->error, "ingest: customer.csv line 3: bad id");
  EXPECT_EQ(failed->stages.size(), 1u);  // history is kept
  EXPECT_EQ(CountRows("churn_labels", run2->run_id), 0);

  absl::StatusOr<std::optional<RunRecord>> latest = store->LatestPublishedRun();
  ASSERT_OK(latest);
  EXPECT_EQ((*latest)->run_id, run1);

  EXPECT_EQ(
      store->FinishUnpublished(run2->run_id, RunState::kCancelled, "", kT0)
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->PublishRun(run2->run_id, {}, kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      store->FinishUnpublished(run1, RunState::kCancelled, "", kT0).code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, FailInterruptedRunsMarksUnfinishedRunsFailed) {
  int64_t published = 0;
  int64_t interrupted = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    published = PublishNewRun(*store, 3);
    absl::StatusOr<RunRecord> run =
        store->BeginRun(RunTrigger::kSchedule, "", kT0, kT0);
    ASSERT_OK(run);
    interrupted = run->run_id;
    ASSERT_TRUE(store->RecordStage(interrupted, {"ingest", 1, 1}).ok());
  }  // the daemon "crashes"
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<int> n = store->FailInterruptedRuns(kT0 + 99);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  absl::StatusOr<RunRecord> run = store->GetRun(interrupted);
  ASSERT_OK(run);
  EXPECT_EQ(run->state, RunState::kFailed);
  EXPECT_EQ(run->finished_at, kT0 + 99);
  EXPECT_THAT(run->error, HasSubstr("interrupted"));
  absl::StatusOr<RunRecord> good = store->GetRun(published);
  ASSERT_OK(good);
  EXPECT_EQ(good->state, RunState::kSucceeded);

  n = store->FailInterruptedRuns(kT0 + 100);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  ASSERT_OK(store->BeginRun(RunTrigger::kCatchUp, "", kT0, kT0));
}

TEST_F(StoreTest, ACancelledRunStoppedWithTheDaemonReadsAsInterrupted) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kSchedule, "", kT0, kT0);
  ASSERT_OK(run);
  EXPECT_OK_STATUS(store->FinishUnpublished(run->run_id, RunState::kCancelled,
                                            "run cancelled before stage model",
                                            kT0 + 7));
  EXPECT_OK_STATUS(store->MarkCancelledRunInterrupted(run->run_id));
  absl::StatusOr<RunRecord> marked = store->GetRun(run->run_id);
  ASSERT_OK(marked);
  EXPECT_EQ(marked->state, RunState::kFailed);
  EXPECT_EQ(marked->finished_at, kT0 + 7);
  EXPECT_FALSE(marked->published);
  // The same words as a run that a crash cut short.
  absl::StatusOr<RunRecord> crashed =
      store->BeginRun(RunTrigger::kSchedule, "", kT0, kT0);
  ASSERT_OK(crashed);
  ASSERT_OK(store->FailInterruptedRuns(kT0 + 9));
  EXPECT_EQ(marked->error, store->GetRun(crashed->run_id)->error);
  // Only a cancelled run, and only a known one.
  EXPECT_EQ(store->MarkCancelledRunInterrupted(run->run_id).code(),
            absl::StatusCode::kFailedPrecondition);
  const int64_t published = PublishNewRun(*store, 3);
  EXPECT_EQ(store->MarkCancelledRunInterrupted(published).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetRun(published)->state, RunState::kSucceeded);
  EXPECT_EQ(store->MarkCancelledRunInterrupted(published + 100).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, RetentionKeepsTheNewestPublishedRunsAndCascades) {
  auto store = OpenStore({.keep_runs = 2});
  ASSERT_NE(store, nullptr);
  const int64_t run1 = PublishNewRun(*store, 6);
  const int64_t run2 = PublishNewRun(*store, 6);
  absl::StatusOr<RunRecord> run3 =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_OK(run3);
  ASSERT_TRUE(store->RecordStage(run3->run_id, {"ingest", 1, 1}).ok());
  ASSERT_TRUE(
      store->FinishUnpublished(run3->run_id, RunState::kFailed, "x", kT0).ok());
  const int64_t run4 = PublishNewRun(*store, 6);

  // Kept: published 4 and 2, and the failed run 3 that is newer than 2.
  EXPECT_EQ(store->GetRun(run1).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(store->GetRun(run2));
  ASSERT_OK(store->GetRun(run3->run_id));
  for (const char* table :
       {"churn_labels", "run_counts", "run_rejects", "run_stages"}) {
    EXPECT_EQ(CountRows(table, run1), 0) << table;
    EXPECT_GT(CountRows(table, run2), 0) << table;
  }

  const int64_t run5 = PublishNewRun(*store, 6);
  absl::StatusOr<std::vector<RunRecord>> runs = store->ListRuns(10, {});
  ASSERT_OK(runs);
  std::vector<int64_t> ids;
  for (const RunRecord& r : *runs) ids.push_back(r.run_id);
  EXPECT_THAT(ids, ElementsAre(run5, run4));
  for (int64_t gone : {run2, run3->run_id}) {
    for (const char* table :
         {"churn_labels", "run_counts", "run_rejects", "run_stages"}) {
      EXPECT_EQ(CountRows(table, gone), 0) << table << " " << gone;
    }
  }
  EXPECT_EQ(Raw()->execAndGet("SELECT COUNT(*) FROM churn_labels").getInt(),
            12);
}

// A backfill (a newer run with an earlier as-of time) is published for
// whoever asks for it by id, but the lists served by default stay those of
// the latest as-of time, and retention does not expire them.
TEST_F(StoreTest, ABackfillDoesNotReplaceTheServedRunNorExpireIt) {
  auto store = OpenStore({.keep_runs = 1});
  ASSERT_NE(store, nullptr);
  constexpr Micros kDay = 86'400'000'000;
  const auto served = [&store]() -> int64_t {
    absl::StatusOr<std::optional<RunRecord>> r = store->LatestPublishedRun();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? (*r)->run_id : -1;
  };
  const int64_t nightly = PublishNewRun(*store, 6, kT0 + 10 * kDay);
  const int64_t backfill = PublishNewRun(*store, 6, kT0);
  EXPECT_EQ(served(), nightly);
  ASSERT_OK(store->GetRun(nightly));  // kept past keep_runs = 1
  ASSERT_OK(store->GetRun(backfill));

  // The next nightly run takes over, and both older runs expire.
  const int64_t next = PublishNewRun(*store, 6, kT0 + 11 * kDay);
  EXPECT_EQ(served(), next);
  EXPECT_EQ(store->GetRun(nightly).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRun(backfill).status().code(),
            absl::StatusCode::kNotFound);
  // On equal as-of times the newer run is served.
  const int64_t rerun = PublishNewRun(*store, 6, kT0 + 11 * kDay);
  EXPECT_EQ(served(), rerun);
}

TEST_F(StoreTest, LastSucceededRunIsTheLastToFinishBackfillsIncluded) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::optional<RunRecord>> last = store->LastSucceededRun();
  ASSERT_OK(last);
  EXPECT_FALSE(last->has_value());
  constexpr Micros kDay = 86'400'000'000;
  const int64_t nightly = PublishNewRun(*store, 6, kT0 + 10 * kDay);
  // A backfill of an earlier as-of time, started and finished later; then a
  // run that fails after both.
  absl::StatusOr<RunRecord> backfill =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0 + 12 * kDay);
  ASSERT_OK(backfill);
  const LabelTable labels = MakeLabels(3);
  RunOutputs out;
  out.labels = &labels;
  EXPECT_OK_STATUS(
      store->PublishRun(backfill->run_id, out, kT0 + 12 * kDay + 5));
  absl::StatusOr<RunRecord> failed =
      store->BeginRun(RunTrigger::kSchedule, "", std::nullopt, kT0 + 13 * kDay);
  ASSERT_OK(failed);
  EXPECT_OK_STATUS(store->FinishUnpublished(failed->run_id, RunState::kFailed,
                                            "x", kT0 + 13 * kDay + 1));

  last = store->LastSucceededRun();
  ASSERT_OK(last);
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->run_id, backfill->run_id);
  EXPECT_EQ((*last)->finished_at, kT0 + 12 * kDay + 5);
  absl::StatusOr<std::optional<RunRecord>> served = store->LatestPublishedRun();
  ASSERT_OK(served);
  ASSERT_TRUE(served->has_value());
  EXPECT_EQ((*served)->run_id, nightly);
}

TEST_F(StoreTest, ReusedStatementsLeaveNoSnapshotOpenBetweenCalls) {
  auto writer = OpenStore({.keep_runs = 1});
  ASSERT_NE(writer, nullptr);
  auto reader = OpenStore();
  ASSERT_NE(reader, nullptr);
  const auto publish = [&]() {
    absl::StatusOr<RunRecord> run =
        writer->BeginRun(RunTrigger::kManual, "", kT0, kT0);
    EXPECT_TRUE(run.ok()) << run.status();
    std::vector<CustomerRecord> customers(2);
    customers[0].customer_id = 7;
    customers[1].customer_id = 8;
    std::vector<CampaignRecord> campaigns(1);
    campaigns[0].config.name = campaigns[0].summary.name = "c";
    campaigns[0].summary.assigned = 2;
    TargetTable targets;
    for (int64_t id : {7, 8}) {
      targets.customer_id.push_back(id);
      targets.campaign.push_back("c");
      targets.segment.push_back("Loyal");
      targets.churn_score.push_back(0.5);
      targets.revenue_at_risk.push_back(1);
      targets.holdout.push_back(0);
      targets.reasons.push_back("");
      targets.promo_code.push_back("");
    }
    RunOutputs out;
    out.customers = &customers;
    out.campaigns = &campaigns;
    out.targets = &targets;
    EXPECT_OK_STATUS(writer->PublishRun(run->run_id, out, kT0));
    return run->run_id;
  };
  const int64_t run1 = publish();
  // The reads the service repeats on every request, twice (the second time
  // on reused statements). Several stop in the middle of a result (one row
  // of many), which holds a read snapshot until the statement is reset.
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(reader->LatestPublishedRun());
    ASSERT_OK(reader->GetRun(run1));
    ASSERT_OK(reader->GetCustomer(run1, 7));
    ASSERT_OK(reader->CountTargets(run1, "c"));
    absl::StatusOr<TargetTable> page = reader->GetTargets(run1, "c", 0, 1);
    ASSERT_OK(page);
    EXPECT_EQ(page->customer_id, std::vector<int64_t>{7});
  }
  // A publish deletes run 1 (keep_runs 1); a checkpoint then completes (no
  // reader pins the WAL), and the reader sees the new state at once.
  const int64_t run2 = publish();
  auto raw = Raw();
  SQLite::Statement checkpoint(*raw, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(checkpoint.executeStep());
  EXPECT_EQ(checkpoint.getColumn(0).getInt(), 0) << "checkpoint was blocked";
  absl::StatusOr<std::optional<RunRecord>> latest =
      reader->LatestPublishedRun();
  ASSERT_OK(latest);
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->run_id, run2);
  EXPECT_EQ(reader->GetRun(run1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reader->GetCustomer(run1, 7).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(reader->CountTargets(run1, "c").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK(reader->GetCustomer(run2, 8));
}

TEST_F(StoreTest, ListRunsPagesNewestFirst) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<RunRecord> run =
        store->BeginRun(RunTrigger::kManual, "", kT0, kT0 + i);
    ASSERT_OK(run);
    ASSERT_TRUE(
        store->FinishUnpublished(run->run_id, RunState::kCancelled, "", kT0 + i)
            .ok());
  }
  std::vector<std::vector<int64_t>> pages;
  std::optional<int64_t> before;
  while (true) {
    absl::StatusOr<std::vector<RunRecord>> page = store->ListRuns(2, before);
    ASSERT_OK(page);
    if (page->empty()) break;
    pages.emplace_back();
    for (const RunRecord& r : *page) pages.back().push_back(r.run_id);
    before = page->back().run_id;
  }
  EXPECT_THAT(
      pages, ElementsAre(ElementsAre(5, 4), ElementsAre(3, 2), ElementsAre(1)));
  EXPECT_EQ(store->ListRuns(0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, UnknownRunIsNotFound) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetRun(42).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetLabels(42).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetCounts(42).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetRejects(42).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->SetAsOf(42, kT0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->RecordStage(42, {"ingest", 1, 1}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->PublishRun(42, {}, kT0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->FinishUnpublished(42, RunState::kFailed, "", kT0).code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::optional<RunRecord>> latest = store->LatestPublishedRun();
  ASSERT_OK(latest);
  EXPECT_FALSE(latest->has_value());
}

TEST_F(StoreTest, RejectsMalformedOutputs) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<RunRecord> run =
      store->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_OK(run);
  LabelTable ragged = MakeLabels(4);
  ragged.censored.pop_back();
  RunOutputs out;
  out.labels = &ragged;
  EXPECT_EQ(store->PublishRun(run->run_id, out, kT0).code(),
            absl::StatusCode::kInvalidArgument);
  RunOutputs dup;
  dup.counts = {{"a", 1}, {"a", 2}};
  EXPECT_EQ(store->PublishRun(run->run_id, dup, kT0).code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<RunRecord> still = store->GetRun(run->run_id);
  ASSERT_OK(still);
  EXPECT_EQ(still->state, RunState::kRunning);
}

TEST_F(StoreTest, ReportsAHandEditedStateAsAnError) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t run = PublishNewRun(*store, 3);
  {
    auto db = Raw();
    db->exec("PRAGMA ignore_check_constraints = ON");
    db->exec("UPDATE runs SET state = 'Done'");
  }
  absl::StatusOr<RunRecord> got = store->GetRun(run);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("'Done'"));
  EXPECT_EQ(store->ListRuns(5, {}).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->LatestPublishedRun().status().code(),
            absl::StatusCode::kDataLoss);

  {
    auto db = Raw();
    db->exec("PRAGMA ignore_check_constraints = ON");
    db->exec("UPDATE runs SET state = 'succeeded', trigger = 'cron'");
    db->exec("UPDATE churn_labels SET month = 'x' || month");
  }
  EXPECT_THAT(store->GetRun(run).status().message(), HasSubstr("'cron'"));
  EXPECT_EQ(store->GetLabels(run).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreTest, RetentionAtPublishReplacesALargeRunWhole) {
  auto store = OpenStore({.keep_runs = 1});
  ASSERT_NE(store, nullptr);
  constexpr int64_t kRows = 200'000;
  const LabelTable labels = MakeLabels(kRows);
  RunOutputs out;
  out.labels = &labels;
  // The second publish also deletes the first run's rows (keep_runs = 1).
  int64_t last_run = 0;
  std::vector<int64_t> pages;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<RunRecord> run =
        store->BeginRun(RunTrigger::kSchedule, "", kT0, kT0);
    ASSERT_OK(run);
    ASSERT_TRUE(store->PublishRun(run->run_id, out, kT0).ok());
    absl::StatusOr<LabelTable> read = store->GetLabels(run->run_id);
    ASSERT_OK(read);
    EXPECT_EQ(read->customer_id, labels.customer_id);
    EXPECT_EQ(read->month, labels.month);
    last_run = run->run_id;
    pages.push_back(Raw()->execAndGet("PRAGMA page_count").getInt64());
  }
  // The first run's pages, freed before the second run's rows are written,
  // hold them: the file does not grow by a run (nor does the WAL write the
  // old pages and new ones both).
  EXPECT_GT(pages[0], 1000);
  EXPECT_LT(pages[1], pages[0] + pages[0] / 10);
  EXPECT_EQ(Raw()->execAndGet("SELECT COUNT(*) FROM churn_labels").getInt64(),
            kRows);
  EXPECT_EQ(Raw()->execAndGet("SELECT MIN(run_id) FROM churn_labels").getInt64(),
            last_run);
}

}  // namespace
}  // namespace winback
