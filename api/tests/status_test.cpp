// The status contract both processes share: conditions, the hand-off rule, health encoding.
#include <catch2/catch.hpp>

#include "ebb/api/status.h"

using nlohmann::json;
using namespace ebb;

TEST_CASE("set_condition: lastTransitionTime changes only with the status, observedGeneration is set") {
  json conditions;
  CHECK(api::set_condition(conditions, {"Ready", "False", "ScaledObjectCheckFailed", "m1"}, 1, "T1"));
  REQUIRE(conditions.size() == 1);
  CHECK(conditions[0]["lastTransitionTime"] == "T1");
  CHECK(conditions[0]["observedGeneration"] == 1);
  // Same status, new message: no transition.
  CHECK(api::set_condition(conditions, {"Ready", "False", "ScaledObjectCheckFailed", "m2"}, 2, "T2"));
  CHECK(conditions[0]["lastTransitionTime"] == "T1");
  CHECK(conditions[0]["message"] == "m2");
  CHECK(conditions[0]["observedGeneration"] == 2);
  // Identical: no change at all.
  CHECK_FALSE(api::set_condition(conditions, {"Ready", "False", "ScaledObjectCheckFailed", "m2"}, 2, "T3"));
  CHECK(api::set_condition(conditions, {"Ready", "True", "ScaledObjectReady", "ok"}, 2, "T4"));
  CHECK(conditions[0]["lastTransitionTime"] == "T4");
  CHECK(api::get_condition(json{{"conditions", conditions}}, "Ready")->reason == "ScaledObjectReady");
}

TEST_CASE("hand-off rule: the adapter acts only on an accepted, current, unpaused object") {
  json so = json::parse(R"({"metadata":{"name":"x","generation":2},
     "status":{"originalReplicaCount":1,"conditions":[
       {"type":"Ready","status":"True","reason":"ScaledObjectReady","observedGeneration":2}]}})");
  CHECK(api::adapter_may_act(so));
  auto stale = so;
  stale["metadata"]["generation"] = 3;
  CHECK_FALSE(api::adapter_may_act(stale));
  auto invalid = so;
  invalid["status"]["conditions"][0]["status"] = "False";
  invalid["status"]["conditions"][0]["reason"] = "ScaledObjectCheckFailed";
  CHECK_FALSE(api::adapter_may_act(invalid));
  auto broken_trigger = invalid;
  broken_trigger["status"]["conditions"][0]["reason"] = "TriggerError";
  CHECK(api::adapter_may_act(broken_trigger));
  auto paused = so;
  paused["metadata"]["annotations"] = {{"autoscaling.keda.sh/paused-replicas", "0"}};
  CHECK_FALSE(api::adapter_may_act(paused));
  auto deleting = so;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  CHECK_FALSE(api::adapter_may_act(deleting));
  auto no_original = so;
  no_original["status"].erase("originalReplicaCount");
  CHECK_FALSE(api::adapter_may_act(no_original));
}

TEST_CASE("status.health and triggersActivity: written as KEDA writes them, read back the same") {
  const std::map<std::string, api::MetricHealth> health{{"s0-a", {3, true}}, {"s1-b", {0, false}}};
  const json encoded = api::health_json(health);
  CHECK(encoded == json::parse(R"({"s0-a":{"numberOfFailures":3,"status":"Failing"},
                                   "s1-b":{"numberOfFailures":0,"status":"Happy"}})"));
  CHECK(api::read_health(json{{"health", encoded}}) == health);
  CHECK(api::read_health(json{{"health", "not a map"}}).empty());
  CHECK(api::triggers_activity_json({{"s0-a", true}}) == json::parse(R"({"s0-a":{"isActive":true}})"));
}

TEST_CASE(
    "read_adapter_status: the adapter's typed part of a status, and what does not read back "
    "exactly") {
  const json status = json::parse(R"({
    "conditions":[
      {"type":"Ready","status":"True","reason":"ScaledObjectReady","message":"ok","observedGeneration":2},
      {"type":"Active","status":"True","reason":"ScalerActive","message":"m","observedGeneration":2,
       "lastTransitionTime":"2026-01-01T00:00:00Z"},
      {"type":"Fallback","status":"False","reason":"NoFallbackFound","message":"none"}],
    "lastActiveTime":"2026-01-01T00:00:00Z",
    "health":{"s0-redis-q":{"numberOfFailures":1,"status":"Happy"}},
    "triggersActivity":{"s0-redis-q":{"isActive":true}},
    "scaleTargetGVKR":{"group":"apps","version":"v1","kind":"Deployment","resource":"deployments"},
    "scaleTargetKind":"apps/v1.Deployment",
    "externalMetricNames":["s0-redis-q", 7],
    "hpaName":"keda-hpa-x","originalReplicaCount":1})");
  const auto s = api::read_adapter_status(status);
  REQUIRE(s.active);
  CHECK(*s.active == api::AdapterStatus::OwnCondition{"True", "ScalerActive", "m", 2, true});
  REQUIRE(s.fallback);
  CHECK(s.fallback->observed_generation == std::nullopt);
  CHECK(s.fallback->exact);
  CHECK(s.last_active_time == "2026-01-01T00:00:00Z");
  CHECK(s.health == std::map<std::string, api::MetricHealth>{{"s0-redis-q", {1, false}}});
  CHECK(s.health_exact);
  CHECK(s.triggers_activity == std::map<std::string, bool>{{"s0-redis-q", true}});
  CHECK(s.triggers_activity_exact);
  CHECK(s.scale_target_gvkr == api::ScaleTargetGVKR{"apps", "v1", "Deployment", "deployments"});
  CHECK(s.scale_target_kind == "apps/v1.Deployment");
  CHECK(s.external_metric_names == std::vector<std::string>{"s0-redis-q"});

  CHECK(api::read_adapter_status(nullptr) == api::AdapterStatus{});
  CHECK(api::read_adapter_status("text") == api::AdapterStatus{});

  auto odd = status;
  odd["conditions"].push_back(odd["conditions"][1]);        // Active twice
  odd["conditions"][2]["message"] = 3;                      // Fallback message no string
  odd["health"]["s0-redis-q"]["numberOfFailures"] = "1";    // reads as 0
  odd["triggersActivity"]["s0-redis-q"]["isActive"] = "y";  // dropped
  odd["scaleTargetGVKR"].erase("resource");                 // unusable
  const auto o = api::read_adapter_status(odd);
  CHECK_FALSE(o.active->exact);
  CHECK_FALSE(o.fallback->exact);
  CHECK_FALSE(o.health_exact);
  CHECK_FALSE(o.triggers_activity_exact);
  CHECK(o.triggers_activity.empty());
  CHECK_FALSE(o.scale_target_gvkr.has_value());
}

TEST_CASE("adapter_status_of: the adapter's typed status when set, else read from the document") {
  api::ScaledObject so;
  so.status = json::parse(R"({"lastActiveTime":"2026-01-01T00:00:00Z"})");
  CHECK(api::adapter_status_of(so)->last_active_time == "2026-01-01T00:00:00Z");
  auto typed = std::make_shared<api::AdapterStatus>();
  typed->scale_target_kind = "apps/v1.StatefulSet";
  so.adapter_status = typed;
  so.status = nullptr;
  CHECK(api::adapter_status_of(so) == so.adapter_status);
  CHECK(api::adapter_status_of(so)->scale_target_kind == "apps/v1.StatefulSet");
}
