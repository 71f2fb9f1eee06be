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

// A finished run of `trigger` from `start` to `end`.
RunRecord Ran(RunTrigger trigger, RunState state, absl::Time start,
              absl::Time end) {
  RunRecord r = Started(start, state);
  r.trigger = trigger;
  r.finished_at = absl::ToUnixMicros(end);
  return r;
}

TEST(RetryOwedAtStartUp, ContinuesTheFiresRetriesFromTheRunHistory) {
  const absl::Time fire = Utc(2024, 1, 2, 19, 0);
  const absl::Time now = fire + absl::Hours(1);
  ScheduleConfig config;
  config.max_retries = 3;
  config.retry_backoff = 5 * kMicrosPerMinute;
  const RunTrigger kSched = RunTrigger::kSchedule;
  const RunState kFailed = RunState::kFailed;

  // The fire's run failed (say, cut short by a crash) 50 minutes ago:
  // retry 1 was due 5 minutes after it, so it is due now.
  std::optional<OwedRetry> owed = RetryOwedAtStartUp(
      fire, {Ran(kSched, kFailed, fire, fire + absl::Minutes(10))}, config,
      now);
  ASSERT_TRUE(owed.has_value());
  EXPECT_EQ(owed->attempt, 1);
  EXPECT_EQ(owed->at, now);

  // Two tries so far, the second (a catch-up counts) failed a minute ago:
  // retry 2, ten minutes after it.
  owed =
      RetryOwedAtStartUp(fire,
                         {Ran(RunTrigger::kCatchUp, kFailed,
                              now - absl::Minutes(3), now - absl::Minutes(1)),
                          Ran(kSched, kFailed, fire, fire + absl::Minutes(10))},
                         config, now);
  ASSERT_TRUE(owed.has_value());
  EXPECT_EQ(owed->attempt, 2);
  EXPECT_EQ(owed->at, now + absl::Minutes(9));

  // Manual runs are not tries: a failed one changes nothing.
  const RunRecord manual_failed =
      Ran(RunTrigger::kManual, kFailed, now - absl::Minutes(5),
          now - absl::Minutes(4));
  owed = RetryOwedAtStartUp(
      fire,
      {manual_failed, Ran(kSched, kFailed, fire, fire + absl::Minutes(10))},
      config, now);
  ASSERT_TRUE(owed.has_value());
  EXPECT_EQ(owed->attempt, 1);

  // Nothing is owed when ...
  const auto none = [&](const std::vector<RunRecord>& runs) {
    return !RetryOwedAtStartUp(fire, runs, config, now).has_value();
  };
  // ... no run started since the fire (that is catch-up's case), or only
  // manual ones, or the failed scheduled run is the previous fire's;
  EXPECT_TRUE(none({}));
  EXPECT_TRUE(none({manual_failed}));
  EXPECT_TRUE(none(
      {Ran(kSched, kFailed, fire - absl::Hours(24), fire - absl::Hours(23))}));
  // ... any run since the fire succeeded, a manual one too;
  EXPECT_TRUE(none({Ran(RunTrigger::kManual, RunState::kSucceeded,
                        now - absl::Minutes(5), now - absl::Minutes(4)),
                    Ran(kSched, kFailed, fire, fire + absl::Minutes(10))}));
  // ... the newest scheduled run was cancelled, though an earlier one
  // failed;
  EXPECT_TRUE(none({Ran(kSched, RunState::kCancelled, now - absl::Minutes(5),
                        now - absl::Minutes(4)),
                    Ran(kSched, kFailed, fire, fire + absl::Minutes(10))}));
  // ... or the first try and max_retries retries have all failed.
  std::vector<RunRecord> spent;
  for (int i = 0; i <= config.max_retries; ++i) {
    spent.insert(spent.begin(), Ran(kSched, kFailed, fire + absl::Minutes(i),
                                    fire + absl::Minutes(i)));
  }
  EXPECT_TRUE(none(spent));
  spent.erase(spent.begin());
  owed = RetryOwedAtStartUp(fire, spent, config, now);
  ASSERT_TRUE(owed.has_value());
  EXPECT_EQ(owed->attempt, config.max_retries);
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

// Fails the run `s` tracks; checks that the next tick wants the retry
// `wait` later and that the retry starts then, as a scheduled run.
void FailAndExpectRetryAfter(FakeRuns& runs, Scheduler& s,
                             absl::Duration wait) {
  const size_t started = runs.started.size();
  runs.Finish(RunState::kFailed);
  const absl::Time wake = s.Tick(runs.now);
  EXPECT_EQ(wake, runs.now + wait);
  runs.now = wake;
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), started + 1);
  EXPECT_EQ(runs.started.back(), RunTrigger::kSchedule);
}

TEST(Scheduler, RetriesAFailedRunWithDoublingBackoffUpToMaxRetries) {
  FakeRuns runs;
  runs.now = Utc(2024, 1, 3, 19, 0);
  Scheduler s(Nightly(), Config(/*catch_up=*/false, /*retries=*/2),
              runs.Hooks());
  s.Init(runs.now - absl::Seconds(1));
  s.Tick(runs.now);
  ASSERT_EQ(runs.started.size(), 1u);
  // Noticed at the next tick: retry 1 in 5 minutes, retry 2 in 10.
  FailAndExpectRetryAfter(runs, s, absl::Minutes(5));
  FailAndExpectRetryAfter(runs, s, absl::Minutes(10));
  runs.Finish(RunState::kFailed);
  // max_retries reached: nothing until the next night.
  EXPECT_EQ(s.Tick(runs.now), Utc(2024, 1, 4, 19, 0));
  EXPECT_EQ(s.retries_done(), 2);
}

TEST(Scheduler, RetriesARunCutShortByARestartWhereTheLastDaemonLeftOff) {
  for (const bool catch_up : {true, false}) {
    SCOPED_TRACE(catch_up ? "catch-up on" : "catch-up off");
    FakeRuns runs;
    const absl::Time fire = Utc(2024, 1, 2, 19, 0);
    // The night's run was failed as interrupted when the daemon came back
    // two minutes after it went down.
    runs.history.push_back(Ran(RunTrigger::kSchedule, RunState::kFailed, fire,
                               fire + absl::Minutes(10)));
    runs.history.back().run_id = 1;
    runs.now = fire + absl::Minutes(10);
    Scheduler s(Nightly(), Config(catch_up, /*retries=*/2), runs.Hooks());
    s.Init(runs.now);
    EXPECT_TRUE(runs.started.empty());  // a run started since the fire
    EXPECT_EQ(s.retries_done(), 1);
    const absl::Time wake = s.Tick(runs.now);
    EXPECT_EQ(wake, fire + absl::Minutes(15));
    runs.now = wake;
    s.Tick(runs.now);
    ASSERT_EQ(runs.started.size(), 1u);
    EXPECT_EQ(runs.started[0], RunTrigger::kSchedule);
    // It fails too: the last retry, at double the wait.
    FailAndExpectRetryAfter(runs, s, absl::Minutes(10));
    runs.Finish(RunState::kFailed);
    EXPECT_EQ(s.Tick(runs.now), Utc(2024, 1, 3, 19, 0));
    EXPECT_EQ(s.retries_done(), 2);

    // A second restart after that owes the night nothing more.
    Scheduler again(Nightly(), Config(catch_up, /*retries=*/2), runs.Hooks());
    again.Init(runs.now);
    EXPECT_EQ(again.Tick(runs.now), Utc(2024, 1, 3, 19, 0));
    EXPECT_EQ(runs.started.size(), 2u);
  }
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
