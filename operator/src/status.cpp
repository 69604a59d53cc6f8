#include "ebb/operator/status.h"

#include <set>

#include "ebb/json.h"
#include "ebb/strings.h"

namespace ebb::op {

using nlohmann::json;


Condition derive_ready(const std::optional<ReadyFailure>& failure, bool paused, const json& status,
                       const std::vector<std::string>& external_metric_names) {
  using namespace api;
  const std::string type(kConditionReady);
  if (failure) return {type, "False", failure->reason, failure->message};
  if (paused) return {type, "True", std::string(kReasonReady), std::string(kMessagePaused)};
  const auto health = read_health(status);
  std::size_t failing = 0;
  for (const auto& name : external_metric_names) {
    auto it = health.find(name);
    if (it != health.end() && it->second.failing) ++failing;
  }
  if (failing > 0 && failing == external_metric_names.size())
    return {type, "False", std::string(kReasonTriggerError), std::string(kMessageTriggerError)};
  if (failing > 0)
    return {type, "Unknown", std::string(kReasonPartialTriggerError), std::string(kMessagePartialTriggerError)};
  return {type, "True", std::string(kReasonReady), std::string(kMessageReady)};
}

std::string triggers_types(const api::ScaledObject& so) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& t : so.spec.triggers)
    if (seen.insert(t.type).second) out.push_back(t.type);
  return join(out, ",");
}

std::string authentications_types(const api::ScaledObject& so) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& t : so.spec.triggers)
    if (t.authentication_ref && !t.authentication_ref->name.empty() && seen.insert(t.authentication_ref->name).second)
      out.push_back(t.authentication_ref->name);
  return join(out, ",");
}

bool apply_operator_status(json& status, const OperatorStatus& d, std::string_view now) {
  if (!status.is_object()) status = json::object();
  bool changed = false;
  if (d.target) {
    changed |= json_set(status, "scaleTargetKind", d.target->kind_string());
    changed |= json_set(status, "scaleTargetGVKR", d.target->to_json());
  }
  if (d.original_replica_count && !(status.contains("originalReplicaCount") && status["originalReplicaCount"].is_number()))
    changed |= json_set(status, "originalReplicaCount", *d.original_replica_count);
  if (d.external_metric_names) {
    if (d.external_metric_names->empty())
      changed |= json_erase(status, "externalMetricNames");
    else
      changed |= json_set(status, "externalMetricNames", *d.external_metric_names);
  }
  if (d.resource_metric_names) {
    if (d.resource_metric_names->empty())
      changed |= json_erase(status, "resourceMetricNames");
    else
      changed |= json_set(status, "resourceMetricNames", *d.resource_metric_names);
  }
  if (d.composite_scaler_name) {
    if (d.composite_scaler_name->empty())
      changed |= json_erase(status, "compositeScalerName");
    else
      changed |= json_set(status, "compositeScalerName", *d.composite_scaler_name);
  }
  if (d.hpa_name) {
    if (d.hpa_name->empty())
      changed |= json_erase(status, "hpaName");
    else
      changed |= json_set(status, "hpaName", *d.hpa_name);
  }
  if (d.paused_replica_count) {
    if (*d.paused_replica_count)
      changed |= json_set(status, "pausedReplicaCount", **d.paused_replica_count);
    else
      changed |= json_erase(status, "pausedReplicaCount");
  }
  if (d.triggers_types) changed |= json_set(status, "triggersTypes", *d.triggers_types);
  if (d.authentications_types) changed |= json_set(status, "authenticationsTypes", *d.authentications_types);
  for (const auto& c : d.conditions) {
    if (c.type != api::kConditionReady && c.type != api::kConditionPaused && c.type != api::kConditionHPAActive)
      continue;  // not ours
    changed |= api::set_condition(status["conditions"], c, d.observed_generation, now);
  }
  return changed;
}

}  // namespace ebb::op
