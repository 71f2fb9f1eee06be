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

TEST(Config, MissingFileIsNotFound) {
  auto c = LoadConfigFile("/nonexistent/winback.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/winback.yaml"));
}

}  // namespace
}  // namespace winback
