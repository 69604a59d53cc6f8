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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"

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

// status.scaleTargetGVKR: the resource the operator resolved spec.scaleTargetRef to.
struct ScaleTargetGVKR {
  std::string group, version, kind, resource;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // status.scaleTargetKind: "apps/v1.Deployment" (KEDA's GVKString()).
  std::string kind_string() const { return api_version() + "." + kind; }
  nlohmann::json to_json() const;  // {group, version, kind, resource}
  // nullopt unless version, kind and resource are non-empty strings.
  static std::optional<ScaleTargetGVKR> from_json(const nlohmann::json& gvkr);
  bool operator==(const ScaleTargetGVKR&) const = default;
};

// What the metrics adapter keeps of a ScaledObject's status once it has decoded the object
// (ScaledObject::adapter_status): the fields it writes, typed, so it can tell whether an update
// changes anything without the document, and the fields the operator resolved that it reads.
// The same members as an nlohmann tree cost ~2.9 KB an object (issue 16).
//
// A field whose document does not read back exactly (a non-string reason, a duplicated
// condition, a health entry Ebb would not write so) is marked not `exact`: an update to it counts
// as a change, and the write brings it back into shape.
struct AdapterStatus {
  struct OwnCondition {
    std::string status, reason, message;
    std::optional<std::int64_t> observed_generation;
    bool exact = true;
    bool operator==(const OwnCondition&) const = default;
  };
  std::optional<OwnCondition> active;             // conditions[type=Active]
  std::optional<OwnCondition> fallback;           // conditions[type=Fallback]
  std::optional<std::string> last_active_time;    // lastActiveTime as written
  std::map<std::string, MetricHealth> health;     // absent reads as empty
  std::map<std::string, bool> triggers_activity;  // absent reads as empty
  bool health_exact = true;
  bool triggers_activity_exact = true;
  std::optional<ScaleTargetGVKR> scale_target_gvkr;
  std::string scale_target_kind;
  std::vector<std::string> external_metric_names;
  bool operator==(const AdapterStatus&) const = default;
};
AdapterStatus read_adapter_status(const nlohmann::json& status);

// so.adapter_status when the adapter has set it, else read from so.status.
std::shared_ptr<const AdapterStatus> adapter_status_of(const ScaledObject& so);

}  // namespace ebb::api
