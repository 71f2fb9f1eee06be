#include "jobs/model/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>

#include "absl/strings/str_format.h"
#include "jobs/common/parallel.h"
#include "jobs/common/status_macros.h"
#include "jobs/model/metrics.h"
#include "jobs/model/random.h"

namespace winback::model {
namespace {

Eigen::MatrixXd TakeRows(const Eigen::MatrixXd& x,
                         const std::vector<int32_t>& rows) {
  Eigen::MatrixXd out(rows.size(), x.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(i) = x.row(rows[i]);
  return out;
}

Eigen::VectorXd TakeRows(const Eigen::VectorXd& v,
                         const std::vector<int32_t>& rows) {
  Eigen::VectorXd out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out(i) = v(rows[i]);
  return out;
}

struct TaskResult {
  absl::Status status;
  std::vector<double> scores;  // one per C
  std::vector<bool> converged;
};

}  // namespace

absl::StatusOr<std::vector<int>> StratifiedFolds(const Eigen::VectorXd& y,
                                                 int folds, uint64_t seed) {
  if (folds < 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("StratifiedFolds: folds must be >= 2, got %d", folds));
  }
  std::vector<int32_t> rows_of[2];
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y(i) != 0.0 && y(i) != 1.0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "StratifiedFolds: label of row %d is %g, not 0 or 1", i, y(i)));
    }
    rows_of[y(i) == 1.0].push_back(static_cast<int32_t>(i));
  }
  for (int c = 0; c < 2; ++c) {
    if (static_cast<int>(rows_of[c].size()) < folds) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "StratifiedFolds: class %d has %d rows, fewer than %d folds", c,
          rows_of[c].size(), folds));
    }
  }
  std::vector<int> fold_of(y.size(), -1);
  std::mt19937_64 rng(seed);
  size_t dealt = 0;
  for (int c = 0; c < 2; ++c) {
    std::vector<int32_t>& rows = rows_of[c];
    for (size_t i = rows.size(); i > 1; --i) {
      std::swap(rows[i - 1], rows[UniformIndex(rng, i)]);
    }
    for (int32_t r : rows) fold_of[r] = static_cast<int>(dealt++ % folds);
  }
  return fold_of;
}

absl::Status GridSearchOptions::Validate() const {
  if (c_values.empty() || imbalances.empty()) {
    return absl::InvalidArgumentError(
        "GridSearchOptions: c_values and imbalances must not be empty");
  }
  for (double c : c_values) {
    if (!(c > 0.0) || !std::isfinite(c)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "GridSearchOptions.c_values must be finite and > 0, got %g", c));
    }
  }
  for (Imbalance m : imbalances) {
    if (ImbalanceName(m) == "unknown") {
      return absl::InvalidArgumentError(
          "GridSearchOptions.imbalances holds an invalid value");
    }
  }
  if (folds < 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("GridSearchOptions.folds must be >= 2, got %d", folds));
  }
  if (metric != CvMetric::kRocAuc && metric != CvMetric::kAveragePrecision) {
    return absl::InvalidArgumentError("GridSearchOptions.metric is not valid");
  }
  if (threads < 0) {
    return absl::InvalidArgumentError("GridSearchOptions.threads must be >= 0");
  }
  WB_RETURN_IF_ERROR(logistic.Validate());
  return resample.Validate();
}

absl::StatusOr<GridSearchResult> GridSearch(const Eigen::MatrixXd& x,
                                            const Eigen::VectorXd& y,
                                            const GridSearchOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  if (y.size() != x.rows()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "GridSearch: %d labels for %d rows", y.size(), x.rows()));
  }
  if (!x.allFinite()) {
    return absl::InvalidArgumentError(
        "GridSearch: features hold a NaN or infinite value");
  }
  GridSearchResult result;
  result.metric = options.metric;
  WB_ASSIGN_OR_RETURN(result.fold_of_row,
                      StratifiedFolds(y, options.folds, options.seed));

  const int k = options.folds;
  std::vector<std::vector<int32_t>> train_rows(k), val_rows(k);
  for (size_t i = 0; i < result.fold_of_row.size(); ++i) {
    for (int f = 0; f < k; ++f) {
      (f == result.fold_of_row[i] ? val_rows : train_rows)[f].push_back(
          static_cast<int32_t>(i));
    }
  }

  const size_t n_imb = options.imbalances.size();
  const size_t n_c = options.c_values.size();
  // Two levels of parallelism would oversubscribe; the grid tasks take the
  // threads and each neighbour search runs single-threaded inside one.
  const int threads = ResolveThreads(options.threads);
  std::vector<TaskResult> tasks(k * n_imb);
  // Hand out the neighbour-search tasks first so that a long one does not
  // start last and leave the other threads idle.
  auto cost = [&](size_t t) {
    const Imbalance m = options.imbalances[t % n_imb];
    return m == Imbalance::kBorderlineSmote ? 2
           : m == Imbalance::kSmote         ? 1
                                            : 0;
  };
  // SMOTE's partner search and Borderline-SMOTE's (for its danger rows) on a
  // fold's training rows look up the same neighbours: with both in the grid,
  // one search of every minority row per fold, by whichever of the two tasks
  // gets there first, serves both (Rebalance reads the same partners from
  // it). Alone, SMOTE searches only the rows it draws, which is cheaper.
  const bool share_partners =
      std::count(options.imbalances.begin(), options.imbalances.end(),
                 Imbalance::kSmote) > 0 &&
      std::count(options.imbalances.begin(), options.imbalances.end(),
                 Imbalance::kBorderlineSmote) > 0;
  struct FoldPartners {
    std::once_flag once;
    NeighborTable table;
  };
  std::vector<FoldPartners> partners(k);
  std::vector<size_t> schedule(tasks.size());
  for (size_t t = 0; t < schedule.size(); ++t) schedule[t] = t;
  std::stable_sort(schedule.begin(), schedule.end(),
                   [&](size_t a, size_t b) { return cost(a) > cost(b); });
  ParallelFor(tasks.size(), threads, [&](size_t slot) {
    const size_t t = schedule[slot];
    const int fold = static_cast<int>(t / n_imb);
    const Imbalance imbalance = options.imbalances[t % n_imb];
    TaskResult& out = tasks[t];
    auto run = [&]() -> absl::Status {
      const Eigen::MatrixXd x_train_raw = TakeRows(x, train_rows[fold]);
      WB_ASSIGN_OR_RETURN(const Standardizer standardizer,
                          Standardizer::Fit(x_train_raw));
      const Eigen::MatrixXd x_val =
          standardizer.Transform(TakeRows(x, val_rows[fold]));
      const Eigen::VectorXd y_val = TakeRows(y, val_rows[fold]);
      const double train_prior = TakeRows(y, train_rows[fold]).mean();

      ResampleOptions ro = options.resample;
      ro.method = imbalance;
      ro.seed = MixSeed(options.seed, 1000 + static_cast<uint64_t>(fold) * 16 +
                                          static_cast<uint64_t>(imbalance));
      ro.threads = threads > 1 ? 1 : ro.threads;
      const Eigen::MatrixXd x_fit = standardizer.Transform(x_train_raw);
      const Eigen::VectorXd y_fit = TakeRows(y, train_rows[fold]);
      if (share_partners && (imbalance == Imbalance::kSmote ||
                             imbalance == Imbalance::kBorderlineSmote)) {
        FoldPartners& shared = partners[fold];
        std::call_once(shared.once, [&] {
          shared.table = MinorityNeighbors(x_fit, y_fit, ro);
        });
        if (shared.table.k > 0) ro.minority_neighbors = &shared.table;
      }
      WB_ASSIGN_OR_RETURN(const Rebalanced data, Rebalance(x_fit, y_fit, ro));
      const double shift = PriorLogitShift(train_prior, data.fit_prior);
      // Each C starts from the previous C's optimum (when it converged):
      // the same optimum in fewer Newton steps.
      std::optional<LogisticFit> previous;
      for (size_t ci = 0; ci < n_c; ++ci) {
        LogisticOptions lo = options.logistic;
        lo.c = options.c_values[ci];
        lo.require_convergence = false;
        WB_ASSIGN_OR_RETURN(
            LogisticFit fit,
            FitLogistic(data.x, data.y, data.weight, lo,
                        previous ? &*previous : nullptr));
        const Eigen::VectorXd p =
            PredictLogistic(x_val, fit.coefficients, fit.intercept + shift);
        WB_ASSIGN_OR_RETURN(const double score,
                            options.metric == CvMetric::kRocAuc
                                ? RocAuc(y_val, p)
                                : AveragePrecision(y_val, p));
        out.scores.push_back(score);
        out.converged.push_back(fit.converged);
        if (fit.converged) {
          previous = std::move(fit);
        } else {
          previous.reset();
        }
      }
      if (options.observer) {
        FoldFitTrace trace;
        trace.fold = fold;
        trace.imbalance = imbalance;
        trace.train_rows = &train_rows[fold];
        trace.validation_rows = &val_rows[fold];
        trace.standardizer = &standardizer;
        trace.fit_data = &data;
        trace.validation_x = &x_val;
        options.observer(trace);
      }
      return absl::OkStatus();
    };
    out.status = run();
  });
  for (size_t t = 0; t < tasks.size(); ++t) {
    if (!tasks[t].status.ok()) {
      const Imbalance imbalance = options.imbalances[t % n_imb];
      return absl::Status(
          tasks[t].status.code(),
          absl::StrFormat("GridSearch fold %d, %s: %s", t / n_imb,
                          ImbalanceName(imbalance), tasks[t].status.message()));
    }
  }

  bool have_best = false, best_clean = false;
  for (size_t im = 0; im < n_imb; ++im) {
    for (size_t ci = 0; ci < n_c; ++ci) {
      GridCell cell;
      cell.c = options.c_values[ci];
      cell.imbalance = options.imbalances[im];
      for (int f = 0; f < k; ++f) {
        const TaskResult& task = tasks[f * n_imb + im];
        cell.fold_scores.push_back(task.scores[ci]);
        cell.non_converged_fits += task.converged[ci] ? 0 : 1;
      }
      double sum = 0.0;
      for (double s : cell.fold_scores) sum += s;
      cell.mean_score = sum / k;
      double ss = 0.0;
      for (double s : cell.fold_scores) {
        ss += (s - cell.mean_score) * (s - cell.mean_score);
      }
      cell.sd_score = std::sqrt(ss / k);
      const bool clean = cell.non_converged_fits == 0;
      const size_t index = result.cells.size();
      if (!have_best || (clean && !best_clean) ||
          (clean == best_clean &&
           cell.mean_score > result.cells[result.best].mean_score)) {
        result.best = index;
        have_best = true;
        best_clean = clean;
      }
      result.cells.push_back(std::move(cell));
    }
  }
  return result;
}

}  // namespace winback::model
