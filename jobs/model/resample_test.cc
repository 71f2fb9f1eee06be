#include "jobs/model/resample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace winback::model {
namespace {

// Gaussian blobs: `n_min` minority rows (label 1) around (1, ..., 1) and
// `n_maj` majority rows around 0, interleaved.
void Blobs(int n_min, int n_maj, int d, double shift, uint64_t seed,
           Eigen::MatrixXd* x, Eigen::VectorXd* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const int n = n_min + n_maj;
  x->resize(n, d);
  y->resize(n);
  int made_min = 0;
  for (int i = 0; i < n; ++i) {
    const bool minority =
        made_min < n_min && (i % 3 == 0 || n - i <= n_min - made_min);
    made_min += minority;
    (*y)(i) = minority ? 1 : 0;
    for (int j = 0; j < d; ++j)
      x->coeffRef(i, j) = normal(rng) + (minority ? shift : 0);
  }
}

// Position t of `p` on the segment a -> b when p is on the line through a
// and b (within 1e-9), else NaN.
double SegmentParameter(const Eigen::RowVectorXd& a,
                        const Eigen::RowVectorXd& b,
                        const Eigen::RowVectorXd& p) {
  const Eigen::RowVectorXd v = b - a;
  const double vv = v.squaredNorm();
  if (vv == 0) return (p - a).norm() < 1e-12 ? 0.0 : NAN;
  const double t = (p - a).dot(v) / vv;
  if ((p - a - t * v).norm() > 1e-9 * std::max(1.0, v.norm())) return NAN;
  return t;
}

// Checks every synthetic row of `out` lies on a segment between two
// minority input rows with parameter in [0, 1], found by trying all pairs
// (not trusting the recorded provenance), and that the provenance agrees.
void ExpectOnMinoritySegments(const Eigen::MatrixXd& x,
                              const Eigen::VectorXd& y, const Rebalanced& out) {
  std::vector<int> minority;
  for (Eigen::Index i = 0; i < y.size(); ++i)
    if (y(i) == out.minority_label) minority.push_back(i);
  const Eigen::Index n_orig = out.x.rows() - out.synthetic.size();
  for (size_t s = 0; s < out.synthetic.size(); ++s) {
    const Eigen::RowVectorXd p = out.x.row(n_orig + s);
    EXPECT_EQ(out.y(n_orig + s), out.minority_label);
    EXPECT_EQ(out.source_row[n_orig + s], -1);
    bool found = false;
    for (size_t a = 0; a < minority.size() && !found; ++a) {
      for (size_t b = a + 1; b < minority.size() && !found; ++b) {
        const double t =
            SegmentParameter(x.row(minority[a]), x.row(minority[b]), p);
        found = t >= -1e-12 && t <= 1 + 1e-12;
      }
    }
    EXPECT_TRUE(found) << "synthetic row " << s << " is on no minority segment";
    const SyntheticRow& meta = out.synthetic[s];
    EXPECT_EQ(y(meta.base), out.minority_label);
    EXPECT_EQ(y(meta.neighbor), out.minority_label);
    EXPECT_NE(meta.base, meta.neighbor);
    EXPECT_GE(meta.gap, 0.0);
    EXPECT_LE(meta.gap, 1.0);
    EXPECT_NEAR(SegmentParameter(x.row(meta.base), x.row(meta.neighbor), p),
                meta.gap, 1e-9);
  }
}

// Rank of `nb` among the minority rows (other than `base`) by distance to
// `base`, 0 = nearest.
int NeighborRank(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                 double label, int base, int nb) {
  const double d = (x.row(nb) - x.row(base)).squaredNorm();
  int rank = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (i != base && i != nb && y(i) == label &&
        (x.row(i) - x.row(base)).squaredNorm() < d) {
      ++rank;
    }
  }
  return rank;
}

int Count(const Eigen::VectorXd& y, double label) {
  return static_cast<int>((y.array() == label).count());
}

TEST(Rebalance, SmoteBalancesOnMinoritySegmentsWithNearNeighbours) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(30, 80, 3, 1.0, 1, &x, &y);
  ResampleOptions options;
  options.method = Imbalance::kSmote;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Count(out->y, 1), 80);
  EXPECT_EQ(Count(out->y, 0), 80);
  EXPECT_EQ(out->synthetic.size(), 50u);
  EXPECT_DOUBLE_EQ(out->fit_prior, 0.5);
  // Originals first, unchanged.
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    EXPECT_EQ(out->source_row[i], i);
    EXPECT_EQ(out->x.row(i), x.row(i));
  }
  ExpectOnMinoritySegments(x, y, *out);
  for (const SyntheticRow& s : out->synthetic) {
    EXPECT_LT(NeighborRank(x, y, 1, s.base, s.neighbor), options.k_neighbors);
  }
}

TEST(Rebalance, IsDeterministicForASeed) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(30, 80, 3, 1.0, 2, &x, &y);
  for (Imbalance m : {Imbalance::kUndersample, Imbalance::kSmote,
                      Imbalance::kBorderlineSmote}) {
    ResampleOptions options;
    options.method = m;
    options.seed = 9;
    auto a = Rebalance(x, y, options);
    options.threads = 1;
    auto b = Rebalance(x, y, options);
    options.seed = 10;
    auto c = Rebalance(x, y, options);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->x, b->x) << ImbalanceName(m);
    EXPECT_EQ(a->source_row, b->source_row);
    EXPECT_NE(a->x, c->x) << ImbalanceName(m);
  }
}

TEST(Rebalance, UndersamplesMajorityToOneToOne) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(30, 80, 2, 1.0, 3, &x, &y);
  ResampleOptions options;
  options.method = Imbalance::kUndersample;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Count(out->y, 1), 30);
  EXPECT_EQ(Count(out->y, 0), 30);
  EXPECT_TRUE(std::is_sorted(out->source_row.begin(), out->source_row.end()));
  EXPECT_EQ(
      std::set<int32_t>(out->source_row.begin(), out->source_row.end()).size(),
      60u);
  for (size_t i = 0; i < out->source_row.size(); ++i) {
    EXPECT_EQ(out->x.row(i), x.row(out->source_row[i]));
    EXPECT_EQ(out->y(i), y(out->source_row[i]));
  }
}

TEST(Rebalance, ClassWeightsAreBalanced) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(30, 90, 2, 1.0, 4, &x, &y);
  ResampleOptions options;
  options.method = Imbalance::kClassWeight;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok());
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    // n / (2 n_c): 120 / 60 = 2 for the minority, 120 / 180 for the majority.
    EXPECT_DOUBLE_EQ(out->weight(i), y(i) == 1 ? 2.0 : 120.0 / 180.0);
  }
  EXPECT_NEAR(out->fit_prior, 0.5, 1e-15);
}

TEST(Rebalance, TreatsLabelZeroAsMinorityWhenRarer) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(30, 70, 2, 1.0, 5, &x, &y);
  y = (1.0 - y.array()).matrix();  // now label 0 is the minority
  ResampleOptions options;
  options.method = Imbalance::kSmote;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->minority_label, 0.0);
  EXPECT_EQ(Count(out->y, 0), 70);
  ExpectOnMinoritySegments(x, y, *out);
}

// 60 two-dimensional rows, 20 of label 1 drawn around (0.8, 0.8) and 40 of
// label 0 around the origin (numpy default_rng(7), shuffled). Danger rows
// from /usr/bin/python3 with imbalanced-learn 0.10.0 / scikit-learn 1.2.1:
//   nn = NearestNeighbors(n_neighbors=11).fit(X)
//   bs = BorderlineSMOTE(k_neighbors=5, m_neighbors=10); bs.nn_m_ = nn
//   mi = np.flatnonzero(y == 1)
//   mi[bs._in_danger_noise(nn, X[mi], 1, y, kind="danger")]
constexpr double kBorder[60][3] = {
    {2.3235294004561604, 0.37197505742713283, 1},
    {-0.79329640320304362, -0.6260730997201972, 0},
    {-1.5368349402914887, 1.2491487495584548, 0},
    {3.0447566264860493, -0.031723181412081636, 1},
    {0.35641877702558084, 1.9661277761902227, 1},
    {0.022221557194479512, 1.1765083202520015, 0},
    {-0.25448462204911038, 1.0598391006743633, 1},
    {-0.80684592762112051, 1.6540575488004301, 0},
    {0.17605641355609414, 1.0054039460646989, 1},
    {0.1927459126050724, 0.089306485769050287, 0},
    {0.73492670925839154, -0.02344391855484465, 0},
    {1.4417071555226115, -0.065804906000207095, 0},
    {-0.14290320849676069, -1.1082607921815131, 0},
    {-0.30186760453390982, -0.15144364817129202, 0},
    {-0.31406714315105622, 0.7884785319614519, 1},
    {-0.14070839912334029, 0.54188384160351799, 0},
    {-1.2353289449399323, 0.49552312228856282, 1},
    {1.852126358426947, 0.79460043932837343, 1},
    {-0.97515232277874619, 1.0985867597569177, 0},
    {1.3199076370338985, -0.23367583207368869, 1},
    {-0.057956477176543841, 1.7720667079170429, 1},
    {-1.2777251516511705, 1.2570693137143927, 0},
    {0.49631961163527066, 1.1525890672852654, 1},
    {0.67922955491354498, 0.60271577203427751, 1},
    {-0.15408757320601318, 0.96592161872880888, 0},
    {1.468381023267344, 0.46013044828685062, 1},
    {1.453088502701164, 0.77585638699006776, 1},
    {-0.59102835285627398, -0.11860982387769403, 0},
    {0.33732633257503086, 1.407272199556532, 0},
    {0.75673850266426756, -0.8454970328793241, 0},
    {-0.54289193173018679, -0.051190412691676575, 0},
    {0.94952993173530198, 0.96644713422087614, 0},
    {1.2930132914123564, 0.6235939340942418, 1},
    {0.59406966974678355, 1.5024629551205444, 1},
    {-0.32668526000225218, -0.56023105050289956, 0},
    {1.383382354180414, -0.4908932453234871, 1},
    {-0.67123321625171728, -1.0540937876234928, 0},
    {-1.2161027602081953, 1.3355318553000226, 0},
    {1.1466800488784297, -0.88820411736654159, 1},
    {0.013324596913259761, -0.69440352770289415, 0},
    {-0.29992171594179834, -1.3785746841359137, 0},
    {-0.63205255393490778, -1.7610194743274028, 0},
    {0.007959099184913658, -0.37526683967695568, 0},
    {0.84660852148116339, -1.7460964753739088, 0},
    {-1.4540243024812081, -0.20852184825127065, 0},
    {-0.03379043476737232, -0.44114520276218416, 0},
    {-0.50796097033721954, 0.63008259144558609, 0},
    {0.92138347324647074, -0.45561765066113274, 0},
    {-0.56357139335324169, -1.3819687200064654, 0},
    {0.78144305388540503, 0.83118445266498175, 0},
    {0.68051097463313825, 0.38260026772799283, 0},
    {-0.27391627217232034, -0.15986696597063635, 0},
    {0.72081868138415817, 0.83528684866147418, 1},
    {0.36283979918875431, -2.1285670418221447, 0},
    {-1.9977462929070549, -1.1314074705230586, 0},
    {-0.099927607598595203, 0.96405279571222258, 1},
    {0.77899108434246123, 0.13095120758479981, 0},
    {-0.50710470453847523, 0.29168035635580192, 0},
    {0.4547841629969166, -0.539297349487321, 0},
    {0.071441844292605347, -0.75231147244558916, 0}};
const std::vector<int32_t> kDangerRows = {6,  8,  14, 16, 19, 22, 23,
                                          25, 26, 32, 35, 38, 52, 55};

TEST(Rebalance, BorderlineSmoteSynthesisesOnlyFromDangerRows) {
  Eigen::MatrixXd x(60, 2);
  Eigen::VectorXd y(60);
  for (int i = 0; i < 60; ++i) {
    x(i, 0) = kBorder[i][0];
    x(i, 1) = kBorder[i][1];
    y(i) = kBorder[i][2];
  }
  ResampleOptions options;
  options.method = Imbalance::kBorderlineSmote;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->danger_rows, kDangerRows);
  EXPECT_FALSE(out->fell_back_to_smote);
  EXPECT_EQ(Count(out->y, 1), 40);
  EXPECT_EQ(Count(out->y, 0), 40);
  ExpectOnMinoritySegments(x, y, *out);
  const std::set<int32_t> danger(kDangerRows.begin(), kDangerRows.end());
  std::set<int32_t> bases_used;
  for (const SyntheticRow& s : out->synthetic) {
    EXPECT_TRUE(danger.count(s.base))
        << "base " << s.base << " is not in danger";
    EXPECT_LT(NeighborRank(x, y, 1, s.base, s.neighbor), options.k_neighbors);
    bases_used.insert(s.base);
  }
  EXPECT_GT(bases_used.size(), 5u);
}

TEST(Rebalance, BorderlineFallsBackToSmoteWithoutDangerRows) {
  // Far-apart classes: every minority row's neighbourhood is all minority.
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(20, 50, 2, 50.0, 6, &x, &y);
  ResampleOptions options;
  options.method = Imbalance::kBorderlineSmote;
  auto out = Rebalance(x, y, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->danger_rows.empty());
  EXPECT_TRUE(out->fell_back_to_smote);
  EXPECT_NE(out->note.find("no danger rows"), std::string::npos);
  EXPECT_EQ(Count(out->y, 1), 50);
  ExpectOnMinoritySegments(x, y, *out);
}

TEST(Rebalance, SubsampledReferenceStillInterpolatesMinorityRows) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(40, 100, 3, 1.0, 8, &x, &y);
  for (Imbalance m : {Imbalance::kSmote, Imbalance::kBorderlineSmote}) {
    ResampleOptions options;
    options.method = m;
    options.max_reference_rows = 15;
    auto out = Rebalance(x, y, options);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_NE(out->note.find("subsampled"), std::string::npos);
    EXPECT_EQ(Count(out->y, 1), 100);
    ExpectOnMinoritySegments(x, y, *out);
  }
}

TEST(Rebalance, SharedMinorityNeighboursGiveTheSameRows) {
  // A table of every minority row's partners, searched once, gives exactly
  // the rows of each treatment's own search, and it is what is read: a
  // tampered table changes the rows, and one of another k is not used.
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(150, 400, 4, 1.0, 12, &x, &y);  // 150 minority rows: 3 query blocks
  for (Imbalance m : {Imbalance::kSmote, Imbalance::kBorderlineSmote}) {
    SCOPED_TRACE(ImbalanceName(m));
    ResampleOptions options;
    options.method = m;
    options.seed = 7;
    auto own = Rebalance(x, y, options);
    ASSERT_TRUE(own.ok()) << own.status();
    if (m == Imbalance::kBorderlineSmote) {
      ASSERT_FALSE(own->danger_rows.empty());
      ASSERT_FALSE(own->fell_back_to_smote);
    }
    const NeighborTable table = MinorityNeighbors(x, y, options);
    ASSERT_EQ(table.k, 5);
    ASSERT_EQ(table.index.size(), 150u * 5);

    auto same_rows = [&](const NeighborTable& t) {
      ResampleOptions with = options;
      with.minority_neighbors = &t;
      auto out = Rebalance(x, y, with);
      EXPECT_TRUE(out.ok()) << out.status();
      if (!out.ok() || out->x.rows() != own->x.rows()) return false;
      for (size_t s = 0; s < own->synthetic.size(); ++s) {
        if (out->synthetic[s].base != own->synthetic[s].base ||
            out->synthetic[s].neighbor != own->synthetic[s].neighbor ||
            out->synthetic[s].gap != own->synthetic[s].gap) {
          return false;
        }
      }
      return (out->x.array() == own->x.array()).all();
    };
    EXPECT_TRUE(same_rows(table));
    NeighborTable tampered = table;
    std::reverse(tampered.index.begin(), tampered.index.end());
    EXPECT_FALSE(same_rows(tampered));
    ResampleOptions three = options;
    three.k_neighbors = 3;
    const NeighborTable other_k = MinorityNeighbors(x, y, three);
    ASSERT_EQ(other_k.k, 3);
    EXPECT_TRUE(same_rows(other_k));
  }
}

TEST(MinorityNeighbors, IsEmptyWhereSmoteWouldNotSearchAllMinorityRows) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Blobs(40, 100, 3, 1.0, 8, &x, &y);
  ResampleOptions options;
  EXPECT_EQ(MinorityNeighbors(x, y, options).k, 5);
  options.max_reference_rows = 15;  // SMOTE subsamples the 40 minority rows
  EXPECT_EQ(MinorityNeighbors(x, y, options).k, 0);
  options.max_reference_rows = 40;
  EXPECT_EQ(MinorityNeighbors(x, y, options).k, 5);
  Eigen::VectorXd one_minority = Eigen::VectorXd::Zero(y.size());
  one_minority(3) = 1;
  EXPECT_EQ(MinorityNeighbors(x, one_minority, options).k, 0);
}

TEST(Rebalance, RejectsBadInput) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(4, 1);
  Eigen::VectorXd y(4);
  y << 0, 0, 0, 0;
  EXPECT_EQ(Rebalance(x, y, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  y << 0, 0, 0, 1;
  ResampleOptions options;
  options.method = Imbalance::kSmote;
  EXPECT_EQ(Rebalance(x, y, options).status().code(),
            absl::StatusCode::kFailedPrecondition);
  options.k_neighbors = 0;
  EXPECT_EQ(Rebalance(x, y, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PriorLogitShift, MovesTheLogitByThePriorOdds) {
  // pi = 0.2, pi_s = 0.5: shift = log(0.25) - log(1) = -log 4.
  EXPECT_NEAR(PriorLogitShift(0.2, 0.5), -std::log(4.0), 1e-15);
  EXPECT_DOUBLE_EQ(PriorLogitShift(0.3, 0.3), 0.0);
}

TEST(Imbalance, NamesRoundTrip) {
  for (Imbalance m : kAllImbalances)
    EXPECT_EQ(ParseImbalance(ImbalanceName(m)), m);
  EXPECT_FALSE(ParseImbalance("SMOTE").has_value());
}

}  // namespace
}  // namespace winback::model
