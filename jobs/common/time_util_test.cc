#include "jobs/common/time_util.h"

#include <gtest/gtest.h>

#include <ctime>
#include <limits>

namespace winback {
namespace {

TEST(ParseTimestamp, ParsesMicrosecondsWithZone) {
  // 2022-06-16T16:53:30.033496Z, checked with `date -u -d ... +%s` = 1655398410.
  auto t = ParseTimestamp("2022-06-16T16:53:30.033496Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 1655398410LL * kMicrosPerSecond + 33496);
}

TEST(ParseTimestamp, AcceptsVariants) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:01"), kMicrosPerSecond);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00.5+00:00"), 500000);
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00.123456789Z"), 123456);
}

TEST(ParseTimestamp, RejectsMalformed) {
  for (const char* bad :
       {"", "2022-13-01T00:00:00Z", "2022-02-30T00:00:00Z", "2022-06-16",
        "2022-06-16T24:00:00Z", "2022-06-16T16:53:30.Z", "not a time",
        "2022-06-16T16:53:30.033496+07:00", "2022-06-16T16:5a:30Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

TEST(ParseTimestamp, RoundTripsThroughFormat) {
  for (Micros t : {Micros{0}, Micros{1655398410033496}, Micros{-1},
                   Micros{951782400000000} /* 2000-02-29 */}) {
    EXPECT_EQ(ParseTimestamp(FormatTimestamp(t)), t) << FormatTimestamp(t);
  }
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(ParseDate, LeapYears) {
  EXPECT_EQ(ParseDate("2020-02-29"), DaysFromCivil(2020, 2, 29));
  EXPECT_FALSE(ParseDate("2021-02-29").has_value());
  EXPECT_FALSE(ParseDate("1900-02-29").has_value());
  EXPECT_TRUE(ParseDate("2000-02-29").has_value());
  EXPECT_EQ(ParseDate("1970-01-02"), 1);
  EXPECT_EQ(FormatDate(*ParseDate("2016-06-30")), "2016-06-30");
}

TEST(DaysInMonth, FollowsTheGregorianRules) {
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);  // divisible by 100, not by 400
  EXPECT_EQ(DaysInMonth(2000, 2), 29);  // divisible by 400
  EXPECT_EQ(DaysInMonth(2022, 4), 30);
  EXPECT_EQ(DaysInMonth(2022, 12), 31);
  EXPECT_FALSE(IsLeap(2100));
  EXPECT_TRUE(IsLeap(2096));
}

TEST(Month, AgreesWithGmtimeInsideAndOutsideTheLookupTable) {
  // MonthOf looks days 1970-01-01 .. 2099-12-31 up in a table and computes
  // the rest; libc's gmtime_r is the independent reference, including the
  // table's edges, the last microsecond of a day and days before 1970.
  for (int64_t day = -800; day < 48300; day += (day > 200 && day < 47000) ? 97 : 1) {
    for (Micros offset : {Micros{0}, kMicrosPerDay - 1}) {
      const Micros t = day * kMicrosPerDay + offset;
      const std::time_t seconds = static_cast<std::time_t>(day * 86400 + offset / kMicrosPerSecond);
      std::tm tm{};
      ASSERT_NE(gmtime_r(&seconds, &tm), nullptr);
      ASSERT_EQ(MonthOf(t), (tm.tm_year + 1900) * 12 + tm.tm_mon) << "day " << day;
    }
  }
}

TEST(Month, CrossesYearEnds) {
  const Micros dec31 = *ParseTimestamp("2021-12-31T23:59:59.999999Z");
  const Micros jan1 = *ParseTimestamp("2022-01-01T00:00:00Z");
  EXPECT_EQ(MonthOf(jan1), MonthOf(dec31) + 1);
  EXPECT_EQ(FormatMonth(MonthOf(dec31)), "2021-12");
  EXPECT_EQ(FormatMonth(MonthOf(jan1)), "2022-01");
  EXPECT_EQ(MonthStart(MonthOf(dec31) + 1), jan1);
  EXPECT_EQ(ParseMonth("2022-01"), MonthOf(jan1));
  EXPECT_FALSE(ParseMonth("2022-13").has_value());
}

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(ParseDuration("30m"), 30 * kMicrosPerMinute);
  EXPECT_EQ(ParseDuration("25d"), 25 * kMicrosPerDay);
  EXPECT_EQ(ParseDuration("1h30m"), 90 * kMicrosPerMinute);
  EXPECT_EQ(ParseDuration("250us"), 250);
  EXPECT_FALSE(ParseDuration("30").has_value());
  EXPECT_FALSE(ParseDuration("m").has_value());
  EXPECT_FALSE(ParseDuration("-5m").has_value());
  EXPECT_FALSE(ParseDuration("5 weeks").has_value());
  EXPECT_EQ(FormatDuration(90 * kMicrosPerMinute), "1h30m");
  EXPECT_EQ(FormatDuration(25 * kMicrosPerDay), "25d");
}

TEST(Duration, TooLongForMicrosComesBackAsTheLargest) {
  constexpr Micros kMax = std::numeric_limits<Micros>::max();
  // 300,000,000 days is 2.6e19 us, past int64's 9.2e18.
  EXPECT_EQ(ParseDuration("300000000d"), kMax);
  EXPECT_EQ(ParseDuration("99999999999999999999999us"), kMax);
  EXPECT_EQ(ParseDuration("106751d1000000000000h"), kMax);
  // 106,751 days is the longest whole number of days that fits.
  EXPECT_EQ(ParseDuration("106751d"), 106751 * kMicrosPerDay);
  // Counts above 2^40 used to be refused as malformed.
  EXPECT_EQ(ParseDuration("2000000000000us"), 2000000000000);
}

}  // namespace
}  // namespace winback
