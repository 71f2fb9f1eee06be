// Stage 3: the analysts' monthly churn label.
#ifndef WINBACK_JOBS_LABELS_LABELS_H_
#define WINBACK_JOBS_LABELS_LABELS_H_

#include <cstdint>
#include <limits>

#include "absl/status/statusor.h"
#include "jobs/tables/tables.h"

namespace winback {

struct LabelOptions {
  Micros window = 25 * kMicrosPerDay;
  // The as-of time T: purchases after T are ignored, and a label whose window
  // ends after T is censored.
  Micros as_of = std::numeric_limits<Micros>::max();

  absl::Status Validate() const;
};

struct LabelStats {
  int64_t purchases = 0;   // successful bookings at or before as_of
  int64_t customers = 0;   // with at least one purchase
  int64_t labeled = 0;     // customer-months with a known label
  int64_t censored = 0;
  int64_t churned = 0;
};

// For each customer and each calendar month M (UTC) with a purchase
// (a booking with success == 1), with t the customer's last purchase in M:
// churned = 1 when there is no purchase in (t, t + window], else 0; censored
// = 1 when t + window > as_of (churned is then 0). Rows are ordered by
// (customer_id, month).
absl::StatusOr<LabelTable> LabelChurn(const BookingTable& bookings,
                                      const LabelOptions& options,
                                      LabelStats* stats = nullptr);

// The successful bookings at or before `as_of`, as (customer_id, time) pairs
// sorted by customer then time. Shared by labels and features.
std::vector<std::pair<int64_t, Micros>> SortedPurchases(
    const BookingTable& bookings, Micros as_of);

}  // namespace winback

#endif  // WINBACK_JOBS_LABELS_LABELS_H_
