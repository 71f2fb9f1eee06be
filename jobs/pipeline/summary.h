// Human-readable text for a finished run, printed by the one-shot command.
#ifndef WINBACK_JOBS_PIPELINE_SUMMARY_H_
#define WINBACK_JOBS_PIPELINE_SUMMARY_H_

#include <optional>
#include <string>

#include "jobs/pipeline/pipeline.h"

namespace winback {

// A short multi-line summary: rows and rejects per file, sessions, labels and
// the time per stage. `served`, when given and not this run, is the run whose
// lists are served by default instead (it has a later as-of time).
std::string FormatRunSummary(const RunResult& result,
                             const std::optional<RunRecord>& served = {});

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_SUMMARY_H_
