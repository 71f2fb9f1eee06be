#include "jobs/model/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "jobs/common/status_macros.h"

namespace winback::model {
namespace {

// Checks shapes and labels; returns the number of positives.
absl::StatusOr<int64_t> CheckInput(const char* what, const Eigen::VectorXd& y,
                                   const Eigen::VectorXd& score) {
  if (y.size() == 0) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: no rows", what));
  }
  if (score.size() != y.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d scores for %d labels", what, score.size(), y.size()));
  }
  int64_t positives = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y(i) != 0.0 && y(i) != 1.0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: label of row %d is %g, not 0 or 1", what, i, y(i)));
    }
    positives += y(i) == 1.0;
  }
  if (!score.allFinite()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: a score is NaN or infinite", what));
  }
  return positives;
}

absl::Status CheckProbabilities(const char* what, const Eigen::VectorXd& p) {
  if ((p.array() < 0.0).any() || (p.array() > 1.0).any()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: probabilities must lie in [0, 1]", what));
  }
  return absl::OkStatus();
}

// Row indices ordered by descending score (stable, so ties keep row order).
std::vector<Eigen::Index> DescendingOrder(const Eigen::VectorXd& score) {
  std::vector<Eigen::Index> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(
      order.begin(), order.end(),
      [&](Eigen::Index a, Eigen::Index b) { return score(a) > score(b); });
  return order;
}

}  // namespace

absl::StatusOr<double> RocAuc(const Eigen::VectorXd& y,
                              const Eigen::VectorXd& score) {
  WB_ASSIGN_OR_RETURN(const int64_t n_pos, CheckInput("RocAuc", y, score));
  const int64_t n_neg = y.size() - n_pos;
  if (n_pos == 0 || n_neg == 0) {
    return absl::InvalidArgumentError(
        "RocAuc: undefined unless both classes are present");
  }
  // Walk tie groups from the lowest score up; a positive beats every
  // negative below its group and half of those tied with it.
  std::vector<Eigen::Index> order = DescendingOrder(score);
  std::reverse(order.begin(), order.end());
  double correct = 0.0;
  int64_t neg_below = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    int64_t pos = 0, neg = 0;
    while (j < order.size() && score(order[j]) == score(order[i])) {
      (y(order[j]) == 1.0 ? pos : neg) += 1;
      ++j;
    }
    correct += pos * (neg_below + 0.5 * neg);
    neg_below += neg;
    i = j;
  }
  return correct / (static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

absl::StatusOr<double> AveragePrecision(const Eigen::VectorXd& y,
                                        const Eigen::VectorXd& score) {
  WB_ASSIGN_OR_RETURN(const int64_t n_pos,
                      CheckInput("AveragePrecision", y, score));
  if (n_pos == 0) {
    return absl::InvalidArgumentError(
        "AveragePrecision: undefined without a positive");
  }
  const std::vector<Eigen::Index> order = DescendingOrder(score);
  double ap = 0.0, recall_prev = 0.0;
  int64_t tp = 0, seen = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score(order[j]) == score(order[i])) {
      tp += y(order[j]) == 1.0;
      ++j;
    }
    seen = static_cast<int64_t>(j);
    const double recall = static_cast<double>(tp) / n_pos;
    ap += (recall - recall_prev) * (static_cast<double>(tp) / seen);
    recall_prev = recall;
    i = j;
  }
  return ap;
}

absl::StatusOr<double> BrierScore(const Eigen::VectorXd& y,
                                  const Eigen::VectorXd& p) {
  WB_RETURN_IF_ERROR(CheckInput("BrierScore", y, p).status());
  WB_RETURN_IF_ERROR(CheckProbabilities("BrierScore", p));
  return (p - y).squaredNorm() / static_cast<double>(y.size());
}

absl::StatusOr<double> LogLoss(const Eigen::VectorXd& y,
                               const Eigen::VectorXd& p) {
  WB_RETURN_IF_ERROR(CheckInput("LogLoss", y, p).status());
  WB_RETURN_IF_ERROR(CheckProbabilities("LogLoss", p));
  constexpr double kEps = 1e-15;
  double sum = 0.0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const double q = std::clamp(p(i), kEps, 1.0 - kEps);
    sum -= y(i) == 1.0 ? std::log(q) : std::log1p(-q);
  }
  return sum / static_cast<double>(y.size());
}

absl::StatusOr<double> LiftAtTop(const Eigen::VectorXd& y,
                                 const Eigen::VectorXd& score,
                                 double fraction) {
  WB_ASSIGN_OR_RETURN(const int64_t n_pos, CheckInput("LiftAtTop", y, score));
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "LiftAtTop: fraction must be in (0, 1], got %g", fraction));
  }
  if (n_pos == 0) {
    return absl::InvalidArgumentError(
        "LiftAtTop: undefined without a positive");
  }
  const int64_t n = y.size();
  // The 1e-9 keeps e.g. 0.1 * 30 = 3.0000000000000004 from rounding up to 4.
  const int64_t n_top = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(fraction * n - 1e-9)), 1, n);
  const std::vector<Eigen::Index> order = DescendingOrder(score);
  double top_pos = 0.0;
  int64_t taken = 0;
  for (size_t i = 0; i < order.size() && taken < n_top;) {
    size_t j = i;
    int64_t pos = 0;
    while (j < order.size() && score(order[j]) == score(order[i])) {
      pos += y(order[j]) == 1.0;
      ++j;
    }
    const int64_t group = static_cast<int64_t>(j - i);
    const int64_t slots = std::min(group, n_top - taken);
    top_pos += static_cast<double>(pos) * slots / group;
    taken += slots;
    i = j;
  }
  return (top_pos / n_top) / (static_cast<double>(n_pos) / n);
}

absl::StatusOr<BinaryMetrics> EvaluateBinary(const Eigen::VectorXd& y,
                                             const Eigen::VectorXd& p) {
  BinaryMetrics m;
  WB_ASSIGN_OR_RETURN(m.roc_auc, RocAuc(y, p));
  WB_ASSIGN_OR_RETURN(m.average_precision, AveragePrecision(y, p));
  WB_ASSIGN_OR_RETURN(m.brier, BrierScore(y, p));
  WB_ASSIGN_OR_RETURN(m.log_loss, LogLoss(y, p));
  WB_ASSIGN_OR_RETURN(m.lift_top_decile, LiftAtTop(y, p, 0.1));
  m.n = y.size();
  m.n_positive = static_cast<int64_t>(y.sum());
  m.positive_rate = static_cast<double>(m.n_positive) / m.n;
  m.mean_prediction = p.mean();
  return m;
}

}  // namespace winback::model
