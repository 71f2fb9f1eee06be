#include "jobs/readout/readout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "jobs/tables/tables_test_util.h"

namespace winback {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using table_test::At;

struct Bookings {
  Bookings() {
    table.promo_codes.Intern("");
    table.promo_codes.Intern("WEEKENDSERU");
    table.promo_codes.Intern("STAYWITHUS");
  }
  Bookings& Add(int64_t customer, const char* iso, int64_t total,
                const char* promo = "", bool success = true) {
    table_test::AppendBooking({.customer = customer,
                               .at = At(iso),
                               .total = total,
                               .success = success,
                               .promo_code = table.promo_codes.Intern(promo)},
                              &table);
    return *this;
  }
  BookingTable table;
};

constexpr const char* kListAsOf = "2022-06-01T00:00:00Z";

PublishedList List(std::vector<int64_t> treatment, std::vector<int64_t> holdout,
                   const char* as_of = kListAsOf) {
  return {7,
          At(as_of),
          "keep-at-risk-loyal",
          "STAYWITHUS",
          std::move(treatment),
          std::move(holdout)};
}

ReadoutOptions Options(const char* as_of, Micros window = 25 * kMicrosPerDay) {
  ReadoutOptions o;
  o.window = window;
  o.as_of = At(as_of);
  return o;
}

std::vector<CampaignReadout> ReadOut(const std::vector<PublishedList>& lists,
                                     const Bookings& b,
                                     const ReadoutOptions& o) {
  absl::StatusOr<std::vector<CampaignReadout>> r =
      ReadOutCampaigns(lists, b.table, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : std::vector<CampaignReadout>{};
}

// The window is (list as-of, list as-of + 25 days]: a purchase at the list's
// own instant was made before anyone could be contacted, and one at the
// window's last microsecond still counts.
TEST(ReadOutCampaigns, CountsSuccessfulPurchasesInTheWindowOnly) {
  Bookings b;
  b.Add(1, "2022-06-01T00:00:00Z", 1000)           // at the list's as-of: out
      .Add(1, "2022-06-01T00:00:00.000001Z", 200)  // first instant in
      .Add(1, "2022-06-10T00:00:00Z", 300, "STAYWITHUS")
      .Add(2, "2022-06-26T00:00:00Z", 400)          // last instant (+25d): in
      .Add(2, "2022-06-26T00:00:00.000001Z", 5000)  // after the window
      .Add(3, "2022-06-05T00:00:00Z", 700, "STAYWITHUS", false)  // failed
      .Add(4, "2022-06-05T00:00:00Z", 800, "WEEKENDSERU")
      .Add(9, "2022-06-05T00:00:00Z", 900);  // on no list
  const std::vector<CampaignReadout> r =
      ReadOut({List({1, 2, 3}, {4, 5})}, b, Options("2022-07-31T00:00:00Z"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].list_run_id, 7);
  EXPECT_EQ(r[0].campaign, "keep-at-risk-loyal");
  EXPECT_TRUE(r[0].complete);
  EXPECT_EQ(r[0].window_end, At("2022-06-26T00:00:00Z"));
  // Treatment: customer 1 bought 200 + 300 (once with the code), 2 bought
  // 400, 3's purchase failed. Revenue squares: 500^2 + 400^2.
  EXPECT_EQ(r[0].treatment, (GroupOutcome{3, 2, 1, 3, 900, 410000.0}));
  // Holdout: customer 4 bought 800 with another campaign's code; 5 nothing.
  EXPECT_EQ(r[0].holdout, (GroupOutcome{2, 1, 0, 1, 800, 640000.0}));
}

// A window that reaches past the measuring run's as-of time counts what is
// known so far and says it is incomplete; a list of the same as-of time or a
// later one is not read out at all.
TEST(ReadOutCampaigns, AWindowStillOpenIsCutAtTheAsOfTime) {
  Bookings b;
  b.Add(1, "2022-06-10T00:00:00Z", 300).Add(1, "2022-06-20T00:00:00Z", 600);
  const std::vector<CampaignReadout> r =
      ReadOut({List({1}, {2}), List({1}, {2}, "2022-06-15T00:00:00Z"),
               List({1}, {2}, "2022-06-20T00:00:00Z")},
              b, Options("2022-06-15T00:00:00Z"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].complete);
  EXPECT_EQ(r[0].window_end, At("2022-06-15T00:00:00Z"));
  EXPECT_EQ(r[0].treatment.revenue, 300);  // 600 is after the as-of time
}

TEST(ReadOutCampaigns, AListWithoutAPromoCodeHasNoRedeemers) {
  Bookings b;
  b.Add(1, "2022-06-10T00:00:00Z", 300, "");
  PublishedList list = List({1}, {});
  list.promo_code = "";
  const std::vector<CampaignReadout> r =
      ReadOut({list}, b, Options("2022-07-31T00:00:00Z"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].treatment.buyers, 1);
  EXPECT_EQ(r[0].treatment.redeemers, 0);
  // A code no booking used is no match either.
  list.promo_code = "NEVERUSED";
  EXPECT_EQ(ReadOut({list}, b, Options("2022-07-31T00:00:00Z"))[0]
                .treatment.redeemers,
            0);
}

TEST(ReadOutCampaigns, RejectsANonPositiveWindow) {
  Bookings b;
  const absl::StatusOr<std::vector<CampaignReadout>> r = ReadOutCampaigns(
      {List({1}, {2})}, b.table, Options("2022-07-31T00:00:00Z", 0));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// Figures worked by hand: treatment 40 of 100 bought, holdout 6 of 20.
//   uplift = 0.40 - 0.30 = 0.10
//   se = sqrt(0.4 * 0.6 / 100 + 0.3 * 0.7 / 20) = sqrt(0.0024 + 0.0105)
//      = sqrt(0.0129) = 0.113578...; 1.959964 * se = 0.222609...
// Revenue: treatment 40 buyers of 1000 each (revenue 40,000, squares
// 40 * 1000^2 = 4e7), holdout 6 of 1000 (6,000, 6e6).
//   means 400 and 300; variances (4e7 - 100 * 400^2) / 99 = 2.4e7 / 99
//   = 242424.24 and (6e6 - 20 * 300^2) / 19 = 4.2e6 / 19 = 221052.63;
//   se = sqrt(2424.2424 + 11052.6316) = sqrt(13476.874) = 116.08994;
//   incremental = (400 - 300) * 100 = 10,000, +/- 1.959964 * 116.08994 * 100
//   = 22753.21 (checked with Python's math.sqrt)
TEST(Figures, UpliftAndIncrementalRevenueWithNormalIntervals) {
  CampaignReadout r;
  r.treatment = {100, 40, 0, 40, 40000, 4e7};
  r.holdout = {20, 6, 0, 6, 6000, 6e6};
  const ReadoutFigures f = Figures(r);
  EXPECT_DOUBLE_EQ(f.treatment_conversion, 0.4);
  EXPECT_DOUBLE_EQ(f.holdout_conversion, 0.3);
  EXPECT_DOUBLE_EQ(f.treatment_revenue_per_customer, 400);
  EXPECT_DOUBLE_EQ(f.holdout_revenue_per_customer, 300);
  ASSERT_TRUE(f.conversion_uplift.has_value());
  EXPECT_NEAR(f.conversion_uplift->value, 0.10, 1e-12);
  EXPECT_NEAR(f.conversion_uplift->low, 0.10 - 0.2226093, 1e-6);
  EXPECT_NEAR(f.conversion_uplift->high, 0.10 + 0.2226093, 1e-6);
  ASSERT_TRUE(f.incremental_revenue.has_value());
  EXPECT_NEAR(f.incremental_revenue->value, 10000, 1e-6);
  EXPECT_NEAR(f.incremental_revenue->low, 10000 - 22753.21, 0.01);
  EXPECT_NEAR(f.incremental_revenue->high, 10000 + 22753.21, 0.01);
}

TEST(Figures, NoIntervalsWithoutEnoughCustomersInBothGroups) {
  CampaignReadout r;
  r.treatment = {10, 3, 0, 3, 300, 30000};
  EXPECT_FALSE(Figures(r).conversion_uplift.has_value());
  EXPECT_FALSE(Figures(r).incremental_revenue.has_value());
  r.holdout = {1, 1, 0, 1, 50, 2500};
  EXPECT_TRUE(Figures(r).conversion_uplift.has_value());
  EXPECT_FALSE(Figures(r).incremental_revenue.has_value());
}

// The summary shows, per campaign, the latest list whose window is complete,
// and counts the others.
TEST(FormatReadouts, ShowsTheLatestCompleteListOfEachCampaign) {
  CampaignReadout older;
  older.list_run_id = 3;
  older.list_as_of = At("2022-05-01T00:00:00Z");
  older.window_end = older.list_as_of + 25 * kMicrosPerDay;
  older.complete = true;
  older.campaign = "keep-at-risk-loyal";
  older.treatment = {100, 40, 0, 40, 40000, 4e7};
  older.holdout = {20, 6, 0, 6, 6000, 6e6};
  CampaignReadout newer = older;
  newer.list_run_id = 4;
  newer.list_as_of = At("2022-06-01T00:00:00Z");
  newer.window_end = newer.list_as_of + 25 * kMicrosPerDay;
  CampaignReadout open = older;
  open.list_run_id = 5;
  open.list_as_of = At("2022-07-20T00:00:00Z");
  open.window_end = At("2022-07-31T00:00:00Z");
  open.complete = false;
  CampaignReadout only_open = open;
  only_open.campaign = "second-purchase";
  const std::string text =
      FormatReadouts({older, newer, open, only_open}, 25 * kMicrosPerDay);
  EXPECT_THAT(text, HasSubstr("within 25d"));
  EXPECT_THAT(
      text,
      HasSubstr("keep-at-risk-loyal                  4  2022-06-01 25.0 "));
  EXPECT_THAT(text, Not(HasSubstr("keep-at-risk-loyal                  3")));
  EXPECT_THAT(
      text,
      HasSubstr("second-purchase                     5  2022-07-20 11.0*"));
  EXPECT_THAT(text, HasSubstr("100: 40.0%"));
  EXPECT_THAT(text, HasSubstr("+10.0 (-12.3, +32.3)"));
  EXPECT_THAT(text, HasSubstr("10,000 (-12,753, 32,753)"));
  EXPECT_THAT(text, HasSubstr("* window still open"));
  EXPECT_THAT(text, HasSubstr("2 other list(s)"));
  EXPECT_EQ(FormatReadouts({}, 25 * kMicrosPerDay), "");
}

}  // namespace
}  // namespace winback
