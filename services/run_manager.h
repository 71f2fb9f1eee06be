// Owns the background pipeline run: starts it (never two at once), cancels
// it, and fans its progress out to any number of watchers. No gRPC types.
#ifndef WINBACK_SERVICES_RUN_MANAGER_H_
#define WINBACK_SERVICES_RUN_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "jobs/config/config.h"
#include "jobs/pipeline/pipeline.h"
#include "jobs/store/store.h"

namespace winback {

// One progress event of a run: a stage started or finished, or (terminal)
// the run ended in `state`.
struct RunEvent {
  int64_t run_id = 0;
  std::string stage;
  int stage_index = 0;  // 0-based
  int stage_count = 0;
  bool stage_done = false;
  int64_t rows = 0;
  double seconds = 0;
  RunState state = RunState::kRunning;
  std::string error;
  bool terminal = false;
};

// The ordered events of one run. Writers append; readers wait for event i.
// Thread-safe.
class RunLog {
 public:
  explicit RunLog(int64_t run_id) : run_id_(run_id) {}

  void Append(RunEvent event);

  // Waits until event `index` exists (true, copied to *out), the log is
  // closed without it (false), or `deadline` passes (false, *timed_out set).
  bool Wait(size_t index, absl::Time deadline, RunEvent* out, bool* timed_out);

  int64_t run_id() const { return run_id_; }
  bool closed() const;

 private:
  const int64_t run_id_;
  mutable absl::Mutex mu_;
  std::vector<RunEvent> events_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // set by the terminal event
};

// The pipeline as the manager calls it; tests substitute a fake. The
// default is RunPipeline(config, store, ...) on the manager's thread; the
// daemon runs it in a child process (ProcessPipeline).
using PipelineFn = std::function<absl::StatusOr<RunResult>(
    Store* store, const RunRequest& request, const ProgressFn& progress,
    const std::atomic<bool>* cancel)>;

struct RunManagerOptions {
  // Called on the pipeline thread for every event of every run, terminal
  // included (metrics, logs). May be empty.
  std::function<void(const RunEvent&)> on_event;
};

class RunManager {
 public:
  // `store` is the writer connection; the manager owns it and is its only
  // user while runs are in progress.
  RunManager(const Config& config, std::unique_ptr<Store> store,
             RunManagerOptions options = {}, PipelineFn pipeline = nullptr);
  ~RunManager();  // Shutdown().

  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  // Starts a run in the background and returns its run_id once the run is
  // recorded. A non-empty `request_id` seen before returns that run's id
  // without starting anything when the request is a retry of it, or
  // AlreadyExists when it asks for another as-of time than that run did
  // (`as_of` nullopt asks for the export's latest event). Aborted while
  // another run is in
  // progress (here or in another process on the same database); Unavailable
  // after Shutdown; otherwise the error that kept the run from starting.
  absl::StatusOr<int64_t> StartRun(RunTrigger trigger,
                                   const std::string& request_id,
                                   std::optional<Micros> as_of);

  // Asks the run in progress to stop: it ends cancelled and publishes
  // nothing. NotFound when `run_id` is not the run in progress (the caller
  // tells an unknown run from a finished one with the store).
  absl::Status Cancel(int64_t run_id);

  // The event log of a run started by this process, or null (an older run:
  // read it from the store).
  std::shared_ptr<RunLog> Log(int64_t run_id) const;

  // The run in progress, if any.
  std::optional<int64_t> CurrentRun() const;

  // Refuses new runs from now on and asks the run in progress to stop before
  // its next stage; returns at once. A run that ends cancelled by this alone
  // is recorded as interrupted (failed, as one cut short by a crash), so a
  // scheduled run is retried by the next daemon; one an operator cancelled
  // stays cancelled. Idempotent.
  void BeginShutdown();
  // BeginShutdown, then waits for the run in progress to end. Idempotent.
  void Shutdown();
  bool shutting_down() const { return shutdown_.load(); }

 private:
  // The pipeline thread's body.
  void Work(RunRequest request);
  bool StartSettled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return started_id_.has_value() || !start_error_.ok();
  }

  const Config config_;
  const RunManagerOptions options_;
  const PipelineFn pipeline_;
  std::unique_ptr<Store> store_;  // used only by the pipeline thread
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> cancel_{false};
  // An operator asked to cancel the run in progress (Cancel), as against
  // Shutdown alone, whose stopped run is recorded as interrupted.
  std::atomic<bool> operator_cancel_{false};

  mutable absl::Mutex mu_;
  std::thread worker_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int64_t> current_ ABSL_GUARDED_BY(mu_);
  // The result of the latest start attempt, read by StartRun.
  std::optional<int64_t> started_id_ ABSL_GUARDED_BY(mu_);
  absl::Status start_error_ ABSL_GUARDED_BY(mu_);
  // Logs of runs started by this process; the newest few are kept.
  std::map<int64_t, std::shared_ptr<RunLog>> logs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace winback

#endif  // WINBACK_SERVICES_RUN_MANAGER_H_
