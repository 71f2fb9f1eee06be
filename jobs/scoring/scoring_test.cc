#include "jobs/scoring/scoring.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "jobs/labels/labels.h"

namespace winback {
namespace {

constexpr Micros kDay = kMicrosPerDay;

// Customers who buy every ~12 days; "lapsers" stop at a random point and
// show it coming: their gaps stretch out before the stop.
struct World {
  CustomerTable customers;
  BookingTable bookings;
  SessionTable sessions;
  Micros as_of = *ParseTimestamp("2022-07-31T23:59:59Z");
  std::vector<bool> lapser;

  explicit World(int n) {
    std::mt19937_64 rng(5);
    const Micros start = *ParseTimestamp("2021-06-01T00:00:00Z");
    for (int c = 0; c < n; ++c) {
      customers.customer_id.push_back(1000 + c);
      customers.gender.push_back(c % 3 ? Gender::kFemale : Gender::kMale);
      customers.birthdate.push_back(*ParseDate("1990-05-05"));
      customers.device_type.push_back(c % 4 ? DeviceType::kAndroid : DeviceType::kIos);
      customers.home_location.push_back(0);
      customers.first_join_date.push_back(*ParseDate("2021-01-01"));
      customers.row_of[1000 + c] = static_cast<uint32_t>(c);
      lapser.push_back(c % 2 == 1);
      const Micros stop = lapser.back() ? start + std::uniform_int_distribution<int>(60, 400)(rng) * kDay
                                        : as_of;
      Micros t = start + std::uniform_int_distribution<int>(0, 9)(rng) * kDay;
      while (t <= stop) {
        Book(1000 + c, t);
        const int base = lapser.back() && stop - t < 50 * kDay ? 24 : 10;
        t += (base + std::uniform_int_distribution<int>(0, 6)(rng)) * kDay;
      }
    }
  }
  void Book(int64_t customer, Micros t) {
    bookings.created_at.push_back(t);
    bookings.customer_id.push_back(customer);
    bookings.session.push_back(static_cast<uint32_t>(bookings.size()));
    bookings.success.push_back(1);
    bookings.total_amount.push_back(100'000);
    bookings.promo_code.push_back(0);
  }
};

// The labels and history of a world as of `as_of`.
struct Prepared {
  LabelTable labels;
  CustomerHistory history;
};
Prepared Prepare(const World& w, Micros as_of) {
  LabelOptions lo;
  lo.as_of = as_of;
  auto labels = LabelChurn(w.bookings, lo);
  EXPECT_TRUE(labels.ok()) << labels.status();
  return {labels.ok() ? *std::move(labels) : LabelTable{},
          BuildHistory(w.customers, w.bookings, w.sessions, as_of)};
}

ScoringOptions FastOptions() {
  ScoringOptions o;
  o.grid.c_values = {0.1, 1.0};
  o.grid.imbalances = {model::Imbalance::kNone, model::Imbalance::kClassWeight};
  o.grid.folds = 3;
  o.training_months = 4;
  return o;
}

TEST(TrainAndScore, HoldsOutTheLatestFullyLabeledMonthAndScoresOpenWindows) {
  World w(300);
  const Prepared p = Prepare(w, w.as_of);
  const LabelTable* labels = &p.labels;
  auto r = TrainAndScore(w.customers, p.history, p.labels, w.as_of, 25 * kDay, FastOptions());
  ASSERT_TRUE(r.ok()) << r.status();

  // July's labels (windows still open at 07-31) and June's late ones are
  // censored; May is the newest month whose labels are all known... unless a
  // June purchase falls before 07-06. Compute the expectation from labels.
  MonthIndex latest_complete = 0;
  std::map<MonthIndex, int> censored;
  for (size_t i = 0; i < labels->size(); ++i) censored[labels->month[i]] += labels->censored[i];
  for (const auto& [m, c] : censored) {
    if (c == 0) latest_complete = m;
  }
  EXPECT_EQ(r->holdout_month, latest_complete);
  ASSERT_EQ(r->training_months.size(), 4u);
  EXPECT_EQ(r->training_months.back(), latest_complete - 1);
  EXPECT_EQ(r->training_months.front(), latest_complete - 4);
  EXPECT_GT(r->holdout_rows, 0);

  // Status and scores: exactly the customers with an open window are scored.
  int active = 0;
  for (size_t c = 0; c < w.customers.size(); ++c) {
    ASSERT_TRUE(r->last_purchase_at[c].has_value());
    const bool open = *r->last_purchase_at[c] + 25 * kDay > w.as_of;
    EXPECT_EQ(r->status[c], open ? ChurnStatus::kActive : ChurnStatus::kChurned) << c;
    EXPECT_EQ(r->churn_score[c].has_value(), open) << c;
    if (open) {
      ++active;
      EXPECT_GE(*r->churn_score[c], 0.0);
      EXPECT_LE(*r->churn_score[c], 1.0);
      EXPECT_EQ(r->reasons[c].size(), 3u);
    }
  }
  EXPECT_EQ(r->scored_customers, active);
  EXPECT_GT(active, 100);
  // The pattern is learnable.
  EXPECT_GT(r->model.holdout.roc_auc, 0.7);
}

TEST(TrainAndScore, SubsamplesTrainingRowsKeepingTheClassMix) {
  World w(300);
  const Prepared p = Prepare(w, w.as_of);
  ScoringOptions o = FastOptions();
  o.max_training_rows = 300;
  auto r = TrainAndScore(w.customers, p.history, p.labels, w.as_of, 25 * kDay, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->training_rows_available, 300);
  EXPECT_NEAR(r->training_rows, 300, 1);
}

TEST(ModelNotes, NamesEachCaveatAndAModelBelowRecencyAlone) {
  ScoringResult r;
  r.model.converged = true;
  r.model.holdout.roc_auc = 0.80;
  r.baseline_recency_auc = 0.75;
  r.training_rows = r.training_rows_available = 1000;
  EXPECT_EQ(ModelNotes(r), "");

  // Each caveat on its own, in the order they are listed.
  r.model.resample_note = "SMOTE added 120 synthetic churners";
  r.training_rows = 500;
  r.model.converged = false;
  r.model.holdout.roc_auc = 0.737;
  r.baseline_recency_auc = 0.789;
  EXPECT_EQ(ModelNotes(r),
            "SMOTE added 120 synthetic churners; "
            "trained on a stratified sample of 500 of 1000 customer-months; "
            "the final fit did not converge; "
            "held-out AUC 0.737 is below recency alone's 0.789: on the "
            "held-out month, sorting customers by days since their last "
            "purchase ranked churners better than the model");

  // Equal is not below; an undefined baseline (0) is never "better".
  r = ScoringResult{};
  r.model.converged = true;
  r.model.holdout.roc_auc = 0.789;
  r.baseline_recency_auc = 0.789;
  EXPECT_EQ(ModelNotes(r), "");
  r.model.holdout.roc_auc = 0.6;
  r.baseline_recency_auc = 0;
  EXPECT_EQ(ModelNotes(r), "");
}

TEST(TrainAndScore, NeedsTwoFullyLabeledMonths) {
  World w(20);
  // As of the first days of the data, nothing is fully labeled yet.
  const Micros early = *ParseTimestamp("2021-06-20T00:00:00Z");
  const Prepared p = Prepare(w, early);
  auto r = TrainAndScore(w.customers, p.history, p.labels, early, 25 * kDay, FastOptions());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TrainAndScore, RejectsBadOptions) {
  ScoringOptions o;
  o.training_months = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = ScoringOptions{};
  o.reasons = 99;
  EXPECT_FALSE(o.Validate().ok());
}

}  // namespace
}  // namespace winback
