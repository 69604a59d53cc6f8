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
