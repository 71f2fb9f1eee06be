#include "jobs/features/features.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "jobs/common/parallel.h"

namespace winback {
namespace {

constexpr double kDay = static_cast<double>(kMicrosPerDay);

// A session's duration from `from` to `to` in milli-minutes, as the
// features sum it.
Micros MinutesX1000(Micros from, Micros to) {
  return (to - from) * 1000 / kMicrosPerMinute;
}

// Builds CSR offsets from per-row counts.
std::vector<uint32_t> Offsets(const std::vector<uint32_t>& counts) {
  std::vector<uint32_t> begin(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) begin[i + 1] = begin[i] + counts[i];
  return begin;
}

}  // namespace

const std::array<std::string, kFeatureCount>& FeatureNames() {
  static const std::array<std::string, kFeatureCount> kNames = {
      "recency_days",          "frequency",
      "monetary",              "tenure_days",
      "avg_basket",            "promo_share",
      "purchases_90d",         "sessions_per_month",
      "avg_session_minutes",   "booking_session_share",
      "cart_abandon_share",    "days_since_last_session",
      "session_trend",         "is_ios",
      "is_female",             "age_years",
      "avg_monthly_spend_12m"};
  return kNames;
}

absl::Status FeatureOptions::Validate() const {
  if (lookback <= 0 || trend_window <= 0 || spend_window <= 0) {
    return absl::InvalidArgumentError("feature windows must be positive");
  }
  if (2 * trend_window > lookback) {
    return absl::InvalidArgumentError(
        "features: two trend windows must fit in the lookback window");
  }
  return absl::OkStatus();
}

CustomerHistory BuildHistory(const CustomerTable& customers,
                             const BookingTable& bookings,
                             const SessionTable& sessions, Micros as_of,
                             int threads) {
  CustomerHistory h;
  const size_t n = customers.size();

  // Purchases, bucketed by customer row.
  std::vector<uint32_t> count(n, 0);
  std::vector<int64_t> row_of_booking(bookings.size(), -1);
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (!bookings.success[i] || bookings.created_at[i] > as_of) continue;
    auto it = customers.row_of.find(bookings.customer_id[i]);
    if (it == customers.row_of.end()) {
      ++h.orphan_purchases;
      continue;
    }
    row_of_booking[i] = it->second;
    ++count[it->second];
  }
  h.purchase_begin = Offsets(count);
  const size_t purchases = h.purchase_begin[n];
  h.purchase_time.resize(purchases);
  h.purchase_amount.resize(purchases);
  h.purchase_promo.resize(purchases);
  {
    std::vector<uint32_t> cursor(h.purchase_begin.begin(), h.purchase_begin.end() - 1);
    for (size_t i = 0; i < bookings.size(); ++i) {
      if (row_of_booking[i] < 0) continue;
      const uint32_t k = cursor[row_of_booking[i]]++;
      h.purchase_time[k] = bookings.created_at[i];
      h.purchase_amount[k] = bookings.total_amount[i];
      h.purchase_promo[k] = bookings.promo_code[i] != 0 ? 1 : 0;
    }
  }
  // Each customer's purchases, then sessions, are sorted on their own:
  // customers are split into blocks that the threads take in turn.
  const size_t blocks = std::min<size_t>(n, 64);
  auto for_each_customer = [&](const auto& fn) {
    ParallelFor(blocks, threads, [&](size_t block) {
      for (size_t r = n * block / blocks; r < n * (block + 1) / blocks; ++r) {
        fn(r);
      }
    });
  };
  for_each_customer([&](size_t r) {
    const uint32_t b = h.purchase_begin[r], e = h.purchase_begin[r + 1];
    if (e - b < 2) return;
    std::vector<uint32_t> idx(e - b);
    std::iota(idx.begin(), idx.end(), b);
    std::sort(idx.begin(), idx.end(), [&](uint32_t x, uint32_t y) {
      return h.purchase_time[x] < h.purchase_time[y];
    });
    std::vector<Micros> t;
    std::vector<int64_t> a;
    std::vector<uint8_t> p;
    for (uint32_t k : idx) {
      t.push_back(h.purchase_time[k]);
      a.push_back(h.purchase_amount[k]);
      p.push_back(h.purchase_promo[k]);
    }
    std::copy(t.begin(), t.end(), h.purchase_time.begin() + b);
    std::copy(a.begin(), a.end(), h.purchase_amount.begin() + b);
    std::copy(p.begin(), p.end(), h.purchase_promo.begin() + b);
  });
  h.purchase_month.resize(purchases);
  for (size_t k = 0; k < purchases; ++k) {
    h.purchase_month[k] = MonthOf(h.purchase_time[k]);
  }

  // When each session_id became linked to its customer: its earliest
  // booking's creation (any payment status), if at or before as_of.
  // Session ids are dense pool indices, so a vector serves as the map.
  constexpr Micros kUnlinked = std::numeric_limits<Micros>::max();
  uint32_t pool = 0;
  for (uint32_t id : bookings.session) pool = std::max(pool, id + 1);
  std::vector<Micros> linked_at(pool, kUnlinked);
  for (size_t i = 0; i < bookings.size(); ++i) {
    if (bookings.created_at[i] > as_of) continue;
    Micros& at = linked_at[bookings.session[i]];
    at = std::min(at, bookings.created_at[i]);
  }

  // Sessions: SessionTable is ordered by (session id, piece); bucket by row.
  // Pieces of one session id share its customer: look it up once per id.
  // The threads first find the rows of their own ranges of sessions, then
  // each copies the sessions of its own range of customers.
  const size_t sessions_n = sessions.size();
  const int parts = std::max(1, std::min(threads, 64));
  std::vector<int32_t> row_of_session(sessions_n);
  std::vector<std::vector<uint32_t>> part_count(parts);
  std::vector<int64_t> part_orphans(parts, 0);
  ParallelFor(parts, parts, [&](size_t part) {
    std::vector<uint32_t>& counts = part_count[part];
    counts.assign(n, 0);
    int64_t cached_customer = kNoCustomer;
    int32_t cached_row = -1;
    for (size_t i = sessions_n * part / parts;
         i < sessions_n * (part + 1) / parts; ++i) {
      row_of_session[i] = -1;
      if (sessions.customer_id[i] == kNoCustomer || sessions.start[i] > as_of) {
        continue;
      }
      const uint32_t id = sessions.session[i];
      if (id >= pool || linked_at[id] == kUnlinked) continue;
      if (sessions.customer_id[i] != cached_customer) {
        auto it = customers.row_of.find(sessions.customer_id[i]);
        cached_customer = sessions.customer_id[i];
        cached_row = it == customers.row_of.end()
                         ? -1
                         : static_cast<int32_t>(it->second);
      }
      if (cached_row < 0) {
        ++part_orphans[part];
        continue;
      }
      row_of_session[i] = cached_row;
      ++counts[cached_row];
    }
  });
  std::fill(count.begin(), count.end(), 0);
  for (int part = 0; part < parts; ++part) {
    for (size_t r = 0; r < n; ++r) count[r] += part_count[part][r];
    h.orphan_sessions += part_orphans[part];
  }
  part_count.clear();
  h.session_begin = Offsets(count);
  const size_t m = h.session_begin[n];
  ParallelFor(2, threads, [&](size_t half) {
    if (half == 0) {
      h.session_start.resize(m);
      h.session_minutes_x1000.resize(m);
      h.session_last_event.resize(m);
    } else {
      h.session_linked_at.resize(m);
      h.linked_sorted.resize(m);
    }
  });
  ParallelFor(parts, parts, [&](size_t part) {
    const int32_t first = static_cast<int32_t>(n * part / parts);
    const int32_t last = static_cast<int32_t>(n * (part + 1) / parts);
    std::vector<uint32_t> cursor(h.session_begin.begin() + first,
                                 h.session_begin.begin() + last);
    for (size_t i = 0; i < sessions_n; ++i) {
      const int32_t row = row_of_session[i];
      if (row < first || row >= last) continue;
      const uint32_t k = cursor[row - first]++;
      h.session_start[k] = sessions.start[i];
      h.session_minutes_x1000[k] =
          MinutesX1000(sessions.start[i], sessions.end[i]);
      h.session_linked_at[k] = linked_at[sessions.session[i]];
      h.session_last_event[k] = sessions.last_event[i];
    }
  });
  for_each_customer([&](size_t r) {
    const uint32_t b = h.session_begin[r], e = h.session_begin[r + 1];
    std::vector<uint32_t> idx(e - b);
    std::iota(idx.begin(), idx.end(), b);
    std::sort(idx.begin(), idx.end(), [&](uint32_t x, uint32_t y) {
      return h.session_start[x] < h.session_start[y];
    });
    std::vector<Micros> s, mins, link;
    std::vector<EventType> last;
    for (uint32_t k : idx) {
      s.push_back(h.session_start[k]);
      mins.push_back(h.session_minutes_x1000[k]);
      link.push_back(h.session_linked_at[k]);
      last.push_back(h.session_last_event[k]);
    }
    std::copy(s.begin(), s.end(), h.session_start.begin() + b);
    std::copy(mins.begin(), mins.end(), h.session_minutes_x1000.begin() + b);
    std::copy(link.begin(), link.end(), h.session_linked_at.begin() + b);
    std::copy(last.begin(), last.end(), h.session_last_event.begin() + b);
    std::sort(link.begin(), link.end());
    std::copy(link.begin(), link.end(), h.linked_sorted.begin() + b);
  });

  // Sessions that ran past a month end (about one in ten thousand in the
  // generated export), by customer.
  struct Cut {
    int32_t row;
    CustomerHistory::SessionCut cut;
  };
  std::vector<Cut> cuts;
  const auto is = [](EventType e, EventType type) -> int8_t {
    return e == type ? 1 : 0;
  };
  for (const SessionTable::MonthEndCut& c : sessions.month_end_cuts) {
    const size_t i = c.row;
    if (i >= sessions_n || row_of_session[i] < 0) continue;
    const EventType whole = sessions.last_event[i];
    cuts.push_back(
        {row_of_session[i],
         {c.tau, sessions.start[i], linked_at[sessions.session[i]],
          MinutesX1000(sessions.start[i], c.end) -
              MinutesX1000(sessions.start[i], sessions.end[i]),
          static_cast<int8_t>(is(c.last_event, EventType::kBooking) -
                              is(whole, EventType::kBooking)),
          static_cast<int8_t>(is(c.last_event, EventType::kAddToCart) -
                              is(whole, EventType::kAddToCart))}});
  }
  std::stable_sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) {
    return a.row != b.row ? a.row < b.row : a.cut.tau < b.cut.tau;
  });
  std::vector<uint32_t> cut_count(n, 0);
  for (const Cut& c : cuts) ++cut_count[c.row];
  h.cut_begin = Offsets(cut_count);
  h.cuts.reserve(cuts.size());
  for (const Cut& c : cuts) h.cuts.push_back(c.cut);
  return h;
}

absl::StatusOr<FeatureTable> ComputeFeatures(
    const CustomerTable& customers, const CustomerHistory& h,
    const std::vector<FeatureRequest>& requests, const FeatureOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].customer_row >= h.customers()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature request ", i, " names customer row ",
          requests[i].customer_row, " of ", h.customers()));
    }
    if (i > 0 && (requests[i].customer_row < requests[i - 1].customer_row ||
                  (requests[i].customer_row == requests[i - 1].customer_row &&
                   requests[i].tau < requests[i - 1].tau))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature requests must be sorted by (customer, tau); request ", i,
          " is out of order"));
    }
  }

  FeatureTable out;
  out.customer_row.reserve(requests.size());
  out.tau.reserve(requests.size());
  out.values.resize(requests.size());

  size_t i = 0;
  while (i < requests.size()) {
    const uint32_t r = requests[i].customer_row;
    const uint32_t pb = h.purchase_begin[r], pe = h.purchase_begin[r + 1];
    const uint32_t sb = h.session_begin[r], se = h.session_begin[r + 1];
    // Forward-only cursors over this customer's history.
    uint32_t p_hi = pb, p_lo90 = pb, p_lo365 = pb;
    int64_t spent = 0, promos = 0;
    uint32_t s_hi = sb, s_lo = sb;
    uint32_t c_lo = h.cut_begin[r];
    const uint32_t ce = h.cut_begin[r + 1];
    for (; i < requests.size() && requests[i].customer_row == r; ++i) {
      const Micros tau = requests[i].tau;
      std::array<double, kFeatureCount>& f = out.values[i];
      out.customer_row.push_back(r);
      out.tau.push_back(tau);

      while (p_hi < pe && h.purchase_time[p_hi] <= tau) {
        spent += h.purchase_amount[p_hi];
        promos += h.purchase_promo[p_hi];
        ++p_hi;
      }
      while (p_lo90 < p_hi && h.purchase_time[p_lo90] <= tau - options.lookback) ++p_lo90;
      while (p_lo365 < p_hi && h.purchase_time[p_lo365] <= tau - options.spend_window) ++p_lo365;
      const double frequency = p_hi - pb;
      const double tau_days = static_cast<double>(tau) / kDay;
      f[kFrequency] = frequency;
      f[kMonetary] = static_cast<double>(spent);
      f[kAvgBasket] = frequency > 0 ? spent / frequency : 0.0;
      f[kPromoShare] = frequency > 0 ? promos / frequency : 0.0;
      f[kPurchases90d] = p_hi - p_lo90;
      const double tenure = tau_days - customers.first_join_date[r];
      f[kTenureDays] = std::max(0.0, tenure);
      f[kRecencyDays] = frequency > 0
                            ? (tau - h.purchase_time[p_hi - 1]) / kDay
                            : f[kTenureDays];
      {
        int64_t spend12 = 0;
        int months = 0;
        MonthIndex last_month = INT32_MIN;
        for (uint32_t k = p_lo365; k < p_hi; ++k) {
          spend12 += h.purchase_amount[k];
          const MonthIndex mo = h.purchase_month[k];
          if (mo != last_month) ++months;  // purchases are time-sorted
          last_month = mo;
        }
        f[kAvgMonthlySpend12m] = months > 0 ? static_cast<double>(spend12) / months : 0.0;
      }

      // Sessions started in (tau - lookback, tau] and linked by tau.
      while (s_hi < se && h.session_start[s_hi] <= tau) ++s_hi;
      while (s_lo < s_hi && h.session_start[s_lo] <= tau - options.lookback) ++s_lo;
      int64_t n = 0, booking = 0, abandon = 0, s30 = 0, prev30 = 0;
      int64_t minutes_x1000 = 0;
      for (uint32_t k = s_lo; k < s_hi; ++k) {
        if (h.session_linked_at[k] > tau) continue;
        ++n;
        minutes_x1000 += h.session_minutes_x1000[k];
        booking += h.session_last_event[k] == EventType::kBooking;
        abandon += h.session_last_event[k] == EventType::kAddToCart;
        const Micros age = tau - h.session_start[k];
        if (age < options.trend_window) {
          ++s30;
        } else if (age < 2 * options.trend_window) {
          ++prev30;
        }
      }
      // A session that ran past tau (tau a month's end) counts as it was
      // at tau: no event after tau may change a feature as of tau.
      while (c_lo < ce && h.cuts[c_lo].tau < tau) ++c_lo;
      for (uint32_t k = c_lo; k < ce && h.cuts[k].tau == tau; ++k) {
        const CustomerHistory::SessionCut& c = h.cuts[k];
        if (c.start <= tau - options.lookback || c.linked_at > tau) continue;
        minutes_x1000 += c.minutes_x1000_delta;
        booking += c.booking_delta;
        abandon += c.abandon_delta;
      }
      const double months = static_cast<double>(options.lookback) / (30 * kDay);
      f[kSessionsPerMonth] = n / months;
      f[kAvgSessionMinutes] = n > 0 ? minutes_x1000 / 1000.0 / n : 0.0;
      f[kBookingSessionShare] = n > 0 ? static_cast<double>(booking) / n : 0.0;
      f[kCartAbandonShare] = n > 0 ? static_cast<double>(abandon) / n : 0.0;
      f[kSessionTrend] = static_cast<double>(s30 - prev30) / (s30 + prev30 + 1);
      // The latest session known by tau (scan back past not-yet-linked ones).
      f[kDaysSinceLastSession] = f[kTenureDays];
      for (uint32_t k = s_hi; k > sb; --k) {
        if (h.session_linked_at[k - 1] <= tau) {
          f[kDaysSinceLastSession] = (tau - h.session_start[k - 1]) / kDay;
          break;
        }
      }

      f[kIsIos] = customers.device_type[r] == DeviceType::kIos ? 1.0 : 0.0;
      f[kIsFemale] = customers.gender[r] == Gender::kFemale ? 1.0 : 0.0;
      f[kAgeYears] = customers.birthdate[r] == kNoDate
                         ? 0.0
                         : std::max(0.0, (tau_days - customers.birthdate[r]) / 365.2425);
    }
  }
  return out;
}

}  // namespace winback
