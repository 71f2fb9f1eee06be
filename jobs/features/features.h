// Stage 4a: point-in-time customer features.
//
// A feature row describes one customer as of one instant tau using only what
// was known at tau: purchases created at or before tau, and sessions that
// started at or before tau AND whose link to the customer (the booking of
// their session_id) existed at tau. The second condition matters: a session's
// customer is only known through the booking at the end of its session_id, so
// counting a session before its booking exists would leak the future
// purchase into the features.
#ifndef WINBACK_JOBS_FEATURES_FEATURES_H_
#define WINBACK_JOBS_FEATURES_FEATURES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/tables/tables.h"

namespace winback {

// Feature columns, in order. Units are in the names (days, minutes, IDR).
enum Feature : int {
  kRecencyDays = 0,        // days since the last purchase
  kFrequency,              // purchases so far
  kMonetary,               // IDR spent so far (sum of total_amount)
  kTenureDays,             // days since first_join_date
  kAvgBasket,              // monetary / frequency
  kPromoShare,             // share of purchases with a promo code
  kPurchases90d,           // purchases in the last 90 days
  kSessionsPerMonth,       // sessions started in the last 90 days / 3
  kAvgSessionMinutes,      // mean duration of those sessions
  kBookingSessionShare,    // share of those sessions ending in BOOKING
  kCartAbandonShare,       // share of those sessions ending in ADD_TO_CART
  kDaysSinceLastSession,   // days since the last known session started
  kSessionTrend,           // (s30 - s_prev30) / (s30 + s_prev30 + 1)
  kIsIos,                  // 1 for iOS devices
  kIsFemale,               // 1 for gender F
  kAgeYears,               // age in years at tau (unknown birthdate: 0)
  kAvgMonthlySpend12m,     // IDR per month with a purchase, last 365 days
  kFeatureCount
};

// snake_case names of the columns, e.g. "recency_days".
const std::array<std::string, kFeatureCount>& FeatureNames();

struct FeatureOptions {
  Micros lookback = 90 * kMicrosPerDay;      // session and purchase window
  Micros trend_window = 30 * kMicrosPerDay;  // for kSessionTrend
  Micros spend_window = 365 * kMicrosPerDay; // for kAvgMonthlySpend12m

  absl::Status Validate() const;
};

// Each customer's purchases and linked sessions, sorted by time, in CSR
// layout indexed by CustomerTable row. Built once per run.
struct CustomerHistory {
  // Purchases (successful bookings) of row r: [purchase_begin[r],
  // purchase_begin[r + 1]), sorted by time.
  std::vector<uint32_t> purchase_begin;
  std::vector<Micros> purchase_time;
  std::vector<int64_t> purchase_amount;
  std::vector<uint8_t> purchase_promo;
  std::vector<MonthIndex> purchase_month;  // MonthOf(purchase_time), cached
  // Sessions of row r, sorted by start: [session_begin[r], session_begin[r+1]).
  std::vector<uint32_t> session_begin;
  std::vector<Micros> session_start;
  std::vector<Micros> session_minutes_x1000;  // duration in milli-minutes
  std::vector<Micros> session_linked_at;      // when the booking appeared
  std::vector<EventType> session_last_event;
  // Per row, the session link times sorted ascending (for "known by tau").
  std::vector<Micros> linked_sorted;
  // The sessions of row r that ran past a month's end (the month end cuts
  // of SessionTable): [cut_begin[r], cut_begin[r + 1]), sorted by tau.
  // Features as of that tau count such a session as it was then: the deltas
  // turn its whole duration and last event into those at tau.
  struct SessionCut {
    Micros tau;
    Micros start;
    Micros linked_at;
    Micros minutes_x1000_delta;
    int8_t booking_delta;  // last event BOOKING at tau, minus at its end
    int8_t abandon_delta;  // the same for ADD_TO_CART
  };
  std::vector<uint32_t> cut_begin;
  std::vector<SessionCut> cuts;

  int64_t orphan_purchases = 0;  // purchases by customers not in customer.csv
  int64_t orphan_sessions = 0;

  size_t customers() const { return purchase_begin.empty() ? 0 : purchase_begin.size() - 1; }
};

// Gathers each customer's history from the run's tables. Purchases and links
// after `as_of` are left out. The result does not depend on `threads`.
CustomerHistory BuildHistory(const CustomerTable& customers,
                             const BookingTable& bookings,
                             const SessionTable& sessions, Micros as_of,
                             int threads = 1);

// One requested feature row: customer (CustomerTable row) as of `tau`.
struct FeatureRequest {
  uint32_t customer_row;
  Micros tau;
};

// Feature rows, parallel to the requests that produced them.
struct FeatureTable {
  std::vector<uint32_t> customer_row;
  std::vector<Micros> tau;
  std::vector<std::array<double, kFeatureCount>> values;

  size_t size() const { return customer_row.size(); }
};

// Computes the features of every request. Requests must be sorted by
// (customer_row, tau); each customer's history is swept once, forward, with
// windows maintained incrementally. InvalidArgument when unsorted.
// A row as of tau sees no event after tau when tau is a month's last
// microsecond (a session running past it counts as it was then, through the
// history's cuts) or at or after the end of every session (the as-of time of
// a run, whose sessions end by it); at any other tau a session running past
// it counts whole.
absl::StatusOr<FeatureTable> ComputeFeatures(
    const CustomerTable& customers, const CustomerHistory& history,
    const std::vector<FeatureRequest>& requests, const FeatureOptions& options);

}  // namespace winback

#endif  // WINBACK_JOBS_FEATURES_FEATURES_H_
