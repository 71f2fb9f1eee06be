#include "jobs/readout/readout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/common/number_format.h"

namespace winback {
namespace {

// Two-sided 95% normal quantile.
constexpr double kZ95 = 1.959963984540054;

struct Purchase {
  Micros at;
  int64_t amount;
  uint32_t promo_code;  // id in BookingTable::promo_codes
};

// The purchases up to as_of of the customers on any list, by customer.
absl::flat_hash_map<int64_t, std::vector<Purchase>> PurchasesOfListed(
    const std::vector<PublishedList>& lists, const BookingTable& bookings,
    Micros as_of) {
  absl::flat_hash_map<int64_t, std::vector<Purchase>> of;
  for (const PublishedList& list : lists) {
    if (list.as_of >= as_of) continue;
    for (int64_t c : list.treatment) of.try_emplace(c);
    for (int64_t c : list.holdout) of.try_emplace(c);
  }
  if (of.empty()) return of;
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (!bookings.success[i] || bookings.created_at[i] > as_of) continue;
    const auto it = of.find(bookings.customer_id[i]);
    if (it == of.end()) continue;
    it->second.push_back({bookings.created_at[i], bookings.total_amount[i],
                          bookings.promo_code[i]});
  }
  return of;
}

GroupOutcome Outcome(
    const std::vector<int64_t>& customers,
    const absl::flat_hash_map<int64_t, std::vector<Purchase>>& purchases,
    Micros from, Micros to, int64_t promo_code) {
  GroupOutcome g;
  g.customers = static_cast<int64_t>(customers.size());
  for (int64_t c : customers) {
    int64_t bought = 0;
    int64_t revenue = 0;
    bool redeemed = false;
    for (const Purchase& p : purchases.at(c)) {
      if (p.at <= from || p.at > to) continue;
      ++bought;
      revenue += p.amount;
      redeemed = redeemed || static_cast<int64_t>(p.promo_code) == promo_code;
    }
    g.purchases += bought;
    g.buyers += bought > 0;
    g.redeemers += redeemed;
    g.revenue += revenue;
    g.revenue_squares +=
        static_cast<double>(revenue) * static_cast<double>(revenue);
  }
  return g;
}

double Share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

// The sample variance of revenue per customer; n >= 2.
double RevenueVariance(const GroupOutcome& g) {
  const double n = static_cast<double>(g.customers);
  const double mean = static_cast<double>(g.revenue) / n;
  return std::max(0.0, (g.revenue_squares - n * mean * mean) / (n - 1));
}

Estimate Around(double value, double standard_error) {
  return {value, value - kZ95 * standard_error, value + kZ95 * standard_error};
}

std::string Points(double fraction) {
  return absl::StrFormat("%+.1f", 100 * fraction);
}

std::string Idr(double amount) { return WithThousands(std::llround(amount)); }

}  // namespace

absl::Status ReadoutOptions::Validate() const {
  if (window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("readout window must be positive, got ", window, " us"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CampaignReadout>> ReadOutCampaigns(
    const std::vector<PublishedList>& lists, const BookingTable& bookings,
    const ReadoutOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const absl::flat_hash_map<int64_t, std::vector<Purchase>> purchases =
      PurchasesOfListed(lists, bookings, options.as_of);
  std::vector<CampaignReadout> out;
  for (const PublishedList& list : lists) {
    if (list.as_of >= options.as_of) continue;
    CampaignReadout r;
    r.list_run_id = list.run_id;
    r.list_as_of = list.as_of;
    r.campaign = list.campaign;
    r.promo_code = list.promo_code;
    r.window = options.window;
    const Micros full_end = list.as_of + options.window;
    r.complete = full_end <= options.as_of;
    r.window_end = std::min(full_end, options.as_of);
    // An empty code is no code: id 0 of the pool is the booking without one.
    const int64_t code = list.promo_code.empty()
                             ? -1
                             : bookings.promo_codes.Find(list.promo_code);
    r.treatment =
        Outcome(list.treatment, purchases, list.as_of, r.window_end, code);
    r.holdout =
        Outcome(list.holdout, purchases, list.as_of, r.window_end, code);
    out.push_back(std::move(r));
  }
  return out;
}

ReadoutFigures Figures(const CampaignReadout& r) {
  const GroupOutcome& t = r.treatment;
  const GroupOutcome& h = r.holdout;
  ReadoutFigures f;
  f.treatment_conversion = Share(t.buyers, t.customers);
  f.holdout_conversion = Share(h.buyers, h.customers);
  f.treatment_revenue_per_customer = Share(t.revenue, t.customers);
  f.holdout_revenue_per_customer = Share(h.revenue, h.customers);
  if (t.customers > 0 && h.customers > 0) {
    const double pt = f.treatment_conversion;
    const double ph = f.holdout_conversion;
    f.conversion_uplift = Around(
        pt - ph, std::sqrt(pt * (1 - pt) / static_cast<double>(t.customers) +
                           ph * (1 - ph) / static_cast<double>(h.customers)));
  }
  if (t.customers > 1 && h.customers > 1) {
    const double nt = static_cast<double>(t.customers);
    const double se =
        std::sqrt(RevenueVariance(t) / nt +
                  RevenueVariance(h) / static_cast<double>(h.customers));
    const Estimate per_customer = Around(
        f.treatment_revenue_per_customer - f.holdout_revenue_per_customer, se);
    f.incremental_revenue = Estimate{
        per_customer.value * nt, per_customer.low * nt, per_customer.high * nt};
  }
  return f;
}

std::string FormatReadouts(const std::vector<CampaignReadout>& readouts,
                           Micros window) {
  if (readouts.empty()) return "";
  // Per campaign: the latest complete list, else the latest list.
  std::map<std::string, const CampaignReadout*> shown;
  for (const CampaignReadout& r : readouts) {
    const CampaignReadout*& s = shown[r.campaign];
    const auto key = [](const CampaignReadout* x) {
      return std::make_tuple(x->complete, x->list_as_of, x->list_run_id);
    };
    if (s == nullptr || key(&r) > key(s)) s = &r;
  }
  std::string out = absl::StrCat(
      "readout    purchases within ", FormatDuration(window),
      " of an earlier run's list, treatment vs holdout (the effect of a "
      "campaign only if its promotion went to the treatment group alone)\n");
  absl::StrAppend(
      &out, absl::StrFormat("  %-28s %8s  %-10s %5s  %17s  %17s  %-22s  %s\n",
                            "campaign", "list run", "list as of", "days",
                            "treatment bought", "holdout bought",
                            "uplift, pts (95% CI)",
                            "incremental revenue, IDR (95% CI)"));
  for (const auto& [campaign, r] : shown) {
    const ReadoutFigures f = Figures(*r);
    const auto group = [](const GroupOutcome& g, double conversion) {
      return absl::StrFormat("%d: %.1f%%", g.customers, 100 * conversion);
    };
    std::string uplift = "n/a";
    if (f.conversion_uplift.has_value()) {
      const Estimate& e = *f.conversion_uplift;
      uplift = absl::StrCat(Points(e.value), " (", Points(e.low), ", ",
                            Points(e.high), ")");
    }
    std::string revenue = "n/a";
    if (f.incremental_revenue.has_value()) {
      const Estimate& e = *f.incremental_revenue;
      revenue =
          absl::StrCat(Idr(e.value), " (", Idr(e.low), ", ", Idr(e.high), ")");
    }
    const double days = static_cast<double>(r->window_end - r->list_as_of) /
                        static_cast<double>(kMicrosPerDay);
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "  %-28s %8d  %-10s %4.1f%s  %17s  %17s  %-22s  %s\n", campaign,
            r->list_run_id, FormatTimestamp(r->list_as_of).substr(0, 10), days,
            r->complete ? " " : "*",
            group(r->treatment, f.treatment_conversion),
            group(r->holdout, f.holdout_conversion), uplift, revenue));
  }
  const size_t others = readouts.size() - shown.size();
  if (std::any_of(shown.begin(), shown.end(),
                  [](const auto& s) { return !s.second->complete; })) {
    absl::StrAppend(&out, "  * window still open: purchases so far only\n");
  }
  if (others > 0) {
    absl::StrAppend(&out, "  ", others,
                    " other list(s) of earlier runs read out too (winbackctl "
                    "readout)\n");
  }
  return out;
}

}  // namespace winback
