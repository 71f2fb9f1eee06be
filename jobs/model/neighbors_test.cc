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
  for (int threads : {1, 2}) {
    const NeighborTable nn =
        KNearestNeighbors(x, queries, reference, k, threads);
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
