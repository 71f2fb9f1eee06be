#include "jobs/tables/tables.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace winback {
namespace {

TEST(Uuid, RoundTripsAndOrdersLikeText) {
  const std::string a = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  const std::string b = "0a1b2c3d-4e5f-6789-abce-000000000000";
  auto ua = ParseUuid(a), ub = ParseUuid(b);
  ASSERT_TRUE(ua && ub);
  EXPECT_EQ(FormatUuid(*ua), a);
  EXPECT_EQ(*ua < *ub, a < b);
  EXPECT_EQ(ParseUuid("0A1B2C3D-4E5F-6789-ABCD-EF0123456789"), ua);
}

TEST(Uuid, RejectsMalformed) {
  EXPECT_FALSE(ParseUuid("").has_value());
  EXPECT_FALSE(ParseUuid("0a1b2c3d-4e5f-6789-abcd-ef012345678g").has_value());
  EXPECT_FALSE(ParseUuid("0a1b2c3d4e5f-6789-abcd-ef0123456789-").has_value());
  // A dash only where the form has one.
  EXPECT_FALSE(ParseUuid("0a1b2c3d-4e5f-6-89-abcd-ef0123456789").has_value());
}

TEST(DropCustomersJoinedAfter, KeepsThoseKnownAtTheAsOfTime) {
  // Customers 10..14 joined on 07-01 .. 07-05; as of 07-03 12:00 UTC.
  CustomerTable c;
  for (int i = 0; i < 5; ++i) {
    c.customer_id.push_back(10 + i);
    c.gender.push_back(i % 2 ? Gender::kMale : Gender::kFemale);
    c.birthdate.push_back(1000 + i);
    c.device_type.push_back(DeviceType::kAndroid);
    c.home_location.push_back(i);
    c.first_join_date.push_back(*ParseDate("2022-07-01") + i);
    c.row_of[10 + i] = i;
  }
  const Micros as_of = *ParseTimestamp("2022-07-03T12:00:00Z");
  BookingTable b;
  // 14 booked before its join date, so it existed; 13 booked only after T.
  b.created_at = {*ParseTimestamp("2022-07-02T00:00:00Z"),
                  *ParseTimestamp("2022-07-05T00:00:00Z")};
  b.customer_id = {14, 13};

  // 13 joined 07-04 and booked after T; 12 joined on T's date: known.
  EXPECT_EQ(DropCustomersJoinedAfter(as_of, b, &c), 1);
  EXPECT_EQ(c.customer_id, (std::vector<int64_t>{10, 11, 12, 14}));
  EXPECT_EQ(c.birthdate, (std::vector<int32_t>{1000, 1001, 1002, 1004}));
  EXPECT_EQ(c.home_location, (std::vector<uint32_t>{0, 1, 2, 4}));
  EXPECT_EQ(c.gender[3], Gender::kFemale);
  EXPECT_EQ(c.first_join_date.back(), *ParseDate("2022-07-05"));
  ASSERT_EQ(c.row_of.size(), 4u);
  EXPECT_EQ(c.row_of.at(14), 3u);
  EXPECT_FALSE(c.row_of.contains(13));

  // Nothing left to remove.
  EXPECT_EQ(DropCustomersJoinedAfter(as_of, b, &c), 0);
  EXPECT_EQ(c.size(), 4u);
}

TEST(EventType, NamesRoundTrip) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    const auto t = static_cast<EventType>(i);
    EXPECT_EQ(ParseEventType(EventTypeName(t)), t);
  }
  EXPECT_FALSE(ParseEventType("booking").has_value());
  // Every other text of the names' lengths, one letter changed, fails,
  // as do prefixes, extensions and the empty text.
  for (int i = 0; i < kEventTypeCount; ++i) {
    const std::string name(EventTypeName(static_cast<EventType>(i)));
    for (size_t at = 0; at < name.size(); ++at) {
      std::string changed = name;
      changed[at] = changed[at] == 'X' ? 'Y' : 'X';
      EXPECT_FALSE(ParseEventType(changed).has_value()) << changed;
    }
    EXPECT_FALSE(ParseEventType(name.substr(0, name.size() - 1)).has_value());
    EXPECT_FALSE(ParseEventType(name + "S").has_value());
  }
  EXPECT_FALSE(ParseEventType("").has_value());
}

TEST(ClickTable, LineOfFollowsTheRunsOfConsecutiveLines) {
  ClickTable t;
  t.session.resize(7);
  EXPECT_EQ(t.LineOf(0), 2);  // built in memory: as if from a clean file
  EXPECT_EQ(t.LineOf(6), 8);
  // Rows 0-2 on lines 2-4, rows 3-4 on lines 9-10, rows 5-6 on 12-13.
  t.line_runs = {{0, 2}, {3, 9}, {5, 12}};
  const std::vector<int64_t> want = {2, 3, 4, 9, 10, 12, 13};
  for (size_t row = 0; row < want.size(); ++row) {
    EXPECT_EQ(t.LineOf(row), want[row]) << row;
  }
}

}  // namespace
}  // namespace winback
