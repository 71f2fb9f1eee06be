#include "jobs/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace winback {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimal[] = R"(
data:
  dir: data
store:
  path: /abs/winback.db
)";

TEST(Config, MinimalUsesDefaultsAndResolvesRelativePaths) {
  auto c = ParseConfig(kMinimal, "/etc/winback", "test.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data.dir, "/etc/winback/data");
  EXPECT_EQ(c->store.path, "/abs/winback.db");
  EXPECT_EQ(c->session_gap, 30 * kMicrosPerMinute);
  EXPECT_EQ(c->churn_window, 25 * kMicrosPerDay);
  EXPECT_DOUBLE_EQ(c->data.max_bad_row_share, 0.01);
  EXPECT_EQ(c->store.keep_runs, 30);
}

TEST(Config, ReadsEverySetting) {
  auto c = ParseConfig(R"(
data: {dir: d, max_bad_row_share: 0.05, ingest_threads: 4}
store: {path: s.db, keep_runs: 3}
sessionize: {gap: 45m}
churn: {window: 30d}
)",
                       "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data.ingest_threads, 4);
  EXPECT_DOUBLE_EQ(c->data.max_bad_row_share, 0.05);
  EXPECT_EQ(c->store.keep_runs, 3);
  EXPECT_EQ(c->session_gap, 45 * kMicrosPerMinute);
  EXPECT_EQ(c->churn_window, 30 * kMicrosPerDay);
}

TEST(Config, ErrorsNameTheKey) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"store: {path: x}", "data.dir: is required"},
      {"data: {dir: d}\nstore: {path: x}\nchurn: {window: 25days}",
       "churn.window: expected a duration"},
      {"data: {dir: d, max_bad_row_share: 2}\nstore: {path: x}",
       "data.max_bad_row_share: must be in [0, 1]"},
      {"data: {dir: d, ingest_threads: two}\nstore: {path: x}",
       "data.ingest_threads: expected an integer, got 'two'"},
      {"data: {dir: d}\nstore: {path: x, keepruns: 3}",
       "store.keepruns: unknown key"},
      {"data: {dir: d}\nstore: {path: x}\nsesionize: {gap: 5m}",
       "sesionize: unknown key"},
      {"data: [1, 2]\nstore: {path: x}", "data: expected a mapping"},
      {"data: {dir: d\nstore: x", "invalid YAML"},
  };
  for (const Case& k : cases) {
    auto c = ParseConfig(k.yaml, "/b", "bad.yaml");
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(k.expected)) << k.yaml;
    EXPECT_THAT(c.status().message(), HasSubstr("bad.yaml")) << k.yaml;
  }
}

TEST(Config, ModelSegmentsAndCampaigns) {
  auto c = ParseConfig(R"(
data: {dir: d}
store: {path: s.db}
features: {lookback: 60d, trend_window: 30d}
model:
  training_months: 3
  folds: 4
  c_values: [0.5, 2]
  imbalance: [none, smote]
  cv_metric: average_precision
  seed: 9
segments:
  - {name: Best, r: 4-5, f: 1-5}
  - {name: Rest, r: 1-3, f: 1-5}
campaigns:
  suppress_bought_within: 3d
  list:
    - name: keep
      segments: [Best]
      churn_statuses: [active]
      min_score: 0.4
      min_revenue_at_risk: 150000.5
      promo_code: KEEP
      discount_pct: 12.5
      max_size: 100
      holdout_share: 0.2
      priority: 1
)",
                       "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->features.lookback, 60 * kMicrosPerDay);
  EXPECT_EQ(c->model.training_months, 3);
  EXPECT_EQ(c->model.grid.folds, 4);
  EXPECT_EQ(c->model.grid.c_values, (std::vector<double>{0.5, 2}));
  ASSERT_EQ(c->model.grid.imbalances.size(), 2u);
  EXPECT_EQ(c->model.grid.imbalances[1], model::Imbalance::kSmote);
  EXPECT_EQ(c->model.grid.metric, model::CvMetric::kAveragePrecision);
  EXPECT_EQ(c->model.grid.seed, 9u);
  ASSERT_EQ(c->segments.rules.size(), 2u);
  EXPECT_EQ(c->segments.rules[0].r_min, 4);
  EXPECT_EQ(c->segments.rules[1].r_max, 3);
  EXPECT_EQ(c->campaigns.suppression.bought_within, 3 * kMicrosPerDay);
  ASSERT_EQ(c->campaigns.campaigns.size(), 1u);
  const Campaign& k = c->campaigns.campaigns[0];
  EXPECT_EQ(k.segments, (std::vector<std::string>{"Best"}));
  EXPECT_EQ(k.statuses, (std::vector<ChurnStatus>{ChurnStatus::kActive}));
  EXPECT_DOUBLE_EQ(k.min_revenue_at_risk, 150000.5);
  EXPECT_DOUBLE_EQ(k.discount_pct, 12.5);
  EXPECT_EQ(k.max_size, 100);
  EXPECT_DOUBLE_EQ(k.holdout_share, 0.2);
}

TEST(Config, DefaultsShipElevenSegmentsAndThreeCampaigns) {
  auto c = ParseConfig(kMinimal, "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->segments.rules.size(), 11u);
  EXPECT_EQ(c->campaigns.campaigns.size(), 3u);
  EXPECT_EQ(c->schedule.cron, "0 2 * * *");
  EXPECT_EQ(c->schedule.time_zone, "Asia/Jakarta");
}

TEST(Config, ModelSectionErrorsNameTheKey) {
  const std::string base = "data: {dir: d}\nstore: {path: x}\n";
  struct Case {
    std::string yaml;
    const char* expected;
  };
  const Case cases[] = {
      {base + "model: {imbalance: [smote, adasyn]}", "model.imbalance: unknown option 'adasyn'"},
      {base + "model: {c_values: [1, -2]}", "model.c_values: expected positive numbers"},
      {base + "model: {cv_metric: f1}", "model.cv_metric"},
      {base + "segments: [{name: A, r: 1-5, f: 2-5}]", "no segment rule covers R=1 F=1"},
      {base + "segments: [{name: A, r: 6, f: 1-5}]", "segments[0].r: scores run from 1 to 5"},
      {base + "campaigns: {list: [{name: x, churn_statuses: [gone]}]}",
       "campaigns.list[0].churn_statuses: unknown status 'gone'"},
      {base + "campaigns: {list: [{name: x, segments: [Nobody]}]}", "Nobody"},
      {base + "campaigns: {list: [{name: x, holdout_share: 2}]}",
       "campaigns.list[0].holdout_share: must be in [0, 1]"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: -5}]}",
       "campaigns.list[0].min_revenue_at_risk: must be a finite number >= 0, got -5"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: .inf}]}",
       "campaigns.list[0].min_revenue_at_risk: must be a finite number >= 0, got inf"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: lots}]}",
       "campaigns.list[0].min_revenue_at_risk: expected a number, got 'lots'"},
      {base + "schedule: {catch_up: maybe}", "schedule.catch_up: expected true or false"},
      {base + "service: {tls_cert_file: c.pem}", "set both or neither"},
      {base + "service: {target_cache_mb: -1}",
       "service.target_cache_mb: must be in [0, 1048576]"},
  };
  for (const Case& k : cases) {
    auto c = ParseConfig(k.yaml, "/b", "bad.yaml");
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_THAT(c.status().message(), HasSubstr(k.expected)) << k.yaml;
  }
}

TEST(Config, ShippedDemoConfigLoadsAndSpellsOutTheDefaults) {
  auto c = LoadConfigFile(std::string(WINBACK_SOURCE_DIR) + "/config/winback.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  // The demo file writes the default segment table and campaigns out in
  // full; it must say what the code does when they are left out.
  const SegmentOptions defaults;
  ASSERT_EQ(c->segments.rules.size(), defaults.rules.size());
  for (size_t i = 0; i < defaults.rules.size(); ++i) {
    EXPECT_EQ(c->segments.rules[i].name, defaults.rules[i].name);
    EXPECT_EQ(c->segments.rules[i].r_min, defaults.rules[i].r_min);
    EXPECT_EQ(c->segments.rules[i].r_max, defaults.rules[i].r_max);
    EXPECT_EQ(c->segments.rules[i].f_min, defaults.rules[i].f_min);
    EXPECT_EQ(c->segments.rules[i].f_max, defaults.rules[i].f_max);
  }
  const std::vector<Campaign> campaigns = DefaultCampaigns();
  ASSERT_EQ(c->campaigns.campaigns.size(), campaigns.size());
  for (size_t i = 0; i < campaigns.size(); ++i) {
    const Campaign& a = c->campaigns.campaigns[i];
    const Campaign& b = campaigns[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.segments, b.segments);
    EXPECT_EQ(a.statuses, b.statuses);
    EXPECT_EQ(a.min_score, b.min_score);
    EXPECT_EQ(a.max_score, b.max_score);
    EXPECT_EQ(a.min_revenue_at_risk, b.min_revenue_at_risk);
    EXPECT_EQ(a.promo_code, b.promo_code);
    EXPECT_EQ(a.discount_pct, b.discount_pct);
    EXPECT_EQ(a.max_size, b.max_size);
    EXPECT_EQ(a.holdout_share, b.holdout_share);
    EXPECT_EQ(a.priority, b.priority);
    EXPECT_EQ(a.description, b.description);
  }
}

TEST(Config, MissingFileIsNotFound) {
  auto c = LoadConfigFile("/nonexistent/winback.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/winback.yaml"));
}

}  // namespace
}  // namespace winback
