#include "ebb/api/status.h"

#include "ebb/api/annotations.h"
#include "ebb/json.h"

namespace ebb::api {

using nlohmann::json;

namespace {

std::string string_of(const json& object, std::string_view key) {
  const auto& v = json_member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

const json* find_condition(const json& status, std::string_view type) {
  const auto& conditions = json_member(status, "conditions");
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions)
    if (c.is_object() && string_of(c, "type") == type) return &c;
  return nullptr;
}

}  // namespace

std::optional<Condition> get_condition(const json& status, std::string_view type) {
  const auto* c = find_condition(status, type);
  if (!c) return std::nullopt;
  return Condition{string_of(*c, "type"), string_of(*c, "status"), string_of(*c, "reason"), string_of(*c, "message")};
}

std::optional<std::int64_t> observed_generation(const json& status, std::string_view type) {
  const auto* c = find_condition(status, type);
  if (!c) return std::nullopt;
  const auto& g = json_member(*c, "observedGeneration");
  if (!g.is_number_integer()) return std::nullopt;
  return g.get<std::int64_t>();
}

bool set_condition(json& conditions, const Condition& condition, std::optional<std::int64_t> generation,
                   std::string_view now) {
  if (!conditions.is_array()) conditions = json::array();
  json* existing = nullptr;
  for (auto& c : conditions)
    if (c.is_object() && string_of(c, "type") == condition.type) existing = &c;
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
  if (string_of(*existing, "status") != condition.status)
    changed |= json_set(*existing, "lastTransitionTime", std::string(now));
  changed |= json_set(*existing, "status", condition.status);
  changed |= json_set(*existing, "reason", condition.reason);
  changed |= json_set(*existing, "message", condition.message);
  if (generation) changed |= json_set(*existing, "observedGeneration", *generation);
  return changed;
}

bool adapter_may_act(const json& so) {
  if (!so.is_object()) return false;
  const auto& meta = json_member(so, "metadata");
  if (!json_member(meta, "deletionTimestamp").is_null()) return false;
  Annotations annotations;
  const auto& given = json_member(meta, "annotations");
  if (given.is_object())
    for (auto it = given.begin(); it != given.end(); ++it)
      if (it->is_string()) annotations[it.key()] = it->get<std::string>();
  if (is_paused(annotations)) return false;
  const auto& status = json_member(so, "status");
  auto ready = get_condition(status, kConditionReady);
  if (!ready) return false;
  // Plain values, not optionals: g++ 12 reports a false maybe-uninitialized on optional compares.
  const auto& g = json_member(meta, "generation");
  const bool has_generation = g.is_number_integer();
  const std::int64_t generation = has_generation ? g.get<std::int64_t>() : 0;
  const auto observed = observed_generation(status, kConditionReady);
  if (observed.has_value() != has_generation || (has_generation && observed.value_or(-1) != generation)) return false;
  if (ready->status != "True" && ready->reason != kReasonTriggerError && ready->reason != kReasonPartialTriggerError)
    return false;
  return json_member(status, "originalReplicaCount").is_number_integer();
}

std::map<std::string, MetricHealth> read_health(const json& status) {
  std::map<std::string, MetricHealth> out;
  const auto& health = json_member(status, "health");
  if (!health.is_object()) return out;
  for (auto it = health.begin(); it != health.end(); ++it) {
    MetricHealth h;
    const auto& failures = json_member(*it, "numberOfFailures");
    if (failures.is_number_integer()) h.failures = failures.get<std::int32_t>();
    h.failing = string_of(*it, "status") == "Failing";
    out[it.key()] = h;
  }
  return out;
}

json health_json(const std::map<std::string, MetricHealth>& health) {
  json out = json::object();
  for (const auto& [metric, h] : health)
    out[metric] = {{"numberOfFailures", h.failures}, {"status", h.failing ? "Failing" : "Happy"}};
  return out;
}

json triggers_activity_json(const std::map<std::string, bool>& activity) {
  json out = json::object();
  for (const auto& [metric, active] : activity) out[metric] = {{"isActive", active}};
  return out;
}

json ScaleTargetGVKR::to_json() const {
  return json{{"group", group}, {"version", version}, {"kind", kind}, {"resource", resource}};
}

std::optional<ScaleTargetGVKR> ScaleTargetGVKR::from_json(const json& gvkr) {
  if (!gvkr.is_object()) return std::nullopt;
  ScaleTargetGVKR out{string_of(gvkr, "group"), string_of(gvkr, "version"), string_of(gvkr, "kind"),
                      string_of(gvkr, "resource")};
  if (out.version.empty() || out.kind.empty() || out.resource.empty()) return std::nullopt;
  return out;
}

namespace {

AdapterStatus::OwnCondition own_condition(const json& c) {
  AdapterStatus::OwnCondition out;
  auto text = [&](const char* key, std::string& into) {
    const auto& v = json_member(c, key);
    if (v.is_string())
      into = v.get<std::string>();
    else
      out.exact = false;  // absent or not a string: set_condition would write it
  };
  text("status", out.status);
  text("reason", out.reason);
  text("message", out.message);
  const auto& g = json_member(c, "observedGeneration");
  if (g.is_number_integer()) out.observed_generation = g.get<std::int64_t>();
  return out;
}

}  // namespace

AdapterStatus read_adapter_status(const json& status) {
  AdapterStatus out;
  if (!status.is_object()) return out;
  if (const auto& conditions = json_member(status, "conditions"); conditions.is_array()) {
    for (const auto& c : conditions) {
      if (!c.is_object()) continue;
      const std::string type = string_of(c, "type");
      std::optional<AdapterStatus::OwnCondition>* slot = type == kConditionActive ? &out.active
                                                         : type == kConditionFallback
                                                             ? &out.fallback
                                                             : nullptr;
      if (!slot) continue;
      if (*slot) {
        // get_condition reads the first, set_condition writes the last: neither is certain.
        (*slot)->exact = false;
        continue;
      }
      *slot = own_condition(c);
    }
  }
  if (const auto& t = json_member(status, "lastActiveTime"); t.is_string())
    out.last_active_time = t.get<std::string>();
  const auto& health = json_member(status, "health");
  out.health = read_health(status);
  out.health_exact = health.is_null() || health == health_json(out.health);
  const auto& activity = json_member(status, "triggersActivity");
  if (activity.is_object())
    for (auto it = activity.begin(); it != activity.end(); ++it)
      if (const auto& a = json_member(*it, "isActive"); a.is_boolean())
        out.triggers_activity[it.key()] = a.get<bool>();
  out.triggers_activity_exact =
      activity.is_null() || activity == triggers_activity_json(out.triggers_activity);
  out.scale_target_gvkr = ScaleTargetGVKR::from_json(json_member(status, "scaleTargetGVKR"));
  if (const auto& k = json_member(status, "scaleTargetKind"); k.is_string())
    out.scale_target_kind = k.get<std::string>();
  if (const auto& names = json_member(status, "externalMetricNames"); names.is_array())
    for (const auto& n : names)
      if (n.is_string()) out.external_metric_names.push_back(n.get<std::string>());
  return out;
}

std::shared_ptr<const AdapterStatus> adapter_status_of(const ScaledObject& so) {
  if (so.adapter_status) return so.adapter_status;
  return std::make_shared<const AdapterStatus>(read_adapter_status(so.status));
}

}  // namespace ebb::api
