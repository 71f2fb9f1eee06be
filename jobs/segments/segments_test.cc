#include "jobs/segments/segments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace winback {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The default map's segment of (r, f), checked to be the same for every M.
std::string NameAt(int r, int f) {
  const auto rules = DefaultSegmentRules();
  const auto i = FindSegmentRule(rules, r, f, 1);
  for (int m = 2; m <= 5; ++m) EXPECT_EQ(FindSegmentRule(rules, r, f, m), i);
  return i.has_value() ? rules[*i].name : "<none>";
}

TEST(QuintileScores, TenDistinctValuesGiveTwoPerScore) {
  EXPECT_THAT(QuintileScores({10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, true),
              ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5, 5));
}

TEST(QuintileScores, TenValuesWithTiesShareTheAverageRank) {
  // Ascending positions: 1 -> 0..2 (avg 1), 2 -> 3, 3 -> 4..5 (avg 4.5),
  // 4 -> 6, 5 -> 7, 6 -> 8, 10 -> 9. Score = 1 + floor(5 (a + 0.5) / 10).
  EXPECT_THAT(QuintileScores({1, 1, 1, 2, 3, 3, 4, 5, 6, 10}, true),
              ElementsAre(1, 1, 1, 2, 3, 3, 4, 4, 5, 5));
}

TEST(QuintileScores, SevenRecenciesWithTiesLowerIsBetter) {
  // Worst first: 200, 200 (avg 0.5), 90, 40, 10, 10 (avg 4.5), 3.
  // 1 + floor(5 (a + 0.5) / 7): 1, 2, 3, 4, 5.
  EXPECT_THAT(QuintileScores({3, 10, 10, 40, 90, 200, 200}, false),
              ElementsAre(5, 4, 4, 3, 2, 1, 1));
}

TEST(QuintileScores, AllTiedGetTheMiddleScore) {
  EXPECT_THAT(QuintileScores({7, 7, 7, 7}, true), ElementsAre(3, 3, 3, 3));
  EXPECT_THAT(QuintileScores({7}, false), ElementsAre(3));
  EXPECT_TRUE(QuintileScores({}, true).empty());
}

TEST(QuintileScores, DoesNotDependOnInputOrder) {
  std::mt19937_64 rng(7);
  std::vector<double> values;
  for (int i = 0; i < 500; ++i)
    values.push_back(static_cast<double>(rng() % 40));
  const std::vector<uint8_t> scores = QuintileScores(values, true);
  std::vector<size_t> perm(values.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<double> shuffled;
  for (size_t i : perm) shuffled.push_back(values[i]);
  const std::vector<uint8_t> shuffled_scores = QuintileScores(shuffled, true);
  for (size_t k = 0; k < perm.size(); ++k) {
    ASSERT_EQ(shuffled_scores[k], scores[perm[k]]) << k;
  }
  // Equal values always get equal scores, and scores never fall as values
  // rise.
  for (size_t a = 0; a < values.size(); ++a) {
    for (size_t b = 0; b < values.size(); ++b) {
      if (values[a] <= values[b]) {
        ASSERT_LE(scores[a], scores[b]);
      }
    }
  }
}

TEST(DefaultSegmentRules, CoverEveryCellExactlyOnce) {
  const auto rules = DefaultSegmentRules();
  ASSERT_EQ(rules.size(), 11u);
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      int matches = 0;
      for (const SegmentRule& rule : rules) {
        matches += r >= rule.r_min && r <= rule.r_max && f >= rule.f_min &&
                   f <= rule.f_max;
      }
      EXPECT_EQ(matches, 1) << "R=" << r << " F=" << f;
    }
  }
  EXPECT_TRUE(SegmentOptions{}.Validate().ok());
}

TEST(FindSegmentRule, LooksUpTheDefaultMap) {
  EXPECT_EQ(NameAt(5, 5), "Champions");
  EXPECT_EQ(NameAt(5, 4), "Champions");
  EXPECT_EQ(NameAt(4, 5), "Loyal");
  EXPECT_EQ(NameAt(3, 4), "Loyal");
  EXPECT_EQ(NameAt(5, 2), "Potential Loyalist");
  EXPECT_EQ(NameAt(4, 3), "Potential Loyalist");
  EXPECT_EQ(NameAt(5, 1), "New");
  EXPECT_EQ(NameAt(4, 1), "Promising");
  EXPECT_EQ(NameAt(3, 3), "Need Attention");
  EXPECT_EQ(NameAt(3, 2), "About To Sleep");
  EXPECT_EQ(NameAt(2, 5), "Cannot Lose Them");
  EXPECT_EQ(NameAt(1, 3), "At Risk");
  EXPECT_EQ(NameAt(2, 1), "Hibernating");
  EXPECT_EQ(NameAt(1, 2), "Lost");
}

TEST(FindSegmentRule, FirstMatchingRuleWins) {
  std::vector<SegmentRule> rules = {{"Everyone", 1, 5, 1, 5},
                                    {"Champions", 5, 5, 5, 5}};
  EXPECT_EQ(FindSegmentRule(rules, 5, 5, 3), 0u);
  EXPECT_EQ(FindSegmentRule({{"Top", 5, 5, 5, 5}}, 1, 1, 5), std::nullopt);
}

TEST(FindSegmentRule, ARuleMayLimitTheMonetaryScore) {
  const std::vector<SegmentRule> rules = {{"Big Champions", 5, 5, 4, 5, 4, 5},
                                          {"Champions", 5, 5, 4, 5},
                                          {"Everyone else", 1, 5, 1, 5}};
  EXPECT_EQ(FindSegmentRule(rules, 5, 4, 4), 0u);
  EXPECT_EQ(FindSegmentRule(rules, 5, 5, 5), 0u);
  EXPECT_EQ(FindSegmentRule(rules, 5, 5, 3), 1u);
  EXPECT_EQ(FindSegmentRule(rules, 4, 5, 5), 2u);
  SegmentOptions o;
  o.rules = rules;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  // With R = 5 left to "Big Champions" alone, the first uncovered cell is
  // named with its M.
  o.rules = {rules[0], {"R 1-4", 1, 4, 1, 5}};
  EXPECT_EQ(o.Validate().message(), "no segment rule covers R=5 F=1 M=1");
  o.rules.push_back({"R 5, M 1-3", 5, 5, 1, 5, 1, 3});
  EXPECT_EQ(o.Validate().message(), "no segment rule covers R=5 F=1 M=4");
  o.rules.back().m_max = 5;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate();
  o.rules.back().m_max = 6;
  EXPECT_THAT(o.Validate().message(),
              HasSubstr("\"R 5, M 1-3\": m range must lie within 1..5"));
}

TEST(SegmentOptionsValidate, NamesTheFirstUncoveredCell) {
  SegmentOptions o;
  for (SegmentRule& rule : o.rules) {
    if (rule.name == "About To Sleep") rule.f_max = 1;
  }
  EXPECT_EQ(o.Validate().message(), "no segment rule covers R=3 F=2");

  o.rules.clear();
  EXPECT_EQ(o.Validate().message(), "no segment rule covers R=1 F=1");
}

TEST(SegmentOptionsValidate, RejectsBadRangesAndNames) {
  SegmentOptions o;
  o.rules[0].r_max = 6;
  EXPECT_THAT(o.Validate().message(),
              HasSubstr("\"Champions\": r range must lie within 1..5"));

  o = SegmentOptions{};
  o.rules[1].f_min = 5;
  o.rules[1].f_max = 4;
  EXPECT_THAT(o.Validate().message(),
              HasSubstr("\"Loyal\": f_min 5 is greater than f_max 4"));

  o = SegmentOptions{};
  o.rules[2].r_min = 0;
  EXPECT_FALSE(o.Validate().ok());

  o = SegmentOptions{};
  o.rules[3].name = "";
  EXPECT_THAT(o.Validate().message(), HasSubstr("#4 has an empty name"));

  o = SegmentOptions{};
  o.rules[4].name = "Lost";
  EXPECT_THAT(o.Validate().message(), HasSubstr("\"Lost\" is repeated"));
  EXPECT_EQ(o.Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AssignSegments, ScoresAndSegmentsTenCustomers) {
  RfmInput in;
  // Customer 1 is the most recent and most frequent; 10 the least.
  for (int i = 1; i <= 10; ++i) {
    in.customer_id.push_back(100 + i);
    in.recency_days.push_back(i * 10.0);
    in.frequency.push_back(11.0 - i);
    in.monetary.push_back(i == 3 ? 1e9 : 1000.0 * (11 - i));
  }
  auto result = AssignSegments(in, SegmentOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  const SegmentTable& t = *result;
  EXPECT_THAT(t.customer_id,
              ElementsAre(101, 102, 103, 104, 105, 106, 107, 108, 109, 110));
  EXPECT_THAT(t.r, ElementsAre(5, 5, 4, 4, 3, 3, 2, 2, 1, 1));
  EXPECT_THAT(t.f, ElementsAre(5, 5, 4, 4, 3, 3, 2, 2, 1, 1));
  EXPECT_THAT(t.m, ElementsAre(5, 4, 5, 4, 3, 3, 2, 2, 1, 1));
  ASSERT_EQ(t.names.size(), 11u);
  std::vector<std::string> segments;
  for (uint32_t s : t.segment) segments.push_back(t.names[s]);
  EXPECT_THAT(segments,
              ElementsAre("Champions", "Champions", "Loyal", "Loyal",
                          "Need Attention", "Need Attention", "Hibernating",
                          "Hibernating", "Lost", "Lost"));
}

TEST(AssignSegments, SevenCustomersWithTiedRecency) {
  RfmInput in;
  in.customer_id = {1, 2, 3, 4, 5, 6, 7};
  in.recency_days = {3, 10, 10, 40, 90, 200, 200};
  in.frequency = {1, 1, 1, 1, 1, 1, 1};  // all tied: F = 3
  in.monetary = {5, 4, 3, 2, 1, 0, 0};
  auto t = AssignSegments(in, SegmentOptions{});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->r, ElementsAre(5, 4, 4, 3, 2, 1, 1));
  EXPECT_THAT(t->f, ElementsAre(3, 3, 3, 3, 3, 3, 3));
  // Ascending M: 0, 0 (avg 0.5), 1, 2, 3, 4, 5.
  EXPECT_THAT(t->m, ElementsAre(5, 4, 4, 3, 2, 1, 1));
  std::vector<std::string> segments;
  for (uint32_t s : t->segment) segments.push_back(t->names[s]);
  EXPECT_THAT(segments, ElementsAre("Potential Loyalist", "Potential Loyalist",
                                    "Potential Loyalist", "Need Attention",
                                    "At Risk", "At Risk", "At Risk"));
}

TEST(AssignSegments, AnMRuleSplitsACellBySpend) {
  SegmentOptions o;
  o.rules = {{"High spenders", 1, 5, 1, 5, 4, 5}, {"Others", 1, 5, 1, 5}};
  RfmInput in;
  // Same recency and frequency; monetary 10..100: M = 1, 1, 2, 2, ... 5, 5.
  for (int i = 1; i <= 10; ++i) {
    in.customer_id.push_back(i);
    in.recency_days.push_back(30);
    in.frequency.push_back(2);
    in.monetary.push_back(10.0 * i);
  }
  auto t = AssignSegments(in, o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->m, ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5, 5));
  std::vector<std::string> segments;
  for (uint32_t s : t->segment) segments.push_back(t->names[s]);
  EXPECT_THAT(segments,
              ElementsAre("Others", "Others", "Others", "Others", "Others",
                          "Others", "High spenders", "High spenders",
                          "High spenders", "High spenders"));
}

TEST(AssignSegments, UsesCustomRules) {
  SegmentOptions o;
  o.rules = {{"Recent", 4, 5, 1, 5}, {"Others", 1, 5, 1, 5}};
  RfmInput in;
  in.customer_id = {1, 2};
  in.recency_days = {1, 100};
  in.frequency = {1, 1};
  in.monetary = {1, 1};
  auto t = AssignSegments(in, o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->names, ElementsAre("Recent", "Others"));
  EXPECT_THAT(t->segment, ElementsAre(0, 1));
}

TEST(AssignSegments, EmptyInputGivesEmptyTable) {
  auto t = AssignSegments(RfmInput{}, SegmentOptions{});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 0u);
  EXPECT_EQ(t->names.size(), 11u);
}

TEST(AssignSegments, RejectsBadInput) {
  RfmInput in;
  in.customer_id = {1, 2};
  in.recency_days = {1, 2};
  in.frequency = {1};
  in.monetary = {1, 2};
  EXPECT_THAT(AssignSegments(in, SegmentOptions{}).status().message(),
              HasSubstr("differ in length"));
  in.frequency = {1, 2};
  in.customer_id = {1, 1};
  EXPECT_THAT(AssignSegments(in, SegmentOptions{}).status().message(),
              HasSubstr("customer 1 appears twice"));
  in.customer_id = {1, 2};
  in.monetary[1] = std::nan("");
  EXPECT_THAT(AssignSegments(in, SegmentOptions{}).status().message(),
              HasSubstr("customer 2 has a non-finite"));
  in.monetary[1] = 2;
  SegmentOptions bad;
  bad.rules.pop_back();
  EXPECT_EQ(AssignSegments(in, bad).status().message(),
            "no segment rule covers R=1 F=1");
}

}  // namespace
}  // namespace winback
