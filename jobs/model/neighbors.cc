#include "jobs/model/neighbors.h"

#include <algorithm>
#include <limits>

#include "jobs/model/parallel.h"

namespace winback::model {
namespace {

constexpr Eigen::Index kQueryBlock = 128;
constexpr Eigen::Index kReferenceChunk = 2048;

}  // namespace

NeighborTable KNearestNeighbors(const Eigen::MatrixXd& points,
                                std::span<const int32_t> queries,
                                std::span<const int32_t> reference, int k,
                                int threads) {
  NeighborTable table;
  table.k = std::max(k, 0);
  table.index.assign(queries.size() * table.k, -1);
  if (table.k == 0 || queries.empty() || reference.empty()) return table;

  const Eigen::Index dim = points.cols();
  const Eigen::Index nr = static_cast<Eigen::Index>(reference.size());
  Eigen::MatrixXf ref(nr, dim);
  for (Eigen::Index i = 0; i < nr; ++i) {
    ref.row(i) = points.row(reference[i]).cast<float>();
  }
  const Eigen::VectorXf ref_norm = ref.rowwise().squaredNorm();

  const size_t nq = queries.size();
  const size_t blocks = (nq + kQueryBlock - 1) / kQueryBlock;
  ParallelFor(blocks, threads, [&](size_t block) {
    const size_t q0 = block * kQueryBlock;
    const Eigen::Index bq =
        static_cast<Eigen::Index>(std::min<size_t>(kQueryBlock, nq - q0));
    Eigen::MatrixXf qmat(bq, dim);
    for (Eigen::Index j = 0; j < bq; ++j) {
      qmat.row(j) = points.row(queries[q0 + j]).cast<float>();
    }
    const Eigen::MatrixXf qt = qmat.transpose();
    // Per query: the best k so far as (distance, reference position), sorted.
    std::vector<float> best_d(bq * table.k,
                              std::numeric_limits<float>::infinity());
    std::vector<int32_t> best_i(bq * table.k, -1);
    Eigen::MatrixXf dots;
    for (Eigen::Index r0 = 0; r0 < nr; r0 += kReferenceChunk) {
      const Eigen::Index len = std::min(kReferenceChunk, nr - r0);
      dots.noalias() = ref.middleRows(r0, len) * qt;  // len x bq
      for (Eigen::Index j = 0; j < bq; ++j) {
        const int32_t self = queries[q0 + j];
        float* bd = best_d.data() + j * table.k;
        int32_t* bi = best_i.data() + j * table.k;
        const float* col = dots.col(j).data();
        const float* rn = ref_norm.data() + r0;
        for (Eigen::Index i = 0; i < len; ++i) {
          const float dist = rn[i] - 2.0f * col[i];
          if (!(dist < bd[table.k - 1])) continue;
          const Eigen::Index pos = r0 + i;
          if (reference[pos] == self) continue;
          int slot = table.k - 1;
          while (slot > 0 && dist < bd[slot - 1]) {
            bd[slot] = bd[slot - 1];
            bi[slot] = bi[slot - 1];
            --slot;
          }
          bd[slot] = dist;
          bi[slot] = static_cast<int32_t>(pos);
        }
      }
    }
    for (Eigen::Index j = 0; j < bq; ++j) {
      for (int s = 0; s < table.k; ++s) {
        const int32_t pos = best_i[j * table.k + s];
        table.index[(q0 + j) * table.k + s] = pos < 0 ? -1 : reference[pos];
      }
    }
  });
  return table;
}

}  // namespace winback::model
