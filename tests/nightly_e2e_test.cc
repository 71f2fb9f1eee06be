// The whole nightly run on generated data: the model against a trivial
// baseline, target lists against the rules, atomic publishing as a
// concurrent reader sees it, and a run killed part-way.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "tests/e2e_util.h"

namespace winback::testing {
namespace {

constexpr int64_t kWindowUs = 25LL * 86'400'000'000LL;

class NightlyE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("nightly-e2e");
    std::string out;
    ASSERT_EQ(RunCommand(DatagenBinary() + " --customers 4000 --seed 11 --truth --out " +
                             (dir_->path() / "data").string(),
                         &out),
              0)
        << out;
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    db_ = dir_->path() / (name + ".db");
    config_ = dir_->path() / (name + ".yaml");
    WriteFile(config_, "data: {dir: data}\nstore: {path: " + db_.filename().string() +
                           ", keep_runs: 5}\n");
  }

  std::string RunCommandLine() const {
    return WinbackBinary() + " -q run --config " + config_.string();
  }

  static TempDir* dir_;
  std::filesystem::path db_, config_;
};
TempDir* NightlyE2E::dir_ = nullptr;

TEST_F(NightlyE2E, ModelBeatsRecencyAloneAndListsFollowTheRules) {
  std::string out;
  ASSERT_EQ(RunCommand(RunCommandLine(), &out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  const int64_t run = db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1").getInt64();
  const std::string where = " WHERE run_id = " + std::to_string(run);

  SQLite::Statement report(db, "SELECT auc, baseline_recency_auc, pr_auc, brier, "
                               "lift_top_decile, holdout_rows, training_rows FROM model_reports" +
                                   where);
  ASSERT_TRUE(report.executeStep());
  const double auc = report.getColumn(0).getDouble();
  const double baseline = report.getColumn(1).getDouble();
  EXPECT_GT(auc, baseline) << "the model must beat recency alone on the held-out month";
  EXPECT_GT(baseline, 0.5);
  EXPECT_GT(report.getColumn(2).getDouble(), 0.5);
  EXPECT_LT(report.getColumn(3).getDouble(), 0.25);
  EXPECT_GT(report.getColumn(5).getInt64(), 100);
  EXPECT_GT(report.getColumn(6).getInt64(), 1000);

  // Scored customers are exactly those whose window is open at T, computed
  // here from the generator's purchases.
  const int64_t as_of = db.execAndGet("SELECT as_of_us FROM runs" + where).getInt64();
  std::set<int64_t> open;
  for (const auto& [customer, times] : ReadTruthPurchases(dir_->path() / "data")) {
    int64_t last = INT64_MIN;
    for (int64_t t : times) {
      if (t <= as_of) last = std::max(last, t);
    }
    if (last != INT64_MIN && last + kWindowUs > as_of) open.insert(customer);
  }
  std::set<int64_t> scored;
  SQLite::Statement s(db, "SELECT customer_id FROM scores" + where);
  while (s.executeStep()) scored.insert(s.getColumn(0).getInt64());
  EXPECT_EQ(scored, open);
  EXPECT_FALSE(scored.empty());

  // Each list's size, groups and totals match its campaign row; nobody is on two lists; every
  // list row's churn score is within its campaign's range and its revenue at
  // risk at or above the campaign's floor.
  SQLite::Statement camp(db, "SELECT c.campaign, c.assigned, c.holdout, COUNT(t.customer_id), "
                             "SUM(t.target_group = 'holdout'), MIN(t.churn_score), "
                             "c.min_churn_score, MIN(t.revenue_at_risk), "
                             "c.min_revenue_at_risk, c.revenue_at_risk, COALESCE(SUM(t.revenue_at_risk), 0), "
                             "c.mean_churn_score, COALESCE(AVG(t.churn_score), 0), c.treatment "
                             "FROM campaigns c LEFT JOIN targets t ON "
                             "t.run_id = c.run_id AND t.campaign = c.campaign WHERE c.run_id = " +
                                 std::to_string(run) + " GROUP BY c.campaign");
  int campaigns = 0;
  while (camp.executeStep()) {
    ++campaigns;
    EXPECT_EQ(camp.getColumn(1).getInt64(), camp.getColumn(3).getInt64()) << camp.getColumn(0).getString();
    EXPECT_EQ(camp.getColumn(2).getInt64(), camp.getColumn(4).getInt64());
    EXPECT_EQ(camp.getColumn(13).getInt64() + camp.getColumn(2).getInt64(), camp.getColumn(1).getInt64());
    const double at_risk = camp.getColumn(10).getDouble();
    EXPECT_NEAR(camp.getColumn(9).getDouble(), at_risk, 1e-6 * std::max(1.0, at_risk));
    EXPECT_NEAR(camp.getColumn(11).getDouble(), camp.getColumn(12).getDouble(), 1e-9);
    if (camp.getColumn(3).getInt64() > 0) {
      EXPECT_GE(camp.getColumn(5).getDouble(), camp.getColumn(6).getDouble());
      EXPECT_GE(camp.getColumn(7).getDouble(), camp.getColumn(8).getDouble());
    }
  }
  EXPECT_EQ(campaigns, 3);
  // The default win-back list has a floor, so the check above is not vacuous.
  EXPECT_GT(db.execAndGet("SELECT MAX(min_revenue_at_risk) FROM campaigns" + where).getDouble(), 0);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) - COUNT(DISTINCT customer_id) FROM targets" + where)
                .getInt64(),
            0);
  EXPECT_GT(db.execAndGet("SELECT COUNT(*) FROM targets" + where).getInt64(), 100);
  // Churned customers are scored 1 on the win-back list.
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM targets t JOIN customer_features f USING "
                          "(run_id, customer_id)" + where +
                          " AND f.churn_status = 'churned' AND t.churn_score <> 1")
                .getInt64(),
            0);
  // The diagnosis covers the months up to T.
  EXPECT_EQ(db.execAndGet("SELECT MAX(month) FROM diagnosis_months" + where).getString(), "2022-07");

  // Each segment's figures are those of its customers' rows, aggregated here
  // in SQL: sizes by status, the mean score of the scored ones, and revenue
  // at risk (score, 1 when churned, x expected spend).
  SQLite::Statement seg(db, "SELECT g.segment, g.customers, g.active_customers, g.churned_customers, "
                            "g.mean_churn_score, g.revenue_at_risk, c.n, c.active, c.churned, "
                            "c.mean_score, c.at_risk FROM segments g LEFT JOIN ("
                            "SELECT f.segment, COUNT(*) AS n, SUM(f.churn_status = 'active') AS active, "
                            "SUM(f.churn_status = 'churned') AS churned, AVG(s.churn_score) AS mean_score, "
                            "SUM(CASE f.churn_status WHEN 'churned' THEN 1.0 WHEN 'active' THEN "
                            "s.churn_score ELSE 0 END * f.avg_monthly_spend_12m) AS at_risk "
                            "FROM customer_features f LEFT JOIN scores s USING (run_id, customer_id)" +
                                where + " GROUP BY f.segment) c USING (segment)" + where);
  int segments = 0, with_mean = 0;
  while (seg.executeStep()) {
    const std::string name = seg.getColumn(0).getString();
    ++segments;
    EXPECT_EQ(seg.getColumn(1).getInt64(), seg.getColumn(6).getInt64()) << name;
    EXPECT_EQ(seg.getColumn(2).getInt64(), seg.getColumn(7).getInt64()) << name;
    EXPECT_EQ(seg.getColumn(3).getInt64(), seg.getColumn(8).getInt64()) << name;
    if (seg.getColumn(2).getInt64() > 0) {
      ++with_mean;
      EXPECT_NEAR(seg.getColumn(4).getDouble(), seg.getColumn(9).getDouble(), 1e-9) << name;
    }
    const double at_risk = seg.getColumn(10).getDouble();
    EXPECT_NEAR(seg.getColumn(5).getDouble(), at_risk, 1e-6 * std::max(1.0, at_risk)) << name;
  }
  EXPECT_EQ(segments, 11);
  EXPECT_GT(with_mean, 0);
}

// Reads, in one read transaction, the latest published run and whether its
// outputs are whole: every list as long as its campaign says and a feature
// row for every customer.
struct Snapshot {
  int64_t run = 0;
  bool whole = false;
};

Snapshot Read(SQLite::Database& db) {
  SQLite::Transaction tx(db);
  Snapshot s;
  SQLite::Statement q(db, "SELECT MAX(run_id) FROM runs WHERE published = 1");
  if (!q.executeStep() || q.getColumn(0).isNull()) return s;
  s.run = q.getColumn(0).getInt64();
  const std::string where = " WHERE run_id = " + std::to_string(s.run);
  const int64_t listed = db.execAndGet("SELECT COALESCE(SUM(assigned), 0) FROM campaigns" + where).getInt64();
  const int64_t targets = db.execAndGet("SELECT COUNT(*) FROM targets" + where).getInt64();
  const int64_t features = db.execAndGet("SELECT COUNT(*) FROM customer_features" + where).getInt64();
  const int64_t customers =
      db.execAndGet("SELECT value FROM run_counts" + where + " AND name = 'customers'").getInt64();
  s.whole = listed == targets && targets > 0 && features == customers;
  return s;
}

TEST_F(NightlyE2E, AReaderDuringARunSeesOnlyTheOldRunThenTheNewOneWhole) {
  std::string out;
  ASSERT_EQ(RunCommand(RunCommandLine(), &out), 0) << out;

  std::atomic<bool> stop{false};
  std::vector<Snapshot> seen;
  std::thread reader([&] {
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    while (!stop.load()) seen.push_back(Read(db));
  });
  const int code = RunCommand(RunCommandLine(), &out);
  // A few more reads after the run.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  reader.join();
  ASSERT_EQ(code, 0) << out;

  ASSERT_GT(seen.size(), 10u);
  int64_t previous = 0;
  for (const Snapshot& s : seen) {
    EXPECT_TRUE(s.whole) << "run " << s.run << " seen partly published";
    EXPECT_GE(s.run, previous) << "a reader went back to an older run";
    previous = s.run;
  }
  EXPECT_EQ(seen.front().run, 1);
  EXPECT_EQ(seen.back().run, 2);
}

TEST_F(NightlyE2E, ARunKilledPartWayPublishesNothingAndTheNextRunRecovers) {
  std::string out;
  ASSERT_EQ(RunCommand(RunCommandLine(), &out), 0) << out;

  // Start a second run and kill it once it is past ingest but before publish.
  bool killed = false;
  for (int attempt = 0; attempt < 5 && !killed; ++attempt) {
    int64_t before = 0;
    {
      SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
      before = db.execAndGet("SELECT MAX(run_id) FROM runs").getInt64();
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The run itself, not a shell around it, so that the kill hits it.
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      const std::string binary = WinbackBinary(), config = config_.string();
      ::execl(binary.c_str(), binary.c_str(), "-q", "run", "--config", config.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    db.setBusyTimeout(5000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      SQLite::Statement q(db, "SELECT current_stage, state FROM runs WHERE run_id > " +
                                  std::to_string(before));
      if (q.executeStep()) {
        const std::string stage = q.getColumn(0).getString();
        const std::string state = q.getColumn(1).getString();
        if (state != "running") break;  // finished before we caught it
        if (stage == "label" || stage == "features" || stage == "model" ||
            stage == "segment" || stage == "target" || stage == "diagnose") {
          ::kill(child, SIGKILL);
          killed = true;
          break;
        }
      }
    }
    ::waitpid(child, nullptr, 0);
  }
  ASSERT_TRUE(killed) << "never caught a run in the middle";

  {
    SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
    const int64_t dead = db.execAndGet("SELECT MAX(run_id) FROM runs").getInt64();
    EXPECT_EQ(db.execAndGet("SELECT state FROM runs WHERE run_id = " + std::to_string(dead)).getString(),
              "running");
    EXPECT_EQ(db.execAndGet("SELECT MAX(run_id) FROM runs WHERE published = 1").getInt64(), 1);
    for (const char* table : {"churn_labels", "customer_features", "scores", "targets",
                              "campaigns", "model_reports", "diagnosis_months"}) {
      EXPECT_EQ(db.execAndGet(std::string("SELECT COUNT(*) FROM ") + table +
                              " WHERE run_id = " + std::to_string(dead))
                    .getInt64(),
                0)
          << table;
    }
  }
  // The next run finds the dead run's lock gone, marks it failed and runs.
  ASSERT_EQ(RunCommand(RunCommandLine(), &out), 0) << out;
  SQLite::Database db(db_.string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT state, error FROM runs WHERE run_id = "
                          "(SELECT MAX(run_id) FROM runs WHERE state = 'failed')");
  ASSERT_TRUE(q.executeStep());
  EXPECT_THAT(q.getColumn(1).getString(), ::testing::HasSubstr("interrupted"));
  EXPECT_EQ(db.execAndGet("SELECT state FROM runs ORDER BY run_id DESC LIMIT 1").getString(),
            "succeeded");
}

}  // namespace
}  // namespace winback::testing
