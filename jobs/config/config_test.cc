#include "jobs/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"

namespace winback {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The 1-based number of the `nth` line of `text` that contains `marker`:
// the tests below take the line an error must name from their own YAML.
int LineOf(const std::string& text, const std::string& marker, int nth = 1) {
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find(marker) != std::string::npos && --nth == 0) return number;
  }
  ADD_FAILURE() << "no line holds '" << marker << "'";
  return -1;
}

// An error case: parsing `yaml` must fail with a message that starts with
// "bad.yaml:<line>: <key>: ", the line being the `nth` that holds `marker`,
// and goes on to say `problem`.
struct LineCase {
  std::string yaml;
  std::string marker;
  std::string key;
  std::string problem;
  int nth = 1;
};

void ExpectErrorsAtTheirLines(const std::vector<LineCase>& cases) {
  for (const LineCase& k : cases) {
    SCOPED_TRACE(k.yaml);
    auto c = ParseConfig(k.yaml, "/b", "bad.yaml");
    if (c.ok()) {
      ADD_FAILURE() << "parsed without an error";
      continue;
    }
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string where =
        "bad.yaml:" + std::to_string(LineOf(k.yaml, k.marker, k.nth)) + ": ";
    const std::string message(c.status().message());
    EXPECT_THAT(message, StartsWith(where + k.key + ": "));
    EXPECT_THAT(message, HasSubstr(k.problem));
  }
}

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
  EXPECT_DOUBLE_EQ(c->data.max_row_drop, 0.1);
  EXPECT_EQ(c->store.keep_runs, 30);
}

TEST(Config, ReadsEverySetting) {
  auto c = ParseConfig(R"(
data: {dir: d, max_bad_row_share: 0.05, max_row_drop: 0.25, ingest_threads: 4}
store: {path: s.db, keep_runs: 3}
sessionize: {gap: 45m}
churn: {window: 30d}
)",
                       "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data.ingest_threads, 4);
  EXPECT_DOUBLE_EQ(c->data.max_bad_row_share, 0.05);
  EXPECT_DOUBLE_EQ(c->data.max_row_drop, 0.25);
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
      {"data: {dir: d, max_row_drop: -0.5}\nstore: {path: x}",
       "data.max_row_drop: must be in [0, 1]"},
      {"data: {dir: d, ingest_threads: two}\nstore: {path: x}",
       "data.ingest_threads: expected an integer, got 'two'"},
      {"data: {dir: d}\nstore: {path: x, keepruns: 3}",
       "store.keepruns: unknown key"},
      {"data: {dir: d}\nstore: {path: x}\nsesionize: {gap: 5m}",
       "sesionize: unknown key"},
      {"data: [1, 2]\nstore: {path: x}", "data: expected a mapping"},
      {"data: {dir: d\nstore: x", "invalid YAML"},
      {"data: {dir: d}\nstore: {path: caf\xE9.db}",
       "bad.yaml:2:18: not UTF-8 text (byte 0xE9); save the file as UTF-8"},
  };
  for (const Case& k : cases) {
    auto c = ParseConfig(k.yaml, "/b", "bad.yaml");
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(k.expected)) << k.yaml;
    EXPECT_THAT(c.status().message(), HasSubstr("bad.yaml")) << k.yaml;
  }
}

// The file is UTF-8 but its directory's name is not: a relative path
// resolved against it is refused, naming the key.
TEST(Config, APathThatIsNotUtf8IsRefusedNamingTheKey) {
  auto c = ParseConfig("data: {dir: data}\nstore: {path: /var/w.db}\n",
                       "/srv/caf\xE9", "/srv/caf\xE9/winback.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("data.dir: the path '/srv/caf\\xE9/data' is not UTF-8 "
                        "text"));
  // Absolute paths do not take the directory.
  EXPECT_TRUE(ParseConfig("data: {dir: /d}\nstore: {path: /var/w.db}\n",
                          "/srv/caf\xE9", "/srv/caf\xE9/winback.yaml")
                  .ok());
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
  readout_window: 14d
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
      suppress_listed_within: 30d
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
  // M is optional: any M unless given.
  EXPECT_EQ(c->segments.rules[0].m_min, 1);
  EXPECT_EQ(c->segments.rules[0].m_max, 5);
  EXPECT_EQ(c->campaigns.suppression.bought_within, 3 * kMicrosPerDay);
  EXPECT_EQ(c->readout_window, 14 * kMicrosPerDay);
  ASSERT_EQ(c->campaigns.campaigns.size(), 1u);
  const Campaign& k = c->campaigns.campaigns[0];
  EXPECT_EQ(k.segments, (std::vector<std::string>{"Best"}));
  EXPECT_EQ(k.statuses, (std::vector<ChurnStatus>{ChurnStatus::kActive}));
  EXPECT_DOUBLE_EQ(k.min_revenue_at_risk, 150000.5);
  EXPECT_DOUBLE_EQ(k.discount_pct, 12.5);
  EXPECT_EQ(k.max_size, 100);
  EXPECT_DOUBLE_EQ(k.holdout_share, 0.2);
  EXPECT_EQ(k.suppress_listed_within, 30 * kMicrosPerDay);
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
      {base + "model: {imbalance: [smote, adasyn]}",
       "model.imbalance: unknown option 'adasyn'"},
      {base + "model: {c_values: [1, -2]}",
       "model.c_values: expected finite positive numbers"},
      {base + "model: {cv_metric: f1}", "model.cv_metric"},
      {base + "segments: [{name: A, r: 1-5, f: 2-5}]",
       "no segment rule covers R=1 F=1"},
      {base + "segments: [{name: A, r: 6, f: 1-5}]",
       "segments[0].r: scores run from 1 to 5"},
      {base + "segments: [{name: A, r: 1-5, f: 1-5, m: 0-5}]",
       "segments[0].m: scores run from 1 to 5"},
      {base + "segments: [{name: A, r: 1-5, f: 1-5, m: 2-5}]",
       "no segment rule covers R=1 F=1 M=1"},
      {base + "campaigns: {list: [{name: x, churn_statuses: [gone]}]}",
       "campaigns.list[0].churn_statuses: unknown status 'gone'"},
      {base + "campaigns: {list: [{name: x, segments: [Nobody]}]}", "Nobody"},
      {base + "campaigns: {list: [{name: x, holdout_share: 2}]}",
       "campaigns.list[0].holdout_share: must be in [0, 1]"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: -5}]}",
       "campaigns.list[0].min_revenue_at_risk: must be a finite number >= 0, "
       "got -5"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: .inf}]}",
       "campaigns.list[0].min_revenue_at_risk: must be a finite number >= 0, "
       "got inf"},
      {base + "campaigns: {list: [{name: x, min_revenue_at_risk: lots}]}",
       "campaigns.list[0].min_revenue_at_risk: expected a number, got 'lots'"},
      {base + "campaigns: {list: [{name: x, suppress_listed_within: 2w}]}",
       "campaigns.list[0].suppress_listed_within: expected a duration"},
      {base + "campaigns: {list: [{name: x, suppress_listed_within: 4000d}]}",
       "campaigns.list[0].suppress_listed_within: must be at most 3650d"},
      {base + "schedule: {catch_up: maybe}",
       "schedule.catch_up: expected true or false"},
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
    EXPECT_EQ(a.suppress_listed_within, b.suppress_listed_within);
  }
}

// Every setting away from its default, and the JSON it must give, written
// out by hand.
constexpr char kEverySetting[] = R"(
data: {dir: in, max_bad_row_share: 0.05, max_row_drop: 1, ingest_threads: 3}
store: {path: /db/w.db, keep_runs: 7}
sessionize: {gap: 45m}
churn: {window: 1d12h}
features: {lookback: 60d, trend_window: 20d, spend_window: 180d}
model:
  training_months: 4
  max_training_rows: 20000
  folds: 3
  c_values: [0.5, 2]
  imbalance: [smote, none]
  cv_metric: average_precision
  seed: 7
  reasons: 2
  threads: 1
segments:
  - {name: Top, r: 4-5, f: 1-5, m: 3-5}
  - {name: Rest, r: 1-5, f: 1-5}
campaigns:
  suppress_bought_within: 3d
  readout_window: 14d
  list:
    - name: any-top
      segments: [Top]
      min_score: 0.25
      max_score: 0.75
      min_revenue_at_risk: 1000
      promo_code: TOP5
      discount_pct: 5
      max_size: 50
      holdout_share: 0.2
      priority: 3
      suppress_listed_within: 1d6h
    - name: everyone
      description: all churned customers
      churn_statuses: [churned]
service:
  listen: 0.0.0.0:6000
  metrics_listen: ""
  api_keys_file: keys
  api_keys_env: MY_KEYS
  tls_cert_file: c.pem
  tls_key_file: k.pem
  default_page_size: 10
  max_page_size: 20
  target_cache_mb: 0
schedule:
  enabled: false
  cron: "30 1 * * 1"
  time_zone: UTC
  catch_up: false
  max_retries: 0
  retry_backoff: 0s
)";

constexpr char kEverySettingJson[] = R"({
  "data": {"dir": "/etc/wb/in", "max_bad_row_share": 0.05, "max_row_drop": 1.0,
           "ingest_threads": 3},
  "store": {"path": "/db/w.db", "keep_runs": 7},
  "sessionize": {"gap": "45m"},
  "churn": {"window": "1d12h"},
  "features": {"lookback": "60d", "trend_window": "20d",
               "spend_window": "180d"},
  "model": {"training_months": 4, "max_training_rows": 20000, "folds": 3,
            "c_values": [0.5, 2.0], "imbalance": ["smote", "none"],
            "cv_metric": "average_precision", "seed": 7, "reasons": 2,
            "threads": 1},
  "segments": [{"name": "Top", "r": "4-5", "f": "1-5", "m": "3-5"},
               {"name": "Rest", "r": "1-5", "f": "1-5"}],
  "campaigns": {
    "suppress_bought_within": "3d",
    "readout_window": "14d",
    "list": [
      {"name": "any-top", "description": "", "segments": ["Top"],
       "min_score": 0.25, "max_score": 0.75, "min_revenue_at_risk": 1000.0,
       "promo_code": "TOP5", "discount_pct": 5.0, "max_size": 50,
       "holdout_share": 0.2, "priority": 3,
       "suppress_listed_within": "1d6h"},
      {"name": "everyone", "description": "all churned customers",
       "churn_statuses": ["churned"], "min_score": 0.0, "max_score": 1.0,
       "min_revenue_at_risk": 0.0, "promo_code": "", "discount_pct": 0.0,
       "max_size": 0, "holdout_share": 0.1, "priority": 100,
       "suppress_listed_within": "0s"}]},
  "service": {"listen": "0.0.0.0:6000", "metrics_listen": "",
              "api_keys_file": "/etc/wb/keys", "api_keys_env": "MY_KEYS",
              "tls_cert_file": "/etc/wb/c.pem",
              "tls_key_file": "/etc/wb/k.pem", "default_page_size": 10,
              "max_page_size": 20, "target_cache_mb": 0},
  "schedule": {"enabled": false, "cron": "30 1 * * 1", "time_zone": "UTC",
               "catch_up": false, "max_retries": 0, "retry_backoff": "0s"}
})";

TEST(ConfigToJson, WritesEverySettingUnderTheYamlKeys) {
  auto c = ParseConfig(kEverySetting, "/etc/wb", "every.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(nlohmann::json::parse(ConfigToJson(*c)),
            nlohmann::json::parse(kEverySettingJson))
      << ConfigToJson(*c);
}

TEST(ConfigToJson, LoadsBackIntoTheSameSettings) {
  // The shipped demo config (defaults spelled out) and the minimal one
  // (defaults left out), besides every setting changed.
  auto demo =
      LoadConfigFile(std::string(WINBACK_SOURCE_DIR) + "/config/winback.yaml");
  ASSERT_TRUE(demo.ok()) << demo.status();
  for (absl::StatusOr<Config> c :
       {ParseConfig(kEverySetting, "/etc/wb", "every.yaml"),
        ParseConfig(kMinimal, "/etc/wb", "minimal.yaml"), demo}) {
    ASSERT_TRUE(c.ok()) << c.status();
    const std::string json = ConfigToJson(*c);
    auto back = ParseConfig(json, "/elsewhere", "run.json");
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
    EXPECT_EQ(ConfigToJson(*back), json);
  }
}

TEST(ConfigLines, ValueErrorsGiveTheLineOfTheirKey) {
  ExpectErrorsAtTheirLines({
      {"# demo\ndata:\n  dir: d\nstore:\n  path: s.db\n  keep_runs: -1\n",
       "keep_runs", "store.keep_runs", "must be in [1, 100000], got -1"},
      {R"(
data:
  dir: d
  ingest_threads: two
store: {path: s.db}
)",
       "ingest_threads", "data.ingest_threads",
       "expected an integer, got 'two'"},
      {R"(
data:
  dir: d
  max_bad_row_share: 2
store: {path: s.db}
)",
       "max_bad_row_share", "data.max_bad_row_share", "must be in [0, 1]"},
      {R"(
data: {dir: d}
store: {path: s.db}
model:
  training_months: 6
  max_training_rows: 50000
  folds: 99
)",
       "folds", "model.folds", "must be in [2, 20], got 99"},
      {R"(
data: {dir: d}
store: {path: s.db}
features:
  lookback: 90d
  trend_window: -30d
)",
       "trend_window", "features.trend_window",
       "expected a duration such as 30m, 25d or 1h30m, got '-30d'"},
      {R"(
data: {dir: d}
store: {path: s.db}
schedule:
  enabled: true
  catch_up: maybe
)",
       "catch_up", "schedule.catch_up", "expected true or false, got 'maybe'"},
      {R"(
data: {dir: d}
store: {path: s.db}
campaigns:
  list:
    - name: first
      max_size: 10
    - name: second
      promo_code: X
      max_size: -3
)",
       "max_size: -3", "campaigns.list[1].max_size",
       "must be in [0, 9223372036854775807], got -3"},
      // A section that is not a mapping: the line of its key.
      {"# demo\n\ndata: [1, 2]\nstore: {path: x}\n", "data:", "data",
       "expected a mapping"},
      // A missing key: the line of its section.
      {"# demo\nstore:\n  path: x\ndata:\n  max_bad_row_share: 0.1\n",
       "data:", "data.dir", "is required"},
      // A segment rule's score: the line of the row's key.
      {R"(
data: {dir: d}
store: {path: s.db}
segments:
  - name: A
    r: 1-5
    f: 1-5
  - name: B
    r: 6
    f: 1-5
)",
       "r: 6", "segments[1].r", "scores run from 1 to 5"},
  });
  // With no data section at all there is no line to name.
  auto c = ParseConfig("store: {path: x}\n", "/b", "bad.yaml");
  EXPECT_EQ(c.status().message(), "bad.yaml: data.dir: is required");
}

TEST(ConfigLines, ListEntryErrorsGiveTheLineOfTheEntry) {
  ExpectErrorsAtTheirLines({
      {R"(
data: {dir: d}
store: {path: s.db}
model:
  c_values:
    - 1
    - -2
)",
       "- -2", "model.c_values", "expected finite positive numbers, got '-2'"},
      {R"(
data: {dir: d}
store: {path: s.db}
model:
  imbalance:
    - smote
    - adasyn
)",
       "adasyn", "model.imbalance", "unknown option 'adasyn'"},
      {R"(
data: {dir: d}
store: {path: s.db}
campaigns:
  list:
    - name: x
      churn_statuses:
        - active
        - gone
)",
       "gone", "campaigns.list[0].churn_statuses", "unknown status 'gone'"},
  });
}

TEST(ConfigLines, UnknownKeysGiveTheirOwnLine) {
  ExpectErrorsAtTheirLines({
      {"data:\n  dir: d\n  dri: e\nstore: {path: x}\n", "dri:", "data.dri",
       "unknown key (known: "},
      {"data:\n  dir: d\nstore:\n  path: x\nsesionize:\n  gap: 5m\n",
       "sesionize", "sesionize", "unknown key"},
      {R"(
data: {dir: d}
store: {path: s.db}
campaigns:
  list:
    - name: x
      promo_code: P
      min_scor: 0.5
)",
       "min_scor", "campaigns.list[0].min_scor", "unknown key"},
  });
}

TEST(ConfigLines, CrossFieldChecksGiveTheLineOfTheKeyTheyAreAbout) {
  const std::string base = "data: {dir: d}\nstore: {path: s.db}\n";
  const std::string repeated_campaign = base + R"(campaigns:
  list:
    - name: keep
      min_score: 0.5
    - name: other
    - name: keep
      max_score: 0.4
)";
  const std::string repeated_segment = base + R"(segments:
  - {name: Best, r: 4-5, f: 1-5}
  - {name: Rest, r: 1-2, f: 1-5}
  - {name: Rest, r: 3, f: 1-5}
)";
  ExpectErrorsAtTheirLines({
      {base + R"(campaigns:
  list:
    - name: keep
      segments:
        - Champions
        - Nobody
)",
       "Nobody", "campaigns.list[0].segments",
       "campaign \"keep\": unknown segment \"Nobody\""},
      {base + R"(campaigns:
  list:
    - name: keep
      max_score: 0.4
      min_score: 0.6
)",
       "min_score", "campaigns.list[0].min_score",
       "campaign \"keep\": min_score 0.6 is greater than max_score 0.4"},
      {repeated_campaign, "name: keep", "campaigns.list[2].name",
       "campaign \"keep\": name is repeated (first on line " +
           std::to_string(LineOf(repeated_campaign, "name: keep")) + ")",
       /*nth=*/2},
      {repeated_segment, "name: Rest", "segments[2].name",
       "segment rule name \"Rest\" is repeated (first on line " +
           std::to_string(LineOf(repeated_segment, "name: Rest")) + ")",
       /*nth=*/2},
      {base + "# the table\nsegments:\n  - {name: A, r: 1-5, f: 2-5}\n",
       "segments:", "segments", "no segment rule covers R=1 F=1"},
      // The default campaigns name segments this table does not have.
      {base + "\nsegments:\n  - {name: Everyone, r: 1-5, f: 1-5}\n",
       "segments:", "segments",
       "campaign \"keep-at-risk-loyal\": unknown segment \"Champions\" (a "
       "default campaign: campaigns.list is not set)"},
      {base + "features:\n  lookback: 45d\n  trend_window: 30d\n",
       "trend_window", "features.trend_window",
       "two trend windows (2 x 30d) must fit in the lookback window (45d)"},
      {base + "features:\n  spend_window: 90d\n  lookback: 45d\n", "lookback",
       "features.lookback",
       "two trend windows (2 x 30d) must fit in the lookback window (45d)"},
      {base + "service:\n  metrics_listen: \"\"\n  listen: \"\"\n",
       "  listen:", "service.listen", "must not be empty"},
      {base + "service:\n  listen: a:1\n  tls_cert_file: c.pem\n",
       "tls_cert_file", "service.tls_cert_file", "set both or neither"},
      {base + "service:\n  listen: a:1\n  tls_key_file: k.pem\n",
       "tls_key_file", "service.tls_key_file", "set both or neither"},
      {base + "service:\n  max_page_size: 500\n  default_page_size: 2000\n",
       "default_page_size", "service.default_page_size",
       "must not exceed service.max_page_size (2000 > 500)"},
      {base + "service:\n  listen: a:1\n  max_page_size: 500\n",
       "max_page_size", "service.max_page_size",
       "must not be below service.default_page_size (500 < 1000)"},
  });
}

TEST(ConfigLines, RepeatedKeysAreErrors) {
  const std::string two_models = R"(
data: {dir: d}
store: {path: s.db}
model:
  folds: 5
churn:
  window: 25d
model:
  folds: 3
)";
  const std::string two_dirs = R"(
data:
  dir: first
  ingest_threads: 2
  dir: second
store: {path: s.db}
)";
  const std::string in_a_campaign = R"(
data: {dir: d}
store: {path: s.db}
campaigns:
  list:
    - name: a
    - name: b
      min_score: 0.2
      min_score: 0.3
)";
  const std::string flow = "data: {dir: d}\nstore: {path: a, path: b}\n";
  const auto first = [](const std::string& yaml, const std::string& marker) {
    return "repeated key (first on line " +
           std::to_string(LineOf(yaml, marker)) + ")";
  };
  ExpectErrorsAtTheirLines({
      {two_models, "model:", "model", first(two_models, "model:"), 2},
      {two_dirs, "dir:", "data.dir", first(two_dirs, "dir:"), 2},
      {in_a_campaign, "min_score", "campaigns.list[1].min_score",
       first(in_a_campaign, "min_score"), 2},
      {flow, "path: a", "store.path", "repeated key (first on line 2)"},
  });
}

TEST(ConfigLines, EmptyListsAreRejected) {
  const std::string base = "data: {dir: d}\nstore: {path: s.db}\n";
  const std::string empty = "must not be an empty list";
  ExpectErrorsAtTheirLines({
      {base + "model:\n  folds: 5\n  imbalance: []\n", "imbalance",
       "model.imbalance", empty},
      {base + "model:\n  folds: 5\n  c_values: []\n", "c_values",
       "model.c_values", empty},
      {base + "campaigns:\n  list:\n    - name: x\n      segments: []\n",
       "segments", "campaigns.list[0].segments", empty},
      {base + "campaigns:\n  list:\n    - name: x\n      churn_statuses: []\n",
       "churn_statuses", "campaigns.list[0].churn_statuses", empty},
  });
}

TEST(ConfigLines, AnEmptyCampaignListMeansNoCampaigns) {
  auto c = ParseConfig(
      "data: {dir: d}\nstore: {path: s.db}\ncampaigns: {list: []}\n", "/b",
      "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->campaigns.campaigns.empty());
}

TEST(ConfigLines, DurationsPastTheirKeysLimitAreRejected) {
  const std::string base = "data: {dir: d}\nstore: {path: s.db}\n";
  ExpectErrorsAtTheirLines({
      // 2.6e19 us: past int64, it used to wrap to about 86,500 days.
      {base + "churn:\n  window: 300000000d\n", "window", "churn.window",
       "must be at most 3650d, got '300000000d'"},
      {base + "churn:\n  window: 3651d\n", "window", "churn.window",
       "must be at most 3650d"},
      {base + "sessionize:\n  gap: 8d\n", "gap", "sessionize.gap",
       "must be at most 7d"},
      {base + "features:\n  spend_window: 99999999999999999999999d\n",
       "spend_window", "features.spend_window", "must be at most 3650d"},
      {base + "campaigns:\n  suppress_bought_within: 1d9999999999999999h\n",
       "suppress_bought_within", "campaigns.suppress_bought_within",
       "must be at most 3650d"},
      {base + "schedule:\n  retry_backoff: 25h\n", "retry_backoff",
       "schedule.retry_backoff", "must be at most 1d"},
      {base + "campaigns:\n  readout_window: 3651d\n", "readout_window",
       "campaigns.readout_window", "must be at most 3650d"},
      {base + "campaigns:\n  readout_window: 30m\n", "readout_window",
       "campaigns.readout_window", "must be at least 1h"},
  });
  auto c = ParseConfig(base + R"(churn: {window: 3650d}
sessionize: {gap: 7d}
schedule: {retry_backoff: 1d}
features: {lookback: 3650d, trend_window: 1825d, spend_window: 3650d}
campaigns: {suppress_bought_within: 3650d}
)",
                       "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->churn_window, 3650 * kMicrosPerDay);
  EXPECT_EQ(c->session_gap, 7 * kMicrosPerDay);
}

TEST(ConfigLines, NumbersPastTheirTypeAreOutOfRange) {
  const std::string base = "data: {dir: d}\nstore: {path: s.db}\n";
  ExpectErrorsAtTheirLines({
      {base + "campaigns:\n  list:\n    - name: x\n      max_size: "
              "99999999999999999999\n",
       "max_size", "campaigns.list[0].max_size",
       "must be in [0, 9223372036854775807], got 99999999999999999999"},
      {base + "model:\n  seed: -99999999999999999999\n", "seed", "model.seed",
       "must be in [0, 9223372036854775807], got -99999999999999999999"},
      // 2^32 + 3 and 2^32 + 5: sscanf's %d used to wrap them to 3 and 5.
      {base + "segments:\n  - {name: A, r: 4294967299, f: 1-5}\n", "name: A",
       "segments[0].r",
       "scores run from 1 to 5 with low <= high, got "
       "'4294967299'"},
      {base + "segments:\n  - {name: A, r: 1-4294967301, f: 1-5}\n", "name: A",
       "segments[0].r", "scores run from 1 to 5"},
      {base + "model:\n  c_values: [1, .inf]\n", "c_values", "model.c_values",
       "expected finite positive numbers, got '.inf'"},
  });
  // Integers are decimal: yaml-cpp alone reads 010 as octal 8 and refuses 08.
  auto c = ParseConfig(
      "data: {dir: d, ingest_threads: 08}\n"
      "store: {path: s.db, keep_runs: 010}\n",
      "/b", "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data.ingest_threads, 8);
  EXPECT_EQ(c->store.keep_runs, 10);
}

std::string DemoConfigText() {
  std::ifstream in(std::string(WINBACK_SOURCE_DIR) + "/config/winback.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The demo file with the `nth` occurrence of `from` replaced by `to`.
std::string EditedDemo(const std::string& from, const std::string& to,
                       int nth = 1) {
  std::string yaml = DemoConfigText();
  size_t at = yaml.find(from);
  while (at != std::string::npos && --nth > 0) at = yaml.find(from, at + 1);
  if (at == std::string::npos) {
    ADD_FAILURE() << "the demo file has no '" << from << "'";
    return yaml;
  }
  return yaml.replace(at, from.size(), to);
}

TEST(ConfigLines, DemoFileErrorsNameTheEditedLine) {
  // Keys deep in a long file, where the section's line and the key's differ.
  const std::string keep_runs = EditedDemo("keep_runs: 30", "keep_runs: -1");
  const std::string folds = EditedDemo("folds: 5 ", "folds: 99");
  const std::string max_size =
      EditedDemo("max_size: 10000", "max_size: -3", /*nth=*/1);
  const std::string trend =
      EditedDemo("trend_window: 30d", "trend_window: -30d");
  ExpectErrorsAtTheirLines({
      {keep_runs, "keep_runs: -1", "store.keep_runs", "got -1"},
      {folds, "folds: 99", "model.folds", "got 99"},
      {max_size, "max_size: -3", "campaigns.list[1].max_size", "got -3"},
      {trend, "trend_window: -30d", "features.trend_window", "got '-30d'"},
  });
}

TEST(ConfigLines, ReadmeExampleErrorIsTrue) {
  // README.md's configuration section shows this message for the demo file
  // with churn.window misspelled; it must stay what the code says.
  std::string yaml = DemoConfigText();
  const size_t at = yaml.find("window: 25d ");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 11, "window: 25days");
  auto c = ParseConfig(yaml, "/b", "config/winback.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "config/winback.yaml:20: churn.window: expected a duration such "
            "as 30m, 25d or 1h30m, got '25days'");
}

TEST(Config, MissingFileIsNotFound) {
  auto c = LoadConfigFile("/nonexistent/winback.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/winback.yaml"));
}

}  // namespace
}  // namespace winback
