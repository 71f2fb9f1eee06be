// Cron expressions evaluated in an IANA time zone.
//
// Five fields, "minute hour day-of-month month day-of-week", or six with a
// leading seconds field ("second minute hour dom month dow", as in Quartz),
// which short test schedules use (`*/2 * * * * *`). Each field takes `*`,
// numbers, lists `1,2`, ranges `1-5` and steps `*/15` or `10-50/20`.
// Day-of-week is 0-7 with 0 and 7 Sunday. As in Vixie cron, when both
// day-of-month and day-of-week are restricted (neither is `*`), a day matches
// if either matches.
//
// Daylight saving: a local time that does not exist (skipped by a
// spring-forward transition) fires at the transition instant; a local time
// that occurs twice (fall back) fires once, at its first occurrence.
#ifndef WINBACK_SERVICES_CRON_H_
#define WINBACK_SERVICES_CRON_H_

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace winback {

class CronSchedule {
 public:
  // Parses `expr` for time zone `zone_name` (e.g. "Asia/Jakarta", loaded from
  // /usr/share/zoneinfo). InvalidArgument naming `schedule.cron` or
  // `schedule.time_zone` and the problem.
  static absl::StatusOr<CronSchedule> Parse(std::string_view expr,
                                            std::string_view zone_name);

  // The first fire time strictly after `t`; nullopt when none within eight
  // years (e.g. "0 0 30 2 *").
  std::optional<absl::Time> Next(absl::Time t) const;

  // The last fire time at or before `t`; nullopt when none within eight
  // years.
  std::optional<absl::Time> Previous(absl::Time t) const;

  const absl::TimeZone& zone() const { return zone_; }
  const std::string& expression() const { return expr_; }

 private:
  CronSchedule() = default;
  bool DayMatches(const absl::CivilDay& day) const;
  // The instant of local time `cs` (see the DST rules above).
  absl::Time Resolve(const absl::CivilSecond& cs) const;

  std::string expr_;
  absl::TimeZone zone_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool dom_any_ = true;
  bool dow_any_ = true;
};

}  // namespace winback

#endif  // WINBACK_SERVICES_CRON_H_
