// Class-imbalance treatments applied to a training set before fitting, and
// the prior correction that undoes their effect on predicted probabilities.
#ifndef WINBACK_JOBS_MODEL_RESAMPLE_H_
#define WINBACK_JOBS_MODEL_RESAMPLE_H_

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/model/neighbors.h"

namespace winback::model {

enum class Imbalance {
  kNone = 0,
  kClassWeight = 1,      // weights n / (2 * n_class) ("balanced")
  kUndersample = 2,      // random majority undersampling to 1:1
  kSmote = 3,            // SMOTE (Chawla et al. 2002) to 1:1
  kBorderlineSmote = 4,  // Borderline-SMOTE-1 (Han et al. 2005) to 1:1
};
inline constexpr std::array<Imbalance, 5> kAllImbalances = {
    Imbalance::kNone, Imbalance::kClassWeight, Imbalance::kUndersample,
    Imbalance::kSmote, Imbalance::kBorderlineSmote};

// "none", "class_weight", "undersample", "smote", "borderline_smote".
std::string_view ImbalanceName(Imbalance m);
// Inverse of ImbalanceName; nullopt for an unknown name.
std::optional<Imbalance> ParseImbalance(std::string_view name);

struct ResampleOptions {
  Imbalance method = Imbalance::kNone;
  uint64_t seed = 42;
  // SMOTE interpolation partners: the k nearest minority rows (clamped to
  // the number of other minority rows available).
  int k_neighbors = 5;
  // Borderline-SMOTE: neighbourhood size among all rows for the danger test.
  int m_neighbors = 10;
  // A neighbour search whose reference set (minority rows for SMOTE partners,
  // all rows for the danger test) is larger than this uses a seeded uniform
  // subsample of this many reference rows instead (0 = never subsample).
  // Neighbours are then the nearest within the subsample: partners are still
  // minority rows, only somewhat farther away, and the danger test estimates
  // the local class mix from a sparser sample. This bounds the cost at
  // ~2 * queries * max_reference_rows * dim flops for ~300k-row sets.
  int64_t max_reference_rows = 20000;
  // Threads for the neighbour search (0 = hardware concurrency); results do
  // not depend on it.
  int threads = 0;
  // Optional, not owned: MinorityNeighbors of the same x and y with the same
  // k_neighbors and max_reference_rows. SMOTE partners (of SMOTE and of
  // Borderline-SMOTE) are then read from it instead of searched again; the
  // result is the same. For callers that treat the same rows several ways.
  const NeighborTable* minority_neighbors = nullptr;

  absl::Status Validate() const;
};

// Synthetic row = x[base] + gap * (x[neighbor] - x[base]), gap in [0, 1);
// base and neighbor are input minority rows.
struct SyntheticRow {
  int32_t base = 0;
  int32_t neighbor = 0;
  double gap = 0.0;
};

// A training set after an imbalance treatment.
struct Rebalanced {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Eigen::VectorXd weight;  // per-row sample weights (1 unless kClassWeight)
  // For each output row: the input row it copies, or -1 for a synthetic row.
  // Copied rows keep input order; synthetic rows come last.
  std::vector<int32_t> source_row;
  // One entry per synthetic row, in output order.
  std::vector<SyntheticRow> synthetic;
  double minority_label = 1.0;
  // Borderline-SMOTE: the input rows found to be in danger, ascending.
  std::vector<int32_t> danger_rows;
  // Borderline-SMOTE found no danger row and used plain SMOTE instead.
  bool fell_back_to_smote = false;
  // Human-readable remarks (fallbacks, subsampled neighbour searches).
  std::string note;
  // Weighted positive share sum(w * y) / sum(w) of the output: the class
  // prior the model is fitted under (0.5 after any 1:1 treatment).
  double fit_prior = 0.0;
};

// Applies `options.method` to rows `x` with labels `y` in {0, 1}. The
// minority class is the one with fewer rows. Fails with InvalidArgument for
// bad shapes, labels or options, or when a class is missing, and with
// FailedPrecondition when SMOTE has fewer than two minority rows to
// interpolate between. Deterministic for a given seed. Neighbour distances are
// Euclidean on `x` as given, so pass standardised features.
absl::StatusOr<Rebalanced> Rebalance(const Eigen::MatrixXd& x,
                                     const Eigen::VectorXd& y,
                                     const ResampleOptions& options);

// The k_neighbors nearest minority rows of every minority row of (x, y), as
// SMOTE searches them, for ResampleOptions::minority_neighbors. An empty
// table (k == 0) when SMOTE would not search that way: the minority rows are
// subsampled (more than max_reference_rows), fewer than two, or the labels
// or options are not valid (Rebalance reports those).
NeighborTable MinorityNeighbors(const Eigen::MatrixXd& x,
                                const Eigen::VectorXd& y,
                                const ResampleOptions& options);

// The intercept shift logit(true_prior) - logit(fit_prior) that maps a model
// fitted under class prior `fit_prior` back to `true_prior`:
// logit(p') = logit(p) + PriorLogitShift(pi, pi_s). Both priors in (0, 1).
double PriorLogitShift(double true_prior, double fit_prior);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_RESAMPLE_H_
