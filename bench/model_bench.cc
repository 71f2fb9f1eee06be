// Times the model stages (not a test): a logistic fit, the neighbour search
// in Borderline-SMOTE's shape, SMOTE and Borderline-SMOTE, and the grid
// search, on 100k rows x 20 Gaussian features or on a run's real training
// rows.
// Usage: model_bench [rows] [features] [minority share] [capped only: 1]
//    or: model_bench --csv FILE [capped only: 1]
// FILE: comma-separated rows of the features then the 0/1 label, after an
// optional header line; `winback run --export-dir DIR` writes a run's
// training rows so, as DIR/model_train.csv. How far a neighbour-search idea
// gets depends on the rows' geometry, which Gaussian rows do not have.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "jobs/model/cross_validation.h"
#include "jobs/model/logistic_regression.h"
#include "jobs/model/neighbors.h"
#include "jobs/model/resample.h"
#include "jobs/model/standardizer.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

// Reads `path` as described at the top; exits on a malformed file.
void ReadCsv(const char* path, Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path);
    std::exit(2);
  }
  std::vector<std::vector<double>> rows;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    // A header: a first line that does not start with a number.
    if (line_no == 1 && line.find_first_of("0123456789-+.") != 0) {
      continue;
    }
    std::vector<double> row;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      char* end = nullptr;
      row.push_back(std::strtod(field.c_str(), &end));
      if (end == field.c_str() || *end != '\0') {
        std::fprintf(stderr, "%s line %zu: '%s' is not a number\n", path,
                     line_no, field.c_str());
        std::exit(2);
      }
    }
    if (row.size() < 2 || (!rows.empty() && row.size() != rows[0].size())) {
      std::fprintf(stderr, "%s line %zu: %zu fields\n", path, line_no,
                   row.size());
      std::exit(2);
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    std::fprintf(stderr, "%s has no rows\n", path);
    std::exit(2);
  }
  const size_t d = rows[0].size() - 1;
  x->resize(static_cast<Eigen::Index>(rows.size()), d);
  y->resize(static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < d; ++j) (*x)(i, j) = rows[i][j];
    (*y)(i) = rows[i][d] != 0 ? 1 : 0;
  }
}

int main(int argc, char** argv) {
  using namespace winback::model;
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  bool capped_only = false;
  if (argc > 2 && std::strcmp(argv[1], "--csv") == 0) {
    ReadCsv(argv[2], &x, &y);
    capped_only = argc > 3 && std::atoi(argv[3]) != 0;
  } else {
    const int rows = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int features = argc > 2 ? std::atoi(argv[2]) : 20;
    const double share = argc > 3 ? std::atof(argv[3]) : 0.35;
    capped_only = argc > 4 && std::atoi(argv[4]) != 0;
    std::mt19937_64 rng(1);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> unit;
    x.resize(rows, features);
    y.resize(rows);
    const double b0 = std::log(share / (1 - share));
    for (int i = 0; i < rows; ++i) {
      double z = b0;
      for (int j = 0; j < features; ++j) {
        x(i, j) = normal(rng);
        z += (j < 5 ? 0.6 : 0.05) * x(i, j);
      }
      y(i) = unit(rng) < 1 / (1 + std::exp(-z)) ? 1 : 0;
    }
  }
  const int n = static_cast<int>(x.rows());
  const int d = static_cast<int>(x.cols());
  std::printf("%d rows x %d features, positive share %.3f\n", n, d, y.mean());
  const Eigen::MatrixXd z = Standardizer::Fit(x)->Transform(x);

  // One fit from the cold start, median of 5; the coefficient sum is a
  // check that a kernel change keeps the optimum (to rounding).
  auto t0 = std::chrono::steady_clock::now();
  LogisticOptions lo;
  {
    std::vector<double> times;
    absl::StatusOr<LogisticFit> fit;
    for (int rep = 0; rep < 5; ++rep) {
      t0 = std::chrono::steady_clock::now();
      fit = FitLogistic(z, y, Eigen::VectorXd(), lo);
      times.push_back(Seconds(t0));
    }
    std::sort(times.begin(), times.end());
    std::printf(
        "fit: %.4f s median (%.4f-%.4f), %d iterations, "
        "%.1f ns per row and iteration; gradient %.2e, "
        "coefficient sum %.12f\n",
        times[2], times[0], times[4], fit->iterations,
        1e9 * times[2] / (static_cast<double>(n) * (fit->iterations + 1)),
        fit->gradient_norm, fit->coefficients.sum() + fit->intercept);
  }

  // The Borderline-SMOTE shape: the minority rows against a reference of up
  // to 20,000 rows, 10 neighbours, one thread; median of 5.
  {
    const double minority = y.mean() <= 0.5 ? 1 : 0;
    std::vector<int32_t> queries, reference;
    for (int i = 0; i < n; ++i) {
      if (y(i) == minority) queries.push_back(i);
      if (i < 20000) reference.push_back(i);
    }
    std::vector<double> times;
    size_t checksum = 0;
    for (int rep = 0; rep < 5; ++rep) {
      t0 = std::chrono::steady_clock::now();
      const NeighborTable nn = KNearestNeighbors(z, queries, reference, 10, 1);
      times.push_back(Seconds(t0));
      checksum = 0;
      for (int32_t v : nn.index) checksum = checksum * 31 + v;
    }
    std::sort(times.begin(), times.end());
    std::printf("knn %zu x %zu, k 10, 1 thread: %.3f s median (%.3f-%.3f), "
                "%.1f GFLOP/s; checksum %zx\n",
                queries.size(), reference.size(), times[2], times[0],
                times[4],
                2e-9 * queries.size() * reference.size() * d / times[2],
                checksum);
  }

  for (Imbalance m : {Imbalance::kSmote, Imbalance::kBorderlineSmote}) {
    for (int64_t cap : {int64_t{0}, int64_t{20000}}) {
      if (cap == 0 && capped_only) continue;
      ResampleOptions ro;
      ro.method = m;
      ro.max_reference_rows = cap;
      t0 = std::chrono::steady_clock::now();
      auto out = Rebalance(z, y, ro);
      std::printf("%s (cap %lld): %.3f s, %zu synthetic, %zu danger%s%s\n",
                  std::string(ImbalanceName(m)).c_str(),
                  static_cast<long long>(cap), Seconds(t0),
                  out->synthetic.size(), out->danger_rows.size(),
                  out->note.empty() ? "" : "; ", out->note.c_str());
    }
  }

  GridSearchOptions go;  // 4 C x 5 imbalances x 5 folds = 100 fits
  t0 = std::chrono::steady_clock::now();
  auto grid = GridSearch(x, y, go);
  if (!grid.ok()) {
    std::printf("grid failed: %s\n",
                std::string(grid.status().message()).c_str());
    return 1;
  }
  std::printf("grid (100 fits): %.3f s; best C %g %s AUC %.4f\n", Seconds(t0),
              grid->best_cell().c,
              std::string(ImbalanceName(grid->best_cell().imbalance)).c_str(),
              grid->best_cell().mean_score);
  return 0;
}
