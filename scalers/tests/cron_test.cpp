// Pure tests of the cron scaler: KEDA's cron_scaler_test.go tables (parsing, metric names, and
// its wall-clock activity tests at fixed instants), robfig/cron's parser errors, Next() across
// daylight-saving transitions, and KEDA's activity rule at its edges (windows over midnight,
// schedules that never fire, coinciding fires).
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "cron/schedule.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using Clock = std::chrono::system_clock;

namespace {

TriggerContext trigger(Map metadata, std::size_t index = 0) {
  TriggerContext c;
  c.type = "cron";
  c.index = index;
  c.metadata = std::move(metadata);
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

// An instant given in UTC.
Clock::time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

std::int64_t unix_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Polls a parsed cron trigger with the clock stopped at given instants.
class FixedClock {
 public:
  FixedClock() {
    pools_.provide(std::make_shared<cron::Clock>(cron::Clock{[this] { return now_; }}));
  }
  PollResult at(const Map& metadata, Clock::time_point now) {
    now_ = now;
    auto parsed = parse(trigger(metadata));
    INFO((parsed ? std::string() : errors_of(parsed).front()));
    REQUIRE(parsed);
    auto scaler = parsed.value()->create_scaler(pools_);
    REQUIRE(scaler);
    auto polled = scaler.value()->poll();
    INFO((polled ? std::string() : polled.error().message));
    REQUIRE(polled);
    return *polled;
  }
  bool active(const Map& metadata, Clock::time_point now) { return at(metadata, now).active; }

 private:
  ConnectionPools pools_;
  Clock::time_point now_{};
};

Map window(std::string start, std::string end, std::string tz = "Etc/UTC",
           std::string desired = "10") {
  return {{"timezone", std::move(tz)},
          {"start", std::move(start)},
          {"end", std::move(end)},
          {"desiredReplicas", std::move(desired)}};
}

// KEDA's validCronMetadata, validCronMetadata2 and validCronMetadata3.
const Map kThursday = window("0 0 * * Thu", "59 23 * * Thu");
const Map kEvenHours = window("0 */2 * * *", "0 1-23/2 * * *");
const Map kCommas = window("0,30 * * * *", "15,45 * * * *");

std::string parse_error(std::string_view spec) {
  auto r = cron::parse(spec);
  return r ? std::string("ok") : r.error();
}

std::int64_t next_unix(std::string_view spec, Clock::time_point from, const std::string& tz) {
  auto s = cron::parse(spec);
  REQUIRE(s);
  auto zone = cron::load_location(tz);
  REQUIRE(zone);
  auto n = cron::next(*s, cron::to_instant(from), *zone);
  REQUIRE(n);
  return n->sec;
}

}  // namespace

TEST_CASE("cron: KEDA's TestCronParseMetadata rows, with exact errors") {
  struct Case {
    Map metadata;
    std::vector<std::string> errors;  // empty: parses
  };
  const std::string kEndOfStart =
      "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax";
  const std::vector<Case> cases = {
      // 0: KEDA also repeats "error parsing start schedule: empty spec string"; Ebb reports each
      // missing parameter once.
      {{},
       {"metadata.start: missing required parameter \"start\" in [triggerMetadata]",
        "metadata.end: missing required parameter \"end\" in [triggerMetadata]",
        "metadata.timezone: missing required parameter \"timezone\" in [triggerMetadata]",
        "metadata.desiredReplicas: missing required parameter \"desiredReplicas\" in "
        "[triggerMetadata]"}},
      {kThursday, {}},
      {kEvenHours, {}},
      {kCommas, {}},
      {{{"timezone", "Asia/Kolkata"}, {"start", "30 * * * *"}, {"end", "45 * * * *"}},
       {"metadata.desiredReplicas: missing required parameter \"desiredReplicas\" in "
        "[triggerMetadata]"}},
      {{{"start", "30 * * * *"}, {"end", "45 * * * *"}, {"desiredReplicas", "10"}},
       {"metadata.timezone: missing required parameter \"timezone\" in [triggerMetadata]"}},
      {window("30-33 * * * *", "45 * * * *", "Asia/Kolkata"), {}},
      {window("30 * * * *", "45-50 * * * *", "Asia/Kolkata"), {}},
      {window("-30 * * * *", "45 * * * *", "Asia/Kolkata"),
       {"metadata.start: error parsing start schedule: " + kEndOfStart}},
      {window("30 * * * *", "-50 * * * *", "Asia/Kolkata"),
       {"metadata.end: error parsing end schedule: " + kEndOfStart}},
      {window("30 * * * *", "50 * * -3 *", "Asia/Kolkata"),
       {"metadata.end: error parsing end schedule: " + kEndOfStart}},
      {window("30 * * * *", "30 * * * *", "Asia/Kolkata"),
       {"metadata.end: start and end can not have exactly same time input"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    CHECK(errors_of(parse(trigger(cases[i].metadata))) == cases[i].errors);
  }
}

TEST_CASE("cron: desiredReplicas, both schedules and the equality rule each reported") {
  CHECK(errors_of(parse(trigger(window("0 * * * *", "5 * * * *", "UTC", "0")))) ==
        std::vector<std::string>{"metadata.desiredReplicas: no desiredReplicas specified"});
  CHECK(errors_of(parse(trigger(window("0 * * * *", "5 * * * *", "UTC", "1.5")))) ==
        std::vector<std::string>{"metadata.desiredReplicas: must be an integer, got \"1.5\""});
  CHECK(errors_of(parse(trigger(window("@daily", "0 0 0 * * *", "UTC", "0")))) ==
        std::vector<std::string>{"metadata.start: error parsing start schedule: parser does not "
                                 "accept descriptors: @daily",
                                 "metadata.end: error parsing end schedule: expected exactly 5 "
                                 "fields, found 6: [0 0 0 * * *]",
                                 "metadata.desiredReplicas: no desiredReplicas specified"});
  // Trimmed before comparing, as KEDA's typed config trims.
  CHECK(
      errors_of(parse(trigger(window(" 0 * * * *", "0 * * * * ")))) ==
      std::vector<std::string>{"metadata.end: start and end can not have exactly same time input"});
  // Negative replicas pass KEDA's Validate (it only refuses 0).
  CHECK(parse(trigger(window("0 * * * *", "5 * * * *", "UTC", "-5"))).ok());
}

TEST_CASE("cron: metricType Utilization is refused, Value accepted") {
  auto c = trigger(kThursday);
  c.metric_type = "Utilization";
  CHECK(errors_of(parse(c)) ==
        std::vector<std::string>{
            "metricType: 'Utilization' metric type is unsupported for external metrics, "
            "allowed values are 'Value' or 'AverageValue'"});
  c.metric_type = "Value";
  auto r = parse(c);
  REQUIRE(r);
  CHECK(r.value()->metric_spec().target_type == MetricTargetType::Value);
}

TEST_CASE("cron: KEDA's TestCronGetMetricSpecForScaling names, and the target of 1") {
  const std::vector<std::tuple<Map, std::size_t, std::string>> cases = {
      {kThursday, 0, "s0-cron-Etc-UTC-00xxThu-5923xxThu"},
      {kEvenHours, 1, "s1-cron-Etc-UTC-0xSl2xxx-01-23Sl2xxx"},
      {kCommas, 2, "s2-cron-Etc-UTC-0Cm30xxxx-15Cm45xxxx"},
  };
  for (const auto& [metadata, index, name] : cases) {
    auto r = parse(trigger(metadata, index));
    REQUIRE(r);
    const auto& spec = r.value()->metric_spec();
    CHECK(spec.name == name);
    CHECK(spec.target == 1);
    CHECK(spec.target_quantity == "1");
    CHECK(spec.target_type == MetricTargetType::AverageValue);
    CHECK(spec.activation_target == 0);
  }
  // The zone only goes through NormalizeString; ? and the CRON_TZ prefix through the cron rules.
  auto r = parse(trigger(
      window("CRON_TZ=Asia/Tokyo 0 9 * * ?", "0 17 * * *", "America/Argentina/Buenos_Aires")));
  REQUIRE(r);
  CHECK(r.value()->metric_spec().name ==
        "s0-cron-America-Argentina-Buenos_Aires-CRON_TZ=AsiaSlTokyo09xxQm-017xxx");
  CHECK(r.value()->endpoint() == "cron (timezone America/Argentina/Buenos_Aires)");
  r = parse(trigger(window("0 9 * * *", "0 17 * * *", "Etc/GMT+5")));
  REQUIRE(r);
  CHECK(r.value()->metric_spec().name == "s0-cron-Etc-GMT+5-09xxx-017xxx");
}

TEST_CASE("cron: the definition refuses useCachedMetrics and names KEDA's scaler") {
  const auto* def = Registry::builtin().find("cron");
  REQUIRE(def);
  CHECK_FALSE(def->cached_metrics);
  CHECK(def->keda_name == "cronScaler");
  CHECK(def->source == MetricSource::External);
}

TEST_CASE(
    "cron: KEDA's wall-clock tests (TestIsActive, TestGetMetrics, the Range pair) at fixed "
    "instants") {
  FixedClock clock;
  // 2024-01-04 is a Thursday.
  auto r = clock.at(kThursday, utc(2024, 1, 4, 13, 0));
  CHECK(r.active);
  CHECK(r.value == 10);
  for (unsigned day : {1u, 2u, 3u, 5u, 6u, 7u}) {
    r = clock.at(kThursday, utc(2024, 1, day, 13, 0));
    CHECK_FALSE(r.active);
    CHECK(r.value == 0);
  }
  // Active during even hours (value 10), inactive during odd ones.
  for (int hour = 0; hour < 24; ++hour) {
    INFO("hour " << hour);
    r = clock.at(kEvenHours, utc(2024, 1, 4, hour, 30));
    CHECK(r.active == (hour % 2 == 0));
    CHECK(r.value == (hour % 2 == 0 ? 10 : 0));
  }
}

TEST_CASE("cron: the window is [start, end) at second resolution") {
  FixedClock clock;
  CHECK(clock.active(kThursday, utc(2024, 1, 4, 0, 0, 0)));
  CHECK(clock.active(kThursday, utc(2024, 1, 4, 23, 58, 59)));
  CHECK_FALSE(clock.active(kThursday, utc(2024, 1, 4, 23, 59, 0)));
  CHECK_FALSE(clock.active(kThursday, utc(2024, 1, 3, 23, 59, 59)));
  // Sub-second: a fire at the current second is not "next".
  CHECK(clock.active(kThursday, utc(2024, 1, 4, 0, 0, 0) + std::chrono::milliseconds(999)));
  CHECK_FALSE(
      clock.active(kThursday, utc(2024, 1, 3, 23, 59, 59) + std::chrono::milliseconds(999)));
}

TEST_CASE("cron: windows spanning midnight") {
  FixedClock clock;
  const auto night = window("0 22 * * *", "0 6 * * *");
  CHECK_FALSE(clock.active(night, utc(2024, 1, 4, 21, 59, 59)));
  CHECK(clock.active(night, utc(2024, 1, 4, 22, 0, 0)));
  CHECK(clock.active(night, utc(2024, 1, 4, 23, 59, 59)));
  CHECK(clock.active(night, utc(2024, 1, 5, 0, 0, 0)));
  CHECK(clock.active(night, utc(2024, 1, 5, 5, 59, 59)));
  CHECK_FALSE(clock.active(night, utc(2024, 1, 5, 6, 0, 0)));
  CHECK_FALSE(clock.active(night, utc(2024, 1, 5, 12, 0, 0)));
  // Over a weekend: Friday 18:00 to Monday 08:00 in New York.
  const auto weekend = window("0 18 * * Fri", "0 8 * * Mon", "America/New_York", "3");
  CHECK_FALSE(clock.active(weekend, utc(2024, 1, 5, 22, 59)));   // Fri 17:59 EST
  CHECK(clock.active(weekend, utc(2024, 1, 5, 23, 0)));          // Fri 18:00 EST
  CHECK(clock.active(weekend, utc(2024, 1, 7, 12, 0)));          // Sunday
  CHECK(clock.at(weekend, utc(2024, 1, 8, 12, 59)).value == 3);  // Mon 07:59 EST
  CHECK_FALSE(clock.active(weekend, utc(2024, 1, 8, 13, 0)));    // Mon 08:00 EST
}

TEST_CASE("cron: KEDA's 'next event' rule at its edges") {
  FixedClock clock;
  // Weekly start, daily end: active from Monday 09:00 all the way to Sunday 17:00.
  const auto asymmetric = window("0 9 * * 1", "0 17 * * *");
  CHECK(clock.active(asymmetric, utc(2024, 1, 1, 9, 0)));    // Mon 09:00
  CHECK(clock.active(asymmetric, utc(2024, 1, 2, 18, 0)));   // Tue 18:00
  CHECK(clock.active(asymmetric, utc(2024, 1, 7, 16, 59)));  // Sun 16:59
  CHECK_FALSE(clock.active(asymmetric, utc(2024, 1, 7, 17, 0)));
  CHECK_FALSE(clock.active(asymmetric, utc(2024, 1, 8, 8, 59)));
  // Coinciding next fires count as active: odd hours on, even hours off.
  const auto coinciding = window("0 * * * *", "0 */2 * * *");
  CHECK(clock.active(coinciding, utc(2024, 1, 4, 1, 30)));
  CHECK_FALSE(clock.active(coinciding, utc(2024, 1, 4, 2, 30)));
  // A start that never fires (Feb 30): next start is the zero time, always active.
  const auto never_starts = window("0 0 30 2 *", "0 6 * * *");
  CHECK(clock.active(never_starts, utc(2024, 1, 4, 12, 0)));
  CHECK(clock.active(never_starts, utc(2024, 1, 4, 5, 0)));
  // An end that never fires: always inactive.
  const auto never_ends = window("0 6 * * *", "0 0 30 2 *");
  CHECK_FALSE(clock.active(never_ends, utc(2024, 1, 4, 12, 0)));
  CHECK_FALSE(clock.active(never_ends, utc(2024, 1, 4, 5, 0)));
  // Start and end that differ only in spacing pass the equality check and are always active.
  const auto same = window("30 * * * *", "30  * * * *");
  CHECK(clock.active(same, utc(2024, 1, 4, 12, 0)));
  CHECK(clock.active(same, utc(2024, 1, 4, 12, 45)));
  // A field made only of commas matches nothing: that schedule never fires.
  CHECK(clock.active(window(", * * * *", "0 6 * * *"), utc(2024, 1, 4, 12, 0)));
  // Negative desiredReplicas: active, and the served value is clamped to 0.
  const auto negative =
      clock.at(window("0 0 * * *", "0 23 * * *", "UTC", "-5"), utc(2024, 1, 4, 12, 0));
  CHECK(negative.active);
  CHECK(negative.value == -5);
  CHECK(milli_quantity(negative.value) == "0");
}

TEST_CASE("cron: spring forward skips a local time that does not exist") {
  FixedClock clock;
  // New York, 2024-03-10: 02:00 EST becomes 03:00 EDT at 07:00Z; 02:30 does not exist.
  CHECK(next_unix("30 2 * * *", utc(2024, 3, 10, 5, 0), "America/New_York") ==
        unix_of(utc(2024, 3, 11, 6, 30)));
  CHECK(next_unix("30 2 * * *", utc(2024, 3, 9, 5, 0), "America/New_York") ==
        unix_of(utc(2024, 3, 9, 7, 30)));
  // Hourly across the gap: 01:00 EST, then 03:00 EDT.
  CHECK(next_unix("0 * * * *", utc(2024, 3, 10, 6, 0), "America/New_York") ==
        unix_of(utc(2024, 3, 10, 7, 0)));
  const auto w = window("30 2 * * *", "0 4 * * *", "America/New_York");
  // An ordinary night: 01:30 waits for 02:30.
  CHECK_FALSE(clock.active(w, utc(2024, 3, 9, 6, 30)));
  CHECK(clock.active(w, utc(2024, 3, 9, 7, 30)));
  // The DST night: 02:30 is skipped, so at 01:30 EST the next event is the 04:00 end: active.
  CHECK(clock.active(w, utc(2024, 3, 10, 6, 30)));
  CHECK(clock.active(w, utc(2024, 3, 10, 7, 30)));       // 03:30 EDT
  CHECK_FALSE(clock.active(w, utc(2024, 3, 10, 8, 0)));  // 04:00 EDT
  // London: 01:00 GMT becomes 02:00 BST at 01:00Z on 2024-03-31.
  CHECK(next_unix("0 1 * * *", utc(2024, 3, 30, 12, 0), "Europe/London") ==
        unix_of(utc(2024, 4, 1, 0, 0)));
}

TEST_CASE("cron: fall back fires twice in the repeated hour") {
  FixedClock clock;
  // New York, 2024-11-03: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:30 happens at 05:30Z and
  // 06:30Z.
  CHECK(next_unix("30 1 * * *", utc(2024, 11, 3, 4, 0), "America/New_York") ==
        unix_of(utc(2024, 11, 3, 5, 30)));
  CHECK(next_unix("30 1 * * *", utc(2024, 11, 3, 5, 30), "America/New_York") ==
        unix_of(utc(2024, 11, 3, 6, 30)));
  CHECK(next_unix("30 1 * * *", utc(2024, 11, 3, 6, 30), "America/New_York") ==
        unix_of(utc(2024, 11, 4, 6, 30)));
  const auto w = window("30 1 * * *", "45 1 * * *", "America/New_York");
  CHECK(clock.active(w, utc(2024, 11, 3, 5, 35)));        // 01:35 EDT
  CHECK_FALSE(clock.active(w, utc(2024, 11, 3, 5, 50)));  // 01:50 EDT
  CHECK_FALSE(clock.active(w, utc(2024, 11, 3, 6, 20)));  // 01:20 EST
  CHECK(clock.active(w, utc(2024, 11, 3, 6, 40)));        // 01:40 EST
  CHECK_FALSE(clock.active(w, utc(2024, 11, 3, 6, 45)));  // 01:45 EST
}

TEST_CASE("cron: a midnight that DST removed (Sao Paulo, 2018-11-04 00:00 became 01:00)") {
  // robfig's day loop lands on 23:00 of the day before and moves up an hour.
  CHECK(next_unix("0 1 4 11 *", utc(2018, 11, 3, 15, 0), "America/Sao_Paulo") ==
        unix_of(utc(2018, 11, 4, 3, 0)));
  // A daily midnight fire skips the day that has no midnight.
  CHECK(next_unix("0 0 * * *", utc(2018, 11, 3, 15, 0), "America/Sao_Paulo") ==
        unix_of(utc(2018, 11, 5, 2, 0)));
}

TEST_CASE(
    "cron: a search robfig never ends (a day the zone skipped) is an error, not a hung poll") {
  // Samoa went from 2011-12-29 23:59:59 -10 to 2011-12-31 00:00 +14.
  auto s = cron::parse("0,30 * 15 * 0");
  REQUIRE(s);
  auto zone = cron::load_location("Pacific/Apia");
  REQUIRE(zone);
  auto n = cron::next(*s, cron::to_instant(utc(2011, 12, 30, 7, 23, 2)), *zone);
  REQUIRE_FALSE(n);
  CHECK(n.error() ==
        "the search for the next fire time does not end in this time zone (robfig/cron loops "
        "forever here)");
  auto parsed = parse(trigger(window("0,30 * 15 * 0", "0 * * * *", "Pacific/Apia")));
  REQUIRE(parsed);
  ConnectionPools pools;
  pools.provide(
      std::make_shared<cron::Clock>(cron::Clock{[] { return utc(2011, 12, 30, 7, 23, 2); }}));
  auto polled = parsed.value()->create_scaler(pools).value()->poll();
  REQUIRE_FALSE(polled);
  CHECK(polled.error().message ==
        "error computing the next start: the search for the next fire time does not end in this "
        "time zone "
        "(robfig/cron loops forever here)");
}

TEST_CASE("cron: CRON_TZ= and TZ= evaluate a schedule in their own zone") {
  FixedClock clock;
  const auto tokyo = window("CRON_TZ=Asia/Tokyo 0 9 * * *", "TZ=Asia/Tokyo 0 17 * * *", "UTC");
  CHECK_FALSE(clock.active(tokyo, utc(2024, 1, 3, 23, 59)));  // 08:59 JST
  CHECK(clock.active(tokyo, utc(2024, 1, 4, 0, 30)));         // 09:30 JST
  CHECK_FALSE(clock.active(tokyo, utc(2024, 1, 4, 8, 30)));   // 17:30 JST
  // An empty zone name is LoadLocation(""): UTC.
  CHECK(next_unix("TZ= 0 9 * * *", utc(2024, 1, 4, 0, 0), "Asia/Tokyo") ==
        unix_of(utc(2024, 1, 4, 9, 0)));
  // Local is no override: the trigger's zone applies.
  CHECK(next_unix("CRON_TZ=Local 0 9 * * *", utc(2024, 1, 4, 12, 0), "Asia/Tokyo") ==
        unix_of(utc(2024, 1, 5, 0, 0)));
}

TEST_CASE("cron: robfig's parser errors, verbatim") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-30 * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax"},
      {"60 * * * *", "end of range (60) above maximum (59): 60"},
      {"0 0 * * 7", "end of range (7) above maximum (6): 7"},
      {"0 0 0 * *", "beginning of range (0) below minimum (1): 0"},
      {"5-3 * * * *", "beginning of range (5) beyond end of range (3): 5-3"},
      {"*/0 * * * *", "step of range should be a positive number: */0"},
      {"*/-1 * * * *", "negative number (-1) not allowed: -1"},
      {"1/2/3 * * * *", "too many slashes: 1/2/3"},
      {"1-2-3 * * * *", "too many hyphens: 1-2-3"},
      {"0 0 * * Thursday",
       "failed to parse int from Thursday: strconv.Atoi: parsing \"Thursday\": invalid syntax"},
      {"0 0 L * *", "failed to parse int from L: strconv.Atoi: parsing \"L\": invalid syntax"},
      {"0 0 * * 1/MON",
       "failed to parse int from MON: strconv.Atoi: parsing \"MON\": invalid syntax"},
      {"99999999999999999999 * * * *",
       "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
       "\"99999999999999999999\": value out of "
       "range"},
      {"@daily", "parser does not accept descriptors: @daily"},
      {"@every 1h", "parser does not accept descriptors: @every 1h"},
      {"0 0 0 * * *", "expected exactly 5 fields, found 6: [0 0 0 * * *]"},
      {"0 0 *", "expected exactly 5 fields, found 3: [0 0 *]"},
      {"", "empty spec string"},
      {"CRON_TZ=Foo/Bar 0 9 * * *", "provided bad location Foo/Bar: unknown time zone Foo/Bar"},
      {"TZ=../etc/passwd 0 9 * * *",
       "provided bad location ../etc/passwd: time: invalid location name"},
      {"CRON_TZ=UTC",
       "time zone prefix \"CRON_TZ=UTC\" must be followed by a space and the schedule"},
      {"CRON_TZ=UTC ", "expected exactly 5 fields, found 0: []"},
  };
  for (const auto& [spec, error] : cases) {
    INFO(spec);
    CHECK(parse_error(spec) == error);
  }
  for (const std::string ok :
       {"0 0 * JAN-mar sun", "? ? ? ? ?", ", * * * *", "+5 * * * *", "0\t0 * *\u00a0*",
        "*/59 */23 */31 */12 */6", "0 0 1,15 * 1-5", "0 0 * * MON/2"})
    CHECK(parse_error(ok) == "ok");
}

TEST_CASE("cron: day of month OR day of week unless one is a star (Vixie cron)") {
  // Odd days of the month or Mondays: */2 clears the star bit.
  CHECK(next_unix("0 0 */2 * 1", utc(2024, 1, 1, 0, 0), "UTC") == unix_of(utc(2024, 1, 3)));
  CHECK(next_unix("0 0 */2 * 1", utc(2024, 1, 7, 0, 0), "UTC") == unix_of(utc(2024, 1, 8)));
  CHECK(next_unix("0 0 */2 * 1", utc(2024, 1, 8, 0, 0), "UTC") == unix_of(utc(2024, 1, 9)));
  // With a star in dow, both must match: the 13th only.
  CHECK(next_unix("0 0 13 * *", utc(2024, 1, 1, 0, 0), "UTC") == unix_of(utc(2024, 1, 13)));
  // Friday the 13th needs neither field to be a star... and then it is OR: every 13th and every
  // Friday.
  CHECK(next_unix("0 0 13 * 5", utc(2024, 1, 1, 0, 0), "UTC") == unix_of(utc(2024, 1, 5)));
  // Leap day, and nothing within five years.
  CHECK(next_unix("0 0 29 2 *", utc(2024, 3, 1), "UTC") == unix_of(utc(2028, 2, 29)));
  CHECK(next_unix("0 0 30 2 *", utc(2024, 3, 1), "UTC") == cron::kZeroTime.sec);
}

TEST_CASE(
    "cron: an unknown timezone fails every poll, is accepted by parse, and is a validate warning") {
  const auto bad = window("0 * * * *", "5 * * * *", "Foo/Bar");
  auto parsed = parse(trigger(bad));
  REQUIRE(parsed);
  ConnectionPools pools;
  auto scaler = parsed.value()->create_scaler(pools);
  REQUIRE(scaler);
  auto polled = scaler.value()->poll();
  REQUIRE_FALSE(polled);
  CHECK(polled.error().message == "unable to load timezone: unknown time zone Foo/Bar");

  const auto warnings = Registry::builtin().warnings(trigger(bad));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].str() ==
        "metadata.timezone: unknown time zone Foo/Bar: every poll will fail with \"unable to load "
        "timezone: "
        "unknown time zone Foo/Bar\"");
  CHECK(Registry::builtin().warnings(trigger(kThursday)).empty());
  // Unknown keys still come from the table.
  auto extra = kThursday;
  extra["timeZone"] = "UTC";
  CHECK(Registry::builtin().warnings(trigger(extra)).front().str() ==
        "metadata.timeZone: unknown parameter \"timeZone\" for trigger type \"cron\" (did you mean "
        "\"timezone\"?)");
}

TEST_CASE("cron: Go's location names") {
  CHECK(cron::load_location("UTC").ok());
  CHECK(cron::load_location("Local").ok());
  CHECK(cron::load_location("Etc/UTC").ok());
  CHECK(cron::load_location("Europe/Berlin").ok());
  CHECK(cron::load_location("utc").error() == "unknown time zone utc");
  CHECK(cron::load_location("America").error() == "unknown time zone America");
  CHECK(cron::load_location("Fixed/UTC+01:00").error() == "unknown time zone Fixed/UTC+01:00");
  CHECK(cron::load_location("/etc/localtime").error() == "time: invalid location name");
}
