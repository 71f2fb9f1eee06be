// Stratified k-fold cross-validation and the grid search over the
// regularisation strength C and the class-imbalance treatment.
#ifndef WINBACK_JOBS_MODEL_CROSS_VALIDATION_H_
#define WINBACK_JOBS_MODEL_CROSS_VALIDATION_H_

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/model/logistic_regression.h"
#include "jobs/model/resample.h"
#include "jobs/model/standardizer.h"

namespace winback::model {

// Assigns each row a fold in [0, folds). Rows of each class are shuffled
// (std::mt19937_64 seeded with `seed`) and dealt round-robin, continuing the
// deal across classes, so every fold holds floor or ceil of n_c / folds rows
// of each class c and fold sizes differ by at most one. Fails with
// InvalidArgument when folds < 2, a label is not 0/1, or a class has fewer
// than `folds` rows (a validation fold would miss that class).
absl::StatusOr<std::vector<int>> StratifiedFolds(const Eigen::VectorXd& y,
                                                 int folds, uint64_t seed);

enum class CvMetric { kRocAuc = 0, kAveragePrecision = 1 };

// What one cross-validation fit saw; handed to GridSearchOptions::observer.
// Pointers are valid only during the call.
struct FoldFitTrace {
  int fold = 0;
  Imbalance imbalance = Imbalance::kNone;
  const std::vector<int32_t>* train_rows = nullptr;       // input rows
  const std::vector<int32_t>* validation_rows = nullptr;  // input rows
  const Standardizer* standardizer = nullptr;  // fitted on train_rows only
  // The data the model was fitted on (standardised, after the imbalance
  // treatment); its source_row and synthetic indices refer to positions in
  // *train_rows.
  const Rebalanced* fit_data = nullptr;
  // The standardised rows that were scored (row i = validation_rows[i]).
  const Eigen::MatrixXd* validation_x = nullptr;
};

struct GridSearchOptions {
  std::vector<double> c_values = {0.01, 0.1, 1.0, 10.0};
  std::vector<Imbalance> imbalances = {kAllImbalances.begin(),
                                       kAllImbalances.end()};
  int folds = 5;
  uint64_t seed = 42;  // folds and every resampling derive from it
  CvMetric metric = CvMetric::kRocAuc;
  // Solver settings; `c` is replaced by each grid value. A fit that does not
  // converge is scored anyway and counted in GridCell::non_converged_fits.
  LogisticOptions logistic;
  // Neighbour settings; `method` and `seed` are replaced per cell and fold.
  ResampleOptions resample;
  // Worker threads over (fold, imbalance) tasks (0 = hardware concurrency).
  // Results do not depend on it.
  int threads = 0;
  // Optional hook called once per (fold, imbalance) after the fits, possibly
  // from several threads at once (it must be thread-safe). For tests and
  // diagnostics.
  std::function<void(const FoldFitTrace&)> observer;

  absl::Status Validate() const;
};

struct GridCell {
  double c = 0.0;
  Imbalance imbalance = Imbalance::kNone;
  double mean_score = 0.0;
  double sd_score = 0.0;  // population sd (ddof = 0) over folds, as sklearn
  std::vector<double> fold_scores;
  int non_converged_fits = 0;
};

struct GridSearchResult {
  CvMetric metric = CvMetric::kRocAuc;
  // Imbalance-major, then C, in the order of the options' lists.
  std::vector<GridCell> cells;
  // The cell with the highest mean score among cells whose fits all
  // converged (all cells if none did); ties go to the earlier cell.
  size_t best = 0;
  std::vector<int> fold_of_row;

  const GridCell& best_cell() const { return cells[best]; }
};

// Cross-validates every (C, imbalance) pair on rows `x`, labels `y` in
// {0, 1}. Per fold, the standardiser is fitted on the training rows, the
// imbalance treatment resamples or weights the training rows only, and the
// untouched validation rows are scored. One resampling per (fold, imbalance)
// serves every C. Fails with InvalidArgument on bad input or options.
absl::StatusOr<GridSearchResult> GridSearch(const Eigen::MatrixXd& x,
                                            const Eigen::VectorXd& y,
                                            const GridSearchOptions& options);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_CROSS_VALIDATION_H_
