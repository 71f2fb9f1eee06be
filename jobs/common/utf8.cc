#include "jobs/common/utf8.h"

#include "absl/strings/str_format.h"

namespace winback {
namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 when the bytes
// there are not one (a stray continuation byte, an overlong form, a
// surrogate, a code point above U+10FFFF, or a sequence cut short).
size_t SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = SequenceLength(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string EscapeInvalidUtf8(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = SequenceLength(text, i);
    const size_t taken = length == 0 ? 1 : length;
    if (i + taken > max_bytes) break;
    if (length == 0) {
      out += absl::StrFormat("\\x%02X", static_cast<unsigned char>(text[i]));
    } else {
      out.append(text.substr(i, length));
    }
    i += taken;
  }
  if (i < text.size()) out += "...";
  return out;
}

}  // namespace winback
