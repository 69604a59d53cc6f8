// The cron trigger's schedules, ported from robfig/cron v3.0.1 (the library KEDA parses `start`
// and `end` with) so that Ebb accepts the same specs, rejects the rest with the same messages and
// computes the same next fire times at the edges: months without a matching day, daylight-saving
// gaps and repeats, schedules that never fire. Go's time arithmetic (time.Date's choice of offset
// for a local time that does not exist or exists twice, AddDate's normalisation) is reproduced
// on cctz so that Next() behaves as robfig's does across DST transitions.
#pragma once

#include <cctz/time_zone.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers::cron {

// Go's time.LoadLocation: "" and "UTC" are UTC, "Local" the process's zone (TZ, /etc/localtime),
// anything else a zone of the IANA database. Errors carry Go's texts: "unknown time zone <name>",
// "time: invalid location name".
Result<cctz::time_zone, std::string> load_location(std::string_view name);

// An instant as Go's time.Time holds it. kZeroTime is time.Time{} (January 1, year 1, UTC),
// which robfig returns for "no fire within five years".
struct Instant {
  std::int64_t sec = 0;   // Unix seconds
  std::int32_t nsec = 0;  // 0..999'999'999
  auto operator<=>(const Instant&) const = default;
};
inline constexpr Instant kZeroTime{-62135596800, 0};
Instant to_instant(std::chrono::system_clock::time_point t);

// A parsed five-field spec (robfig's SpecSchedule): one bit per allowed value, bit 63 set when
// the field was written as * or ? (the day-of-month/day-of-week rule looks at it).
struct Schedule {
  std::uint64_t second = 0, minute = 0, hour = 0, dom = 0, month = 0, dow = 0;
  // CRON_TZ=/TZ= prefix: the zone the schedule is evaluated in. nullopt is Go's time.Local,
  // which robfig reads as "the zone of the time asked about", i.e. the trigger's timezone.
  std::optional<cctz::time_zone> location;
};

// cron.NewParser(Minute | Hour | Dom | Month | Dow).Parse(spec), with robfig's error texts. A
// prefix without a following space, on which robfig panics, is an error here.
Result<Schedule, std::string> parse(std::string_view spec);

// SpecSchedule.Next(t.In(zone)): the first fire strictly after `t`, at whole seconds, or
// kZeroTime when none comes within five years. An error where robfig's search never ends (a
// calendar day the zone skipped), which would hang KEDA's poll.
Result<Instant, std::string> next(const Schedule& schedule, Instant t, const cctz::time_zone& zone);

// KEDA's activity rule (cron_scaler.go GetMetricsAndActivity), the literal two-branch
// comparison: with both next fires after `now` it means "active iff the next end comes no later
// than the next start", and a start that never fires (zero time) makes the trigger always
// active, an end that never fires never active.
bool active(Instant now, Instant next_start, Instant next_end);

// The clock the cron scaler reads, a pool type of its own (ConnectionPools::get<Clock>()), so
// tests can provide a fixed one; the default is the system clock.
struct Clock {
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
};

// KEDA's parseCronTimeFormat, for the metric name: spaces removed, * -> x, / -> Sl, ? -> Qm,
// , -> Cm.
std::string metric_name_part(std::string_view spec);

}  // namespace ebb::scalers::cron
