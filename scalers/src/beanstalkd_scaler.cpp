// The `beanstalkd` trigger (KEDA pkg/scalers/beanstalkd_scaler.go): jobs
// ready + reserved (+ delayed) in a tube, from `stats-tube`, over connections shared per server
// (beanstalkd/client.h).
//
// Parameters, the metric name, the value and KEDA's rule that a tube that does not exist yet
// (NOT_FOUND) reads 0 with no error are KEDA's: a tube appears with its first job, so "no such
// tube" is a real, empty state. Not reaching the server, or any other answer, is an error.
// Where Ebb differs on purpose:
// - `timeout` defaults to 30 seconds. KEDA's default is the string "30", which its duration
//   parser reads as 30 milliseconds since 2025 (before, the field was whole seconds, and KEDA's
//   docs still say seconds): a dial timeout no real network meets. Explicit values are read as
//   KEDA reads them (a bare number is milliseconds, "30s" is seconds); a bare number below 1000
//   gets a warning, since it most likely meant seconds. 0 (KEDA: no dial timeout) is the 30 s
//   default too, as every connect here is bounded.
// - `timeout` bounds connecting; each stats-tube round trip has its own 5 s deadline (KEDA has
//   none outside the HPA's 3 s request, so a silent server hangs its scale loop).
// - `server` must be host:port with a port and `tube` a name beanstalkd accepts, checked when the
//   trigger is parsed (KEDA fails at dial time, or sends a broken command for a name with a space
//   or a line break).
// - No connection is opened while parsing or creating the scaler; the first poll connects.
//   Connections are shared per server (at most 2), where KEDA keeps one per trigger.
#include <memory>

#include "beanstalkd/client.h"
#include "beanstalkd/protocol.h"
#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/strings.h"

namespace ebb::scalers {

namespace {

using namespace params;

constexpr std::chrono::milliseconds kDefaultTimeout{30000};

struct BeanstalkdConfig {
  std::string server;
  std::string tube;
  double value = 0;
  double activation_value = 0;
  bool include_delayed = false;
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

const Table<BeanstalkdConfig>& table() {
  static const auto t =
      Table<BeanstalkdConfig>()
          .add(&BeanstalkdConfig::server, "server", {M})
          .add(&BeanstalkdConfig::tube, "tube", {M})
          .add(&BeanstalkdConfig::value, "value", {M})
          .add(&BeanstalkdConfig::activation_value, "activationValue", {M}, {.optional = true})
          .add(&BeanstalkdConfig::include_delayed, "includeDelayed", {M}, {.optional = true})
          .add(&BeanstalkdConfig::timeout, "timeout", {M}, {.default_value = "30s"});
  return t;
}

// KEDA reads a bare number as milliseconds; its docs (and KEDA before 2025) say seconds.
FieldErrors warnings(const TriggerContext& ctx) {
  FieldErrors out = table().warnings(ctx);
  if (auto found = lookup(ctx, {"timeout"}, {M})) {
    const auto& v = found->value;
    if (!v.empty() && v.size() <= 3 && v.find_first_not_of("0123456789") == std::string::npos &&
        v != "0")
      out.push_back(
          {found->path, "timeout " + quoted(v) + " is read as " + v +
                            " milliseconds (a bare number is milliseconds, as in KEDA); write \"" +
                            v + "s\" for seconds"});
  }
  return out;
}

class BeanstalkdScaler final : public Scaler {
 public:
  BeanstalkdScaler(beanstalkd::Connections& connections, beanstalkd::Server server,
                   std::string tube, bool include_delayed, double activation,
                   beanstalkd::Timeouts timeouts)
      : connections_(connections),
        server_(std::move(server)),
        tube_(std::move(tube)),
        include_delayed_(include_delayed),
        activation_(activation),
        timeouts_(timeouts) {}

  Result<PollResult> poll() override {
    auto stats = connections_.stats_tube(server_, tube_, timeouts_);
    if (!stats) {
      const auto& message = stats.error().message;
      if (message.starts_with("error connecting to beanstalkd: ")) return unexpected(stats.error());
      return fail("error interacting with beanstalkd: " + server_.str() + ": " + message,
                  stats.error().transient);
    }
    // NOT_FOUND: the tube has never had a job (or lost its last one and its last watcher).
    const double value = *stats ? beanstalkd::jobs(**stats, include_delayed_) : 0;
    return PollResult{value, value > activation_};
  }

 private:
  beanstalkd::Connections& connections_;
  const beanstalkd::Server server_;
  const std::string tube_;
  const bool include_delayed_;
  const double activation_;
  const beanstalkd::Timeouts timeouts_;
};

class BeanstalkdTrigger final : public TriggerConfig {
 public:
  BeanstalkdTrigger(MetricSpec spec, beanstalkd::Server server, BeanstalkdConfig config)
      : spec_(std::move(spec)), server_(std::move(server)), config_(std::move(config)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "beanstalkd " + server_.str(); }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    beanstalkd::Timeouts timeouts;
    timeouts.connect = config_.timeout.count() > 0 ? config_.timeout : kDefaultTimeout;
    return std::unique_ptr<Scaler>(std::make_unique<BeanstalkdScaler>(
        pools.get<beanstalkd::Connections>(), server_, config_.tube, config_.include_delayed,
        config_.activation_value, timeouts));
  }

 private:
  MetricSpec spec_;
  beanstalkd::Server server_;
  BeanstalkdConfig config_;
};

ParseResult parse(const TriggerContext& ctx) {
  BeanstalkdConfig c;
  FieldErrors errors = table().parse(ctx, c);
  auto server = beanstalkd::parse_server(c.server);
  if (!c.server.empty() && !server) errors.push_back({"metadata.server", server.error()});
  if (!c.tube.empty())
    if (auto problem = beanstalkd::tube_name_problem(c.tube))
      errors.push_back({"metadata.tube", *problem});
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, "beanstalkd-" + query_escape(c.tube), c.value,
                              c.activation_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(std::make_unique<BeanstalkdTrigger>(
      std::move(spec), std::move(server).value(), std::move(c)));
}

}  // namespace

void register_beanstalkd_scaler(Registry& registry) {
  ScalerDefinition definition =
      ScalerDefinition{.types = {"beanstalkd"},
                       .keda_name = "BeanstalkdScaler",
                       .summary = "jobs ready and reserved (and delayed) in a tube",
                       .parse = parse}
          .with_table(table());
  definition.warnings = warnings;
  registry.add(std::move(definition));
}

}  // namespace ebb::scalers
