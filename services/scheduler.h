// Runs the pipeline on a cron schedule: fires at each cron time, catches up
// once at start-up when the last fire time was missed, and retries a failed
// scheduled run with exponential backoff, also across a restart of the
// daemon: a run cut short by a crash or a stop of the daemon is failed (as
// interrupted) by the time the next one starts, and the retries it is owed
// are counted from the run history.
//
// The decisions are made by Tick(now), which tests drive with any clock; the
// background thread started by Start() only calls Tick with the real time
// and sleeps until the next wake-up.
#ifndef WINBACK_SERVICES_SCHEDULER_H_
#define WINBACK_SERVICES_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "jobs/config/config.h"
#include "jobs/store/store.h"
#include "services/cron.h"

namespace winback {

// The time source; tests substitute a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// absl::Now().
const Clock& RealClock();

// True when a catch-up run is due: a fire time `last_fire` has passed and no
// run in `recent_runs` (any state) started at or after it.
bool NeedsCatchUp(absl::Time last_fire,
                  const std::vector<RunRecord>& recent_runs);

// The wait before retry number `attempt` (1-based): base, 2 x base,
// 4 x base, ... capped at one day.
absl::Duration RetryDelay(absl::Duration base, int attempt);

// A retry of the last fire time's scheduled run that a starting scheduler
// owes: retry number `attempt` (1-based), due at `at`.
struct OwedRetry {
  int attempt = 0;
  absl::Time at;
};

// At start-up, the retry owed to fire time `last_fire`, as the scheduler
// would have made it had it not stopped: when the newest scheduled or
// catch-up run started at or after `last_fire` in `recent_runs` (newest
// first) failed (a run interrupted by a crash or a stop is by then), no run
// since `last_fire` succeeded, and those scheduled runs (the first try and
// its retries) number at most `config.max_retries`. It is due RetryDelay
// after that run finished, and not before `now`. Manual runs neither count
// as tries nor stop the retries unless they succeed; a cancelled run is not
// retried.
std::optional<OwedRetry> RetryOwedAtStartUp(
    absl::Time last_fire, const std::vector<RunRecord>& recent_runs,
    const ScheduleConfig& config, absl::Time now);

// What the scheduler needs from the run manager.
struct SchedulerHooks {
  // Starts a run now; returns its run_id. Aborted when one is in progress.
  std::function<absl::StatusOr<int64_t>(RunTrigger)> start_run;
  // The run as stored (to learn whether it finished and how).
  std::function<absl::StatusOr<RunRecord>(int64_t)> get_run;
  // The newest runs, newest first.
  std::function<absl::StatusOr<std::vector<RunRecord>>(int)> recent_runs;
};

class Scheduler {
 public:
  Scheduler(CronSchedule cron, const ScheduleConfig& config,
            SchedulerHooks hooks, const Clock* clock = &RealClock());
  ~Scheduler();  // Stops the thread.

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Start-up: decides on a catch-up run (when configured) or a retry owed to
  // the last fire time (RetryOwedAtStartUp), and computes the first fire
  // time after `now`. Call once, before Tick.
  void Init(absl::Time now);

  // Does whatever is due at `now` (a fire time, a retry, noticing that a
  // tracked run finished) and returns when it wants to be called next.
  absl::Time Tick(absl::Time now);

  // Runs Init and then Tick in a background thread until Stop().
  void Start();
  void Stop();

  // For tests and logs.
  std::optional<absl::Time> next_fire() const;
  int retries_done() const;

 private:
  void Launch(RunTrigger trigger, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  const CronSchedule cron_;
  const ScheduleConfig config_;
  const SchedulerHooks hooks_;
  const Clock* const clock_;

  mutable absl::Mutex mu_;
  std::optional<absl::Time> next_fire_ ABSL_GUARDED_BY(mu_);
  // A scheduled (or catch-up) run being watched for failure.
  std::optional<int64_t> tracked_run_ ABSL_GUARDED_BY(mu_);
  int retries_ ABSL_GUARDED_BY(mu_) = 0;  // retries of the current fire
  std::optional<absl::Time> retry_at_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_SCHEDULER_H_
