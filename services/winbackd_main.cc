// winbackd: the Winback daemon. Flags, config, logging, then RunDaemon.
#include <cstdio>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/synchronization/mutex.h"
#include "jobs/common/command_line.h"
#include "jobs/config/config.h"
#include "services/daemon.h"
#include "services/pipeline_process.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace {

// key=value lines on stderr, as the journal and the tests read them.
void LogToStderr(const char* name) {
  spdlog::set_default_logger(spdlog::stderr_logger_mt(name));
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v",
                      spdlog::pattern_time_type::utc);
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  // A crash (SIGSEGV, SIGABRT, ...) writes the signal and a symbolized stack
  // trace to stderr before the process dies, for whoever is on call. First,
  // before anything maps an input file: ingest's SIGBUS handler then keeps
  // this one for the bus errors it does not repair.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  // The daemon runs each pipeline run as `winbackd --pipeline-child`; see
  // services/pipeline_process.h.
  if (argc == 2 && std::string_view(argv[1]) == "--pipeline-child") {
    LogToStderr("winbackd-pipeline");
    return winback::PipelineChildMain();
  }
  CLI::App app{"winbackd: serves Winback's gRPC API and runs the nightly "
               "pipeline on its schedule"};
  std::string config_path;
  std::string log_level = "info";
  winback::DaemonOptions options;
  int stage_delay_ms = 0;
  int grace_s = 10;
  app.add_option("--config", config_path, "YAML configuration file")
      ->required();
  app.add_option("--port-file", options.port_file,
                 "write the bound gRPC and metrics ports to this file");
  app.add_option("--shutdown-grace", grace_s,
                 "seconds in-flight RPCs get at shutdown")
      ->check(CLI::NonNegativeNumber);
  // Checked here: spdlog reads a level name it does not know as "off", so a
  // typo would silence the log.
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember(
          {"trace", "debug", "info", "warn", "warning", "error", "critical"}));
  app.add_option("--debug-stage-delay-ms", stage_delay_ms,
                 "testing only: pause at the start of every stage")
      ->group("");
  if (std::optional<int> code = winback::ParseCommandLine(app, argc, argv)) {
    return *code;
  }

  // Debian's Abseil is built with absl::Mutex deadlock detection on, which
  // keeps a lock graph on every lock and unlock of every mutex, gRPC's
  // included; profiles of the read API show it (a few percent of the CPU of
  // a stream). It is a debugging aid: off in the daemon, on in the tests.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  LogToStderr("winbackd");
  spdlog::set_level(spdlog::level::from_str(log_level));

  absl::StatusOr<winback::Config> config =
      winback::LoadConfigFile(config_path);
  if (!config.ok()) {
    spdlog::error("event=config_invalid error=\"{}\"",
                  std::string(config.status().message()));
    return 2;
  }
  options.stage_delay = absl::Milliseconds(stage_delay_ms);
  options.shutdown_grace = absl::Seconds(grace_s);
  const absl::Status status = winback::RunDaemon(*config, options);
  if (!status.ok()) {
    spdlog::error("event=fatal error=\"{}\"", status.ToString());
    return 1;
  }
  return 0;
}
