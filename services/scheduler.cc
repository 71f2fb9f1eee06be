#include "services/scheduler.h"

#include <algorithm>
#include <string>
#include <utility>

#include "spdlog/spdlog.h"

namespace winback {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// How often a tracked run's state is polled.
constexpr absl::Duration kPollInterval = absl::Seconds(1);

}  // namespace

const Clock& RealClock() {
  static const SystemClock kClock;
  return kClock;
}

bool NeedsCatchUp(absl::Time last_fire,
                  const std::vector<RunRecord>& recent_runs) {
  const Micros fire_us = absl::ToUnixMicros(last_fire);
  for (const RunRecord& r : recent_runs) {
    if (r.started_at >= fire_us) return false;
  }
  return true;
}

absl::Duration RetryDelay(absl::Duration base, int attempt) {
  absl::Duration d = base;
  for (int i = 1; i < attempt && d < absl::Hours(24); ++i) d *= 2;
  return std::min(d, absl::Hours(24));
}

std::optional<OwedRetry> RetryOwedAtStartUp(
    absl::Time last_fire, const std::vector<RunRecord>& recent_runs,
    const ScheduleConfig& config, absl::Time now) {
  const Micros fire_us = absl::ToUnixMicros(last_fire);
  const RunRecord* newest_scheduled = nullptr;
  int tries = 0;
  for (const RunRecord& r : recent_runs) {
    if (r.started_at < fire_us) continue;
    if (r.state == RunState::kSucceeded) return std::nullopt;
    if (r.trigger == RunTrigger::kManual) continue;
    if (newest_scheduled == nullptr) newest_scheduled = &r;
    ++tries;
  }
  if (newest_scheduled == nullptr ||
      newest_scheduled->state != RunState::kFailed ||
      tries > config.max_retries) {
    return std::nullopt;
  }
  OwedRetry owed;
  owed.attempt = tries;
  const absl::Time failed_at = absl::FromUnixMicros(
      newest_scheduled->finished_at.value_or(absl::ToUnixMicros(now)));
  owed.at = std::max(
      now, failed_at + RetryDelay(absl::Microseconds(config.retry_backoff),
                                  owed.attempt));
  return owed;
}

Scheduler::Scheduler(CronSchedule cron, const ScheduleConfig& config,
                     SchedulerHooks hooks, const Clock* clock)
    : cron_(std::move(cron)),
      config_(config),
      hooks_(std::move(hooks)),
      clock_(clock) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Init(absl::Time now) {
  absl::MutexLock lock(&mu_);
  next_fire_ = cron_.Next(now);
  if (!config_.catch_up && config_.max_retries <= 0) return;
  const std::optional<absl::Time> last = cron_.Previous(now);
  if (!last.has_value()) return;
  // Runs started after the last fire time are few (at most the retries and
  // manual runs of one period), so the newest 50 always include them.
  absl::StatusOr<std::vector<RunRecord>> runs = hooks_.recent_runs(50);
  if (!runs.ok()) {
    spdlog::warn("event=catch_up_check_failed error=\"{}\"",
                 runs.status().ToString());
    return;
  }
  const std::string fire =
      absl::FormatTime(absl::RFC3339_sec, *last, absl::UTCTimeZone());
  if (config_.catch_up && NeedsCatchUp(*last, *runs)) {
    spdlog::info("event=catch_up missed_fire={}", fire);
    Launch(RunTrigger::kCatchUp, now);
    return;
  }
  if (const std::optional<OwedRetry> owed =
          RetryOwedAtStartUp(*last, *runs, config_, now)) {
    retries_ = owed->attempt;
    retry_at_ = owed->at;
    spdlog::info(
        "event=retry_scheduled fire={} retry={} at={} after=restart", fire,
        retries_,
        absl::FormatTime(absl::RFC3339_sec, owed->at, absl::UTCTimeZone()));
  }
}

void Scheduler::Launch(RunTrigger trigger, absl::Time now) {
  absl::StatusOr<int64_t> id = hooks_.start_run(trigger);
  if (id.ok()) {
    spdlog::info("event=scheduled_run_started run_id={} trigger={} retry={}",
                 *id, RunTriggerName(trigger), retries_);
    tracked_run_ = *id;
    return;
  }
  // A run already in progress (say, a manual one) covers this fire time.
  spdlog::warn("event=scheduled_run_not_started trigger={} error=\"{}\"",
               RunTriggerName(trigger), id.status().ToString());
  tracked_run_.reset();
}

absl::Time Scheduler::Tick(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (tracked_run_.has_value()) {
    absl::StatusOr<RunRecord> run = hooks_.get_run(*tracked_run_);
    if (run.ok() && IsFinished(run->state)) {
      tracked_run_.reset();
      if (run->state == RunState::kFailed && retries_ < config_.max_retries) {
        ++retries_;
        retry_at_ = now + RetryDelay(absl::Microseconds(config_.retry_backoff),
                                     retries_);
        spdlog::info("event=retry_scheduled run_id={} retry={} at={}",
                     run->run_id, retries_,
                     absl::FormatTime(absl::RFC3339_sec, *retry_at_,
                                      absl::UTCTimeZone()));
      }
    } else if (!run.ok()) {
      tracked_run_.reset();  // e.g. deleted by retention
    }
  }
  if (next_fire_.has_value() && now >= *next_fire_) {
    // A new fire time supersedes any pending retry of the previous one.
    retries_ = 0;
    retry_at_.reset();
    next_fire_ = cron_.Next(now);
    Launch(RunTrigger::kSchedule, now);
  } else if (retry_at_.has_value() && now >= *retry_at_) {
    retry_at_.reset();
    Launch(RunTrigger::kSchedule, now);
  }
  absl::Time wake = absl::InfiniteFuture();
  if (next_fire_.has_value()) wake = std::min(wake, *next_fire_);
  if (retry_at_.has_value()) wake = std::min(wake, *retry_at_);
  if (tracked_run_.has_value()) wake = std::min(wake, now + kPollInterval);
  return wake;
}

void Scheduler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  Init(clock_->Now());
  while (true) {
    const absl::Time wake = Tick(clock_->Now());
    absl::MutexLock lock(&mu_);
    // Wake at least every few seconds so a changed wall clock is noticed.
    const absl::Time until = std::min(wake, clock_->Now() + absl::Seconds(5));
    mu_.AwaitWithDeadline(absl::Condition(&stop_), until);
    if (stop_) return;
  }
}

std::optional<absl::Time> Scheduler::next_fire() const {
  absl::MutexLock lock(&mu_);
  return next_fire_;
}

int Scheduler::retries_done() const {
  absl::MutexLock lock(&mu_);
  return retries_;
}

}  // namespace winback
