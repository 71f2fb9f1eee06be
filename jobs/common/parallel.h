// A minimal parallel-for over task indices, shared by the stages that split
// their work over a few threads.
#ifndef WINBACK_JOBS_COMMON_PARALLEL_H_
#define WINBACK_JOBS_COMMON_PARALLEL_H_

#include <cstddef>
#include <functional>

namespace winback {

// Number of worker threads to use for `requested` (0 = the hardware
// concurrency, at least 1).
int ResolveThreads(int requested);

// Calls fn(i) once for every i in [0, n) on up to `threads` threads (0 = the
// hardware concurrency) and returns when all calls have finished. Tasks are
// handed out in increasing index order; the calling thread is one of the
// workers. `fn` must be safe to call
// concurrently for different i; results are independent of the thread count
// as long as fn(i) only writes state owned by task i.
void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn);

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_PARALLEL_H_
