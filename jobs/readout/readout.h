// Campaign readout: how the target lists of earlier runs did. Each list
// splits its customers into a treatment group (to be sent the promotion) and
// a stable holdout group (not contacted); the readout compares what the two
// groups bought in a window after the list's as-of time. The difference is
// the campaign's effect only if marketing sent the promotion to the
// treatment group and not to the holdout, which Winback cannot see.
#ifndef WINBACK_JOBS_READOUT_READOUT_H_
#define WINBACK_JOBS_READOUT_READOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobs/common/time_util.h"
#include "jobs/tables/tables.h"

namespace winback {

// One campaign list of an earlier published run: who was on it, by group.
struct PublishedList {
  int64_t run_id = 0;
  Micros as_of = 0;  // the run's as-of time: the list's start
  std::string campaign;
  std::string promo_code;          // the campaign's code ("" when none)
  std::vector<int64_t> treatment;  // customer ids
  std::vector<int64_t> holdout;    // customer ids
};

struct ReadoutOptions {
  // Purchases in (list as_of, list as_of + window] count. > 0.
  Micros window = 25 * kMicrosPerDay;
  // The measuring run's as-of time: no purchase after it is known, and lists
  // of this time or later have nothing to read out yet.
  Micros as_of = 0;

  absl::Status Validate() const;
};

// What one group of a list bought in the window. A purchase is a booking
// with success == 1; amounts are IDR total_amount.
struct GroupOutcome {
  int64_t customers = 0;  // in the group
  int64_t buyers = 0;     // with at least one purchase
  // With a purchase that used the campaign's promo code (0 when it has none).
  int64_t redeemers = 0;
  int64_t purchases = 0;
  int64_t revenue = 0;
  // Sum over the group's customers of the square of each one's revenue: with
  // `revenue` and `customers` it gives the variance of revenue per customer.
  double revenue_squares = 0;

  bool operator==(const GroupOutcome&) const = default;
};

struct CampaignReadout {
  int64_t list_run_id = 0;
  Micros list_as_of = 0;
  std::string campaign;
  std::string promo_code;
  Micros window = 0;  // ReadoutOptions::window
  // min(list_as_of + window, as_of): purchases up to here are counted.
  Micros window_end = 0;
  bool complete =
      false;  // the whole window is known (list_as_of + window <= as_of)
  GroupOutcome treatment;
  GroupOutcome holdout;
};

// Reads out every list whose as_of is before options.as_of, in the order
// given. InvalidArgument for bad options.
absl::StatusOr<std::vector<CampaignReadout>> ReadOutCampaigns(
    const std::vector<PublishedList>& lists, const BookingTable& bookings,
    const ReadoutOptions& options);

// A difference between the groups with its 95% confidence interval (normal
// approximation).
struct Estimate {
  double value = 0;
  double low = 0;
  double high = 0;
};

// What a readout says, derived from its counts.
struct ReadoutFigures {
  double treatment_conversion = 0;  // buyers / customers; 0 for no customers
  double holdout_conversion = 0;
  double treatment_revenue_per_customer = 0;  // IDR
  double holdout_revenue_per_customer = 0;
  // Treatment minus holdout conversion, as a fraction (0.02 = 2 points).
  // Unset unless both groups have a customer.
  std::optional<Estimate> conversion_uplift;
  // (treatment - holdout revenue per customer) x treatment customers: the
  // revenue the treatment group brought beyond what it would have without
  // the campaign, IDR. Unset unless both groups have two customers.
  std::optional<Estimate> incremental_revenue;
};
ReadoutFigures Figures(const CampaignReadout& readout);

// A few lines for the run summary: the latest complete readout of each
// campaign (or, when none is complete yet, the latest one), with how many
// other lists were read out. Empty when `readouts` is.
std::string FormatReadouts(const std::vector<CampaignReadout>& readouts,
                           Micros window);

}  // namespace winback

#endif  // WINBACK_JOBS_READOUT_READOUT_H_
