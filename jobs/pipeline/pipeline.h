// The nightly run: ingest -> sessionize -> label -> features -> model ->
// segment -> target -> diagnose -> readout -> publish, recorded in the
// store. The stages themselves are pure functions in their own components;
// this file sequences them, times them, reports progress, honours
// cancellation and turns any failure into a run that publishes nothing.
#ifndef WINBACK_JOBS_PIPELINE_PIPELINE_H_
#define WINBACK_JOBS_PIPELINE_PIPELINE_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/config/config.h"
#include "jobs/ingest/ingest.h"
#include "jobs/labels/labels.h"
#include "jobs/scoring/scoring.h"
#include "jobs/sessionize/sessionize.h"
#include "jobs/store/store.h"
#include "jobs/targets/targets.h"

namespace winback {

struct RunRequest {
  RunTrigger trigger = RunTrigger::kManual;
  std::string request_id;         // optional idempotency key
  std::optional<Micros> as_of;    // default: the latest event in the export
  // When set, also writes the run's intermediate tables there as CSV for
  // analysis: sessions_per_customer.csv, model_train.csv, model_holdout.csv.
  std::string export_dir;
};

// One progress report: the run entered `stage` (rows == 0) or finished it.
struct Progress {
  int64_t run_id = 0;
  std::string stage;
  int stage_index = 0;  // 0-based
  int stage_count = 0;
  bool done = false;    // false: stage started; true: stage finished
  int64_t rows = 0;     // rows produced by the stage when done
  double seconds = 0;   // stage time when done
};
using ProgressFn = std::function<void(const Progress&)>;

// The names of the stages in order, as reported in Progress and run_stages.
const std::vector<std::string>& StageNames();

struct RunResult {
  RunRecord record;          // as stored after the run
  IngestReport ingest;
  SessionizeStats sessions;
  LabelStats labels;
  std::vector<StageStat> stages;
  std::vector<std::pair<std::string, int64_t>> counts;  // as in run_counts
  ModelReportRecord model_report;
  std::vector<CampaignRecord> campaigns;
  std::vector<SegmentRecord> segments;
  std::string diagnosis;  // FormatDiagnosis text
  std::string readouts;   // FormatReadouts text; empty when none
};

// Test hooks: called with each stage name just before the stage runs (for
// example to pause or kill a run at a known point). Not for production use.
using StageHook = std::function<void(const std::string& stage)>;

// Executes one run on `store`. On success the run is published; on failure
// or cancellation (`cancel` set) it is recorded as failed/cancelled, nothing
// is published, and the error is returned (Cancelled for cancellation). A
// request_id seen before returns AlreadyExists without running.
absl::StatusOr<RunResult> RunPipeline(const Config& config, Store* store,
                                      const RunRequest& request,
                                      const ProgressFn& progress = nullptr,
                                      const std::atomic<bool>* cancel = nullptr,
                                      const StageHook& before_stage = nullptr);

// Wall-clock time now, UTC microseconds.
Micros NowMicros();

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_PIPELINE_H_
