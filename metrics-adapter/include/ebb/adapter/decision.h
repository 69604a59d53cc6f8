// The adapter's scale decision (keda-compat §4.3, §4.4, §4.7, §4.8, §4.9; ARCHITECTURE.md
// decisions 1, 2, 8, 9). Pure: no clock, no I/O. The poll loop gathers the inputs (object,
// current replicas from /scale, one outcome per external metric), calls decide(), and carries
// out what it says: PUT /scale, patch status (Active, Fallback, lastActiveTime, health), and
// record Events. metrics-adapter/README.md states the rules in prose.
//
// Differences from KEDA, on purpose:
// - A failed trigger is unknown, never inactive: while any trigger failed and none is active,
//   the adapter never deactivates (KEDA scales in when fallback.replicas is 0).
// - Where the HPA cannot act (the target at 0, or at idleReplicaCount below min), an active
//   fallback scales the target directly to the fallback replicas.
// - lastActiveTime is refreshed by every active poll, also when another trigger failed (KEDA
//   skips the refresh then), so an outage never counts towards the cooldown.
// - paused-scale-out also blocks raising an inactive target to minReplicaCount.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/api/objects.h"
#include "ebb/api/status.h"
#include "ebb/result.h"
#include "ebb/scalers/formula.h"
#include "ebb/scalers/scaler.h"

namespace ebb::adapter {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// ---------------------------------------------------------------------------------------------
// Policy: the parts of a ScaledObject the decision reads.

enum class FallbackBehavior { Static, CurrentReplicas, CurrentReplicasIfHigher, CurrentReplicasIfLower, ScalingModifiers };
std::optional<FallbackBehavior> parse_fallback_behavior(std::string_view behavior);
std::string_view to_string(FallbackBehavior behavior);

struct FallbackPolicy {
  std::int32_t failure_threshold = 0;
  std::int32_t replicas = 0;
  FallbackBehavior behavior = FallbackBehavior::Static;
};

struct CompositePolicy {  // advanced.scalingModifiers
  scalers::Formula formula;
  double target = 0;
  double activation_target = 0;
  scalers::MetricTargetType metric_type = scalers::MetricTargetType::AverageValue;
};

struct ScalingPolicy {
  std::int32_t min_replicas = 0;              // minReplicaCount, unset = 0
  std::optional<std::int32_t> idle_replicas;  // idleReplicaCount, unset = no idle mode
  std::int32_t max_replicas = 100;
  std::chrono::seconds cooldown{300};
  std::chrono::seconds initial_cooldown{0};
  // Set only when the fallback is valid as KEDA's HasValidFallback decides (§4.8): thresholds
  // >= 0 and, with scalingModifiers, a target that is an integer > 0. An invalid one is ignored.
  std::optional<FallbackPolicy> fallback;
  std::optional<CompositePolicy> composite;
  bool paused = false;            // paused or paused-replicas: the adapter does nothing
  bool paused_scale_in = false;   // never deactivate
  bool paused_scale_out = false;  // never activate or raise
  bool force_activation = false;
};

// Reads the policy from a ScaledObject (annotations parsed as KEDA does, §2). Fails on what
// makes the object unusable: a formula that does not compile, an unparsable scalingModifiers
// target. The formula's variables are the names of the named non-cpu/memory triggers.
Result<ScalingPolicy> scaling_policy(const api::ScaledObject& so);

// ---------------------------------------------------------------------------------------------
// Fallback accounting (§4.8): status.health[metric], counted on every query of the metric,
// polls and HPA reads alike, and only while a valid fallback is configured.

using api::MetricHealth;  // status.health[metric]
MetricHealth next_health(const MetricHealth& before, bool query_succeeded);
// The metric is served its fallback value: it is failing with failures > failureThreshold.
bool fallback_engaged(const FallbackPolicy& fallback, const MetricHealth& health);

// R of §4.8: the replica count the fallback asks for, given the target's current replicas.
std::int32_t fallback_replicas(const FallbackPolicy& fallback, std::int32_t current_replicas);

// ---------------------------------------------------------------------------------------------
// Values served to the HPA

struct ServedValue {
  double value = 0;      // what the HPA will read
  std::string quantity;  // the quantity string in the ExternalMetricValue
};
// A scaler's value (§5.4, KEDA GenerateMetricInMili).
ServedValue metric_value(double value);
// The composite-metric value (§4.9: int64(value*1000) thousandths, SetMilli exponent form).
ServedValue composite_value(double value);
// The fallback value of one metric (§4.8): T × R thousandths, with R divided by the ready pods
// for a Value target. `target` is the trigger's target, or scalingModifiers.target for the
// composite metric. Errors: Value target with 0 ready pods.
Result<ServedValue> fallback_value(const FallbackPolicy& fallback, std::int32_t current_replicas,
                                   scalers::MetricTargetType target_type, double target,
                                   std::int32_t ready_pods);

// ---------------------------------------------------------------------------------------------
// The decision

// One external metric's outcome in this poll.
struct TriggerOutcome {
  std::string metric_name;   // "s0-rabbitmq-orders"
  std::string trigger_name;  // spec.triggers[i].name, "" when unnamed; the formula's variable
  std::string trigger_type;  // "rabbitmq", for messages
  std::optional<double> value;       // set when the query succeeded
  bool active = false;               // the scaler's activity (value > activationThreshold)
  std::optional<std::string> error;  // set when it failed: unreachable, auth, scaler not built...
  MetricHealth health;               // status.health[metric] after counting this query

  bool failed() const { return error.has_value(); }
};

struct DecisionInput {
  ScalingPolicy policy;
  TimePoint now;
  TimePoint created;                       // metadata.creationTimestamp
  std::optional<TimePoint> last_active;    // status.lastActiveTime
  std::int32_t current_replicas = 0;       // /scale spec.replicas
  std::vector<TriggerOutcome> triggers;    // every external metric of the object
  bool fallback_was_active = false;        // status.conditions[Fallback] was True
  std::string scale_target;                // "apps/v1.Deployment shop/orders-worker"
};

enum class ScaleReason {
  Activate,          // 0 (or idle) -> max(minReplicaCount, 1)
  DeactivateToIdle,  // -> idleReplicaCount after the cooldown
  DeactivateToZero,  // -> 0 after the cooldown
  Fallback,          // -> fallback replicas where the HPA cannot act
  RaiseToMin,        // inactive below minReplicaCount without idle mode -> minReplicaCount
};
std::string_view to_string(ScaleReason reason);

using api::Condition;  // Active and Fallback, the adapter's conditions

struct Event {
  std::string type;  // "Normal", "Warning"
  std::string reason;
  std::string message;
  bool operator==(const Event&) const = default;
};

struct ScaleAction {
  std::int32_t from = 0;
  std::int32_t to = 0;
  ScaleReason reason = ScaleReason::Activate;
  bool stamp_last_active = false;  // on success, lastActiveTime := now
  std::optional<Event> on_success;
  Event on_failure;
};

struct Decision {
  bool skipped = false;   // fully paused: no write of any kind
  bool active = false;    // some trigger active (or fallback with replicas, or forced)
  bool unknown = false;   // some trigger failed and no fallback covers it
  bool fallback_active = false;
  std::optional<double> composite;  // the composite value, when scalingModifiers are used
  std::optional<ScaleAction> scale;
  // lastActiveTime to write now regardless of any scale (nullopt: leave it).
  std::optional<TimePoint> last_active;
  std::optional<Condition> active_condition;
  std::optional<Condition> fallback_condition;
  std::vector<Event> events;                   // to record now
  std::map<std::string, bool> triggers_activity;  // status.triggersActivity
};

Decision decide(const DecisionInput& input);

}  // namespace ebb::adapter
