#include "jobs/diagnosis/diagnosis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "jobs/tables/tables_test_util.h"

namespace winback {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using table_test::At;

MonthIndex Month(const char* text) { return ParseMonth(text).value_or(0); }

struct Tables {
  Tables& Booking(int64_t customer, const char* iso, int64_t total,
                  bool success = true, uint32_t promo_code = 0,
                  int64_t promo_amount = 0) {
    table_test::AppendBooking({.customer = customer,
                               .at = At(iso),
                               .total = total,
                               .success = success,
                               .promo_code = promo_code,
                               .promo_amount = promo_amount},
                              &bookings);
    return *this;
  }
  Tables& Session(const char* start_iso, std::vector<EventType> events) {
    uint16_t types = 0;
    for (EventType e : events) types |= 1u << static_cast<int>(e);
    sessions.session.push_back(static_cast<uint32_t>(sessions.size()));
    sessions.piece.push_back(1);
    sessions.customer_id.push_back(kNoCustomer);
    sessions.start.push_back(At(start_iso));
    sessions.end.push_back(At(start_iso) + 20 * kMicrosPerMinute);
    sessions.event_count.push_back(static_cast<uint32_t>(events.size()));
    sessions.event_types.push_back(types);
    sessions.traffic_source.push_back(TrafficSource::kMobile);
    sessions.last_event.push_back(events.back());
    return *this;
  }
  Tables& Label(int64_t customer, const char* month, bool churned,
                bool censored) {
    labels.customer_id.push_back(customer);
    labels.month.push_back(Month(month));
    labels.last_purchase_at.push_back(MonthStart(Month(month)));
    labels.churned.push_back(churned ? 1 : 0);
    labels.censored.push_back(censored ? 1 : 0);
    return *this;
  }
  Diagnosis Run(Micros as_of) {
    auto d = Diagnose(bookings, sessions, labels, segment_of, as_of);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *std::move(d) : Diagnosis{};
  }

  BookingTable bookings;
  SessionTable sessions;
  LabelTable labels;
  absl::flat_hash_map<int64_t, std::string> segment_of;
};

// January to April 2022, as of mid-April; March has no purchase.
Tables Example() {
  using E = EventType;
  Tables t;
  t.Booking(1, "2022-01-10T10:00:00Z", 100, true, 1, 10)
      .Booking(1, "2022-01-20T10:00:00Z", 50)
      .Booking(2, "2022-01-15T10:00:00Z", 999, false)
      .Booking(2, "2022-02-05T10:00:00Z", 200)
      .Booking(1, "2022-02-10T10:00:00Z", 70)
      .Booking(3, "2022-03-03T10:00:00Z", 500, false)
      .Booking(3, "2022-04-01T10:00:00Z", 300, true, 2, 30)
      .Booking(1, "2022-04-15T00:00:00Z", 40)     // exactly at as_of
      .Booking(4, "2022-05-01T10:00:00Z", 1000);  // after as_of
  t.Session("2022-01-10T09:40:00Z",
            {E::kHomepage, E::kHomepage, E::kSearch, E::kItemDetail,
             E::kAddToCart, E::kBooking})
      .Session("2022-01-31T23:50:00Z", {E::kHomepage, E::kAddPromo})
      .Session("2022-02-03T08:00:00Z", {E::kHomepage, E::kScroll})
      .Session("2022-03-09T08:00:00Z", {E::kSearch, E::kAddPromo})
      .Session("2022-04-20T08:00:00Z", {E::kHomepage});  // after as_of
  t.Label(1, "2022-01", false, false)
      .Label(1, "2022-02", true, false)
      .Label(1, "2022-04", false, true)
      .Label(2, "2022-02", false, false)
      .Label(3, "2022-04", false, true)
      .Label(9, "2022-02", false, true);
  t.segment_of = {{1, "Champions"}, {2, "At Risk"}, {3, "New"}};
  return t;
}

TEST(Diagnose, MonthsRunContiguouslyToTheAsOfMonth) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  ASSERT_EQ(d.months.size(), 4u);
  EXPECT_EQ(FormatMonth(d.months.front().month), "2022-01");
  EXPECT_EQ(FormatMonth(d.months.back().month), "2022-04");
  ASSERT_EQ(d.funnel.size(), 4u);
  EXPECT_EQ(d.funnel[2].month, Month("2022-03"));
}

// An as-of time at a month's first microsecond leaves that month no time
// before it: there is no row for it, not a row of zeros, and its labels (none
// in a real run) are ignored. The months before it are the whole story.
TEST(Diagnose, AsOfAtAMonthsFirstInstantGivesThatMonthNoRow) {
  const Diagnosis d = Example().Run(At("2022-04-01T00:00:00Z"));
  ASSERT_EQ(d.months.size(), 3u);
  EXPECT_EQ(FormatMonth(d.months.back().month), "2022-03");
  ASSERT_EQ(d.funnel.size(), 3u);
  EXPECT_EQ(FormatMonth(d.funnel.back().month), "2022-03");
  // January 150 and February 270; March's only booking failed.
  EXPECT_EQ(d.months[0].revenue + d.months[1].revenue + d.months[2].revenue,
            420);
  for (const SegmentMonthRow& s : d.segment_months) {
    EXPECT_NE(FormatMonth(s.month), "2022-04") << s.segment;
  }
  EXPECT_THAT(FormatDiagnosis(d), Not(HasSubstr("\n2022-04")));
}

// ...but a booking at that very instant is in range, so its month has a row.
TEST(Diagnose, AsOfAtAMonthsFirstInstantKeepsAnEventAtThatInstant) {
  const Diagnosis d = Example()
                          .Booking(5, "2022-04-01T00:00:00Z", 60)
                          .Run(At("2022-04-01T00:00:00Z"));
  ASSERT_EQ(d.months.size(), 4u);
  EXPECT_EQ(FormatMonth(d.months.back().month), "2022-04");
  EXPECT_EQ(d.months.back().orders, 1);
  EXPECT_EQ(d.months.back().revenue, 60);
  EXPECT_EQ(d.funnel.back().successful_payment, 1);
}

// Only the month of as_of can be partial, and only while as_of is before its
// last microsecond.
TEST(Diagnose, MarksTheAsOfMonthPartialUntilItsLastMicrosecond) {
  auto partial = [](const Diagnosis& d) {
    std::string out;
    for (const MonthlyRow& m : d.months) out += m.partial ? "P" : "-";
    return out;
  };
  EXPECT_EQ(partial(Example().Run(At("2022-04-15T00:00:00Z"))), "---P");
  EXPECT_EQ(partial(Example().Run(At("2022-04-30T23:59:59.999998Z"))), "---P");
  EXPECT_EQ(partial(Example().Run(At("2022-04-30T23:59:59.999999Z"))), "----");
  // At May's first instant, with nothing then, April is the last month, whole.
  EXPECT_EQ(partial(Example().Run(At("2022-05-01T00:00:00Z"))), "----");
  EXPECT_EQ(partial(Example().Run(At("2022-04-01T00:00:00Z"))), "---");
}

TEST(Diagnose, SplitsNewAndReturningBuyersAndRevenue) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  const MonthlyRow& jan = d.months[0];
  EXPECT_EQ(jan.revenue, 150);  // the failed 999 is not revenue
  EXPECT_EQ(jan.orders, 2);
  EXPECT_EQ(jan.buyers, 1);
  EXPECT_EQ(jan.new_buyers, 1);
  EXPECT_EQ(jan.returning_buyers, 0);
  EXPECT_EQ(jan.new_revenue, 150);
  EXPECT_EQ(jan.returning_revenue, 0);
  EXPECT_EQ(jan.failed_payments, 1);
  EXPECT_EQ(jan.promo_orders, 1);
  EXPECT_EQ(jan.promo_amount, 10);

  // Customer 2's January booking failed, so February is its first purchase.
  const MonthlyRow& feb = d.months[1];
  EXPECT_EQ(feb.revenue, 270);
  EXPECT_EQ(feb.orders, 2);
  EXPECT_EQ(feb.buyers, 2);
  EXPECT_EQ(feb.new_buyers, 1);
  EXPECT_EQ(feb.returning_buyers, 1);
  EXPECT_EQ(feb.new_revenue, 200);
  EXPECT_EQ(feb.returning_revenue, 70);
  EXPECT_EQ(feb.failed_payments, 0);

  const MonthlyRow& apr = d.months[3];
  EXPECT_EQ(apr.revenue, 340);  // includes the booking at as_of, not May's
  EXPECT_EQ(apr.orders, 2);
  EXPECT_EQ(apr.new_buyers, 1);
  EXPECT_EQ(apr.returning_buyers, 1);
  EXPECT_EQ(apr.new_revenue, 300);
  EXPECT_EQ(apr.returning_revenue, 40);
  EXPECT_EQ(apr.promo_orders, 1);
  EXPECT_EQ(apr.promo_amount, 30);
}

TEST(Diagnose, MonthWithoutPurchasesHasZeroRow) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  const MonthlyRow& mar = d.months[2];
  EXPECT_EQ(mar.month, Month("2022-03"));
  EXPECT_EQ(mar.revenue, 0);
  EXPECT_EQ(mar.orders, 0);
  EXPECT_EQ(mar.buyers, 0);
  EXPECT_EQ(mar.new_buyers, 0);
  EXPECT_EQ(mar.labeled, 0);
  EXPECT_EQ(mar.churn_rate, 0);
  EXPECT_EQ(mar.failed_payments, 1);
}

TEST(Diagnose, ChurnRateExcludesCensoredLabels) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  EXPECT_EQ(d.months[0].labeled, 1);
  EXPECT_EQ(d.months[0].churned, 0);
  EXPECT_EQ(d.months[0].churn_rate, 0);
  EXPECT_EQ(d.months[1].labeled, 2);
  EXPECT_EQ(d.months[1].censored, 1);
  EXPECT_EQ(d.months[1].churned, 1);
  EXPECT_DOUBLE_EQ(d.months[1].churn_rate, 0.5);
  EXPECT_EQ(d.months[3].labeled, 0);
  EXPECT_EQ(d.months[3].censored, 2);
  EXPECT_EQ(d.months[3].churn_rate, 0);
}

TEST(Diagnose, SegmentChurnUsesCurrentSegments) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  ASSERT_EQ(d.segment_months.size(), 6u);
  auto row = [&](size_t i) {
    const SegmentMonthRow& r = d.segment_months[i];
    return FormatMonth(r.month) + " " + r.segment + " " +
           std::to_string(r.labeled) + "/" + std::to_string(r.churned) + "/" +
           std::to_string(r.censored);
  };
  EXPECT_EQ(row(0), "2022-01 Champions 1/0/0");
  EXPECT_EQ(row(1), "2022-02 (none) 0/0/1");
  EXPECT_EQ(row(2), "2022-02 At Risk 1/0/0");
  EXPECT_EQ(row(3), "2022-02 Champions 1/1/0");
  EXPECT_EQ(row(4), "2022-04 Champions 0/0/1");
  EXPECT_EQ(row(5), "2022-04 New 0/0/1");
  EXPECT_DOUBLE_EQ(d.segment_months[3].churn_rate, 1.0);
  EXPECT_DOUBLE_EQ(d.segment_months[2].churn_rate, 0.0);
}

TEST(Diagnose, FunnelCountsSessionsByStartMonth) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  const FunnelRow& jan = d.funnel[0];
  EXPECT_EQ(jan.sessions, 2);  // the one starting Jan 31 counts in January
  EXPECT_EQ(jan.homepage, 2);  // sessions, not events
  EXPECT_EQ(jan.search, 1);
  EXPECT_EQ(jan.item_detail, 1);
  EXPECT_EQ(jan.add_to_cart, 1);
  EXPECT_EQ(jan.add_promo, 1);
  EXPECT_EQ(jan.booking, 1);
  EXPECT_EQ(jan.successful_payment, 2);
  const FunnelRow& feb = d.funnel[1];
  EXPECT_EQ(feb.sessions, 1);
  EXPECT_EQ(feb.homepage, 1);
  EXPECT_EQ(feb.search, 0);
  EXPECT_EQ(feb.successful_payment, 2);
  const FunnelRow& mar = d.funnel[2];
  EXPECT_EQ(mar.sessions, 1);
  EXPECT_EQ(mar.search, 1);
  EXPECT_EQ(mar.add_promo, 1);
  EXPECT_EQ(mar.successful_payment, 0);
  const FunnelRow& apr = d.funnel[3];
  EXPECT_EQ(apr.sessions, 0);  // April 20 is after as_of
  EXPECT_EQ(apr.successful_payment, 2);
}

TEST(Diagnose, PromoUsageBySegment) {
  const Diagnosis d = Example().Run(At("2022-04-15T00:00:00Z"));
  ASSERT_EQ(d.promo_by_segment.size(), 3u);
  const PromoRow& at_risk = d.promo_by_segment[0];
  EXPECT_EQ(at_risk.segment, "At Risk");
  EXPECT_EQ(at_risk.orders, 1);
  EXPECT_EQ(at_risk.promo_orders, 0);
  EXPECT_EQ(at_risk.promo_share, 0);
  const PromoRow& champions = d.promo_by_segment[1];
  EXPECT_EQ(champions.segment, "Champions");
  EXPECT_EQ(champions.orders, 4);
  EXPECT_EQ(champions.promo_orders, 1);
  EXPECT_DOUBLE_EQ(champions.promo_share, 0.25);
  EXPECT_EQ(champions.promo_amount, 10);
  const PromoRow& new_buyers = d.promo_by_segment[2];
  EXPECT_EQ(new_buyers.segment, "New");
  EXPECT_DOUBLE_EQ(new_buyers.promo_share, 1.0);
  EXPECT_EQ(new_buyers.promo_amount, 30);
}

TEST(Diagnose, EmptyTablesGiveEmptyDiagnosis) {
  Tables t;
  const Diagnosis d = t.Run(At("2022-04-15T00:00:00Z"));
  EXPECT_TRUE(d.months.empty());
  EXPECT_TRUE(d.funnel.empty());
  EXPECT_THAT(FormatDiagnosis(d), HasSubstr("no bookings"));
}

// Random tables with a thousand customers over two years: every figure is the
// same on 1, 2, 3 and 8 threads, and the totals match counts taken directly
// from the tables.
TEST(Diagnose, ResultDoesNotDependOnThreads) {
  std::mt19937_64 rng(17);
  const Micros from = At("2021-01-01T00:00:00Z");
  const Micros span = At("2023-01-01T00:00:00Z") - from;
  const Micros as_of = At("2022-10-15T12:00:00Z");
  auto time = [&] {
    return from + static_cast<Micros>(rng() % static_cast<uint64_t>(span));
  };
  const std::vector<std::string> segment_names = {"Champions", "Lost", "New"};
  Tables t;
  int64_t sessions_in_range = 0, purchases_in_range = 0;
  std::set<int64_t> buyers;
  for (int i = 0; i < 6000; ++i) {
    const int64_t customer = 1 + static_cast<int64_t>(rng() % 1000);
    const Micros at = time();
    const bool success = rng() % 10 != 0;
    const bool promo = rng() % 3 == 0;
    table_test::AppendBooking({.customer = customer,
                               .at = at,
                               .total = 100 + static_cast<int64_t>(rng() % 900),
                               .success = success,
                               .promo_code = promo ? 1u : 0u,
                               .promo_amount = promo ? 5 : 0},
                              &t.bookings);
    if (at <= as_of && success) {
      ++purchases_in_range;
      buyers.insert(customer);
    }
  }
  for (int i = 0; i < 20000; ++i) {
    const Micros at = time();
    const uint16_t types = static_cast<uint16_t>(rng() & 0x3ff);
    t.sessions.session.push_back(static_cast<uint32_t>(i));
    t.sessions.piece.push_back(1);
    t.sessions.customer_id.push_back(kNoCustomer);
    t.sessions.start.push_back(at);
    t.sessions.end.push_back(at + kMicrosPerMinute);
    t.sessions.event_count.push_back(1);
    t.sessions.event_types.push_back(types);
    t.sessions.traffic_source.push_back(TrafficSource::kMobile);
    t.sessions.last_event.push_back(EventType::kHomepage);
    sessions_in_range += at <= as_of;
  }
  for (int64_t customer = 1; customer <= 1000; ++customer) {
    if (customer % 4 != 0) {
      t.segment_of[customer] = segment_names[customer % 3];
    }
  }

  const Diagnosis one = t.Run(as_of);
  int64_t sessions = 0, orders = 0, promo_orders = 0, new_buyers = 0;
  for (const FunnelRow& f : one.funnel) sessions += f.sessions;
  for (const MonthlyRow& m : one.months) new_buyers += m.new_buyers;
  for (const PromoRow& p : one.promo_by_segment) {
    orders += p.orders;
    promo_orders += p.promo_orders;
  }
  EXPECT_EQ(sessions, sessions_in_range);
  EXPECT_EQ(orders, purchases_in_range);
  EXPECT_EQ(new_buyers, static_cast<int64_t>(buyers.size()));
  EXPECT_EQ(one.promo_by_segment.size(), 4u);  // three names and "(none)"
  EXPECT_GT(promo_orders, 0);

  for (int threads : {2, 3, 8}) {
    auto many = Diagnose(t.bookings, t.sessions, t.labels, t.segment_of, as_of,
                         threads);
    ASSERT_TRUE(many.ok()) << many.status();
    ASSERT_EQ(many->months.size(), one.months.size());
    for (size_t k = 0; k < one.months.size(); ++k) {
      const MonthlyRow &a = one.months[k], &b = many->months[k];
      EXPECT_EQ(std::tie(a.month, a.revenue, a.orders, a.buyers, a.new_buyers,
                         a.new_revenue, a.failed_payments, a.promo_orders,
                         a.promo_amount),
                std::tie(b.month, b.revenue, b.orders, b.buyers, b.new_buyers,
                         b.new_revenue, b.failed_payments, b.promo_orders,
                         b.promo_amount))
          << "threads " << threads << " month slot " << k;
      const FunnelRow &f = one.funnel[k], &g = many->funnel[k];
      EXPECT_EQ(
          std::tie(f.month, f.sessions, f.homepage, f.search, f.item_detail,
                   f.add_to_cart, f.add_promo, f.booking, f.successful_payment),
          std::tie(g.month, g.sessions, g.homepage, g.search, g.item_detail,
                   g.add_to_cart, g.add_promo, g.booking, g.successful_payment))
          << "threads " << threads << " month slot " << k;
    }
    ASSERT_EQ(many->promo_by_segment.size(), one.promo_by_segment.size());
    for (size_t i = 0; i < one.promo_by_segment.size(); ++i) {
      const PromoRow &a = one.promo_by_segment[i],
                     &b = many->promo_by_segment[i];
      EXPECT_EQ(std::tie(a.segment, a.orders, a.promo_orders, a.promo_amount),
                std::tie(b.segment, b.orders, b.promo_orders, b.promo_amount))
          << "threads " << threads;
    }
  }
}

TEST(Diagnose, RejectsRaggedColumns) {
  Tables t = Example();
  t.bookings.promo_code.pop_back();
  EXPECT_THAT(Diagnose(t.bookings, t.sessions, t.labels, t.segment_of,
                       At("2022-04-15T00:00:00Z"))
                  .status()
                  .message(),
              HasSubstr("booking table"));
  t = Example();
  t.sessions.event_types.pop_back();
  EXPECT_FALSE(
      Diagnose(t.bookings, t.sessions, t.labels, t.segment_of, 0).ok());
  t = Example();
  t.labels.censored.pop_back();
  EXPECT_FALSE(
      Diagnose(t.bookings, t.sessions, t.labels, t.segment_of, 0).ok());
}

// Months from `first_month` with the given revenue; the last one is partial
// when `last_partial` (as Diagnose marks the month of an as_of before its last
// microsecond).
Diagnosis RevenueSeries(const char* first_month, std::vector<int64_t> revenue,
                        Micros as_of, bool last_partial) {
  Diagnosis d;
  d.as_of = as_of;
  const MonthIndex first = Month(first_month);
  for (size_t k = 0; k < revenue.size(); ++k) {
    MonthlyRow r;
    r.month = first + static_cast<MonthIndex>(k);
    r.revenue = revenue[k];
    r.orders = 10 + static_cast<int64_t>(k);
    r.buyers = 5;
    r.new_buyers = 2;
    r.returning_buyers = 3;
    r.labeled = 4;
    r.churned = 1;
    r.churn_rate = 0.25;
    d.months.push_back(r);
  }
  d.months.back().partial = last_partial;
  return d;
}

// The headline compares complete months; the partial month gets its own line:
// revenue so far and its daily rate carried over the month. Here July is 14
// whole days in: 434,000 / 14 x 31 = 961,000, which is 961/840 - 1 = +14.4%
// against June and 961/1000 - 1 = -3.9% against April, the peak.
TEST(FormatDiagnosis, ComparesCompleteMonthsThenThePartialMonthsDailyRate) {
  const Diagnosis d =
      RevenueSeries("2022-03", {800, 1'000'000, 900'000, 840'000, 434'000},
                    At("2022-07-14T23:59:59.999999Z"), /*last_partial=*/true);
  const std::string text = FormatDiagnosis(d, 3);
  EXPECT_THAT(text, HasSubstr("revenue peaked 2022-04 (IDR 1,000,000); the "
                              "latest complete month, 2022-06, is -16.0% vs "
                              "peak, -6.7% vs 2022-05\n"));
  EXPECT_THAT(text, HasSubstr("\n2022-07*  "));
  EXPECT_THAT(text, HasSubstr("\n* partial month: up to the as-of time only, "
                              "14.0 of its 31 days\n"));
  EXPECT_THAT(text, HasSubstr("\n2022-07 so far: IDR 434,000 in 14.0 of 31 "
                              "days; at that daily rate the full month would "
                              "be IDR 961,000: +14.4% vs 2022-06, -3.9% vs "
                              "peak\n"));
  EXPECT_THAT(text, HasSubstr("900,000"));
  EXPECT_THAT(text, HasSubstr("25.0% of 4"));
  EXPECT_THAT(text, Not(HasSubstr("\n2022-03")));  // only the last 3 months
  EXPECT_THAT(text, Not(HasSubstr("\n2022-04")));
}

// A partial month's total is not a month's total: even when it is the largest
// so far it is not the peak, and the headline's months are complete.
TEST(FormatDiagnosis, PartialMonthIsNeverThePeak) {
  const Diagnosis d =
      RevenueSeries("2022-05", {1000, 900, 5000},
                    At("2022-07-10T23:59:59.999999Z"), /*last_partial=*/true);
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, HasSubstr("revenue peaked 2022-05 (IDR 1,000); the latest "
                              "complete month, 2022-06, is -10.0% vs peak, "
                              "-10.0% vs 2022-05\n"));
  // 5,000 / 10 x 31 = 15,500: +1622.2% vs 900, +1450.0% vs 1,000.
  EXPECT_THAT(text, HasSubstr("2022-07 so far: IDR 5,000 in 10.0 of 31 days; "
                              "at that daily rate the full month would be IDR "
                              "15,500: +1622.2% vs 2022-06, +1450.0% vs peak"));
}

TEST(FormatDiagnosis, PartialMonthAfterThePeakNamesItOnce) {
  // 450 / 15 x 31 = 930 against June's 1,000, the peak: -7.0%.
  const Diagnosis d =
      RevenueSeries("2022-05", {800, 1000, 450},
                    At("2022-07-15T23:59:59.999999Z"), /*last_partial=*/true);
  EXPECT_THAT(FormatDiagnosis(d),
              HasSubstr("2022-07 so far: IDR 450 in 15.0 of 31 days; at that "
                        "daily rate the full month would be IDR 930: -7.0% vs "
                        "2022-06 (the peak)\n"));
}

TEST(FormatDiagnosis, PartialMonthUnderADayInHasNoDailyRate) {
  // Six hours of July: 0.25 days, shown rounded down.
  const Diagnosis d =
      RevenueSeries("2022-06", {1000, 50}, At("2022-07-01T05:59:59.999999Z"),
                    /*last_partial=*/true);
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, HasSubstr("the latest complete month, 2022-06, is the "
                              "peak\n"));
  EXPECT_THAT(text, HasSubstr("2022-07 so far: IDR 50 in 0.2 of 31 days; under "
                              "a day in, too early for a daily rate\n"));
  EXPECT_THAT(text, Not(HasSubstr("daily rate the full month")));
}

TEST(FormatDiagnosis, OnlyAPartialMonthHasNoPeak) {
  // 700 / 10 x 31 = 2,170, with no complete month to compare it with.
  const Diagnosis d =
      RevenueSeries("2022-05", {700}, At("2022-05-10T23:59:59.999999Z"),
                    /*last_partial=*/true);
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, Not(HasSubstr("peak")));
  EXPECT_THAT(text, HasSubstr("2022-05 so far: IDR 700 in 10.0 of 31 days; at "
                              "that daily rate the full month would be IDR "
                              "2,170\n"));
}

TEST(FormatDiagnosis, CompleteLastMonthIsCompared) {
  const Diagnosis d =
      RevenueSeries("2022-05", {1000, 500, 600},
                    MonthStart(Month("2022-08")) - 1, /*last_partial=*/false);
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, Not(HasSubstr("*")));
  EXPECT_THAT(text, Not(HasSubstr("so far")));
  EXPECT_THAT(text, HasSubstr("the latest complete month, 2022-07, is -40.0% "
                              "vs peak, +20.0% vs 2022-06\n"));
  EXPECT_THAT(text, HasSubstr("\n2022-05"));  // all three shown

  const Diagnosis at_peak =
      RevenueSeries("2022-05", {100, 500}, MonthStart(Month("2022-07")) - 1,
                    /*last_partial=*/false);
  EXPECT_THAT(FormatDiagnosis(at_peak),
              HasSubstr("the latest complete month, 2022-06, is the peak, "
                        "+400.0% vs 2022-05\n"));
}

TEST(FormatDiagnosis, UnlabeledMonthShowsNotAvailable) {
  Diagnosis d = RevenueSeries("2022-05", {0}, At("2022-05-10T00:00:00Z"),
                              /*last_partial=*/true);
  d.months[0].labeled = 0;
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, HasSubstr("n/a"));
  EXPECT_THAT(text, HasSubstr("no revenue yet"));
}

TEST(FormatDiagnosis, MonthWithOpenWindowsShowsNoChurnRate) {
  // 2022-06 has 3 labels still censored: its known labels (4, 3 churned)
  // must not be shown as a 75% churn rate. 2022-05 is complete.
  Diagnosis d =
      RevenueSeries("2022-05", {1000, 900}, At("2022-06-20T00:00:00Z"),
                    /*last_partial=*/true);
  d.months[1].censored = 3;
  d.months[1].churned = 3;
  d.months[1].churn_rate = 0.75;
  const std::string text = FormatDiagnosis(d);
  EXPECT_THAT(text, HasSubstr("25.0% of 4"));  // 2022-05
  EXPECT_THAT(text, HasSubstr("n/a: 3 open"));
  EXPECT_THAT(text, Not(HasSubstr("75.0%")));
  EXPECT_THAT(text, HasSubstr("would overstate churn"));

  d.months[1].censored = 0;  // complete again: rate shown, no footnote
  const std::string complete = FormatDiagnosis(d);
  EXPECT_THAT(complete, HasSubstr("75.0% of 4"));
  EXPECT_THAT(complete, Not(HasSubstr("open")));
}

}  // namespace
}  // namespace winback
