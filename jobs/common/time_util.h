// Calendar and timestamp helpers. All times in Winback are UTC microseconds
// since the Unix epoch (`Micros`); dates are days since the epoch; months are
// `MonthIndex` values (year * 12 + month - 1), so consecutive months differ by
// one across year ends.
#ifndef WINBACK_JOBS_COMMON_TIME_UTIL_H_
#define WINBACK_JOBS_COMMON_TIME_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace winback {

using Micros = int64_t;
using MonthIndex = int32_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

// Whether y is a leap year of the proleptic Gregorian calendar.
inline bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// Days in month m (1..12) of year y.
inline int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m in 1..12).
int32_t DaysFromCivil(int32_t y, uint32_t m, uint32_t d);

// Inverse of DaysFromCivil.
void CivilFromDays(int32_t days, int32_t* y, uint32_t* m, uint32_t* d);

// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff][Z]` (a space may replace the `T`,
// `+00:00` may replace `Z`; 0 to 9 fraction digits, truncated to
// microseconds). Returns nullopt for anything else, including out-of-range
// fields such as month 13 or second 61.
std::optional<Micros> ParseTimestamp(std::string_view text);

// Parses `YYYY-MM-DD` into days since the epoch; nullopt when malformed.
std::optional<int32_t> ParseDate(std::string_view text);

// Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
std::string FormatTimestamp(Micros t);

// Formats days since the epoch as `YYYY-MM-DD`.
std::string FormatDate(int32_t days);

// The calendar month (UTC) that contains `t`.
MonthIndex MonthOf(Micros t);

// First instant of month `m`.
Micros MonthStart(MonthIndex m);

// `YYYY-MM`.
std::string FormatMonth(MonthIndex m);

// Parses `YYYY-MM`; nullopt when malformed.
std::optional<MonthIndex> ParseMonth(std::string_view text);

// Parses a duration such as `30m`, `25d`, `90s`, `1h30m`, `1500ms`, `250us`.
// Returns nullopt when malformed or negative. A duration longer than Micros
// holds (about 292,000 years) comes back as the largest Micros, so a caller's
// upper bound rejects it by value.
std::optional<Micros> ParseDuration(std::string_view text);

// Formats a duration in the largest exact units, e.g. `30m`, `25d`, `1h30m`.
std::string FormatDuration(Micros d);

}  // namespace winback

#endif  // WINBACK_JOBS_COMMON_TIME_UTIL_H_
