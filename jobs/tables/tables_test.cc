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
