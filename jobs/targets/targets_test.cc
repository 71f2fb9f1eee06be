#include "jobs/targets/targets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace winback {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr Micros kAsOf = 1'700'000'000LL * kMicrosPerSecond;

class Candidates {
 public:
  Candidates& Add(int64_t id, std::string segment, ChurnStatus status,
                  double score, double spend,
                  Micros last_purchase = kAsOf - 30 * kMicrosPerDay) {
    t.customer_id.push_back(id);
    t.segment.push_back(std::move(segment));
    t.status.push_back(status);
    t.churn_score.push_back(score);
    t.expected_spend.push_back(spend);
    t.last_purchase_at.push_back(last_purchase);
    t.reasons.push_back("r" + std::to_string(id));
    return *this;
  }
  CandidateTable t;
};

Campaign MakeCampaign(std::string name, int priority,
                      std::vector<std::string> segments = {},
                      std::vector<ChurnStatus> statuses = {}) {
  Campaign c;
  c.name = std::move(name);
  c.priority = priority;
  c.segments = std::move(segments);
  c.statuses = std::move(statuses);
  c.promo_code = "CODE-" + c.name;
  c.holdout_share = 0;
  return c;
}

TargetOptions Options(std::vector<Campaign> campaigns) {
  TargetOptions o;
  o.campaigns = std::move(campaigns);
  return o;
}

std::pair<TargetTable, std::vector<CampaignSummary>> RunTargets(
    const CandidateTable& t, const TargetOptions& o, Micros as_of = kAsOf,
    const RecentListings& recent = {}) {
  auto r = BuildTargets(t, as_of, o, recent);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r)
                : std::pair<TargetTable, std::vector<CampaignSummary>>{};
}

TEST(Fnv1a64, MatchesKnownTestVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(ChurnStatus, NamesRoundTrip) {
  for (ChurnStatus s : {ChurnStatus::kActive, ChurnStatus::kChurned,
                        ChurnStatus::kNeverPurchased}) {
    EXPECT_EQ(ParseChurnStatus(ChurnStatusName(s)), s);
  }
  EXPECT_EQ(ChurnStatusName(ChurnStatus::kNeverPurchased), "never_purchased");
  EXPECT_EQ(ParseChurnStatus("Active"), std::nullopt);
  EXPECT_EQ(ParseChurnStatus(""), std::nullopt);
}

TEST(DefaultCampaigns, AreValidAndUseDefaultSegmentNames) {
  TargetOptions o;
  ASSERT_EQ(o.campaigns.size(), 3u);
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  EXPECT_EQ(o.campaigns[0].name, "keep-at-risk-loyal");
  EXPECT_EQ(o.campaigns[1].promo_code, "COMEBACK25");
  EXPECT_EQ(o.campaigns[2].min_score, 0.3);
  for (const Campaign& c : o.campaigns) {
    EXPECT_FALSE(c.description.empty()) << c.name;
    EXPECT_GT(c.max_size, 0) << c.name;
    EXPECT_EQ(c.holdout_share, 0.1) << c.name;
  }
  const std::vector<std::string> names = {"Champions",
                                          "Loyal",
                                          "Potential Loyalist",
                                          "New",
                                          "Promising",
                                          "Need Attention",
                                          "About To Sleep",
                                          "Cannot Lose Them",
                                          "At Risk",
                                          "Hibernating",
                                          "Lost"};
  EXPECT_TRUE(CheckCampaignSegments(o, names).ok());
  EXPECT_THAT(CheckCampaignSegments(o, {"Champions"}).message(),
              HasSubstr("campaign \"keep-at-risk-loyal\": unknown segment "
                        "\"Loyal\""));
}

TEST(TargetOptionsValidate, ErrorsNameTheCampaignAndField) {
  auto expect_error = [](TargetOptions o, const std::string& text) {
    const absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr(text));
  };
  TargetOptions o;
  o.campaigns[2].holdout_share = 1.5;
  expect_error(
      o,
      "campaign \"second-purchase\": holdout_share must be in [0, 1], got 1.5");

  o = TargetOptions{};
  o.campaigns[0].min_score = 0.8;
  o.campaigns[0].max_score = 0.6;
  expect_error(o,
               "campaign \"keep-at-risk-loyal\": min_score 0.8 is greater than "
               "max_score 0.6");

  o = TargetOptions{};
  o.campaigns[1].max_score = 2;
  expect_error(o, "campaign \"win-back-lapsed-high-value\": max_score");

  o = TargetOptions{};
  o.campaigns[1].min_score = std::nan("");
  expect_error(o, "campaign \"win-back-lapsed-high-value\": min_score");

  o = TargetOptions{};
  o.campaigns[1].min_revenue_at_risk = -1;
  expect_error(o,
               "campaign \"win-back-lapsed-high-value\": min_revenue_at_risk "
               "must be finite and >= 0, got -1");

  o = TargetOptions{};
  o.campaigns[1].min_revenue_at_risk = std::numeric_limits<double>::infinity();
  expect_error(o, "\"win-back-lapsed-high-value\": min_revenue_at_risk");

  o = TargetOptions{};
  o.campaigns[1].discount_pct = 101;
  expect_error(o, "\"win-back-lapsed-high-value\": discount_pct");

  o = TargetOptions{};
  o.campaigns[1].max_size = -1;
  expect_error(o, "\"win-back-lapsed-high-value\": max_size");

  o = TargetOptions{};
  o.campaigns[1].segments.push_back("");
  expect_error(o, "\"win-back-lapsed-high-value\": segments has an empty name");

  o = TargetOptions{};
  o.campaigns[2].name = "keep-at-risk-loyal";
  expect_error(o, "campaign \"keep-at-risk-loyal\": name is repeated");

  o = TargetOptions{};
  o.campaigns[1].name = "";
  expect_error(o, "campaign #2 has an empty name");

  o = TargetOptions{};
  o.campaigns[2].suppress_listed_within = -1;
  expect_error(o,
               "campaign \"second-purchase\": suppress_listed_within must be "
               ">= 0 (0 = off), got -1us");

  o = TargetOptions{};
  o.suppression.bought_within = -1;
  expect_error(o, "suppression.bought_within");

  EXPECT_TRUE(Options({}).Validate().ok());
}

TEST(BuildTargets, HighestPriorityCampaignWins) {
  Candidates c;
  c.Add(1, "Loyal", ChurnStatus::kActive, 0.9, 100);
  const auto o = Options({MakeCampaign("later", 50), MakeCampaign("first", 5)});
  auto [t, sums] = RunTargets(c.t, o);
  EXPECT_THAT(t.campaign, ElementsAre("first"));
  EXPECT_THAT(t.promo_code, ElementsAre("CODE-first"));
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].name, "first");  // summaries in priority order
  EXPECT_EQ(sums[0].assigned, 1);
  EXPECT_EQ(sums[1].name, "later");
  EXPECT_EQ(sums[1].eligible, 1);
  EXPECT_EQ(sums[1].preempted, 1);
  EXPECT_EQ(sums[1].assigned, 0);
}

TEST(BuildTargets, PriorityTieGoesToTheCampaignNameThatSortsFirst) {
  Candidates c;
  c.Add(1, "Loyal", ChurnStatus::kActive, 0.9, 100);
  auto [t, sums] = RunTargets(
      c.t, Options({MakeCampaign("zeta", 10), MakeCampaign("alpha", 10)}));
  EXPECT_THAT(t.campaign, ElementsAre("alpha"));
  EXPECT_EQ(sums[0].name, "alpha");
}

TEST(BuildTargets, FiltersBySegmentStatusAndScoreRange) {
  Candidates c;
  c.Add(1, "Loyal", ChurnStatus::kActive, 0.6, 100)
      .Add(2, "Lost", ChurnStatus::kActive, 0.6, 100)       // segment
      .Add(3, "Loyal", ChurnStatus::kChurned, 1.0, 100)     // status
      .Add(4, "Loyal", ChurnStatus::kActive, 0.49, 100)     // score low
      .Add(5, "At Risk", ChurnStatus::kActive, 0.5, 100)    // min inclusive
      .Add(6, "At Risk", ChurnStatus::kActive, 0.8, 100)    // max inclusive
      .Add(7, "At Risk", ChurnStatus::kActive, 0.81, 100);  // score high
  Campaign k =
      MakeCampaign("keep", 1, {"Loyal", "At Risk"}, {ChurnStatus::kActive});
  k.min_score = 0.5;
  k.max_score = 0.8;
  auto [t, sums] = RunTargets(c.t, Options({k}));
  EXPECT_THAT(t.customer_id, ElementsAre(6, 1, 5));
  EXPECT_EQ(sums[0].matched, 3);
}

TEST(BuildTargets, MinRevenueAtRiskIsAnInclusiveFloorOnScoreTimesSpend) {
  Candidates c;
  c.Add(1, "A", ChurnStatus::kChurned, 1.0, 0)       // 0: no spend
      .Add(2, "A", ChurnStatus::kChurned, 1.0, 250)  // 250: at the floor
      .Add(3, "A", ChurnStatus::kActive, 0.5, 600)   // 300
      .Add(4, "A", ChurnStatus::kActive, 0.5, 499)   // 249.5
      .Add(5, "A", ChurnStatus::kChurned, 1.0, 249.99);
  Campaign floor = MakeCampaign("floor", 1);
  floor.min_revenue_at_risk = 250;
  // Below the floor is "not matched": such customers stay free for a
  // lower-priority campaign, as with the other filters.
  auto [t, sums] =
      RunTargets(c.t, Options({floor, MakeCampaign("everyone", 2)}));
  EXPECT_THAT(t.customer_id, ElementsAre(3, 2, 5, 4, 1));
  EXPECT_THAT(t.campaign, ElementsAre("floor", "floor", "everyone", "everyone",
                                      "everyone"));
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].matched, 2);
  EXPECT_DOUBLE_EQ(sums[0].revenue_at_risk, 550);
  EXPECT_EQ(sums[1].matched, 5);
  EXPECT_EQ(sums[1].preempted, 2);
}

TEST(BuildTargets, RowsOrderedByRevenueAtRiskThenCustomerId) {
  Candidates c;
  c.Add(4, "A", ChurnStatus::kActive, 0.5, 1000)      // 500
      .Add(3, "A", ChurnStatus::kActive, 0.25, 2000)  // 500
      .Add(9, "A", ChurnStatus::kActive, 0.9, 1000)   // 900
      .Add(1, "B", ChurnStatus::kChurned, 1.0, 100)   // 100, lower priority
      .Add(2, "A", ChurnStatus::kActive, 0.1, 100);   // 10
  auto [t, sums] = RunTargets(c.t, Options({MakeCampaign("b", 20, {"B"}),
                                            MakeCampaign("a", 10, {"A"})}));
  EXPECT_THAT(t.customer_id, ElementsAre(9, 3, 4, 2, 1));
  EXPECT_THAT(t.campaign, ElementsAre("a", "a", "a", "a", "b"));
  EXPECT_THAT(t.revenue_at_risk, ElementsAre(900, 500, 500, 10, 100));
  EXPECT_THAT(t.reasons, ElementsAre("r9", "r3", "r4", "r2", "r1"));
  EXPECT_THAT(t.segment, ElementsAre("A", "A", "A", "A", "B"));
  EXPECT_DOUBLE_EQ(sums[0].revenue_at_risk, 1910);
  EXPECT_DOUBLE_EQ(sums[0].avg_score, (0.9 + 0.25 + 0.5 + 0.1) / 4);
  EXPECT_DOUBLE_EQ(sums[1].avg_score, 1.0);
}

TEST(BuildTargets, SuppressesRecentBuyersFromEveryCampaign) {
  Candidates c;
  c.Add(1, "A", ChurnStatus::kActive, 0.9, 100, kAsOf - 3 * kMicrosPerDay)
      .Add(2, "A", ChurnStatus::kActive, 0.9, 100, kAsOf - 7 * kMicrosPerDay)
      .Add(3, "A", ChurnStatus::kActive, 0.9, 100,
           kAsOf - 7 * kMicrosPerDay + 1)
      .Add(4, "A", ChurnStatus::kNeverPurchased, 0.9, 0, kNoPurchase)
      .Add(5, "A", ChurnStatus::kActive, 0.9, 100, kAsOf);
  auto o = Options({MakeCampaign("x", 1), MakeCampaign("y", 2)});
  auto [t, sums] = RunTargets(c.t, o);
  // Exactly seven days ago is outside (as_of - 7d, as_of].
  EXPECT_THAT(t.customer_id, ElementsAre(2, 4));
  EXPECT_EQ(sums[0].matched, 5);
  EXPECT_EQ(sums[0].suppressed, 3);
  EXPECT_EQ(sums[0].eligible, 2);
  EXPECT_EQ(sums[1].suppressed, 3);
  EXPECT_EQ(sums[1].preempted, 2);

  o.suppression.bought_within = 0;  // disabled
  auto [all, all_sums] = RunTargets(c.t, o);
  EXPECT_EQ(all.size(), 5u);
  EXPECT_EQ(all_sums[0].suppressed, 0);
}

TEST(BuildTargets, ACampaignDoesNotListAgainWhomItListedRecently) {
  Candidates c;
  for (int i = 1; i <= 5; ++i) c.Add(i, "A", ChurnStatus::kChurned, 1.0, 100);
  Campaign vip = MakeCampaign("vip", 0);
  vip.min_revenue_at_risk = 100;  // customer 2 only
  c.t.expected_spend[0] = 50;
  c.t.expected_spend[2] = 50;
  c.t.expected_spend[3] = 50;
  c.t.expected_spend[4] = 50;
  Campaign win_back = MakeCampaign("win-back", 1);
  win_back.suppress_listed_within = 14 * kMicrosPerDay;
  const Campaign other = MakeCampaign("other", 2);  // no window
  const RecentListings recent = {{"win-back", {2, 4, 99}},
                                 {"other", {1, 3, 5}}};
  std::vector<ContactHold> holds = {{77, "stale"}};
  auto built =
      BuildTargets(c.t, kAsOf, Options({other, win_back, vip}), recent, &holds);
  ASSERT_TRUE(built.ok()) << built.status();
  auto [t, sums] = *std::move(built);
  // 2 goes to the higher-priority vip although win-back listed it; 4 is held
  // by win-back, unlisted, and not given to other; other ignores `recent`.
  EXPECT_THAT(holds, ElementsAre(ContactHold{4, "win-back"}));
  EXPECT_THAT(t.customer_id, ElementsAre(2, 1, 3, 5));
  EXPECT_THAT(t.campaign,
              ElementsAre("vip", "win-back", "win-back", "win-back"));
  ASSERT_EQ(sums.size(), 3u);
  EXPECT_EQ(sums[1].name, "win-back");
  EXPECT_EQ(sums[1].matched, 5);
  EXPECT_EQ(sums[1].suppressed, 1);
  EXPECT_EQ(sums[1].recently_listed, 1);
  EXPECT_EQ(sums[1].eligible, 4);
  EXPECT_EQ(sums[1].preempted, 1);
  EXPECT_EQ(sums[1].assigned, 3);
  EXPECT_EQ(sums[2].name, "other");
  EXPECT_EQ(sums[2].suppressed, 0);
  EXPECT_EQ(sums[2].recently_listed, 0);
  EXPECT_EQ(sums[2].preempted, 5);

  // Without the window the same listings change nothing.
  win_back.suppress_listed_within = 0;
  auto [all, all_sums] =
      RunTargets(c.t, Options({other, win_back, vip}), kAsOf, recent);
  EXPECT_THAT(all.customer_id, ElementsAre(2, 1, 3, 4, 5));
  EXPECT_EQ(all_sums[1].recently_listed, 0);
}

TEST(BuildTargets, MaxSizeKeepsTheTopRowsAndCappedDoNotFallThrough) {
  Candidates c;
  for (int i = 1; i <= 5; ++i) {
    c.Add(i, "A", ChurnStatus::kActive, 0.5, 100.0 * i);
  }
  Campaign top = MakeCampaign("top", 1);
  top.max_size = 3;
  auto [t, sums] = RunTargets(c.t, Options({top, MakeCampaign("fallback", 2)}));
  EXPECT_THAT(t.customer_id, ElementsAre(5, 4, 3));
  EXPECT_THAT(t.campaign, ElementsAre("top", "top", "top"));
  EXPECT_EQ(sums[0].eligible, 5);
  EXPECT_EQ(sums[0].capped, 2);
  EXPECT_EQ(sums[0].assigned, 3);
  EXPECT_EQ(sums[1].eligible, 5);
  EXPECT_EQ(sums[1].preempted, 5);
  EXPECT_EQ(sums[1].assigned, 0);
}

TEST(BuildTargets, HoldoutAppliedAfterCapping) {
  Candidates c;
  for (int i = 1; i <= 1000; ++i) c.Add(i, "A", ChurnStatus::kActive, 0.5, i);
  Campaign x = MakeCampaign("x", 1);
  x.max_size = 100;
  x.holdout_share = 0.5;
  auto [t, sums] = RunTargets(c.t, Options({x}));
  ASSERT_EQ(t.size(), 100u);
  EXPECT_EQ(sums[0].treatment + sums[0].holdout, 100);
  int64_t held = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t.holdout[i], InHoldout(t.customer_id[i], "x", 0.5) ? 1 : 0);
    held += t.holdout[i];
  }
  EXPECT_EQ(held, sums[0].holdout);
  EXPECT_GT(held, 30);
  EXPECT_LT(held, 70);
}

TEST(InHoldout, ShareIsCloseToConfiguredOnHundredThousandIds) {
  for (double share : {0.1, 0.25, 0.5}) {
    int64_t held = 0;
    for (int64_t id = 1; id <= 100000; ++id) {
      held += InHoldout(id, "win-back-lapsed-high-value", share);
    }
    EXPECT_NEAR(held / 100000.0, share, 0.01) << share;
  }
  int64_t none = 0, all = 0;
  for (int64_t id = 1; id <= 10000; ++id) {
    none += InHoldout(id, "c", 0.0);
    all += InHoldout(id, "c", 1.0);
  }
  EXPECT_EQ(none, 0);
  EXPECT_EQ(all, 10000);
}

TEST(Mix64, MatchesTheSplitmix64Reference) {
  // splitmix64's output for state 0 after one step (state += golden gamma),
  // from the reference implementation: 0xe220a8397b1dcdaf.
  EXPECT_EQ(Mix64(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
}

TEST(InHoldout, DependsOnTheCampaignAndIsMonotoneInShare) {
  int64_t differ = 0;
  int64_t both = 0;
  for (int64_t id = 1; id <= 10000; ++id) {
    const bool keep = InHoldout(id, "keep-at-risk-loyal", 0.5);
    const bool second = InHoldout(id, "second-purchase", 0.5);
    differ += keep != second;
    both += InHoldout(id, "keep-at-risk-loyal", 0.1) &&
            InHoldout(id, "win-back-lapsed-high-value", 0.1);
    if (InHoldout(id, "a", 0.1)) {
      ASSERT_TRUE(InHoldout(id, "a", 0.2));
    }
  }
  // Independent campaigns disagree about half the time at share 0.5, and
  // share about 1% of ids at share 0.1.
  EXPECT_NEAR(differ, 5000, 300);
  EXPECT_NEAR(both, 100, 50);
  // Names differing only in their last byte still get independent groups
  // (plain FNV-1a would agree on almost every id here).
  int64_t same = 0;
  for (int64_t id = 1; id <= 10000; ++id) {
    same += InHoldout(id, "winback-1", 0.5) == InHoldout(id, "winback-2", 0.5);
  }
  EXPECT_NEAR(same, 5000, 300);
  // The hashed key is the decimal id, the unit separator and the name.
  const uint64_t h = Mix64(Fnv1a64(std::string("42\x1f") + "x"));
  const double fraction = static_cast<double>(h >> 11) * 0x1p-53;
  EXPECT_EQ(InHoldout(42, "x", fraction), false);
  EXPECT_EQ(InHoldout(42, "x", std::nextafter(fraction, 1.0)), true);
}

TEST(BuildTargets, HoldoutIsStableAcrossRunsAndOtherCustomers) {
  Candidates all;
  Candidates half;
  for (int i = 0; i < 4000; ++i) {
    all.Add(1000 + 7 * i, "A", ChurnStatus::kActive, 0.5, i);
    if (i % 2 == 0) half.Add(1000 + 7 * i, "A", ChurnStatus::kActive, 0.9, 1);
  }
  Campaign x = MakeCampaign("x", 1);
  x.holdout_share = 0.1;
  const auto o = Options({x});
  auto [t1, s1] = RunTargets(all.t, o);
  auto [t2, s2] = RunTargets(all.t, o);
  EXPECT_EQ(t1.customer_id, t2.customer_id);
  EXPECT_EQ(t1.holdout, t2.holdout);
  absl::flat_hash_map<int64_t, uint8_t> held;
  for (size_t i = 0; i < t1.size(); ++i)
    held[t1.customer_id[i]] = t1.holdout[i];
  auto [t3, s3] = RunTargets(half.t, o);
  ASSERT_EQ(t3.size(), 2000u);
  for (size_t i = 0; i < t3.size(); ++i) {
    ASSERT_EQ(t3.holdout[i], held.at(t3.customer_id[i])) << t3.customer_id[i];
  }
}

TEST(BuildTargets, RandomOverlappingCampaignsNeverShareACustomer) {
  std::mt19937_64 rng(20240601);
  const std::vector<std::string> segments = {"A", "B", "C", "D"};
  for (int round = 0; round < 50; ++round) {
    std::uniform_real_distribution<double> unit(0, 1);
    Candidates c;
    const int n = 50 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      const ChurnStatus st = static_cast<ChurnStatus>(rng() % 3);
      c.Add(static_cast<int64_t>(rng() % 100000) * 1000 + i,
            segments[rng() % segments.size()], st,
            st == ChurnStatus::kChurned ? 1.0 : std::round(unit(rng) * 10) / 10,
            static_cast<double>(rng() % 5) * 1000,
            kAsOf - static_cast<Micros>(rng() % 20) * kMicrosPerDay);
    }
    std::vector<Campaign> campaigns;
    const int k = 1 + static_cast<int>(rng() % 6);
    for (int j = 0; j < k; ++j) {
      Campaign camp =
          MakeCampaign("c" + std::to_string(j), static_cast<int>(rng() % 3));
      for (const std::string& s : segments) {
        if (rng() % 2) camp.segments.push_back(s);
      }
      if (rng() % 2)
        camp.statuses.push_back(static_cast<ChurnStatus>(rng() % 3));
      camp.min_score = (rng() % 5) / 10.0;
      if (rng() % 2) camp.min_revenue_at_risk = (rng() % 4) * 500.0;
      camp.max_size = static_cast<int64_t>(rng() % 3 == 0 ? rng() % 40 : 0);
      camp.holdout_share = unit(rng);
      if (rng() % 2) camp.suppress_listed_within = 14 * kMicrosPerDay;
      campaigns.push_back(camp);
    }
    // Each campaign listed about a third of the candidates recently.
    RecentListings recent;
    for (const Campaign& camp : campaigns) {
      for (size_t i = 0; i < c.t.size(); ++i) {
        if (rng() % 3 == 0) recent[camp.name].insert(c.t.customer_id[i]);
      }
    }
    const TargetOptions o = Options(campaigns);
    auto [t, sums] = RunTargets(c.t, o, kAsOf, recent);

    absl::flat_hash_set<int64_t> seen;
    for (int64_t id : t.customer_id) {
      ASSERT_TRUE(seen.insert(id).second) << "customer " << id << " twice";
    }
    int64_t rows = 0;
    for (const CampaignSummary& s : sums) {
      EXPECT_LE(s.recently_listed, s.suppressed) << s.name;
      EXPECT_EQ(s.matched, s.suppressed + s.eligible) << s.name;
      EXPECT_EQ(s.eligible, s.preempted + s.capped + s.assigned) << s.name;
      EXPECT_EQ(s.assigned, s.treatment + s.holdout) << s.name;
      rows += s.assigned;
    }
    EXPECT_EQ(rows, static_cast<int64_t>(t.size()));
    // Every row's campaign is the best-priority campaign matching it, and
    // that campaign did not list it recently with a window set; a customer
    // whose best campaign did is on no list.
    auto held = [&](const Campaign& camp, int64_t id) {
      return camp.suppress_listed_within > 0 &&
             recent.at(camp.name).contains(id);
    };
    auto best_of = [&](size_t i) -> const Campaign* {
      const Campaign* best = nullptr;
      for (const Campaign& camp : campaigns) {
        const bool seg = camp.segments.empty() ||
                         std::find(camp.segments.begin(), camp.segments.end(),
                                   c.t.segment[i]) != camp.segments.end();
        const bool st = camp.statuses.empty() ||
                        std::find(camp.statuses.begin(), camp.statuses.end(),
                                  c.t.status[i]) != camp.statuses.end();
        const bool score = c.t.churn_score[i] >= camp.min_score &&
                           c.t.churn_score[i] <= camp.max_score;
        const bool value = c.t.churn_score[i] * c.t.expected_spend[i] >=
                           camp.min_revenue_at_risk;
        if (!seg || !st || !score || !value) continue;
        if (best == nullptr || camp.priority < best->priority ||
            (camp.priority == best->priority && camp.name < best->name)) {
          best = &camp;
        }
      }
      return best;
    };
    absl::flat_hash_map<int64_t, size_t> row_of;
    for (size_t i = 0; i < c.t.size(); ++i) row_of[c.t.customer_id[i]] = i;
    for (size_t r = 0; r < t.size(); ++r) {
      const size_t i = row_of.at(t.customer_id[r]);
      EXPECT_GT(kAsOf - c.t.last_purchase_at[i], 7 * kMicrosPerDay - 1);
      const Campaign* best = best_of(i);
      ASSERT_NE(best, nullptr);
      EXPECT_EQ(t.campaign[r], best->name);
      EXPECT_FALSE(held(*best, t.customer_id[r]));
    }
    const absl::flat_hash_set<int64_t> listed(t.customer_id.begin(),
                                              t.customer_id.end());
    absl::flat_hash_map<std::string, int64_t> held_by;
    for (size_t i = 0; i < c.t.size(); ++i) {
      const Campaign* best = best_of(i);
      if (best == nullptr ||
          kAsOf - c.t.last_purchase_at[i] < 7 * kMicrosPerDay) {
        continue;  // matched nowhere, or a recent buyer
      }
      if (held(*best, c.t.customer_id[i])) {
        EXPECT_FALSE(listed.contains(c.t.customer_id[i]));
        ++held_by[best->name];
      }
    }
    for (const CampaignSummary& s : sums) {
      EXPECT_EQ(s.recently_listed, held_by[s.name]) << s.name;
    }
    std::vector<ContactHold> holds;
    ASSERT_TRUE(BuildTargets(c.t, kAsOf, o, recent, &holds).ok());
    absl::flat_hash_map<std::string, int64_t> held_in_output;
    for (const ContactHold& h : holds) {
      EXPECT_FALSE(listed.contains(h.customer_id)) << h.customer_id;
      ++held_in_output[h.campaign];
    }
    for (const CampaignSummary& s : sums) {
      EXPECT_EQ(held_in_output[s.name], s.recently_listed) << s.name;
    }
    EXPECT_LE(held_in_output.size(), sums.size());
  }
}

TEST(BuildTargets, RejectsBadCandidates) {
  Candidates c;
  c.Add(1, "A", ChurnStatus::kActive, 0.5, 1)
      .Add(1, "A", ChurnStatus::kActive, 0.5, 1);
  EXPECT_THAT(BuildTargets(c.t, kAsOf, Options({})).status().message(),
              HasSubstr("customer 1 appears twice"));
  Candidates bad_score;
  bad_score.Add(1, "A", ChurnStatus::kActive, 1.5, 1);
  EXPECT_THAT(BuildTargets(bad_score.t, kAsOf, Options({})).status().message(),
              HasSubstr("churn_score"));
  Candidates bad_spend;
  bad_spend.Add(1, "A", ChurnStatus::kActive, 0.5, -1);
  EXPECT_THAT(BuildTargets(bad_spend.t, kAsOf, Options({})).status().message(),
              HasSubstr("expected_spend"));
  Candidates ragged;
  ragged.Add(1, "A", ChurnStatus::kActive, 0.5, 1);
  ragged.t.reasons.clear();
  EXPECT_FALSE(BuildTargets(ragged.t, kAsOf, Options({})).ok());
  TargetOptions bad_options;
  bad_options.campaigns[0].holdout_share = -0.1;
  EXPECT_THAT(
      BuildTargets(CandidateTable{}, kAsOf, bad_options).status().message(),
      HasSubstr("holdout_share"));
}

}  // namespace
}  // namespace winback
