// A process's CPU time and peak memory from a struct rusage (getrusage,
// wait4), as runs.cpu_seconds and runs.peak_rss_bytes record them.
#ifndef WINBACK_JOBS_COMMON_RESOURCE_USAGE_H_
#define WINBACK_JOBS_COMMON_RESOURCE_USAGE_H_

#include <sys/resource.h>

#include <cstdint>

namespace winback {

// User plus system CPU time, in seconds.
inline double CpuSeconds(const rusage& usage) {
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// This process's CPU time so far (all its threads), in seconds; 0 if the
// kernel does not say. Deltas of it time a stage of a pipeline process.
inline double ProcessCpuSeconds() {
  rusage usage{};
  return ::getrusage(RUSAGE_SELF, &usage) == 0 ? CpuSeconds(usage) : 0.0;
}

// Peak resident memory in bytes (Linux reports ru_maxrss in KiB).
inline int64_t PeakRssBytes(const rusage& usage) {
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_RESOURCE_USAGE_H_
