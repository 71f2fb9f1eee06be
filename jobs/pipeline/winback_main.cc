// `winback`: the one-shot command. `winback run --config FILE [--as-of T]`
// runs the nightly pipeline once and prints a summary.
//
// Exit codes: 0 the run succeeded; 1 it failed, or the store could not be
// opened or locked; 2 a usage error, a configuration that does not load or a
// bad --as-of or --request-id, before anything is written.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "jobs/common/command_line.h"
#include "jobs/common/huge_pages.h"
#include "jobs/common/resource_usage.h"
#include "jobs/config/config.h"
#include "jobs/pipeline/pipeline.h"
#include "jobs/pipeline/run_lock.h"
#include "jobs/pipeline/summary.h"
#include "jobs/store/store.h"

namespace winback {
namespace {

int RunOnce(const std::string& config_path, const std::string& as_of_text,
            const std::string& request_id, const std::string& export_dir) {
  absl::StatusOr<Config> config = LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "winback: " << config.status().message() << "\n";
    return 2;
  }
  RunRequest request;
  request.trigger = RunTrigger::kManual;
  if (absl::Status id = ValidateRequestId(request_id); !id.ok()) {
    std::cerr << "winback: --request-id: " << id.message() << "\n";
    return 2;
  }
  request.request_id = request_id;
  request.export_dir = export_dir;
  if (!as_of_text.empty()) {
    const std::optional<Micros> t = ParseTimestamp(as_of_text);
    if (!t) {
      std::cerr << "winback: --as-of: expected a UTC timestamp such as "
                   "2022-07-31T23:59:59Z, got '"
                << as_of_text << "'\n";
      return 2;
    }
    request.as_of = *t;
  }
  // Hold the run lock for the whole run; runs still marked running without
  // a holder were interrupted (their process died) and are marked failed.
  absl::StatusOr<std::unique_ptr<RunLock>> lock =
      RunLock::Acquire(config->store.path);
  if (!lock.ok()) {
    std::cerr << "winback: " << lock.status().message() << "\n";
    return 1;
  }
  StoreOptions store_options;
  store_options.keep_runs = config->store.keep_runs;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(config->store.path, store_options);
  if (!store.ok()) {
    std::cerr << "winback: " << store.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<int> interrupted = (*store)->FailInterruptedRuns(NowMicros());
  if (!interrupted.ok()) {
    std::cerr << "winback: " << interrupted.status().message() << "\n";
    return 1;
  }
  if (*interrupted > 0) {
    spdlog::warn("marked {} interrupted run(s) failed", *interrupted);
  }
  int64_t run_id = 0;
  auto progress = [&run_id](const Progress& p) {
    run_id = p.run_id;
    if (p.done) {
      spdlog::info("run {} stage {} done: {} rows in {:.3f} s", p.run_id,
                   p.stage, p.rows, p.seconds);
    } else {
      spdlog::info("run {} stage {} ({}/{}) started", p.run_id, p.stage,
                   p.stage_index + 1, p.stage_count);
    }
  };
  absl::StatusOr<RunResult> result =
      RunPipeline(*config, store->get(), request, progress);
  // What this process used for the run (runs.cpu_seconds, peak_rss_bytes).
  rusage usage{};
  if (run_id > 0 && ::getrusage(RUSAGE_SELF, &usage) == 0) {
    const double cpu_seconds = CpuSeconds(usage);
    const int64_t peak_rss_bytes = PeakRssBytes(usage);
    const absl::Status recorded =
        (*store)->SetRunUsage(run_id, cpu_seconds, peak_rss_bytes);
    if (!recorded.ok()) {
      spdlog::warn("run {}: usage not recorded: {}", run_id,
                   std::string(recorded.message()));
    } else if (result.ok()) {
      result->record.cpu_seconds = cpu_seconds;
      result->record.peak_rss_bytes = peak_rss_bytes;
    }
  }
  if (!result.ok()) {
    std::cerr << "winback: run failed: " << result.status().message() << "\n";
    return 1;
  }
  // A backfill, or an export older than the served run's, publishes lists
  // that are not served by default: say so.
  absl::StatusOr<std::optional<RunRecord>> served =
      (*store)->LatestPublishedRun();
  if (!served.ok()) {
    spdlog::warn("run {}: the served run is unknown: {}", run_id,
                 std::string(served.status().message()));
  }
  std::cout << FormatRunSummary(*result, served.value_or(std::nullopt))
            << std::flush;
  return 0;
}

}  // namespace
}  // namespace winback

int main(int argc, char** argv) {
  // First of all, as it may start the program again: malloc with
  // transparent huge pages, which at full size makes features about 30% and
  // sessionize about 15% faster (jobs/common/huge_pages.h, README).
  winback::RestartWithHugePageMalloc(argv);
  // A crash (SIGSEGV, SIGABRT, ...) writes the signal and a symbolized stack
  // trace to stderr before the process dies, for whoever is on call. First,
  // before anything maps an input file: ingest's SIGBUS handler then keeps
  // this one for the bus errors it does not repair.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  CLI::App app{"Winback: churn labels, scores and promotion target lists"};
  app.require_subcommand(1);
  std::string config_path, as_of, request_id, export_dir;
  CLI::App* run = app.add_subcommand("run", "Run the nightly pipeline once");
  run->add_option("-c,--config", config_path, "YAML configuration file")
      ->required();
  run->add_option("--as-of", as_of,
                  "As-of time T (UTC, e.g. 2022-07-31T23:59:59Z); default: "
                  "the latest event in the export");
  run->add_option("--request-id", request_id,
                  "Idempotency key: a second run with the same key is refused");
  run->add_option("--export-dir", export_dir,
                  "Also write intermediate tables (sessions per customer, the "
                  "model's training and holdout inputs) there as CSV")
      ->check(CLI::ExistingDirectory);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "Log warnings and errors only");
  if (std::optional<int> code = winback::ParseCommandLine(app, argc, argv)) {
    return *code;
  }
  spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  if (run->parsed()) return winback::RunOnce(config_path, as_of, request_id, export_dir);
  return 2;
}
