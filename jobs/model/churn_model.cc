#include "jobs/model/churn_model.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jobs/common/status_macros.h"
#include "jobs/model/logistic_regression.h"
#include "jobs/model/random.h"

namespace winback::model {

absl::Status ChurnModelOptions::Validate() const { return grid.Validate(); }

ChurnModel::ChurnModel(Standardizer standardizer, Eigen::VectorXd coefficients,
                       double intercept, ModelSummary summary)
    : standardizer_(std::move(standardizer)),
      coefficients_(std::move(coefficients)),
      intercept_(intercept),
      summary_(std::move(summary)) {}

absl::StatusOr<Eigen::VectorXd> ChurnModel::Predict(
    const Eigen::MatrixXd& x) const {
  if (x.cols() != coefficients_.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ChurnModel::Predict: %d columns, the model has %d "
                        "features",
                        x.cols(), coefficients_.size()));
  }
  if (!x.allFinite()) {
    return absl::InvalidArgumentError(
        "ChurnModel::Predict: features hold a NaN or infinite value");
  }
  return PredictLogistic(standardizer_.Transform(x), coefficients_, intercept_);
}

absl::StatusOr<std::vector<Reason>> ChurnModel::TopReasons(
    const Eigen::VectorXd& row, int k) const {
  if (row.size() != coefficients_.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ChurnModel::TopReasons: %d values, the model has %d "
                        "features",
                        row.size(), coefficients_.size()));
  }
  if (k < 1) {
    return absl::InvalidArgumentError("ChurnModel::TopReasons: k must be >= 1");
  }
  const Eigen::VectorXd contribution =
      coefficients_.cwiseProduct(standardizer_.TransformRow(row));
  std::vector<int> order(contribution.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t take = std::min<size_t>(k, order.size());
  std::partial_sort(order.begin(), order.begin() + take, order.end(),
                    [&](int a, int b) {
                      if (contribution(a) != contribution(b)) {
                        return contribution(a) > contribution(b);
                      }
                      return a < b;
                    });
  std::vector<Reason> reasons;
  for (size_t i = 0; i < take; ++i) {
    const int j = order[i];
    reasons.push_back({j,
                       static_cast<size_t>(j) < summary_.coefficients.size()
                           ? summary_.coefficients[j].name
                           : absl::StrCat("f", j),
                       contribution(j)});
  }
  return reasons;
}

absl::StatusOr<ChurnModel> FitChurnModel(const Eigen::MatrixXd& x,
                                         const Eigen::VectorXd& y, double c,
                                         Imbalance imbalance,
                                         const ChurnModelOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  const Eigen::Index d = x.cols();
  if (!options.feature_names.empty() &&
      options.feature_names.size() != static_cast<size_t>(d)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("FitChurnModel: %d feature names for %d columns",
                        options.feature_names.size(), d));
  }
  if (y.size() != x.rows()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "FitChurnModel: %d labels for %d rows", y.size(), x.rows()));
  }
  WB_ASSIGN_OR_RETURN(Standardizer standardizer, Standardizer::Fit(x));
  ResampleOptions ro = options.grid.resample;
  ro.method = imbalance;
  ro.seed = MixSeed(options.grid.seed, 0xF17A1ULL);
  WB_ASSIGN_OR_RETURN(const Rebalanced data,
                      Rebalance(standardizer.Transform(x), y, ro));
  LogisticOptions lo = options.grid.logistic;
  lo.c = c;
  lo.require_convergence = true;
  WB_ASSIGN_OR_RETURN(const LogisticFit fit,
                      FitLogistic(data.x, data.y, data.weight, lo));

  ModelSummary s;
  s.c = c;
  s.imbalance = imbalance;
  s.imbalance_name = std::string(ImbalanceName(imbalance));
  s.n_train = x.rows();
  s.n_train_positive = static_cast<int64_t>(y.sum());
  s.train_prior = y.mean();
  s.fit_prior = data.fit_prior;
  s.prior_shift = PriorLogitShift(s.train_prior, s.fit_prior);
  s.intercept = fit.intercept + s.prior_shift;
  s.raw_intercept = s.intercept;
  s.n_fit_rows = data.x.rows();
  s.converged = fit.converged;
  s.iterations = fit.iterations;
  s.gradient_norm = fit.gradient_norm;
  s.resample_note = data.note;
  s.cv_metric = options.grid.metric;
  for (Eigen::Index j = 0; j < d; ++j) {
    CoefficientSummary cs;
    cs.name = options.feature_names.empty() ? absl::StrCat("f", j)
                                            : options.feature_names[j];
    cs.coefficient = fit.coefficients(j);
    cs.mean = standardizer.mean(j);
    cs.scale = standardizer.scale(j);
    cs.raw_coefficient = cs.coefficient / cs.scale;
    s.raw_intercept -= cs.raw_coefficient * cs.mean;
    s.coefficients.push_back(std::move(cs));
  }
  const double intercept = s.intercept;
  return ChurnModel(std::move(standardizer), fit.coefficients, intercept,
                    std::move(s));
}

absl::StatusOr<ChurnModel> TrainChurnModel(const Eigen::MatrixXd& x_train,
                                           const Eigen::VectorXd& y_train,
                                           const Eigen::MatrixXd& x_holdout,
                                           const Eigen::VectorXd& y_holdout,
                                           const ChurnModelOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  if (x_holdout.cols() != x_train.cols()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "TrainChurnModel: holdout has %d columns, training rows have %d",
        x_holdout.cols(), x_train.cols()));
  }
  WB_ASSIGN_OR_RETURN(GridSearchResult grid,
                      GridSearch(x_train, y_train, options.grid));
  const GridCell& best = grid.best_cell();
  WB_ASSIGN_OR_RETURN(
      ChurnModel fitted,
      FitChurnModel(x_train, y_train, best.c, best.imbalance, options));
  WB_ASSIGN_OR_RETURN(const Eigen::VectorXd p, fitted.Predict(x_holdout));
  ModelSummary s = fitted.summary();
  WB_ASSIGN_OR_RETURN(s.holdout, EvaluateBinary(y_holdout, p));
  s.cv_folds = options.grid.folds;
  s.cv_mean = best.mean_score;
  s.cv_sd = best.sd_score;
  s.grid = std::move(grid.cells);
  return ChurnModel(fitted.standardizer(), fitted.coefficients(),
                    fitted.intercept(), std::move(s));
}

}  // namespace winback::model
