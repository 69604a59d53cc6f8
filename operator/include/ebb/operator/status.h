// ScaledObject status, the operator's part (ARCHITECTURE.md "Who writes what"): the Ready
// derivation and applying the operator-owned fields onto a status read from the server, so a
// status write never touches what the adapter owns (Active, Fallback, lastActiveTime, health,
// triggersActivity). The contract both processes share (condition types and reasons, the
// hand-off rule, the health encoding) is ebb/api/status.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"
#include "ebb/api/status.h"
#include "ebb/cluster/scale_target.h"

namespace ebb::op {

using api::Condition;

// What stops a ScaledObject from being Ready, decided by the operator.
struct ReadyFailure {
  std::string reason;   // ScaledObjectCheckFailed or an ownership reason
  std::string message;  // names the field or the other object
};

// Ready (keda-compat §1.1.4, ARCHITECTURE.md): a failure wins; else paused -> True "ScaledObject is
// paused"; else the adapter's status.health over `external_metric_names`: every one Failing ->
// False/TriggerError, some -> Unknown/PartialTriggerError; else True/ScaledObjectReady.
Condition derive_ready(const std::optional<ReadyFailure>& failure, bool paused, const nlohmann::json& status,
                       const std::vector<std::string>& external_metric_names);

// The hand-off rule (ARCHITECTURE.md): the adapter may act on this ScaledObject (JSON as served):
// Ready observed the current generation and is True or not-True only for a trigger-health reason,
// originalReplicaCount is recorded, no deletionTimestamp, not fully paused.
bool adapter_may_act(const nlohmann::json& scaled_object);

// status.triggersTypes: distinct trigger types in spec order, comma-joined.
std::string triggers_types(const api::ScaledObject& so);
// status.authenticationsTypes: distinct authenticationRef names in spec order, comma-joined.
std::string authentications_types(const api::ScaledObject& so);

// The operator-owned status fields of one reconcile. Unset optionals leave the field as it is.
struct OperatorStatus {
  std::optional<cluster::ScaleTargetGVKR> target;        // scaleTargetKind + scaleTargetGVKR
  std::optional<std::int32_t> original_replica_count;    // written only while the status has none
  std::optional<std::vector<std::string>> external_metric_names;
  std::optional<std::vector<std::string>> resource_metric_names;
  std::optional<std::string> composite_scaler_name;      // "" removes it
  std::optional<std::string> hpa_name;                   // "" removes it
  // Outer unset: leave; inner nullopt: remove (unpaused).
  std::optional<std::optional<std::int32_t>> paused_replica_count;
  std::optional<std::string> triggers_types, authentications_types;
  std::vector<Condition> conditions;  // Ready, Paused, HPAActive only
  std::optional<std::int64_t> observed_generation;
};

// Applies `desired` onto `status` (an object or null; other fields untouched). Returns whether
// anything changed. Never touches Active, Fallback, lastActiveTime, health, triggersActivity.
bool apply_operator_status(nlohmann::json& status, const OperatorStatus& desired, std::string_view now);

}  // namespace ebb::op
