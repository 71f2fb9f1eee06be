#include "jobs/features/features.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "jobs/sessionize/sessionize.h"

namespace winback {
namespace {

constexpr Micros kDay = kMicrosPerDay;
const Micros kT0 = *ParseTimestamp("2022-01-01T00:00:00Z");

// Two customers (ids 10 and 20) and hand-built bookings and sessions.
class World {
 public:
  explicit World(std::vector<int64_t> ids = {10, 20}) {
    for (int64_t id : ids) {
      const uint32_t row = static_cast<uint32_t>(customers.size());
      customers.customer_id.push_back(id);
      customers.gender.push_back(id == 10 ? Gender::kFemale : Gender::kMale);
      customers.birthdate.push_back(*ParseDate("1992-01-01"));
      customers.device_type.push_back(id == 10 ? DeviceType::kIos : DeviceType::kAndroid);
      customers.home_location.push_back(0);
      customers.first_join_date.push_back(*ParseDate("2021-01-01"));
      customers.row_of[id] = row;
    }
  }
  // A booking of `customer` on session id `sid` at `t`.
  void Book(uint32_t sid, int64_t customer, Micros t, int64_t amount,
            bool success = true, uint32_t promo = 0) {
    bookings.created_at.push_back(t);
    bookings.customer_id.push_back(customer);
    bookings.session.push_back(sid);
    bookings.success.push_back(success);
    bookings.total_amount.push_back(amount);
    bookings.promo_code.push_back(promo);
  }
  // A session piece of session id `sid` (customer given as sessionize would).
  void Session(uint32_t sid, int64_t customer, Micros start, Micros minutes,
               EventType last) {
    sessions.session.push_back(sid);
    sessions.piece.push_back(1);
    sessions.customer_id.push_back(customer);
    sessions.start.push_back(start);
    sessions.end.push_back(start + minutes * kMicrosPerMinute);
    sessions.event_count.push_back(2);
    sessions.event_types.push_back(
        static_cast<uint16_t>(1u << static_cast<int>(last)));
    sessions.traffic_source.push_back(TrafficSource::kMobile);
    sessions.last_event.push_back(last);
  }
  FeatureTable Run(std::vector<FeatureRequest> req, Micros as_of = INT64_MAX) {
    const CustomerHistory h = BuildHistory(customers, bookings, sessions, as_of);
    auto f = ComputeFeatures(customers, h, req, FeatureOptions{});
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *std::move(f) : FeatureTable{};
  }

  CustomerTable customers;
  BookingTable bookings;
  SessionTable sessions;
};

TEST(Features, PurchaseFeaturesAsOfTau) {
  World w;
  w.Book(1, 10, kT0, 100'000);
  w.Book(2, 10, kT0 + 10 * kDay, 300'000, true, /*promo=*/3);
  w.Book(3, 10, kT0 + 12 * kDay, 999'999, /*success=*/false);  // not a purchase
  w.Book(4, 10, kT0 + 40 * kDay, 50'000);                        // after tau
  const FeatureTable f = w.Run({{0, kT0 + 20 * kDay}});
  ASSERT_EQ(f.size(), 1u);
  const auto& v = f.values[0];
  EXPECT_DOUBLE_EQ(v[kFrequency], 2);
  EXPECT_DOUBLE_EQ(v[kMonetary], 400'000);
  EXPECT_DOUBLE_EQ(v[kAvgBasket], 200'000);
  EXPECT_DOUBLE_EQ(v[kPromoShare], 0.5);
  EXPECT_DOUBLE_EQ(v[kRecencyDays], 10);
  EXPECT_DOUBLE_EQ(v[kPurchases90d], 2);
  // 2022-01-21 minus 2021-01-01 is 385 days.
  EXPECT_DOUBLE_EQ(v[kTenureDays], 385);
  // Both purchases are in January 2022: one active month.
  EXPECT_DOUBLE_EQ(v[kAvgMonthlySpend12m], 400'000);
  EXPECT_DOUBLE_EQ(v[kIsIos], 1);
  EXPECT_DOUBLE_EQ(v[kIsFemale], 1);
  EXPECT_NEAR(v[kAgeYears], 30.05, 0.01);
}

TEST(Features, LaterEventsDoNotChangeEarlierRows) {
  World w;
  w.Book(1, 10, kT0, 100'000);
  w.Session(1, 10, kT0 - kDay, 20, EventType::kBooking);
  const FeatureTable before = w.Run({{0, kT0 + 5 * kDay}});
  // Add a lot of activity after tau; the row as of tau must not move.
  w.Book(2, 10, kT0 + 6 * kDay, 500'000);
  w.Session(2, 10, kT0 + 6 * kDay, 45, EventType::kAddToCart);
  w.Session(2, 10, kT0 + 5 * kDay + 1, 45, EventType::kAddToCart);
  const FeatureTable after = w.Run({{0, kT0 + 5 * kDay}, {0, kT0 + 7 * kDay}});
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(before.values[0], after.values[0]);
  EXPECT_DOUBLE_EQ(after.values[1][kFrequency], 2);
}

TEST(Features, SessionsCountOnlyOnceTheirBookingLinksThem) {
  World w;
  // Session id 7's pieces start on day 1 and day 3; its booking (which is
  // what ties them to customer 10) only exists from day 20.
  w.Session(7, 10, kT0 + 1 * kDay, 10, EventType::kAddToCart);
  w.Session(7, 10, kT0 + 3 * kDay, 30, EventType::kBooking);
  w.Book(7, 10, kT0 + 20 * kDay, 10'000);
  const FeatureTable f = w.Run({{0, kT0 + 10 * kDay}, {0, kT0 + 21 * kDay}});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_DOUBLE_EQ(f.values[0][kSessionsPerMonth], 0);
  EXPECT_DOUBLE_EQ(f.values[1][kSessionsPerMonth], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(f.values[1][kAvgSessionMinutes], 20);
  EXPECT_DOUBLE_EQ(f.values[1][kCartAbandonShare], 0.5);
  EXPECT_DOUBLE_EQ(f.values[1][kBookingSessionShare], 0.5);
  EXPECT_DOUBLE_EQ(f.values[1][kDaysSinceLastSession], 18);
}

TEST(Features, ASessionRunningPastAMonthEndCountsAsItWasThen) {
  const Micros jan_end = *ParseTimestamp("2022-02-01T00:00:00Z") - 1;
  const Micros feb_end = *ParseTimestamp("2022-03-01T00:00:00Z") - 1;
  World w;
  // 23:40 to 00:10 across January's end; at it, the session had run 15
  // minutes and ended with the booking; after it, the cart was filled.
  const Micros start = jan_end + 1 - 20 * kMicrosPerMinute;
  w.Book(1, 10, start + 15 * kMicrosPerMinute, 10'000);
  w.Session(1, 10, start, 30, EventType::kAddToCart);
  w.sessions.month_end_cuts.push_back(
      {0, jan_end, start + 15 * kMicrosPerMinute, EventType::kBooking});
  // A session of customer 20 within January: unchanged.
  w.Book(2, 20, start - kDay, 10'000);
  w.Session(2, 20, start - kDay, 10, EventType::kAddToCart);
  const FeatureTable f =
      w.Run({{0, jan_end}, {0, feb_end}, {1, jan_end}, {1, feb_end}});
  ASSERT_EQ(f.size(), 4u);
  EXPECT_DOUBLE_EQ(f.values[0][kAvgSessionMinutes], 15);
  EXPECT_DOUBLE_EQ(f.values[0][kBookingSessionShare], 1);
  EXPECT_DOUBLE_EQ(f.values[0][kCartAbandonShare], 0);
  EXPECT_DOUBLE_EQ(f.values[0][kSessionsPerMonth], 1.0 / 3.0);
  // A month later the whole session counts.
  EXPECT_DOUBLE_EQ(f.values[1][kAvgSessionMinutes], 30);
  EXPECT_DOUBLE_EQ(f.values[1][kBookingSessionShare], 0);
  EXPECT_DOUBLE_EQ(f.values[1][kCartAbandonShare], 1);
  for (int i : {2, 3}) {
    EXPECT_DOUBLE_EQ(f.values[i][kAvgSessionMinutes], 10);
    EXPECT_DOUBLE_EQ(f.values[i][kCartAbandonShare], 1);
  }
}

// No leakage, checked against an export that ends at the month's end: the
// features of every customer as of a month's last microsecond are the same
// from the whole export as from the one with nothing after that moment
// (where no session can run past it).
TEST(Features, AtAMonthEndTheWholeExportGivesWhatTheExportCutThereGives) {
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= 40; ++id) ids.push_back(id);
  World w(ids);
  ClickTable clicks;
  std::mt19937_64 rng(11);
  const auto at = [](const char* text) { return *ParseTimestamp(text); };
  const std::vector<Micros> month_ends = {
      at("2022-02-01T00:00:00Z") - 1, at("2022-03-01T00:00:00Z") - 1,
      at("2022-04-01T00:00:00Z") - 1, at("2022-05-01T00:00:00Z") - 1};
  uint64_t event_id = 0;
  for (uint32_t sid = 0; sid < 3000; ++sid) {
    const int64_t customer = ids[rng() % ids.size()];
    // Half the session ids start within two hours of a month end.
    Micros t = rng() % 2 == 0 ? month_ends[rng() % month_ends.size()] -
                                    static_cast<Micros>(rng() % (2 * 60)) *
                                        kMicrosPerMinute
                              : at("2022-01-01T00:00:00Z") +
                                    static_cast<Micros>(rng() % (120 * kDay));
    std::vector<Micros> times;
    for (int e = 0, events = 2 + static_cast<int>(rng() % 8); e < events; ++e) {
      times.push_back(t);
      clicks.session.push_back(sid);
      clicks.event_time.push_back(t);
      clicks.event_id.push_back(Uuid{0, ++event_id});
      clicks.event_type.push_back(
          static_cast<EventType>(rng() % kEventTypeCount));
      clicks.traffic_source.push_back(TrafficSource::kMobile);
      // Gaps of 1 to 40 minutes: some split the session id.
      t += static_cast<Micros>(1 + rng() % 40) * kMicrosPerMinute;
    }
    if (rng() % 5 != 0) {
      w.Book(sid, customer, times[rng() % times.size()],
             100 + static_cast<int64_t>(rng() % 900), rng() % 10 != 0);
    }
  }
  const size_t pool = 3000;
  const auto features_at = [&](Micros tau, const SessionTable& sessions,
                               Micros as_of) {
    const CustomerHistory h =
        BuildHistory(w.customers, w.bookings, sessions, as_of);
    std::vector<FeatureRequest> requests;
    for (uint32_t r = 0; r < ids.size(); ++r) requests.push_back({r, tau});
    auto f = ComputeFeatures(w.customers, h, requests, FeatureOptions{});
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? f->values
                  : std::vector<std::array<double, kFeatureCount>>{};
  };
  auto whole = Sessionize(clicks, w.bookings, pool, SessionizeOptions{});
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_FALSE(whole->month_end_cuts.empty());
  SessionTable uncut = *whole;
  uncut.month_end_cuts.clear();
  int leaks = 0;
  for (const Micros tau : month_ends) {
    SessionizeOptions o;
    o.as_of = tau;
    auto cut = Sessionize(clicks, w.bookings, pool, o);
    ASSERT_TRUE(cut.ok()) << cut.status();
    const auto want = features_at(tau, *cut, tau);
    const auto got = features_at(tau, *whole, INT64_MAX);
    ASSERT_EQ(got.size(), ids.size());
    ASSERT_EQ(want.size(), ids.size());
    for (size_t r = 0; r < ids.size(); ++r) {
      for (int k = 0; k < kFeatureCount; ++k) {
        EXPECT_EQ(got[r][k], want[r][k])
            << FeatureNames()[k] << " of customer " << ids[r] << " at "
            << FormatTimestamp(tau);
      }
    }
    // The data would catch a leak: without the cuts, the whole export
    // differs from the cut one.
    leaks += features_at(tau, uncut, INT64_MAX) != want;
  }
  EXPECT_GT(leaks, 0);
}

TEST(Features, SessionTrendComparesLastThirtyDaysWithThePrevious) {
  World w;
  w.Book(1, 20, kT0, 10'000);
  const Micros tau = kT0 + 100 * kDay;
  // Three sessions 40-50 days before tau, one 5 days before: (1-3)/(1+3+1).
  for (int d : {40, 45, 50, 5}) {
    w.Session(1, 20, tau - d * kDay, 10, EventType::kHomepage);
  }
  // One 95 days before tau: outside the 90-day window.
  w.Session(1, 20, tau - 95 * kDay, 10, EventType::kHomepage);
  const FeatureTable f = w.Run({{1, tau}});
  EXPECT_DOUBLE_EQ(f.values[0][kSessionTrend], -2.0 / 5.0);
  EXPECT_DOUBLE_EQ(f.values[0][kSessionsPerMonth], 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(f.values[0][kIsIos], 0);
}

TEST(Features, RequestsMustBeSorted) {
  World w;
  const CustomerHistory h = BuildHistory(w.customers, w.bookings, w.sessions, INT64_MAX);
  auto f = ComputeFeatures(w.customers, h, {{1, kT0}, {0, kT0}}, FeatureOptions{});
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  auto g = ComputeFeatures(w.customers, h, {{0, kT0 + 1}, {0, kT0}}, FeatureOptions{});
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Features, OrphanPurchasesAreCounted) {
  World w;
  w.Book(1, 999, kT0, 1);
  const CustomerHistory h = BuildHistory(w.customers, w.bookings, w.sessions, INT64_MAX);
  EXPECT_EQ(h.orphan_purchases, 1);
}

TEST(BuildHistory, SortsEachCustomersHistoryTheSameOnAnyThreadCount) {
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= 300; ++id) ids.push_back(id * 7);
  World w(ids);
  std::mt19937_64 rng(5);
  std::map<int64_t, std::vector<Micros>> bought, visited;
  for (uint32_t sid = 0; sid < 6000; ++sid) {
    const int64_t customer = ids[rng() % ids.size()];
    const Micros t = kT0 + static_cast<Micros>(rng() % (400 * kDay));
    const bool success = rng() % 10 != 0;
    w.Book(sid, customer, t, 100 + static_cast<int64_t>(rng() % 900), success);
    if (success) bought[customer].push_back(t);
    // Sessions come before their booking, in session id order as
    // sessionize leaves them, not in time order.
    for (int piece = 0; piece < 3; ++piece) {
      const Micros start = t - static_cast<Micros>(rng() % (30 * kDay));
      w.Session(sid, customer, start, 5, EventType::kSearch);
      visited[customer].push_back(start);
    }
  }
  const CustomerHistory one =
      BuildHistory(w.customers, w.bookings, w.sessions, INT64_MAX, 1);
  for (size_t r = 0; r < ids.size(); ++r) {
    std::vector<Micros> want = bought[ids[r]];
    std::sort(want.begin(), want.end());
    const std::vector<Micros> got(
        one.purchase_time.begin() + one.purchase_begin[r],
        one.purchase_time.begin() + one.purchase_begin[r + 1]);
    EXPECT_EQ(got, want) << "customer " << ids[r];
    want = visited[ids[r]];
    std::sort(want.begin(), want.end());
    const std::vector<Micros> starts(
        one.session_start.begin() + one.session_begin[r],
        one.session_start.begin() + one.session_begin[r + 1]);
    EXPECT_EQ(starts, want) << "customer " << ids[r];
  }
  for (int threads : {2, 3, 8}) {
    const CustomerHistory many =
        BuildHistory(w.customers, w.bookings, w.sessions, INT64_MAX, threads);
    EXPECT_EQ(many.purchase_begin, one.purchase_begin) << threads;
    EXPECT_EQ(many.purchase_time, one.purchase_time) << threads;
    EXPECT_EQ(many.purchase_amount, one.purchase_amount) << threads;
    EXPECT_EQ(many.purchase_promo, one.purchase_promo) << threads;
    EXPECT_EQ(many.purchase_month, one.purchase_month) << threads;
    EXPECT_EQ(many.session_begin, one.session_begin) << threads;
    EXPECT_EQ(many.session_start, one.session_start) << threads;
    EXPECT_EQ(many.session_minutes_x1000, one.session_minutes_x1000) << threads;
    EXPECT_EQ(many.session_linked_at, one.session_linked_at) << threads;
    EXPECT_EQ(many.session_last_event, one.session_last_event) << threads;
    EXPECT_EQ(many.linked_sorted, one.linked_sorted) << threads;
  }
}

}  // namespace
}  // namespace winback
