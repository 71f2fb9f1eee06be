#include "jobs/sessionize/sessionize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <tuple>
#include <vector>

namespace winback {
namespace {

using ::testing::ElementsAre;

constexpr Micros kT0 = 1'650'000'000LL * kMicrosPerSecond;
constexpr Micros kMin = kMicrosPerMinute;

// Builds click and booking tables in memory; session ids are small integers.
class Export {
 public:
  void Click(uint32_t session, Micros t, EventType type = EventType::kClick,
             uint64_t id = 0, TrafficSource src = TrafficSource::kMobile) {
    clicks.session.push_back(session);
    clicks.event_time.push_back(t);
    clicks.event_id.push_back(Uuid{0, id != 0 ? id : ++next_id_});
    clicks.event_type.push_back(type);
    clicks.traffic_source.push_back(src);
    pool_size = std::max<size_t>(pool_size, session + 1);
  }
  void Booking(uint32_t session, int64_t customer, Micros t) {
    bookings.created_at.push_back(t);
    bookings.customer_id.push_back(customer);
    bookings.session.push_back(session);
    pool_size = std::max<size_t>(pool_size, session + 1);
  }
  SessionTable Run(SessionizeOptions options = {}, SessionizeStats* st = nullptr) {
    auto r = Sessionize(clicks, bookings, pool_size, options, st);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : SessionTable{};
  }

  ClickTable clicks;
  BookingTable bookings;
  size_t pool_size = 0;

 private:
  uint64_t next_id_ = 1000;
};

TEST(Sessionize, GapOfExactlyThirtyMinutesDoesNotSplit) {
  Export x;
  x.Click(0, kT0);
  x.Click(0, kT0 + 30 * kMin);
  const SessionTable s = x.Run();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.event_count[0], 2u);
  EXPECT_EQ(s.end[0] - s.start[0], 30 * kMin);
}

TEST(Sessionize, SplitsOnGapOverThirtyMinutesByOneMicrosecond) {
  Export x;
  x.Click(0, kT0);
  x.Click(0, kT0 + 30 * kMin + 1);
  const SessionTable s = x.Run();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.piece[0], 1u);
  EXPECT_EQ(s.piece[1], 2u);
  EXPECT_EQ(s.start[1], kT0 + 30 * kMin + 1);
}

TEST(Sessionize, OrdersOutOfOrderRowsByTime) {
  Export x;
  // File order is scrambled; in time order the gaps are 10m, 50m, 5m.
  x.Click(0, kT0 + 65 * kMin, EventType::kBooking);
  x.Click(0, kT0, EventType::kHomepage);
  x.Click(0, kT0 + 60 * kMin, EventType::kAddToCart);
  x.Click(0, kT0 + 10 * kMin, EventType::kSearch);
  const SessionTable s = x.Run();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.start[0], kT0);
  EXPECT_EQ(s.end[0], kT0 + 10 * kMin);
  EXPECT_EQ(s.last_event[0], EventType::kSearch);
  EXPECT_FALSE(s.Has(0, EventType::kBooking));
  EXPECT_EQ(s.start[1], kT0 + 60 * kMin);
  EXPECT_EQ(s.last_event[1], EventType::kBooking);
  EXPECT_TRUE(s.Has(1, EventType::kBooking));
}

TEST(Sessionize, TiesInEventTimeFallBackToEventId) {
  Export x;
  // Same instant: the larger event_id comes last, whatever the file order.
  x.Click(0, kT0, EventType::kBooking, /*id=*/2);
  x.Click(0, kT0, EventType::kAddToCart, /*id=*/9);
  x.Click(0, kT0, EventType::kHomepage, /*id=*/5);
  const SessionTable s = x.Run();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.last_event[0], EventType::kAddToCart);
  EXPECT_EQ(s.end[0] - s.start[0], 0);
}

TEST(Sessionize, LinksCustomerThroughBookingAndLeavesOthersUnlinked) {
  Export x;
  x.Click(0, kT0);
  x.Click(0, kT0 + 2 * kMicrosPerDay);  // second piece, same customer
  x.Click(1, kT0);                      // no booking
  x.Booking(0, 77, kT0 + 2 * kMicrosPerDay);
  SessionizeStats st;
  const SessionTable s = x.Run({}, &st);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.customer_id[0], 77);
  EXPECT_EQ(s.customer_id[1], 77);
  EXPECT_EQ(s.customer_id[2], kNoCustomer);
  EXPECT_EQ(st.session_ids, 2);
  EXPECT_EQ(st.sessions, 3);
  EXPECT_EQ(st.sessions_linked, 2);
}

TEST(Sessionize, RecordsEventTypesAndKeepsFirstTrafficSource) {
  Export x;
  x.Click(3, kT0 + 1, EventType::kAddToCart, 0, TrafficSource::kMobile);
  x.Click(3, kT0, EventType::kHomepage, 0, TrafficSource::kWeb);
  x.Click(3, kT0 + 2, EventType::kAddToCart, 0, TrafficSource::kMobile);
  const SessionTable s = x.Run();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.session[0], 3u);
  EXPECT_EQ(s.event_count[0], 3u);
  EXPECT_EQ(s.event_types[0], (1u << static_cast<int>(EventType::kAddToCart)) |
                                  (1u << static_cast<int>(EventType::kHomepage)));
  EXPECT_TRUE(s.Has(0, EventType::kAddToCart));
  EXPECT_FALSE(s.Has(0, EventType::kSearch));
  EXPECT_EQ(s.Count(0, EventType::kAddToCart), 2u);
  EXPECT_EQ(s.Count(0, EventType::kHomepage), 1u);
  EXPECT_EQ(s.Count(0, EventType::kSearch), 0u);
  ASSERT_EQ(s.repeated_types.size(), 1u);
  EXPECT_EQ(s.repeated_types[0].row, 0u);
  EXPECT_EQ(s.traffic_source[0], TrafficSource::kWeb);
  EXPECT_EQ(s.last_event[0], EventType::kAddToCart);
}

// The count of each event type per session, against a count of the clicks
// whose session id and time fall in the session (the pieces of one session
// id are apart in time by more than the gap, so that finds each one's).
TEST(Sessionize, CountsEachEventTypePerSession) {
  Export x;
  for (uint32_t sid = 0; sid < 60; ++sid) {
    const int events = 1 + static_cast<int>(sid % 9);
    for (int e = 0; e < events; ++e) {
      x.Click(sid, kT0 + ((e * 41 + sid * 13) % 89) * kMin,
              static_cast<EventType>((e * 5 + sid) % 7 % kEventTypeCount));
    }
  }
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    SessionizeOptions o;
    o.threads = threads;
    const SessionTable s = x.Run(o);
    size_t repeated = 0;
    for (size_t row = 0; row < s.size(); ++row) {
      std::array<uint32_t, kEventTypeCount> want{};
      for (size_t i = 0; i < x.clicks.size(); ++i) {
        if (x.clicks.session[i] == s.session[row] &&
            x.clicks.event_time[i] >= s.start[row] &&
            x.clicks.event_time[i] <= s.end[row]) {
          ++want[static_cast<int>(x.clicks.event_type[i])];
        }
      }
      uint32_t total = 0, types = 0;
      for (int t = 0; t < kEventTypeCount; ++t) {
        EXPECT_EQ(s.Count(row, static_cast<EventType>(t)), want[t])
            << "row " << row << ", type " << t;
        total += want[t];
        types += want[t] > 0;
      }
      EXPECT_EQ(s.event_count[row], total) << "row " << row;
      // Listed exactly when some type repeats, in row order.
      if (total > types) {
        ASSERT_LT(repeated, s.repeated_types.size());
        EXPECT_EQ(s.repeated_types[repeated++].row, row);
      }
    }
    EXPECT_EQ(repeated, s.repeated_types.size());
    EXPECT_GT(repeated, 10u);
  }
}

TEST(Sessionize, IgnoresEventsAndBookingsAfterAsOf) {
  Export x;
  x.Click(0, kT0);
  x.Click(0, kT0 + 40 * kMin);  // after as_of
  x.Booking(0, 5, kT0 + 40 * kMin);
  SessionizeOptions o;
  o.as_of = kT0 + 39 * kMin;
  SessionizeStats st;
  const SessionTable s = x.Run(o, &st);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.customer_id[0], kNoCustomer);
  EXPECT_EQ(st.events_after_as_of, 1);
}

TEST(Sessionize, ResultDoesNotDependOnThreadCount) {
  Export x;
  for (uint32_t sid = 0; sid < 50; ++sid) {
    for (int e = 0; e < 20; ++e) {
      // Deterministic irregular gaps: some over 30 minutes, some not.
      x.Click(sid, kT0 + ((e * 37 + sid * 11) % 97) * kMin);
    }
  }
  SessionizeOptions one, three;
  one.threads = 1;
  three.threads = 3;
  const SessionTable a = x.Run(one), b = x.Run(three);
  EXPECT_EQ(a.session, b.session);
  EXPECT_EQ(a.piece, b.piece);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.end, b.end);
  EXPECT_EQ(a.event_count, b.event_count);
  EXPECT_EQ(a.event_types, b.event_types);
  EXPECT_EQ(a.repeated_types, b.repeated_types);
  EXPECT_EQ(a.customer_id, b.customer_id);
  EXPECT_EQ(a.last_event, b.last_event);
}

TEST(Sessionize, RecordsHowASessionWasAtEachMonthEndItRunsPast) {
  const auto at = [](const char* text) { return *ParseTimestamp(text); };
  const Micros jan_end = at("2022-02-01T00:00:00Z") - 1;
  const Micros feb_end = at("2022-03-01T00:00:00Z") - 1;
  Export x;
  // Past January's end: at it, the session had ended with the booking.
  x.Click(1, at("2022-01-31T23:40:00Z"), EventType::kHomepage);
  x.Click(1, at("2022-01-31T23:55:00Z"), EventType::kBooking);
  x.Click(1, at("2022-02-01T00:10:00Z"), EventType::kAddToCart);
  // Past midnight, not a month's end.
  x.Click(2, at("2022-02-10T23:50:00Z"));
  x.Click(2, at("2022-02-11T00:10:00Z"));
  // An event at February's last microsecond is at its end, not past it.
  x.Click(3, at("2022-02-28T23:50:00Z"), EventType::kSearch);
  x.Click(3, feb_end, EventType::kAddPromo);
  x.Click(3, feb_end + 1, EventType::kClick);
  // Ends on a month's last microsecond: runs past nothing.
  x.Click(4, at("2022-01-31T23:50:00Z"));
  x.Click(4, jan_end);
  // Every 20 minutes from January 31 to March 1: past both month ends.
  for (Micros t = at("2022-01-31T23:00:00Z"); t <= at("2022-03-01T00:30:00Z");
       t += 20 * kMin) {
    x.Click(5, t, t < jan_end ? EventType::kSearch : EventType::kItemDetail);
  }
  for (int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    SessionizeOptions o;
    o.threads = threads;
    const SessionTable s = x.Run(o);
    ASSERT_EQ(s.size(), 5u);
    using Cut = SessionTable::MonthEndCut;
    std::vector<std::tuple<uint32_t, Micros, Micros, EventType>> got;
    for (const Cut& c : s.month_end_cuts) {
      got.emplace_back(s.session[c.row], c.tau, c.end, c.last_event);
    }
    // The last 20-minute click of January is 23:40 (23:00 + 2 x 20 min).
    EXPECT_THAT(
        got,
        ElementsAre(std::make_tuple(1u, jan_end, at("2022-01-31T23:55:00Z"),
                                    EventType::kBooking),
                    std::make_tuple(3u, feb_end, feb_end, EventType::kAddPromo),
                    std::make_tuple(5u, jan_end, at("2022-01-31T23:40:00Z"),
                                    EventType::kSearch),
                    std::make_tuple(5u, feb_end, at("2022-02-28T23:40:00Z"),
                                    EventType::kItemDetail)));
  }
}

TEST(Sessionize, ConsumingTheClicksGivesTheSameSessionsAndFreesThem) {
  Export x;
  for (uint32_t sid = 0; sid < 40; ++sid) {
    for (int e = 0; e < 15; ++e) {
      // Irregular gaps and some event_time ties (broken by event_id).
      x.Click(sid, kT0 + ((e * 29 + sid * 7) % 61) * kMin,
              e % 3 == 0 ? EventType::kAddToCart : EventType::kClick,
              /*id=*/0, e % 2 == 0 ? TrafficSource::kWeb : TrafficSource::kMobile);
    }
    if (sid % 4 == 0) x.Booking(sid, 100 + sid, kT0);
  }
  for (int threads : {1, 2}) {
    SessionizeOptions o;
    o.threads = threads;
    const SessionTable kept = x.Run(o);
    ClickTable copy = x.clicks;
    auto consumed =
        Sessionize(std::move(copy), x.bookings, x.pool_size, o, nullptr);
    ASSERT_TRUE(consumed.ok()) << consumed.status();
    EXPECT_EQ(copy.size(), 0u);
    EXPECT_TRUE(copy.event_id.empty());
    EXPECT_EQ(consumed->session, kept.session);
    EXPECT_EQ(consumed->piece, kept.piece);
    EXPECT_EQ(consumed->customer_id, kept.customer_id);
    EXPECT_EQ(consumed->start, kept.start);
    EXPECT_EQ(consumed->end, kept.end);
    EXPECT_EQ(consumed->event_count, kept.event_count);
    EXPECT_EQ(consumed->event_types, kept.event_types);
    EXPECT_EQ(consumed->repeated_types, kept.repeated_types);
    EXPECT_EQ(consumed->traffic_source, kept.traffic_source);
    EXPECT_EQ(consumed->last_event, kept.last_event);
  }
}

// A click line exported twice would add an event to its session: the later
// copies are dropped and counted, with their lines.
TEST(Sessionize, DropsARowExportedTwiceAndCountsIt) {
  Export x;
  x.Click(0, kT0, EventType::kHomepage, 7);           // row 0
  x.Click(0, kT0 + 5 * kMin, EventType::kSearch, 8);  // row 1
  x.Click(0, kT0, EventType::kHomepage, 7);           // row 2: row 0 again
  x.Click(0, kT0 + 5 * kMin, EventType::kSearch, 8);  // row 3: row 1 again
  x.Click(0, kT0 + 5 * kMin, EventType::kSearch, 8);  // row 4: and again
  x.Click(1, kT0, EventType::kClick, 9);              // row 5
  SessionizeStats st;
  const SessionTable s = x.Run({}, &st);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.event_count[0], 2u);
  EXPECT_EQ(s.end[0] - s.start[0], 5 * kMin);
  EXPECT_EQ(s.event_count[1], 1u);
  EXPECT_EQ(st.duplicate_events, 3);
  EXPECT_EQ(st.events_used, 3);
  // A table built in memory has row r on line r + 2.
  EXPECT_THAT(st.duplicate_lines, ElementsAre(4, 5, 6));
}

// Copies tie on (time, event_id) with each other and sort among other
// events of the same instant; the first row of each set of copies is kept,
// whatever else its later copies say.
TEST(Sessionize, KeepsTheFirstRowOfCopiesAmongEventsOfTheSameInstant) {
  Export x;
  x.Click(0, kT0, EventType::kSearch, 9);     // row 0
  x.Click(0, kT0, EventType::kBooking, 9);    // row 1: id 9 at kT0 again
  x.Click(0, kT0, EventType::kHomepage, 5);   // row 2
  x.Click(0, kT0, EventType::kAddToCart, 5);  // row 3: id 5 at kT0 again
  for (int threads : {1, 2, 3}) {
    SessionizeOptions o;
    o.threads = threads;
    SessionizeStats st;
    const SessionTable s = x.Run(o, &st);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s.event_count[0], 2u);
    // In (time, event_id) order: row 2 (id 5), then row 0 (id 9).
    EXPECT_EQ(s.last_event[0], EventType::kSearch);
    EXPECT_EQ(s.event_types[0],
              (1u << static_cast<int>(EventType::kHomepage)) |
                  (1u << static_cast<int>(EventType::kSearch)));
    EXPECT_EQ(st.duplicate_events, 2);
    EXPECT_THAT(st.duplicate_lines, ElementsAre(3, 5));  // rows 1 and 3
  }
}

// In a long session_id the sort does not keep copies in file order; the
// first row of each set of copies is still the one kept.
TEST(Sessionize, KeepsTheFirstRowOfCopiesInALongSessionId) {
  Export x;
  constexpr int kEvents = 300;
  for (int pass = 0; pass < 2; ++pass) {  // rows 0-299, then their copies
    for (int i = 0; i < kEvents; ++i) {
      const int k = (i * 7) % kEvents;  // scrambled time order
      x.Click(0, kT0 + k * kMin,
              pass == 0 ? EventType::kClick : EventType::kScroll,
              /*id=*/1 + static_cast<uint64_t>(k));
    }
  }
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    SessionizeOptions o;
    o.threads = threads;
    SessionizeStats st;
    const SessionTable s = x.Run(o, &st);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s.event_count[0], static_cast<uint32_t>(kEvents));
    EXPECT_EQ(s.event_types[0], 1u << static_cast<int>(EventType::kClick));
    EXPECT_EQ(s.Count(0, EventType::kClick), static_cast<uint32_t>(kEvents));
    EXPECT_EQ(s.Count(0, EventType::kScroll), 0u);
    EXPECT_EQ(st.duplicate_events, kEvents);
    EXPECT_THAT(st.duplicate_lines,
                ElementsAre(kEvents + 2, kEvents + 3, kEvents + 4, kEvents + 5,
                            kEvents + 6));
  }
}

// Not looked for: it would take a set of all event ids. Such rows are kept.
TEST(Sessionize, AnEventIdRepeatedAtAnotherTimeOrSessionIdIsKept) {
  Export x;
  x.Click(0, kT0, EventType::kClick, 7);
  x.Click(0, kT0 + 1, EventType::kClick, 7);  // 1 us later
  x.Click(1, kT0, EventType::kClick, 7);      // another session_id
  SessionizeStats st;
  const SessionTable s = x.Run({}, &st);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.event_count[0], 2u);
  EXPECT_EQ(s.event_count[1], 1u);
  EXPECT_EQ(st.duplicate_events, 0);
  EXPECT_TRUE(st.duplicate_lines.empty());
}

// Copies of every seventh row of a larger export, appended after it: the
// sessions are those of the export without them on any thread count, and
// the first copies are reported at their file lines.
TEST(Sessionize, DropsCopiesOnAnyThreadCountReportingTheirLines) {
  Export original, copied;
  for (Export* x : {&original, &copied}) {
    for (uint32_t sid = 0; sid < 30; ++sid) {
      for (int e = 0; e < 12; ++e) {
        x->Click(sid, kT0 + ((e * 37 + sid * 11) % 97) * kMin,
                 e % 3 == 0 ? EventType::kAddToCart : EventType::kClick);
      }
      if (sid % 3 == 0) x->Booking(sid, 100 + sid, kT0);
    }
  }
  const size_t rows = original.clicks.size();
  ASSERT_EQ(copied.clicks.event_id, original.clicks.event_id);
  std::vector<size_t> copy_rows;
  for (size_t r = 0; r < rows; r += 7) {
    const ClickTable& c = original.clicks;
    copy_rows.push_back(copied.clicks.size());
    copied.clicks.session.push_back(c.session[r]);
    copied.clicks.event_time.push_back(c.event_time[r]);
    copied.clicks.event_id.push_back(c.event_id[r]);
    copied.clicks.event_type.push_back(c.event_type[r]);
    copied.clicks.traffic_source.push_back(c.traffic_source[r]);
  }
  // As if the file had skipped lines: rows 0-99 on lines 2-101, rows 100-
  // on lines 110-, and the copies from line 1000 on.
  copied.clicks.line_runs = {{0, 2}, {100, 110}, {rows, 1000}};
  const int64_t copies = static_cast<int64_t>(copy_rows.size());
  ASSERT_GT(copies, 5);
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    SessionizeOptions o;
    o.threads = threads;
    SessionizeStats want_stats, st;
    const SessionTable want = original.Run(o, &want_stats);
    const SessionTable s = copied.Run(o, &st);
    EXPECT_EQ(s.session, want.session);
    EXPECT_EQ(s.piece, want.piece);
    EXPECT_EQ(s.start, want.start);
    EXPECT_EQ(s.end, want.end);
    EXPECT_EQ(s.event_count, want.event_count);
    EXPECT_EQ(s.event_types, want.event_types);
    EXPECT_EQ(s.repeated_types, want.repeated_types);
    EXPECT_EQ(s.customer_id, want.customer_id);
    EXPECT_EQ(s.last_event, want.last_event);
    EXPECT_EQ(st.events_used, static_cast<int64_t>(rows));
    EXPECT_EQ(st.duplicate_events, copies);
    EXPECT_THAT(st.duplicate_lines, ElementsAre(1000, 1001, 1002, 1003, 1004));
    ClickTable consumed = copied.clicks;
    SessionizeStats consumed_stats;
    auto c = Sessionize(std::move(consumed), copied.bookings, copied.pool_size,
                        o, &consumed_stats);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->event_count, want.event_count);
    EXPECT_EQ(consumed_stats.duplicate_lines, st.duplicate_lines);
  }
}

TEST(Sessionize, RejectsBadOptions) {
  Export x;
  x.Click(0, kT0);
  SessionizeOptions o;
  o.gap = 0;
  EXPECT_EQ(Sessionize(x.clicks, x.bookings, x.pool_size, o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace winback
