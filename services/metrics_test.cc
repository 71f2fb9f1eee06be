#include "services/metrics.h"

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
