#include "jobs/labels/labels.h"

#include <gtest/gtest.h>

#include "jobs/tables/tables_test_util.h"

namespace winback {
namespace {

using table_test::At;

class Bookings {
 public:
  Bookings& Add(int64_t customer, const char* iso, bool success = true) {
    table.created_at.push_back(At(iso));
    table.customer_id.push_back(customer);
    table.session.push_back(0);
    table.success.push_back(success ? 1 : 0);
    return *this;
  }
  LabelTable Run(Micros as_of, LabelStats* stats = nullptr) {
    LabelOptions o;
    o.as_of = as_of;
    auto r = LabelChurn(table, o, stats);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : LabelTable{};
  }
  BookingTable table;
};

constexpr Micros kFarFuture = 4'000'000'000LL * kMicrosPerSecond;

TEST(LabelChurn, PurchaseExactlyTwentyFiveDaysLaterIsNotChurn) {
  Bookings b;
  b.Add(1, "2022-03-10T08:00:00Z").Add(1, "2022-04-04T08:00:00Z");
  const LabelTable l = b.Run(kFarFuture);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(FormatMonth(l.month[0]), "2022-03");
  EXPECT_EQ(l.churned[0], 0);
  EXPECT_EQ(l.censored[0], 0);
  EXPECT_EQ(l.churned[1], 1);  // nothing after April
}

TEST(LabelChurn, OneMicrosecondPastTheWindowIsChurn) {
  Bookings b;
  b.Add(1, "2022-03-10T08:00:00Z").Add(1, "2022-04-04T08:00:00.000001Z");
  const LabelTable l = b.Run(kFarFuture);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.churned[0], 1);
}

TEST(LabelChurn, UsesTheLastPurchaseOfTheMonth) {
  Bookings b;
  // Last March purchase is the 30th; 20 days later is a repurchase.
  b.Add(1, "2022-03-30T00:00:00Z")
      .Add(1, "2022-03-01T00:00:00Z")
      .Add(1, "2022-04-19T00:00:00Z");
  const LabelTable l = b.Run(kFarFuture);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.last_purchase_at[0], At("2022-03-30T00:00:00Z"));
  EXPECT_EQ(l.churned[0], 0);
}

TEST(LabelChurn, FailedPaymentsAreIgnored) {
  Bookings b;
  b.Add(1, "2022-03-10T00:00:00Z")
      .Add(1, "2022-03-20T00:00:00Z", /*success=*/false)  // not a purchase
      .Add(1, "2022-03-25T00:00:00Z", /*success=*/false);
  LabelStats st;
  const LabelTable l = b.Run(kFarFuture, &st);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.last_purchase_at[0], At("2022-03-10T00:00:00Z"));
  EXPECT_EQ(l.churned[0], 1);
  EXPECT_EQ(st.purchases, 1);
}

TEST(LabelChurn, CensoredWhileTheWindowIsOpenAtAsOf) {
  Bookings b;
  b.Add(1, "2022-07-01T00:00:00Z").Add(2, "2022-07-10T00:00:00Z");
  // T = 2022-07-26T00:00:00Z: customer 1's window ends exactly at T (closed,
  // known); customer 2's ends 2022-08-04 (open, censored).
  LabelStats st;
  const LabelTable l = b.Run(At("2022-07-26T00:00:00Z"), &st);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.censored[0], 0);
  EXPECT_EQ(l.churned[0], 1);
  EXPECT_EQ(l.censored[1], 1);
  EXPECT_EQ(l.churned[1], 0);
  EXPECT_EQ(st.labeled, 1);
  EXPECT_EQ(st.censored, 1);
  EXPECT_EQ(st.churned, 1);
}

TEST(LabelChurn, PurchasesAfterAsOfAreInvisible) {
  Bookings b;
  b.Add(1, "2022-05-01T00:00:00Z").Add(1, "2022-05-20T00:00:00Z");
  // As of May 10 the May 20 purchase has not happened: the label for May is
  // then driven by May 1 and censored (window open until May 26).
  const LabelTable l = b.Run(At("2022-05-10T00:00:00Z"));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l.last_purchase_at[0], At("2022-05-01T00:00:00Z"));
  EXPECT_EQ(l.censored[0], 1);
}

TEST(LabelChurn, MonthsCrossYearEnds) {
  Bookings b;
  b.Add(7, "2021-12-31T23:59:59.999999Z").Add(7, "2022-01-01T00:00:00Z");
  const LabelTable l = b.Run(kFarFuture);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(FormatMonth(l.month[0]), "2021-12");
  EXPECT_EQ(FormatMonth(l.month[1]), "2022-01");
  EXPECT_EQ(l.month[1], l.month[0] + 1);
  EXPECT_EQ(l.churned[0], 0);
}

TEST(LabelChurn, RowsOrderedByCustomerThenMonth) {
  Bookings b;
  b.Add(9, "2022-01-05T00:00:00Z")
      .Add(3, "2022-02-05T00:00:00Z")
      .Add(3, "2022-01-05T00:00:00Z");
  LabelStats st;
  const LabelTable l = b.Run(kFarFuture, &st);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l.customer_id, (std::vector<int64_t>{3, 3, 9}));
  EXPECT_LT(l.month[0], l.month[1]);
  EXPECT_EQ(st.customers, 2);
}

TEST(LabelChurn, RejectsNonPositiveWindow) {
  LabelOptions o;
  o.window = 0;
  EXPECT_FALSE(LabelChurn(BookingTable{}, o).ok());
}

}  // namespace
}  // namespace winback
