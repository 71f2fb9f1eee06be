#include "jobs/scoring/scoring.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "jobs/common/status_macros.h"
#include "jobs/model/metrics.h"

namespace winback {
namespace {

// Columns whose scale spans orders of magnitude enter the model as log1p.
bool IsLogScaled(int f) {
  switch (f) {
    case kRecencyDays:
    case kFrequency:
    case kMonetary:
    case kTenureDays:
    case kAvgBasket:
    case kPurchases90d:
    case kSessionsPerMonth:
    case kAvgSessionMinutes:
    case kDaysSinceLastSession:
    case kAvgMonthlySpend12m:
      return true;
    default:
      return false;
  }
}

Eigen::MatrixXd ModelInputs(const FeatureTable& table,
                            const std::vector<size_t>& rows) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows.size()), kFeatureCount);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& v = table.values[rows[i]];
    for (int f = 0; f < kFeatureCount; ++f) {
      x(static_cast<Eigen::Index>(i), f) =
          IsLogScaled(f) ? std::log1p(std::max(0.0, v[f])) : v[f];
    }
  }
  return x;
}

// Keeps at most `limit` of `rows`, sampling each class in proportion.
std::vector<size_t> StratifiedSubsample(const std::vector<size_t>& rows,
                                        const std::vector<uint8_t>& y,
                                        int64_t limit, uint64_t seed) {
  if (static_cast<int64_t>(rows.size()) <= limit) return rows;
  std::vector<size_t> by_class[2];
  for (size_t r : rows) by_class[y[r]].push_back(r);
  std::mt19937_64 rng(seed);
  std::vector<size_t> out;
  for (auto& group : by_class) {
    const size_t keep = static_cast<size_t>(std::llround(
        static_cast<double>(group.size()) * limit / rows.size()));
    // Partial Fisher-Yates: the first `keep` become a uniform sample.
    for (size_t i = 0; i < keep && i < group.size(); ++i) {
      std::uniform_int_distribution<size_t> pick(i, group.size() - 1);
      std::swap(group[i], group[pick(rng)]);
    }
    out.insert(out.end(), group.begin(), group.begin() + std::min(keep, group.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> ModelFeatureNames() {
  return {FeatureNames().begin(), FeatureNames().end()};
}

absl::Status ScoringOptions::Validate() const {
  if (training_months < 1) {
    return absl::InvalidArgumentError("model.training_months must be >= 1");
  }
  if (max_training_rows < 100) {
    return absl::InvalidArgumentError("model.max_training_rows must be >= 100");
  }
  if (reasons < 0 || reasons > kFeatureCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.reasons must be in [0, ", kFeatureCount, "]"));
  }
  WB_RETURN_IF_ERROR(grid.Validate());
  return features.Validate();
}

absl::StatusOr<ScoringResult> TrainAndScore(const CustomerTable& customers,
                                            const CustomerHistory& history,
                                            const LabelTable& labels,
                                            Micros as_of, Micros churn_window,
                                            const ScoringOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  ScoringResult result;

  // Months whose labels are all known, newest last.
  std::map<MonthIndex, std::pair<int64_t, int64_t>> month_counts;  // censored, known
  for (size_t i = 0; i < labels.size(); ++i) {
    auto& [censored, known] = month_counts[labels.month[i]];
    (labels.censored[i] ? censored : known) += 1;
  }
  std::vector<MonthIndex> complete;
  for (const auto& [month, counts] : month_counts) {
    if (counts.first == 0 && counts.second > 0) complete.push_back(month);
  }
  if (complete.size() < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the churn model needs at least two fully labeled months before the "
        "as-of time; found ",
        complete.size()));
  }
  result.holdout_month = complete.back();
  for (size_t k = complete.size() - 1;
       k-- > 0 && static_cast<int>(result.training_months.size()) < options.training_months;) {
    result.training_months.insert(result.training_months.begin(), complete[k]);
  }

  // Feature requests for the chosen customer-months, sorted for the sweep.
  struct Row {
    uint32_t customer_row;
    Micros tau;
    uint8_t churned;
    bool holdout;
  };
  std::vector<Row> rows;
  for (size_t i = 0; i < labels.size(); ++i) {
    const MonthIndex m = labels.month[i];
    const bool holdout = m == result.holdout_month;
    if (!holdout && !std::binary_search(result.training_months.begin(),
                                        result.training_months.end(), m)) {
      continue;
    }
    auto it = customers.row_of.find(labels.customer_id[i]);
    if (it == customers.row_of.end()) continue;
    rows.push_back({it->second, MonthStart(m + 1) - 1, labels.churned[i], holdout});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.customer_row != b.customer_row ? a.customer_row < b.customer_row
                                            : a.tau < b.tau;
  });
  std::vector<FeatureRequest> requests;
  requests.reserve(rows.size());
  for (const Row& r : rows) requests.push_back({r.customer_row, r.tau});
  WB_ASSIGN_OR_RETURN(FeatureTable past,
                      ComputeFeatures(customers, history, requests, options.features));

  std::vector<size_t> train, holdout;
  std::vector<uint8_t> y_all(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    y_all[i] = rows[i].churned;
    (rows[i].holdout ? holdout : train).push_back(i);
  }
  result.training_rows_available = static_cast<int64_t>(train.size());
  train = StratifiedSubsample(train, y_all, options.max_training_rows,
                              options.grid.seed);
  result.training_rows = static_cast<int64_t>(train.size());
  result.holdout_rows = static_cast<int64_t>(holdout.size());

  auto labels_of = [&](const std::vector<size_t>& idx) {
    Eigen::VectorXd y(static_cast<Eigen::Index>(idx.size()));
    for (size_t i = 0; i < idx.size(); ++i) y(static_cast<Eigen::Index>(i)) = y_all[idx[i]];
    return y;
  };
  const Eigen::MatrixXd x_train = ModelInputs(past, train);
  const Eigen::MatrixXd x_holdout = ModelInputs(past, holdout);
  const Eigen::VectorXd y_train = labels_of(train);
  const Eigen::VectorXd y_holdout = labels_of(holdout);

  model::ChurnModelOptions model_options;
  model_options.grid = options.grid;
  model_options.feature_names = ModelFeatureNames();
  absl::StatusOr<model::ChurnModel> fitted =
      model::TrainChurnModel(x_train, y_train, x_holdout, y_holdout, model_options);
  if (!fitted.ok()) {
    return absl::Status(fitted.status().code(),
                        absl::StrCat("training the churn model on ",
                                     train.size(), " rows: ",
                                     fitted.status().message()));
  }
  result.model = fitted->summary();
  if (options.keep_design) {
    result.design = DesignMatrix{x_train, x_holdout, y_train, y_holdout};
  }
  {
    // Recency alone as a score: the trivial baseline the model must beat.
    Eigen::VectorXd recency(x_holdout.rows());
    for (Eigen::Index i = 0; i < x_holdout.rows(); ++i) recency(i) = x_holdout(i, kRecencyDays);
    absl::StatusOr<double> auc = model::RocAuc(y_holdout, recency);
    result.baseline_recency_auc = auc.ok() ? *auc : 0.0;
  }

  // Everyone as of T: features, status; the active ones get a score.
  const size_t n = customers.size();
  std::vector<FeatureRequest> now(n);
  for (size_t r = 0; r < n; ++r) now[r] = {static_cast<uint32_t>(r), as_of};
  WB_ASSIGN_OR_RETURN(result.current,
                      ComputeFeatures(customers, history, now, options.features));
  result.status.resize(n);
  result.last_purchase_at.resize(n);
  result.churn_score.resize(n);
  result.reasons.resize(n);
  std::vector<size_t> active;
  for (size_t r = 0; r < n; ++r) {
    const uint32_t b = history.purchase_begin[r], e = history.purchase_begin[r + 1];
    // Purchases in the history are at or before as_of, sorted by time.
    if (b == e) {
      result.status[r] = ChurnStatus::kNeverPurchased;
      continue;
    }
    const Micros last = history.purchase_time[e - 1];
    result.last_purchase_at[r] = last;
    if (last + churn_window > as_of) {
      result.status[r] = ChurnStatus::kActive;
      active.push_back(r);
    } else {
      result.status[r] = ChurnStatus::kChurned;
    }
  }
  const Eigen::MatrixXd x_active = ModelInputs(result.current, active);
  WB_ASSIGN_OR_RETURN(Eigen::VectorXd p, fitted->Predict(x_active));
  for (size_t i = 0; i < active.size(); ++i) {
    const size_t r = active[i];
    result.churn_score[r] = p(static_cast<Eigen::Index>(i));
    if (options.reasons > 0) {
      WB_ASSIGN_OR_RETURN(
          std::vector<model::Reason> top,
          fitted->TopReasons(x_active.row(static_cast<Eigen::Index>(i)).transpose(),
                             options.reasons));
      for (const model::Reason& reason : top) {
        result.reasons[r].push_back({reason.name, reason.contribution});
      }
    }
  }
  result.scored_customers = static_cast<int64_t>(active.size());
  return result;
}

std::string ModelNotes(const ScoringResult& result) {
  const model::ModelSummary& m = result.model;
  std::vector<std::string> notes;
  if (!m.resample_note.empty()) notes.push_back(m.resample_note);
  if (result.training_rows < result.training_rows_available) {
    notes.push_back(absl::StrCat(
        "trained on a stratified sample of ", result.training_rows, " of ",
        result.training_rows_available, " customer-months"));
  }
  if (!m.converged) notes.push_back("the final fit did not converge");
  // 0 is "undefined" (a holdout month with one class has no AUC at all).
  if (result.baseline_recency_auc > 0 &&
      m.holdout.roc_auc < result.baseline_recency_auc) {
    notes.push_back(absl::StrFormat(
        "held-out AUC %.3f is below recency alone's %.3f: on the held-out "
        "month, sorting customers by days since their last purchase ranked "
        "churners better than the model",
        m.holdout.roc_auc, result.baseline_recency_auc));
  }
  return absl::StrJoin(notes, "; ");
}

}  // namespace winback
