// The business diagnosis stored with every run: per calendar month (UTC)
// revenue, buyers (new versus returning), churn rates overall and per
// segment, the session funnel, and promo usage per segment.
#ifndef WINBACK_JOBS_DIAGNOSIS_DIAGNOSIS_H_
#define WINBACK_JOBS_DIAGNOSIS_DIAGNOSIS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "jobs/common/time_util.h"
#include "jobs/tables/tables.h"

namespace winback {

// The segment reported for a customer missing from the segment map.
inline constexpr std::string_view kNoSegment = "(none)";

// A purchase is a booking with success == 1 created at or before as_of. All
// amounts are IDR.
struct MonthlyRow {
  MonthIndex month = 0;
  int64_t revenue = 0;            // sum of total_amount over purchases
  int64_t orders = 0;             // purchases
  int64_t buyers = 0;             // distinct customers with a purchase
  int64_t new_buyers = 0;         // buyers whose first purchase ever is here
  int64_t returning_buyers = 0;   // buyers - new_buyers
  int64_t new_revenue = 0;        // revenue of the new buyers (all their
                                  // purchases this month)
  int64_t returning_revenue = 0;  // revenue - new_revenue
  int64_t labeled = 0;            // churn labels of this month that are known
  int64_t censored = 0;           // churn labels of this month still unknown
  int64_t churned = 0;            // known labels with churned == 1
  double churn_rate = 0;          // churned / labeled; 0 when labeled == 0.
                                  // Biased toward churn while censored > 0
  int64_t failed_payments = 0;    // bookings with success == 0
  int64_t promo_orders = 0;       // purchases with a (non-empty) promo code
  int64_t promo_amount = 0;       // sum of promo_amount over purchases
  // The month of as_of when as_of is before its last microsecond: its figures
  // cover only the month's start through as_of, so its totals are not
  // comparable with whole months'. Only the last row can be partial.
  bool partial = false;
};

// Churn per (month, segment). The segment is the customer's CURRENT segment
// (as of the run), not the one it had in that month: segments are only
// computed as of the run, and the question the row answers is "how did the
// people who are Champions today behave before".
struct SegmentMonthRow {
  MonthIndex month = 0;
  std::string segment;
  int64_t labeled = 0;
  int64_t censored = 0;
  int64_t churned = 0;
  double churn_rate = 0;  // churned / labeled; 0 when labeled == 0
};

// Sessions by the month they started in, and how many of them contain at
// least one event of each type. successful_payment is the number of
// purchases created in the month (it equals MonthlyRow::orders).
struct FunnelRow {
  MonthIndex month = 0;
  int64_t sessions = 0;
  int64_t homepage = 0;
  int64_t search = 0;
  int64_t item_detail = 0;
  int64_t add_to_cart = 0;
  int64_t add_promo = 0;
  int64_t booking = 0;
  int64_t successful_payment = 0;

  // Adds the other row's counts (not its month).
  FunnelRow& operator+=(const FunnelRow& other) {
    sessions += other.sessions;
    homepage += other.homepage;
    search += other.search;
    item_detail += other.item_detail;
    add_to_cart += other.add_to_cart;
    add_promo += other.add_promo;
    booking += other.booking;
    successful_payment += other.successful_payment;
    return *this;
  }
};

// Promo usage over all purchases up to as_of, by the buyer's current
// segment.
struct PromoRow {
  std::string segment;
  int64_t orders = 0;
  int64_t promo_orders = 0;
  double promo_share = 0;  // promo_orders / orders
  int64_t promo_amount = 0;
};

struct Diagnosis {
  Micros as_of = 0;
  // One row per month, contiguous, from the earliest month with a booking,
  // session or label up to the month of as_of (months without purchases
  // get zero rows). When as_of is the first microsecond of its month, that
  // month has no row unless a booking was created or a session started at
  // that instant. Empty when there is no data at all.
  std::vector<MonthlyRow> months;
  // Ordered by (month, segment); only pairs with at least one label.
  std::vector<SegmentMonthRow> segment_months;
  // Same months as `months`.
  std::vector<FunnelRow> funnel;
  // Ordered by segment; only segments with at least one purchase.
  std::vector<PromoRow> promo_by_segment;
};

// Computes the diagnosis from the run's tables. Bookings created and sessions
// started after as_of, and labels of months after the last month row (see
// Diagnosis::months), are ignored.
// `segment_of` maps customer_id to its current segment name (kNoSegment when
// missing). Fails with InvalidArgument when a table's columns differ in
// length. Runs on up to `threads` threads (0 = the hardware concurrency); the
// result does not depend on the thread count.
absl::StatusOr<Diagnosis> Diagnose(
    const BookingTable& bookings, const SessionTable& sessions,
    const LabelTable& labels,
    const absl::flat_hash_map<int64_t, std::string>& segment_of, Micros as_of,
    int threads = 1);

// A short human-readable report: one line per month for the last
// `last_months` months (all when <= 0) with revenue, orders, buyers, new vs
// returning buyers and churn rate ("n/a: N open" for a month with N censored
// labels, whose known labels lean toward churn); a partial month (see
// MonthlyRow::partial) is marked "*". Then the revenue peak among the complete
// months and how the latest complete month compares with it and with the
// month before, and, when the last month is partial, its revenue so far and
// its daily rate so far carried over the whole month (revenue / days covered
// x days in the month), compared with the month before and the peak, e.g.
//   revenue peaked 2022-05 (IDR 295,398,388); the latest complete month,
//   2022-06, is -5.0% vs peak, -5.0% vs 2022-05
//   2022-07 so far: IDR 248,134,668 in 30.7 of 31 days; at that daily rate the
//   full month would be IDR 250,502,109: -10.7% vs 2022-06, -15.2% vs peak
// A partial month is never the peak. Under a day into the month there is no
// daily rate; days covered are rounded down to a tenth.
std::string FormatDiagnosis(const Diagnosis& diagnosis, int last_months = 6);

}  // namespace winback

#endif  // WINBACK_JOBS_DIAGNOSIS_DIAGNOSIS_H_
