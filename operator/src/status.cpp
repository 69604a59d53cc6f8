#include "ebb/operator/status.h"

#include <chrono>
#include <ctime>
#include <set>

#include "ebb/api/annotations.h"
#include "ebb/strings.h"

namespace ebb::op {

using nlohmann::json;

namespace {

std::string str_member(const json& o, const char* key) {
  if (!o.is_object()) return {};
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* find_condition(const json& status, std::string_view type) {
  if (!status.is_object()) return nullptr;
  auto it = status.find("conditions");
  if (it == status.end() || !it->is_array()) return nullptr;
  for (const auto& c : *it)
    if (c.is_object() && str_member(c, "type") == type) return &c;
  return nullptr;
}

bool set_member(json& object, const char* key, json value) {
  if (object.contains(key) && object[key] == value) return false;
  object[key] = std::move(value);
  return true;
}

bool erase_member(json& object, const char* key) { return object.erase(key) > 0; }

}  // namespace

std::optional<Condition> get_condition(const json& status, std::string_view type) {
  const auto* c = find_condition(status, type);
  if (!c) return std::nullopt;
  return Condition{str_member(*c, "type"), str_member(*c, "status"), str_member(*c, "reason"),
                   str_member(*c, "message")};
}

std::optional<std::int64_t> observed_generation(const json& status, std::string_view type) {
  const auto* c = find_condition(status, type);
  if (!c) return std::nullopt;
  auto it = c->find("observedGeneration");
  if (it == c->end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

bool set_condition(json& conditions, const Condition& condition, std::optional<std::int64_t> generation,
                   std::string_view now) {
  if (!conditions.is_array()) conditions = json::array();
  json* existing = nullptr;
  for (auto& c : conditions)
    if (c.is_object() && str_member(c, "type") == condition.type) existing = &c;
  if (!existing) {
    json c = {{"type", condition.type},
              {"status", condition.status},
              {"reason", condition.reason},
              {"message", condition.message},
              {"lastTransitionTime", now}};
    if (generation) c["observedGeneration"] = *generation;
    conditions.push_back(std::move(c));
    return true;
  }
  bool changed = false;
  // Only a status change moves lastTransitionTime (a schema that prunes it must not cause a write per pass).
  if (str_member(*existing, "status") != condition.status)
    changed |= set_member(*existing, "lastTransitionTime", std::string(now));
  changed |= set_member(*existing, "status", condition.status);
  changed |= set_member(*existing, "reason", condition.reason);
  changed |= set_member(*existing, "message", condition.message);
  if (generation) changed |= set_member(*existing, "observedGeneration", *generation);
  return changed;
}

std::string now_rfc3339() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Condition derive_ready(const std::optional<ReadyFailure>& failure, bool paused, const json& status,
                       const std::vector<std::string>& external_metric_names) {
  const std::string type(kReady);
  if (failure) return {type, "False", failure->reason, failure->message};
  if (paused) return {type, "True", std::string(kReasonReady), std::string(kMessagePaused)};
  std::size_t failing = 0;
  if (status.is_object() && status.contains("health") && status["health"].is_object()) {
    const auto& health = status["health"];
    for (const auto& name : external_metric_names) {
      auto it = health.find(name);
      if (it != health.end() && str_member(*it, "status") == "Failing") ++failing;
    }
  }
  if (failing > 0 && failing == external_metric_names.size())
    return {type, "False", std::string(kReasonTriggerError), std::string(kMessageTriggerError)};
  if (failing > 0)
    return {type, "Unknown", std::string(kReasonPartialTriggerError), std::string(kMessagePartialTriggerError)};
  return {type, "True", std::string(kReasonReady), std::string(kMessageReady)};
}

bool adapter_may_act(const json& so) {
  if (!so.is_object()) return false;
  const auto& meta = so.contains("metadata") ? so["metadata"] : json();
  if (meta.is_object() && meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null()) return false;
  api::Annotations annotations;
  if (meta.is_object() && meta.contains("annotations") && meta["annotations"].is_object())
    for (auto it = meta["annotations"].begin(); it != meta["annotations"].end(); ++it)
      if (it->is_string()) annotations[it.key()] = it->get<std::string>();
  if (api::is_paused(annotations)) return false;
  const auto& status = so.contains("status") ? so["status"] : json();
  auto ready = get_condition(status, kReady);
  if (!ready) return false;
  // Plain values, not optionals: g++ 12 reports a false maybe-uninitialized on optional compares.
  const bool has_generation = meta.is_object() && meta.contains("generation") && meta["generation"].is_number_integer();
  const std::int64_t generation = has_generation ? meta["generation"].get<std::int64_t>() : 0;
  const auto observed = observed_generation(status, kReady);
  if (observed.has_value() != has_generation || (has_generation && observed.value_or(-1) != generation)) return false;
  if (ready->status != "True" && ready->reason != kReasonTriggerError && ready->reason != kReasonPartialTriggerError)
    return false;
  return status.is_object() && status.contains("originalReplicaCount") && status["originalReplicaCount"].is_number_integer();
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
    changed |= set_member(status, "scaleTargetKind", d.target->kind_string());
    changed |= set_member(status, "scaleTargetGVKR", d.target->to_json());
  }
  if (d.original_replica_count && !(status.contains("originalReplicaCount") && status["originalReplicaCount"].is_number()))
    changed |= set_member(status, "originalReplicaCount", *d.original_replica_count);
  if (d.external_metric_names) {
    if (d.external_metric_names->empty())
      changed |= erase_member(status, "externalMetricNames");
    else
      changed |= set_member(status, "externalMetricNames", *d.external_metric_names);
  }
  if (d.resource_metric_names) {
    if (d.resource_metric_names->empty())
      changed |= erase_member(status, "resourceMetricNames");
    else
      changed |= set_member(status, "resourceMetricNames", *d.resource_metric_names);
  }
  if (d.composite_scaler_name) {
    if (d.composite_scaler_name->empty())
      changed |= erase_member(status, "compositeScalerName");
    else
      changed |= set_member(status, "compositeScalerName", *d.composite_scaler_name);
  }
  if (d.hpa_name) {
    if (d.hpa_name->empty())
      changed |= erase_member(status, "hpaName");
    else
      changed |= set_member(status, "hpaName", *d.hpa_name);
  }
  if (d.paused_replica_count) {
    if (*d.paused_replica_count)
      changed |= set_member(status, "pausedReplicaCount", **d.paused_replica_count);
    else
      changed |= erase_member(status, "pausedReplicaCount");
  }
  if (d.triggers_types) changed |= set_member(status, "triggersTypes", *d.triggers_types);
  if (d.authentications_types) changed |= set_member(status, "authenticationsTypes", *d.authentications_types);
  for (const auto& c : d.conditions) {
    if (c.type != kReady && c.type != kPaused && c.type != kHPAActive) continue;  // not ours
    changed |= set_condition(status["conditions"], c, d.observed_generation, now);
  }
  return changed;
}

}  // namespace ebb::op
