#include "services/resolve.h"

#include "absl/strings/str_cat.h"

namespace winback {

absl::StatusOr<int64_t> ResolvePublishedRun(Store* store, int64_t run_id,
                                            Micros* as_of) {
  if (run_id < 0) {
    return absl::InvalidArgumentError("run_id: must be 0 (latest) or a run id");
  }
  if (run_id == 0) {
    absl::StatusOr<std::optional<RunRecord>> latest =
        store->LatestPublishedRun();
    if (!latest.ok()) return latest.status();
    if (!latest->has_value()) {
      return absl::FailedPreconditionError(
          "nothing is published yet: no run has succeeded");
    }
    if (as_of != nullptr) *as_of = (*latest)->as_of;
    return (*latest)->run_id;
  }
  absl::StatusOr<RunRecord> run = store->GetRun(run_id);
  if (!run.ok()) return run.status();
  if (!run->published) {
    return absl::NotFoundError(absl::StrCat(
        "run ", run_id, " is not published (state ", std::string(RunStateName(run->state)),
        ")"));
  }
  if (as_of != nullptr) *as_of = run->as_of;
  return run_id;
}

}  // namespace winback
