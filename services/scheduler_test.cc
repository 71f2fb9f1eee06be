#include "services/scheduler.h"

#include <map>

#include "gtest/gtest.h"

namespace winback {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

RunRecord Started(absl::Time t, RunState state = RunState::kSucceeded) {
  RunRecord r;
  r.started_at = absl::ToUnixMicros(t);
  r.state = state;
  return r;
}

TEST(NeedsCatchUp, WhenNoRunStartedAtOrAfterTheLastFire) {
  const absl::Time fire = Utc(2024, 1, 2, 19, 0);
  EXPECT_TRUE(NeedsCatchUp(fire, {}));
  EXPECT_TRUE(NeedsCatchUp(fire, {Started(fire - absl::Seconds(1))}));
  EXPECT_FALSE(NeedsCatchUp(fire, {Started(fire)}));
  // A failed run after the fire time still counts as the fire's run.
  EXPECT_FALSE(NeedsCatchUp(
      fire, {Started(fire + absl::Hours(1), RunState::kFailed),
             Started(fire - absl::Hours(24))}));
}

TEST(RetryDelay, DoublesFromTheBaseAndCapsAtADay) {
  const absl::Duration base = absl::Minutes(5);
  EXPECT_EQ(RetryDelay(base, 1), absl::Minutes(5));
  EXPECT_EQ(RetryDelay(base, 2), absl::Minutes(10));
  EXPECT_EQ(RetryDelay(base, 3), absl::Minutes(20));
  EXPECT_EQ(RetryDelay(base, 40), absl::Hours(24));
}

// A fake run manager: runs "finish" when the test says so.
struct FakeRuns {
  std::vector<RunRecord> history;  // newest last
  std::vector<RunTrigger> started;
  bool refuse = false;

  SchedulerHooks Hooks() {
    SchedulerHooks h;
    h.start_run = [this](RunTrigger t) -> absl::StatusOr<int64_t> {
      if (refuse) return absl::AbortedError("busy");
      started.push_back(t);
      RunRecord r;
      r.run_id = static_cast<int64_t>(history.size()) + 1;
      r.state = RunState::kRunning;
      r.trigger = t;
      r.started_at = absl::ToUnixMicros(now);
      history.push_back(r);
      return r.run_id;
    };
    h.get_run = [this](int64_t id) -> absl::StatusOr<RunRecord> {
      return history.at(id - 1);
    };
    h.recent_runs =
        [this](int limit) -> absl::StatusOr<std::vector<RunRecord>> {
      return std::vector<RunRecord>(history.rbegin(), history.rend());
    };
    return h;
  }
  void Finish(RunState s) { history.back().state = s; }
  absl::Time now;
};

ScheduleConfig Config(bool catch_up = true, int retries = 2) {
  ScheduleConfig c;
  c.cron = "0 2 * * *";
  c.time_zone = "Asia/Jakarta";
  c.catch_up = catch_up;
  c.max_retries = retries;
  c.retry_backoff = 5 * kMicrosPerMinute;
  return c;
}

CronSchedule Nightly() {
  return *CronSchedule::Parse("0 2 * * *", "Asia/Jakarta");
}

TEST(Scheduler, CatchesUpOnceAtStartUpWhenTheLastFireWasMissed) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 3, 0);  // 10:00 WIB; last fire 2024-01-02 19:00Z
  runs.history.push_back(Started(Utc(2024, 1, 1, 19, 0)));
  runs.history.back().run_id = 1;
  Scheduler s(Nightly(), Config(), runs.Hooks());
  s.Init(runs.now);
  ASSERT_EQ(runs.started.size(), 1u);
  EXPECT_EQ(runs.started[0], RunTrigger::kCatchUp);
  EXPECT_EQ(s.next_fire(), Utc(2024, 1, 3, 19, 0));
  // Ticking before the next fire time starts nothing more.
  runs.Finish(RunState::kSucceeded);
  s.Tick(runs.now + absl::Hours(1));
  EXPECT_EQ(runs.started.size(), 1u);
}

TEST(Scheduler, NoCatchUpWhenTheLastFireRanOrCatchUpIsOff) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 3, 0);
  runs.history.push_back(Started(Utc(2024, 1, 2, 19, 0, 1)));
  runs.history.back().run_id = 1;
  Scheduler s(Nightly(), Config(), runs.Hooks());
  s.Init(runs.now);
  EXPECT_TRUE(runs.started.empty());

  FakeRuns empty;
  empty.now = runs.now;
  Scheduler off(Nightly(), Config(/*catch_up=*/false), empty.Hooks());
  off.Init(empty.now);
  EXPECT_TRUE(empty.started.empty());
}

TEST(Scheduler, FiresAtTheCronTime) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 3, 0);
  Scheduler s(Nightly(), Config(/*catch_up=*/false), runs.Hooks());
  s.Init(runs.now);
  const absl::Time wake = s.Tick(runs.now);
  EXPECT_EQ(wake, Utc(2024, 1, 3, 19, 0));
  EXPECT_TRUE(runs.started.empty());
  runs.now = wake;
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), 1u);
  EXPECT_EQ(runs.started[0], RunTrigger::kSchedule);
  EXPECT_EQ(s.next_fire(), Utc(2024, 1, 4, 19, 0));
}

TEST(Scheduler, RetriesAFailedRunWithDoublingBackoffUpToMaxRetries) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 19, 0);
  Scheduler s(Nightly(), Config(/*catch_up=*/false, /*retries=*/2),
              runs.Hooks());
  s.Init(runs.now - absl::Seconds(1));
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), 1u);
  runs.Finish(RunState::kFailed);
  // Noticed at the next tick: retry 1 in 5 minutes.
  absl::Time wake = s.Tick(runs.now);
  EXPECT_EQ(wake, runs.now + absl::Minutes(5));
  runs.now = wake;
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), 2u);
  runs.Finish(RunState::kFailed);
  wake = s.Tick(runs.now);
  EXPECT_EQ(wake, runs.now + absl::Minutes(10));
  runs.now = wake;
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), 3u);
  runs.Finish(RunState::kFailed);
  // max_retries reached: nothing until the next night.
  wake = s.Tick(runs.now);
  EXPECT_EQ(wake, Utc(2024, 1, 4, 19, 0));
  EXPECT_EQ(s.retries_done(), 2);
}

TEST(Scheduler, DoesNotRetryCancelledOrSucceededRuns) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 19, 0);
  Scheduler s(Nightly(), Config(false), runs.Hooks());
  s.Init(runs.now - absl::Seconds(1));
  s.Tick(runs.now);
  runs.Finish(RunState::kCancelled);
  EXPECT_EQ(s.Tick(runs.now), Utc(2024, 1, 4, 19, 0));
  EXPECT_EQ(runs.started.size(), 1u);
}

TEST(Scheduler, SkipsAFireWhileAnotherRunIsInProgress) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 19, 0);
  runs.refuse = true;
  Scheduler s(Nightly(), Config(false), runs.Hooks());
  s.Init(runs.now - absl::Seconds(1));
  EXPECT_EQ(s.Tick(runs.now), Utc(2024, 1, 4, 19, 0));
  EXPECT_TRUE(runs.started.empty());
}

}  // namespace
}  // namespace winback
