// ScaledObject validation: one row per rule, valid and invalid, with the exact messages.
#include <catch2/catch.hpp>

#include "ebb/api/decode.h"
#include "ebb/api/keda_types.h"
#include "ebb/api/validate.h"
#include "test_support.h"

using namespace ebb::api;
using ebb::api::test::scaled_object_yaml;
using ebb::api::test::strings;
using Strings = std::vector<std::string>;

namespace {

const std::string kTarget = "  scaleTargetRef: {name: w}\n";
const std::string kKafka = "  triggers: [{type: kafka, metadata: {topic: t}}]\n";

struct Case {
  std::string name;
  std::string spec;
  Strings errors;
  Strings warnings = {};
  std::string metadata = "{name: orders, namespace: shop}";
};

void run(const std::vector<Case>& cases, const ValidationOptions& options = test::test_options()) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto so = test::decode_one_scaled_object(scaled_object_yaml(c.spec, c.metadata));
    const auto result = validate(so, options);
    CHECK(strings(result.errors) == c.errors);
    CHECK(strings(result.warnings) == c.warnings);
  }
}

std::string trigger_list(const std::string& items) {
  return "  triggers:\n" + items;
}

}  // namespace

TEST_CASE("CRD minimums on the replica and timing fields") {
  run({
      {"valid minimal object", kTarget + kKafka, {}},
      {"pollingInterval below 1",
       kTarget + "  pollingInterval: 0\n" + kKafka,
       {"spec.pollingInterval: Invalid value: 0: must be greater than or equal to 1"}},
      {"negative cooldownPeriod",
       kTarget + "  cooldownPeriod: -1\n" + kKafka,
       {"spec.cooldownPeriod: Invalid value: -1: must be greater than or equal to 0"}},
      {"cooldownPeriod 0 is fine", kTarget + "  cooldownPeriod: 0\n" + kKafka, {}},
      {"negative initialCooldownPeriod",
       kTarget + "  initialCooldownPeriod: -5\n" + kKafka,
       {"spec.initialCooldownPeriod: Invalid value: -5: must be greater than or equal to 0"}},
      {"maxReplicaCount below 1",
       kTarget + "  maxReplicaCount: 0\n" + kKafka,
       {"spec.maxReplicaCount: Invalid value: 0: must be greater than or equal to 1"}},
      {"negative minReplicaCount",
       kTarget + "  minReplicaCount: -1\n" + kKafka,
       {"spec.minReplicaCount: Invalid value: -1: must be greater than or equal to 0"}},
  });
}

TEST_CASE("min <= max: the CRD's CEL rule and KEDA's CheckReplicaCountBoundsAreValid") {
  run({
      {"min above max",
       kTarget + "  minReplicaCount: 5\n  maxReplicaCount: 3\n" + kKafka,
       {"spec: Invalid value: \"object\": minReplicaCount must be less than or equal to "
        "maxReplicaCount"}},
      {"min above the default max",
       kTarget + "  minReplicaCount: 101\n" + kKafka,
       {"spec: Invalid value: \"object\": minReplicaCount must be less than or equal to "
        "maxReplicaCount"}},
      {"min equal to max", kTarget + "  minReplicaCount: 3\n  maxReplicaCount: 3\n" + kKafka, {}},
      {"explicit min 0 counts as 1 against max",
       kTarget + "  minReplicaCount: 0\n  maxReplicaCount: 0\n" + kKafka,
       {"spec.maxReplicaCount: Invalid value: 0: must be greater than or equal to 1",
        "spec.minReplicaCount: MinReplicaCount=1 must be less than MaxReplicaCount=0"}},
  });
}

TEST_CASE("idleReplicaCount: KEDA's quirk is kept, with clearer messages and a warning") {
  run({
      {"idle with min unset is rejected and says to set min",
       kTarget + "  idleReplicaCount: 0\n" + kKafka,
       {"spec.idleReplicaCount: IdleReplicaCount=0 must be less than MinReplicaCount=0 "
        "(minReplicaCount is not set and counts as 0; set spec.minReplicaCount to at least 1)"}},
      {"idle 0 with explicit min 0 is accepted but has no effect",
       kTarget + "  idleReplicaCount: 0\n  minReplicaCount: 0\n" + kKafka,
       {},
       {"spec.idleReplicaCount: idleReplicaCount 0 with minReplicaCount 0 has no effect: the "
        "target scales to zero when inactive either way (accepted because KEDA accepts it)"}},
      {"idle 1 with explicit min 0",
       kTarget + "  idleReplicaCount: 1\n  minReplicaCount: 0\n" + kKafka,
       {"spec.idleReplicaCount: IdleReplicaCount=1 must be less than MinReplicaCount=1 (an "
        "explicit minReplicaCount 0 counts as 1 in this check; set spec.minReplicaCount to at "
        "least 2)"}},
      {"idle equal to min",
       kTarget + "  idleReplicaCount: 2\n  minReplicaCount: 2\n" + kKafka,
       {"spec.idleReplicaCount: IdleReplicaCount=2 must be less than MinReplicaCount=2"}},
      {"idle below min", kTarget + "  idleReplicaCount: 0\n  minReplicaCount: 2\n" + kKafka, {}},
      {"negative idle",
       kTarget + "  idleReplicaCount: -1\n  minReplicaCount: 1\n" + kKafka,
       {"spec.idleReplicaCount: Invalid value: -1: must be greater than or equal to 0"}},
  });
}

TEST_CASE("trigger list rules (ValidateTriggers and the trigger schema)") {
  run({
      {"no triggers",
       kTarget + "  triggers: []\n",
       {"spec.triggers: no triggers defined in the ScaledObject/ScaledJob"}},
      {"empty type",
       kTarget + "  triggers: [{type: '', metadata: {}}]\n",
       {"spec.triggers[0].type: Invalid value: \"\": must not be empty"}},
      {"useCachedMetrics on cpu",
       kTarget + trigger_list("    - {type: kafka, metadata: {}}\n"
                              "    - {type: cpu, metricType: Utilization, metadata: {value: '50'}, "
                              "useCachedMetrics: true}\n"),
       {"spec.triggers[1].useCachedMetrics: property \"useCachedMetrics\" is not supported for "
        "\"cpu\" scaler"}},
      {"useCachedMetrics on cron",
       kTarget + "  triggers: [{type: cron, metadata: {}, useCachedMetrics: true}]\n",
       {"spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for "
        "\"cron\" scaler"}},
      {"useCachedMetrics on kafka",
       kTarget + "  triggers: [{type: kafka, metadata: {}, useCachedMetrics: true}]\n",
       {}},
      {"duplicate trigger names",
       kTarget + trigger_list("    - {type: kafka, name: a, metadata: {}}\n"
                              "    - {type: redis, name: b, metadata: {}}\n"
                              "    - {type: rabbitmq, name: a, metadata: {}}\n"),
       {"spec.triggers[2].name: triggerName \"a\" is defined multiple times in the "
        "ScaledObject/ScaledJob, but it must be unique"}},
      {"unnamed triggers never clash",
       kTarget + trigger_list("    - {type: kafka, metadata: {}}\n"
                              "    - {type: kafka, metadata: {}}\n"),
       {}},
      {"unknown metricType",
       kTarget + "  triggers: [{type: kafka, metadata: {}, metricType: Foo}]\n",
       {"spec.triggers[0].metricType: Unsupported value: \"Foo\": supported values: "
        "\"AverageValue\", \"Value\", \"Utilization\""}},
      {"Utilization on an external trigger",
       kTarget + "  triggers: [{type: kafka, metadata: {}, metricType: Utilization}]\n",
       {"spec.triggers[0].metricType: 'Utilization' metric type is unsupported for external "
        "metrics, allowed values are 'Value' or 'AverageValue'"}},
      {"Utilization on memory and Value on kafka",
       kTarget + trigger_list("    - {type: kafka, metadata: {}, metricType: Value}\n"
                              "    - {type: memory, metadata: {}, metricType: Utilization}\n"),
       {}},
      {"authenticationRef kind enum",
       kTarget + "  triggers: [{type: kafka, metadata: {}, authenticationRef: {name: a, kind: "
                 "Secret}}]\n",
       {"spec.triggers[0].authenticationRef.kind: Unsupported value: \"Secret\": supported "
        "values: \"TriggerAuthentication\", \"ClusterTriggerAuthentication\""}},
      {"ClusterTriggerAuthentication kind",
       kTarget + "  triggers: [{type: kafka, metadata: {}, authenticationRef: {name: a, kind: "
                 "ClusterTriggerAuthentication}}]\n",
       {}},
      {"empty authenticationRef name",
       kTarget + "  triggers: [{type: kafka, metadata: {}, authenticationRef: {name: ''}}]\n",
       {},
       {"spec.triggers[0].authenticationRef.name: empty name: no TriggerAuthentication will be "
        "found, so the trigger gets no auth params"}},
  });
}

TEST_CASE("trigger types: did you mean, unsupported, removed, deprecated") {
  run({
      {"typo of a KEDA type",
       kTarget + "  triggers: [{type: redis-stream, metadata: {}}]\n",
       {"spec.triggers[0].type: unknown trigger type \"redis-stream\" (did you mean "
        "\"redis-streams\"?)"}},
      {"wrong case",
       kTarget + "  triggers: [{type: Kafka, metadata: {}}]\n",
       {"spec.triggers[0].type: unknown trigger type \"Kafka\" (did you mean \"kafka\"?)"}},
      {"nothing close",
       kTarget + "  triggers: [{type: xyz, metadata: {}}]\n",
       {"spec.triggers[0].type: unknown trigger type \"xyz\""}},
      {"a KEDA type Ebb lacks",
       kTarget + "  triggers: [{type: prometheus, metadata: {}}]\n",
       {"spec.triggers[0].type: unsupported trigger type \"prometheus\" (supported: cpu, cron, "
        "kafka, memory, rabbitmq, redis, redis-streams)"}},
      {"a removed type",
       kTarget + "  triggers: [{type: stan, metadata: {}}]\n",
       {"spec.triggers[0].type: unknown trigger type \"stan\": the stan (NATS Streaming) scaler "
        "was removed in KEDA v2.19; use nats-jetstream"}},
  });
  // Without a predicate every KEDA type is accepted; deprecated ones warn.
  run({{"deprecated type",
        kTarget + "  triggers: [{type: liiklus, metadata: {}}]\n",
        {},
        {"spec.triggers[0].type: the liiklus scaler is deprecated in KEDA and will be removed"}},
       {"any KEDA type", kTarget + "  triggers: [{type: prometheus, metadata: {}}]\n", {}}},
      ValidationOptions{});
  // A predicate with no list still rejects, without listing.
  ValidationOptions only_kafka;
  only_kafka.trigger_traits = [](std::string_view t) { return TriggerTraits{.supported = t == "kafka"}; };
  run({{"unsupported without a list",
        kTarget + "  triggers: [{type: redis, metadata: {}}]\n",
        {"spec.triggers[0].type: unsupported trigger type \"redis\""}}},
      only_kafka);
}

TEST_CASE("names: Kubernetes rules and the 63-character label limits") {
  const std::string n60(60, 'a');
  const std::string n64(64, 'b');
  run({
      {"name too long",
       kTarget + kKafka,
       {"metadata.name: scaledobject name \"" + n64 +
        "\" is 64 characters long; must be no more "
        "than 63 characters because it is used as the value of label "
        "scaledobject.keda.sh/name"},
       {},
       "{name: " + n64 + "}"},
      {"derived HPA name too long",
       kTarget + kKafka,
       {"metadata.name: HPA name \"keda-hpa-" + n60 +
        "\" derived from the scaledobject is 69 "
        "characters long; must be no more than 63 characters: set "
        "spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or shorten the "
        "scaledobject name"},
       {},
       "{name: " + n60 + "}"},
      {"a custom HPA name avoids the limit",
       kTarget + "  advanced: {horizontalPodAutoscalerConfig: {name: short}}\n" + kKafka,
       {},
       {},
       "{name: " + n60 + "}"},
      {"custom HPA name too long",
       kTarget + "  advanced: {horizontalPodAutoscalerConfig: {name: " + n64 + "}}\n" + kKafka,
       {"spec.advanced.horizontalPodAutoscalerConfig.name: HPA name \"" + n64 +
        "\" is 64 "
        "characters long; must be no more than 63 characters: set "
        "spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name"}},
      {"custom HPA name not a DNS name",
       kTarget + "  advanced: {horizontalPodAutoscalerConfig: {name: My_HPA}}\n" + kKafka,
       {"spec.advanced.horizontalPodAutoscalerConfig.name: Invalid value: \"My_HPA\": must be at "
        "most 253 characters of lower-case letters, digits, '-' or '.', starting and ending with "
        "a letter or digit"}},
      {"upper-case name",
       kTarget + kKafka,
       {"metadata.name: Invalid value: \"Orders\": must be at most 253 characters of lower-case "
        "letters, digits, '-' or '.', starting and ending with a letter or digit"},
       {},
       "{name: Orders}"},
      {"bad namespace",
       kTarget + kKafka,
       {"metadata.namespace: Invalid value: \"my.shop\": must be at most 63 characters of "
        "lower-case letters, digits or '-', starting and ending with a letter or digit"},
       {},
       "{name: orders, namespace: my.shop}"},
      {"no name",
       kTarget + kKafka,
       {"metadata.name: Required value: name or generateName is required"},
       {},
       "{namespace: shop}"},
      {"generateName instead", kTarget + kKafka, {}, {}, "{generateName: orders-}"},
  });
}

TEST_CASE("scale target reference") {
  run({
      {"empty target name",
       "  scaleTargetRef: {name: ''}\n" + kKafka,
       {"spec.scaleTargetRef.name: Invalid value: \"\": must not be empty"}},
      {"malformed apiVersion",
       "  scaleTargetRef: {name: w, apiVersion: apps/v1/x}\n" + kKafka,
       {"spec.scaleTargetRef.apiVersion: Invalid value: \"apps/v1/x\": must be <version> or "
        "<group>/<version>"}},
      {"core apiVersion",
       "  scaleTargetRef: {name: w, apiVersion: v1, kind: ReplicationController}\n" + kKafka,
       {}},
  });
}

TEST_CASE("HPA behavior: the 0..3600 window patch and HPA API values") {
  const std::string prefix =
      kTarget + "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n";
  const std::string path = "spec.advanced.horizontalPodAutoscalerConfig.behavior";
  run({
      {"window 3600",
       prefix + "        scaleUp: {stabilizationWindowSeconds: 3600}\n" + kKafka,
       {}},
      {"window above 3600",
       prefix + "        scaleUp: {stabilizationWindowSeconds: 3601}\n" + kKafka,
       {path + ".scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or "
               "equal to 3600"}},
      {"negative window",
       prefix + "        scaleDown: {stabilizationWindowSeconds: -1}\n" + kKafka,
       {path + ".scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than "
               "or equal to 0"}},
      {"policy values",
       prefix +
           "        scaleDown:\n          selectPolicy: Maximum\n"
           "          policies: [{type: Replicas, value: 0, periodSeconds: 1801}]\n" +
           kKafka,
       {path + ".scaleDown.policies[0].type: Unsupported value: \"Replicas\": supported values: "
               "\"Pods\", \"Percent\"",
        path + ".scaleDown.policies[0].value: Invalid value: 0: must be greater than or equal to 1",
        path + ".scaleDown.policies[0].periodSeconds: Invalid value: 1801: must be less than or "
               "equal to 1800",
        path + ".scaleDown.selectPolicy: Unsupported value: \"Maximum\": supported values: "
               "\"Max\", \"Min\", \"Disabled\""}},
  });
}

TEST_CASE("scalingModifiers shape") {
  const std::string named = trigger_list(
      "    - {type: kafka, name: lag, metadata: {}}\n"
      "    - {type: redis, name: depth, metadata: {}}\n"
      "    - {type: cpu, name: load, metricType: Utilization, "
      "metadata: {}}\n");
  const auto modifiers = [&](const std::string& fields) {
    return kTarget + "  advanced: {scalingModifiers: {" + fields + "}}\n" + named;
  };
  const std::string path = "spec.advanced.scalingModifiers";
  run({
      {"valid", modifiers("formula: 'lag + depth', target: '2.5', activationTarget: '1'"), {}},
      {"any field without a formula",
       modifiers("metricType: Value"),
       {path + ".formula: Required value: scalingModifiers needs a formula once any of its "
               "fields is set"}},
      {"formula without target",
       modifiers("formula: lag"),
       {path + ".target: Required value: a formula needs a target"}},
      {"target not a number",
       modifiers("formula: lag, target: ten"),
       {path + ".target: Invalid value: \"ten\": must be a number greater than 0"}},
      {"target zero",
       modifiers("formula: lag, target: '0'"),
       {path + ".target: Invalid value: \"0\": must be a number greater than 0"}},
      {"activationTarget not a number",
       modifiers("formula: lag, target: '1', activationTarget: x"),
       {path + ".activationTarget: Invalid value: \"x\": must be a number"}},
      {"metricType Utilization",
       modifiers("formula: lag, target: '1', metricType: Utilization"),
       {path + ".metricType: Unsupported value: \"Utilization\": supported values: "
               "\"AverageValue\", \"Value\""}},
      {"all empty is not in use", modifiers(""), {}},
  });

  std::vector<std::string> seen_variables;
  auto options = test::test_options();
  options.check_formula = [&](std::string_view formula,
                              const std::vector<std::string>& vars) -> std::optional<std::string> {
    seen_variables = vars;
    if (formula == "lag + nope") return std::string("unknown name nope");
    return std::nullopt;
  };
  run({{"formula checker is consulted",
        modifiers("formula: lag + nope, target: '1'"),
        {path + ".formula: Invalid value: \"lag + nope\": unknown name nope"}}},
      options);
  CHECK(seen_variables == Strings{"lag", "depth"});  // cpu/memory triggers are not variables
}

TEST_CASE("fallback rules") {
  const std::string cpu_only =
      "  minReplicaCount: 1\n"
      "  triggers: [{type: cpu, metricType: Utilization, metadata: {value: '50'}}]\n";
  run({
      {"valid fallback", kTarget + "  fallback: {failureThreshold: 3, replicas: 5}\n" + kKafka, {}},
      {"Value metric type is fine",
       kTarget + "  fallback: {failureThreshold: 3, replicas: 5}\n"
                 "  triggers: [{type: kafka, metricType: Value, metadata: {}}]\n",
       {}},
      {"negative numbers",
       kTarget + "  fallback: {failureThreshold: -1, replicas: -2}\n" + kKafka,
       {"spec.fallback.failureThreshold: Invalid value: -1: must be greater than or equal to 0",
        "spec.fallback.replicas: Invalid value: -2: must be greater than or equal to 0"}},
      {"unknown behavior",
       kTarget + "  fallback: {failureThreshold: 1, replicas: 1, behavior: sometimes}\n" + kKafka,
       {"spec.fallback.behavior: Unsupported value: \"sometimes\": supported values: \"static\", "
        "\"currentReplicas\", \"currentReplicasIfHigher\", \"currentReplicasIfLower\", "
        "\"scalingModifiers\""}},
      {"only cpu/memory triggers",
       kTarget + "  fallback: {failureThreshold: 1, replicas: 1}\n" + cpu_only,
       {"spec.fallback: at least one trigger (that is not cpu or memory) has to have the "
        "`AverageValue` type for the fallback to be enabled"}},
      {"only cpu/memory triggers but scalingModifiers",
       kTarget +
           "  fallback: {failureThreshold: 1, replicas: 1}\n"
           "  advanced: {scalingModifiers: {formula: '1', target: '1'}}\n" +
           cpu_only,
       {}},
      {"scalingModifiers behavior without a formula",
       kTarget + "  fallback: {failureThreshold: 1, replicas: 1, behavior: scalingModifiers}\n" +
           kKafka,
       {"spec.fallback.behavior: scalingModifiers fallback behavior requires "
        "scalingModifiers.formula to be defined"}},
      {"scalingModifiers behavior with a formula",
       kTarget + "  fallback: {failureThreshold: 1, replicas: 1, behavior: scalingModifiers}\n"
                 "  advanced: {scalingModifiers: {formula: 'lag ?? 1', target: '1'}}\n"
                 "  triggers: [{type: kafka, name: lag, metadata: {}}]\n",
       {}},
  });
}

TEST_CASE("admission checks about cpu/memory-only objects and irrelevant settings") {
  const std::string cpu_memory = trigger_list(
      "    - {type: cpu, metricType: Utilization, metadata: {value: '50'}}\n"
      "    - {type: memory, metricType: Utilization, metadata: {value: '50'}}\n");
  const std::string message =
      "spec.minReplicaCount: scaledobject has only cpu/memory triggers AND minReplica is 0 "
      "(scale to zero doesn't work in this case)";
  run({
      {"cpu/memory only on a Deployment with min unset", kTarget + cpu_memory, {message}},
      {"cpu/memory only on a StatefulSet with min 0",
       "  scaleTargetRef: {name: w, kind: StatefulSet}\n  minReplicaCount: 0\n" + cpu_memory,
       {message}},
      {"cpu/memory only on another kind warns",
       "  scaleTargetRef: {name: w, apiVersion: argoproj.io/v1alpha1, kind: Rollout}\n" +
           cpu_memory,
       {},
       {message}},
      {"cpu/memory only with min 1", kTarget + "  minReplicaCount: 1\n" + cpu_memory, {}},
      {"cooldownPeriod without scale to zero or idle",
       kTarget + "  minReplicaCount: 1\n  cooldownPeriod: 60\n" + kKafka,
       {},
       {"spec.cooldownPeriod: cooldownPeriod has no effect: it delays scaling to zero or to "
        "idleReplicaCount, and with minReplicaCount above 0 and no idleReplicaCount neither "
        "happens"}},
      {"cooldownPeriod with idle",
       kTarget + "  minReplicaCount: 1\n  idleReplicaCount: 0\n  cooldownPeriod: 60\n" + kKafka,
       {}},
      {"pollingInterval always matters in Ebb",
       kTarget + "  minReplicaCount: 1\n  pollingInterval: 10\n" + kKafka,
       {}},
  });
}

TEST_CASE("annotation values") {
  const auto with = [](const std::string& annotations) {
    return "{name: orders, annotations: {" + annotations + "}}";
  };
  const std::string spec = kTarget + kKafka;
  run({
      {"paused-replicas not a number",
       spec,
       {"metadata.annotations[autoscaling.keda.sh/paused-replicas]: Invalid value: \"abc\": must "
        "be an integer"},
       {},
       with("autoscaling.keda.sh/paused-replicas: abc")},
      {"negative paused-replicas",
       spec,
       {"metadata.annotations[autoscaling.keda.sh/paused-replicas]: Invalid value: \"-1\": must "
        "be greater than or equal to 0"},
       {},
       with("autoscaling.keda.sh/paused-replicas: '-1'")},
      {"paused-replicas ok", spec, {}, {}, with("autoscaling.keda.sh/paused-replicas: '0'")},
      {"non-boolean pause value",
       spec,
       {},
       {"metadata.annotations[autoscaling.keda.sh/paused]: \"yes\" is not a boolean (true/false, "
        "t/f, 1/0), and any such value counts as true"},
       with("autoscaling.keda.sh/paused: 'yes'")},
      {"transfer needs exactly true",
       spec,
       {},
       {"metadata.annotations[scaledobject.keda.sh/transfer-hpa-ownership]: only the exact value "
        "\"true\" requests an HPA ownership transfer; \"True\" does not"},
       with("scaledobject.keda.sh/transfer-hpa-ownership: 'True'")},
  });
}

TEST_CASE("the worked example of keda-compat §12 decodes and validates clean") {
  const auto docs = decode_yaml(test::read_data_file("worked_example.yaml"));
  REQUIRE(docs.size() == 1);
  CHECK(strings(docs[0].errors).empty());
  CHECK(strings(docs[0].warnings).empty());
  REQUIRE(docs[0].scaled_object());
  const auto& so = *docs[0].scaled_object();
  const auto result = validate(so, test::test_options());
  CHECK(strings(result.errors).empty());
  CHECK(strings(result.warnings).empty());

  CHECK(so.metadata.namespace_ == "shop");
  CHECK(so.metadata.labels.at("team") == "a");
  CHECK(hpa_name(so) == "keda-hpa-orders");
  CHECK(so.spec.scale_target_ref.api_version_or_default() == "apps/v1");
  CHECK(so.spec.scale_target_ref.kind_or_default() == "Deployment");
  CHECK(so.spec.hpa_min_replicas() == 1);
  CHECK(so.spec.hpa_max_replicas() == 10);
  REQUIRE(so.spec.triggers.size() == 2);
  CHECK(so.spec.triggers[0].metadata.at("hostFromEnv") == "RABBIT_URL");
  CHECK(so.spec.triggers[1].metric_type == "Utilization");
}

TEST_CASE("KEDA's trigger type list") {
  const auto& types = keda_trigger_types();
  CHECK(types.size() == 78);
  CHECK(std::is_sorted(types.begin(), types.end()));
  CHECK(is_keda_trigger_type("redis-sentinel-streams"));
  CHECK(is_keda_trigger_type("clickhouse"));
  CHECK_FALSE(is_keda_trigger_type("external-mock"));
  CHECK_FALSE(is_keda_trigger_type("stan"));
}
