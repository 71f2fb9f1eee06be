#include "tools/datagen/datagen.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "jobs/common/status_macros.h"
#include "tools/datagen/csv_format.h"
#include "tools/datagen/rng.h"
#include "tools/datagen/vocabulary.h"

namespace winback::datagen {

const char* const kEventNames[kEventNameCount] = {
    "HOMEPAGE", "SEARCH", "ITEM_DETAIL", "ADD_TO_CART", "ADD_PROMO",
    "BOOKING",  "CLICK",  "SCROLL",      "PROMO_PAGE"};

const char* BadRowKindName(BadRowKind kind) {
  switch (kind) {
    case BadRowKind::kShortRow:
      return "short_row";
    case BadRowKind::kBadTimestamp:
      return "bad_timestamp";
    case BadRowKind::kBadMetadata:
      return "bad_metadata";
    case BadRowKind::kBadId:
      return "bad_id";
  }
  return "unknown";
}

absl::Status DatagenOptions::Validate() const {
  if (customers < 1 || customers > 10'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("customers: must be in [1, 10000000], got ", customers));
  }
  if (bad_rows < 0 || bad_rows > 1'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad_rows: must be in [0, 1000000], got ", bad_rows));
  }
  if (out_dir.empty()) {
    return absl::InvalidArgumentError("out_dir: must not be empty");
  }
  return absl::OkStatus();
}

namespace {

// Event names, indexing kEventNames.
enum Event : uint8_t {
  kHomepage = 0,
  kSearch = 1,
  kItemDetail = 2,
  kAddToCart = 3,
  kAddPromo = 4,
  kBooking = 5,
  kClick = 6,
  kScroll = 7,
  kPromoPage = 8,
};

// Browsing events that carry no purchase meaning, with their relative shares
// from data.md (the other events follow from bookings, carts and promos).
constexpr std::array<Event, 6> kFillerEvents = {
    kClick, kHomepage, kScroll, kItemDetail, kSearch, kPromoPage};
constexpr std::array<double, 6> kFillerWeights = {19.5, 19.4, 13.0,
                                                  10.1, 9.1,  4.7};

// Independent random streams (see rng.h).
enum StreamTag : uint64_t {
  kProductPlanStream = 1,
  kProductStream = 2,
  kProfileStream = 3,
  kBehaviourStream = 4,
  kOrphanStream = 5,
  kSessionStream = 6,
  kSessionOrderStream = 7,
  kChunkStream = 8,
  kBadRowStream = 9,
};

constexpr Micros kSessionGap = 30 * kMicrosPerMinute;
// The smallest gap between two planted pieces: just over the session gap.
constexpr Micros kMinPieceGap = kSessionGap + 1;

// The purchase model. Times are in days since the data start (2016-06-30).
struct Model {
  double join_growth = 4.0;          // sign-up rate at the end vs the start
  double first_purchase_days = 4.0;  // mean delay from sign-up to purchase
  double gap_median_days = 200.0;    // inter-purchase gap at loyalty 0
  double gap_loyalty_slope = 2.3;    // gap median *= exp(-slope * loyalty)
  double gap_sigma = 0.4;            // customer-level log-normal spread
  double gap_shape = 1.5;            // gamma shape of the renewal gaps
  double never_lapse = 0.33;         // P(never lapse) = this * (0.3 + 0.7 l)
  double lifetime_days = 250.0;      // mean life of the others
  double cohort_loyalty = 0.3;       // loyal customers above this ...
  double cohort_share = 0.75;        // ... lapse in the 2022 cohort with this
  double slowdown_days = 45.0;       // purchase rate falls over this window
  double slowdown = 0.6;             // ... by this fraction at the lapse
  double foreshadow_days = 45.0;     // session signals ramp up over this
  double success = 0.957;
  double promo = 0.38;
  double orphan_share = 0.05;  // session_ids without a booking
  // Sessions.
  double pieces_mean = 9.8;     // extra pieces per session_id
  double abandon_base = 0.035;  // P(a piece ends in ADD_TO_CART)
  double abandon_lapse = 0.50;  // ... added at the lapse
  double span_median_days = 4.6;
  double span_sigma = 1.5;
};
constexpr Model kModel;

struct Calendar {
  int32_t start_day;  // 2016-06-30
  int32_t end_day;    // 2022-08-01, exclusive
  Micros start_us;
  Micros end_us;
  double span_days;
  double cohort_begin;  // days since start_day
  double cohort_end;
  MonthIndex may, june, july;

  Calendar() {
    start_day = DaysFromCivil(2016, 6, 30);
    end_day = DaysFromCivil(2022, 8, 1);
    start_us = static_cast<Micros>(start_day) * kMicrosPerDay;
    end_us = static_cast<Micros>(end_day) * kMicrosPerDay;
    span_days = end_day - start_day;
    cohort_begin = DaysFromCivil(2022, 6, 1) - start_day;
    cohort_end = DaysFromCivil(2022, 7, 20) - start_day;
    may =
        MonthOf(static_cast<Micros>(DaysFromCivil(2022, 5, 1)) * kMicrosPerDay);
    june = may + 1;
    july = may + 2;
  }
};

struct ProductPlan {
  std::vector<int64_t> id;
  std::vector<int64_t> price;
  std::vector<uint32_t> by_popularity;  // rank -> product index

  // A product index drawn with a skewed popularity.
  uint32_t Draw(Rng& rng) const {
    const double u = rng.Uniform();
    const size_t rank =
        static_cast<size_t>(u * u * static_cast<double>(id.size()));
    return by_popularity[std::min(rank, id.size() - 1)];
  }
};

struct CustomerPlan {
  int32_t join_day;
  float engagement;
};

struct Item {
  uint32_t product;
  int32_t quantity;
  int64_t price;
};

struct Booking {
  Micros created_at;
  Micros ship_limit;
  uint32_t customer;  // index; id is index + 1
  uint32_t item_begin;
  uint32_t item_count;
  float near_lapse;  // 0..1, how close the customer is to lapsing
  float promo_fraction;
  int64_t subtotal;
  int64_t promo_amount;
  int64_t shipment_fee;
  int64_t total;
  uint8_t promo;  // 0 none, else kPromoCodes[promo - 1]
  uint8_t payment_method;
  bool success;
  double lat, lon;
  Uuid128 booking_id;
  Uuid128 session_id;
};

struct Orphan {
  Micros end;
  float engagement;
  Uuid128 session_id;
};

// Spreads `count` injected rows evenly over `slots` positions: row j goes
// right before slot Pos(j) (slot == slots means at the end).
class BadRowSchedule {
 public:
  BadRowSchedule(int64_t count, int64_t slots) : count_(count), slots_(slots) {}
  bool DueAt(int64_t slot) const {
    return next_ < count_ && Pos(next_) <= slot;
  }
  int64_t Take() { return next_++; }

 private:
  int64_t Pos(int64_t j) const { return (j + 1) * slots_ / (count_ + 1); }

  const int64_t count_;
  const int64_t slots_;
  int64_t next_ = 0;
};

void AddBadRow(FileStats& stats, BadRowKind kind) {
  stats.bad_lines.push_back(2 + stats.valid_rows + stats.bad_rows);
  ++stats.bad_rows;
  ++stats.bad_rows_by_kind[static_cast<int>(kind)];
}

// A valid-looking timestamp for bad rows (inside the data range).
Micros BadRowTime(int64_t j) {
  return static_cast<Micros>(DaysFromCivil(2020, 1, 1)) * kMicrosPerDay +
         j * kMicrosPerSecond;
}

constexpr char kBadTimestamp[] = "2022-13-45T99:00:00Z";

Uuid128 RandomUuid(Rng& rng) {
  const uint64_t a = rng.Next();
  return MakeUuidV4(a, rng.Next());
}

// ---------------------------------------------------------------- products

constexpr char kProductHeader[] =
    "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,"
    "usage,productDisplayName\n";

int64_t ProductCount(int64_t customers) {
  return std::max<int64_t>(400, std::llround(0.44 * customers));
}

int64_t CommaQuirkCount(int64_t products) {
  return std::max<int64_t>(2, std::llround(22.0 * products / 44000.0));
}

void AppendBadProductRow(int64_t j, FileStats& stats, std::string& out) {
  constexpr BadRowKind kKinds[] = {BadRowKind::kShortRow, BadRowKind::kBadId};
  const BadRowKind kind = kKinds[j % 2];
  if (kind == BadRowKind::kShortRow) {
    AppendInt(out, 900000000 + j);
    out.append(",Men,Apparel,Topwear\n");
  } else {
    out.append(
        "abc,Men,Apparel,Topwear,Tshirts,Black,Summer,2012,Casual,"
        "Roadster Men Black Tshirts\n");
  }
  AddBadRow(stats, kind);
}

absl::Status WriteProducts(const DatagenOptions& options,
                           const std::string& dir, ProductPlan& plan,
                           DatagenSummary& summary) {
  const int64_t n = ProductCount(options.customers);
  Rng plan_rng(options.seed, kProductPlanStream, 0);

  // Ids: n distinct values out of 1..M, in increasing order (selection
  // sampling), like the sparse ids of the real catalogue.
  const int64_t m = std::max<int64_t>(n, std::llround(n * 60000.0 / 44000.0));
  plan.id.reserve(n);
  for (int64_t cand = 1; cand <= m && static_cast<int64_t>(plan.id.size()) < n;
       ++cand) {
    const int64_t need = n - static_cast<int64_t>(plan.id.size());
    if (static_cast<int64_t>(plan_rng.Below(m - cand + 1)) < need) {
      plan.id.push_back(cand);
    }
  }
  plan.by_popularity.resize(n);
  std::iota(plan.by_popularity.begin(), plan.by_popularity.end(), 0u);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(plan.by_popularity[i], plan.by_popularity[plan_rng.Below(i + 1)]);
  }
  std::vector<bool> quirk(n, false);
  const int64_t quirks = std::min(n, CommaQuirkCount(n));
  for (int64_t q = 0; q < quirks;) {
    const uint64_t i = plan_rng.Below(n);
    if (!quirk[i]) {
      quirk[i] = true;
      ++q;
    }
  }

  std::array<double, kArticleTypes.size() + 1> article_weights;
  for (size_t i = 0; i < kArticleTypes.size(); ++i) {
    article_weights[i] = kArticleTypes[i].weight;
  }
  article_weights.back() = kHomeArticle.weight;
  constexpr std::array<double, 12> kYearWeights = {2, 2,  8,  14, 16, 12,
                                                   6, 12, 10, 8,  5,  5};

  OutputFile file;
  WB_RETURN_IF_ERROR(file.Open(dir + "/product.csv"));
  std::string& out = file.buffer();
  out.append(kProductHeader);
  FileStats& stats = summary.product;
  stats.name = "product.csv";
  BadRowSchedule bad(options.bad_rows, n);
  plan.price.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    while (bad.DueAt(i)) AppendBadProductRow(bad.Take(), stats, out);
    Rng rng(options.seed, kProductStream, static_cast<uint64_t>(i));
    const int a = rng.Choose(article_weights);
    const ArticleType& article = a < static_cast<int>(kArticleTypes.size())
                                     ? kArticleTypes[a]
                                     : kHomeArticle;
    const char* gender = kProductGenders[rng.Choose(kProductGenderWeights)];
    const char* colour =
        rng.Bernoulli(0.0005) ? "" : kColours[rng.Below(kColours.size())];
    const char* season =
        rng.Bernoulli(0.0005) ? "" : kSeasons[rng.Choose(kSeasonWeights)];
    const bool no_year = rng.Bernoulli(0.0002);
    const int year = 2008 + rng.Choose(kYearWeights);
    const char* usage =
        rng.Bernoulli(0.007) ? "" : kUsages[rng.Choose(kUsageWeights)];
    const char* brand = kBrands[rng.Below(kBrands.size())];
    const bool no_name = !quirk[i] && rng.Bernoulli(0.0002);
    plan.price[i] = std::clamp<int64_t>(
        std::llround(std::exp(std::log(150000.0) + 0.6 * rng.Normal())), 5000,
        3000000);

    AppendInt(out, plan.id[i]);
    out.push_back(',');
    out.append(gender);
    out.push_back(',');
    out.append(article.master);
    out.push_back(',');
    out.append(article.sub);
    out.push_back(',');
    out.append(article.article);
    out.push_back(',');
    out.append(colour);
    out.push_back(',');
    out.append(season);
    out.push_back(',');
    if (!no_year) AppendInt(out, year);
    out.push_back(',');
    out.append(usage);
    out.push_back(',');
    if (quirk[i]) {
      // The quirk: commas inside the last column, unquoted.
      out.append(brand);
      out.push_back(' ');
      out.append(kCommaNames[rng.Below(kCommaNames.size())]);
    } else if (!no_name) {
      out.append(brand);
      out.push_back(' ');
      out.append(gender);
      out.push_back(' ');
      if (colour[0] != '\0') {
        out.append(colour);
        out.push_back(' ');
      }
      out.append(article.article);
    }
    out.push_back('\n');
    ++stats.valid_rows;
    file.MaybeFlush();
  }
  while (bad.DueAt(n)) AppendBadProductRow(bad.Take(), stats, out);
  stats.bytes = file.bytes();
  summary.products = n;
  summary.repaired_product_rows = quirks;
  return file.Close();
}

// ------------------------------------------------- customers and bookings

constexpr char kCustomerHeader[] =
    "customer_id,first_name,last_name,username,email,gender,birthdate,"
    "device_type,device_id,device_version,home_location_lat,"
    "home_location_long,home_location,home_country,first_join_date\n";

// One customer.csv row; `id` and `join_date` are given as text so bad rows
// can reuse it. Returns the home coordinates through lat/lon.
void AppendCustomerRow(Rng& rng, std::string_view id,
                       const std::string* join_date, int32_t join_day,
                       std::string& out, double* lat, double* lon) {
  const bool female = rng.Bernoulli(0.64);
  const char* first =
      female ? kFemaleFirstNames[rng.Below(kFemaleFirstNames.size())]
             : kMaleFirstNames[rng.Below(kMaleFirstNames.size())];
  const char* last = kLastNames[rng.Below(kLastNames.size())];
  const Uuid128 username = RandomUuid(rng);
  const int64_t email_number = rng.Between(1, 999);
  const char* domain = kEmailDomains[rng.Below(kEmailDomains.size())];
  // Birthdates 1965..2006, younger customers more common.
  const int32_t young = DaysFromCivil(2006, 12, 31);
  const int32_t birth = young - static_cast<int32_t>(std::min(
                                    41.0 * 365.0, rng.Gamma(2.0) * 2400.0));
  const bool android = rng.Bernoulli(0.77);
  const Uuid128 device_id = RandomUuid(rng);
  const char* version =
      android ? kAndroidVersions[rng.Below(kAndroidVersions.size())]
              : kIosVersions[rng.Below(kIosVersions.size())];
  std::array<double, kProvinces.size()> weights;
  for (size_t p = 0; p < kProvinces.size(); ++p)
    weights[p] = kProvinces[p].weight;
  const Province& province = kProvinces[rng.Choose(weights)];
  *lat = province.lat + 0.25 * rng.Normal();
  *lon = province.lon + 0.25 * rng.Normal();

  out.append(id);
  out.push_back(',');
  out.append(first);
  out.push_back(',');
  out.append(last);
  out.push_back(',');
  AppendUuid(out, username);
  out.push_back(',');
  for (const char* p = first; *p != '\0'; ++p) {
    out.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  }
  out.push_back('.');
  for (const char* p = last; *p != '\0'; ++p) {
    out.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  }
  AppendInt(out, email_number);
  out.push_back('@');
  out.append(domain);
  out.append(female ? ",F," : ",M,");
  AppendDate(out, birth);
  out.append(android ? ",Android," : ",iOS,");
  AppendUuid(out, device_id);
  out.push_back(',');
  if (android) {
    out.append("Android ");
    out.append(version);
  } else {
    out.append("iPhone; CPU iPhone OS ");
    out.append(version);
    out.append(" like Mac OS X");
  }
  out.push_back(',');
  AppendFixed(out, *lat, 6);
  out.push_back(',');
  AppendFixed(out, *lon, 6);
  out.push_back(',');
  out.append(province.name);
  out.append(",Indonesia,");
  if (join_date != nullptr) {
    out.append(*join_date);
  } else {
    AppendDate(out, join_day);
  }
  out.push_back('\n');
}

void AppendBadCustomerRow(const DatagenOptions& options, int64_t j,
                          FileStats& stats, std::string& out) {
  constexpr BadRowKind kKinds[] = {
      BadRowKind::kShortRow, BadRowKind::kBadTimestamp, BadRowKind::kBadId};
  const BadRowKind kind = kKinds[j % 3];
  Rng rng(options.seed, kBadRowStream, static_cast<uint64_t>(j));
  const std::string id = absl::StrCat(900000000 + j);
  double lat, lon;
  const int32_t join = DaysFromCivil(2020, 1, 1);
  switch (kind) {
    case BadRowKind::kShortRow:
      out.append(id);
      out.append(",Budi,Santoso\n");
      break;
    case BadRowKind::kBadTimestamp: {
      const std::string bad_date = "2022-13-45";
      AppendCustomerRow(rng, id, &bad_date, join, out, &lat, &lon);
      break;
    }
    default:
      AppendCustomerRow(rng, "abc", nullptr, join, out, &lat, &lon);
      break;
  }
  AddBadRow(stats, kind);
}

// Draws item count, products, quantities and base prices for one booking.
void DrawItems(Rng& rng, const ProductPlan& products,
               std::vector<Item>& items) {
  int64_t count = 1;
  if (!rng.Bernoulli(0.55)) {
    count = rng.Bernoulli(0.002)
                ? rng.Between(10, 50)
                : 2 + static_cast<int64_t>(std::floor(
                          std::log(rng.UniformPositive()) / std::log(0.5)));
    count = std::min<int64_t>(count, 50);
  }
  for (int64_t k = 0; k < count; ++k) {
    const uint32_t product = products.Draw(rng);
    const double u = rng.Uniform();
    const int32_t quantity = u < 0.8    ? 1
                             : u < 0.92 ? 2
                             : u < 0.97
                                 ? 3
                                 : static_cast<int32_t>(rng.Between(4, 6));
    items.push_back({product, quantity, products.price[product]});
  }
}

struct CustomerBookings {
  std::vector<CustomerPlan> customers;
  std::vector<Booking> bookings;  // grouped by customer, in time order
  std::vector<Item> items;
};

// Plans every customer's purchases (a renewal process that slows down and
// stops at the customer's lapse) and writes customer.csv.
absl::Status WriteCustomers(const DatagenOptions& options,
                            const std::string& dir, const Calendar& cal,
                            const ProductPlan& products, CustomerBookings& plan,
                            DatagenSummary& summary) {
  const int64_t n = options.customers;
  OutputFile file;
  WB_RETURN_IF_ERROR(file.Open(dir + "/customer.csv"));
  std::string& out = file.buffer();
  out.append(kCustomerHeader);
  FileStats& stats = summary.customer;
  stats.name = "customer.csv";
  BadRowSchedule bad(options.bad_rows, n);

  const double growth = std::log(kModel.join_growth) / cal.span_days;
  plan.customers.resize(n);
  plan.bookings.reserve(static_cast<size_t>(n * 9));
  plan.items.reserve(static_cast<size_t>(n * 17));
  std::string id_text;
  for (int64_t i = 0; i < n; ++i) {
    while (bad.DueAt(i)) AppendBadCustomerRow(options, bad.Take(), stats, out);
    Rng beh(options.seed, kBehaviourStream, static_cast<uint64_t>(i));
    // Sign-ups at an exponentially growing rate over the whole range.
    const double join =
        std::log1p(beh.Uniform() * std::expm1(growth * cal.span_days)) / growth;
    const int32_t join_day =
        cal.start_day + static_cast<int32_t>(std::floor(join));
    const double loyalty = beh.Uniform();
    const double gap_median = kModel.gap_median_days *
                              std::exp(-kModel.gap_loyalty_slope * loyalty) *
                              std::exp(kModel.gap_sigma * beh.Normal());
    const double inf = std::numeric_limits<double>::infinity();
    double lapse = beh.Bernoulli(kModel.never_lapse * (0.3 + 0.7 * loyalty))
                       ? inf
                       : join + beh.Exponential(kModel.lifetime_days);
    // The 2022 cohort: loyal repeat customers, active into late May, lapse
    // in June and July.
    const bool cohort_draw = beh.Bernoulli(kModel.cohort_share);
    const double cohort_time = beh.Uniform(cal.cohort_begin, cal.cohort_end);
    if (loyalty > kModel.cohort_loyalty && lapse > cal.cohort_begin &&
        join < cal.cohort_begin - 30 && cohort_draw) {
      lapse = cohort_time;
    }
    const float engagement =
        static_cast<float>(std::exp(0.35 * beh.Normal() - 0.06));
    plan.customers[i] = {join_day, engagement};

    id_text.clear();
    AppendInt(id_text, i + 1);
    Rng profile(options.seed, kProfileStream, static_cast<uint64_t>(i));
    double home_lat, home_lon;
    AppendCustomerRow(profile, id_text, nullptr, join_day, out, &home_lat,
                      &home_lon);
    ++stats.valid_rows;
    file.MaybeFlush();

    double t = join + beh.Exponential(kModel.first_purchase_days);
    while (t < cal.span_days && t < lapse) {
      const Micros created =
          cal.start_us +
          static_cast<Micros>(t * static_cast<double>(kMicrosPerDay));
      if (created >= cal.end_us) break;
      Booking b{};
      b.created_at = created;
      b.customer = static_cast<uint32_t>(i);
      b.near_lapse = static_cast<float>(
          std::isinf(lapse)
              ? 0.0
              : std::clamp(1.0 - (lapse - t) / kModel.foreshadow_days, 0.0,
                           1.0));
      b.success = beh.Bernoulli(kModel.success);
      b.payment_method =
          static_cast<uint8_t>(beh.Choose(kPaymentMethodWeights));
      b.item_begin = static_cast<uint32_t>(plan.items.size());
      DrawItems(beh, products, plan.items);
      b.item_count = static_cast<uint32_t>(plan.items.size() - b.item_begin);
      if (beh.Bernoulli(kModel.promo)) {
        b.promo = static_cast<uint8_t>(1 + beh.Below(kPromoCodes.size()));
        b.promo_fraction = static_cast<float>(beh.Uniform(0.03, 0.25));
      }
      b.shipment_fee = kShipmentFees[beh.Choose(kShipmentFeeWeights)];
      b.ship_limit = created + beh.Between(kMicrosPerDay, 7 * kMicrosPerDay);
      b.lat = home_lat + 0.02 * beh.Normal();
      b.lon = home_lon + 0.02 * beh.Normal();
      b.booking_id = RandomUuid(beh);
      b.session_id = RandomUuid(beh);
      plan.bookings.push_back(b);

      const double slow = std::clamp(
          (t - (lapse - kModel.slowdown_days)) / kModel.slowdown_days, 0.0,
          1.0);
      const double rate_factor = 1.0 - kModel.slowdown * slow;
      t += beh.Gamma(kModel.gap_shape) * gap_median / kModel.gap_shape /
           rate_factor;
    }
  }
  while (bad.DueAt(n)) AppendBadCustomerRow(options, bad.Take(), stats, out);
  stats.bytes = file.bytes();
  summary.customers = n;
  return file.Close();
}

void ComputeAmounts(Booking& b, const std::vector<Item>& items) {
  b.subtotal = 0;
  for (uint32_t k = 0; k < b.item_count; ++k) {
    const Item& item = items[b.item_begin + k];
    b.subtotal += item.quantity * item.price;
  }
  b.promo_amount =
      b.promo == 0
          ? 0
          : std::max<int64_t>(1, std::llround(b.promo_fraction *
                                              static_cast<double>(b.subtotal)));
  b.total = b.subtotal - b.promo_amount + b.shipment_fee;
}

// Scales item prices per month so that revenue tells the real export's
// story. Up to May 2022 each month's mean order value is set to the overall
// mean (so revenue follows orders, without the noise of a few huge baskets,
// which would otherwise move the peak at demo size), and no earlier month is
// allowed above 99% of May; June and July 2022 come out at -5% and -16%
// against May while buyers fall faster. Failed bookings get their month's
// factor too.
void ShapeRevenue(const Calendar& cal, CustomerBookings& plan) {
  for (Booking& b : plan.bookings) ComputeAmounts(b, plan.items);
  struct Month {
    double net = 0;  // sum(quantity * item_price) - promo_amount
    double fees = 0;
    double orders = 0;
    double factor = 1.0;
  };
  std::map<MonthIndex, Month> months;
  for (const Booking& b : plan.bookings) {
    if (!b.success) continue;
    Month& m = months[MonthOf(b.created_at)];
    m.net += static_cast<double>(b.subtotal - b.promo_amount);
    m.fees += static_cast<double>(b.shipment_fee);
    m.orders += 1;
  }
  double net = 0, orders = 0;
  for (const auto& [index, m] : months) {
    if (index > cal.may) continue;
    net += m.net;
    orders += m.orders;
  }
  if (orders == 0 || !months.contains(cal.may)) return;
  const double mean_value = net / orders;
  const Month& may = months[cal.may];
  const double may_revenue = mean_value * may.orders + may.fees;
  for (auto& [index, m] : months) {
    if (m.net <= 0) continue;
    double target = mean_value * m.orders;
    if (index < cal.may) {
      target = std::min(target, 0.99 * may_revenue - m.fees);
    } else if (index == cal.june) {
      target = 0.95 * may_revenue - m.fees;
    } else if (index == cal.july) {
      target = 0.84 * may_revenue - m.fees;
    }
    m.factor = std::clamp(target / m.net, 0.5, 3.0);
  }
  for (Booking& b : plan.bookings) {
    const auto it = months.find(MonthOf(b.created_at));
    if (it == months.end()) continue;
    const double f = it->second.factor;
    for (uint32_t k = 0; k < b.item_count; ++k) {
      Item& item = plan.items[b.item_begin + k];
      item.price = std::max<int64_t>(
          1, std::llround(static_cast<double>(item.price) * f));
    }
    ComputeAmounts(b, plan.items);
  }
}

// -------------------------------------------------------------- transactions

constexpr char kTransactionHeader[] =
    "created_at,customer_id,booking_id,session_id,product_metadata,"
    "payment_method,payment_status,promo_amount,promo_code,shipment_fee,"
    "shipment_date_limit,shipment_location_lat,shipment_location_long,"
    "total_amount\n";

void AppendItemLiteral(std::string& out, int64_t product_id, int64_t quantity,
                       int64_t price) {
  out.append("{'product_id': ");
  AppendInt(out, product_id);
  out.append(", 'quantity': ");
  AppendInt(out, quantity);
  out.append(", 'item_price': ");
  AppendInt(out, price);
  out.push_back('}');
}

void AppendBadTransactionRow(const DatagenOptions& options,
                             const ProductPlan& products, int64_t j,
                             FileStats& stats, std::string& out) {
  const BadRowKind kind = static_cast<BadRowKind>(j % kBadRowKindCount);
  Rng rng(options.seed, kBadRowStream, static_cast<uint64_t>(j) + (1ULL << 40));
  const Micros t = BadRowTime(j);
  if (kind == BadRowKind::kShortRow) {
    AppendTimestamp(out, t);
    out.append(",1,");
    AppendUuid(out, RandomUuid(rng));
    out.push_back('\n');
  } else {
    if (kind == BadRowKind::kBadTimestamp) {
      out.append(kBadTimestamp);
    } else {
      AppendTimestamp(out, t);
    }
    out.append(kind == BadRowKind::kBadId ? ",abc," : ",1,");
    AppendUuid(out, RandomUuid(rng));
    out.push_back(',');
    AppendUuid(out, RandomUuid(rng));
    out.append(",\"");
    if (kind == BadRowKind::kBadMetadata) {
      out.append("[{'product_id': 1,");
    } else {
      out.push_back('[');
      AppendItemLiteral(out, products.id[0], 1, 100000);
      out.push_back(']');
    }
    out.append("\",Gopay,Success,0,,10000,");
    AppendTimestamp(out, t + 3 * kMicrosPerDay);
    out.append(",-6.208800,106.845600,110000\n");
  }
  AddBadRow(stats, kind);
}

absl::Status WriteTransactions(const DatagenOptions& options,
                               const std::string& dir,
                               const ProductPlan& products,
                               const CustomerBookings& plan,
                               const std::vector<uint32_t>& by_time,
                               DatagenSummary& summary) {
  OutputFile file;
  WB_RETURN_IF_ERROR(file.Open(dir + "/transactions.csv"));
  std::string& out = file.buffer();
  out.append(kTransactionHeader);
  FileStats& stats = summary.transactions;
  stats.name = "transactions.csv";
  const int64_t n = static_cast<int64_t>(by_time.size());
  BadRowSchedule bad(options.bad_rows, n);
  for (int64_t r = 0; r < n; ++r) {
    while (bad.DueAt(r))
      AppendBadTransactionRow(options, products, bad.Take(), stats, out);
    const Booking& b = plan.bookings[by_time[r]];
    AppendTimestamp(out, b.created_at);
    out.push_back(',');
    AppendInt(out, b.customer + 1);
    out.push_back(',');
    AppendUuid(out, b.booking_id);
    out.push_back(',');
    AppendUuid(out, b.session_id);
    out.append(",\"[");
    for (uint32_t k = 0; k < b.item_count; ++k) {
      const Item& item = plan.items[b.item_begin + k];
      if (k > 0) out.append(", ");
      AppendItemLiteral(out, products.id[item.product], item.quantity,
                        item.price);
    }
    out.append("]\",");
    out.append(kPaymentMethods[b.payment_method]);
    out.append(b.success ? ",Success," : ",Failed,");
    AppendInt(out, b.promo_amount);
    out.push_back(',');
    if (b.promo != 0) out.append(kPromoCodes[b.promo - 1]);
    out.push_back(',');
    AppendInt(out, b.shipment_fee);
    out.push_back(',');
    AppendTimestamp(out, b.ship_limit);
    out.push_back(',');
    AppendFixed(out, b.lat, 6);
    out.push_back(',');
    AppendFixed(out, b.lon, 6);
    out.push_back(',');
    AppendInt(out, b.total);
    out.push_back('\n');
    ++stats.valid_rows;
    file.MaybeFlush();
  }
  while (bad.DueAt(n))
    AppendBadTransactionRow(options, products, bad.Take(), stats, out);
  stats.bytes = file.bytes();
  return file.Close();
}

// --------------------------------------------------------------- clicks

constexpr char kClickHeader[] =
    "session_id,event_name,event_time,event_id,traffic_source,event_metadata\n";

struct PlannedEvent {
  Event type;
  int32_t a;  // product index, keyword index, promo code index, or success
  int32_t quantity;
  int64_t value;  // item price or promo amount
};

// What a session_id is planted from.
struct SessionInput {
  Micros end;          // time of its last event (the booking, if any)
  Micros lower_bound;  // no event before this if it can be helped
  double engagement;
  double near_lapse;
  const Booking* booking;  // null for a session_id without a booking
};

// Reusable buffers for one session_id.
struct SessionScratch {
  std::vector<PlannedEvent> events;
  std::vector<uint32_t> piece_begin;  // index of each piece's first event
  std::vector<Micros> gap_before;     // gap to the previous event in the piece
  std::vector<Micros> piece_duration;
  std::vector<double> weights;
  std::vector<Micros> time;
};

PlannedEvent FillerEvent(Rng& rng) {
  const Event type = kFillerEvents[rng.Choose(kFillerWeights)];
  PlannedEvent e{type, 0, 0, 0};
  if (type == kSearch)
    e.a = static_cast<int32_t>(rng.Below(kSearchKeywords.size()));
  return e;
}

PlannedEvent CartEvent(Rng& rng, const ProductPlan& products) {
  const uint32_t product = products.Draw(rng);
  return {kAddToCart, static_cast<int32_t>(product),
          static_cast<int32_t>(rng.Between(1, 3)), products.price[product]};
}

// Plans the events and times of one session_id into `s`; returns the index
// of the first emitted event and sets *pieces. Within a piece consecutive
// events are at most 30 minutes apart (some exactly 30:00.000000, some
// exact ties); between pieces the gap is at least 30:00.000001.
size_t PlanSession(const SessionInput& in, const ProductPlan& products,
                   const std::vector<Item>& items, Rng& rng, SessionScratch& s,
                   int* pieces) {
  s.events.clear();
  s.piece_begin.clear();
  const double w = in.near_lapse;
  const double mean_pieces = kModel.pieces_mean * in.engagement *
                             (1.0 - 0.55 * w) * rng.Gamma(3.0) / 3.0;
  const int64_t piece_count =
      1 + std::min<int64_t>(rng.Poisson(mean_pieces), 600);
  const double abandon = in.booking != nullptr
                             ? kModel.abandon_base + kModel.abandon_lapse * w
                             : 0.05;

  for (int64_t p = 0; p + 1 < piece_count; ++p) {
    s.piece_begin.push_back(static_cast<uint32_t>(s.events.size()));
    if (rng.Bernoulli(abandon)) {
      for (int64_t k = rng.Poisson(0.3); k > 0; --k)
        s.events.push_back(FillerEvent(rng));
      s.events.push_back(CartEvent(rng, products));
    } else {
      for (int64_t k = 1 + rng.Poisson(0.08); k > 0; --k) {
        s.events.push_back(FillerEvent(rng));
      }
    }
  }
  s.piece_begin.push_back(static_cast<uint32_t>(s.events.size()));
  if (const Booking* b = in.booking; b != nullptr) {
    for (int64_t k = rng.Poisson(0.7); k > 0; --k)
      s.events.push_back(FillerEvent(rng));
    for (uint32_t k = 0; k < b->item_count; ++k) {
      const Item& item = items[b->item_begin + k];
      s.events.push_back({kAddToCart, static_cast<int32_t>(item.product),
                          item.quantity, item.price});
    }
    if (b->promo != 0) {
      s.events.push_back({kAddPromo, b->promo - 1, 0, b->promo_amount});
    }
    s.events.push_back({kBooking, b->success ? 1 : 0, 0, 0});
  } else {
    for (int64_t k = 1 + rng.Poisson(0.3); k > 0; --k)
      s.events.push_back(FillerEvent(rng));
    if (rng.Bernoulli(0.1)) {
      s.events.push_back({kAddPromo,
                          static_cast<int32_t>(rng.Below(kPromoCodes.size())),
                          0, rng.Between(1000, 50000)});
    }
    if (rng.Bernoulli(0.45)) s.events.push_back(CartEvent(rng, products));
  }

  // Gaps inside pieces: never more than 30 minutes; a few exactly 30:00
  // (must not split) and a few exact ties (ordered by event_id), never on a
  // piece's last event so "last event of a piece" stays well defined.
  const size_t n = s.events.size();
  const size_t np = s.piece_begin.size();
  s.gap_before.assign(n, 0);
  s.piece_duration.assign(np, 0);
  for (size_t p = 0; p < np; ++p) {
    const size_t begin = s.piece_begin[p];
    const size_t end = p + 1 < np ? s.piece_begin[p + 1] : n;
    for (size_t i = begin + 1; i < end; ++i) {
      const double u = rng.Uniform();
      Micros gap;
      if (u < 0.002) {
        gap = kSessionGap;
      } else if (u < 0.012 && i + 1 < end) {
        gap = 0;
      } else {
        const double v = rng.Uniform();
        gap = std::max<Micros>(
            1, static_cast<Micros>(v * v * static_cast<double>(kSessionGap)));
      }
      s.gap_before[i] = gap;
      s.piece_duration[p] += gap;
    }
  }

  // Fit the pieces between the lower bound and the end: drop the earliest
  // pieces when they cannot fit, then spread the slack of a log-normal span
  // over the gaps between pieces (a few get exactly 30:00.000001).
  const Micros available = in.end - in.lower_bound;
  size_t first = np - 1;
  Micros needed = s.piece_duration[np - 1];
  while (first > 0 &&
         needed + s.piece_duration[first - 1] + kMinPieceGap <= available) {
    --first;
    needed += s.piece_duration[first] + kMinPieceGap;
  }
  const double span = std::exp(
      std::log(kModel.span_median_days * static_cast<double>(kMicrosPerDay)) +
      kModel.span_sigma * rng.Normal());
  // A span longer than the room before the lower bound takes a random part
  // of that room, so no session starts exactly at the bound.
  const double room = static_cast<double>(available) * rng.Uniform(0.5, 1.0);
  // Pieces are spread over the span, and never all packed at the minimum gap
  // when the span is short (only the planted gaps are exactly minimal).
  const double spread = rng.Exponential(static_cast<double>(np - first) * 20.0 *
                                        static_cast<double>(kMicrosPerMinute));
  const double slack = std::max(
      0.0,
      std::min(std::max(span, static_cast<double>(needed) + spread), room) -
          static_cast<double>(needed));
  s.weights.assign(np, 0.0);
  double total_weight = 0;
  for (size_t p = first + 1; p < np; ++p) {
    if (!rng.Bernoulli(0.01)) {
      s.weights[p] = std::pow(rng.Exponential(1.0), 1.5);
      total_weight += s.weights[p];
    }
  }
  s.time.assign(n, 0);
  Micros t = in.end;
  for (size_t p = np; p-- > first;) {
    const size_t begin = s.piece_begin[p];
    const size_t end = p + 1 < np ? s.piece_begin[p + 1] : n;
    for (size_t i = end; i-- > begin;) {
      s.time[i] = t;
      if (i > begin) t -= s.gap_before[i];
    }
    if (p > first) {
      const Micros extra =
          total_weight > 0
              ? static_cast<Micros>(slack * s.weights[p] / total_weight)
              : 0;
      t -= kMinPieceGap + extra;
    }
  }
  *pieces = static_cast<int>(np - first);
  return s.piece_begin[first];
}

void AppendBadClickRow(const DatagenOptions& options, int64_t j,
                       FileStats& stats, std::string& out) {
  const BadRowKind kind = static_cast<BadRowKind>(j % kBadRowKindCount);
  Rng rng(options.seed, kBadRowStream, static_cast<uint64_t>(j) + (2ULL << 40));
  const Micros t = BadRowTime(j);
  AppendUuid(out, RandomUuid(rng));
  switch (kind) {
    case BadRowKind::kShortRow:
      out.append(",HOMEPAGE,");
      AppendTimestamp(out, t);
      break;
    case BadRowKind::kBadTimestamp:
      out.append(",HOMEPAGE,");
      out.append(kBadTimestamp);
      out.push_back(',');
      AppendUuid(out, RandomUuid(rng));
      out.append(",MOBILE,");
      break;
    case BadRowKind::kBadMetadata:
      out.append(",ADD_TO_CART,");
      AppendTimestamp(out, t);
      out.push_back(',');
      AppendUuid(out, RandomUuid(rng));
      out.append(",MOBILE,\"{'product_id': 1,\"");
      break;
    case BadRowKind::kBadId:
      out.append(",CLICK,");
      AppendTimestamp(out, t);
      out.append(",not-a-uuid,MOBILE,");
      break;
  }
  out.push_back('\n');
  AddBadRow(stats, kind);
}

struct ClickTruth {
  std::vector<uint16_t> pieces;  // per session index
};

absl::Status WriteClicks(const DatagenOptions& options, const std::string& dir,
                         const Calendar& cal, const ProductPlan& products,
                         const CustomerBookings& plan,
                         const std::vector<Orphan>& orphans, ClickTruth& truth,
                         DatagenSummary& summary) {
  const size_t booked = plan.bookings.size();
  const size_t total = booked + orphans.size();
  std::vector<uint32_t> order(total);
  std::iota(order.begin(), order.end(), 0u);
  Rng order_rng(options.seed, kSessionOrderStream, 0);
  for (size_t i = total; i > 1; --i)
    std::swap(order[i - 1], order[order_rng.Below(i)]);

  OutputFile file;
  WB_RETURN_IF_ERROR(file.Open(dir + "/click_stream.csv"));
  std::string& out = file.buffer();
  out.append(kClickHeader);
  FileStats& stats = summary.click_stream;
  stats.name = "click_stream.csv";

  constexpr size_t kChunkSessions = 2048;
  const int64_t chunks =
      static_cast<int64_t>((total + kChunkSessions - 1) / kChunkSessions);
  BadRowSchedule bad(options.bad_rows, chunks);
  truth.pieces.assign(total, 0);
  SessionScratch scratch;
  std::string chunk_text;
  std::vector<uint32_t> line_start;
  std::vector<uint32_t> line_order;
  Micros first_time = std::numeric_limits<Micros>::max();
  Micros last_time = std::numeric_limits<Micros>::min();

  for (int64_t c = 0; c < chunks; ++c) {
    chunk_text.clear();
    line_start.clear();
    const size_t begin = static_cast<size_t>(c) * kChunkSessions;
    const size_t end = std::min(total, begin + kChunkSessions);
    for (size_t k = begin; k < end; ++k) {
      const uint32_t s = order[k];
      SessionInput in;
      Uuid128 session_id;
      if (s < booked) {
        const Booking& b = plan.bookings[s];
        const CustomerPlan& customer = plan.customers[b.customer];
        in = {b.created_at,
              static_cast<Micros>(customer.join_day) * kMicrosPerDay,
              customer.engagement, b.near_lapse, &b};
        session_id = b.session_id;
      } else {
        const Orphan& o = orphans[s - booked];
        in = {o.end, cal.start_us, o.engagement, 0.0, nullptr};
        session_id = o.session_id;
      }
      Rng rng(options.seed, kSessionStream, s);
      const bool web = !rng.Bernoulli(0.9);
      int pieces = 0;
      const size_t first =
          PlanSession(in, products, plan.items, rng, scratch, &pieces);
      truth.pieces[s] = static_cast<uint16_t>(pieces);
      summary.pieces += pieces;
      if (s < booked) summary.pieces_linked_to_customer += pieces;

      for (size_t i = first; i < scratch.events.size(); ++i) {
        const PlannedEvent& e = scratch.events[i];
        const Micros t = scratch.time[i];
        first_time = std::min(first_time, t);
        last_time = std::max(last_time, t);
        ++summary.events_by_name[e.type];
        line_start.push_back(static_cast<uint32_t>(chunk_text.size()));
        AppendUuid(chunk_text, session_id);
        chunk_text.push_back(',');
        chunk_text.append(kEventNames[e.type]);
        chunk_text.push_back(',');
        AppendTimestamp(chunk_text, t);
        chunk_text.push_back(',');
        AppendUuid(chunk_text, RandomUuid(rng));
        chunk_text.append(web ? ",WEB," : ",MOBILE,");
        switch (e.type) {
          case kAddToCart:
            chunk_text.push_back('"');
            AppendItemLiteral(chunk_text, products.id[e.a], e.quantity,
                              e.value);
            chunk_text.push_back('"');
            break;
          case kBooking:
            chunk_text.append(e.a != 0 ? "\"{'payment_status': 'Success'}\""
                                       : "\"{'payment_status': 'Failed'}\"");
            break;
          case kSearch:
            chunk_text.append("\"{'search_keywords': '");
            chunk_text.append(kSearchKeywords[e.a]);
            chunk_text.append("'}\"");
            break;
          case kAddPromo:
            chunk_text.append("\"{'promo_code': '");
            chunk_text.append(kPromoCodes[e.a]);
            chunk_text.append("', 'promo_amount': ");
            AppendInt(chunk_text, e.value);
            chunk_text.append("}\"");
            break;
          default:
            break;
        }
        chunk_text.push_back('\n');
      }
    }
    // Rows leave in a shuffled order: neither sessions nor times stay in
    // order, deterministically.
    const size_t lines = line_start.size();
    line_start.push_back(static_cast<uint32_t>(chunk_text.size()));
    line_order.resize(lines);
    std::iota(line_order.begin(), line_order.end(), 0u);
    Rng shuffle(options.seed, kChunkStream, static_cast<uint64_t>(c));
    for (size_t i = lines; i > 1; --i)
      std::swap(line_order[i - 1], line_order[shuffle.Below(i)]);
    while (bad.DueAt(c)) AppendBadClickRow(options, bad.Take(), stats, out);
    for (uint32_t l : line_order) {
      out.append(chunk_text, line_start[l], line_start[l + 1] - line_start[l]);
      ++stats.valid_rows;
      file.MaybeFlush();
    }
  }
  while (bad.DueAt(chunks)) AppendBadClickRow(options, bad.Take(), stats, out);
  stats.bytes = file.bytes();
  summary.click_events = stats.valid_rows;
  summary.session_ids = static_cast<int64_t>(total);
  summary.session_ids_without_booking = static_cast<int64_t>(orphans.size());
  if (stats.valid_rows > 0) {
    summary.first_event_time = first_time;
    summary.last_event_time = last_time;
  }
  return file.Close();
}

std::vector<Orphan> PlanOrphans(const DatagenOptions& options,
                                const Calendar& cal,
                                const CustomerBookings& plan) {
  const size_t booked = plan.bookings.size();
  const int64_t count = booked == 0 ? 0
                                    : std::llround(static_cast<double>(booked) *
                                                   kModel.orphan_share /
                                                   (1.0 - kModel.orphan_share));
  std::vector<Orphan> orphans(count);
  for (int64_t o = 0; o < count; ++o) {
    Rng rng(options.seed, kOrphanStream, static_cast<uint64_t>(o));
    // Browsing without buying follows overall activity: near a random booking.
    const Booking& near = plan.bookings[rng.Below(booked)];
    const Micros jitter = rng.Between(-5 * kMicrosPerDay, 5 * kMicrosPerDay);
    Micros end = near.created_at + jitter;
    if (end >= cal.end_us || end < cal.start_us + kMicrosPerDay) {
      end = near.created_at - jitter;  // reflect back into the range
    }
    orphans[o].end =
        std::clamp(end, cal.start_us + kMicrosPerDay, cal.end_us - 1);
    orphans[o].engagement =
        static_cast<float>(std::exp(0.35 * rng.Normal() - 0.06));
    orphans[o].session_id = RandomUuid(rng);
  }
  return orphans;
}

// ------------------------------------------------------------------ truth

void SummarizeBookings(const CustomerBookings& plan, DatagenSummary& summary) {
  std::map<MonthIndex, MonthStats> months;
  int64_t last_customer = -1;
  MonthIndex last_month = 0;
  bool customer_bought = false;
  summary.first_booking_time = std::numeric_limits<Micros>::max();
  summary.last_booking_time = std::numeric_limits<Micros>::min();
  for (const Booking& b : plan.bookings) {  // grouped by customer, by time
    summary.first_booking_time =
        std::min(summary.first_booking_time, b.created_at);
    summary.last_booking_time =
        std::max(summary.last_booking_time, b.created_at);
    ++summary.bookings;
    if (b.customer != last_customer) {
      last_customer = b.customer;
      last_month = -1;
      customer_bought = false;
    }
    if (!b.success) continue;
    ++summary.successful_bookings;
    if (!customer_bought) {
      ++summary.customers_with_purchase;
      customer_bought = true;
    }
    const MonthIndex m = MonthOf(b.created_at);
    MonthStats& stats = months[m];
    stats.month = m;
    ++stats.orders;
    stats.revenue += b.total;
    if (m != last_month) {
      ++stats.buyers;
      last_month = m;
    }
  }
  if (summary.bookings == 0)
    summary.first_booking_time = summary.last_booking_time = 0;
  for (const auto& [month, stats] : months) summary.months.push_back(stats);
}

absl::Status WriteTruth(const std::string& dir, const CustomerBookings& plan,
                        const std::vector<uint32_t>& by_time,
                        const std::vector<Orphan>& orphans,
                        const ClickTruth& clicks,
                        const DatagenSummary& summary) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  {
    OutputFile file;
    WB_RETURN_IF_ERROR(file.Open(dir + "/purchases.csv"));
    std::string& out = file.buffer();
    out.append("customer_id,created_at_us,total_amount,promo_code\n");
    for (uint32_t i : by_time) {
      const Booking& b = plan.bookings[i];
      if (!b.success) continue;
      AppendInt(out, b.customer + 1);
      out.push_back(',');
      AppendInt(out, b.created_at);
      out.push_back(',');
      AppendInt(out, b.total);
      out.push_back(',');
      if (b.promo != 0) out.append(kPromoCodes[b.promo - 1]);
      out.push_back('\n');
      file.MaybeFlush();
    }
    WB_RETURN_IF_ERROR(file.Close());
  }
  {
    OutputFile file;
    WB_RETURN_IF_ERROR(file.Open(dir + "/sessions.csv"));
    std::string& out = file.buffer();
    out.append("session_id,customer_id,pieces\n");
    const size_t booked = plan.bookings.size();
    for (size_t s = 0; s < clicks.pieces.size(); ++s) {
      if (s < booked) {
        AppendUuid(out, plan.bookings[s].session_id);
        out.push_back(',');
        AppendInt(out, plan.bookings[s].customer + 1);
      } else {
        AppendUuid(out, orphans[s - booked].session_id);
        out.push_back(',');
      }
      out.push_back(',');
      AppendInt(out, clicks.pieces[s]);
      out.push_back('\n');
      file.MaybeFlush();
    }
    WB_RETURN_IF_ERROR(file.Close());
  }
  OutputFile file;
  WB_RETURN_IF_ERROR(file.Open(dir + "/summary.json"));
  file.buffer().append(SummaryToJson(summary));
  return file.Close();
}

void AppendJsonFile(std::string& out, const FileStats& f) {
  absl::StrAppend(&out, "    \"", f.name, "\": {\"valid_rows\": ", f.valid_rows,
                  ", \"bad_rows\": ", f.bad_rows, ", \"bad_rows_by_kind\": {");
  for (int k = 0; k < kBadRowKindCount; ++k) {
    absl::StrAppend(&out, k > 0 ? ", " : "", "\"",
                    BadRowKindName(static_cast<BadRowKind>(k)),
                    "\": ", f.bad_rows_by_kind[k]);
  }
  out.append("}, \"bad_lines\": [");
  for (size_t i = 0; i < f.bad_lines.size(); ++i) {
    absl::StrAppend(&out, i > 0 ? ", " : "", f.bad_lines[i]);
  }
  absl::StrAppend(&out, "], \"bytes\": ", f.bytes, "}");
}

}  // namespace

std::string SummaryToJson(const DatagenSummary& s) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"seed\": ", s.seed, ",\n");
  absl::StrAppend(&out, "  \"scale_customers\": ", s.scale_customers, ",\n");
  out.append("  \"files\": {\n");
  AppendJsonFile(out, s.customer);
  out.append(",\n");
  AppendJsonFile(out, s.product);
  out.append(",\n");
  AppendJsonFile(out, s.transactions);
  out.append(",\n");
  AppendJsonFile(out, s.click_stream);
  out.append("\n  },\n");
  absl::StrAppend(
      &out, "  \"repaired_product_rows\": ", s.repaired_product_rows, ",\n");
  absl::StrAppend(&out, "  \"products\": ", s.products, ",\n");
  absl::StrAppend(&out, "  \"customers\": ", s.customers, ",\n");
  absl::StrAppend(&out,
                  "  \"customers_with_purchase\": ", s.customers_with_purchase,
                  ",\n");
  absl::StrAppend(&out, "  \"bookings\": ", s.bookings, ",\n");
  absl::StrAppend(&out, "  \"successful_bookings\": ", s.successful_bookings,
                  ",\n");
  absl::StrAppend(&out, "  \"click_events\": ", s.click_events, ",\n");
  out.append("  \"click_events_by_name\": {");
  for (int k = 0; k < kEventNameCount; ++k) {
    absl::StrAppend(&out, k > 0 ? ", " : "", "\"", kEventNames[k],
                    "\": ", s.events_by_name[k]);
  }
  out.append("},\n");
  absl::StrAppend(&out, "  \"session_ids\": ", s.session_ids, ",\n");
  absl::StrAppend(&out, "  \"session_ids_without_booking\": ",
                  s.session_ids_without_booking, ",\n");
  absl::StrAppend(&out, "  \"pieces\": ", s.pieces, ",\n");
  absl::StrAppend(&out, "  \"pieces_linked_to_customer\": ",
                  s.pieces_linked_to_customer, ",\n");
  absl::StrAppend(&out, "  \"first_event_time\": \"",
                  FormatTimestamp(s.first_event_time), "\",\n");
  absl::StrAppend(&out, "  \"last_event_time\": \"",
                  FormatTimestamp(s.last_event_time), "\",\n");
  absl::StrAppend(&out, "  \"first_event_time_us\": ", s.first_event_time,
                  ",\n");
  absl::StrAppend(&out, "  \"last_event_time_us\": ", s.last_event_time, ",\n");
  absl::StrAppend(&out, "  \"first_booking_time_us\": ", s.first_booking_time,
                  ",\n");
  absl::StrAppend(&out, "  \"last_booking_time_us\": ", s.last_booking_time,
                  ",\n");
  out.append("  \"months\": [");
  for (size_t i = 0; i < s.months.size(); ++i) {
    const MonthStats& m = s.months[i];
    absl::StrAppend(&out, i > 0 ? ",\n    " : "\n    ", "{\"month\": \"",
                    FormatMonth(m.month), "\", \"orders\": ", m.orders,
                    ", \"buyers\": ", m.buyers, ", \"revenue\": ", m.revenue,
                    "}");
  }
  out.append("\n  ]\n}\n");
  return out;
}

absl::StatusOr<DatagenSummary> GenerateDataset(const DatagenOptions& options) {
  WB_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options.out_dir, ": ", ec.message()));
  }
  const std::string& dir = options.out_dir;
  const Calendar cal;
  DatagenSummary summary;
  summary.seed = options.seed;
  summary.scale_customers = options.customers;

  ProductPlan products;
  WB_RETURN_IF_ERROR(WriteProducts(options, dir, products, summary));
  CustomerBookings plan;
  WB_RETURN_IF_ERROR(
      WriteCustomers(options, dir, cal, products, plan, summary));
  ShapeRevenue(cal, plan);

  std::vector<uint32_t> by_time(plan.bookings.size());
  std::iota(by_time.begin(), by_time.end(), 0u);
  std::sort(by_time.begin(), by_time.end(), [&](uint32_t a, uint32_t b) {
    const Booking& x = plan.bookings[a];
    const Booking& y = plan.bookings[b];
    return std::tie(x.created_at, x.customer, a) <
           std::tie(y.created_at, y.customer, b);
  });
  WB_RETURN_IF_ERROR(
      WriteTransactions(options, dir, products, plan, by_time, summary));
  SummarizeBookings(plan, summary);

  const std::vector<Orphan> orphans = PlanOrphans(options, cal, plan);
  ClickTruth clicks;
  WB_RETURN_IF_ERROR(
      WriteClicks(options, dir, cal, products, plan, orphans, clicks, summary));
  if (options.truth) {
    WB_RETURN_IF_ERROR(
        WriteTruth(dir + "/truth", plan, by_time, orphans, clicks, summary));
  }
  return summary;
}

}  // namespace winback::datagen
