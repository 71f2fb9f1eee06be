#include "jobs/model/neighbors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

namespace winback::model {
namespace {

TEST(KNearestNeighbors, MatchesNaiveSearchAndSkipsSelf) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  const int n = 3000, d = 6, k = 7;
  Eigen::MatrixXd x(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) x(i, j) = normal(rng);
  std::vector<int32_t> queries, reference;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0) queries.push_back(i);
    if (i % 2 == 0) reference.push_back(i);  // overlaps the queries
  }
  std::vector<SimdKernel> kernels = {SimdKernel::kBaseline};
  if (CpuHasAvx2()) kernels.push_back(SimdKernel::kAvx2);
  for (const auto& [threads, kernel] :
       {std::pair{1, kernels.front()}, std::pair{2, kernels.back()},
        std::pair{1, kernels.back()}}) {
    const NeighborTable nn = neighbors_internal::KNearestNeighbors(
        x, queries, reference, k, threads, kernel);
    ASSERT_EQ(nn.k, k);
    for (size_t q = 0; q < queries.size(); ++q) {
      std::vector<std::pair<double, int32_t>> all;
      for (int32_t r : reference) {
        if (r != queries[q]) {
          all.push_back({(x.row(r) - x.row(queries[q])).squaredNorm(), r});
        }
      }
      std::sort(all.begin(), all.end());
      for (int s = 0; s < k; ++s) {
        ASSERT_EQ(nn.row(q)[s], all[s].second)
            << "query " << q << " slot " << s;
      }
    }
  }
}

TEST(KNearestNeighbors, EqualDistancesKeepReferenceOrder) {
  // Points on a line at integer positions (exact in float): from 0 the rows
  // at +-1 tie, as do those at +-2; the earlier reference position wins.
  // A query row never finds itself, but its duplicate (row 6) counts.
  Eigen::MatrixXd x(7, 2);
  x << 0, 0, 1, 0, -1, 0, 2, 0, -2, 0, 5, 0, 0, 0;
  const std::vector<int32_t> q = {0}, r = {4, 3, 2, 1, 0, 5, 6};
  for (SimdKernel kernel : {SimdKernel::kBaseline, SimdKernel::kAuto}) {
    const NeighborTable nn =
        neighbors_internal::KNearestNeighbors(x, q, r, 5, 1, kernel);
    EXPECT_EQ(std::vector<int32_t>(nn.row(0), nn.row(0) + 5),
              (std::vector<int32_t>{6, 2, 1, 4, 3}));
  }
}

TEST(KNearestNeighbors, PadsWhenFewerCandidates) {
  Eigen::MatrixXd x(3, 1);
  x << 0, 1, 5;
  const std::vector<int32_t> q = {0}, r = {0, 2};
  const NeighborTable nn = KNearestNeighbors(x, q, r, 3, 1);
  EXPECT_EQ(nn.row(0)[0], 2);
  EXPECT_EQ(nn.row(0)[1], -1);
  EXPECT_EQ(nn.row(0)[2], -1);
}

}  // namespace
}  // namespace winback::model
