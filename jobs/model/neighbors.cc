#include "jobs/model/neighbors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "jobs/common/parallel.h"

namespace winback::model {
namespace {

// Queries are scanned in blocks of kQueryBlock lanes against every
// reference row; a block's running dot products fit in vector registers.
constexpr int kQueryBlock = 64;
constexpr int kVector = 8;  // floats per vector
constexpr int kVectors = kQueryBlock / kVector;
using Float8 = float __attribute__((vector_size(kVector * sizeof(float))));
using Int8 = int32_t __attribute__((vector_size(kVector * sizeof(int32_t))));

// The best k candidates of each query lane, sorted by (distance, position).
struct Best {
  int k;
  float* distance;     // [lane * k + slot]
  int32_t* position;   // [lane * k + slot]
  float* threshold;    // [lane]: distance of slot k-1, the one to beat

  void Offer(int lane, float dist, int32_t pos) {
    float* bd = distance + lane * k;
    int32_t* bi = position + lane * k;
    int slot = k - 1;
    while (slot > 0 && dist < bd[slot - 1]) {
      bd[slot] = bd[slot - 1];
      bi[slot] = bi[slot - 1];
      --slot;
    }
    bd[slot] = dist;
    bi[slot] = pos;
    threshold[lane] = bd[k - 1];
  }
};

// Scans reference rows [0, nr) (row-major, `dim` floats each, squared norms
// in `norm`) against one query block (`qt`: dim x kQueryBlock, lane-major
// per dimension). Distances up to the query's own constant norm are
// |r|^2 - 2 q.r; a candidate enters only when strictly better than the
// current k-th, so equal distances keep the earlier reference position.
// A reference row equal to the query's own row (`ids[i] == self[lane]`)
// never counts.
//
// `qt` holds -2 q, which saves a multiplication per lane and row:
// scaling by -2 is exact, so |r|^2 + (-2 q).r rounds exactly as
// |r|^2 - 2 q.r does.
//
// Written with GCC vector types so that one body serves both the baseline
// build and the AVX2/FMA variant chosen at run time.
__attribute__((always_inline)) inline void ScanBody(
    const float* __restrict qt, int dim, const float* __restrict ref,
    const float* __restrict norm, const int32_t* ids, int32_t nr,
    const int32_t* self, Best& best) {
  Float8 threshold[kVectors];
  std::memcpy(threshold, best.threshold, sizeof(threshold));
  for (int32_t i = 0; i < nr; ++i) {
    const float* r = ref + static_cast<size_t>(i) * dim;
    Float8 acc[kVectors] = {};
    for (int d = 0; d < dim; ++d) {
      // x - 0.0f is x, so this is a bare broadcast; Float8{} + x would keep
      // an addition per element, as it turns -0.0f into +0.0f.
      const Float8 rv = r[d] - Float8{};
      const float* q = qt + static_cast<size_t>(d) * kQueryBlock;
#pragma GCC unroll 8
      for (int v = 0; v < kVectors; ++v) {
        Float8 qv;
        std::memcpy(&qv, q + v * kVector, sizeof(qv));
        acc[v] += rv * qv;
      }
    }
    const Float8 rn = norm[i] - Float8{};
    Float8 dist[kVectors];
    Int8 below{};
#pragma GCC unroll 8
    for (int v = 0; v < kVectors; ++v) {
      dist[v] = rn + acc[v];
      below |= dist[v] < threshold[v];
    }
    uint64_t words[sizeof(Int8) / sizeof(uint64_t)];
    std::memcpy(words, &below, sizeof(words));
    uint64_t any = 0;
    for (uint64_t w : words) any |= w;
    if (any == 0) continue;
    for (int v = 0; v < kVectors; ++v) {
      // Most rows that get here beat the threshold in one or two lanes:
      // skip the vectors that have none.
      const Int8 hit = dist[v] < threshold[v];
      std::memcpy(words, &hit, sizeof(words));
      uint64_t hits = 0;
      for (uint64_t w : words) hits |= w;
      if (hits == 0) continue;
      for (int l = 0; l < kVector; ++l) {
        const int lane = v * kVector + l;
        if (dist[v][l] < threshold[v][l] && ids[i] != self[lane]) {
          best.Offer(lane, dist[v][l], i);
          threshold[v][l] = best.threshold[lane];
        }
      }
    }
  }
}

void ScanBaseline(const float* qt, int dim, const float* ref,
                  const float* norm, const int32_t* ids, int32_t nr,
                  const int32_t* self, Best& best) {
  ScanBody(qt, dim, ref, norm, ids, nr, self, best);
}

__attribute__((target("avx2,fma"))) void ScanAvx2(
    const float* qt, int dim, const float* ref, const float* norm,
    const int32_t* ids, int32_t nr, const int32_t* self, Best& best) {
  ScanBody(qt, dim, ref, norm, ids, nr, self, best);
}

using ScanFn = void (*)(const float*, int, const float*, const float*,
                        const int32_t*, int32_t, const int32_t*, Best&);

}  // namespace

namespace neighbors_internal {

NeighborTable KNearestNeighbors(const Eigen::MatrixXd& points,
                                std::span<const int32_t> queries,
                                std::span<const int32_t> reference, int k,
                                int threads, SimdKernel kernel) {
  NeighborTable table;
  table.k = std::max(k, 0);
  table.index.assign(queries.size() * table.k, -1);
  if (table.k == 0 || queries.empty() || reference.empty()) return table;
  const ScanFn scan = UseAvx2(kernel) ? ScanAvx2 : ScanBaseline;

  const int dim = static_cast<int>(points.cols());
  const int32_t nr = static_cast<int32_t>(reference.size());
  std::vector<float> ref(static_cast<size_t>(nr) * dim);
  std::vector<float> norm(nr);
  for (int32_t i = 0; i < nr; ++i) {
    float* row = ref.data() + static_cast<size_t>(i) * dim;
    float sq = 0.0f;
    for (int d = 0; d < dim; ++d) {
      row[d] = static_cast<float>(points(reference[i], d));
      sq += row[d] * row[d];
    }
    norm[i] = sq;
  }
  const size_t nq = queries.size();
  const size_t blocks = (nq + kQueryBlock - 1) / kQueryBlock;
  ParallelFor(blocks, threads, [&](size_t block) {
    const size_t q0 = block * kQueryBlock;
    const int bq = static_cast<int>(std::min<size_t>(kQueryBlock, nq - q0));
    // Unused lanes hold zeros and are never read back.
    std::vector<float> qt(static_cast<size_t>(dim) * kQueryBlock, 0.0f);
    int32_t self[kQueryBlock];
    std::fill(std::begin(self), std::end(self), -1);
    for (int j = 0; j < bq; ++j) {
      const int32_t row = queries[q0 + j];
      for (int d = 0; d < dim; ++d) {
        qt[static_cast<size_t>(d) * kQueryBlock + j] =
            -2.0f * static_cast<float>(points(row, d));  // see ScanBody
      }
      self[j] = row;
    }
    std::vector<float> distance(kQueryBlock * table.k,
                                std::numeric_limits<float>::infinity());
    std::vector<int32_t> position(kQueryBlock * table.k, -1);
    alignas(32) float threshold[kQueryBlock];
    std::fill(std::begin(threshold), std::end(threshold),
              std::numeric_limits<float>::infinity());
    Best best{table.k, distance.data(), position.data(), threshold};
    scan(qt.data(), dim, ref.data(), norm.data(), reference.data(), nr, self,
         best);
    for (int j = 0; j < bq; ++j) {
      for (int s = 0; s < table.k; ++s) {
        const int32_t pos = position[j * table.k + s];
        table.index[(q0 + j) * table.k + s] = pos < 0 ? -1 : reference[pos];
      }
    }
  });
  return table;
}

}  // namespace neighbors_internal

NeighborTable KNearestNeighbors(const Eigen::MatrixXd& points,
                                std::span<const int32_t> queries,
                                std::span<const int32_t> reference, int k,
                                int threads) {
  return neighbors_internal::KNearestNeighbors(points, queries, reference, k,
                                               threads, SimdKernel::kAuto);
}

}  // namespace winback::model
