#include "jobs/diagnosis/diagnosis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jobs/common/number_format.h"
#include "jobs/common/parallel.h"

namespace winback {
namespace {

absl::Status CheckColumns(const BookingTable& b, const SessionTable& s,
                          const LabelTable& l) {
  const size_t nb = b.size();
  if (b.customer_id.size() != nb || b.success.size() != nb ||
      b.total_amount.size() != nb || b.promo_amount.size() != nb ||
      b.promo_code.size() != nb) {
    return absl::InvalidArgumentError("booking table columns differ in length");
  }
  const size_t ns = s.size();
  if (s.start.size() != ns || s.event_types.size() != ns) {
    return absl::InvalidArgumentError("session table columns differ in length");
  }
  const size_t nl = l.size();
  if (l.month.size() != nl || l.churned.size() != nl ||
      l.censored.size() != nl) {
    return absl::InvalidArgumentError("label table columns differ in length");
  }
  return absl::OkStatus();
}

double Rate(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

std::string Percent(double fraction) {
  return absl::StrFormat("%+.1f%%", 100 * fraction);
}

// The change from `base` to `value` as a signed percentage; base > 0.
std::string Change(double value, int64_t base) {
  return Percent(value / static_cast<double>(base) - 1);
}
std::string Change(int64_t value, int64_t base) {
  return Change(static_cast<double>(value), base);
}

// Days in month m.
double DaysIn(MonthIndex m) {
  return static_cast<double>(MonthStart(m + 1) - MonthStart(m)) /
         static_cast<double>(kMicrosPerDay);
}

// Days from the start of month m through `through`, its microsecond included.
double DaysCovered(MonthIndex m, Micros through) {
  return static_cast<double>(through + 1 - MonthStart(m)) /
         static_cast<double>(kMicrosPerDay);
}

// 30.97 -> "30.9": rounded down, so a partial month never reads as whole.
std::string TenthsDown(double days) {
  return absl::StrFormat("%.1f", std::floor(days * 10) / 10);
}

// Monthly revenue, orders, failed payments, buyers (new and returning),
// successful payments in the funnel, and promo use by segment, from the
// bookings created up to as_of. `segment` maps a customer id to its index in
// `promo`.
template <typename SegmentOf>
void TallyBookings(const BookingTable& bookings, Micros as_of, MonthIndex first,
                   const SegmentOf& segment, Diagnosis* d,
                   std::vector<PromoRow>* promo) {
  auto slot = [&](MonthIndex m) { return static_cast<size_t>(m - first); };
  // Successful bookings as (customer, month, ...), sorted so that each
  // customer's first month comes first.
  struct Purchase {
    int64_t customer;
    MonthIndex month;
    bool has_promo;
    int64_t amount;
    int64_t promo_amount;
  };
  std::vector<Purchase> purchases;
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (bookings.created_at[i] > as_of) continue;
    const MonthIndex m = MonthOf(bookings.created_at[i]);
    MonthlyRow& row = d->months[slot(m)];
    if (!bookings.success[i]) {
      ++row.failed_payments;
      continue;
    }
    const bool has_promo = bookings.promo_code[i] != 0;
    row.revenue += bookings.total_amount[i];
    ++row.orders;
    row.promo_orders += has_promo;
    row.promo_amount += bookings.promo_amount[i];
    ++d->funnel[slot(m)].successful_payment;
    purchases.push_back({bookings.customer_id[i], m, has_promo,
                         bookings.total_amount[i], bookings.promo_amount[i]});
  }
  std::sort(purchases.begin(), purchases.end(),
            [](const Purchase& a, const Purchase& b) {
              return std::tie(a.customer, a.month) <
                     std::tie(b.customer, b.month);
            });
  MonthIndex first_month = 0;
  PromoRow* customer_promo = nullptr;  // the current customer's segment row
  for (size_t i = 0; i < purchases.size(); ++i) {
    const Purchase& p = purchases[i];
    const bool new_customer = i == 0 || purchases[i - 1].customer != p.customer;
    if (new_customer) {
      first_month = p.month;
      customer_promo = &(*promo)[segment(p.customer)];
    }
    MonthlyRow& row = d->months[slot(p.month)];
    const bool is_new = p.month == first_month;
    if (new_customer || purchases[i - 1].month != p.month) {
      ++row.buyers;
      row.new_buyers += is_new;
    }
    if (is_new) row.new_revenue += p.amount;
    ++customer_promo->orders;
    customer_promo->promo_orders += p.has_promo;
    customer_promo->promo_amount += p.promo_amount;
  }
  for (MonthlyRow& row : d->months) {
    row.returning_buyers = row.buyers - row.new_buyers;
    row.returning_revenue = row.revenue - row.new_revenue;
  }
}

}  // namespace

absl::StatusOr<Diagnosis> Diagnose(
    const BookingTable& bookings, const SessionTable& sessions,
    const LabelTable& labels,
    const absl::flat_hash_map<int64_t, std::string>& segment_of, Micros as_of,
    int threads) {
  if (absl::Status s = CheckColumns(bookings, sessions, labels); !s.ok()) {
    return s;
  }
  // Segments by index into their names in sorted order, so the per-row
  // tallies below are array slots and come out ordered by name.
  absl::flat_hash_map<std::string_view, uint32_t> index_of_name = {
      {kNoSegment, 0}};
  for (const auto& [customer, name] : segment_of) index_of_name[name] = 0;
  std::vector<std::string> names;
  for (const auto& [name, index] : index_of_name) names.emplace_back(name);
  std::sort(names.begin(), names.end());
  for (uint32_t i = 0; i < names.size(); ++i) index_of_name[names[i]] = i;
  absl::flat_hash_map<int64_t, uint32_t> segment_index_of;
  segment_index_of.reserve(segment_of.size());
  for (const auto& [customer, name] : segment_of) {
    segment_index_of[customer] = index_of_name[name];
  }
  const uint32_t no_segment = index_of_name[kNoSegment];
  auto segment = [&](int64_t customer) {
    auto it = segment_index_of.find(customer);
    return it != segment_index_of.end() ? it->second : no_segment;
  };

  Diagnosis d;
  d.as_of = as_of;
  // The first month with data. MonthOf does not decrease with time, so the
  // earliest booking and session in range give it without a MonthOf per row.
  constexpr Micros kNone = std::numeric_limits<Micros>::max();
  Micros earliest = kNone;
  size_t in_range = 0, at_as_of = 0;
  auto take_earliest = [&](const std::vector<Micros>& times) {
    for (Micros t : times) {
      const bool in = t <= as_of;
      in_range += in;
      at_as_of += t == as_of;
      earliest = std::min(earliest, in ? t : kNone);
    }
  };
  take_earliest(bookings.created_at);
  take_earliest(sessions.start);
  // An as_of at the first microsecond of a month leaves that month no time
  // before it: the month gets no row unless a booking or session is at that
  // very instant. The months before it are then all complete.
  MonthIndex last = MonthOf(as_of);
  if (as_of == MonthStart(last) && at_as_of == 0) --last;
  std::optional<MonthIndex> first;
  if (in_range > 0) first = MonthOf(earliest);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels.month[i] <= last) {
      first = first ? std::min(*first, labels.month[i]) : labels.month[i];
    }
  }
  if (!first) return d;

  const size_t month_count = static_cast<size_t>(last - *first + 1);
  d.months.resize(month_count);
  d.funnel.resize(month_count);
  for (size_t k = 0; k < month_count; ++k) {
    d.months[k].month = *first + static_cast<MonthIndex>(k);
    d.funnel[k].month = *first + static_cast<MonthIndex>(k);
  }
  auto slot = [&](MonthIndex m) { return static_cast<size_t>(m - *first); };

  // Task 0 tallies the bookings; the others count the funnel over ranges of
  // sessions, each into its own rows, added up afterwards. Every figure is a
  // count or an integer sum, so the result does not depend on `threads`.
  const size_t session_parts =
      static_cast<size_t>(std::max(1, ResolveThreads(threads) - 1));
  std::vector<std::vector<FunnelRow>> session_funnel(
      session_parts, std::vector<FunnelRow>(month_count));
  std::vector<PromoRow> promo(names.size());
  ParallelFor(1 + session_parts, threads, [&](size_t task) {
    if (task == 0) {
      TallyBookings(bookings, as_of, *first, segment, &d, &promo);
      return;
    }
    const size_t part = task - 1, n = sessions.size();
    std::vector<FunnelRow>& funnel = session_funnel[part];
    for (size_t i = n * part / session_parts;
         i < n * (part + 1) / session_parts; ++i) {
      if (sessions.start[i] > as_of) continue;
      FunnelRow& f = funnel[slot(MonthOf(sessions.start[i]))];
      auto has = [&](EventType t) -> int64_t { return sessions.Has(i, t); };
      ++f.sessions;
      f.homepage += has(EventType::kHomepage);
      f.search += has(EventType::kSearch);
      f.item_detail += has(EventType::kItemDetail);
      f.add_to_cart += has(EventType::kAddToCart);
      f.add_promo += has(EventType::kAddPromo);
      f.booking += has(EventType::kBooking);
    }
  });
  for (const std::vector<FunnelRow>& part : session_funnel) {
    for (size_t k = 0; k < month_count; ++k) d.funnel[k] += part[k];
  }

  // [month slot][segment index]; a row is reported once a label lands in it.
  std::vector<SegmentMonthRow> seg(month_count * names.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    const MonthIndex m = labels.month[i];
    if (m > last) continue;
    MonthlyRow& row = d.months[slot(m)];
    const uint32_t name = segment(labels.customer_id[i]);
    SegmentMonthRow& s = seg[slot(m) * names.size() + name];
    if (s.segment.empty()) {
      s.month = m;
      s.segment = names[name];
    }
    if (labels.censored[i]) {
      ++row.censored;
      ++s.censored;
    } else {
      ++row.labeled;
      ++s.labeled;
      row.churned += labels.churned[i] != 0;
      s.churned += labels.churned[i] != 0;
    }
  }
  for (MonthlyRow& row : d.months)
    row.churn_rate = Rate(row.churned, row.labeled);
  // Only the month of as_of can be cut short; when as_of was the first
  // microsecond of its month, the last row is the month before, whole.
  d.months.back().partial = as_of < MonthStart(last + 1) - 1;
  for (SegmentMonthRow& s : seg) {
    if (s.segment.empty()) continue;
    s.churn_rate = Rate(s.churned, s.labeled);
    d.segment_months.push_back(std::move(s));
  }

  for (size_t name = 0; name < names.size(); ++name) {
    PromoRow& p = promo[name];
    if (p.orders == 0) continue;  // no purchase in this segment
    p.segment = names[name];
    p.promo_share = Rate(p.promo_orders, p.orders);
    d.promo_by_segment.push_back(std::move(p));
  }
  return d;
}

std::string FormatDiagnosis(const Diagnosis& diagnosis, int last_months) {
  const std::vector<MonthlyRow>& months = diagnosis.months;
  if (months.empty()) return "no bookings, sessions or labels up to as-of\n";
  const size_t n = months.size();
  const size_t shown =
      last_months <= 0 ? n : std::min(n, static_cast<size_t>(last_months));
  const MonthlyRow& last = months.back();
  const bool last_partial = last.partial;
  const double days_in_last = DaysIn(last.month);
  const double days_covered = DaysCovered(last.month, diagnosis.as_of);

  std::string out = absl::StrCat("Business diagnosis as of ",
                                 FormatTimestamp(diagnosis.as_of), "\n");
  absl::StrAppendFormat(&out, "%-9s %18s %8s %8s %8s %10s %16s\n", "month",
                        "revenue (IDR)", "orders", "buyers", "new", "returning",
                        "churn rate");
  bool any_open = false;
  for (size_t k = n - shown; k < n; ++k) {
    const MonthlyRow& r = months[k];
    const std::string month = FormatMonth(r.month) + (r.partial ? "*" : "");
    // A month with censored labels has no churn rate yet: its known labels
    // are the buyers whose last purchase came early enough for the window to
    // close, and those lean toward churn.
    std::string churn = "n/a";
    if (r.censored > 0) {
      churn = absl::StrFormat("n/a: %d open", r.censored);
      any_open = true;
    } else if (r.labeled > 0) {
      churn = absl::StrFormat("%.1f%% of %d", 100 * r.churn_rate, r.labeled);
    }
    absl::StrAppendFormat(&out, "%-9s %18s %8d %8d %8d %10d %16s\n", month,
                          WithThousands(r.revenue), r.orders, r.buyers,
                          r.new_buyers, r.returning_buyers, churn);
  }
  if (last_partial) {
    absl::StrAppendFormat(&out,
                          "* partial month: up to the as-of time only, %s of "
                          "its %.0f days\n",
                          TenthsDown(days_covered), days_in_last);
  }
  if (any_open) {
    absl::StrAppend(&out,
                    "n/a: N open = N buyers' churn windows are still open at "
                    "as-of; the month's known labels would overstate churn\n");
  }

  int64_t total = 0;
  for (const MonthlyRow& r : months) total += r.revenue;
  if (total <= 0) {
    absl::StrAppend(&out, "no revenue yet\n");
    return out;
  }
  // The headline compares complete months: a partial month's total is not
  // comparable with them, nor can it be the peak.
  const size_t complete = last_partial ? n - 1 : n;
  std::optional<size_t> peak;
  for (size_t k = 0; k < complete; ++k) {
    if (months[k].revenue > 0 &&
        (!peak || months[k].revenue > months[*peak].revenue)) {
      peak = k;
    }
  }
  if (peak) {
    const size_t latest = complete - 1;
    absl::StrAppend(&out, "revenue peaked ", FormatMonth(months[*peak].month),
                    " (IDR ", WithThousands(months[*peak].revenue),
                    "); the latest complete month, ",
                    FormatMonth(months[latest].month), ", is ");
    if (latest == *peak) {
      absl::StrAppend(&out, "the peak");
    } else {
      absl::StrAppend(&out,
                      Change(months[latest].revenue, months[*peak].revenue),
                      " vs peak");
    }
    if (latest > 0 && months[latest - 1].revenue > 0) {
      absl::StrAppend(
          &out, ", ",
          Change(months[latest].revenue, months[latest - 1].revenue), " vs ",
          FormatMonth(months[latest - 1].month));
    }
    absl::StrAppend(&out, "\n");
  } else if (complete > 0) {
    absl::StrAppend(&out, "no revenue in a complete month yet\n");
  }
  if (!last_partial) return out;

  // The partial month: what it took so far, and its daily rate so far
  // carried over the whole month, compared with complete months' totals.
  absl::StrAppend(&out, FormatMonth(last.month), " so far: IDR ",
                  WithThousands(last.revenue), " in ", TenthsDown(days_covered),
                  " of ", absl::StrFormat("%.0f", days_in_last), " days");
  if (days_covered < 1) {
    absl::StrAppend(&out, "; under a day in, too early for a daily rate\n");
    return out;
  }
  const double full_month =
      static_cast<double>(last.revenue) * days_in_last / days_covered;
  absl::StrAppend(&out, "; at that daily rate the full month would be IDR ",
                  WithThousands(std::llround(full_month)));
  std::vector<std::string> versus;
  if (n > 1 && months[n - 2].revenue > 0) {
    versus.push_back(absl::StrCat(Change(full_month, months[n - 2].revenue),
                                  " vs ", FormatMonth(months[n - 2].month),
                                  peak == n - 2 ? " (the peak)" : ""));
  }
  if (peak && *peak != n - 2) {
    versus.push_back(
        absl::StrCat(Change(full_month, months[*peak].revenue), " vs peak"));
  }
  if (!versus.empty()) absl::StrAppend(&out, ": ", absl::StrJoin(versus, ", "));
  absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace winback
