#include "jobs/model/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace winback::model {
namespace {

Eigen::VectorXd Vec(std::initializer_list<double> v) {
  Eigen::VectorXd out(v.size());
  int i = 0;
  for (double d : v) out(i++) = d;
  return out;
}

// y = 1 0 1 0 1 0, scores .9 .9 .5 .5 .3 .1 (ties across the classes).
const Eigen::VectorXd kTieY = Vec({1, 0, 1, 0, 1, 0});
const Eigen::VectorXd kTieS = Vec({0.9, 0.9, 0.5, 0.5, 0.3, 0.1});

TEST(RocAuc, CountsTiesAsHalf) {
  // Pairs (positive, negative), 3 x 3 = 9:
  //   pos .9: vs .9 tie 1/2, vs .5 1, vs .1 1   -> 2.5
  //   pos .5: vs .9 0,  vs .5 tie 1/2, vs .1 1  -> 1.5
  //   pos .3: vs .9 0,  vs .5 0,  vs .1 1       -> 1
  // AUC = 5 / 9.
  EXPECT_NEAR(RocAuc(kTieY, kTieS).value(), 5.0 / 9.0, 1e-15);
  EXPECT_DOUBLE_EQ(RocAuc(Vec({0, 0, 1}), Vec({0.1, 0.2, 0.3})).value(), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc(Vec({0, 1, 0, 1}), Vec({1, 1, 1, 1})).value(), 0.5);
}

TEST(AveragePrecision, UsesDistinctThresholds) {
  // Thresholds high to low (TP, FP, precision, recall of 3 positives):
  //   >= .9: 1, 1, 1/2, 1/3   (R - R_prev = 1/3)
  //   >= .5: 2, 2, 1/2, 2/3   (1/3)
  //   >= .3: 3, 2, 3/5, 1     (1/3)
  //   >= .1: 3, 3, 1/2, 1     (0)
  // AP = 1/3 * 1/2 + 1/3 * 1/2 + 1/3 * 3/5 = 1/6 + 1/6 + 1/5 = 8/15.
  EXPECT_NEAR(AveragePrecision(kTieY, kTieS).value(), 8.0 / 15.0, 1e-15);
  // A perfect ranking has AP 1.
  EXPECT_DOUBLE_EQ(
      AveragePrecision(Vec({0, 1, 1}), Vec({0.1, 0.5, 0.7})).value(), 1.0);
}

TEST(BrierScore, IsMeanSquaredError) {
  // (.1^2 + .9^2 + .5^2 + .5^2 + .7^2 + .1^2) / 6
  //   = (.01 + .81 + .25 + .25 + .49 + .01) / 6 = 1.82 / 6.
  EXPECT_NEAR(BrierScore(kTieY, kTieS).value(), 1.82 / 6.0, 1e-15);
  EXPECT_FALSE(BrierScore(kTieY, Vec({1.2, 0, 0, 0, 0, 0})).ok());
}

TEST(LogLoss, IsMeanNegativeLogLikelihood) {
  // -(ln .9 + ln(1 - .9) + ln .5 + ln(1 - .5) + ln .3 + ln(1 - .1)) / 6
  const double want = -(std::log(0.9) + std::log(0.1) + std::log(0.5) +
                        std::log(0.5) + std::log(0.3) + std::log(0.9)) /
                      6.0;
  EXPECT_NEAR(LogLoss(kTieY, kTieS).value(), want, 1e-14);
  // p = 0 for a positive is clipped to 1e-15: -ln(1e-15) / 1.
  EXPECT_NEAR(LogLoss(Vec({1}), Vec({0})).value(), -std::log(1e-15), 1e-9);
}

TEST(LiftAtTop, SplitsTiesAtTheCutOff) {
  // 20 rows, 4 positives (base rate 0.2); top 10% = 2 rows. Row 0 (score .9,
  // positive) is in; rows 1-3 tie at .8 with one positive and share the one
  // remaining slot: 1 * 1/3 positive. Top rate (1 + 1/3) / 2 = 2/3, lift
  // (2/3) / 0.2 = 10/3.
  Eigen::VectorXd y = Eigen::VectorXd::Zero(20);
  Eigen::VectorXd s = Eigen::VectorXd::Constant(20, 0.1);
  s(0) = 0.9;
  y(0) = 1;
  s(1) = 0.8;
  s(2) = 0.8;
  s(3) = 0.8;
  y(2) = 1;
  y(10) = 1;
  y(11) = 1;
  EXPECT_NEAR(LiftAtTop(y, s, 0.1).value(), 10.0 / 3.0, 1e-14);
  // Without ties: the two highest are both positive: (2/2) / 0.2 = 5.
  s(2) = 0.85;
  EXPECT_NEAR(LiftAtTop(y, s, 0.1).value(), 5.0, 1e-14);
}

TEST(LiftAtTop, TopDecileOfThirtyRowsIsThreeRows) {
  // 0.1 * 30 must give 3 rows, not ceil(3.0000000000000004) = 4.
  Eigen::VectorXd y = Eigen::VectorXd::Zero(30);
  Eigen::VectorXd s(30);
  for (int i = 0; i < 30; ++i) s(i) = 30 - i;  // row 0 scores highest
  y(0) = y(1) = y(2) = 1;  // exactly the top 3, base rate 3/30
  y(29) = 1;               // base rate 4/30; top rate 3/3 -> lift 7.5
  EXPECT_NEAR(LiftAtTop(y, s, 0.1).value(), 7.5, 1e-14);
}

TEST(Metrics, MatchScikitLearnOnTiedScores) {
  // References from /usr/bin/python3, scikit-learn 1.2.1:
  //   roc_auc_score(y, s), average_precision_score(y, s),
  //   brier_score_loss(y, s), log_loss(y, s)
  // with y, s as below (numpy default_rng(7) draws, scores rounded to 0.1).
  const Eigen::VectorXd y =
      Vec({0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
           1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1});
  const Eigen::VectorXd s =
      Vec({0.3, 0.3, 0.3, 0.3, 0.7, 0.6, 0.3, 0.5, 0.3, 0.1, 1,   0.8, 0.4, 0.3,
           0.4, 0.3, 0.5, 0.3, 0.5, 0.7, 0.5, 0.7, 0.2, 0.7, 0.4, 0.2, 0.3, 0.5,
           0.6, 0,   0.1, 0.8, 0.2, 0.5, 0.3, 1,   0.5, 0.6, 0.2, 0.6});
  EXPECT_NEAR(RocAuc(y, s).value(), 0.79166666666666663, 1e-14);
  EXPECT_NEAR(AveragePrecision(y, s).value(), 0.73788976626147673, 1e-14);
  EXPECT_NEAR(BrierScore(y, s).value(), 0.17699999999999999, 1e-14);
  EXPECT_NEAR(LogLoss(y, s).value(), 0.52193911258194026, 1e-12);
}

TEST(Metrics, RejectUndefinedCases) {
  EXPECT_FALSE(RocAuc(Vec({1, 1}), Vec({0.1, 0.2})).ok());
  EXPECT_FALSE(AveragePrecision(Vec({0, 0}), Vec({0.1, 0.2})).ok());
  EXPECT_FALSE(LiftAtTop(Vec({0, 0}), Vec({0.1, 0.2})).ok());
  EXPECT_FALSE(RocAuc(Vec({0, 1}), Vec({0.1})).ok());
  EXPECT_FALSE(RocAuc(Eigen::VectorXd(), Eigen::VectorXd()).ok());
  EXPECT_FALSE(RocAuc(Vec({0, 1}), Vec({0.1, NAN})).ok());
}

TEST(EvaluateBinary, CollectsAllMetrics) {
  auto m = EvaluateBinary(kTieY, kTieS);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_NEAR(m->roc_auc, 5.0 / 9.0, 1e-15);
  EXPECT_NEAR(m->average_precision, 8.0 / 15.0, 1e-15);
  EXPECT_EQ(m->n, 6);
  EXPECT_EQ(m->n_positive, 3);
  EXPECT_DOUBLE_EQ(m->positive_rate, 0.5);
  EXPECT_NEAR(m->mean_prediction, 3.2 / 6.0, 1e-15);
  // Top 10% of 6 rows = 1 row; the two .9 rows tie, 1 positive: 1/2 of a
  // positive in 1 slot -> rate 1/2, lift (1/2) / (1/2) = 1.
  EXPECT_NEAR(m->lift_top_decile, 1.0, 1e-15);
}

}  // namespace
}  // namespace winback::model
