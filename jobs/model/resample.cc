#include "jobs/model/resample.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/common/status_macros.h"
#include "jobs/model/neighbors.h"
#include "jobs/model/random.h"

namespace winback::model {
namespace {

// Whether a neighbour reference of `rows` rows is subsampled to `cap`.
bool Subsampled(size_t rows, int64_t cap) {
  return cap > 0 && static_cast<int64_t>(rows) > cap;
}

// Returns `rows` or, when it is longer than `cap` (> 0), a uniform subsample
// of `cap` of them in ascending order.
std::vector<int32_t> CapReference(const std::vector<int32_t>& rows, int64_t cap,
                                  std::mt19937_64& rng, std::string* note) {
  if (!Subsampled(rows.size(), cap)) return rows;
  std::vector<int32_t> pool = rows;
  for (int64_t i = 0; i < cap; ++i) {
    const uint64_t j = i + UniformIndex(rng, pool.size() - i);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(cap);
  std::sort(pool.begin(), pool.end());
  absl::StrAppend(note, note->empty() ? "" : "; ",
                  absl::StrFormat("neighbour reference subsampled to %d of %d "
                                  "rows",
                                  cap, rows.size()));
  return pool;
}

// How many neighbours a search for `wanted` of them finds among `reference`
// rows that include the query row itself, which never counts.
int NeighborCount(int wanted, size_t reference) {
  return std::min<int>(wanted, static_cast<int>(reference) - 1);
}

using RowsOfLabel = std::array<std::vector<int32_t>, 2>;

// The rows of each label of `y`, ascending; InvalidArgument for a label
// other than 0 or 1.
absl::StatusOr<RowsOfLabel> RowsByLabel(const Eigen::VectorXd& y) {
  RowsOfLabel rows_of;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y(i) != 0.0 && y(i) != 1.0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Rebalance: label of row %d is %g, not 0 or 1", i, y(i)));
    }
    rows_of[y(i) == 1.0].push_back(static_cast<int32_t>(i));
  }
  return rows_of;
}

// The minority label: the one with fewer rows, 1 on a tie.
int MinorityLabel(const RowsOfLabel& rows_of) {
  return rows_of[1].size() <= rows_of[0].size() ? 1 : 0;
}

// Appends `count` synthetic rows interpolating from bases drawn uniformly
// from `bases` towards one of their k nearest rows among `minority`.
absl::Status Synthesize(const Eigen::MatrixXd& x,
                        const std::vector<int32_t>& bases,
                        const std::vector<int32_t>& minority, int64_t count,
                        const ResampleOptions& options, std::mt19937_64& rng,
                        Rebalanced* out) {
  const std::vector<int32_t> reference =
      CapReference(minority, options.max_reference_rows, rng, &out->note);
  if (reference.size() < 2) {
    return absl::FailedPreconditionError(
        "SMOTE needs at least two minority rows to interpolate between");
  }
  const int k = NeighborCount(options.k_neighbors, reference.size());
  // Draw every base first, then search neighbours only for the distinct ones,
  // or read them from the caller's table of every minority row's (the same
  // search, done once): bases are minority rows, and each row's neighbours
  // do not depend on the other rows searched with it.
  std::vector<int32_t> base_of(count);
  for (auto& b : base_of) b = bases[UniformIndex(rng, bases.size())];
  const NeighborTable* shared = options.minority_neighbors;
  const bool use_shared = shared != nullptr && shared->k == k &&
                          reference.size() == minority.size() &&
                          shared->index.size() == minority.size() * k;
  std::vector<int32_t> drawn;  // the distinct bases, when searched here
  NeighborTable searched;
  if (!use_shared) {
    drawn = base_of;
    std::sort(drawn.begin(), drawn.end());
    drawn.erase(std::unique(drawn.begin(), drawn.end()), drawn.end());
    searched = KNearestNeighbors(x, drawn, reference, k, options.threads);
  }
  // Row q of `nn` holds the neighbours of queries[q].
  const std::vector<int32_t>& queries = use_shared ? minority : drawn;
  const NeighborTable& nn = use_shared ? *shared : searched;

  const Eigen::Index n0 = out->x.rows();
  out->x.conservativeResize(n0 + count, Eigen::NoChange);
  out->y.conservativeResize(n0 + count);
  out->weight.conservativeResize(n0 + count);
  out->synthetic.reserve(count);
  for (int64_t j = 0; j < count; ++j) {
    const int32_t base = base_of[j];
    const size_t q = std::lower_bound(queries.begin(), queries.end(), base) -
                     queries.begin();
    // A base outside the subsampled reference has k valid partners; one
    // inside it excludes itself and still has k (k <= |reference| - 1).
    const int32_t neighbor = nn.row(q)[UniformIndex(rng, k)];
    const double gap = UniformUnit(rng);
    out->x.row(n0 + j) = x.row(base) + gap * (x.row(neighbor) - x.row(base));
    out->y(n0 + j) = out->minority_label;
    out->weight(n0 + j) = 1.0;
    out->source_row.push_back(-1);
    out->synthetic.push_back({base, neighbor, gap});
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ImbalanceName(Imbalance m) {
  switch (m) {
    case Imbalance::kNone:
      return "none";
    case Imbalance::kClassWeight:
      return "class_weight";
    case Imbalance::kUndersample:
      return "undersample";
    case Imbalance::kSmote:
      return "smote";
    case Imbalance::kBorderlineSmote:
      return "borderline_smote";
  }
  return "unknown";
}

std::optional<Imbalance> ParseImbalance(std::string_view name) {
  for (Imbalance m : kAllImbalances) {
    if (ImbalanceName(m) == name) return m;
  }
  return std::nullopt;
}

absl::Status ResampleOptions::Validate() const {
  if (ImbalanceName(method) == "unknown") {
    return absl::InvalidArgumentError("ResampleOptions.method is not valid");
  }
  if (k_neighbors < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ResampleOptions.k_neighbors must be >= 1, got %d", k_neighbors));
  }
  if (m_neighbors < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ResampleOptions.m_neighbors must be >= 1, got %d", m_neighbors));
  }
  if (max_reference_rows < 0 ||
      (max_reference_rows > 0 && max_reference_rows < 2)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ResampleOptions.max_reference_rows must be 0 (no cap) or >= 2, got %d",
        max_reference_rows));
  }
  if (threads < 0) {
    return absl::InvalidArgumentError("ResampleOptions.threads must be >= 0");
  }
  return absl::OkStatus();
}

double PriorLogitShift(double true_prior, double fit_prior) {
  return std::log(true_prior / (1.0 - true_prior)) -
         std::log(fit_prior / (1.0 - fit_prior));
}

NeighborTable MinorityNeighbors(const Eigen::MatrixXd& x,
                                const Eigen::VectorXd& y,
                                const ResampleOptions& options) {
  if (!options.Validate().ok() || y.size() != x.rows()) return {};
  const absl::StatusOr<RowsOfLabel> rows_of = RowsByLabel(y);
  if (!rows_of.ok()) return {};
  // As Rebalance picks the minority class and Synthesize its reference.
  const std::vector<int32_t>& minority = (*rows_of)[MinorityLabel(*rows_of)];
  if (minority.size() < 2 ||
      Subsampled(minority.size(), options.max_reference_rows)) {
    return {};
  }
  const int k = NeighborCount(options.k_neighbors, minority.size());
  return KNearestNeighbors(x, minority, minority, k, options.threads);
}

absl::StatusOr<Rebalanced> Rebalance(const Eigen::MatrixXd& x,
                                     const Eigen::VectorXd& y,
                                     const ResampleOptions& options) {
  if (absl::Status st = options.Validate(); !st.ok()) return st;
  const Eigen::Index n = x.rows();
  if (y.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Rebalance: %d labels for %d rows", y.size(), n));
  }
  if (n > INT32_MAX) {
    return absl::InvalidArgumentError("Rebalance: too many rows");
  }
  WB_ASSIGN_OR_RETURN(const RowsOfLabel rows_of, RowsByLabel(y));
  if (rows_of[0].empty() || rows_of[1].empty()) {
    return absl::InvalidArgumentError(
        "Rebalance: both classes must be present");
  }
  const int minority = MinorityLabel(rows_of);
  const std::vector<int32_t>& min_rows = rows_of[minority];
  const std::vector<int32_t>& maj_rows = rows_of[1 - minority];
  const int64_t n_min = min_rows.size();
  const int64_t n_maj = maj_rows.size();

  Rebalanced out;
  out.minority_label = minority;
  std::mt19937_64 rng(options.seed);

  auto copy_rows = [&](const std::vector<int32_t>& rows) {
    out.x.resize(rows.size(), x.cols());
    out.y.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      out.x.row(i) = x.row(rows[i]);
      out.y(i) = y(rows[i]);
    }
    out.weight = Eigen::VectorXd::Ones(rows.size());
    out.source_row = rows;
  };
  std::vector<int32_t> all(n);
  for (Eigen::Index i = 0; i < n; ++i) all[i] = static_cast<int32_t>(i);

  switch (options.method) {
    case Imbalance::kNone:
      copy_rows(all);
      break;
    case Imbalance::kClassWeight: {
      copy_rows(all);
      const double w[2] = {static_cast<double>(n) / (2.0 * rows_of[0].size()),
                           static_cast<double>(n) / (2.0 * rows_of[1].size())};
      for (Eigen::Index i = 0; i < n; ++i) out.weight(i) = w[y(i) == 1.0];
      break;
    }
    case Imbalance::kUndersample: {
      std::vector<int32_t> pool = maj_rows;
      for (int64_t i = 0; i < n_min; ++i) {
        const uint64_t j = i + UniformIndex(rng, pool.size() - i);
        std::swap(pool[i], pool[j]);
      }
      pool.resize(n_min);
      pool.insert(pool.end(), min_rows.begin(), min_rows.end());
      std::sort(pool.begin(), pool.end());
      copy_rows(pool);
      break;
    }
    case Imbalance::kSmote: {
      copy_rows(all);
      if (n_maj > n_min) {
        if (absl::Status st = Synthesize(x, min_rows, min_rows, n_maj - n_min,
                                         options, rng, &out);
            !st.ok()) {
          return st;
        }
      }
      break;
    }
    case Imbalance::kBorderlineSmote: {
      copy_rows(all);
      if (n_maj == n_min) break;
      // Danger test: the m nearest rows of either class around each
      // minority row; danger iff m/2 <= #majority < m.
      std::vector<int32_t> reference =
          CapReference(all, options.max_reference_rows, rng, &out.note);
      const int m = NeighborCount(options.m_neighbors, reference.size());
      if (m >= 1) {
        const NeighborTable nn =
            KNearestNeighbors(x, min_rows, reference, m, options.threads);
        for (size_t q = 0; q < min_rows.size(); ++q) {
          int majority = 0;
          for (int s = 0; s < m; ++s) {
            majority += y(nn.row(q)[s]) != minority;
          }
          if (2 * majority >= m && majority < m) {
            out.danger_rows.push_back(min_rows[q]);
          }
        }
      }
      const bool fallback = out.danger_rows.empty();
      if (fallback) {
        out.fell_back_to_smote = true;
        absl::StrAppend(&out.note, out.note.empty() ? "" : "; ",
                        "Borderline-SMOTE found no danger rows; used plain "
                        "SMOTE");
      }
      if (absl::Status st =
              Synthesize(x, fallback ? min_rows : out.danger_rows, min_rows,
                         n_maj - n_min, options, rng, &out);
          !st.ok()) {
        return st;
      }
      break;
    }
  }
  out.fit_prior = out.weight.dot(out.y) / out.weight.sum();
  return out;
}

}  // namespace winback::model
