#include "jobs/model/churn_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "jobs/model/logistic_regression.h"

namespace winback::model {
namespace {

// y ~ Bernoulli(sigmoid(b0 + x . beta)) with x standard normal.
void LogisticData(int n, const Eigen::VectorXd& beta, double b0, uint64_t seed,
                  Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  x->resize(n, beta.size());
  y->resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < beta.size(); ++j) (*x)(i, j) = normal(rng) * 2 + 5;
    const double z = b0 + ((x->row(i).array() - 5) / 2).matrix().dot(beta);
    (*y)(i) = unit(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0;
  }
}

TEST(FitChurnModel, PriorCorrectionRestoresTheBaseRate) {
  const Eigen::VectorXd beta =
      (Eigen::VectorXd(3) << 1.0, -0.8, 0.5).finished();
  Eigen::MatrixXd x, x_new;
  Eigen::VectorXd y, y_new;
  LogisticData(20000, beta, -2.2, 31, &x, &y);
  LogisticData(20000, beta, -2.2, 32, &x_new, &y_new);
  const double base_rate = y.mean();
  ASSERT_GT(base_rate, 0.12);
  ASSERT_LT(base_rate, 0.2);
  ChurnModelOptions options;
  for (Imbalance m :
       {Imbalance::kUndersample, Imbalance::kClassWeight, Imbalance::kNone}) {
    auto model = FitChurnModel(x, y, 1.0, m, options);
    ASSERT_TRUE(model.ok()) << model.status();
    const ModelSummary& s = model->summary();
    EXPECT_DOUBLE_EQ(s.train_prior, base_rate);
    EXPECT_NEAR(s.fit_prior, m == Imbalance::kNone ? base_rate : 0.5, 1e-12);
    auto p = model->Predict(x_new);
    ASSERT_TRUE(p.ok());
    // Corrected mean probability ~ the true base rate (fresh sample, same
    // generator); the uncorrected balanced model would average ~0.4.
    EXPECT_NEAR(p->mean(), y_new.mean(), 0.01) << ImbalanceName(m);
    if (m == Imbalance::kUndersample) {
      const Eigen::VectorXd raw = PredictLogistic(
          model->standardizer().Transform(x_new), model->coefficients(),
          model->intercept() - s.prior_shift);
      EXPECT_GT(raw.mean(), 0.3);
      // Slopes recover the generating ones (features are 2 * N(0,1) + 5, and
      // the standardised coefficient equals beta up to sampling noise).
      for (int j = 0; j < 3; ++j)
        EXPECT_NEAR(s.coefficients[j].coefficient, beta(j), 0.1);
    }
  }
}

TEST(ChurnModel, TopReasonsPicksLargestContributions) {
  Standardizer st;
  st.mean = (Eigen::VectorXd(5) << 0, 10, 0, 0, 1).finished();
  st.scale = (Eigen::VectorXd(5) << 1, 2, 1, 1, 1).finished();
  const Eigen::VectorXd coef =
      (Eigen::VectorXd(5) << 1.0, 0.5, -2.0, 0.3, 1.0).finished();
  ModelSummary summary;
  for (const char* name :
       {"recency", "frequency", "monetary", "tenure", "promo"}) {
    summary.coefficients.push_back({name, 0, 0, 1, 0});
  }
  const ChurnModel model(st, coef, -1.0, summary);
  Eigen::VectorXd row(5);
  row << 0.5, 16, -1, 2, 2;
  // Standardised: 0.5, (16 - 10) / 2 = 3, -1, 2, 1.
  // Contributions: 0.5, 1.5, 2.0, 0.6, 1.0 -> monetary, frequency, promo.
  auto reasons = model.TopReasons(row);
  ASSERT_TRUE(reasons.ok());
  ASSERT_EQ(reasons->size(), 3u);
  EXPECT_EQ((*reasons)[0].feature, 2);
  EXPECT_EQ((*reasons)[0].name, "monetary");
  EXPECT_DOUBLE_EQ((*reasons)[0].contribution, 2.0);
  EXPECT_EQ((*reasons)[1].feature, 1);
  EXPECT_DOUBLE_EQ((*reasons)[1].contribution, 1.5);
  EXPECT_EQ((*reasons)[2].feature, 4);
  EXPECT_DOUBLE_EQ((*reasons)[2].contribution, 1.0);
  EXPECT_EQ(model.TopReasons(row, 10)->size(), 5u);
  EXPECT_FALSE(model.TopReasons(row, 0).ok());
  EXPECT_FALSE(model.TopReasons(Eigen::VectorXd::Zero(4)).ok());
  // Predict: sigmoid(-1 + 0.5 + 1.5 + 2.0 + 0.6 + 1.0) = sigmoid(4.6).
  auto p = model.Predict(row.transpose());
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR((*p)(0), 1 / (1 + std::exp(-4.6)), 1e-15);
  EXPECT_FALSE(model.Predict(Eigen::MatrixXd::Zero(1, 4)).ok());
}

TEST(TrainChurnModel, SelectsRefitsAndEvaluatesOnHoldout) {
  const Eigen::VectorXd beta =
      (Eigen::VectorXd(4) << 1.2, -0.8, 0.0, 0.4).finished();
  Eigen::MatrixXd x, xh;
  Eigen::VectorXd y, yh;
  LogisticData(3000, beta, -0.9, 41, &x, &y);
  LogisticData(800, beta, -0.9, 42, &xh, &yh);
  ChurnModelOptions options;
  options.grid.c_values = {0.001, 0.1, 10.0};
  options.feature_names = {"recency", "frequency", "noise", "tenure"};
  auto model = TrainChurnModel(x, y, xh, yh, options);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelSummary& s = model->summary();
  EXPECT_EQ(s.grid.size(), 15u);
  EXPECT_EQ(s.cv_folds, 5);
  EXPECT_EQ(s.coefficients[2].name, "noise");
  EXPECT_EQ(s.n_train, 3000);
  EXPECT_TRUE(s.converged);
  // The chosen cell is the best mean in the grid.
  double best = 0;
  for (const GridCell& cell : s.grid) best = std::max(best, cell.mean_score);
  EXPECT_EQ(s.cv_mean, best);
  // Holdout metrics are those of Predict on the holdout rows.
  auto p = model->Predict(xh);
  ASSERT_TRUE(p.ok());
  auto m = EvaluateBinary(yh, *p);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(s.holdout.roc_auc, m->roc_auc);
  EXPECT_EQ(s.holdout.brier, m->brier);
  EXPECT_EQ(s.holdout.n, 800);
  EXPECT_GT(s.holdout.roc_auc, 0.75);
  EXPECT_GT(s.holdout.lift_top_decile, 1.5);
  EXPECT_NEAR(s.holdout.mean_prediction, s.holdout.positive_rate, 0.05);
  // Raw-space coefficients describe the same model.
  Eigen::VectorXd raw(4);
  for (int j = 0; j < 4; ++j) raw(j) = s.coefficients[j].raw_coefficient;
  const Eigen::VectorXd p_raw = PredictLogistic(xh, raw, s.raw_intercept);
  EXPECT_LT((p_raw - *p).lpNorm<Eigen::Infinity>(), 1e-12);
}

TEST(TrainChurnModel, RejectsMismatchedInput) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(50, 2);
  Eigen::VectorXd y = Eigen::VectorXd::Zero(50);
  y.head(20).setOnes();
  ChurnModelOptions options;
  options.feature_names = {"a"};
  EXPECT_FALSE(FitChurnModel(x, y, 1.0, Imbalance::kNone, options).ok());
  EXPECT_FALSE(TrainChurnModel(x, y, Eigen::MatrixXd::Zero(5, 3),
                               Eigen::VectorXd::Zero(5), {})
                   .ok());
}

}  // namespace
}  // namespace winback::model
