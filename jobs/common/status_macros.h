// Error propagation helpers for absl::Status / absl::StatusOr at module
// boundaries, in the style of Arrow's RETURN_NOT_OK.
#ifndef WINBACK_JOBS_COMMON_STATUS_MACROS_H_
#define WINBACK_JOBS_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WB_CONCAT_INNER_(a, b) a##b
#define WB_CONCAT_(a, b) WB_CONCAT_INNER_(a, b)

// Returns from the enclosing function with the status of `expr` when it is
// not OK.
#define WB_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    const ::absl::Status wb_status_ = (expr);     \
    if (!wb_status_.ok()) return wb_status_;      \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define WB_ASSIGN_OR_RETURN(lhs, rexpr) \
  WB_ASSIGN_OR_RETURN_IMPL_(WB_CONCAT_(wb_statusor_, __LINE__), lhs, rexpr)

#define WB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

#endif  // WINBACK_JOBS_COMMON_STATUS_MACROS_H_
