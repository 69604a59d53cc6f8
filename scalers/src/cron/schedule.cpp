#include "cron/schedule.h"

#include <cctz/civil_time.h>
#include <array>

#include <cstdlib>
#include <vector>

#include "ebb/strings.h"
#include "go_utf8.h"

namespace ebb::scalers::cron {
namespace {

// --- Go's strings and strconv, as far as robfig uses them -----------------------------------

// strings.Fields
std::vector<std::string> fields(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0, start = std::string_view::npos;
  while (i < s.size()) {
    const auto [r, n] = go_decode_rune(s, i);
    if (go_is_space(r)) {
      if (start != std::string_view::npos) out.emplace_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = i;
    }
    i += n;
  }
  if (start != std::string_view::npos) out.emplace_back(s.substr(start));
  return out;
}

// strings.TrimSpace
std::string_view trim_space(std::string_view s) {
  while (!s.empty()) {
    const auto [r, n] = go_decode_rune(s, 0);
    if (!go_is_space(r)) break;
    s.remove_prefix(n);
  }
  while (!s.empty()) {
    // Find the start of the last rune.
    std::size_t k = s.size() - 1;
    while (k > 0 && s.size() - k < 4 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    const auto [r, n] = go_decode_rune(s, k);
    if (k + n != s.size() || !go_is_space(r)) break;
    s.remove_suffix(n);
  }
  return s;
}

// strconv.Atoi, with its error texts.
Result<std::int64_t, std::string> atoi(std::string_view s) {
  const auto syntax = [&] {
    return unexpected("strconv.Atoi: parsing " + quoted(s) + ": invalid syntax");
  };
  const auto range = [&] {
    return unexpected("strconv.Atoi: parsing " + quoted(s) + ": value out of range");
  };
  if (s.empty()) return syntax();
  std::string_view digits = s;
  const bool negative = digits.front() == '-';
  if (digits.front() == '-' || digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty()) return syntax();
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 63;
  std::uint64_t n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return syntax();
    // ParseUint stops at the first digit that overflows, before looking at what follows.
    if (n > (~std::uint64_t{0} - 9) / 10) return range();
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (negative ? n > kLimit : n >= kLimit) return range();
  return negative ? static_cast<std::int64_t>(0 - n) : static_cast<std::int64_t>(n);
}

// --- robfig/cron v3.0.1 parser.go -----------------------------------------------------------

constexpr std::uint64_t kStarBit = std::uint64_t{1} << 63;

struct Bounds {
  std::uint64_t min, max;
  const std::vector<std::pair<std::string_view, std::uint64_t>>* names;
};

const std::vector<std::pair<std::string_view, std::uint64_t>> kMonthNames = {
    {"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4},  {"may", 5},  {"jun", 6},
    {"jul", 7}, {"aug", 8}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
const std::vector<std::pair<std::string_view, std::uint64_t>> kDayNames = {
    {"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3}, {"thu", 4}, {"fri", 5}, {"sat", 6}};

constexpr Bounds kSeconds{0, 59, nullptr};
constexpr Bounds kMinutes{0, 59, nullptr};
constexpr Bounds kHours{0, 23, nullptr};
constexpr Bounds kDom{1, 31, nullptr};
const Bounds kMonths{1, 12, &kMonthNames};
const Bounds kDow{0, 6, &kDayNames};

std::vector<std::string_view> split(std::string_view s, char sep) {  // strings.Split
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  out.push_back(s.substr(start));
  return out;
}

Result<std::uint64_t, std::string> must_parse_int(std::string_view expr) {
  auto n = atoi(expr);
  if (!n) return unexpected("failed to parse int from " + std::string(expr) + ": " + n.error());
  if (*n < 0)
    return unexpected("negative number (" + std::to_string(*n) +
                      ") not allowed: " + std::string(expr));
  return static_cast<std::uint64_t>(*n);
}

Result<std::uint64_t, std::string> parse_int_or_name(std::string_view expr, const Bounds& r) {
  if (r.names) {
    const auto lower = to_lower(expr);
    for (const auto& [name, value] : *r.names)
      if (lower == name) return value;
  }
  return must_parse_int(expr);
}

std::uint64_t get_bits(std::uint64_t min, std::uint64_t max, std::uint64_t step) {
  if (step == 1) return ~(~std::uint64_t{0} << (max + 1)) & (~std::uint64_t{0} << min);
  std::uint64_t bits = 0;
  for (std::uint64_t i = min; i <= max; i += step) bits |= std::uint64_t{1} << i;
  return bits;
}

Result<std::uint64_t, std::string> get_range(std::string_view expr, const Bounds& r) {
  const auto range_and_step = split(expr, '/');
  const auto low_and_high = split(range_and_step[0], '-');
  const bool single_digit = low_and_high.size() == 1;
  std::uint64_t start = 0, end = 0, step = 0, extra = 0;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    start = r.min;
    end = r.max;
    extra = kStarBit;
  } else {
    auto s = parse_int_or_name(low_and_high[0], r);
    if (!s) return unexpected(s.error());
    start = *s;
    if (low_and_high.size() == 1) {
      end = start;
    } else if (low_and_high.size() == 2) {
      auto e = parse_int_or_name(low_and_high[1], r);
      if (!e) return unexpected(e.error());
      end = *e;
    } else {
      return unexpected("too many hyphens: " + std::string(expr));
    }
  }
  if (range_and_step.size() == 1) {
    step = 1;
  } else if (range_and_step.size() == 2) {
    auto s = must_parse_int(range_and_step[1]);
    if (!s) return unexpected(s.error());
    step = *s;
    if (single_digit) end = r.max;  // "N/step" means "N-max/step"
    if (step > 1) extra = 0;
  } else {
    return unexpected("too many slashes: " + std::string(expr));
  }
  const auto at = [&] { return ": " + std::string(expr); };
  if (start < r.min)
    return unexpected("beginning of range (" + std::to_string(start) + ") below minimum (" +
                      std::to_string(r.min) + ")" + at());
  if (end > r.max)
    return unexpected("end of range (" + std::to_string(end) + ") above maximum (" +
                      std::to_string(r.max) + ")" + at());
  if (start > end)
    return unexpected("beginning of range (" + std::to_string(start) + ") beyond end of range (" +
                      std::to_string(end) + ")" + at());
  if (step == 0) return unexpected("step of range should be a positive number" + at());
  return get_bits(start, end, step) | extra;
}

Result<std::uint64_t, std::string> get_field(std::string_view field, const Bounds& r) {
  std::uint64_t bits = 0;
  for (const auto expr : split(field, ',')) {
    if (expr.empty()) continue;  // strings.FieldsFunc drops empty items
    auto bit = get_range(expr, r);
    if (!bit) return unexpected(bit.error());
    bits |= *bit;
  }
  return bits;
}

// --- Go's time, on cctz ---------------------------------------------------------------------

using Seconds = cctz::time_point<cctz::seconds>;

Seconds at(std::int64_t unix) {
  return Seconds(cctz::seconds(unix));
}

// A time.Time with whole seconds (robfig drops the nanoseconds first): instant and zone.
struct Time {
  std::int64_t unix;
  cctz::time_zone zone;
  cctz::civil_second civil() const { return zone.lookup(at(unix)).cs; }
};

const cctz::civil_second kUnixEpoch(1970, 1, 1, 0, 0, 0);

// time.Date(…, zone): the fields normalised (cctz normalises as Go does, month overflow first),
// then Go's choice of offset. It looks the local time up as if it were UTC, and if the instant
// that offset gives lies outside that offset's period it takes the offset in force at that
// instant instead. Both cases come to: the offset in force at (local - offset at local).
std::int64_t date(const cctz::civil_second& fields, const cctz::time_zone& zone) {
  const std::int64_t local = fields - kUnixEpoch;
  const std::int64_t guess = local - zone.lookup(at(local)).offset;
  return local - zone.lookup(at(guess)).offset;
}

// t.AddDate(0, months, days)
Time add_date(const Time& t, int months, int days) {
  const auto c = t.civil();
  return {date(cctz::civil_second(c.year(), c.month() + months, c.day() + days, c.hour(),
                                  c.minute(), c.second()),
               t.zone),
          t.zone};
}

int go_weekday(const cctz::civil_second& c) {  // Sunday = 0
  switch (cctz::get_weekday(cctz::civil_day(c))) {
    case cctz::weekday::sunday:
      return 0;
    case cctz::weekday::monday:
      return 1;
    case cctz::weekday::tuesday:
      return 2;
    case cctz::weekday::wednesday:
      return 3;
    case cctz::weekday::thursday:
      return 4;
    case cctz::weekday::friday:
      return 5;
    case cctz::weekday::saturday:
      return 6;
  }
  return 0;
}

bool has(std::uint64_t bits, long long value) {
  return (std::uint64_t{1} << value & bits) != 0;
}

// spec.go dayMatches: Vixie cron's rule, AND when either day field is a star, else OR.
bool day_matches(const Schedule& s, const Time& t) {
  const auto c = t.civil();
  const bool dom_match = has(s.dom, c.day());
  const bool dow_match = has(s.dow, go_weekday(c));
  if ((s.dom & kStarBit) || (s.dow & kStarBit)) return dom_match && dow_match;
  return dom_match || dow_match;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

Result<cctz::time_zone, std::string> load_location(std::string_view name) {
  if (name.empty() || name == "UTC") return cctz::utc_time_zone();
  if (name == "Local") return cctz::local_time_zone();
  if (name.find("..") != std::string_view::npos || name.front() == '/' || name.front() == '\\')
    return unexpected(std::string("time: invalid location name"));
  // cctz also reads "Fixed/UTC+hh:mm" offsets and "file:" paths, which Go's database lookup does
  // not: those names are unknown zones, as in KEDA.
  cctz::time_zone zone;
  if (name.starts_with("Fixed/") || name.starts_with("file:") ||
      !cctz::load_time_zone(std::string(name), &zone))
    return unexpected("unknown time zone " + std::string(name));
  return zone;
}

Instant to_instant(std::chrono::system_clock::time_point t) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const auto sec = floor_div(ns, 1'000'000'000);
  return {sec, static_cast<std::int32_t>(ns - sec * 1'000'000'000)};
}

Result<Schedule, std::string> parse(std::string_view spec) {
  if (spec.empty()) return unexpected(std::string("empty spec string"));
  Schedule out;
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
    const auto space = spec.find(' ');
    const auto eq = spec.find('=');
    if (space == std::string_view::npos)
      return unexpected("time zone prefix " + quoted(spec) +
                        " must be followed by a space and the schedule");
    const auto name = spec.substr(eq + 1, space - eq - 1);
    auto zone = load_location(name);
    if (!zone)
      return unexpected("provided bad location " + std::string(name) + ": " + zone.error());
    // LoadLocation("Local") is time.Local itself, which robfig reads as "no override".
    if (name != "Local") out.location = *zone;
    spec = trim_space(spec.substr(space));
  }
  if (spec.starts_with("@"))
    return unexpected("parser does not accept descriptors: " + std::string(spec));
  const auto f = fields(spec);
  if (f.size() != 5)
    return unexpected("expected exactly 5 fields, found " + std::to_string(f.size()) + ": [" +
                      join(f, " ") + "]");
  const std::array<std::pair<std::string_view, const Bounds*>, 6> places = {{{"0", &kSeconds},
                                                                             {f[0], &kMinutes},
                                                                             {f[1], &kHours},
                                                                             {f[2], &kDom},
                                                                             {f[3], &kMonths},
                                                                             {f[4], &kDow}}};
  std::array<std::uint64_t*, 6> targets = {&out.second, &out.minute, &out.hour,
                                           &out.dom,    &out.month,  &out.dow};
  for (std::size_t i = 0; i < places.size(); ++i) {
    auto bits = get_field(places[i].first, *places[i].second);
    if (!bits) return unexpected(bits.error());
    *targets[i] = *bits;
  }
  return out;
}

namespace {

// A field with no value at all (", * * * *" parses) never matches: robfig then walks five years
// minute by minute before giving up, which would make one poll take seconds.
bool never_fires(const Schedule& s) {
  const auto values = [](std::uint64_t bits) { return bits & ~kStarBit; };
  const bool any_day = (s.dom & kStarBit) || (s.dow & kStarBit) ? values(s.dom) && values(s.dow)
                                                                : values(s.dom) || values(s.dow);
  return !values(s.second) || !values(s.minute) || !values(s.hour) || !values(s.month) || !any_day;
}

}  // namespace

Result<Instant, std::string> next(const Schedule& s, Instant from, const cctz::time_zone& zone) {
  if (never_fires(s)) return kZeroTime;
  // A search that ends takes a few thousand steps at most (five years of months and days, then
  // one day's hours and one hour's minutes). robfig's never ends around a calendar day that a
  // zone skipped entirely (Pacific/Apia, 2011-12-30), where its day loop keeps stepping back.
  constexpr int kMaxSteps = 200'000;
  int steps = 0;
  const auto step = [&] { return ++steps <= kMaxSteps; };
  const auto endless = [] {
    return unexpected(
        std::string("the search for the next fire time does not end in this time zone (robfig/cron "
                    "loops forever here)"));
  };
  const cctz::time_zone loc = s.location ? *s.location : zone;
  // Start at the earliest possible time: the next whole second.
  Time t{from.sec + 1, loc};
  bool added = false;
  const auto year_limit = t.civil().year() + 5;

  for (;;) {  // WRAP
    if (!step()) return endless();
    if (t.civil().year() > year_limit) return kZeroTime;

    bool wrapped = false;
    while (!has(s.month, t.civil().month())) {
      if (!step()) return endless();
      if (!added) {
        added = true;
        const auto c = t.civil();
        t.unix = date(cctz::civil_second(c.year(), c.month(), 1, 0, 0, 0), loc);
      }
      t = add_date(t, 1, 0);
      if (t.civil().month() == 1) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;

    while (!day_matches(s, t)) {
      if (!step()) return endless();
      if (!added) {
        added = true;
        const auto c = t.civil();
        t.unix = date(cctz::civil_second(c.year(), c.month(), c.day(), 0, 0, 0), loc);
      }
      t = add_date(t, 0, 1);
      // Where DST moved midnight, robfig puts the time back on it: up from 23h, down from 1h.
      if (const auto hour = t.civil().hour(); hour != 0)
        t.unix += hour > 12 ? (24 - hour) * 3600 : -hour * 3600;
      if (t.civil().day() == 1) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;

    while (!has(s.hour, t.civil().hour())) {
      if (!step()) return endless();
      if (!added) {
        added = true;
        const auto c = t.civil();
        t.unix = date(cctz::civil_second(c.year(), c.month(), c.day(), c.hour(), 0, 0), loc);
      }
      t.unix += 3600;
      if (t.civil().hour() == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;

    while (!has(s.minute, t.civil().minute())) {
      if (!step()) return endless();
      if (!added) {
        added = true;
        t.unix = floor_div(t.unix, 60) * 60;  // Truncate(time.Minute) works on the instant
      }
      t.unix += 60;
      if (t.civil().minute() == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;

    while (!has(s.second, t.civil().second())) {
      if (!step()) return endless();
      added = true;
      t.unix += 1;
      if (t.civil().second() == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;

    return Instant{t.unix, 0};
  }
}

bool active(Instant now, Instant next_start, Instant next_end) {
  if (next_start < next_end) return now > next_start && now < next_end;  // "within the same day"
  return now > next_start || now < next_end;                             // "spans midnight"
}

std::string metric_name_part(std::string_view spec) {
  std::string out;
  for (const char c : spec) {
    switch (c) {
      case ' ':
        break;
      case '*':
        out += 'x';
        break;
      case '/':
        out += "Sl";
        break;
      case '?':
        out += "Qm";
        break;
      case ',':
        out += "Cm";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace ebb::scalers::cron
