// Operator-owned status: the Ready derivation and field ownership.
#include <catch2/catch.hpp>

#include "ebb/operator/status.h"

using nlohmann::json;
using namespace ebb;

TEST_CASE("derive_ready: failure, pause, then trigger health from the adapter") {
  const std::vector<std::string> names{"s0-a", "s1-b"};
  auto failed = op::derive_ready(op::ReadyFailure{"ScaledObjectCheckFailed", "bad"}, false, json(), names);
  CHECK(failed == op::Condition{"Ready", "False", "ScaledObjectCheckFailed", "bad"});
  CHECK(op::derive_ready(std::nullopt, true, json(), names).message == "ScaledObject is paused");
  json status = {{"health", {{"s0-a", {{"numberOfFailures", 3}, {"status", "Failing"}}},
                             {"s1-b", {{"numberOfFailures", 0}, {"status", "Happy"}}}}}};
  auto partial = op::derive_ready(std::nullopt, false, status, names);
  CHECK(partial.status == "Unknown");
  CHECK(partial.reason == "PartialTriggerError");
  status["health"]["s1-b"]["status"] = "Failing";
  auto all = op::derive_ready(std::nullopt, false, status, names);
  CHECK(all.status == "False");
  CHECK(all.reason == "TriggerError");
  // Entries for metrics no longer in the spec do not count.
  auto current = op::derive_ready(std::nullopt, false, status, {"s2-c"});
  CHECK(current == op::Condition{"Ready", "True", "ScaledObjectReady",
                                 "ScaledObject is defined correctly and is ready for scaling"});
}

TEST_CASE("apply_operator_status touches only operator fields, originalReplicaCount is written once") {
  json status = {{"conditions", json::array({{{"type", "Active"}, {"status", "True"}, {"reason", "ScalerActive"}}})},
                 {"lastActiveTime", "2026-01-01T00:00:00Z"},
                 {"health", {{"s0-x", {{"status", "Happy"}}}}}};
  const json adapter_fields = status;
  op::OperatorStatus d;
  d.target = cluster::ScaleTargetGVKR{"apps", "v1", "Deployment", "deployments"};
  d.original_replica_count = 4;
  d.external_metric_names = std::vector<std::string>{"s0-x"};
  d.resource_metric_names = std::vector<std::string>{};
  d.hpa_name = "keda-hpa-x";
  d.triggers_types = "rabbitmq";
  d.authentications_types = "";
  d.conditions = {{"Ready", "True", "ScaledObjectReady", "ok"}, {"Active", "False", "Nope", "not ours"}};
  d.observed_generation = 3;
  CHECK(op::apply_operator_status(status, d, "T"));
  CHECK(status["scaleTargetKind"] == "apps/v1.Deployment");
  CHECK(status["scaleTargetGVKR"] == json::parse(R"({"group":"apps","version":"v1","kind":"Deployment","resource":"deployments"})"));
  CHECK(status["originalReplicaCount"] == 4);
  CHECK(status["hpaName"] == "keda-hpa-x");
  CHECK(status["lastActiveTime"] == adapter_fields["lastActiveTime"]);
  CHECK(status["health"] == adapter_fields["health"]);
  CHECK(api::get_condition(status, "Active")->status == "True");  // the adapter's condition is untouched
  CHECK(api::observed_generation(status, "Ready") == 3);
  CHECK_FALSE(status.contains("resourceMetricNames"));
  // Second application: nothing changes; a new replica count never overwrites the recorded one.
  d.original_replica_count = 9;
  CHECK_FALSE(op::apply_operator_status(status, d, "T2"));
  CHECK(status["originalReplicaCount"] == 4);
  d.paused_replica_count = std::optional<std::int32_t>(2);
  CHECK(op::apply_operator_status(status, d, "T2"));
  CHECK(status["pausedReplicaCount"] == 2);
  d.paused_replica_count = std::optional<std::int32_t>();
  CHECK(op::apply_operator_status(status, d, "T2"));
  CHECK_FALSE(status.contains("pausedReplicaCount"));
}
