#include "jobs/ingest/literal.h"

#include <gtest/gtest.h>

#include <string>

namespace winback {
namespace {

using Kind = Literal::Kind;

std::string Json(std::string_view text) {
  Literal lit;
  const absl::Status s = lit.Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s;
  return lit.ToJson(lit.root());
}

TEST(Literal, ParsesPythonDictOfInts) {
  Literal lit;
  ASSERT_TRUE(
      lit.Parse("{'product_id': 54728, 'quantity': 1, 'item_price': 191247}")
          .ok());
  EXPECT_EQ(lit.kind(lit.root()), Kind::kDict);
  EXPECT_EQ(lit.size(lit.root()), 3u);
  EXPECT_EQ(lit.FindInt(0, "product_id"), 54728);
  EXPECT_EQ(lit.FindInt(0, "quantity"), 1);
  EXPECT_EQ(lit.FindInt(0, "item_price"), 191247);
  EXPECT_EQ(lit.FindInt(0, "missing"), std::nullopt);
  EXPECT_EQ(lit.FindString(0, "quantity"), std::nullopt);  // wrong type
}

TEST(Literal, ParsesNestedListOfDicts) {
  Literal lit;
  ASSERT_TRUE(lit.Parse("[{'product_id': 54728, 'quantity': 1, 'item_price': "
                        "191247}, {'product_id': 16193, 'quantity': 2, "
                        "'item_price': 155526}]")
                  .ok());
  ASSERT_EQ(lit.kind(0), Kind::kList);
  ASSERT_EQ(lit.size(0), 2u);
  const Literal::NodeId first = lit.FirstChild(0);
  const Literal::NodeId second = lit.Next(first);
  EXPECT_EQ(lit.FindInt(first, "product_id"), 54728);
  EXPECT_EQ(lit.FindInt(second, "product_id"), 16193);
  EXPECT_EQ(lit.FindInt(second, "quantity"), 2);
  EXPECT_EQ(lit.FindInt(second, "item_price"), 155526);
  EXPECT_EQ(lit.Next(second), lit.Next(0));  // end of the list
}

TEST(Literal, ParsesStringsInBothQuotes) {
  EXPECT_EQ(Json("{'search_keywords': 'Dress Kondangan'}"),
            R"({"search_keywords":"Dress Kondangan"})");
  // Python's repr switches to double quotes when the text holds a quote.
  EXPECT_EQ(Json(R"({'name': "Men's Shirt"})"), R"({"name":"Men's Shirt"})");
  Literal lit;
  ASSERT_TRUE(lit.Parse(R"("Men's")").ok());
  EXPECT_EQ(lit.string_value(0), "Men's");
}

TEST(Literal, DecodesEscapes) {
  Literal lit;
  ASSERT_TRUE(lit.Parse(R"('it\'s a \\ b\n\t\x41\u00e9\U0001F600')").ok());
  EXPECT_EQ(lit.string_value(0), "it's a \\ b\n\tA\xC3\xA9\xF0\x9F\x98\x80");
  ASSERT_TRUE(lit.Parse(R"("say \"hi\" \/ \ud83d\ude00")").ok());
  EXPECT_EQ(lit.string_value(0), "say \"hi\" / \xF0\x9F\x98\x80");
}

TEST(Literal, EscapedAndPlainStringsMix) {
  Literal lit;
  ASSERT_TRUE(lit.Parse(R"({'a\'': 'x', 'b': 'y\\z', 'c': 'plain'})").ok());
  EXPECT_EQ(lit.FindString(0, "a'"), "x");
  EXPECT_EQ(lit.FindString(0, "b"), "y\\z");
  EXPECT_EQ(lit.FindString(0, "c"), "plain");
}

TEST(Literal, ParsesPythonAndJsonScalars) {
  EXPECT_EQ(Json("[True, False, None, true, false, null]"),
            "[true,false,null,true,false,null]");
  EXPECT_EQ(Json("[0, -7, 2.5, -1e3, 1.5E-2]"), "[0,-7,2.5,-1000,0.015]");
  EXPECT_EQ(Json("  {\"a\" : [ ] ,\n \"b\": {} }\r\n"), R"({"a":[],"b":{}})");
  Literal lit;
  ASSERT_TRUE(lit.Parse("3.25").ok());
  EXPECT_EQ(lit.kind(0), Kind::kFloat);
  EXPECT_DOUBLE_EQ(lit.float_value(0), 3.25);
  ASSERT_TRUE(lit.Parse("99999999999999999999").ok());  // beyond int64
  EXPECT_EQ(lit.kind(0), Kind::kFloat);
}

TEST(Literal, ParsesPlainJson) {
  Literal lit;
  ASSERT_TRUE(lit.Parse(R"({"product_id": 15315, "quantity": 4, )"
                        R"("item_price": 313529, "gift": false})")
                  .ok());
  EXPECT_EQ(lit.FindInt(0, "item_price"), 313529);
  const auto gift = lit.Find(0, "gift");
  ASSERT_TRUE(gift.has_value());
  EXPECT_EQ(lit.kind(*gift), Kind::kBool);
  EXPECT_FALSE(lit.bool_value(*gift));
}

TEST(Literal, AcceptsPythonTrailingComma) {
  EXPECT_EQ(Json("[1, 2,]"), "[1,2]");
  EXPECT_EQ(Json("{'a': 1,}"), R"({"a":1})");
}

TEST(Literal, LastDuplicateKeyWins) {
  Literal lit;
  ASSERT_TRUE(lit.Parse("{'a': 1, 'a': 2}").ok());
  EXPECT_EQ(lit.FindInt(0, "a"), 2);
}

TEST(Literal, RejectsMalformedText) {
  const char* bad[] = {
      "",
      "   ",
      "{'a': 1",          // unbalanced
      "[1, 2",            // unbalanced
      "[1, 2]]",          // trailing junk
      "{'a': 1} x",       // trailing junk
      "{'a' 1}",          // missing colon
      "{'a': }",          // missing value
      "{'a': 1 'b': 2}",  // missing comma
      "[1,,2]",
      "[,]",
      "{1: 2}",    // non-string key
      "'abc",      // unterminated
      "'ab\ncd'",  // raw line break in a string
      "'\\q'",     // unknown escape
      "'\\x4'",    // short hex escape
      "tru",
      "Truex",
      "nan",
      "01",  // leading zero
      "1.",
      ".5",
      "-",
      "1e",
      "{'a': [1, {'b': 2]}",  // mismatched brackets
  };
  Literal lit;
  for (const char* text : bad) {
    EXPECT_FALSE(lit.Parse(text).ok()) << "accepted: " << text;
    EXPECT_FALSE(lit.TryParse(text)) << "accepted: " << text;
    EXPECT_TRUE(lit.empty());
  }
}

TEST(Literal, ErrorNamesOffsetAndProblem) {
  Literal lit;
  const absl::Status s = lit.Parse("{'a' 1}");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "invalid literal at offset 5: expected ':'");
}

TEST(Literal, LimitsNesting) {
  const std::string ok = std::string(Literal::kMaxDepth, '[') +
                         std::string(Literal::kMaxDepth, ']');
  const std::string deep = std::string(Literal::kMaxDepth + 1, '[') +
                           std::string(Literal::kMaxDepth + 1, ']');
  Literal lit;
  EXPECT_TRUE(lit.Parse(ok).ok());
  EXPECT_FALSE(lit.Parse(deep).ok());
}

TEST(Literal, ReusesObjectAcrossParses) {
  Literal lit;
  ASSERT_TRUE(lit.Parse("{'a': 'x\\'y'}").ok());
  ASSERT_TRUE(lit.Parse("{'b': 'z'}").ok());
  EXPECT_EQ(lit.Find(0, "a"), std::nullopt);
  EXPECT_EQ(lit.FindString(0, "b"), "z");
}

}  // namespace
}  // namespace winback
