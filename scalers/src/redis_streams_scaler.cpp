// Trigger types redis-streams, redis-cluster-streams and redis-sentinel-streams
// (keda-compat §6.4). Three modes, chosen by the metadata:
//   no consumerGroup                 -> stream length (XLEN)
//   consumerGroup and lagCount != 0  -> consumer group lag (XINFO GROUPS "lag", Redis >= 7)
//   consumerGroup otherwise          -> pending entries of the group (XPENDING)
#include <charconv>
#include <memory>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "redis/client.h"
#include "redis/metadata.h"

namespace ebb::scalers {

namespace {

using namespace params;

struct RedisStreamsConfig : redis::ConnectionParams {
  std::string stream;
  std::string consumer_group;
  std::int64_t pending_entries_count = 5;
  std::int64_t stream_length = 5;
  std::int64_t lag_count = 0;
  std::int64_t activation_lag_count = 0;
};

const Table<RedisStreamsConfig>& table() {
  static const Table<RedisStreamsConfig> instance = [] {
    Table<RedisStreamsConfig> t;
    t.add(&RedisStreamsConfig::stream, "stream", {M});
    t.add(&RedisStreamsConfig::consumer_group, "consumerGroup", {M}, {.optional = true});
    t.add(&RedisStreamsConfig::pending_entries_count, "pendingEntriesCount", {M}, {.default_value = "5"});
    t.add(&RedisStreamsConfig::stream_length, "streamLength", {M}, {.default_value = "5"});
    t.add(&RedisStreamsConfig::lag_count, "lagCount", {M}, {.optional = true});
    t.add(&RedisStreamsConfig::activation_lag_count, "activationLagCount", {M}, {.default_value = "0"});
    redis::add_connection_params(t);
    return t;
  }();
  return instance;
}

enum class StreamMode { StreamLength, PendingEntries, Lag };

StreamMode select_mode(const RedisStreamsConfig& c) {
  if (c.consumer_group.empty()) return StreamMode::StreamLength;
  return c.lag_count != 0 ? StreamMode::Lag : StreamMode::PendingEntries;
}

std::int64_t target_for(const RedisStreamsConfig& c, StreamMode mode) {
  switch (mode) {
    case StreamMode::StreamLength: return c.stream_length;
    case StreamMode::PendingEntries: return c.pending_entries_count;
    case StreamMode::Lag: return c.lag_count;
  }
  return 0;
}

// Major version from an INFO reply ("redis_version:7.0.15"); nullopt when absent.
std::optional<int> redis_major_version(std::string_view info) {
  const std::string_view field = "redis_version:";
  const auto at = info.find(field);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = info.data() + at + field.size();
  int major = 0;
  const auto [end, ec] = std::from_chars(begin, info.data() + info.size(), major);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return major;
}

// The "lag" of `group` in an XINFO GROUPS reply (RESP2: each group is a flat field/value array).
// A Nil lag (Redis cannot tell, e.g. after XDEL) comes back as found but not known.
struct GroupLag {
  bool found = false;
  bool known = false;
  long long lag = 0;
};
GroupLag find_group_lag(const redis::Reply& groups, const std::string& group) {
  GroupLag out;
  for (const auto& g : groups.elements) {
    const redis::Reply* name = nullptr;
    const redis::Reply* lag = nullptr;
    for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      if (g.elements[i].str == "name") name = &g.elements[i + 1];
      if (g.elements[i].str == "lag") lag = &g.elements[i + 1];
    }
    if (!name || name->str != group) continue;
    out.found = true;
    if (lag && lag->is_integer()) {
      out.known = true;
      out.lag = lag->integer;
    }
    return out;
  }
  return out;
}

class RedisStreamsScaler final : public Scaler {
 public:
  RedisStreamsScaler(redis::Client& pool, redis::Deployment deployment, RedisStreamsConfig config)
      : pool_(pool), deployment_(std::move(deployment)), c_(std::move(config)), mode_(select_mode(c_)) {}

  Result<PollResult> poll() override {
    auto value = read_value();
    if (!value) return unexpected(value.error());
    const auto v = static_cast<double>(*value);
    return PollResult{v, v > static_cast<double>(c_.activation_lag_count)};
  }

 private:
  Result<long long> read_value() {
    switch (mode_) {
      case StreamMode::StreamLength: return stream_length();
      case StreamMode::PendingEntries: return pending_entries();
      case StreamMode::Lag: return lag();
    }
    return 0LL;
  }

  std::string where() const { return redis::describe_endpoint(deployment_); }

  Unexpected<Error> reply_error(std::string_view what, const redis::Reply& r) const {
    return fail(where() + ": " + std::string(what) + " on stream \"" + c_.stream + "\": " +
                    (r.is_error() ? r.str : std::string("unexpected reply")),
                r.is_error());
  }

  Result<long long> stream_length() {
    auto r = pool_.execute(deployment_, c_.stream, redis::Command{"XLEN", c_.stream});
    if (!r) return unexpected(r.error());
    if (!r->is_integer()) return reply_error("XLEN", *r);
    return r->integer;
  }

  // A missing group (or stream) is an error: the count the user scales on does not exist yet.
  Result<long long> pending_entries() {
    auto r = pool_.execute(deployment_, c_.stream, redis::Command{"XPENDING", c_.stream, c_.consumer_group});
    if (!r) return unexpected(r.error());
    if (!r->is_array() || r->elements.empty() || !r->elements[0].is_integer()) return reply_error("XPENDING", *r);
    return r->elements[0].integer;
  }

  Result<long long> lag() {
    // INFO goes in the same pipeline, so the version check costs no extra round trip and is
    // answered by the node that holds the stream.
    const std::vector<redis::Command> commands{{"INFO", "server"}, {"XINFO", "GROUPS", c_.stream}};
    auto r = pool_.execute(deployment_, c_.stream, commands);
    if (!r) return unexpected(r.error());
    const auto& info = (*r)[0];
    const auto& groups = (*r)[1];
    const auto major = info.is_text() ? redis_major_version(info.str) : std::nullopt;
    if (!major) return reply_error("INFO server", info);
    if (*major < 7)
      return fail(where() + ": lag mode (lagCount) needs Redis 7 or newer, the server runs version " +
                  std::to_string(*major));
    if (groups.is_error()) {
      if (groups.str.find("no such key") != std::string::npos) return 0LL;  // stream not created yet
      return reply_error("XINFO GROUPS", groups);
    }
    if (!groups.is_array()) return reply_error("XINFO GROUPS", groups);
    const auto lag = find_group_lag(groups, c_.consumer_group);
    if (!lag.found) return stream_length();  // no consumer has read anything: everything is lag
    // Redis reports no lag when it cannot compute it (entries deleted inside the group's range);
    // an unknown value must not read as "no work", so it is an error, as every unknown is here.
    if (!lag.known)
      return fail(where() + ": Redis cannot compute the lag of consumer group \"" + c_.consumer_group +
                      "\" on stream \"" + c_.stream + "\" (entries were deleted)",
                  true);
    return lag.lag;
  }

  redis::Client& pool_;
  const redis::Deployment deployment_;
  const RedisStreamsConfig c_;
  const StreamMode mode_;
};

class RedisStreamsTrigger final : public TriggerConfig {
 public:
  RedisStreamsTrigger(MetricSpec spec, redis::Deployment deployment, RedisStreamsConfig config)
      : spec_(std::move(spec)), deployment_(std::move(deployment)), config_(std::move(config)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return redis::describe_endpoint(deployment_); }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(
        std::make_unique<RedisStreamsScaler>(pools.get<redis::Client>(), deployment_, config_));
  }

 private:
  MetricSpec spec_;
  redis::Deployment deployment_;
  RedisStreamsConfig config_;
};

ParseResult parse(const TriggerContext& ctx) {
  RedisStreamsConfig c;
  FieldErrors errors = table().parse(ctx, c);
  auto deployment = redis::build_deployment(ctx, c, redis::mode_for_type(ctx.type));
  if (!deployment) errors.insert(errors.end(), deployment.error().begin(), deployment.error().end());
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, "redis-streams-" + c.stream, static_cast<double>(target_for(c, select_mode(c))),
                              static_cast<double>(c.activation_lag_count), TargetForm::Integer);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<RedisStreamsTrigger>(std::move(spec), std::move(deployment).value(), std::move(c)));
}

}  // namespace

void register_redis_streams_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"redis-streams", "redis-cluster-streams", "redis-sentinel-streams"},
                                .keda_name = "redisStreamsScaler",
                                .summary = "stream length, pending entries or consumer group lag",
                                .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
