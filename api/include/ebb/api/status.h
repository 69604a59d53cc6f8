// The ScaledObject status contract between ebb-operator and ebb-metrics-adapter
// (ARCHITECTURE.md "Who writes what"), in one place both processes read: condition types and
// reasons, reading and setting conditions, the hand-off rule, and the encoding of the
// adapter-owned status.health and status.triggersActivity. Pure: JSON in, JSON out.
//
// Conditions carry KEDA's {type, status, reason, message} plus observedGeneration and
// lastTransitionTime (which changes only when the status value changes), as Kubernetes
// conventions ask; KEDA's own conditions have neither, and tools reading KEDA's fields ignore
// the extra two.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::api {

// Condition types (keda-compat §1.1.4). The operator writes Ready, Paused and HPAActive; the
// adapter writes Active and Fallback.
inline constexpr std::string_view kConditionReady = "Ready";
inline constexpr std::string_view kConditionActive = "Active";
inline constexpr std::string_view kConditionFallback = "Fallback";
inline constexpr std::string_view kConditionPaused = "Paused";
inline constexpr std::string_view kConditionHPAActive = "HPAActive";

// Ready reasons and messages.
inline constexpr std::string_view kReasonReady = "ScaledObjectReady";
inline constexpr std::string_view kReasonCheckFailed = "ScaledObjectCheckFailed";
inline constexpr std::string_view kReasonTriggerError = "TriggerError";
inline constexpr std::string_view kReasonPartialTriggerError = "PartialTriggerError";
inline constexpr std::string_view kMessageReady = "ScaledObject is defined correctly and is ready for scaling";
inline constexpr std::string_view kMessageTriggerError = "Triggers defined in ScaledObject are not working correctly";
inline constexpr std::string_view kMessagePartialTriggerError =
    "Some triggers defined in ScaledObject are not working correctly";
// Paused reasons and messages.
inline constexpr std::string_view kReasonPaused = "ScaledObjectPaused";
inline constexpr std::string_view kReasonUnpaused = "ScaledObjectUnpaused";
inline constexpr std::string_view kMessagePaused = "ScaledObject is paused";
inline constexpr std::string_view kMessageUnpaused = "pause annotation removed for ScaledObject";

struct Condition {
  std::string type, status, reason, message;
  bool operator==(const Condition&) const = default;
};

// The condition of `type` in status.conditions, if any.
std::optional<Condition> get_condition(const nlohmann::json& status, std::string_view type);
// status.conditions[type].observedGeneration, if any.
std::optional<std::int64_t> observed_generation(const nlohmann::json& status, std::string_view type);

// Sets (adds or replaces) one condition in a conditions array (created when null). The
// lastTransitionTime becomes `now` only when the condition is new or its status changes.
// Returns whether anything changed.
bool set_condition(nlohmann::json& conditions, const Condition& condition,
                   std::optional<std::int64_t> observed_generation, std::string_view now);

// The hand-off rule: the adapter may act on this ScaledObject (JSON as served) only when Ready
// observed the current generation and is True, or not True only for a trigger-health reason
// (which the adapter's own reports cause, so fallback keeps working); originalReplicaCount is
// recorded; there is no deletionTimestamp; and the object is not fully paused.
bool adapter_may_act(const nlohmann::json& scaled_object);

// One entry of status.health (keda-compat §4.8), keyed by external metric name.
struct MetricHealth {
  std::int32_t failures = 0;  // numberOfFailures
  bool failing = false;       // status "Failing" (else "Happy")
  bool operator==(const MetricHealth&) const = default;
};
std::map<std::string, MetricHealth> read_health(const nlohmann::json& status);
nlohmann::json health_json(const std::map<std::string, MetricHealth>& health);
// status.triggersActivity: {metric: {isActive: bool}}.
nlohmann::json triggers_activity_json(const std::map<std::string, bool>& activity);

}  // namespace ebb::api
