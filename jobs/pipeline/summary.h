// Human-readable text for a finished run, printed by the one-shot command.
#ifndef WINBACK_JOBS_PIPELINE_SUMMARY_H_
#define WINBACK_JOBS_PIPELINE_SUMMARY_H_

#include <string>

#include "jobs/pipeline/pipeline.h"

namespace winback {

// A short multi-line summary: rows and rejects per file, sessions, labels and
// the time per stage.
std::string FormatRunSummary(const RunResult& result);

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_SUMMARY_H_
