#include "services/run_manager.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "jobs/common/time_util.h"
#include "spdlog/spdlog.h"

namespace winback {
namespace {

// Logs of finished runs kept in memory for late watchers.
constexpr size_t kKeptLogs = 16;

// A retry of `request_id` is the same run only when it asks for the same
// as-of time, or like it for none (the export's latest event): the same key
// with another as-of time is another request, which must not silently get
// the old run. Runs begun before schema 6 did not record whether their as-of
// time was asked for; for them an as-of time must equal the run's, and a
// request without one is taken as a retry.
absl::Status SameRequest(const std::string& request_id, const RunRecord& run,
                         std::optional<Micros> as_of) {
  const std::string prefix =
      absl::StrCat("request_id '", request_id, "' is run ", run.run_id, " (",
                   std::string(RunStateName(run.state)));
  const std::string suffix = "; use a new request_id for a different run";
  if (!as_of.has_value()) {
    if (!run.as_of_requested.value_or(false)) return absl::OkStatus();
    return absl::AlreadyExistsError(
        absl::StrCat(prefix, "), a backfill as of ", FormatTimestamp(run.as_of),
                     ", not a run as of the export's latest event", suffix));
  }
  // Before schema 6: an as-of time still 0 was not asked for.
  if (!run.as_of_requested.value_or(run.as_of != 0)) {
    // The export's latest event, whatever that is (or turns out to be once
    // ingest has read it), was asked for, not this time.
    return absl::AlreadyExistsError(absl::StrCat(
        prefix,
        "), started without an as-of time (the export's latest event), not a "
        "run as of ",
        FormatTimestamp(*as_of), suffix));
  }
  if (run.as_of != *as_of) {
    return absl::AlreadyExistsError(
        absl::StrCat(prefix, ", as of ", FormatTimestamp(run.as_of),
                     "), not a run as of ", FormatTimestamp(*as_of), suffix));
  }
  return absl::OkStatus();
}

}  // namespace

void RunLog::Append(RunEvent event) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = event.terminal;
  events_.push_back(std::move(event));
}

bool RunLog::Wait(size_t index, absl::Time deadline, RunEvent* out,
                  bool* timed_out) {
  absl::MutexLock lock(&mu_);
  struct Args {
    RunLog* log;
    size_t index;
  } args{this, index};
  const auto ready = [](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return a->index < a->log->events_.size() || a->log->closed_;
  };
  *timed_out = !mu_.AwaitWithDeadline(
      absl::Condition(+ready, &args), deadline);
  if (index < events_.size()) {
    *out = events_[index];
    return true;
  }
  return false;
}

bool RunLog::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

RunManager::RunManager(const Config& config, std::unique_ptr<Store> store,
                       RunManagerOptions options, PipelineFn pipeline)
    : config_(config),
      options_(std::move(options)),
      pipeline_(pipeline ? std::move(pipeline)
                         : PipelineFn([this](Store* store,
                                             const RunRequest& request,
                                             const ProgressFn& progress,
                                             const std::atomic<bool>* cancel) {
                             return RunPipeline(config_, store, request,
                                                progress, cancel);
                           })),
      store_(std::move(store)) {}

RunManager::~RunManager() { Shutdown(); }

absl::StatusOr<int64_t> RunManager::StartRun(RunTrigger trigger,
                                             const std::string& request_id,
                                             std::optional<Micros> as_of) {
  absl::MutexLock lock(&mu_);
  if (shutdown_.load()) {
    return absl::UnavailableError("the daemon is shutting down");
  }
  if (!request_id.empty()) {
    absl::StatusOr<std::optional<RunRecord>> seen =
        store_->FindRunByRequestId(request_id);
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) {
      const RunRecord& run = **seen;
      if (absl::Status same = SameRequest(request_id, run, as_of); !same.ok()) {
        return same;
      }
      return run.run_id;
    }
  }
  if (running_) {
    return absl::AbortedError(absl::StrCat(
        "run ", current_.has_value() ? absl::StrCat(*current_) : "(starting)",
        " is in progress; never two runs at once"));
  }
  if (worker_.joinable()) worker_.join();  // the previous run has ended
  running_ = true;
  started_id_.reset();
  start_error_ = absl::OkStatus();
  cancel_.store(false);
  operator_cancel_.store(false);
  RunRequest request;
  request.trigger = trigger;
  request.request_id = request_id;
  request.as_of = as_of;
  worker_ = std::thread([this, request] { Work(request); });
  mu_.Await(absl::Condition(this, &RunManager::StartSettled));
  if (started_id_.has_value()) return *started_id_;
  if (absl::IsAlreadyExists(start_error_) && !request_id.empty()) {
    // Another process began a run with this request_id in between.
    absl::StatusOr<std::optional<RunRecord>> seen =
        store_->FindRunByRequestId(request_id);
    if (seen.ok() && seen->has_value()) {
      if (absl::Status same = SameRequest(request_id, **seen, as_of);
          !same.ok()) {
        return same;
      }
      return (*seen)->run_id;
    }
  }
  return start_error_;
}

void RunManager::Work(RunRequest request) {
  std::shared_ptr<RunLog> log;
  const ProgressFn progress = [&](const Progress& p) {
    if (log == nullptr) {
      log = std::make_shared<RunLog>(p.run_id);
      absl::MutexLock lock(&mu_);
      started_id_ = p.run_id;
      current_ = p.run_id;
      logs_[p.run_id] = log;
      while (logs_.size() > kKeptLogs) logs_.erase(logs_.begin());
    }
    RunEvent e;
    e.run_id = p.run_id;
    e.stage = p.stage;
    e.stage_index = p.stage_index;
    e.stage_count = p.stage_count;
    e.stage_done = p.done;
    e.rows = p.rows;
    e.seconds = p.seconds;
    e.state = RunState::kRunning;
    log->Append(e);
    if (options_.on_event) options_.on_event(e);
  };
  const absl::StatusOr<RunResult> result =
      pipeline_(store_.get(), request, progress, &cancel_);

  RunEvent terminal;
  terminal.terminal = true;
  if (log != nullptr) {
    terminal.run_id = log->run_id();
    absl::StatusOr<RunRecord> record = store_->GetRun(log->run_id());
    if (record.ok()) {
      terminal.state = record->state;
      terminal.error = record->error;
      terminal.stage = record->current_stage;
    } else {
      terminal.state = result.ok() ? RunState::kSucceeded : RunState::kFailed;
      terminal.error = result.ok() ? "" : std::string(result.status().message());
    }
    if (!IsFinished(terminal.state)) {
      terminal.state = result.ok()                   ? RunState::kSucceeded
                       : absl::IsCancelled(result.status()) ? RunState::kCancelled
                                                            : RunState::kFailed;
    }
    // Stopped with the daemon, not by an operator: the run did not end for
    // a reason of its own, as one cut short by a crash did not.
    if (terminal.state == RunState::kCancelled && shutdown_.load() &&
        !operator_cancel_.load()) {
      if (const absl::Status marked =
              store_->MarkCancelledRunInterrupted(terminal.run_id);
          marked.ok()) {
        absl::StatusOr<RunRecord> record = store_->GetRun(terminal.run_id);
        terminal.state = RunState::kFailed;
        if (record.ok()) terminal.error = record->error;
      } else {
        spdlog::error("event=run_not_marked_interrupted run_id={} error=\"{}\"",
                      terminal.run_id, marked.ToString());
      }
    }
    // A succeeded run's lists replace the served ones only when its as-of
    // time is the latest (not for a backfill): say which run is served.
    std::string served;
    if (terminal.state == RunState::kSucceeded) {
      absl::StatusOr<std::optional<RunRecord>> latest =
          store_->LatestPublishedRun();
      if (latest.ok() && latest->has_value()) {
        served = (*latest)->run_id == terminal.run_id
                     ? " served=true"
                     : absl::StrCat(" served=false served_run_id=",
                                    (*latest)->run_id);
      }
    }
    // At the level an operator filters on: a failed run is an error, a
    // cancelled one a warning.
    spdlog::log(terminal.state == RunState::kFailed      ? spdlog::level::err
                : terminal.state == RunState::kCancelled ? spdlog::level::warn
                                                         : spdlog::level::info,
                "event=run_finished run_id={} state={}{} error=\"{}\"",
                terminal.run_id, RunStateName(terminal.state), served,
                terminal.error);
  }
  {
    absl::MutexLock lock(&mu_);
    if (log == nullptr) {
      start_error_ = result.ok() ? absl::InternalError(
                                       "the pipeline ended without a run")
                                 : result.status();
    }
    running_ = false;
    current_.reset();
  }
  if (log != nullptr) {
    log->Append(terminal);
    if (options_.on_event) options_.on_event(terminal);
  }
}

absl::Status RunManager::Cancel(int64_t run_id) {
  absl::MutexLock lock(&mu_);
  if (!current_.has_value() || *current_ != run_id) {
    return absl::NotFoundError(
        absl::StrCat("run ", run_id, " is not in progress"));
  }
  operator_cancel_.store(true);
  cancel_.store(true);
  spdlog::info("event=run_cancel_requested run_id={}", run_id);
  return absl::OkStatus();
}

std::shared_ptr<RunLog> RunManager::Log(int64_t run_id) const {
  absl::MutexLock lock(&mu_);
  const auto it = logs_.find(run_id);
  return it == logs_.end() ? nullptr : it->second;
}

std::optional<int64_t> RunManager::CurrentRun() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void RunManager::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  if (!shutdown_.load() && current_.has_value()) {
    spdlog::info("event=run_stop_requested run_id={} reason=shutdown",
                 *current_);
  }
  shutdown_.store(true);
  cancel_.store(true);
}

void RunManager::Shutdown() {
  BeginShutdown();
  std::thread worker;
  {
    absl::MutexLock lock(&mu_);
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

}  // namespace winback
