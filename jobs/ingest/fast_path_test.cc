#include "jobs/ingest/fast_path.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "jobs/ingest/csv.h"
#include "jobs/ingest/csv_test_util.h"
#include "jobs/ingest/literal.h"

namespace winback::ingest_internal {
namespace {

// The general rule for click metadata (product.md / data.md), written out
// here with the Literal parser rather than taken from ingest.cc: the keys a
// type needs, with the right value types; other types take an empty text or
// any literal.
bool GeneralValid(EventType type, std::string_view text) {
  Literal lit;
  switch (type) {
    case EventType::kAddToCart:
      return lit.TryParse(text) && lit.FindInt(0, "product_id") &&
             lit.FindInt(0, "quantity") && lit.FindInt(0, "item_price");
    case EventType::kBooking:
      return lit.TryParse(text) && lit.FindString(0, "payment_status");
    case EventType::kSearch:
      return lit.TryParse(text) && lit.FindString(0, "search_keywords");
    case EventType::kAddPromo:
      return lit.TryParse(text) && lit.FindString(0, "promo_code") &&
             lit.FindInt(0, "promo_amount");
    default:
      return text.empty() || lit.TryParse(text);
  }
}

struct Sample {
  EventType type;
  std::string text;
};

// Metadata as the generator (and data.md's examples) print it.
const std::vector<Sample>& Canonical() {
  static const std::vector<Sample> kSamples = {
      {EventType::kAddToCart,
       "{'product_id': 56641, 'quantity': 2, 'item_price': 200805}"},
      {EventType::kAddToCart, "{'product_id': 0, 'quantity': -1, "
                              "'item_price': 999999999999999999}"},
      {EventType::kBooking, "{'payment_status': 'Success'}"},
      {EventType::kBooking, "{'payment_status': ''}"},
      {EventType::kSearch, "{'search_keywords': 'Celana Jeans'}"},
      {EventType::kSearch, "{'search_keywords': 'Kaos \xc3\xa9 {x}: 1, 2'}"},
      {EventType::kAddPromo,
       "{'promo_code': 'WEEKENDSERU', 'promo_amount': 28471}"},
      {EventType::kHomepage, ""},
      {EventType::kItemDetail, ""},
      {EventType::kClick, ""},
      {EventType::kScroll, ""},
      {EventType::kPromoPage, ""},
  };
  return kSamples;
}

TEST(CanonicalClickMetadata, AcceptsTheExportsOwnShape) {
  for (const Sample& s : Canonical()) {
    EXPECT_TRUE(CanonicalClickMetadata(s.type, s.text)) << s.text;
    EXPECT_TRUE(GeneralValid(s.type, s.text)) << s.text;
  }
}

TEST(CanonicalClickMetadata, LeavesEverythingElseToTheGeneralParser) {
  // Valid, but not in the export's exact shape: the fast path says no and
  // the general parser decides.
  const std::vector<Sample> valid_elsewhere = {
      {EventType::kAddToCart,
       "{\"product_id\": 1, \"quantity\": 2, \"item_price\": 3}"},
      {EventType::kAddToCart, "{'quantity': 2, 'product_id': 1, "
                              "'item_price': 3}"},
      {EventType::kAddToCart, "{'product_id':1, 'quantity': 2, "
                              "'item_price': 3}"},
      {EventType::kAddToCart, "{'product_id': 1234567890123456789, "
                              "'quantity': 2, 'item_price': 3}"},
      {EventType::kSearch, "{'search_keywords': 'Men\\'s'}"},
      {EventType::kSearch, "{'search_keywords': \"Men's\"}"},
      {EventType::kSearch, "{'search_keywords': 'a', 'extra': None}"},
      {EventType::kHomepage, "{}"},
  };
  for (const Sample& s : valid_elsewhere) {
    EXPECT_FALSE(CanonicalClickMetadata(s.type, s.text)) << s.text;
    EXPECT_TRUE(GeneralValid(s.type, s.text)) << s.text;
  }
  const std::vector<Sample> invalid = {
      {EventType::kAddToCart,
       "{'product_id': 01, 'quantity': 2, 'item_price': 3}"},
      {EventType::kAddToCart,
       "{'product_id': 1, 'quantity': 2, 'item_price': 3} "},
      {EventType::kAddToCart, "{'product_id': 1, 'quantity': 2}"},
      {EventType::kAddToCart,
       "{'product_id': 1.5, 'quantity': 2, 'item_price': 3}"},
      {EventType::kBooking, "{'payment_status': 'Success}"},
      {EventType::kSearch, "{'search_keywords': 'a\"b'}"},
      {EventType::kAddPromo, "{'promo_code': 'X', 'promo_amount': -}"},
  };
  for (const Sample& s : invalid) {
    EXPECT_FALSE(CanonicalClickMetadata(s.type, s.text)) << s.text;
  }
}

// Random edits of canonical texts, biased to the characters that matter.
std::string Mutate(std::string s, std::mt19937_64& rng) {
  static constexpr std::string_view kAlphabet = "'\"\\,:{} -01239a_\n\r";
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    const char c = kAlphabet[rng() % kAlphabet.size()];
    switch (rng() % 4) {
      case 0:
        if (at < s.size()) s.erase(at, 1);
        break;
      case 1:
        s.insert(at, 1, c);
        break;
      case 2:
        if (at < s.size()) s[at] = c;
        break;
      default:
        if (at < s.size()) s.insert(at, s.substr(at, 1 + rng() % 8));
        break;
    }
  }
  return s;
}

TEST(CanonicalClickMetadata, NeverAcceptsWhatTheGeneralParserRejects) {
  std::mt19937_64 rng(20261124);
  int accepted = 0, rejected_by_general = 0;
  for (int i = 0; i < 200000; ++i) {
    const Sample& base = Canonical()[rng() % Canonical().size()];
    const std::string text = Mutate(base.text, rng);
    for (int t = 0; t < kEventTypeCount; ++t) {
      const EventType type = static_cast<EventType>(t);
      const bool general = GeneralValid(type, text);
      rejected_by_general += !general;
      if (CanonicalClickMetadata(type, text)) {
        ++accepted;
        ASSERT_TRUE(general) << "type " << EventTypeName(type) << ": " << text;
      }
    }
  }
  // The edits hit both sides of the line, so the check above means
  // something.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected_by_general, 100000);
}

std::vector<std::string> FastFields(std::string_view line) {
  std::string_view f[kClickFields];
  if (!SplitPlainClickRow(line, f)) return {};
  return std::vector<std::string>(f, f + kClickFields);
}

TEST(SplitPlainClickRow, SplitsTheExportsRowsAsFieldSplitterDoes) {
  const std::vector<std::string> lines = {
      "3b9076c8-d642-483c-af8c-a733e6f6e977,PROMO_PAGE,"
      "2021-11-02T12:22:05.000557Z,5b7c25fe-c9ba-4e97-9e6a-7d807f0afa10,"
      "MOBILE,",
      "a,SEARCH,t,e,WEB,\"{'search_keywords': 'Celana, Jeans'}\"",
      "a,BOOKING,t,e,WEB,\"\"",
      ",,,,,",
  };
  for (const std::string& line : lines) {
    const std::vector<std::string> fast = FastFields(line);
    ASSERT_EQ(fast.size(), static_cast<size_t>(kClickFields)) << line;
    EXPECT_EQ(fast, SplitAllFields(line)) << line;
  }
  // Left to FieldSplitter: quoted leading fields, an unquoted or unclosed
  // last field, too few fields, text after the closing quote.
  for (std::string_view line :
       {"\"a\",B,t,e,WEB,", "a,B,t,e,\"WEB\",", "a,B,t,e,WEB,x",
        "a,B,t,e,WEB,\"x", "a,B,t,e", "a,B,t,e,WEB,\"x\",y",
        "a,B,t,e,WEB,\"x\"y"}) {
    EXPECT_TRUE(FastFields(line).empty()) << line;
  }
}

TEST(SplitPlainClickRow, AgreesWithFieldSplitterOnRandomRows) {
  const std::string prefix =
      "3b9076c8-d642-483c-af8c-a733e6f6e977,ADD_TO_CART,"
      "2021-11-02T12:22:05.000557Z,5b7c25fe-c9ba-4e97-9e6a-7d807f0afa10,"
      "MOBILE,";
  const std::string bases[] = {
      prefix +
          "\"{'product_id': 56641, 'quantity': 2, 'item_price': 200805}\"",
      prefix + "\"{'search_keywords': 'Celana Jeans'}\""};
  std::mt19937_64 rng(7);
  int split = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string line = Mutate(bases[i % 2], rng);
    std::string_view f[kClickFields];
    if (!SplitPlainClickRow(line, f)) continue;
    ++split;
    // A quote left in the last field means FieldSplitter would have read
    // the field differently; CanonicalClickMetadata turns such rows away.
    if (f[kClickFields - 1].find('"') != std::string_view::npos) {
      for (int t = 0; t < kEventTypeCount; ++t) {
        ASSERT_FALSE(CanonicalClickMetadata(static_cast<EventType>(t),
                                            f[kClickFields - 1]))
            << line;
      }
      continue;
    }
    ASSERT_EQ(FastFields(line), SplitAllFields(line)) << line;
  }
  EXPECT_GT(split, 50000);
}

// The general reading of product_metadata, with the Literal parser: a list
// of dicts holding the three ints (no range checks here).
std::optional<std::vector<ProductLine>> GeneralProductLines(
    std::string_view text) {
  Literal lit;
  if (!lit.TryParse(text) || lit.kind(lit.root()) != Literal::Kind::kList) {
    return std::nullopt;
  }
  std::vector<ProductLine> lines;
  Literal::NodeId item = lit.FirstChild(lit.root());
  for (uint32_t i = 0; i < lit.size(lit.root()); ++i, item = lit.Next(item)) {
    const auto product = lit.FindInt(item, "product_id");
    const auto quantity = lit.FindInt(item, "quantity");
    const auto price = lit.FindInt(item, "item_price");
    if (!product || !quantity || !price) return std::nullopt;
    lines.push_back({*product, *quantity, *price});
  }
  return lines;
}

TEST(CanonicalProductLines, ReadsTheExportsListsAsTheLiteralParserDoes) {
  std::vector<ProductLine> lines;
  ASSERT_TRUE(CanonicalProductLines(
      "[{'product_id': 27475, 'quantity': 1, 'item_price': 26788}, "
      "{'product_id': 49883, 'quantity': 6, 'item_price': 62872}]",
      &lines));
  EXPECT_EQ(lines, (std::vector<ProductLine>{{27475, 1, 26788},
                                             {49883, 6, 62872}}));
  ASSERT_TRUE(CanonicalProductLines("[]", &lines));
  EXPECT_TRUE(lines.empty());
  // Valid, but left to the general parser.
  for (std::string_view text :
       {"[{'quantity': 1, 'product_id': 2, 'item_price': 3}]",
        "[{'product_id': 2, 'quantity': 1, 'item_price': 3},]",
        "[{\"product_id\": 2, \"quantity\": 1, \"item_price\": 3}]",
        "[ ]"}) {
    EXPECT_FALSE(CanonicalProductLines(text, &lines)) << text;
    EXPECT_TRUE(GeneralProductLines(text).has_value()) << text;
  }
}

TEST(CanonicalProductLines, NeverDisagreesWithTheLiteralParser) {
  const std::string base =
      "[{'product_id': 27475, 'quantity': 1, 'item_price': 26788}, "
      "{'product_id': 49883, 'quantity': -6, 'item_price': 0}]";
  std::mt19937_64 rng(11);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string text = Mutate(base, rng);
    std::vector<ProductLine> lines;
    if (!CanonicalProductLines(text, &lines)) continue;
    ++accepted;
    const auto general = GeneralProductLines(text);
    ASSERT_TRUE(general.has_value()) << text;
    ASSERT_EQ(lines, *general) << text;
  }
  EXPECT_GT(accepted, 1000);
}

TEST(FastUuid, GivesParseUuidsAnswerForEveryText) {
  std::mt19937_64 rng(36);
  static constexpr std::string_view kHex = "0123456789abcdefABCDEF";
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text(36, '-');
    for (int at = 0; at < 36; ++at) {
      if (at == 8 || at == 13 || at == 18 || at == 23) continue;
      // Mostly lowercase, sometimes an uppercase letter.
      text[at] = kHex[rng() % (i % 4 == 0 ? kHex.size() : 16)];
    }
    if (i % 2 == 1) {
      // A byte anywhere, from every range the vector compares split.
      text[rng() % 36] = static_cast<char>(rng() % 256);
    }
    if (i % 97 == 0) text.resize(rng() % 40, '0');
    bool lowercase = false;
    const std::optional<Uuid> fast = FastUuid(text, &lowercase);
    const std::optional<Uuid> general = ParseUuid(text);
    ASSERT_EQ(fast.has_value(), general.has_value()) << text;
    if (!fast.has_value()) continue;
    ++valid;
    ASSERT_EQ(*fast, *general) << text;
    ASSERT_EQ(lowercase, text.find_first_of("ABCDEF") == std::string::npos)
        << text;
    ASSERT_EQ(FormatUuid(*fast) == text, lowercase) << text;
  }
  EXPECT_GT(valid, 50000);
  EXPECT_LT(valid, 150000);
}

TEST(FastTimestamp, GivesParseTimestampsAnswerForEveryText) {
  std::mt19937_64 rng(27);
  int valid = 0, month_ends = 0;
  for (int i = 0; i < 300000; ++i) {
    // Years around the ends of the 1970-2099 shortcut, leap and not; days
    // 28-31 often, in every month; hours, minutes and seconds up to 99.
    static constexpr int kYears[] = {1969, 1970, 1971, 1972, 1999, 2000,
                                     2021, 2022, 2024, 2096, 2099, 2100,
                                     2104, 2400, 1600, 9999, 0};
    const int year = i % 3 == 0 ? static_cast<int>(rng() % 10000)
                                : kYears[rng() % std::size(kYears)];
    const int month = static_cast<int>(rng() % 14);
    const int day = i % 2 == 0 ? 28 + static_cast<int>(rng() % 4)
                               : static_cast<int>(rng() % 33);
    std::string text =
        absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", year, month, day,
                        static_cast<int>(rng() % (i % 5 == 0 ? 100 : 24)),
                        static_cast<int>(rng() % (i % 7 == 0 ? 100 : 60)),
                        static_cast<int>(rng() % (i % 11 == 0 ? 100 : 60)),
                        static_cast<int>(rng() % 1000000));
    if (i % 4 == 1) {
      // A byte anywhere, from every range the vector compares split.
      text[rng() % text.size()] = static_cast<char>(rng() % 256);
    }
    if (i % 89 == 0) text.resize(rng() % 30, '0');
    if (i % 101 == 0 && !text.empty()) text.back() = ' ';
    const std::optional<Micros> fast = FastTimestamp(text);
    const std::optional<Micros> general = ParseTimestamp(text);
    ASSERT_EQ(fast.has_value(), general.has_value()) << text;
    if (!fast.has_value()) continue;
    ++valid;
    month_ends += day >= 29;
    ASSERT_EQ(*fast, *general) << text;
  }
  EXPECT_GT(valid, 100000);
  EXPECT_GT(month_ends, 30000);
}

}  // namespace
}  // namespace winback::ingest_internal
