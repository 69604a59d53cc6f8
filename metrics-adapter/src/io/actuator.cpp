// The pure half of the actuator: the status merge patch, and Actuator::execute(), which only
// sequences the virtual writes (so any Actuator, the Kubernetes one included, runs a Decision the
// same way).
#include "ebb/adapter/actuator.h"

#include <ctime>

#include "ebb/operator/status.h"

namespace ebb::adapter {

using nlohmann::json;

namespace {

std::string rfc3339_seconds(TimePoint t) {
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const std::time_t tt = Clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const json& member(const json& object, const char* key) {
  static const json null;
  if (!object.is_object()) return null;
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

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
    json conditions = member(current_status, "conditions");
    if (!conditions.is_array()) conditions = json::array();
    const std::string now_text = rfc3339_seconds(now);
    bool changed = false;
    // The type is ours whatever the caller put in it: the adapter owns Active and Fallback only.
    if (update.active) {
      const auto& c = *update.active;
      changed |= op::set_condition(conditions, op::Condition{"Active", c.status, c.reason, c.message}, generation,
                                   now_text);
    }
    if (update.fallback) {
      const auto& c = *update.fallback;
      changed |= op::set_condition(conditions, op::Condition{"Fallback", c.status, c.reason, c.message}, generation,
                                   now_text);
    }
    if (changed) patch["conditions"] = std::move(conditions);
  }

  if (update.last_active) {
    const std::string text = rfc3339_seconds(*update.last_active);
    const json& current = member(current_status, "lastActiveTime");
    if (!(current.is_string() && current.get<std::string>() == text)) patch["lastActiveTime"] = text;
  }

  if (update.health) {
    json desired = json::object();
    for (const auto& [metric, h] : *update.health)
      desired[metric] = {{"numberOfFailures", h.failures}, {"status", h.failing ? "Failing" : "Happy"}};
    if (auto p = replace_map(member(current_status, "health"), desired)) patch["health"] = std::move(*p);
  }

  if (update.triggers_activity) {
    json desired = json::object();
    for (const auto& [metric, active] : *update.triggers_activity) desired[metric] = {{"isActive", active}};
    if (auto p = replace_map(member(current_status, "triggersActivity"), desired))
      patch["triggersActivity"] = std::move(*p);
  }

  if (patch.empty()) return std::nullopt;
  return json{{"status", std::move(patch)}};
}

ExecutionReport Actuator::execute(const api::ScaledObject& so, const Decision& decision,
                                  const std::optional<std::map<std::string, MetricHealth>>& health, TimePoint now) {
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
