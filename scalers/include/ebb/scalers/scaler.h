// The Scaler contract (ARCHITECTURE.md): every trigger type has
//   - a PURE step: TriggerContext (metadata + auth params + resolved env) -> TriggerConfig or
//     field errors; TriggerConfig -> MetricSpec (name, target, type). No I/O, so the operator,
//     the adapter and `ebb validate` all derive identical metric names.
//   - an I/O step: TriggerConfig -> Scaler (using shared ConnectionPools) -> poll() -> value and
//     activity, or an error. An unreachable source is an error, never the value 0.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ebb/result.h"

namespace ebb::scalers {

class ConnectionPools;

enum class MetricTargetType { AverageValue, Value };
std::string_view to_string(MetricTargetType t);

// One trigger of a ScaledObject, with everything resolved that the pure step may read.
struct TriggerContext {
  std::size_t index = 0;   // position in spec.triggers: metric names start with "s<index>-"
  std::string type;        // trigger type as written, e.g. "redis"
  std::string name;        // spec.triggers[i].name (may be empty)
  std::string metric_type; // spec.triggers[i].metricType as written ("" means AverageValue)
  bool use_cached_metrics = false;
  std::map<std::string, std::string> metadata;      // spec.triggers[i].metadata
  std::map<std::string, std::string> auth_params;   // resolved from the (Cluster)TriggerAuthentication
  std::map<std::string, std::string> resolved_env;  // scale target container env: NAME -> value
  std::string scaled_object_namespace;
  std::string scaled_object_name;
};

struct MetricSpec {
  std::string name;            // HPA external metric name, e.g. "s0-redis-mylist"
  MetricTargetType target_type = MetricTargetType::AverageValue;
  double target = 0;           // numeric target (listLength, lagThreshold, value ...)
  std::string target_quantity; // the same target as the Kubernetes quantity the HPA carries
  double activation_target = 0;  // active iff value > activation_target
};

struct PollResult {
  double value = 0;   // metric value before quantisation
  bool active = false;
};

// I/O step for one trigger. poll() blocks for at most the scaler's timeout. Implementations are
// safe to call from one thread at a time; different Scalers may be polled concurrently.
class Scaler {
 public:
  virtual ~Scaler() = default;
  virtual Result<PollResult> poll() = 0;
};

// Result of the pure step for one trigger.
class TriggerConfig {
 public:
  virtual ~TriggerConfig() = default;
  virtual const MetricSpec& metric_spec() const = 0;
  // Where this trigger reads from, for messages: "redis 127.0.0.1:6379", never credentials.
  virtual std::string endpoint() const = 0;
  // Builds the I/O side. Cheap: connections are taken from `pools` lazily on poll.
  virtual Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const = 0;
};

using ParseResult = Result<std::unique_ptr<TriggerConfig>, FieldErrors>;

}  // namespace ebb::scalers
