// The daemon's pipeline runs in a child process, so that a run that runs out
// of memory or crashes takes down that run and not the API: the daemon marks
// the run failed, names the signal, and keeps serving the previous lists.
// The memory a run used goes back to the system when the child exits.
//
// The child is winbackd itself (/proc/self/exe, the same build as the
// daemon) started with --pipeline-child. It reads one request on stdin (the
// daemon's effective configuration as JSON, the trigger, request_id, as-of
// time), runs RunPipeline on its own connection to the database, and writes
// one JSON object per line to fd 3: {"progress": {...}} for each stage it
// enters and leaves, then {"result": {"code": N, "message": "..."}}. SIGTERM
// asks it to cancel. It dies with the daemon's pipeline thread
// (PR_SET_PDEATHSIG), so a run never outlives the daemon that owns it.
#ifndef WINBACK_SERVICES_PIPELINE_PROCESS_H_
#define WINBACK_SERVICES_PIPELINE_PROCESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "jobs/config/config.h"
#include "services/run_manager.h"

namespace winback {

// What one run's process used, from wait4 once it has exited.
struct ProcessUsage {
  int pid = 0;
  int64_t run_id = 0;      // 0 when it never began a run
  double cpu_seconds = 0;  // user + system
  int64_t peak_rss_bytes = 0;
};

struct PipelineProcessOptions {
  // The program and its arguments. Default: this program with
  // --pipeline-child. Tests substitute a script that speaks the protocol.
  std::string executable = "/proc/self/exe";
  std::vector<std::string> args = {"winbackd", "--pipeline-child"};
  // Test hook passed to the child: each stage start waits this long
  // (cancellable).
  absl::Duration stage_delay = absl::ZeroDuration();
  // How long a cancelled child gets to stop by itself before SIGKILL: less
  // than the unit's TimeoutStopSec (30 s), so that on SIGTERM the daemon
  // still records the run before systemd kills what is left.
  absl::Duration stop_grace = absl::Seconds(20);
  // Called with the child's pid once it is started (tests, logs).
  std::function<void(int pid)> on_start;
  // Called once the child has exited, before the run's terminal event
  // (metrics).
  std::function<void(const ProcessUsage&)> on_exit;
};

// A PipelineFn for RunManager that runs each run in a child process. The
// store is the daemon's writer connection: it is used only to mark a run
// failed (or cancelled) when the child died before recording how it ended.
PipelineFn ProcessPipeline(const Config& config,
                           PipelineProcessOptions options = {});

// The child's side: winbackd --pipeline-child. Reads the request on stdin,
// runs it and reports on fd 3. Returns the process's exit code.
int PipelineChildMain();

namespace pipeline_process_internal {

// One line of the protocol, without its newline.
std::string ProgressLine(const Progress& progress);
std::string ResultLine(const absl::Status& status);

// What a line said: a progress event, the result, or an error that names
// what is wrong with the line.
struct ChildLine {
  std::optional<Progress> progress;
  std::optional<absl::Status> result;
};
absl::StatusOr<ChildLine> ParseChildLine(std::string_view line);

}  // namespace pipeline_process_internal

}  // namespace winback

#endif  // WINBACK_SERVICES_PIPELINE_PROCESS_H_
