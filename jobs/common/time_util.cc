#include "jobs/common/time_util.h"

#include <cstdio>
#include <limits>
#include <vector>

namespace winback {
namespace {

// Reads exactly `n` ASCII digits at `p`; false when any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Parses YYYY-MM-DD at the start of `s` into days; false when malformed.
bool ParseDatePrefix(std::string_view s, int32_t* days) {
  int64_t y, m, d;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' ||
      !Digits(s, 5, 2, &m) || s[7] != '-' || !Digits(s, 8, 2, &d)) {
    return false;
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return false;
  *days = DaysFromCivil(static_cast<int32_t>(y), static_cast<uint32_t>(m),
                        static_cast<uint32_t>(d));
  return true;
}

}  // namespace

// Howard Hinnant's days_from_civil.
int32_t DaysFromCivil(int32_t y, uint32_t m, uint32_t d) {
  y -= m <= 2;
  const int32_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = static_cast<uint32_t>(y - era * 400);
  const uint32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int32_t>(doe) - 719468;
}

void CivilFromDays(int32_t z, int32_t* y, uint32_t* m, uint32_t* d) {
  z += 719468;
  const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint32_t doe = static_cast<uint32_t>(z - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int32_t>(yoe) + era * 400 + (*m <= 2);
}

std::optional<Micros> ParseTimestamp(std::string_view s) {
  int32_t days;
  if (!ParseDatePrefix(s, &days)) return std::nullopt;
  if (s.size() < 19 || (s[10] != 'T' && s[10] != ' ')) return std::nullopt;
  int64_t hh, mm, ss;
  if (!Digits(s, 11, 2, &hh) || s[13] != ':' || !Digits(s, 14, 2, &mm) ||
      s[16] != ':' || !Digits(s, 17, 2, &ss)) {
    return std::nullopt;
  }
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (size_t i = n; i < 6; ++i) frac *= 10;
  }
  const std::string_view zone = s.substr(pos);
  if (!(zone.empty() || zone == "Z" || zone == "+00:00")) return std::nullopt;
  return static_cast<Micros>(days) * kMicrosPerDay + hh * kMicrosPerHour +
         mm * kMicrosPerMinute + ss * kMicrosPerSecond + frac;
}

std::optional<int32_t> ParseDate(std::string_view s) {
  int32_t days;
  if (s.size() != 10 || !ParseDatePrefix(s, &days)) return std::nullopt;
  return days;
}

namespace {
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
}  // namespace

std::string FormatTimestamp(Micros t) {
  const int64_t days = FloorDiv(t, kMicrosPerDay);
  int64_t rem = t - days * kMicrosPerDay;
  int32_t y;
  uint32_t m, d;
  CivilFromDays(static_cast<int32_t>(days), &y, &m, &d);
  const int64_t hh = rem / kMicrosPerHour;
  rem %= kMicrosPerHour;
  const int64_t mi = rem / kMicrosPerMinute;
  rem %= kMicrosPerMinute;
  const int64_t ss = rem / kMicrosPerSecond;
  const int64_t us = rem % kMicrosPerSecond;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                y, m, d, static_cast<long long>(hh), static_cast<long long>(mi),
                static_cast<long long>(ss), static_cast<long long>(us));
  return buf;
}

std::string FormatDate(int32_t days) {
  int32_t y;
  uint32_t m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", y, m, d);
  return buf;
}

namespace {

MonthIndex MonthOfDay(int32_t days) {
  int32_t y;
  uint32_t m, d;
  CivilFromDays(days, &y, &m, &d);
  return y * 12 + static_cast<int32_t>(m) - 1;
}

// Days 1970-01-01 .. 2099-12-31 map to their month by table: MonthOf runs
// once per event or session in several stages, and a lookup beats the
// divisions of CivilFromDays.
constexpr int32_t kTableDays = 47482;

const std::vector<MonthIndex>& MonthTable() {
  static const std::vector<MonthIndex> table = [] {
    std::vector<MonthIndex> t(kTableDays);
    for (int32_t day = 0; day < kTableDays; ++day) t[day] = MonthOfDay(day);
    return t;
  }();
  return table;
}

}  // namespace

MonthIndex MonthOf(Micros t) {
  const int64_t days = FloorDiv(t, kMicrosPerDay);
  if (days >= 0 && days < kTableDays) return MonthTable()[days];
  return MonthOfDay(static_cast<int32_t>(days));
}

Micros MonthStart(MonthIndex mi) {
  const int32_t y = static_cast<int32_t>(FloorDiv(mi, 12));
  const uint32_t m = static_cast<uint32_t>(mi - y * 12) + 1;
  return static_cast<Micros>(DaysFromCivil(y, m, 1)) * kMicrosPerDay;
}

std::string FormatMonth(MonthIndex mi) {
  const int32_t y = static_cast<int32_t>(FloorDiv(mi, 12));
  const int32_t m = mi - y * 12 + 1;
  char buf[24];  // room for any int32 year
  std::snprintf(buf, sizeof(buf), "%04d-%02d", y, m);
  return buf;
}

std::optional<MonthIndex> ParseMonth(std::string_view s) {
  int64_t y, m;
  if (s.size() != 7 || !Digits(s, 0, 4, &y) || s[4] != '-' ||
      !Digits(s, 5, 2, &m) || m < 1 || m > 12) {
    return std::nullopt;
  }
  return static_cast<MonthIndex>(y * 12 + m - 1);
}

std::optional<Micros> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // Counts and sums past kMax stay at kMax (see the header): the caller's
  // upper bound then rejects them, where plain arithmetic would overflow.
  constexpr Micros kMax = std::numeric_limits<Micros>::max();
  Micros total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    Micros v = 0;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      const int digit = s[pos] - '0';
      v = v > (kMax - digit) / 10 ? kMax : v * 10 + digit;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    size_t unit_start = pos;
    while (pos < s.size() && (s[pos] < '0' || s[pos] > '9')) ++pos;
    const std::string_view unit = s.substr(unit_start, pos - unit_start);
    Micros scale;
    if (unit == "us") scale = 1;
    else if (unit == "ms") scale = 1000;
    else if (unit == "s") scale = kMicrosPerSecond;
    else if (unit == "m") scale = kMicrosPerMinute;
    else if (unit == "h") scale = kMicrosPerHour;
    else if (unit == "d") scale = kMicrosPerDay;
    else return std::nullopt;
    total = v > (kMax - total) / scale ? kMax : total + v * scale;
  }
  return total;
}

std::string FormatDuration(Micros d) {
  if (d == 0) return "0s";
  struct Unit {
    Micros scale;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{kMicrosPerDay, "d"},  {kMicrosPerHour, "h"},
                                    {kMicrosPerMinute, "m"}, {kMicrosPerSecond, "s"},
                                    {1000, "ms"},            {1, "us"}};
  std::string out;
  for (const Unit& u : kUnits) {
    if (d >= u.scale) {
      out += std::to_string(d / u.scale) + u.name;
      d %= u.scale;
    }
  }
  return out;
}

}  // namespace winback
