#include "services/metrics.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(Metrics, RecordsRpcsAndRunEvents) {
  Metrics m;
  m.RecordRpc("/winback.v1.JobService/GetRun", "NOT_FOUND", 0.002);
  RunEvent stage;
  stage.stage = "ingest";
  stage.stage_done = true;
  stage.rows = 123;
  stage.seconds = 0.5;
  m.OnRunEvent(stage);
  RunEvent end;
  end.terminal = true;
  end.state = RunState::kSucceeded;
  m.OnRunEvent(end);
  const std::string text = m.Scrape();
  EXPECT_NE(text.find("winback_rpc_total{code=\"NOT_FOUND\",method=\"/winback."
                      "v1.JobService/GetRun\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("winback_run_stage_rows{stage=\"ingest\"} 123"),
            std::string::npos);
  EXPECT_NE(text.find("winback_runs_total{state=\"succeeded\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("winback_rpc_seconds_bucket"), std::string::npos);
}

// The value of the unlabelled sample `name` in `text`, or nullopt.
std::optional<double> Sample(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + name.size() + 2));
}

TEST(Metrics, RunTimesAppearOnceKnownInUnixSeconds) {
  Metrics m;
  m.SetRunTimes(std::nullopt, std::nullopt);
  std::string text = m.Scrape();
  EXPECT_FALSE(Sample(text, "winback_last_success_timestamp_seconds"));
  EXPECT_FALSE(Sample(text, "winback_served_as_of_timestamp_seconds"));

  RunRecord last, served;
  last.finished_at = 1'700'000'123'250'000;  // 2023-11-14T22:15:23.25Z
  served.as_of = 1'690'000'000'500'000;
  m.SetRunTimes(last, served);
  text = m.Scrape();
  EXPECT_EQ(Sample(text, "winback_last_success_timestamp_seconds"),
            1'700'000'123.25)
      << text;
  EXPECT_EQ(Sample(text, "winback_served_as_of_timestamp_seconds"),
            1'690'000'000.5)
      << text;
  // A run with no finish time yet sets nothing; the last value stays.
  m.SetRunTimes(RunRecord{}, std::nullopt);
  EXPECT_EQ(Sample(m.Scrape(), "winback_last_success_timestamp_seconds"),
            1'700'000'123.25);
}

TEST(Metrics, RunUsageAppearsOnceARunProcessHasExited) {
  Metrics m;
  EXPECT_FALSE(Sample(m.Scrape(), "winback_run_peak_rss_bytes"));
  EXPECT_FALSE(Sample(m.Scrape(), "winback_run_cpu_seconds"));
  m.SetRunUsage(11.25, 1'073'741'824);
  m.SetRunUsage(9.5, 1'048'576'000);  // the last run's, not the largest
  const std::string text = m.Scrape();
  EXPECT_EQ(Sample(text, "winback_run_cpu_seconds"), 9.5) << text;
  EXPECT_EQ(Sample(text, "winback_run_peak_rss_bytes"), 1'048'576'000.0);
}

TEST(Metrics, MemoryLimitHasASampleOnlyWhileThereIsALimit) {
  Metrics m;
  EXPECT_FALSE(Sample(m.Scrape(), "winback_memory_limit_bytes"));
  m.SetMemoryLimit(8'589'934'592);
  EXPECT_EQ(Sample(m.Scrape(), "winback_memory_limit_bytes"), 8'589'934'592.0);
  m.SetMemoryLimit(4'294'967'296);
  EXPECT_EQ(Sample(m.Scrape(), "winback_memory_limit_bytes"), 4'294'967'296.0);
  m.SetMemoryLimit(std::nullopt);  // the limit was lifted
  EXPECT_FALSE(Sample(m.Scrape(), "winback_memory_limit_bytes"));
  m.SetMemoryLimit(std::nullopt);
  m.SetMemoryLimit(1'073'741'824);
  EXPECT_EQ(Sample(m.Scrape(), "winback_memory_limit_bytes"), 1'073'741'824.0);
}

TEST(Metrics, CountsTargetCacheEvents) {
  Metrics m;
  m.OnTargetCacheEvent(TargetCacheEvent::kMiss, 1000);
  m.OnTargetCacheEvent(TargetCacheEvent::kHit, 1000);
  m.OnTargetCacheEvent(TargetCacheEvent::kHit, 1000);
  m.OnTargetCacheEvent(TargetCacheEvent::kEviction, 600);
  const std::string text = m.Scrape();
  EXPECT_NE(text.find("winback_target_cache_hits_total 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("winback_target_cache_misses_total 1"),
            std::string::npos);
  EXPECT_NE(text.find("winback_target_cache_evictions_total 1"),
            std::string::npos);
  EXPECT_NE(text.find("winback_target_cache_bytes 600"), std::string::npos);
}

}  // namespace
}  // namespace winback
