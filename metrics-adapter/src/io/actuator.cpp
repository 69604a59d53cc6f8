// The pure half of the actuator: the status merge patch, and Actuator::execute(), which only
// sequences the virtual writes (so any Actuator, the Kubernetes one included, runs a Decision the
// same way).
#include "ebb/adapter/actuator.h"

#include "ebb/api/status.h"
#include "ebb/json.h"
#include "ebb/time.h"

namespace ebb::adapter {

using nlohmann::json;

namespace {

// A whole-map replacement as a merge patch: the desired entries, and null for every key the
// current map has that the desired one drops (a merge patch would otherwise keep them).
// nullopt when the current map already equals the desired one (absent counts as empty).
std::optional<json> replace_map(const json& current, const json& desired) {
  const json current_map = current.is_object() ? current : json::object();
  if (current_map == desired) return std::nullopt;
  json patch = desired;
  for (auto it = current_map.begin(); it != current_map.end(); ++it)
    if (!desired.contains(it.key())) patch[it.key()] = nullptr;
  return patch;
}

}  // namespace

bool StatusUpdate::empty() const {
  return !active && !fallback && !last_active && !health && !triggers_activity;
}

std::optional<json> status_patch(const json& current_status, const StatusUpdate& update, std::int64_t generation,
                                 TimePoint now) {
  json patch = json::object();

  // Conditions: a merge patch replaces the whole array, so the patch carries every condition as
  // it was read (the operator's Ready, Paused, HPAActive untouched) with ours set in place.
  if (update.active || update.fallback) {
    json conditions = json_member(current_status, "conditions");
    if (!conditions.is_array()) conditions = json::array();
    const std::string now_text = format_rfc3339(now);
    bool changed = false;
    // The type is ours whatever the caller put in it: the adapter owns Active and Fallback only.
    if (update.active) {
      const auto& c = *update.active;
      changed |= api::set_condition(conditions, {std::string(api::kConditionActive), c.status, c.reason, c.message},
                                    generation, now_text);
    }
    if (update.fallback) {
      const auto& c = *update.fallback;
      changed |= api::set_condition(conditions,
                                    {std::string(api::kConditionFallback), c.status, c.reason, c.message}, generation,
                                    now_text);
    }
    if (changed) patch["conditions"] = std::move(conditions);
  }

  if (update.last_active) {
    const std::string text = format_rfc3339(*update.last_active);
    const json& current = json_member(current_status, "lastActiveTime");
    if (!(current.is_string() && current.get<std::string>() == text)) patch["lastActiveTime"] = text;
  }

  if (update.health) {
    if (auto p = replace_map(json_member(current_status, "health"), api::health_json(*update.health)))
      patch["health"] = std::move(*p);
  }

  if (update.triggers_activity) {
    if (auto p = replace_map(json_member(current_status, "triggersActivity"), api::triggers_activity_json(*update.triggers_activity)))
      patch["triggersActivity"] = std::move(*p);
  }

  if (patch.empty()) return std::nullopt;
  return json{{"status", std::move(patch)}};
}

std::vector<std::string> status_update_fields(const api::AdapterStatus& current,
                                              const StatusUpdate& update, std::int64_t generation) {
  std::vector<std::string> fields;
  // set_condition's rule: a write when the condition is new or any of its fields differs.
  auto differs = [&](const std::optional<api::AdapterStatus::OwnCondition>& held,
                     const Condition& wanted) {
    return !held || !held->exact || held->status != wanted.status ||
           held->reason != wanted.reason || held->message != wanted.message ||
           held->observed_generation != generation;
  };
  if ((update.active && differs(current.active, *update.active)) ||
      (update.fallback && differs(current.fallback, *update.fallback)))
    fields.emplace_back("conditions");
  if (update.last_active && current.last_active_time != format_rfc3339(*update.last_active))
    fields.emplace_back("lastActiveTime");
  if (update.health && (!current.health_exact || current.health != *update.health))
    fields.emplace_back("health");
  if (update.triggers_activity &&
      (!current.triggers_activity_exact || current.triggers_activity != *update.triggers_activity))
    fields.emplace_back("triggersActivity");
  return fields;
}

ExecutionReport Actuator::execute(const api::ScaledObject& so, const Decision& decision,
                                  const std::optional<std::map<std::string, MetricHealth>>& health,
                                  TimePoint now, StatusSink* sink) {
  ExecutionReport report;
  if (decision.skipped) return report;
  if (!leader()) {
    report.skipped_not_leader = true;
    return report;
  }

  std::vector<Event> events = decision.events;
  bool stamp_now = false;
  if (decision.scale) {
    const auto& action = *decision.scale;
    auto scaled = scale(so, action.to);
    if (scaled) {
      report.scaled_to = action.to;
      stamp_now = action.stamp_last_active;
      if (action.on_success) events.push_back(*action.on_success);
    } else {
      report.scale_error = scaled.error().message;
      Event failure = action.on_failure;
      failure.message += ": " + scaled.error().message;  // API errors name the request, never a credential
      events.push_back(std::move(failure));
    }
  }

  StatusUpdate update;
  update.active = decision.active_condition;
  update.fallback = decision.fallback_condition;
  update.last_active = stamp_now ? std::optional<TimePoint>(now) : decision.last_active;
  update.health = health;
  update.triggers_activity = decision.triggers_activity;
  if (sink) {
    if (!update.empty() || !events.empty()) {
      report.status_queued = true;
      sink->submit(so, std::move(update), events);
    }
    return report;
  }
  if (!update.empty()) {
    auto written = update_status(so, update);
    if (written)
      report.status_written = true;
    else
      report.status_error = written.error().message;
  }

  for (const auto& event : events) {
    record(so, event);  // failures are the recorder's to log; they never stop the rest
    report.events_recorded.push_back(event);
  }
  return report;
}

}  // namespace ebb::adapter
