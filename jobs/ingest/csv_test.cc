#include "jobs/ingest/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "jobs/ingest/csv_test_util.h"

namespace winback::ingest_internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Lines(std::string_view text) {
  LineReader reader(text);
  std::vector<std::string> out;
  std::string_view line;
  while (reader.Next(&line)) out.emplace_back(line);
  return out;
}

TEST(FieldSplitter, SplitsPlainFields) {
  EXPECT_THAT(SplitAllFields("a,b,c"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(SplitAllFields(""), ElementsAre(""));
  EXPECT_THAT(SplitAllFields(",,"), ElementsAre("", "", ""));
  EXPECT_THAT(SplitAllFields("a,"), ElementsAre("a", ""));
}

TEST(FieldSplitter, HandlesQuotedCommasAndDoubledQuotes) {
  EXPECT_THAT(SplitAllFields(R"(1,"a, b",2)"), ElementsAre("1", "a, b", "2"));
  EXPECT_THAT(SplitAllFields(R"("say ""hi""","x""","")"),
              ElementsAre("say \"hi\"", "x\"", ""));
  EXPECT_THAT(SplitAllFields(R"("""a"",""b""",z)"),
              ElementsAre("\"a\",\"b\"", "z"));
  EXPECT_THAT(SplitAllFields(R"(x,"[{'product_id': 1, 'quantity': 2}]",y)"),
              ElementsAre("x", "[{'product_id': 1, 'quantity': 2}]", "y"));
  // A quote inside an unquoted field is an ordinary character.
  EXPECT_THAT(SplitAllFields(R"(5'10",b)"), ElementsAre("5'10\"", "b"));
}

TEST(FieldSplitter, RejectsMalformedQuoting) {
  EXPECT_THAT(SplitAllFields(R"(a,"unterminated)"), ElementsAre("<malformed>"));
  EXPECT_THAT(SplitAllFields(R"("ab"c,d)"), ElementsAre("<malformed>"));
}

TEST(FieldSplitter, CountsFieldsBeyondCapacity) {
  FieldSplitter splitter;
  std::string_view f[2];
  EXPECT_EQ(splitter.Split("a,b,c,d", f, 2), 4);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b");
}

TEST(LineReader, StripsLfAndCrLf) {
  EXPECT_THAT(Lines("a\nb\r\nc"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Lines("a\r\nb\r\n"), ElementsAre("a", "b"));
  EXPECT_THAT(Lines("a\n\nb\n"), ElementsAre("a", "", "b"));
  EXPECT_THAT(Lines(""), ElementsAre());
}

TEST(LineReader, NextRowPassesOverEmptyLinesButNumbersThem) {
  LineReader lines("a\n\n\r\nb\n\n");
  std::string_view line;
  int64_t line_no = 1;  // the header
  std::vector<std::pair<std::string, int64_t>> rows;
  while (lines.NextRow(&line, &line_no)) rows.emplace_back(line, line_no);
  EXPECT_THAT(rows, ElementsAre(std::pair<std::string, int64_t>("a", 2),
                                std::pair<std::string, int64_t>("b", 5)));
  EXPECT_EQ(line_no, 6);  // the trailing empty line is read too
}

TEST(ConsumeHeader, AcceptsBomAndCrLf) {
  std::string_view text = "\xEF\xBB\xBFid,name\r\n1,x\r\n";
  ASSERT_TRUE(ConsumeHeader("f.csv", "id,name", &text).ok());
  EXPECT_EQ(text, "1,x\r\n");
}

TEST(ConsumeHeader, WrongHeaderNamesFileLineExpectedAndFound) {
  std::string_view text = "id,nam\n1,x\n";
  const absl::Status s = ConsumeHeader("f.csv", "id,name", &text);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "f.csv:1: expected header 'id,name', found 'id,nam'");
  std::string_view empty = "";
  EXPECT_THAT(ConsumeHeader("f.csv", "id", &empty).message(),
              HasSubstr("f.csv:1: expected header 'id', found an empty file"));
}

// The message quotes what it found as UTF-8, so that it can be stored and
// served: a Latin-1 export's bytes are escaped, and a long header is cut
// between characters.
TEST(ConsumeHeader, QuotesAHeaderThatIsNotUtf8AsEscapes) {
  std::string_view latin1 = "id,pr\xE9nom\n1,x\n";
  EXPECT_EQ(ConsumeHeader("f.csv", "id,name", &latin1).message(),
            "f.csv:1: expected header 'id,name', found 'id,pr\\xE9nom'");
  // 199 ASCII bytes, then 'é' across bytes 200 and 201.
  const std::string long_header = std::string(199, 'a') + "\xC3\xA9" + "zz\n";
  std::string_view text = long_header;
  EXPECT_EQ(ConsumeHeader("f.csv", "id", &text).message(),
            "f.csv:1: expected header 'id', found '" + std::string(199, 'a') +
                "...'");
}

TEST(SplitAtLines, PiecesEndAtLineEndsAndCoverTheText) {
  const std::string text = "aaaa\nbb\ncccccc\nd\neeeeeeeeee\nff";
  for (int n = 1; n <= 8; ++n) {
    const std::vector<std::string_view> pieces = SplitAtLines(text, n);
    ASSERT_EQ(pieces.size(), static_cast<size_t>(n));
    std::string joined;
    for (size_t i = 0; i < pieces.size(); ++i) {
      joined.append(pieces[i]);
      if (i + 1 < pieces.size() && !pieces[i].empty()) {
        EXPECT_EQ(pieces[i].back(), '\n') << "n=" << n << " piece " << i;
      }
    }
    EXPECT_EQ(joined, text);
  }
  // Equal lines fall into equal pieces.
  EXPECT_THAT(SplitAtLines("ab\ncd\nef\n", 3),
              ElementsAre("ab\n", "cd\n", "ef\n"));
}

TEST(RowLog, MergeShiftsLinesAndKeepsTheFirstFive) {
  RowLog a;
  for (int i = 0; i < 3; ++i) {
    a.CountRow();
    a.AddReject(Reject::kBadId, 10 + i);
  }
  RowLog b;
  for (int i = 0; i < 4; ++i) {
    b.CountRow();
    b.AddReject(Reject::kBadId, 1 + i);
  }
  b.CountRow();
  b.AddReject(Reject::kWrongFieldCount, 5);
  b.AddRepair(Repair::kJoinedProductName, 3);
  a.Merge(b, 100);
  FileReport report;
  a.ToReport(&report);
  EXPECT_EQ(report.rows_read, 8);
  EXPECT_EQ(report.rows_rejected, 8);
  EXPECT_EQ(report.rows_repaired, 1);
  ASSERT_EQ(report.rejects.size(), 2u);
  EXPECT_EQ(report.rejects[0].reason, "bad_id");
  EXPECT_EQ(report.rejects[0].count, 7);
  EXPECT_THAT(report.rejects[0].first_lines, ElementsAre(10, 11, 12, 101, 102));
  EXPECT_EQ(report.rejects[1].reason, "wrong_field_count");
  EXPECT_THAT(report.rejects[1].first_lines, ElementsAre(105));
  ASSERT_EQ(report.repairs.size(), 1u);
  EXPECT_EQ(report.repairs[0].reason, "joined_product_name");
  EXPECT_THAT(report.repairs[0].first_lines, ElementsAre(103));
}

TEST(RejectNames, AreTheReportSpellings) {
  EXPECT_EQ(RejectName(Reject::kWrongFieldCount), "wrong_field_count");
  EXPECT_EQ(RejectName(Reject::kBadTimestamp), "bad_timestamp");
  EXPECT_EQ(RejectName(Reject::kBadDate), "bad_date");
  EXPECT_EQ(RejectName(Reject::kBadId), "bad_id");
  EXPECT_EQ(RejectName(Reject::kBadMetadata), "bad_metadata");
  EXPECT_EQ(RejectName(Reject::kBadValue), "bad_value");
  EXPECT_EQ(RejectName(Reject::kDuplicateId), "duplicate_id");
}

TEST(ParseNumbers, AreStrict) {
  int64_t v;
  EXPECT_TRUE(ParseInt64("-42", &v));
  EXPECT_EQ(v, -42);
  EXPECT_FALSE(ParseInt64("", &v));
  EXPECT_FALSE(ParseInt64(" 1", &v));
  EXPECT_FALSE(ParseInt64("1.0", &v));
  EXPECT_FALSE(ParseInt64("12a", &v));
  EXPECT_FALSE(ParseInt64("99999999999999999999", &v));
  double d;
  EXPECT_TRUE(ParseDouble("-6.2088", &d));
  EXPECT_DOUBLE_EQ(d, -6.2088);
  EXPECT_FALSE(ParseDouble("1,5", &d));
}

}  // namespace
}  // namespace winback::ingest_internal
