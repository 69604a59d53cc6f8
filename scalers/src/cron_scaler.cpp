// Trigger type cron (pkg/scalers/cron_scaler.go; notes spec-cron-k8s-cpumem §1): desiredReplicas
// while the schedule window is open, 0 otherwise, against a target of 1. `start` and `end` are
// robfig/cron v3 five-field specs (cron/schedule.h ports the parser and Next()), including the
// CRON_TZ=/TZ= prefix; `timezone` is an IANA name read from the system's tzdata through cctz.
// Activity is KEDA's rule exactly: compare the next start with the next end (windows spanning
// midnight work; a start that never fires means always active, an end that never fires never).
// A `timezone` that does not load is accepted when the trigger is parsed and fails every poll,
// as in KEDA; `ebb validate` warns about it.
//
// Differences from KEDA, on purpose:
// - Each problem is reported once, at its field, and all of them: KEDA's Validate() stops at the
//   first of start/end/equality/desiredReplicas and repeats "empty spec string" and "no
//   desiredReplicas specified" for parameters already reported missing or malformed.
// - A CRON_TZ=/TZ= prefix with no space after it is an error naming the prefix; robfig panics on
//   it and KEDA reports the recovered panic with a stack trace.
// - Where robfig's search for the next fire never ends (around a calendar day the zone skipped,
//   such as Pacific/Apia 2011-12-30) the poll is an error; KEDA's poll would never return.
// - One poll reads the clock once; KEDA reads it three times (now, next start, next end), which
//   differs only when a fire falls in the microseconds between the reads.
#include <memory>

#include "builtin.h"
#include "cron/schedule.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"

namespace ebb::scalers {
namespace {

using namespace params;

struct CronConfig {
  std::string start;
  std::string end;
  std::string timezone;
  std::int64_t desired_replicas = 0;
};

const Table<CronConfig>& table() {
  static const Table<CronConfig> instance = [] {
    Table<CronConfig> t;
    t.add(&CronConfig::start, "start", {M});
    t.add(&CronConfig::end, "end", {M});
    t.add(&CronConfig::timezone, "timezone", {M});
    t.add(&CronConfig::desired_replicas, "desiredReplicas", {M});
    return t;
  }();
  return instance;
}

class CronScaler final : public Scaler {
 public:
  CronScaler(const cron::Clock& clock, std::string timezone, cron::Schedule start,
             cron::Schedule end, std::int64_t desired)
      : clock_(clock),
        timezone_(std::move(timezone)),
        start_(std::move(start)),
        end_(std::move(end)),
        desired_(desired) {}

  Result<PollResult> poll() override {
    // Loaded on every poll, as KEDA does: a zone missing now may be installed later.
    auto zone = cron::load_location(timezone_);
    if (!zone) return fail("unable to load timezone: " + zone.error());
    const auto now = cron::to_instant(clock_.now());
    auto next_start = cron::next(start_, now, *zone);
    if (!next_start) return fail("error computing the next start: " + next_start.error());
    auto next_end = cron::next(end_, now, *zone);
    if (!next_end) return fail("error computing the next end: " + next_end.error());
    const bool active = cron::active(now, *next_start, *next_end);
    return PollResult{active ? static_cast<double>(desired_) : 0.0, active};
  }

 private:
  const cron::Clock& clock_;
  const std::string timezone_;
  const cron::Schedule start_, end_;
  const std::int64_t desired_;
};

class CronTrigger final : public TriggerConfig {
 public:
  CronTrigger(MetricSpec spec, CronConfig config, cron::Schedule start, cron::Schedule end)
      : spec_(std::move(spec)),
        config_(std::move(config)),
        start_(std::move(start)),
        end_(std::move(end)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "cron (timezone " + config_.timezone + ")"; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(std::make_unique<CronScaler>(
        pools.get<cron::Clock>(), config_.timezone, start_, end_, config_.desired_replicas));
  }

 private:
  MetricSpec spec_;
  CronConfig config_;
  cron::Schedule start_, end_;
};

bool has_error_at(const FieldErrors& errors, const std::string& path) {
  for (const auto& e : errors)
    if (e.path == path) return true;
  return false;
}

ParseResult parse(const TriggerContext& ctx) {
  CronConfig c;
  FieldErrors errors = table().parse(ctx, c);

  std::optional<cron::Schedule> start, end;
  if (!c.start.empty()) {
    auto parsed = cron::parse(c.start);
    if (parsed)
      start = *parsed;
    else
      errors.push_back(
          {path_of(ctx, "start", {M}), "error parsing start schedule: " + parsed.error()});
  }
  if (!c.end.empty()) {
    auto parsed = cron::parse(c.end);
    if (parsed)
      end = *parsed;
    else
      errors.push_back({path_of(ctx, "end", {M}), "error parsing end schedule: " + parsed.error()});
  }
  if (start && end && c.start == c.end)
    errors.push_back(
        {path_of(ctx, "end", {M}), "start and end can not have exactly same time input"});
  const auto desired_path = path_of(ctx, "desiredReplicas", {M});
  if (c.desired_replicas == 0 && !has_error_at(errors, desired_path))
    errors.push_back({desired_path, "no desiredReplicas specified"});
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx,
                              "cron-" + c.timezone + "-" + cron::metric_name_part(c.start) + "-" +
                                  cron::metric_name_part(c.end),
                              1, 0, TargetForm::Integer);
  return std::unique_ptr<TriggerConfig>(std::make_unique<CronTrigger>(
      std::move(spec), std::move(c), std::move(*start), std::move(*end)));
}

// Besides the table's findings: a timezone that does not load, which KEDA (and Ebb) accept at
// parse time and then fail on every poll.
FieldErrors warnings(const TriggerContext& ctx) {
  FieldErrors out = table().warnings(ctx);
  if (auto found = lookup(ctx, {"timezone"}, {M}))
    if (auto zone = cron::load_location(found->value); !zone)
      out.push_back({found->path, zone.error() +
                                      ": every poll will fail with \"unable to load timezone: " +
                                      zone.error() + "\""});
  return out;
}

}  // namespace

void register_cron_scaler(Registry& registry) {
  auto definition =
      ScalerDefinition{
          .types = {"cron"},
          .keda_name = "cronScaler",
          .summary = "desiredReplicas between a start and an end cron schedule, else 0",
          .cached_metrics = false,
          .parse = parse}
          .with_table(table());
  definition.warnings = warnings;
  registry.add(std::move(definition));
}

}  // namespace ebb::scalers
