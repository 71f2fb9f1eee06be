#include "jobs/segments/segments.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace winback {
namespace {

constexpr int kMinScore = 1;
constexpr int kMaxScore = 5;

bool InScoreRange(int v) { return v >= kMinScore && v <= kMaxScore; }

bool Contains(const SegmentRule& rule, int r, int f, int m) {
  return r >= rule.r_min && r <= rule.r_max && f >= rule.f_min &&
         f <= rule.f_max && m >= rule.m_min && m <= rule.m_max;
}

absl::Status CheckRange(const SegmentRule& rule, const char* axis, int lo,
                        int hi) {
  if (!InScoreRange(lo) || !InScoreRange(hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment rule \"", rule.name, "\": ", axis,
                     " range must lie within 1..5, got ", lo, "..", hi));
  }
  if (lo > hi) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment rule \"", rule.name, "\": ", axis, "_min ", lo,
                     " is greater than ", axis, "_max ", hi));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<SegmentRule> DefaultSegmentRules() {
  return {
      {"Champions", 5, 5, 4, 5},
      {"Loyal", 3, 4, 4, 5},
      {"Potential Loyalist", 4, 5, 2, 3},
      {"New", 5, 5, 1, 1},
      {"Promising", 4, 4, 1, 1},
      {"Need Attention", 3, 3, 3, 3},
      {"About To Sleep", 3, 3, 1, 2},
      {"Cannot Lose Them", 1, 2, 5, 5},
      {"At Risk", 1, 2, 3, 4},
      {"Hibernating", 2, 2, 1, 2},
      {"Lost", 1, 1, 1, 2},
  };
}

absl::Status SegmentOptions::Validate() const {
  absl::flat_hash_set<std::string> seen;
  for (size_t i = 0; i < rules.size(); ++i) {
    const SegmentRule& rule = rules[i];
    if (rule.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment rule #", i + 1, " has an empty name"));
    }
    if (!seen.insert(rule.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment rule name \"", rule.name, "\" is repeated"));
    }
    if (absl::Status s = CheckRange(rule, "r", rule.r_min, rule.r_max);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckRange(rule, "f", rule.f_min, rule.f_max);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckRange(rule, "m", rule.m_min, rule.m_max);
        !s.ok()) {
      return s;
    }
  }
  const bool by_m =
      std::any_of(rules.begin(), rules.end(),
                  [](const SegmentRule& r) { return r.LimitsM(); });
  for (int r = kMinScore; r <= kMaxScore; ++r) {
    for (int f = kMinScore; f <= kMaxScore; ++f) {
      for (int m = kMinScore; m <= kMaxScore; ++m) {
        if (!FindSegmentRule(rules, r, f, m).has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat("no segment rule covers R=", r, " F=", f,
                           by_m ? absl::StrCat(" M=", m) : ""));
        }
      }
    }
  }
  return absl::OkStatus();
}

std::optional<size_t> FindSegmentRule(const std::vector<SegmentRule>& rules,
                                      int r, int f, int m) {
  for (size_t i = 0; i < rules.size(); ++i) {
    if (Contains(rules[i], r, f, m)) return i;
  }
  return std::nullopt;
}

std::vector<uint8_t> QuintileScores(const std::vector<double>& values,
                                    bool higher_is_better) {
  const size_t n = values.size();
  std::vector<uint8_t> scores(n, kMinScore);
  if (n == 0) return scores;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  // Worst first. Ties are grouped below, so their relative order is moot.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return higher_is_better ? values[a] < values[b] : values[a] > values[b];
  });
  const uint64_t two_n = 2 * static_cast<uint64_t>(n);
  for (size_t first = 0; first < n;) {
    size_t last = first;
    while (last + 1 < n && values[order[last + 1]] == values[order[first]]) {
      ++last;
    }
    const uint64_t raw = 1 + (5 * (first + last + 1)) / two_n;
    const uint8_t score =
        static_cast<uint8_t>(std::clamp<uint64_t>(raw, kMinScore, kMaxScore));
    for (size_t k = first; k <= last; ++k) scores[order[k]] = score;
    first = last + 1;
  }
  return scores;
}

absl::StatusOr<SegmentTable> AssignSegments(const RfmInput& input,
                                            const SegmentOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const size_t n = input.size();
  if (input.recency_days.size() != n || input.frequency.size() != n ||
      input.monetary.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RFM input columns differ in length: customer_id ", n,
        ", recency_days ", input.recency_days.size(), ", frequency ",
        input.frequency.size(), ", monetary ", input.monetary.size()));
  }
  absl::flat_hash_set<int64_t> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t id = input.customer_id[i];
    if (!ids.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer ", id, " appears twice in the RFM input"));
    }
    if (!std::isfinite(input.recency_days[i]) ||
        !std::isfinite(input.frequency[i]) ||
        !std::isfinite(input.monetary[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer ", id, " has a non-finite RFM value"));
    }
  }

  SegmentTable out;
  out.customer_id = input.customer_id;
  out.r = QuintileScores(input.recency_days, /*higher_is_better=*/false);
  out.f = QuintileScores(input.frequency, /*higher_is_better=*/true);
  out.m = QuintileScores(input.monetary, /*higher_is_better=*/true);
  out.names.reserve(options.rules.size());
  for (const SegmentRule& rule : options.rules) out.names.push_back(rule.name);
  out.segment.resize(n);
  for (size_t i = 0; i < n; ++i) {
    // Validate() guarantees a rule for every cell.
    out.segment[i] = static_cast<uint32_t>(
        *FindSegmentRule(options.rules, out.r[i], out.f[i], out.m[i]));
  }
  return out;
}

}  // namespace winback
