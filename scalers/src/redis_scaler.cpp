// Trigger types redis, redis-cluster and redis-sentinel (keda-compat §6.3): the length of a
// list, set, sorted set or hash.
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

struct RedisListConfig : redis::ConnectionParams {
  std::string list_name;
  std::int64_t list_length = 5;
  std::int64_t activation_list_length = 0;
};

const Table<RedisListConfig>& table() {
  static const Table<RedisListConfig> instance = [] {
    Table<RedisListConfig> t;
    t.add(&RedisListConfig::list_name, "listName", {M});
    t.add(&RedisListConfig::list_length, "listLength", {M}, {.default_value = "5"});
    t.add(&RedisListConfig::activation_list_length, "activationListLength", {M}, {.default_value = "0"});
    redis::add_connection_params(t);
    return t;
  }();
  return instance;
}

// One round trip, atomic, and routed by the key in cluster mode. Types without a length rule
// come back as their type name (a bulk string), which poll() turns into an error; a missing key
// ("none") counts as an empty list.
constexpr const char* kLengthScript = R"lua(
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'list' or t == 'none' then return redis.call('LLEN', KEYS[1]) end
if t == 'zset' then return redis.call('ZCARD', KEYS[1]) end
if t == 'set' then return redis.call('SCARD', KEYS[1]) end
if t == 'hash' then return redis.call('HLEN', KEYS[1]) end
return t
)lua";

class RedisListScaler final : public Scaler {
 public:
  RedisListScaler(redis::Client& pool, redis::Deployment deployment, std::string list, double activation)
      : pool_(pool), deployment_(std::move(deployment)), list_(std::move(list)), activation_(activation) {}

  Result<PollResult> poll() override {
    const redis::Command eval{"EVAL", kLengthScript, "1", list_};
    auto reply = pool_.execute(deployment_, list_, eval);
    if (!reply) return unexpected(reply.error());
    if (reply->is_integer()) {
      const auto value = static_cast<double>(reply->integer);
      return PollResult{value, value > activation_};
    }
    const std::string where = redis::describe_endpoint(deployment_);
    if (reply->is_error()) return fail(where + ": reading length of \"" + list_ + "\": " + reply->str, true);
    return fail(where + ": key \"" + list_ + "\" has type " + reply->str +
                "; only list, set, zset and hash keys have a length");
  }

 private:
  redis::Client& pool_;
  const redis::Deployment deployment_;
  const std::string list_;
  const double activation_;
};

class RedisListTrigger final : public TriggerConfig {
 public:
  RedisListTrigger(MetricSpec spec, redis::Deployment deployment, std::string list)
      : spec_(std::move(spec)), deployment_(std::move(deployment)), list_(std::move(list)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return redis::describe_endpoint(deployment_); }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(
        std::make_unique<RedisListScaler>(pools.get<redis::Client>(), deployment_, list_, spec_.activation_target));
  }

 private:
  MetricSpec spec_;
  redis::Deployment deployment_;
  std::string list_;
};

ParseResult parse(const TriggerContext& ctx) {
  RedisListConfig c;
  FieldErrors errors = table().parse(ctx, c);
  auto deployment = redis::build_deployment(ctx, c, redis::mode_for_type(ctx.type));
  if (!deployment) errors.insert(errors.end(), deployment.error().begin(), deployment.error().end());
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, "redis-" + c.list_name, static_cast<double>(c.list_length),
                              static_cast<double>(c.activation_list_length), TargetForm::Integer);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<RedisListTrigger>(std::move(spec), std::move(deployment).value(), c.list_name));
}

}  // namespace

void register_redis_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"redis", "redis-cluster", "redis-sentinel"},
                                .keda_name = "redisScaler",
                                .summary = "length of a list (or set, sorted set, hash)",
                                .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
