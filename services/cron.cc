#include "services/cron.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace winback {
namespace {

constexpr int kSearchDays = 8 * 366;

// Parses one field into `bits` over [lo, hi]. Sets *any when the field is
// exactly "*".
absl::Status ParseField(std::string_view text, int lo, int hi,
                        std::string_view what, std::vector<bool>* bits,
                        bool* any) {
  const auto error = [&](std::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("schedule.cron: ", std::string(what), " field '",
                     std::string(text), "': ", std::string(problem)));
  };
  bits->assign(hi + 1, false);
  *any = text == "*";
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    if (item.empty()) return error("empty list item");
    int step = 1;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      if (!absl::SimpleAtoi(item.substr(slash + 1), &step) || step <= 0) {
        return error("step must be a positive number");
      }
      item = item.substr(0, slash);
    }
    int from = lo, to = hi;
    if (item != "*") {
      const size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!absl::SimpleAtoi(item, &from)) return error("not a number");
        to = from;
      } else if (!absl::SimpleAtoi(item.substr(0, dash), &from) ||
                 !absl::SimpleAtoi(item.substr(dash + 1), &to)) {
        return error("bad range");
      }
      if (from < lo || to > hi || from > to) {
        const std::string range = absl::StrCat("values must lie in ", lo, "-", hi);
        return error(range);
      }
      if (dash == std::string_view::npos && step != 1) to = hi;  // "5/15"
    }
    for (int v = from; v <= to; v += step) (*bits)[v] = true;
  }
  return absl::OkStatus();
}

template <size_t N>
void Copy(const std::vector<bool>& from, std::bitset<N>* to) {
  for (size_t i = 0; i < N && i < from.size(); ++i) (*to)[i] = from[i];
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(std::string_view expr,
                                                 std::string_view zone_name) {
  CronSchedule s;
  s.expr_ = std::string(expr);
  if (!absl::LoadTimeZone(std::string(zone_name), &s.zone_) ||
      zone_name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule.time_zone: unknown time zone '", std::string(zone_name),
        "' (expected an IANA name such as Asia/Jakarta; is tzdata installed?)"));
  }
  std::vector<std::string> f =
      absl::StrSplit(absl::string_view(expr.data(), expr.size()),
                     absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (f.size() != 5 && f.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule.cron: expected 5 fields (minute hour day-of-month month "
        "day-of-week) or 6 with leading seconds, got ",
        f.size(), " in '", s.expr_, "'"));
  }
  std::vector<bool> bits;
  bool any = false;
  size_t i = 0;
  if (f.size() == 6) {
    if (auto st = ParseField(f[i++], 0, 59, "second", &bits, &any); !st.ok())
      return st;
    Copy(bits, &s.seconds_);
  } else {
    s.seconds_[0] = true;
  }
  if (auto st = ParseField(f[i++], 0, 59, "minute", &bits, &any); !st.ok())
    return st;
  Copy(bits, &s.minutes_);
  if (auto st = ParseField(f[i++], 0, 23, "hour", &bits, &any); !st.ok())
    return st;
  Copy(bits, &s.hours_);
  if (auto st = ParseField(f[i++], 1, 31, "day-of-month", &bits, &any);
      !st.ok())
    return st;
  Copy(bits, &s.days_);
  s.dom_any_ = any;
  if (auto st = ParseField(f[i++], 1, 12, "month", &bits, &any); !st.ok())
    return st;
  Copy(bits, &s.months_);
  if (auto st = ParseField(f[i++], 0, 7, "day-of-week", &bits, &any); !st.ok())
    return st;
  for (int d = 0; d <= 7; ++d) {
    if (bits[d]) s.weekdays_[d % 7] = true;
  }
  s.dow_any_ = any;
  return s;
}

bool CronSchedule::DayMatches(const absl::CivilDay& day) const {
  if (!months_[day.month()]) return false;
  const bool dom = days_[day.day()];
  // absl::Weekday: Monday = 0 ... Sunday = 6; cron: Sunday = 0.
  const int wd = (static_cast<int>(absl::GetWeekday(day)) + 1) % 7;
  const bool dow = weekdays_[wd];
  if (dom_any_ && dow_any_) return true;
  if (dom_any_) return dow;
  if (dow_any_) return dom;
  return dom || dow;
}

absl::Time CronSchedule::Resolve(const absl::CivilSecond& cs) const {
  const absl::TimeZone::TimeInfo info = zone_.At(cs);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;
    case absl::TimeZone::TimeInfo::REPEATED:
    case absl::TimeZone::TimeInfo::UNIQUE:
    default:
      return info.pre;
  }
}

std::optional<absl::Time> CronSchedule::Next(absl::Time t) const {
  const absl::CivilSecond now = absl::ToCivilSecond(t, zone_);
  // One hour of slack before civil(t): a repeated hour can put a candidate's
  // instant after t although its civil time is before civil(t).
  const absl::CivilSecond floor = now - 3600;
  absl::CivilDay day(floor);
  for (int n = 0; n < kSearchDays; ++n, ++day) {
    if (!DayMatches(day)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_[h]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[m]) continue;
        for (int s = 0; s < 60; ++s) {
          if (!seconds_[s]) continue;
          const absl::CivilSecond cs(day.year(), day.month(), day.day(), h, m,
                                     s);
          if (cs < floor) continue;
          const absl::Time at = Resolve(cs);
          if (at > t) return at;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<absl::Time> CronSchedule::Previous(absl::Time t) const {
  const absl::CivilSecond now = absl::ToCivilSecond(t, zone_);
  const absl::CivilSecond ceiling = now + 3600;
  absl::CivilDay day(ceiling);
  for (int n = 0; n < kSearchDays; ++n, --day) {
    if (!DayMatches(day)) continue;
    for (int h = 23; h >= 0; --h) {
      if (!hours_[h]) continue;
      for (int m = 59; m >= 0; --m) {
        if (!minutes_[m]) continue;
        for (int s = 59; s >= 0; --s) {
          if (!seconds_[s]) continue;
          const absl::CivilSecond cs(day.year(), day.month(), day.day(), h, m,
                                     s);
          if (cs > ceiling) continue;
          const absl::Time at = Resolve(cs);
          if (at <= t) return at;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace winback
