#include "jobs/common/utf8.h"

#include <iconv.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace winback {
namespace {

TEST(EscapeInvalidUtf8, KeepsValidTextAndEscapesEachBadByte) {
  EXPECT_EQ(EscapeInvalidUtf8("customer_id,first_name"),
            "customer_id,first_name");
  // Two-, three- and four-byte characters are kept.
  EXPECT_EQ(EscapeInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  // Latin-1 'é' alone, a stray continuation byte, bytes never used.
  EXPECT_EQ(EscapeInvalidUtf8("caf\xE9"), "caf\\xE9");
  EXPECT_EQ(EscapeInvalidUtf8("a\x80z"), "a\\x80z");
  EXPECT_EQ(EscapeInvalidUtf8("\xFE\xFF"), "\\xFE\\xFF");
  // Overlong forms, a surrogate, above U+10FFFF: each byte escaped.
  EXPECT_EQ(EscapeInvalidUtf8("\xC0\xAF"), "\\xC0\\xAF");
  EXPECT_EQ(EscapeInvalidUtf8("\xE0\x80\xAF"), "\\xE0\\x80\\xAF");
  EXPECT_EQ(EscapeInvalidUtf8("\xED\xA0\x80"), "\\xED\\xA0\\x80");
  EXPECT_EQ(EscapeInvalidUtf8("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");
  // A sequence cut short by the end of the text, then one by an ASCII byte.
  EXPECT_EQ(EscapeInvalidUtf8("\xE2\x82"), "\\xE2\\x82");
  EXPECT_EQ(EscapeInvalidUtf8("\xE2\x82x"), "\\xE2\\x82x");
}

TEST(FirstInvalidUtf8, IsTheOffsetOfTheFirstBadByte) {
  EXPECT_EQ(FirstInvalidUtf8(""), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xC3\xA9"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xE9"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("\xC3\xA9\xE2\x82"), 2u);
}

TEST(EscapeInvalidUtf8, CutsAtACharacterBoundary) {
  EXPECT_EQ(EscapeInvalidUtf8("abcdef", 4), "abcd...");
  EXPECT_EQ(EscapeInvalidUtf8("abcd", 4), "abcd");
  // 'é' takes bytes 4 and 5: a cut after 4 bytes leaves it out whole.
  EXPECT_EQ(EscapeInvalidUtf8("abc\xC3\xA9z", 4), "abc...");
  EXPECT_EQ(EscapeInvalidUtf8("abc\xC3\xA9z", 5), "abc\xC3\xA9...");
  // An escaped byte counts as the one byte it was.
  EXPECT_EQ(EscapeInvalidUtf8("\xE9\xE9\xE9", 2), "\\xE9\\xE9...");
}

// glibc's own decoder, as an independent judge of valid UTF-8.
bool IconvAcceptsUtf8(const std::string& text) {
  iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string in = text;
  std::vector<char> out(text.size() * 4 + 4);
  char* inp = in.data();
  char* outp = out.data();
  size_t in_left = in.size(), out_left = out.size();
  const size_t rc = iconv(cd, &inp, &in_left, &outp, &out_left);
  iconv_close(cd);
  return rc != static_cast<size_t>(-1) && in_left == 0;
}

// Undoes the escapes (the inputs hold no backslash).
std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

TEST(EscapeInvalidUtf8, RandomBytesComeOutValidAndLoseNothing) {
  std::mt19937 rng(20261207);
  // Bytes weighted toward the interesting ones: ASCII, continuation bytes,
  // lead bytes.
  const std::vector<unsigned char> pool = {
      'a', 'Z', ',', ' ', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2,
      0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text(rng() % 12, ' ');
    for (char& c : text) c = static_cast<char>(pool[rng() % pool.size()]);
    const std::string out = EscapeInvalidUtf8(text);
    ASSERT_TRUE(IconvAcceptsUtf8(out)) << "input bytes: " << out;
    ASSERT_EQ(Unescape(out), text);
    // Valid input, by glibc's judgement, is left as it is, and only it is
    // found valid.
    const bool valid = IconvAcceptsUtf8(text);
    if (valid) {
      ASSERT_EQ(out, text);
    }
    ASSERT_EQ(FirstInvalidUtf8(text) == std::string_view::npos, valid) << out;
    if (!valid) {
      // Everything before the first bad byte is kept as it was.
      const size_t bad = FirstInvalidUtf8(text);
      ASSERT_EQ(out.substr(0, bad), text.substr(0, bad));
      ASSERT_EQ(out.substr(bad, 2), "\\x");
    }
  }
}

}  // namespace
}  // namespace winback
