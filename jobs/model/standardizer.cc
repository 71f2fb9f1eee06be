#include "jobs/model/standardizer.h"

#include <cmath>

#include "absl/status/status.h"

namespace winback::model {

absl::StatusOr<Standardizer> Standardizer::Fit(const Eigen::MatrixXd& x) {
  if (x.rows() == 0) {
    return absl::InvalidArgumentError("Standardizer::Fit: no rows");
  }
  if (!x.allFinite()) {
    return absl::InvalidArgumentError(
        "Standardizer::Fit: the matrix holds a NaN or infinite value");
  }
  Standardizer s;
  const double n = static_cast<double>(x.rows());
  s.mean = x.colwise().sum().transpose() / n;
  s.scale.resize(x.cols());
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const double var = (x.col(j).array() - s.mean(j)).square().sum() / n;
    const double sd = std::sqrt(var);
    // Treat spreads at rounding level as constant columns, like
    // scikit-learn's _handle_zeros_in_scale.
    const double floor =
        10.0 * 2.220446049250313e-16 * std::max(1.0, std::abs(s.mean(j)));
    s.scale(j) = sd <= floor ? 1.0 : sd;
  }
  return s;
}

Eigen::MatrixXd Standardizer::Transform(const Eigen::MatrixXd& x) const {
  return ((x.rowwise() - mean.transpose()).array().rowwise() /
          scale.transpose().array())
      .matrix();
}

Eigen::VectorXd Standardizer::TransformRow(const Eigen::VectorXd& row) const {
  return ((row - mean).array() / scale.array()).matrix();
}

}  // namespace winback::model
