// Stage 4b: RFM scores and named customer segments.
//
// Each customer with at least one purchase gets three quintile scores in
// 1..5 (recency, frequency, monetary) and one named segment chosen from its
// (R, F, M) cell by a configurable rule table. The default table, the classic
// RFM map, looks at R and F only (its rules take any M).
#ifndef WINBACK_JOBS_SEGMENTS_SEGMENTS_H_
#define WINBACK_JOBS_SEGMENTS_SEGMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace winback {

// A named box of (R, F, M) score cells; the ranges are inclusive and lie
// within 1..5. M is optional: by default a rule takes any M.
struct SegmentRule {
  std::string name;
  int r_min = 1;
  int r_max = 5;
  int f_min = 1;
  int f_max = 5;
  int m_min = 1;
  int m_max = 5;

  // True when the rule takes only some M scores.
  bool LimitsM() const { return m_min > 1 || m_max < 5; }
};

// The classic eleven-segment RFM map, which covers every (R, F) cell exactly
// once (any M):
//   Champions           R 5    F 4-5     Loyal               R 3-4  F 4-5
//   Potential Loyalist  R 4-5  F 2-3     New                 R 5    F 1
//   Promising           R 4    F 1       Need Attention      R 3    F 3
//   About To Sleep      R 3    F 1-2     Cannot Lose Them    R 1-2  F 5
//   At Risk             R 1-2  F 3-4     Hibernating         R 2    F 1-2
//   Lost                R 1    F 1-2
std::vector<SegmentRule> DefaultSegmentRules();

struct SegmentOptions {
  // Tried in order; the first rule whose ranges contain (R, F, M) wins.
  std::vector<SegmentRule> rules = DefaultSegmentRules();

  // Fails with InvalidArgument when a rule's range leaves 1..5 or has
  // min > max, when a name is empty or repeated, or when some (R, F, M) cell
  // is matched by no rule. Cells are checked R = 1..5, then F, then M, and
  // the error names the first uncovered one: "no segment rule covers R=3
  // F=2", with " M=1" when some rule limits M.
  absl::Status Validate() const;
};

// The index in `rules` of the first rule containing (r, f, m); nullopt when
// none does (which Validate() rules out for valid options).
std::optional<size_t> FindSegmentRule(const std::vector<SegmentRule>& rules,
                                      int r, int f, int m);

// Customers with at least one purchase, as parallel columns.
struct RfmInput {
  std::vector<int64_t> customer_id;
  std::vector<double> recency_days;  // days since the last purchase
  std::vector<double> frequency;     // purchases
  std::vector<double> monetary;      // IDR spent

  size_t size() const { return customer_id.size(); }
};

// One row per RfmInput row, in the same order.
struct SegmentTable {
  std::vector<int64_t> customer_id;
  std::vector<uint8_t> r;          // 1..5, 5 = most recent
  std::vector<uint8_t> f;          // 1..5, 5 = most purchases
  std::vector<uint8_t> m;          // 1..5, 5 = most spent
  std::vector<uint32_t> segment;   // index into `names`
  std::vector<std::string> names;  // the rule names, in rule order

  size_t size() const { return customer_id.size(); }
};

// Quintile scores of `values` among themselves. Customers are ranked from
// worst to best (0-based positions 0..n-1): ascending value when
// `higher_is_better`, descending value otherwise. A group of tied values at
// positions first..last shares the average rank a = (first + last) / 2, and
// its score is
//   score = 1 + floor(5 * (a + 0.5) / n) = 1 + floor(5 * (first + last + 1) /
//   (2n)),
// computed in exact integer arithmetic and clamped to 1..5. So ten distinct
// values give two customers per score, and the result depends only on the
// multiset of values, not on the input order. Empty input gives empty output.
// Values must be finite.
std::vector<uint8_t> QuintileScores(const std::vector<double>& values,
                                    bool higher_is_better);

// Scores every customer (R: fewer recency_days is better; F, M: more is
// better) and assigns the segment of its (R, F) cell. Fails with
// InvalidArgument on invalid options, columns of different lengths,
// non-finite values or a repeated customer_id.
absl::StatusOr<SegmentTable> AssignSegments(const RfmInput& input,
                                            const SegmentOptions& options);

}  // namespace winback

#endif  // WINBACK_JOBS_SEGMENTS_SEGMENTS_H_
