// Exact k-nearest-neighbour search by blocked brute force.
#ifndef WINBACK_JOBS_MODEL_NEIGHBORS_H_
#define WINBACK_JOBS_MODEL_NEIGHBORS_H_

#include <Eigen/Dense>
#include <cstdint>
#include <span>
#include <vector>

#include "jobs/model/simd.h"

namespace winback::model {

// Row-major table of neighbour indices: query q's neighbours are
// index[q * k .. q * k + k), nearest first; -1 pads a row when fewer than k
// candidates exist.
struct NeighborTable {
  int k = 0;
  std::vector<int32_t> index;

  const int32_t* row(size_t q) const { return index.data() + q * k; }
};

// For every query row `queries[q]` (a row index of `points`), finds the k rows
// among `reference` (row indices of `points`) closest in Euclidean distance,
// never the query row itself. Ties are broken by position in `reference`.
//
// Distances are computed in single precision as |r|^2 - 2 q.r, one pass over
// the reference rows per block of 64 queries with the top-k test fused in
// (cost ~ 2 * |queries| * |reference| * dim flops), so inputs should be on a
// standardised scale. The scan is vectorised, with an AVX2/FMA variant chosen
// at run time (the rounding of the two differs, so near-ties can order
// differently between machines).
// Query blocks run on up to `threads` threads (0 = hardware concurrency); the
// result does not depend on the thread count.
NeighborTable KNearestNeighbors(const Eigen::MatrixXd& points,
                                std::span<const int32_t> queries,
                                std::span<const int32_t> reference, int k,
                                int threads);

namespace neighbors_internal {
// With the distance kernel's build chosen by the caller (simd.h).
NeighborTable KNearestNeighbors(const Eigen::MatrixXd& points,
                                std::span<const int32_t> queries,
                                std::span<const int32_t> reference, int k,
                                int threads, SimdKernel kernel);
}  // namespace neighbors_internal

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_NEIGHBORS_H_
