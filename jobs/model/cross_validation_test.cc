#include "jobs/model/cross_validation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <set>

namespace winback::model {
namespace {

// Continuous features (so rows are distinct) with a logistic label.
void LogisticData(int n, int d, double intercept, uint64_t seed,
                  Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  x->resize(n, d);
  y->resize(n);
  for (int i = 0; i < n; ++i) {
    double z = intercept;
    for (int j = 0; j < d; ++j) {
      (*x)(i, j) = normal(rng) * (1 + j) + 3 * j;
      z += (j % 2 == 0 ? 1.0 : -0.7) * ((*x)(i, j) - 3 * j) / (1 + j);
    }
    (*y)(i) = unit(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0;
  }
}

TEST(StratifiedFolds, KeepClassRatiosInEveryFold) {
  Eigen::VectorXd y = Eigen::VectorXd::Zero(103);
  for (int i = 0; i < 103; i += 4) y(i) = 1;  // 26 positives, 77 negatives
  auto folds = StratifiedFolds(y, 5, 1);
  ASSERT_TRUE(folds.ok());
  int pos[5] = {}, neg[5] = {};
  for (int i = 0; i < 103; ++i) {
    ASSERT_GE((*folds)[i], 0);
    ASSERT_LT((*folds)[i], 5);
    ((y(i) == 1) ? pos : neg)[(*folds)[i]]++;
  }
  for (int f = 0; f < 5; ++f) {
    // 26 / 5 = 5.2 and 77 / 5 = 15.4: floor or ceil per fold.
    EXPECT_TRUE(pos[f] == 5 || pos[f] == 6) << f;
    EXPECT_TRUE(neg[f] == 15 || neg[f] == 16) << f;
    EXPECT_TRUE(pos[f] + neg[f] == 20 || pos[f] + neg[f] == 21) << f;
  }
  EXPECT_EQ(*StratifiedFolds(y, 5, 1), *folds);
  EXPECT_NE(*StratifiedFolds(y, 5, 2), *folds);
  Eigen::VectorXd few = Eigen::VectorXd::Zero(20);
  few(0) = few(1) = 1;
  EXPECT_FALSE(StratifiedFolds(few, 5, 1).ok());
}

TEST(GridSearch, NeverLetsTrainingOrSyntheticRowsIntoValidation) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LogisticData(300, 3, -1.0, 21, &x, &y);
  GridSearchOptions options;
  options.c_values = {0.1, 1.0};
  options.folds = 4;
  std::mutex mu;
  std::vector<FoldFitTrace> seen;  // copied fields only
  int checked = 0;
  std::vector<int> fold_of_row;
  {
    auto folds = StratifiedFolds(y, options.folds, options.seed);
    ASSERT_TRUE(folds.ok());
    fold_of_row = *folds;
  }
  options.observer = [&](const FoldFitTrace& t) {
    std::lock_guard<std::mutex> lock(mu);
    ++checked;
    const std::vector<int32_t>& train = *t.train_rows;
    const std::vector<int32_t>& val = *t.validation_rows;
    const std::set<int32_t> val_set(val.begin(), val.end());
    // The validation rows are exactly this fold; training rows the rest.
    for (int i = 0; i < 300; ++i) {
      EXPECT_EQ(val_set.count(i) == 1, fold_of_row[i] == t.fold);
    }
    EXPECT_EQ(train.size() + val.size(), 300u);
    for (int32_t r : train) EXPECT_EQ(val_set.count(r), 0u);
    // The standardiser saw the training rows only.
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(3);
    for (int32_t r : train) mean += x.row(r).transpose();
    mean /= train.size();
    EXPECT_LT((t.standardizer->mean - mean).norm(), 1e-12);
    // Every fitted row is a training row or interpolates two of them.
    const Rebalanced& fit = *t.fit_data;
    size_t synthetic = 0;
    for (Eigen::Index i = 0; i < fit.x.rows(); ++i) {
      const int32_t src = fit.source_row[i];
      if (src < 0) {
        ++synthetic;
        continue;
      }
      EXPECT_EQ(val_set.count(train[src]), 0u);
      EXPECT_LT((fit.x.row(i).transpose() -
                 t.standardizer->TransformRow(x.row(train[src]).transpose()))
                    .norm(),
                1e-12);
    }
    EXPECT_EQ(synthetic, fit.synthetic.size());
    for (const SyntheticRow& s : fit.synthetic) {
      EXPECT_EQ(val_set.count(train[s.base]), 0u);
      EXPECT_EQ(val_set.count(train[s.neighbor]), 0u);
    }
    // The scored rows are the validation rows, and none of them was fitted.
    ASSERT_EQ(t.validation_x->rows(), static_cast<Eigen::Index>(val.size()));
    for (size_t v = 0; v < val.size(); ++v) {
      const Eigen::VectorXd z =
          t.standardizer->TransformRow(x.row(val[v]).transpose());
      EXPECT_LT((t.validation_x->row(v).transpose() - z).norm(), 1e-12);
      for (Eigen::Index i = 0; i < fit.x.rows(); ++i) {
        ASSERT_GT((fit.x.row(i).transpose() - z).norm(), 1e-9)
            << "validation row " << val[v] << " was fitted";
      }
    }
    if (t.imbalance == Imbalance::kSmote) {
      EXPECT_GT(synthetic, 0u);
    }
  };
  auto result = GridSearch(x, y, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(checked, 4 * 5);
  EXPECT_EQ(result->fold_of_row, fold_of_row);
  ASSERT_EQ(result->cells.size(), 10u);
  // Imbalance-major, then C.
  EXPECT_EQ(result->cells[0].imbalance, Imbalance::kNone);
  EXPECT_EQ(result->cells[1].c, 1.0);
  EXPECT_EQ(result->cells[2].imbalance, Imbalance::kClassWeight);
}

TEST(GridSearch, ResultsDoNotDependOnThreadCount) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LogisticData(400, 4, -0.8, 22, &x, &y);
  GridSearchOptions options;
  options.c_values = {0.01, 1.0};
  options.threads = 1;
  auto one = GridSearch(x, y, options);
  options.threads = 3;
  auto three = GridSearch(x, y, options);
  ASSERT_TRUE(one.ok() && three.ok());
  ASSERT_EQ(one->cells.size(), three->cells.size());
  for (size_t i = 0; i < one->cells.size(); ++i) {
    EXPECT_EQ(one->cells[i].fold_scores, three->cells[i].fold_scores) << i;
  }
  EXPECT_EQ(one->best, three->best);
}

TEST(GridSearch, SharedPartnerSearchKeepsEveryScore) {
  // With SMOTE and Borderline-SMOTE both in the grid, each fold's partner
  // search is done once for the two; every score must equal the one each
  // option gets in a grid of its own, where it searches alone.
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LogisticData(600, 4, -0.8, 31, &x, &y);
  GridSearchOptions options;
  options.c_values = {0.1, 1.0};
  options.threads = 2;
  options.imbalances = {Imbalance::kSmote, Imbalance::kBorderlineSmote};
  auto both = GridSearch(x, y, options);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_EQ(both->cells.size(), 4u);
  for (size_t im = 0; im < 2; ++im) {
    options.imbalances = {both->cells[2 * im].imbalance};
    auto alone = GridSearch(x, y, options);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_EQ(alone->cells.size(), 2u);
    for (size_t ci = 0; ci < 2; ++ci) {
      EXPECT_EQ(both->cells[2 * im + ci].fold_scores,
                alone->cells[ci].fold_scores)
          << ImbalanceName(alone->cells[ci].imbalance) << ", C "
          << alone->cells[ci].c;
    }
  }
}

TEST(GridSearch, SummarisesFoldScoresAndPicksTheBestMean) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LogisticData(400, 4, -0.8, 23, &x, &y);
  GridSearchOptions options;
  options.c_values = {1e-4, 1.0};
  options.imbalances = {Imbalance::kNone, Imbalance::kUndersample};
  options.metric = CvMetric::kAveragePrecision;
  auto result = GridSearch(x, y, options);
  ASSERT_TRUE(result.ok()) << result.status();
  double best = -1;
  for (const GridCell& cell : result->cells) {
    ASSERT_EQ(cell.fold_scores.size(), 5u);
    double mean = 0, ss = 0;
    for (double s : cell.fold_scores) mean += s / 5;
    for (double s : cell.fold_scores) ss += (s - mean) * (s - mean);
    EXPECT_NEAR(cell.mean_score, mean, 1e-12);
    EXPECT_NEAR(cell.sd_score, std::sqrt(ss / 5), 1e-12);
    EXPECT_EQ(cell.non_converged_fits, 0);
    best = std::max(best, cell.mean_score);
  }
  EXPECT_EQ(result->best_cell().mean_score, best);
  EXPECT_GT(best, 0.5);
}

TEST(GridSearch, RejectsBadOptions) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LogisticData(100, 2, 0, 24, &x, &y);
  GridSearchOptions options;
  options.c_values = {};
  EXPECT_EQ(GridSearch(x, y, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.c_values = {-1};
  EXPECT_FALSE(GridSearch(x, y, options).ok());
  options.c_values = {1};
  options.folds = 1;
  EXPECT_FALSE(GridSearch(x, y, options).ok());
}

}  // namespace
}  // namespace winback::model
