// Schema 2 outputs: what PublishRun writes, the read methods return.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "jobs/store/store.h"

namespace winback {
namespace {

using ::testing::HasSubstr;

constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;

class OutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("winback-outputs-" + std::to_string(::getpid()) + ".db"))
                .string();
    std::filesystem::remove(path_);
    auto store = Store::Open(path_, StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    Fill();
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }

  void Fill() {
    for (int i = 0; i < 3; ++i) {
      CustomerRecord c;
      c.customer_id = 100 + i;
      for (int f = 0; f < kFeatureCount; ++f) c.features[f] = i * 100 + f + 0.5;
      c.r_score = i + 1;
      c.f_score = 5 - i;
      c.m_score = 3;
      c.segment = i == 2 ? "" : "Loyal";
      c.status = i == 0 ? ChurnStatus::kActive
                        : (i == 1 ? ChurnStatus::kChurned : ChurnStatus::kNeverPurchased);
      if (i < 2) c.last_purchase_at = kT0 - i;
      if (i == 0) {
        c.churn_score = 0.75;
        c.reasons = EncodeReasons({{"recency_days", 1.5}, {"frequency", -0.25}});
      }
      customers_.push_back(c);
    }
    segments_ = {{"Loyal", 2, 1, 1, 0.75, 123.5}};
    CampaignRecord camp;
    camp.config.name = "keep";
    camp.config.segments = {"Loyal", "Champions"};
    camp.config.statuses = {ChurnStatus::kActive};
    camp.config.min_score = 0.5;
    camp.config.promo_code = "STAY";
    camp.config.discount_pct = 15;
    camp.config.max_size = 10;
    camp.config.priority = 1;
    camp.config.description = "keep them";
    camp.summary.matched = 7;
    camp.summary.assigned = 5;
    camp.summary.treatment = 4;
    camp.summary.holdout = 1;
    camp.summary.revenue_at_risk = 99.5;
    camp.config.suppress_listed_within = 14 * kMicrosPerDay;
    camp.summary.suppressed = 2;
    camp.summary.recently_listed = 2;
    CampaignRecord other = camp;
    other.config.name = "other";
    other.config.priority = 2;
    other.summary.assigned = 1;
    campaigns_ = {camp, other};
    for (int i = 0; i < 5; ++i) {
      targets_.customer_id.push_back(1000 + i);
      targets_.campaign.push_back("keep");
      targets_.segment.push_back("Loyal");
      targets_.churn_score.push_back(0.9 - i * 0.1);
      targets_.revenue_at_risk.push_back(100.0 - i);
      targets_.holdout.push_back(i == 3);
      targets_.reasons.push_back(EncodeReasons({{"x", double(i)}}));
      targets_.promo_code.push_back("STAY");
    }
    targets_.customer_id.push_back(100);
    targets_.campaign.push_back("other");
    targets_.segment.push_back("Loyal");
    targets_.churn_score.push_back(0.75);
    targets_.revenue_at_risk.push_back(7);
    targets_.holdout.push_back(0);
    targets_.reasons.push_back("");
    targets_.promo_code.push_back("");
    report_.c = 0.1;
    report_.imbalance = "smote";
    report_.holdout_month = "2022-06";
    report_.training_months = {"2022-03", "2022-04", "2022-05"};
    report_.auc = 0.81;
    report_.baseline_recency_auc = 0.7;
    report_.coefficients = {{"frequency", -0.5}, {"recency_days", 1.25}};
    report_.grid = {{0.1, "smote", 0.8, 0.01}, {1.0, "none", 0.79, 0.02}};
    report_.notes = "note";
    diagnosis_.summary = "revenue fell";
    MonthlyRow m;
    m.month = *ParseMonth("2022-07");
    m.revenue = 1234;
    m.orders = 3;
    m.churn_rate = 0.5;
    diagnosis_.diagnosis.months.push_back(m);
    MonthlyRow as_of_month;  // kT0's month, 2023-11, cut short by it
    as_of_month.month = MonthOf(kT0);
    as_of_month.revenue = 99;
    as_of_month.partial = true;
    diagnosis_.diagnosis.months.push_back(as_of_month);
    diagnosis_.diagnosis.as_of = kT0;
    diagnosis_.diagnosis.segment_months.push_back({m.month, "Loyal", 4, 1, 2, 0.5});
    FunnelRow f;
    f.month = m.month;
    f.sessions = 9;
    f.booking = 2;
    diagnosis_.diagnosis.funnel.push_back(f);
    diagnosis_.diagnosis.promo_by_segment.push_back({"Loyal", 10, 4, 0.4, 500});
    CampaignReadout older;
    older.list_run_id = 40;
    older.list_as_of = kT0 - 30 * kMicrosPerDay;
    older.campaign = "keep";
    older.promo_code = "STAY";
    older.window = 25 * kMicrosPerDay;
    older.window_end = older.list_as_of + older.window;
    older.complete = true;
    older.treatment = {90, 30, 12, 41, 3'000'000, 2.5e11};
    older.holdout = {10, 2, 0, 2, 150'000, 1.2e10};
    CampaignReadout open = older;
    open.list_run_id = 41;
    open.list_as_of = kT0 - kMicrosPerDay;
    open.window_end = kT0;
    open.complete = false;
    CampaignReadout no_code = open;
    no_code.campaign = "another";
    no_code.promo_code = "";
    readouts_ = {older, open, no_code};
  }

  // A run as of `as_of`, asked for (a backfill) or, with nullopt, the
  // export's latest event, which then turns out to be `latest`.
  int64_t Publish(std::optional<Micros> as_of = kT0, Micros latest = 0) {
    auto run = store_->BeginRun(RunTrigger::kManual, "", as_of, kT0);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!as_of.has_value()) {
      EXPECT_TRUE(store_->SetAsOf(run->run_id, latest).ok());
    }
    EXPECT_TRUE(run.ok()) << run.status();
    RunOutputs out;
    out.customers = &customers_;
    out.segments = &segments_;
    out.campaigns = &campaigns_;
    out.targets = &targets_;
    out.model_report = &report_;
    out.diagnosis = &diagnosis_;
    out.readouts = &readouts_;
    out.holds = &holds_;
    const absl::Status s = store_->PublishRun(run->run_id, out, kT0);
    EXPECT_TRUE(s.ok()) << s;
    return run->run_id;
  }

  std::string path_;
  std::unique_ptr<Store> store_;
  std::vector<CustomerRecord> customers_;
  std::vector<SegmentRecord> segments_;
  std::vector<CampaignRecord> campaigns_;
  TargetTable targets_;
  ModelReportRecord report_;
  DiagnosisRecord diagnosis_;
  std::vector<CampaignReadout> readouts_;
  // Customer 101 is on no list: held by keep's contact cap.
  std::vector<ContactHold> holds_ = {{101, "keep"}};
};

bool SameReadout(const CampaignReadout& a, const CampaignReadout& b) {
  return a.list_run_id == b.list_run_id && a.list_as_of == b.list_as_of &&
         a.campaign == b.campaign && a.promo_code == b.promo_code &&
         a.window == b.window && a.window_end == b.window_end &&
         a.complete == b.complete && a.treatment == b.treatment &&
         a.holdout == b.holdout;
}

TEST_F(OutputsTest, ReadoutsRoundTripLatestListFirst) {
  const int64_t run = Publish();
  absl::StatusOr<std::vector<CampaignReadout>> read = store_->GetReadouts(run);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  // List 41 (the later as-of) first, its campaigns by name; then list 40.
  EXPECT_TRUE(SameReadout((*read)[0], readouts_[2]));
  EXPECT_TRUE(SameReadout((*read)[1], readouts_[1]));
  EXPECT_TRUE(SameReadout((*read)[2], readouts_[0]));
  EXPECT_EQ(store_->GetReadouts(run + 100).status().code(),
            absl::StatusCode::kNotFound);
}

// What a run reads out: the lists of published runs before its as-of time,
// one run per as-of time (the newest), split by group in list order.
TEST_F(OutputsTest, PublishedListsAreTheEarlierRunsListsByGroup) {
  const int64_t superseded = Publish(kT0);
  const int64_t at_t0 = Publish(kT0);  // the same export again
  auto failed = store_->BeginRun(RunTrigger::kManual, "", kT0 + 5, kT0);
  ASSERT_TRUE(failed.ok());
  ASSERT_TRUE(
      store_->FinishUnpublished(failed->run_id, RunState::kFailed, "x", kT0)
          .ok());
  const int64_t later = Publish(kT0 + 10);

  absl::StatusOr<std::vector<PublishedList>> lists =
      store_->GetPublishedLists(kT0);
  ASSERT_TRUE(lists.ok()) << lists.status();
  EXPECT_TRUE(lists->empty());  // nothing before kT0

  lists = store_->GetPublishedLists(kT0 + 10);
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->size(), 2u);
  const PublishedList& keep = (*lists)[0];
  EXPECT_EQ(keep.run_id, at_t0);
  EXPECT_NE(keep.run_id, superseded);
  EXPECT_EQ(keep.as_of, kT0);
  EXPECT_EQ(keep.campaign, "keep");  // priority 1 before "other"'s 2
  EXPECT_EQ(keep.promo_code, "STAY");
  EXPECT_EQ(keep.treatment, (std::vector<int64_t>{1000, 1001, 1002, 1004}));
  EXPECT_EQ(keep.holdout, (std::vector<int64_t>{1003}));
  EXPECT_EQ((*lists)[1].campaign, "other");
  EXPECT_EQ((*lists)[1].treatment, (std::vector<int64_t>{100}));
  EXPECT_TRUE((*lists)[1].holdout.empty());

  lists = store_->GetPublishedLists(kT0 + 11);
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->size(), 4u);
  EXPECT_EQ((*lists)[0].run_id, later);  // latest as-of first
  EXPECT_EQ((*lists)[2].run_id, at_t0);
}

// What a campaign's contact cap reads: who it listed, in either group, in
// the nightly runs as of [from, before); backfills do not count.
TEST_F(OutputsTest, ListedCustomersAreACampaignsEarlierNightlyLists) {
  constexpr Micros kDay = kMicrosPerDay;
  Publish(std::nullopt, kT0);  // a nightly run as of kT0
  targets_.customer_id[0] = 2000;
  Publish(std::nullopt, kT0 + 10 * kDay);
  targets_.customer_id[1] = 3000;
  Publish(kT0 + 5 * kDay);  // a backfill: not served for sending

  auto listed = [&](std::string_view campaign, Micros from, Micros before) {
    absl::StatusOr<std::vector<int64_t>> ids =
        store_->GetListedCustomers(campaign, from, before);
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? *ids : std::vector<int64_t>{};
  };
  // Both nightly lists, the holdout row 1003 included, each id once.
  EXPECT_EQ(listed("keep", kT0, kT0 + 11 * kDay),
            (std::vector<int64_t>{1000, 1001, 1002, 1003, 1004, 2000}));
  // [from, before): the run at `before` is not earlier; the one at `from` is.
  EXPECT_EQ(listed("keep", kT0, kT0 + 10 * kDay),
            (std::vector<int64_t>{1000, 1001, 1002, 1003, 1004}));
  EXPECT_EQ(listed("keep", kT0 + 1, kT0 + 11 * kDay),
            (std::vector<int64_t>{1001, 1002, 1003, 1004, 2000}));
  EXPECT_EQ(listed("other", kT0, kT0 + 11 * kDay), (std::vector<int64_t>{100}));
  EXPECT_TRUE(listed("nobody", kT0, kT0 + 11 * kDay).empty());
}

TEST_F(OutputsTest, CustomerRoundTripsWithScoreReasonsAndListRow) {
  const int64_t run = Publish();
  absl::StatusOr<CustomerRecord> held = store_->GetCustomer(run, 101);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->campaign, "");
  EXPECT_EQ(held->held_by, "keep");
  auto c = store_->GetCustomer(run, 100);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->features, customers_[0].features);
  EXPECT_EQ(c->r_score, 1);
  EXPECT_EQ(c->f_score, 5);
  EXPECT_EQ(c->segment, "Loyal");
  EXPECT_EQ(c->status, ChurnStatus::kActive);
  EXPECT_EQ(c->last_purchase_at, kT0);
  EXPECT_EQ(c->churn_score, 0.75);
  auto reasons = DecodeReasons(c->reasons);
  ASSERT_TRUE(reasons.ok());
  EXPECT_EQ(*reasons, (std::vector<Reason>{{"recency_days", 1.5}, {"frequency", -0.25}}));
  EXPECT_EQ(c->campaign, "other");
  EXPECT_EQ(c->held_by, "");
  EXPECT_DOUBLE_EQ(c->revenue_at_risk, 7);

  auto never = store_->GetCustomer(run, 102);
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->status, ChurnStatus::kNeverPurchased);
  EXPECT_FALSE(never->churn_score.has_value());
  EXPECT_FALSE(never->last_purchase_at.has_value());
  EXPECT_EQ(never->campaign, "");

  EXPECT_EQ(store_->GetCustomer(run, 999).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetCustomer(run + 7, 100).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OutputsTest, TargetsPageByPositionWithinEachCampaign) {
  const int64_t run = Publish();
  EXPECT_EQ(*store_->CountTargets(run, "keep"), 5);
  EXPECT_EQ(store_->CountTargets(run, "nope").status().code(), absl::StatusCode::kNotFound);
  std::vector<int64_t> seen;
  for (int64_t offset = 0; offset < 5; offset += 2) {
    auto page = store_->GetTargets(run, "keep", offset, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    seen.insert(seen.end(), page->customer_id.begin(), page->customer_id.end());
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1000, 1001, 1002, 1003, 1004}));
  auto one = store_->GetTargets(run, "keep", 3, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->holdout, (std::vector<uint8_t>{1}));
  EXPECT_EQ(one->reasons[0], targets_.reasons[3]);
  auto other = store_->GetTargets(run, "other", 0, 10);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->customer_id, (std::vector<int64_t>{100}));
  EXPECT_TRUE(store_->GetTargets(run, "keep", 5, 10)->customer_id.empty());
  EXPECT_EQ(store_->GetTargets(run, "keep", -1, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(OutputsTest, CampaignsSegmentsReportAndDiagnosisRoundTrip) {
  const int64_t run = Publish();
  auto campaigns = store_->GetCampaigns(run);
  ASSERT_TRUE(campaigns.ok()) << campaigns.status();
  ASSERT_EQ(campaigns->size(), 2u);
  const CampaignRecord& c = (*campaigns)[0];
  EXPECT_EQ(c.config.name, "keep");
  EXPECT_EQ(c.config.segments, campaigns_[0].config.segments);
  EXPECT_EQ(c.config.statuses, campaigns_[0].config.statuses);
  EXPECT_EQ(c.config.min_score, 0.5);
  EXPECT_EQ(c.config.max_size, 10);
  EXPECT_EQ(c.summary.matched, 7);
  EXPECT_EQ(c.summary.holdout, 1);
  EXPECT_EQ(c.summary.revenue_at_risk, 99.5);
  EXPECT_EQ(c.config.suppress_listed_within, 14 * kMicrosPerDay);
  EXPECT_EQ(c.summary.suppressed, 2);
  EXPECT_EQ(c.summary.recently_listed, 2);

  auto segments = store_->GetSegments(run);
  ASSERT_TRUE(segments.ok());
  ASSERT_EQ(segments->size(), 1u);
  EXPECT_EQ((*segments)[0].revenue_at_risk, 123.5);

  auto report = store_->GetModelReport(run);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->imbalance, "smote");
  EXPECT_EQ(report->training_months, report_.training_months);
  EXPECT_EQ(report->coefficients, report_.coefficients);
  ASSERT_EQ(report->grid.size(), 2u);
  EXPECT_EQ(report->grid[1].imbalance, "none");
  EXPECT_EQ(report->grid[1].sd_score, 0.02);

  auto d = store_->GetDiagnosis(run);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->summary, "revenue fell");
  ASSERT_EQ(d->diagnosis.months.size(), 2u);
  EXPECT_EQ(d->diagnosis.months[0].revenue, 1234);
  EXPECT_EQ(FormatMonth(d->diagnosis.months[0].month), "2022-07");
  EXPECT_FALSE(d->diagnosis.months[0].partial);
  // The partial flag and the run's as-of time come back, so the daemon can
  // tell API clients which month is incomplete and up to when.
  EXPECT_EQ(FormatMonth(d->diagnosis.months[1].month), "2023-11");
  EXPECT_EQ(d->diagnosis.months[1].revenue, 99);
  EXPECT_TRUE(d->diagnosis.months[1].partial);
  EXPECT_EQ(d->diagnosis.as_of, kT0);
  EXPECT_EQ(d->diagnosis.segment_months[0].churned, 2);
  EXPECT_EQ(d->diagnosis.funnel[0].booking, 2);
  EXPECT_EQ(d->diagnosis.promo_by_segment[0].promo_amount, 500);
}

TEST_F(OutputsTest, FeatureColumnsAreTheFeatureNamesInOrder) {
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT name FROM pragma_table_info('customer_features')");
  std::vector<std::string> columns;
  while (q.executeStep()) columns.push_back(q.getColumn(0).getString());
  ASSERT_GE(columns.size(), 2u + kFeatureCount);
  for (int f = 0; f < kFeatureCount; ++f) EXPECT_EQ(columns[2 + f], FeatureNames()[f]);
}

TEST_F(OutputsTest, UnpublishedRunLeavesNoOutputRows) {
  const int64_t first = Publish();
  auto run = store_->BeginRun(RunTrigger::kManual, "", kT0, kT0);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store_->FinishUnpublished(run->run_id, RunState::kCancelled, "stop", kT0).ok());
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  for (const char* table :
       {"customer_features", "scores", "campaigns", "targets", "segments",
        "model_reports", "diagnosis_months", "diagnosis_summaries",
        "campaign_readouts"}) {
    SQLite::Statement q(db, std::string("SELECT COUNT(*), MIN(run_id) FROM ") + table);
    ASSERT_TRUE(q.executeStep());
    EXPECT_GT(q.getColumn(0).getInt64(), 0) << table;
    EXPECT_EQ(q.getColumn(1).getInt64(), first) << table;
  }
  EXPECT_EQ(store_->GetModelReport(run->run_id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OutputsTest, RetentionDeletesAnExpiredRunFromEveryTableWithARunId) {
  store_.reset();
  auto store = Store::Open(path_, StoreOptions{.keep_runs = 1});
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  const int64_t first = Publish();
  const int64_t second = Publish();  // keeps only itself: deletes `first`

  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  // Every table with a run_id column, found from the columns themselves.
  std::vector<std::string> tables;
  SQLite::Statement q(db,
                      "SELECT m.name FROM sqlite_master AS m, "
                      "pragma_table_info(m.name) AS c "
                      "WHERE m.type = 'table' AND c.name = 'run_id' "
                      "AND m.name <> 'runs'");
  while (q.executeStep()) tables.push_back(q.getColumn(0).getString());
  EXPECT_GE(tables.size(), 15u);  // schema 2 has 15
  for (const std::string& table : tables) {
    SQLite::Statement count(
        db, "SELECT COUNT(*) FROM " + table + " WHERE run_id = ?");
    count.bind(1, first);
    ASSERT_TRUE(count.executeStep());
    EXPECT_EQ(count.getColumn(0).getInt64(), 0) << table;
  }
  for (const char* table :
       {"run_stages", "customer_features", "scores", "segments", "campaigns",
        "targets", "model_reports", "diagnosis_months", "diagnosis_funnel",
        "diagnosis_segment_months", "diagnosis_promo", "diagnosis_summaries",
        "campaign_readouts"}) {
    SQLite::Statement count(
        db, std::string("SELECT COUNT(*) FROM ") + table + " WHERE run_id = ?");
    count.bind(1, second);
    ASSERT_TRUE(count.executeStep());
    EXPECT_GT(count.getColumn(0).getInt64(), 0) << table;
  }
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM runs").getInt64(), 1);
  // No row is left pointing at a run that is gone.
  SQLite::Statement orphans(db, "PRAGMA foreign_key_check");
  EXPECT_FALSE(orphans.executeStep())
      << orphans.getColumn(0).getString() << " has an orphan row";
}

TEST(Reasons, DecodeRejectsMalformedText) {
  EXPECT_TRUE(DecodeReasons("")->empty());
  EXPECT_EQ(DecodeReasons("{").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeReasons(R"([{"feature": 1, "contribution": 2}])").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(DecodeReasons("[1]").status().message()), HasSubstr("[1]"));
}

}  // namespace
}  // namespace winback
