#include "services/cron.h"

#include "gtest/gtest.h"

namespace winback {
namespace {

absl::Time At(const char* zone, int y, int mo, int d, int h, int mi,
              int s = 0) {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(zone, &tz));
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), tz);
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

CronSchedule Parse(const char* expr, const char* zone) {
  auto c = CronSchedule::Parse(expr, zone);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(CronSchedule, NightlyInJakartaIsSevenHoursBeforeUtc) {
  const CronSchedule c = Parse("0 2 * * *", "Asia/Jakarta");
  // 02:00 WIB = 19:00 UTC the day before.
  EXPECT_EQ(c.Next(Utc(2024, 3, 10, 12, 0)), Utc(2024, 3, 10, 19, 0));
  EXPECT_EQ(c.Next(Utc(2024, 3, 10, 19, 0)), Utc(2024, 3, 11, 19, 0));
  EXPECT_EQ(c.Previous(Utc(2024, 3, 10, 12, 0)), Utc(2024, 3, 9, 19, 0));
  EXPECT_EQ(c.Previous(Utc(2024, 3, 10, 19, 0)), Utc(2024, 3, 10, 19, 0));
}

TEST(CronSchedule, ListsRangesAndSteps) {
  const CronSchedule c = Parse("*/15 9-10 * * 1,3", "UTC");
  // 2024-01-01 is a Monday.
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 0, 0)), Utc(2024, 1, 1, 9, 0));
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 9, 0)), Utc(2024, 1, 1, 9, 15));
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 10, 45)), Utc(2024, 1, 3, 9, 0));
  const CronSchedule r = Parse("10-50/20 * * * *", "UTC");
  EXPECT_EQ(r.Next(Utc(2024, 1, 1, 0, 11)), Utc(2024, 1, 1, 0, 30));
  EXPECT_EQ(r.Next(Utc(2024, 1, 1, 0, 50)), Utc(2024, 1, 1, 1, 10));
}

TEST(CronSchedule, OptionalSecondsField) {
  const CronSchedule c = Parse("*/2 * * * * *", "UTC");
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 0, 0, 1)), Utc(2024, 1, 1, 0, 0, 2));
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 0, 0, 2)), Utc(2024, 1, 1, 0, 0, 4));
  EXPECT_EQ(c.Next(Utc(2024, 1, 1, 0, 0, 59)), Utc(2024, 1, 1, 0, 1, 0));
}

TEST(CronSchedule, MonthEndsAndLeapDays) {
  const CronSchedule c = Parse("0 0 31 * *", "UTC");
  EXPECT_EQ(c.Next(Utc(2024, 4, 1, 0, 0)), Utc(2024, 5, 31, 0, 0));
  const CronSchedule leap = Parse("0 0 29 2 *", "UTC");
  EXPECT_EQ(leap.Next(Utc(2024, 3, 1, 0, 0)), Utc(2028, 2, 29, 0, 0));
  EXPECT_EQ(leap.Previous(Utc(2027, 1, 1, 0, 0)), Utc(2024, 2, 29, 0, 0));
  EXPECT_EQ(Parse("0 0 30 2 *", "UTC").Next(Utc(2024, 1, 1, 0, 0)),
            std::nullopt);
  // December to January across the year end.
  EXPECT_EQ(Parse("0 0 1 1 *", "UTC").Next(Utc(2024, 12, 31, 23, 59)),
            Utc(2025, 1, 1, 0, 0));
}

TEST(CronSchedule, DayOfWeekSundayIsZeroOrSevenAndOrsWithDayOfMonth) {
  // 2024-01-07 is a Sunday.
  EXPECT_EQ(Parse("0 0 * * 0", "UTC").Next(Utc(2024, 1, 2, 0, 0)),
            Utc(2024, 1, 7, 0, 0));
  EXPECT_EQ(Parse("0 0 * * 7", "UTC").Next(Utc(2024, 1, 2, 0, 0)),
            Utc(2024, 1, 7, 0, 0));
  // Both restricted: the 15th OR a Sunday.
  const CronSchedule c = Parse("0 0 15 * 0", "UTC");
  EXPECT_EQ(c.Next(Utc(2024, 1, 8, 0, 0)), Utc(2024, 1, 14, 0, 0));
  EXPECT_EQ(c.Next(Utc(2024, 1, 14, 0, 0)), Utc(2024, 1, 15, 0, 0));
}

TEST(CronSchedule, BerlinSpringForwardFiresAtTheTransition) {
  // 2024-03-31 02:00 CET jumps to 03:00 CEST (01:00 UTC).
  const CronSchedule c = Parse("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(c.Next(Utc(2024, 3, 30, 12, 0)), Utc(2024, 3, 31, 1, 0));
  // The day after: 02:30 CEST = 00:30 UTC.
  EXPECT_EQ(c.Next(Utc(2024, 3, 31, 1, 0)), Utc(2024, 4, 1, 0, 30));
  // Every 15 minutes over the gap: fires once at the transition, then 03:15.
  const CronSchedule q = Parse("*/15 * * * *", "Europe/Berlin");
  EXPECT_EQ(q.Next(Utc(2024, 3, 31, 0, 45)), Utc(2024, 3, 31, 1, 0));
  EXPECT_EQ(q.Next(Utc(2024, 3, 31, 1, 0)), Utc(2024, 3, 31, 1, 15));
}

TEST(CronSchedule, BerlinFallBackFiresOnce) {
  // 2024-10-27 03:00 CEST goes back to 02:00 CET (01:00 UTC): 02:30 happens
  // at 00:30 UTC and 01:30 UTC; it fires at the first.
  const CronSchedule c = Parse("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(c.Next(Utc(2024, 10, 26, 12, 0)), Utc(2024, 10, 27, 0, 30));
  EXPECT_EQ(c.Next(Utc(2024, 10, 27, 0, 30)), Utc(2024, 10, 28, 1, 30));
  EXPECT_EQ(c.Previous(Utc(2024, 10, 27, 1, 45)), Utc(2024, 10, 27, 0, 30));
  // Winter: 02:30 CET = 01:30 UTC.
  EXPECT_EQ(At("Europe/Berlin", 2024, 12, 1, 2, 30), Utc(2024, 12, 1, 1, 30));
}

TEST(CronSchedule, RejectsBadExpressionsNamingTheKey) {
  for (const char* bad : {"", "* * * *", "60 * * * *", "* 24 * * *",
                          "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                          "5-1 * * * *", "a * * * *", "1,,2 * * * *",
                          "* * * * * * *"}) {
    auto c = CronSchedule::Parse(bad, "UTC");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("schedule.cron"),
              absl::string_view::npos)
        << c.status();
  }
  auto tz = CronSchedule::Parse("0 2 * * *", "Asia/Nowhere");
  ASSERT_FALSE(tz.ok());
  EXPECT_NE(tz.status().message().find("schedule.time_zone"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace winback
