#include "jobs/labels/labels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace winback {

absl::Status LabelOptions::Validate() const {
  if (window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("churn window must be positive, got ", window, "us"));
  }
  return absl::OkStatus();
}

std::vector<std::pair<int64_t, Micros>> SortedPurchases(
    const BookingTable& bookings, Micros as_of) {
  std::vector<std::pair<int64_t, Micros>> purchases;
  purchases.reserve(bookings.size());
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (bookings.success[i] && bookings.created_at[i] <= as_of) {
      purchases.emplace_back(bookings.customer_id[i], bookings.created_at[i]);
    }
  }
  std::sort(purchases.begin(), purchases.end());
  return purchases;
}

absl::StatusOr<LabelTable> LabelChurn(const BookingTable& bookings,
                                      const LabelOptions& options,
                                      LabelStats* stats) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  LabelStats local;
  stats = stats != nullptr ? stats : &local;
  *stats = LabelStats{};

  const auto purchases = SortedPurchases(bookings, options.as_of);
  stats->purchases = static_cast<int64_t>(purchases.size());

  LabelTable out;
  const size_t n = purchases.size();
  for (size_t i = 0; i < n; ++i) {
    const auto [customer, t] = purchases[i];
    if (i == 0 || purchases[i - 1].first != customer) ++stats->customers;
    const bool same_customer_next = i + 1 < n && purchases[i + 1].first == customer;
    const MonthIndex month = MonthOf(t);
    // Only the last purchase of a (customer, month) group makes a label.
    if (same_customer_next && MonthOf(purchases[i + 1].second) == month) {
      continue;
    }
    // Later purchases are in later months, so strictly after t.
    const bool repurchased =
        same_customer_next && purchases[i + 1].second - t <= options.window;
    const bool censored = t > options.as_of - options.window;
    out.customer_id.push_back(customer);
    out.month.push_back(month);
    out.last_purchase_at.push_back(t);
    out.censored.push_back(censored ? 1 : 0);
    out.churned.push_back(!censored && !repurchased ? 1 : 0);
    if (censored) {
      ++stats->censored;
    } else {
      ++stats->labeled;
      stats->churned += !repurchased;
    }
  }
  return out;
}

}  // namespace winback
