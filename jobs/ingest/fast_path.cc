#include "jobs/ingest/fast_path.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace winback::ingest_internal {
namespace {

// Stores the offsets of the first `want` commas of `line` in `at` and
// returns how many it found (fewer when the line has fewer).
int FindCommas(std::string_view line, int want, size_t* at) {
  const char* const data = line.data();
  const size_t size = line.size();
  int found = 0;
  size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time: one compare and a bit mask of the commas.
  const __m128i comma = _mm_set1_epi8(',');
  for (; i + 16 <= size && found < want; i += 16) {
    const __m128i block =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    uint32_t mask = static_cast<uint32_t>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(block, comma)));
    while (mask != 0 && found < want) {
      at[found++] = i + static_cast<size_t>(__builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
#endif
  for (; i < size && found < want; ++i) {
    if (data[i] == ',') at[found++] = i;
  }
  return found;
}

// A cursor that matches the fixed parts of a canonical literal.
class Cursor {
 public:
  explicit Cursor(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool Text(std::string_view s) {
    if (static_cast<size_t>(end_ - p_) < s.size() ||
        std::memcmp(p_, s.data(), s.size()) != 0) {
      return false;
    }
    p_ += s.size();
    return true;
  }

  // -?(0|[1-9][0-9]{0,17}): always an int64, as the Literal parser reads it.
  bool Int(int64_t* value = nullptr) {
    const bool negative = p_ != end_ && *p_ == '-';
    if (negative) ++p_;
    const char* const digits = p_;
    uint64_t v = 0;  // wraps past 19 digits, which are turned away anyway
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      v = v * 10 + static_cast<uint64_t>(*p_++ - '0');
    }
    const ptrdiff_t n = p_ - digits;
    if (n < 1 || n > 18 || (n > 1 && *digits == '0')) return false;
    if (value != nullptr) {
      *value = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    }
    return true;
  }

  // '...' holding none of ' \ " or a line break: a string the Literal
  // parser takes as is, and one FieldSplitter had nothing to unescape in.
  bool String() {
    if (p_ == end_ || *p_ != '\'') return false;
    for (++p_; p_ != end_; ++p_) {
      const char c = *p_;
      if (c == '\'') {
        ++p_;
        return true;
      }
      if (c == '\\' || c == '"' || c == '\n' || c == '\r') return false;
    }
    return false;
  }

  bool AtEnd() const { return p_ == end_; }

 private:
  const char* p_;
  const char* const end_;
};

#if defined(__SSE2__)
// 0xFF in bytes [first, last] of a vector, 0 elsewhere.
__m128i ByteMask(int first, int last) {
  const __m128i index =
      _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm_and_si128(
      _mm_cmpgt_epi8(index, _mm_set1_epi8(static_cast<char>(first - 1))),
      _mm_cmplt_epi8(index, _mm_set1_epi8(static_cast<char>(last + 1))));
}
#endif

}  // namespace

bool SplitPlainClickRow(std::string_view line, std::string_view* fields) {
  size_t comma[kClickFields - 1];
  if (FindCommas(line, kClickFields - 1, comma) != kClickFields - 1) {
    return false;
  }
  size_t begin = 0;
  for (int f = 0; f < kClickFields - 1; ++f) {
    // FieldSplitter unquotes a field that starts with a quote; these stay
    // with it.
    if (comma[f] > begin && line[begin] == '"') return false;
    fields[f] = line.substr(begin, comma[f] - begin);
    begin = comma[f] + 1;
  }
  const std::string_view rest = line.substr(begin);
  if (rest.empty()) {
    fields[kClickFields - 1] = rest;
    return true;
  }
  // One quoted field to the end of the line. A quote inside (a doubled one,
  // or one that closes early) is caught by CanonicalClickMetadata.
  if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"') {
    return false;
  }
  fields[kClickFields - 1] = rest.substr(1, rest.size() - 2);
  return true;
}

bool CanonicalClickMetadata(EventType type, std::string_view text) {
  Cursor c(text);
  switch (type) {
    case EventType::kAddToCart:
      return c.Text("{'product_id': ") && c.Int() &&
             c.Text(", 'quantity': ") && c.Int() &&
             c.Text(", 'item_price': ") && c.Int() && c.Text("}") &&
             c.AtEnd();
    case EventType::kBooking:
      return c.Text("{'payment_status': ") && c.String() && c.Text("}") &&
             c.AtEnd();
    case EventType::kSearch:
      return c.Text("{'search_keywords': ") && c.String() && c.Text("}") &&
             c.AtEnd();
    case EventType::kAddPromo:
      return c.Text("{'promo_code': ") && c.String() &&
             c.Text(", 'promo_amount': ") && c.Int() && c.Text("}") &&
             c.AtEnd();
    default:
      return text.empty();
  }
}

bool CanonicalProductLines(std::string_view text,
                           std::vector<ProductLine>* lines) {
  lines->clear();
  Cursor c(text);
  if (!c.Text("[")) return false;
  if (c.Text("]")) return c.AtEnd();
  while (true) {
    ProductLine line;
    if (!(c.Text("{'product_id': ") && c.Int(&line.product_id) &&
          c.Text(", 'quantity': ") && c.Int(&line.quantity) &&
          c.Text(", 'item_price': ") && c.Int(&line.item_price) &&
          c.Text("}"))) {
      return false;
    }
    lines->push_back(line);
    if (c.Text("]")) return c.AtEnd();
    if (!c.Text(", ")) return false;
  }
}

std::optional<Uuid> FastUuid(std::string_view s, bool* lowercase) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' ||
      s[23] != '-') {
    return std::nullopt;
  }
#if defined(__SSE2__)
  // The 32 digits without the dashes, as two vectors put together from
  // overlapping loads of the text (copying the digits together first would
  // make the loads wait on the copies' stores).
  auto load = [&s](size_t at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
  };
  const __m128i head = load(0);
  const __m128i digits[2] = {
      // Digits 0-15: text 0-7, 9-12 and 14-17.
      _mm_or_si128(
          _mm_or_si128(_mm_and_si128(head, ByteMask(0, 7)),
                       _mm_and_si128(_mm_srli_si128(head, 1), ByteMask(8, 11))),
          _mm_and_si128(load(2), ByteMask(12, 15))),
      // Digits 16-31: text 19-22 and 24-35.
      _mm_or_si128(_mm_and_si128(load(19), ByteMask(0, 3)),
                   _mm_and_si128(load(20), ByteMask(4, 15)))};
  // A digit's value is its low nibble, plus 9 for a letter (a-f and A-F
  // have nibbles 1-6); pairs of values are packed into bytes through 16-bit
  // lanes.
  uint8_t bytes[16];
  bool upper = false;
  for (int half = 0; half < 2; ++half) {
    const __m128i v = digits[half];
    const __m128i digit =
        _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i letter =
        _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)),
                      _mm_cmplt_epi8(folded, _mm_set1_epi8('f' + 1)));
    if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xFFFF) {
      return std::nullopt;
    }
    // A letter without the 0x20 bit is uppercase.
    upper |= _mm_movemask_epi8(_mm_andnot_si128(
                 _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8(0x20)),
                                _mm_set1_epi8(0x20)),
                 letter)) != 0;
    const __m128i value =
        _mm_add_epi8(_mm_and_si128(v, _mm_set1_epi8(0x0F)),
                     _mm_and_si128(letter, _mm_set1_epi8(9)));
    // Lane = first digit | second digit << 8; byte = first << 4 | second.
    const __m128i packed = _mm_and_si128(
        _mm_or_si128(_mm_slli_epi16(value, 4), _mm_srli_epi16(value, 8)),
        _mm_set1_epi16(0x00FF));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(bytes + 8 * half),
                     _mm_packus_epi16(packed, packed));
  }
  uint64_t hi, lo;
  std::memcpy(&hi, bytes, 8);
  std::memcpy(&lo, bytes + 8, 8);
  if (lowercase != nullptr) *lowercase = !upper;
  return Uuid{__builtin_bswap64(hi), __builtin_bswap64(lo)};
#else
  const std::optional<Uuid> u = ParseUuid(s);
  if (u.has_value() && lowercase != nullptr) {
    *lowercase = s.find_first_of("ABCDEF") == std::string_view::npos;
  }
  return u;
#endif
}

std::optional<Micros> FastTimestamp(std::string_view s) {
#if defined(__SSE2__)
  if (s.size() != 27) return ParseTimestamp(s);
  auto load = [&s](size_t at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
  };
  // Text 0-15 ("YYYY-MM-DDTHH:MM") and 11-26 ("HH:MM:SS.ffffffZ"), and the
  // separators each must hold (0 where a digit belongs).
  const __m128i text[2] = {load(0), load(11)};
  const __m128i separators[2] = {
      _mm_setr_epi8(0, 0, 0, 0, '-', 0, 0, '-', 0, 0, 'T', 0, 0, ':', 0, 0),
      _mm_setr_epi8(0, 0, ':', 0, 0, ':', 0, 0, '.', 0, 0, 0, 0, 0, 0, 'Z')};
  uint8_t pair[2][16];
  for (int half = 0; half < 2; ++half) {
    const __m128i digit = _mm_sub_epi8(text[half], _mm_set1_epi8('0'));
    const __m128i is_digit =
        _mm_cmpeq_epi8(_mm_max_epu8(digit, _mm_set1_epi8(9)), _mm_set1_epi8(9));
    const __m128i digit_slot =
        _mm_cmpeq_epi8(separators[half], _mm_setzero_si128());
    const __m128i ok = _mm_or_si128(
        _mm_and_si128(digit_slot, is_digit),
        _mm_andnot_si128(digit_slot,
                         _mm_cmpeq_epi8(text[half], separators[half])));
    if (_mm_movemask_epi8(ok) != 0xFFFF) return ParseTimestamp(s);
    // Byte k: 10 * digit k + digit k+1, with the separators as 0. Every
    // byte stays below 100, so the 16-bit shifts carry nothing across.
    const __m128i value = _mm_and_si128(digit, digit_slot);
    const __m128i tens =
        _mm_add_epi8(_mm_slli_epi16(value, 3), _mm_slli_epi16(value, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(pair[half]),
                     _mm_add_epi8(tens, _mm_srli_si128(value, 1)));
  }
  const int32_t y = pair[0][0] * 100 + pair[0][2];
  const uint32_t mo = pair[0][5], day = pair[0][8];
  const int64_t hh = pair[0][11], mi = pair[0][14], ss = pair[1][6];
  const int64_t us = pair[1][9] * 10000 + pair[1][11] * 100 + pair[1][13];
  if (mo < 1 || mo > 12 || day < 1 ||
      static_cast<int>(day) > DaysInMonth(y, mo) || hh > 23 || mi > 59 ||
      ss > 59) {
    return ParseTimestamp(s);  // errors: the careful way, with its answer
  }
  // From 1970 to 2099 every fourth year is a leap year.
  static constexpr uint16_t kDaysBefore[12] = {0,   31,  59,  90,  120, 151,
                                               181, 212, 243, 273, 304, 334};
  const int32_t days = y >= 1970 && y < 2100
                           ? (y - 1970) * 365 + (y - 1969) / 4 +
                                 kDaysBefore[mo - 1] + (mo > 2 && IsLeap(y)) +
                                 static_cast<int32_t>(day) - 1
                           : DaysFromCivil(y, mo, day);
  return static_cast<Micros>(days) * kMicrosPerDay + hh * kMicrosPerHour +
         mi * kMicrosPerMinute + ss * kMicrosPerSecond + us;
#else
  return ParseTimestamp(s);
#endif
}

}  // namespace winback::ingest_internal
