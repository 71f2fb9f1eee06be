#include "tools/datagen/datagen.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobs/common/time_util.h"

namespace winback::datagen {
namespace {

// A directory private to this test process: ctest runs tests of this binary
// in parallel processes, which must not share (and delete) each other's data.
std::string TestDir(const std::string& name) {
  return ::testing::TempDir() + "/datagen_test_" + name + "_" +
         std::to_string(::getpid());
}

constexpr int64_t kCustomers = 400;
constexpr Micros kGap = 30 * kMicrosPerMinute;
const char* const kFiles[] = {"customer.csv", "product.csv", "transactions.csv",
                              "click_stream.csv"};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

// RFC 4180 field split of one line (quotes group commas; "" is a quote).
std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  return fields;
}

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  EXPECT_TRUE(absl::SimpleAtoi(s, &v)) << "not an integer: " << s;
  return v;
}

Micros ToTime(const std::string& s) {
  const std::optional<Micros> t = ParseTimestamp(s);
  EXPECT_TRUE(t.has_value()) << "bad timestamp: " << s;
  return t.value_or(0);
}

struct Click {
  Micros time;
  std::string event_id;
  std::string name;
};

class DatagenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TestDir("a"));
    std::filesystem::remove_all(*dir_);
    DatagenOptions options;
    options.customers = kCustomers;
    options.seed = 7;
    options.out_dir = *dir_;
    options.truth = true;
    absl::StatusOr<DatagenSummary> summary = GenerateDataset(options);
    ASSERT_TRUE(summary.ok()) << summary.status();
    summary_ = new DatagenSummary(*std::move(summary));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete summary_;
  }

  static std::vector<std::string> FileLines(const std::string& name) {
    return Lines(ReadFile(*dir_ + "/" + name));
  }

  // session_id -> its click events, in file order.
  static std::map<std::string, std::vector<Click>> ClicksBySession() {
    std::map<std::string, std::vector<Click>> sessions;
    const std::vector<std::string> lines = FileLines("click_stream.csv");
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = Fields(lines[i]);
      EXPECT_EQ(f.size(), 6u) << lines[i];
      if (f.size() != 6) continue;
      sessions[f[0]].push_back({ToTime(f[2]), f[3], f[1]});
    }
    return sessions;
  }

  static std::string* dir_;
  static DatagenSummary* summary_;
};

std::string* DatagenTest::dir_ = nullptr;
DatagenSummary* DatagenTest::summary_ = nullptr;

TEST_F(DatagenTest, SameSeedGivesByteIdenticalFiles) {
  const std::string other = TestDir("b");
  std::filesystem::remove_all(other);
  DatagenOptions options;
  options.customers = kCustomers;
  options.seed = 7;
  options.out_dir = other;
  options.truth = true;
  ASSERT_TRUE(GenerateDataset(options).ok());
  for (const char* name :
       {"customer.csv", "product.csv", "transactions.csv", "click_stream.csv",
        "truth/purchases.csv", "truth/sessions.csv", "truth/summary.json"}) {
    const std::string a = ReadFile(*dir_ + "/" + name);
    EXPECT_FALSE(a.empty()) << name;
    EXPECT_TRUE(a == ReadFile(other + "/" + name)) << name << " differs";
  }
  std::filesystem::remove_all(other);
}

TEST_F(DatagenTest, DifferentSeedGivesDifferentData) {
  const std::string other = TestDir("seed");
  DatagenOptions options;
  options.customers = kCustomers;
  options.seed = 8;
  options.out_dir = other;
  ASSERT_TRUE(GenerateDataset(options).ok());
  EXPECT_NE(ReadFile(*dir_ + "/transactions.csv"),
            ReadFile(other + "/transactions.csv"));
  std::filesystem::remove_all(other);
}

TEST_F(DatagenTest, HeadersAreExact) {
  EXPECT_EQ(FileLines("customer.csv")[0],
            "customer_id,first_name,last_name,username,email,gender,birthdate,"
            "device_type,device_id,device_version,home_location_lat,"
            "home_location_long,home_location,home_country,first_join_date");
  EXPECT_EQ(
      FileLines("product.csv")[0],
      "id,gender,masterCategory,subCategory,articleType,baseColour,season,"
      "year,usage,productDisplayName");
  EXPECT_EQ(
      FileLines("transactions.csv")[0],
      "created_at,customer_id,booking_id,session_id,product_metadata,"
      "payment_method,payment_status,promo_amount,promo_code,shipment_fee,"
      "shipment_date_limit,shipment_location_lat,shipment_location_long,"
      "total_amount");
  EXPECT_EQ(FileLines("click_stream.csv")[0],
            "session_id,event_name,event_time,event_id,traffic_source,event_"
            "metadata");
}

TEST_F(DatagenTest, SummaryCountsMatchFiles) {
  EXPECT_EQ(static_cast<int64_t>(FileLines("customer.csv").size()) - 1,
            kCustomers);
  EXPECT_EQ(summary_->customer.valid_rows, kCustomers);
  EXPECT_EQ(static_cast<int64_t>(FileLines("product.csv").size()) - 1,
            summary_->product.valid_rows);
  EXPECT_EQ(static_cast<int64_t>(FileLines("transactions.csv").size()) - 1,
            summary_->bookings);
  EXPECT_EQ(static_cast<int64_t>(FileLines("click_stream.csv").size()) - 1,
            summary_->click_events);
  EXPECT_GE(summary_->product.valid_rows, 400);
  EXPECT_GT(summary_->bookings, kCustomers);
}

TEST_F(DatagenTest, TransactionAmountsFollowTheFormula) {
  const std::vector<std::string> lines = FileLines("transactions.csv");
  absl::flat_hash_set<std::string> booking_ids;
  int64_t promos = 0, successes = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = Fields(lines[i]);
    ASSERT_EQ(f.size(), 14u) << lines[i];
    ToTime(f[0]);
    ToTime(f[10]);
    const int64_t customer = ToInt(f[1]);
    EXPECT_GE(customer, 1);
    EXPECT_LE(customer, kCustomers);
    EXPECT_TRUE(booking_ids.insert(f[2]).second);
    // product_metadata: [{'product_id': a, 'quantity': b, 'item_price': c},
    // ...]
    const std::string& meta = f[4];
    ASSERT_GE(meta.size(), 2u);
    EXPECT_EQ(meta.front(), '[');
    EXPECT_EQ(meta.back(), ']');
    int64_t subtotal = 0, items = 0;
    size_t pos = 0;
    while ((pos = meta.find('{', pos)) != std::string::npos) {
      long long product, quantity, price;
      ASSERT_EQ(
          std::sscanf(
              meta.c_str() + pos,
              "{'product_id': %lld, 'quantity': %lld, 'item_price': %lld}",
              &product, &quantity, &price),
          3)
          << meta;
      subtotal += quantity * price;
      ++items;
      ++pos;
    }
    EXPECT_GE(items, 1);
    EXPECT_LE(items, 50);
    const int64_t promo_amount = ToInt(f[7]);
    const int64_t fee = ToInt(f[9]);
    EXPECT_EQ(promo_amount == 0, f[8].empty()) << lines[i];
    promos += !f[8].empty();
    EXPECT_THAT(fee, ::testing::AnyOf(0, 5000, 10000, 15000, 25000, 50000));
    EXPECT_THAT(f[6], ::testing::AnyOf("Success", "Failed"));
    successes += f[6] == "Success";
    EXPECT_EQ(ToInt(f[13]), subtotal - promo_amount + fee) << lines[i];
  }
  const double n = static_cast<double>(lines.size() - 1);
  EXPECT_NEAR(promos / n, 0.38, 0.05);
  EXPECT_NEAR(successes / n, 0.957, 0.02);
  EXPECT_EQ(successes, summary_->successful_bookings);
}

TEST_F(DatagenTest, EveryBookingSessionIsInTheClickStreamEndingInItsBooking) {
  const auto sessions = ClicksBySession();
  const std::vector<std::string> lines = FileLines("transactions.csv");
  absl::flat_hash_set<std::string> booked;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = Fields(lines[i]);
    ASSERT_TRUE(booked.insert(f[3]).second) << "two bookings for " << f[3];
    const auto it = sessions.find(f[3]);
    ASSERT_NE(it, sessions.end()) << f[3];
    const auto last = std::max_element(it->second.begin(), it->second.end(),
                                       [](const Click& a, const Click& b) {
                                         return std::tie(a.time, a.event_id) <
                                                std::tie(b.time, b.event_id);
                                       });
    EXPECT_EQ(last->name, "BOOKING");
    EXPECT_EQ(last->time, ToTime(f[0]));
    EXPECT_EQ(std::count_if(it->second.begin(), it->second.end(),
                            [](const Click& c) { return c.name == "BOOKING"; }),
              1);
  }
  int64_t without = 0;
  for (const auto& [id, events] : sessions) without += !booked.contains(id);
  EXPECT_EQ(without, summary_->session_ids_without_booking);
  EXPECT_EQ(static_cast<int64_t>(sessions.size()), summary_->session_ids);
  EXPECT_NEAR(static_cast<double>(without) / sessions.size(), 0.05, 0.01);
}

TEST_F(DatagenTest, ClickMetadataMatchesEventName) {
  const std::vector<std::string> lines = FileLines("click_stream.csv");
  absl::flat_hash_set<std::string> event_ids;
  int64_t mobile = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = Fields(lines[i]);
    ASSERT_EQ(f.size(), 6u);
    EXPECT_TRUE(event_ids.insert(f[3]).second) << "duplicate event_id " << f[3];
    EXPECT_EQ(f[3].size(), 36u);
    mobile += f[4] == "MOBILE";
    const std::string& name = f[1];
    const std::string& meta = f[5];
    if (name == "HOMEPAGE" || name == "CLICK" || name == "SCROLL" ||
        name == "ITEM_DETAIL" || name == "PROMO_PAGE") {
      EXPECT_TRUE(meta.empty()) << lines[i];
    } else if (name == "ADD_TO_CART") {
      EXPECT_THAT(meta, ::testing::MatchesRegex(
                            "\\{'product_id': [0-9]+, 'quantity': [0-9]+, "
                            "'item_price': [0-9]+\\}"));
    } else if (name == "BOOKING") {
      EXPECT_THAT(meta, ::testing::AnyOf("{'payment_status': 'Success'}",
                                         "{'payment_status': 'Failed'}"));
    } else if (name == "SEARCH") {
      EXPECT_THAT(meta, ::testing::MatchesRegex(
                            "\\{'search_keywords': '[A-Za-z ]+'\\}"));
    } else if (name == "ADD_PROMO") {
      EXPECT_THAT(
          meta, ::testing::MatchesRegex(
                    "\\{'promo_code': '[A-Z0-9]+', 'promo_amount': [0-9]+\\}"));
    } else {
      ADD_FAILURE() << "unknown event " << name;
    }
  }
  EXPECT_NEAR(static_cast<double>(mobile) / (lines.size() - 1), 0.9, 0.05);
}

TEST_F(DatagenTest, ProductNamesWithUnquotedCommasArePlanted) {
  const std::vector<std::string> lines = FileLines("product.csv");
  int64_t quirks = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t fields = Fields(lines[i]).size();
    EXPECT_GE(fields, 10u) << lines[i];
    EXPECT_LE(fields, 12u) << lines[i];
    quirks += fields > 10;
  }
  EXPECT_GE(quirks, 2);
  EXPECT_EQ(quirks, summary_->repaired_product_rows);
}

TEST_F(DatagenTest, ClickRowsAreNotInTimeOrderEvenWithinASession) {
  const auto sessions = ClicksBySession();
  int64_t unordered_sessions = 0;
  for (const auto& [id, events] : sessions) {
    unordered_sessions += !std::is_sorted(
        events.begin(), events.end(),
        [](const Click& a, const Click& b) { return a.time < b.time; });
  }
  EXPECT_GT(unordered_sessions, static_cast<int64_t>(sessions.size()) / 2);
}

// An independent recount of the planted pieces: sort each session_id's
// events by (time, event_id) and split where the gap exceeds 30 minutes.
TEST_F(DatagenTest, TruthPiecesMatchAnIndependentRecount) {
  auto sessions = ClicksBySession();
  const std::vector<std::string> truth = FileLines("truth/sessions.csv");
  ASSERT_EQ(truth[0], "session_id,customer_id,pieces");
  ASSERT_EQ(truth.size() - 1, sessions.size());
  int64_t exact_gap_inside = 0, just_over_gap = 0, ties = 0, total_pieces = 0;
  std::vector<Micros> spans;
  for (size_t i = 1; i < truth.size(); ++i) {
    const std::vector<std::string> f = Fields(truth[i]);
    ASSERT_EQ(f.size(), 3u);
    auto it = sessions.find(f[0]);
    ASSERT_NE(it, sessions.end()) << f[0];
    std::vector<Click>& events = it->second;
    std::sort(events.begin(), events.end(), [](const Click& a, const Click& b) {
      return std::tie(a.time, a.event_id) < std::tie(b.time, b.event_id);
    });
    int64_t pieces = 1;
    for (size_t k = 1; k < events.size(); ++k) {
      const Micros gap = events[k].time - events[k - 1].time;
      pieces += gap > kGap;
      exact_gap_inside += gap == kGap;
      just_over_gap += gap == kGap + 1;
      ties += gap == 0;
    }
    EXPECT_EQ(pieces, ToInt(f[2])) << f[0];
    total_pieces += pieces;
    spans.push_back(events.back().time - events.front().time);
  }
  EXPECT_EQ(total_pieces, summary_->pieces);
  EXPECT_GT(exact_gap_inside, 0);
  EXPECT_GT(just_over_gap, 0);
  EXPECT_GT(ties, 0);
  const double per_session =
      static_cast<double>(total_pieces) / sessions.size();
  EXPECT_GT(per_session, 8.0);
  EXPECT_LT(per_session, 13.0);
  std::nth_element(spans.begin(), spans.begin() + spans.size() / 2,
                   spans.end());
  const double median_days =
      static_cast<double>(spans[spans.size() / 2]) / kMicrosPerDay;
  EXPECT_GT(median_days, 2.0);
  EXPECT_LT(median_days, 8.0);
}

TEST_F(DatagenTest, TruthPurchasesAreTheSuccessfulBookings) {
  // (customer, time, total_amount, promo_code)
  using Purchase = std::tuple<int64_t, Micros, int64_t, std::string>;
  std::multiset<Purchase> expected;
  const std::vector<std::string> lines = FileLines("transactions.csv");
  absl::flat_hash_map<std::string, int64_t> customer_of_session;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = Fields(lines[i]);
    customer_of_session[f[3]] = ToInt(f[1]);
    if (f[6] == "Success") {
      expected.insert({ToInt(f[1]), ToTime(f[0]), ToInt(f[13]), f[8]});
    }
  }
  std::multiset<Purchase> actual;
  const std::vector<std::string> truth = FileLines("truth/purchases.csv");
  ASSERT_EQ(truth[0], "customer_id,created_at_us,total_amount,promo_code");
  for (size_t i = 1; i < truth.size(); ++i) {
    const std::vector<std::string> f = Fields(truth[i]);
    ASSERT_EQ(f.size(), 4u) << truth[i];
    actual.insert({ToInt(f[0]), ToInt(f[1]), ToInt(f[2]), f[3]});
  }
  EXPECT_EQ(actual, expected);

  for (const std::string& line : FileLines("truth/sessions.csv")) {
    const std::vector<std::string> f = Fields(line);
    if (f[0] == "session_id") continue;
    const auto it = customer_of_session.find(f[0]);
    if (it == customer_of_session.end()) {
      EXPECT_EQ(f[1], "");
    } else {
      EXPECT_EQ(ToInt(f[1]), it->second);
    }
  }
}

TEST_F(DatagenTest, BadRowsAreExtraRowsOfRotatingKinds) {
  const std::string other = TestDir("bad");
  std::filesystem::remove_all(other);
  DatagenOptions options;
  options.customers = kCustomers;
  options.seed = 7;
  options.out_dir = other;
  options.bad_rows = 6;
  absl::StatusOr<DatagenSummary> summary = GenerateDataset(options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  for (const FileStats* stats :
       {&summary->customer, &summary->product, &summary->transactions,
        &summary->click_stream}) {
    SCOPED_TRACE(stats->name);
    EXPECT_EQ(stats->bad_rows, 6);
    ASSERT_EQ(stats->bad_lines.size(), 6u);
    std::vector<std::string> lines = Lines(ReadFile(other + "/" + stats->name));
    const size_t header_fields = Fields(lines[0]).size();
    for (int64_t line : stats->bad_lines) {
      const std::vector<std::string> f = Fields(lines[line - 1]);
      const bool is_short = f.size() < header_fields;
      const bool bad_text =
          lines[line - 1].find("2022-13-45") != std::string::npos ||
          lines[line - 1].find("abc,") == 0 ||
          lines[line - 1].find(",abc,") != std::string::npos ||
          lines[line - 1].find("'product_id': 1,\"") != std::string::npos ||
          lines[line - 1].find("not-a-uuid") != std::string::npos;
      EXPECT_TRUE(is_short || bad_text) << lines[line - 1];
    }
    // Without the injected lines the file equals the clean one.
    for (auto it = stats->bad_lines.rbegin(); it != stats->bad_lines.rend();
         ++it) {
      lines.erase(lines.begin() + (*it - 1));
    }
    EXPECT_TRUE(lines == FileLines(stats->name));
  }
  EXPECT_EQ(summary->transactions.bad_rows_by_kind,
            (std::array<int64_t, kBadRowKindCount>{2, 2, 1, 1}));
  EXPECT_EQ(summary->customer.bad_rows_by_kind,
            (std::array<int64_t, kBadRowKindCount>{2, 2, 0, 2}));
  EXPECT_EQ(summary->product.bad_rows_by_kind,
            (std::array<int64_t, kBadRowKindCount>{3, 0, 0, 3}));
  std::filesystem::remove_all(other);
}

TEST(DatagenOptions, RejectsBadOptions) {
  DatagenOptions options;
  EXPECT_FALSE(options.Validate().ok());  // no out_dir
  options.out_dir = "/tmp/x";
  EXPECT_TRUE(options.Validate().ok());
  options.customers = 0;
  EXPECT_FALSE(options.Validate().ok());
  options.customers = 10;
  options.bad_rows = -1;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace winback::datagen
