// An advisory lock beside the database (`<db>.lock`, flock) held by whoever
// runs pipelines on it: the one-shot command for the length of its run, the
// daemon for its lifetime. The lock dies with its process, so a holder that
// finds runs still marked running knows their process is gone and may mark
// them failed.
#ifndef WINBACK_JOBS_PIPELINE_RUN_LOCK_H_
#define WINBACK_JOBS_PIPELINE_RUN_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace winback {

class RunLock {
 public:
  // Takes the lock for `db_path` without waiting. Aborted, naming the holder's
  // pid, when another process holds it.
  static absl::StatusOr<std::unique_ptr<RunLock>> Acquire(const std::string& db_path);

  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();  // releases the lock

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace winback

#endif  // WINBACK_JOBS_PIPELINE_RUN_LOCK_H_
