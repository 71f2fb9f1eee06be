// Picks the published run a read refers to.
#ifndef WINBACK_SERVICES_RESOLVE_H_
#define WINBACK_SERVICES_RESOLVE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "jobs/store/store.h"

namespace winback {

// run_id 0: the run served by default (Store::LatestPublishedRun: the latest
// as-of time), FailedPrecondition when none is published.
// Otherwise that run: NotFound when unknown or not published. InvalidArgument
// for a negative run_id. `as_of`, when given, receives the run's as-of time
// (read with the run, so no second lookup is needed).
absl::StatusOr<int64_t> ResolvePublishedRun(Store* store, int64_t run_id,
                                            Micros* as_of = nullptr);

}  // namespace winback

#endif  // WINBACK_SERVICES_RESOLVE_H_
