// Decoding ScaledObjects: structural errors with Kubernetes field paths, defaults, round trips.
#include <catch2/catch.hpp>

#include "ebb/api/decode.h"
#include "test_support.h"

using nlohmann::json;
using namespace ebb::api;
using ebb::api::test::scaled_object_yaml;
using ebb::api::test::strings;

namespace {

const char* const kTarget = "  scaleTargetRef: {name: w}\n";
const char* const kTriggers = "  triggers: [{type: cron, metadata: {}}]\n";

std::vector<std::string> decode_errors(const std::string& yaml) {
  auto docs = decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  return strings(docs[0].errors);
}

}  // namespace

TEST_CASE("decoding errors name the field like Kubernetes does") {
  struct Case {
    std::string name;
    std::string spec;
    std::vector<std::string> errors;
  };
  const std::string t = kTarget;
  const std::string tr = kTriggers;
  const std::vector<Case> cases = {
      {"metadata values must be strings",
       t + "  triggers:\n    - {type: cron, metadata: {}}\n"
           "    - {type: kafka, metadata: {topic: t, lagThreshold: 5}}\n",
       {"spec.triggers[1].metadata.lagThreshold: must be a string, got integer 5 (quote it: "
        "\"5\")"}},
      {"the hint quotes the number as written",
       t + "  triggers: [{type: cron, metadata: {value: 1.50, on: true}}]\n",
       {"spec.triggers[0].metadata.on: must be a string, got boolean true (quote it: \"true\")",
        "spec.triggers[0].metadata.value: must be a string, got number 1.5 (quote it: "
        "\"1.50\")"}},
      {"integer field with a word",
       t + "  minReplicaCount: abc\n" + tr,
       {"spec.minReplicaCount: must be an integer, got string \"abc\""}},
      {"integer field with a quoted number",
       t + "  minReplicaCount: \"3\"\n" + tr,
       {"spec.minReplicaCount: must be an integer, got string \"3\" (remove the quotes)"}},
      {"integer field with a fraction",
       t + "  pollingInterval: 1.5\n" + tr,
       {"spec.pollingInterval: must be an integer, got number 1.5"}},
      {"integral floats are integers", t + "  pollingInterval: 10.0\n" + tr, {}},
      {"int32 overflow",
       t + "  maxReplicaCount: 3000000000\n" + tr,
       {"spec.maxReplicaCount: must be a 32-bit integer, got integer 3000000000"}},
      {"triggers required", t, {"spec.triggers: Required value"}},
      {"scaleTargetRef required", tr, {"spec.scaleTargetRef: Required value"}},
      {"scaleTargetRef.name required",
       "  scaleTargetRef: {kind: StatefulSet}\n" + tr,
       {"spec.scaleTargetRef.name: Required value"}},
      {"unknown spec field with a typo",
       t + "  pollingIntervall: 5\n" + tr,
       {"spec.pollingIntervall: unknown field \"pollingIntervall\" (did you mean "
        "\"pollingInterval\"?)"}},
      {"unknown spec field with wrong case",
       t + "  minreplicacount: 5\n" + tr,
       {"spec.minreplicacount: unknown field \"minreplicacount\" (did you mean "
        "\"minReplicaCount\"?)"}},
      {"unknown field without a near match",
       t + "  replicas: 5\n" + tr,
       {"spec.replicas: unknown field \"replicas\""}},
      {"unknown trigger field",
       t + "  triggers: [{type: cron, metadata: {}, metricsType: Value}]\n",
       {"spec.triggers[0].metricsType: unknown field \"metricsType\" (did you mean "
        "\"metricType\"?)"}},
      {"triggers must be a list",
       t + "  triggers: {type: cron}\n",
       {"spec.triggers: must be a list, got map"}},
      {"a null trigger", t + "  triggers:\n    -\n", {"spec.triggers[0]: must be a map, got null"}},
      {"trigger metadata required",
       t + "  triggers: [{type: cron}]\n",
       {"spec.triggers[0].metadata: Required value"}},
      {"empty trigger metadata is null, so missing",
       t + "  triggers:\n    - type: cron\n      metadata:\n",
       {"spec.triggers[0].metadata: Required value"}},
      {"trigger type required",
       t + "  triggers: [{metadata: {}}]\n",
       {"spec.triggers[0].type: Required value"}},
      {"authenticationRef needs a name",
       t + "  triggers: [{type: cron, metadata: {}, authenticationRef: {kind: "
           "TriggerAuthentication}}]\n",
       {"spec.triggers[0].authenticationRef.name: Required value"}},
      {"fallback needs both numbers",
       t + "  fallback: {failureThreshold: 3}\n" + tr,
       {"spec.fallback.replicas: Required value"}},
      {"nulls are pruned like the API server does",
       t + "  pollingInterval: ~\n  fallback:\n" + tr,
       {}},
      {"string instead of boolean",
       t + "  triggers: [{type: kafka, metadata: {}, useCachedMetrics: \"true\"}]\n",
       {"spec.triggers[0].useCachedMetrics: must be a boolean, got string \"true\" (remove the "
        "quotes)"}},
      {"YAML 1.1 boolean where a boolean is expected",
       t + "  advanced: {restoreToOriginalReplicaCount: yes}\n" + tr,
       {"spec.advanced.restoreToOriginalReplicaCount: must be a boolean, got string \"yes\" "
        "(YAML 1.2 reads plain yes as a string: write true or false)"}},
      {"behavior shape is checked",
       t +
           "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n"
           "        scaleup: {stabilizationWindowSeconds: 10}\n"
           "        scaleDown: {policies: [{type: Pods, value: 1}]}\n" +
           tr,
       {"spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[0]."
        "periodSeconds: Required value",
        "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleup: unknown field "
        "\"scaleup\" (did you mean \"scaleUp\"?)"}},
      {"scalingModifiers fields are strings",
       t + "  advanced: {scalingModifiers: {formula: a, target: 5}}\n" + tr,
       {"spec.advanced.scalingModifiers.target: must be a string, got integer 5 (quote it: "
        "\"5\")"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(decode_errors(scaled_object_yaml(c.spec)) == c.errors);
  }
}

TEST_CASE("object-level decoding errors") {
  const std::string spec = std::string(kTarget) + kTriggers;
  CHECK(decode_errors(scaled_object_yaml(spec, "{name: a, labels: {tier: 1}}")) ==
        std::vector<std::string>{
            "metadata.labels.tier: must be a string, got integer 1 (quote it: \"1\")"});
  CHECK(decode_errors(scaled_object_yaml(
            spec, "{name: a, annotations: {autoscaling.keda.sh/paused-replicas: 0}}")) ==
        std::vector<std::string>{
            "metadata.annotations[autoscaling.keda.sh/paused-replicas]: must be a string, got "
            "integer 0 (quote it: \"0\")"});
  CHECK(decode_errors(scaled_object_yaml(spec, "{name: a, lables: {}}")) ==
        std::vector<std::string>{
            "metadata.lables: unknown field \"lables\" (did you mean \"labels\"?)"});
  CHECK(decode_errors("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\n"
                      "specs: {}\n") ==
        std::vector<std::string>{"spec: Required value",
                                 "specs: unknown field \"specs\" (did you mean \"spec\"?)"});
  CHECK(decode_errors("apiVersion: keda.sh/v1\nkind: ScaledObject\nspec: {}\n") ==
        std::vector<std::string>{"apiVersion: Unsupported value: \"keda.sh/v1\": supported values: "
                                 "\"keda.sh/v1alpha1\""});
  CHECK(decode_errors("apiVersion: keda.sh/v1alpha1\nkind: ScaledObjects\n") ==
        std::vector<std::string>{
            "kind: Unsupported value: \"ScaledObjects\": supported values: \"ScaledObject\", "
            "\"TriggerAuthentication\", \"ClusterTriggerAuthentication\", \"ScaledJob\" (did you "
            "mean \"ScaledObject\"?)"});
  CHECK(decode_errors("apiVersion: keda.sh/v1alpha1\n") ==
        std::vector<std::string>{"kind: Required value"});
  CHECK(decode_errors("- a\n- b\n") == std::vector<std::string>{"must be a map, got list"});
}

TEST_CASE("documents of other KEDA versions are returned as other objects") {
  auto docs = decode_yaml(
      "apiVersion: keda.k8s.io/v1alpha1\nkind: ScaledObject\nmetadata: {name: old}\n");
  REQUIRE(docs.size() == 1);
  REQUIRE(docs[0].other());
  CHECK(strings(docs[0].warnings) ==
        std::vector<std::string>{
            "apiVersion: keda.k8s.io is the KEDA v1 API; Ebb reads keda.sh/v1alpha1 objects "
            "only, so this document is ignored"});
}

TEST_CASE("a null metadata value is dropped with a warning") {
  auto docs = decode_yaml(
      scaled_object_yaml(std::string(kTarget) + "  triggers: [{type: cron, metadata: {a: ~}}]\n"));
  REQUIRE(docs.size() == 1);
  REQUIRE(docs[0].ok());
  CHECK(docs[0].scaled_object()->spec.triggers[0].metadata.empty());
  CHECK(strings(docs[0].warnings) ==
        std::vector<std::string>{
            "spec.triggers[0].metadata.a: null value is dropped (write \"\" for an empty "
            "string)"});
}

TEST_CASE("unset fields take KEDA's defaults through the accessors") {
  const auto so = test::decode_one_scaled_object(scaled_object_yaml(
      std::string(kTarget) + "  fallback: {failureThreshold: 3, replicas: 5}\n" +
      "  triggers: [{type: kafka, metadata: {}, authenticationRef: {name: a}}]\n"));
  const auto& spec = so.spec;
  CHECK_FALSE(spec.polling_interval.has_value());
  CHECK(spec.polling_interval_or_default() == 30);
  CHECK(spec.cooldown_period_or_default() == 300);
  CHECK(spec.initial_cooldown_period_or_default() == 0);
  CHECK_FALSE(spec.idle_replica_count.has_value());
  CHECK(spec.min_replica_count_or_default() == 0);
  CHECK(spec.max_replica_count_or_default() == 100);
  CHECK(spec.hpa_min_replicas() == 1);
  CHECK(spec.hpa_max_replicas() == 100);
  CHECK(spec.scale_target_ref.api_version_or_default() == "apps/v1");
  CHECK(spec.scale_target_ref.kind_or_default() == "Deployment");
  CHECK(spec.fallback->behavior == "static");
  CHECK(spec.triggers[0].metric_type_or_default() == "AverageValue");
  CHECK(spec.triggers[0].authentication_ref->kind_or_default() == "TriggerAuthentication");
  CHECK_FALSE(spec.uses_scaling_modifiers());
  CHECK(hpa_name(so) == "keda-hpa-orders");
}

TEST_CASE("set fields override the defaults") {
  const auto so = test::decode_one_scaled_object(scaled_object_yaml(
      "  scaleTargetRef: {name: w, apiVersion: argoproj.io/v1alpha1, kind: Rollout}\n"
      "  pollingInterval: 5\n  cooldownPeriod: 0\n  initialCooldownPeriod: 60\n"
      "  idleReplicaCount: 1\n  minReplicaCount: 2\n  maxReplicaCount: 7\n"
      "  advanced:\n    horizontalPodAutoscalerConfig: {name: custom}\n"
      "    scalingModifiers: {metricType: Value}\n" +
      std::string(kTriggers)));
  const auto& spec = so.spec;
  CHECK(spec.polling_interval_or_default() == 5);
  CHECK(spec.cooldown_period_or_default() == 0);
  CHECK(spec.initial_cooldown_period_or_default() == 60);
  CHECK(spec.idle_replica_count == 1);
  CHECK(spec.hpa_min_replicas() == 2);
  CHECK(spec.hpa_max_replicas() == 7);
  CHECK(spec.scale_target_ref.api_version_or_default() == "argoproj.io/v1alpha1");
  CHECK(spec.scale_target_ref.kind_or_default() == "Rollout");
  CHECK(spec.uses_scaling_modifiers());
  CHECK(spec.scaling_modifiers()->metric_type_or_default() == "Value");
  CHECK(hpa_name(so) == "custom");
}

TEST_CASE("decode then encode gives the original document back") {
  const auto text = test::read_data_file("round_trip.yaml");
  const auto original = yaml_to_json(text);
  REQUIRE(original.ok());
  const auto so = test::decode_one_scaled_object(text);
  const json encoded = so;
  CHECK(encoded == original.value());
  CHECK(so.metadata.generation == 3);
  CHECK(so.status["hpaName"] == "orders-hpa");
}

TEST_CASE("encoding writes typed changes over the original") {
  auto so = test::decode_one_scaled_object(test::read_data_file("round_trip.yaml"));
  so.spec.min_replica_count = 4;
  so.spec.fallback.reset();
  so.spec.triggers[1].use_cached_metrics = false;
  so.metadata.labels["scaledobject.keda.sh/name"] = "orders";
  const json encoded = so;
  CHECK(encoded["spec"]["minReplicaCount"] == 4);
  CHECK_FALSE(encoded["spec"].contains("fallback"));
  CHECK(encoded["spec"]["triggers"][1]["useCachedMetrics"] == false);
  CHECK(encoded["metadata"]["labels"]["scaledobject.keda.sh/name"] == "orders");
  CHECK(encoded["metadata"]["managedFields"].size() == 1);  // not modelled, still there
}

TEST_CASE("an object built in code encodes only what it sets") {
  ScaledObject so;
  so.metadata.name = "orders";
  so.spec.scale_target_ref.name = "w";
  so.spec.triggers.push_back({"cron", "", {{"timezone", "UTC"}}, std::nullopt, "", false});
  so.spec.fallback = Fallback{2, 3};
  const json encoded = so;
  CHECK(encoded == json::parse(R"({
    "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "orders"},
    "spec": {"scaleTargetRef": {"name": "w"}, "fallback": {"failureThreshold": 2, "replicas": 3},
             "triggers": [{"type": "cron", "metadata": {"timezone": "UTC"}}]}})"));
}

TEST_CASE("non-strict decoding keeps unknown fields as warnings and in the encoding") {
  const auto object = json::parse(R"({
    "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "a"},
    "spec": {"scaleTargetRef": {"name": "w"}, "futureField": {"x": 1},
             "triggers": [{"type": "cron", "metadata": {}}]}})");
  CHECK_FALSE(decode_scaled_object(object).ok());
  ebb::FieldErrors warnings;
  auto so = decode_scaled_object(object, DecodeOptions{false}, &warnings);
  REQUIRE(so.ok());
  CHECK(strings(warnings) ==
        std::vector<std::string>{"spec.futureField: unknown field \"futureField\""});
  const json encoded = so.value();
  CHECK(encoded == object);
}

TEST_CASE("decoding a parsed object checks its kind but tolerates a missing one") {
  auto wrong = decode_scaled_object(json::parse(
      R"({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication", "spec": {}})"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(strings(wrong.error()) == std::vector<std::string>{"spec.scaleTargetRef: Required value",
                                                           "spec.triggers: Required value"});
  auto wrong_kind = decode_scaled_object(json::parse(
      R"({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
          "spec": {"scaleTargetRef": {"name": "w"}, "triggers": []}})"));
  REQUIRE_FALSE(wrong_kind.ok());
  CHECK(strings(wrong_kind.error()) ==
        std::vector<std::string>{
            "kind: Unsupported value: \"TriggerAuthentication\": supported values: "
            "\"ScaledObject\""});
  auto bare = decode_scaled_object(
      json::parse(R"({"spec": {"scaleTargetRef": {"name": "w"}, "triggers": []}})"));
  REQUIRE(bare.ok());
  CHECK(bare->kind == "ScaledObject");
}
