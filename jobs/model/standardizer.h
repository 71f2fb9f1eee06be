// Per-column standardisation: z = (x - mean) / scale.
#ifndef WINBACK_JOBS_MODEL_STANDARDIZER_H_
#define WINBACK_JOBS_MODEL_STANDARDIZER_H_

#include <Eigen/Dense>

#include "absl/status/statusor.h"

namespace winback::model {

// Column means and scales learnt from training rows. `scale` is the
// population standard deviation (ddof = 0, as scikit-learn's StandardScaler),
// or 1 for a constant column (so it maps to 0 instead of dividing by 0).
struct Standardizer {
  Eigen::VectorXd mean;
  Eigen::VectorXd scale;

  // Learns mean and scale from the rows of `x`. Fails with InvalidArgument
  // when `x` has no rows or holds a non-finite value.
  static absl::StatusOr<Standardizer> Fit(const Eigen::MatrixXd& x);

  // Returns (x - mean) / scale row-wise. `x.cols()` must equal mean.size()
  // (checked by the callers that take untrusted input).
  Eigen::MatrixXd Transform(const Eigen::MatrixXd& x) const;
  Eigen::VectorXd TransformRow(const Eigen::VectorXd& row) const;

  Eigen::Index dim() const { return mean.size(); }
};

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_STANDARDIZER_H_
