// The Scaler contract (ARCHITECTURE.md, docs/WRITING_A_SCALER.md): every trigger type has
//   - a PURE step: TriggerContext (metadata + auth params + resolved env) -> TriggerConfig or
//     field errors; TriggerConfig -> MetricSpec (name, target, type). No I/O, so the operator,
//     the adapter and `ebb validate` all derive identical metric names and HPA metrics.
//   - an I/O step: TriggerConfig -> Scaler (using shared ConnectionPools) -> poll() -> value and
//     activity, or an error. An unreachable source is an error, never the value 0.
// What is known of a trigger type as a whole (its KEDA names, whether it is polled) is its
// ScalerDefinition in the registry (registry.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ebb/result.h"

namespace ebb::scalers {

class ConnectionPools;

// How the HPA compares a metric with its target. Utilization exists only for resource metrics.
enum class MetricTargetType { AverageValue, Value, Utilization };
std::string_view to_string(MetricTargetType t);

// One trigger of a ScaledObject, with everything resolved that the pure step may read.
struct TriggerContext {
  std::size_t index = 0;   // position in spec.triggers: metric names start with "s<index>-"
  std::string type;        // trigger type as written, e.g. "redis"
  std::string name;        // spec.triggers[i].name (may be empty)
  std::string metric_type; // spec.triggers[i].metricType as written ("" means AverageValue)
  bool use_cached_metrics = false;
  // The ScaledObject has spec.advanced.scalingModifiers (KEDA's AsMetricSource): its triggers
  // feed a formula, so some scalers waive their "target must be > 0" rule.
  bool as_metric_source = false;
  std::map<std::string, std::string> metadata;      // spec.triggers[i].metadata
  std::map<std::string, std::string> auth_params;   // resolved from the (Cluster)TriggerAuthentication
  std::map<std::string, std::string> resolved_env;  // scale target container env: NAME -> value
  std::string scaled_object_namespace;
  std::string scaled_object_name;
};

// A resource metric (cpu, memory): the HPA evaluates it from metrics-server itself; nothing
// polls it, it has no external name and it never takes part in fallback or formulas.
struct ResourceMetric {
  std::string resource;        // "cpu", "memory"
  std::string container_name;  // non-empty: a ContainerResource metric for that container
};

// What one trigger contributes to the HPA.
struct MetricSpec {
  // External: the HPA external metric name, e.g. "s0-redis-mylist". Resource: the resource.
  std::string name;
  MetricTargetType target_type = MetricTargetType::AverageValue;
  // External: the numeric target (listLength, lagThreshold, ...). Resource: the percentage for
  // Utilization, the quantity's value for AverageValue.
  double target = 0;
  // The target as the HPA carries it: a Kubernetes quantity (External, and resource
  // AverageValue, as written there); empty for Utilization.
  std::string target_quantity;
  double activation_target = 0;  // active iff value > activation_target
  std::optional<ResourceMetric> resource;  // set for resource triggers
  bool external() const { return !resource.has_value(); }
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

  // Push (ARCHITECTURE.md decision 6), for definitions with `push`: the scaler tells the adapter
  // as soon as its source says activity may have changed, by calling `changed` from a thread of
  // its own; the adapter then polls the object at once instead of at its next interval. A
  // broken push path must fall back to being polled, never stop the trigger. watch() is called
  // at most once; stop_watch() before destruction. The default is poll-only.
  virtual void watch(std::function<void()> changed) { (void)changed; }
  virtual void stop_watch() {}
};

// Result of the pure step for one trigger.
class TriggerConfig {
 public:
  virtual ~TriggerConfig() = default;
  virtual const MetricSpec& metric_spec() const = 0;
  // Where this trigger reads from, for messages: "redis 127.0.0.1:6379", never credentials.
  virtual std::string endpoint() const = 0;
  // Builds the I/O side. Cheap: connections are taken from `pools` lazily on poll. Resource
  // triggers have no I/O side and return an error.
  virtual Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const = 0;
};

using ParseResult = Result<std::unique_ptr<TriggerConfig>, FieldErrors>;

}  // namespace ebb::scalers
