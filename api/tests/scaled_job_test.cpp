// ScaledJob: decoding (structure, KEDA's CRD shape), defaults (KEDA's MinReplicaCount() and
// MaxReplicaCount() table from scaledjob_types_test.go), encoding round trip, and validation:
// one row per rule with the exact messages.
#include <catch2/catch.hpp>

#include <optional>

#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "test_support.h"

using namespace ebb::api;
using ebb::api::test::strings;
using Strings = std::vector<std::string>;

namespace {

const std::string kJob =
    "  jobTargetRef:\n"
    "    template:\n"
    "      spec:\n"
    "        containers: [{name: worker, image: busybox}]\n";
const std::string kRedis = "  triggers: [{type: redis, metadata: {listName: jobs}}]\n";

std::string scaled_job_yaml(const std::string& spec_body,
                            const std::string& metadata = "{name: render, namespace: shop}") {
  return "apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: " + metadata + "\nspec:\n" +
         spec_body;
}

std::vector<Document> decode(const std::string& yaml) { return decode_yaml(yaml); }

ScaledJob decode_one(const std::string& yaml) {
  auto docs = decode(yaml);
  REQUIRE(docs.size() == 1);
  CAPTURE(strings(docs[0].errors));
  REQUIRE(docs[0].ok());
  REQUIRE(docs[0].scaled_job());
  return *docs[0].scaled_job();
}

struct Case {
  std::string name;
  std::string spec;
  Strings errors;
  Strings warnings = {};
  std::string metadata = "{name: render, namespace: shop}";
};

void run(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto sj = decode_one(scaled_job_yaml(c.spec, c.metadata));
    const auto result = validate(sj, test::test_options());
    CHECK(strings(result.errors) == c.errors);
    CHECK(strings(result.warnings) == c.warnings);
  }
}

}  // namespace

TEST_CASE("a ScaledJob decodes into its typed fields") {
  const auto sj = decode_one(scaled_job_yaml(
      kJob +
      "  pollingInterval: 10\n"
      "  successfulJobsHistoryLimit: 5\n"
      "  failedJobsHistoryLimit: 2\n"
      "  envSourceContainerName: worker\n"
      "  minReplicaCount: 1\n"
      "  maxReplicaCount: 8\n"
      "  rollout: {strategy: gradual, propagationPolicy: foreground}\n"
      "  scalingStrategy:\n"
      "    strategy: custom\n"
      "    customScalingQueueLengthDeduction: 1\n"
      "    customScalingRunningJobPercentage: '0.5'\n"
      "    pendingPodConditions: [Ready, PodScheduled]\n"
      "    multipleScalersCalculation: sum\n" +
      kRedis));
  CHECK(sj.kind == "ScaledJob");
  CHECK(sj.metadata.name == "render");
  CHECK(sj.spec.job_target_ref["template"]["spec"]["containers"][0]["name"] == "worker");
  CHECK(sj.spec.polling_interval == 10);
  CHECK(sj.spec.successful_jobs_history_limit == 5);
  CHECK(sj.spec.failed_jobs_history_limit == 2);
  CHECK(sj.spec.env_source_container_name == "worker");
  CHECK(sj.spec.rollout_strategy_or_default() == "gradual");
  CHECK(sj.spec.propagation_policy_or_default() == "foreground");
  const auto& ss = sj.spec.scaling_strategy;
  CHECK(ss.strategy_or_default() == "custom");
  CHECK(ss.custom_scaling_queue_length_deduction == 1);
  CHECK(ss.custom_scaling_running_job_percentage == "0.5");
  CHECK(ss.pending_pod_conditions == Strings{"Ready", "PodScheduled"});
  CHECK(ss.multiple_scalers_calculation_or_default() == "sum");
  REQUIRE(sj.spec.triggers.size() == 1);
  CHECK(sj.spec.triggers[0].metadata.at("listName") == "jobs");
}

TEST_CASE("ScaledJob defaults are KEDA's") {
  const auto sj = decode_one(scaled_job_yaml(kJob + kRedis));
  CHECK(sj.spec.polling_interval_or_default() == 30);
  CHECK(sj.spec.successful_jobs_history_limit_or_default() == 100);
  CHECK(sj.spec.failed_jobs_history_limit_or_default() == 100);
  CHECK(sj.spec.effective_min_replica_count() == 0);
  CHECK(sj.spec.effective_max_replica_count() == 100);
  CHECK(sj.spec.scaling_strategy.strategy_or_default() == "default");
  CHECK(sj.spec.scaling_strategy.multiple_scalers_calculation_or_default() == "max");
  CHECK(sj.spec.rollout_strategy_or_default() == "immediate");
  CHECK(sj.spec.propagation_policy_or_default() == "background");
}

TEST_CASE("the deprecated rolloutStrategy wins over rollout.strategy, as in KEDA") {
  auto sj = decode_one(scaled_job_yaml(kJob + "  rolloutStrategy: gradual\n" +
                                       "  rollout: {strategy: immediate}\n" + kRedis));
  CHECK(sj.spec.rollout_strategy_or_default() == "gradual");
}

TEST_CASE("MinReplicaCount and MaxReplicaCount follow KEDA's table (scaledjob_types_test.go)") {
  struct Row {
    const char* name;
    std::optional<std::int32_t> max, min;
    std::int64_t expected_max, expected_min;
  };
  const Row rows[] = {
      {"max 10 min 0", 10, 0, 10, 0},
      {"max 10 min unset", 10, std::nullopt, 10, 0},
      {"max 10 min 1", 10, 1, 9, 1},
      {"max unset min 1", std::nullopt, 1, 100, 1},
      {"max unset min unset", std::nullopt, std::nullopt, 100, 0},
      {"max 1 min 10", 1, 10, 1, 1},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    ScaledJobSpec spec;
    spec.max_replica_count = row.max;
    spec.min_replica_count = row.min;
    CHECK(spec.effective_max_replica_count() == row.expected_max);
    CHECK(spec.effective_min_replica_count() == row.expected_min);
  }
}

TEST_CASE("ScaledJob structure errors are reported like the API server's") {
  auto errors = [](const std::string& spec) {
    auto docs = decode(scaled_job_yaml(spec));
    REQUIRE(docs.size() == 1);
    return strings(docs[0].errors);
  };
  CHECK(errors(kRedis) == Strings{"spec.jobTargetRef: Required value"});
  CHECK(errors("  jobTargetRef: {parallelism: 1}\n" + kRedis) ==
        Strings{"spec.jobTargetRef.template: Required value"});
  CHECK(errors("  jobTargetRef: []\n" + kRedis) ==
        Strings{"spec.jobTargetRef: must be a map, got list"});
  CHECK(errors(kJob) == Strings{"spec.triggers: Required value"});
  CHECK(errors(kJob + "  scaleTargetRef: {name: x}\n" + kRedis) ==
        Strings{"spec.scaleTargetRef: unknown field \"scaleTargetRef\""});
  CHECK(errors(kJob + "  scalingStrategy: {stratgy: eager}\n" + kRedis) ==
        Strings{"spec.scalingStrategy.stratgy: unknown field \"stratgy\" (did you mean "
                "\"strategy\"?)"});
  CHECK(errors(kJob + "  pollingInterval: '5'\n" + kRedis).size() == 1);
}

TEST_CASE("a ScaledJob survives a decode and encode round trip") {
  const auto text = scaled_job_yaml(kJob + "  maxReplicaCount: 4\n" +
                                    "  scalingStrategy: {strategy: eager}\n" + kRedis);
  const auto sj = decode_one(text);
  nlohmann::json encoded = sj;
  auto again = decode_scaled_job(encoded);
  REQUIRE(again);
  CHECK(again->spec.max_replica_count == 4);
  CHECK(again->spec.scaling_strategy.strategy == "eager");
  CHECK(again->spec.job_target_ref == sj.spec.job_target_ref);
  CHECK(encoded == sj.raw);
  // A ScaledObject is not a ScaledJob.
  CHECK_FALSE(decode_scaled_job(nlohmann::json{{"apiVersion", "keda.sh/v1alpha1"},
                                               {"kind", "ScaledObject"},
                                               {"spec", {{"jobTargetRef", {{"template", {}}}},
                                                         {"triggers", nlohmann::json::array()}}}}));
}

TEST_CASE("ScaledJob CRD minimums and enums") {
  run({
      {"valid minimal object", kJob + kRedis, {}},
      {"pollingInterval below 1",
       kJob + "  pollingInterval: 0\n" + kRedis,
       {"spec.pollingInterval: Invalid value: 0: must be greater than or equal to 1"}},
      {"negative history limits",
       kJob + "  successfulJobsHistoryLimit: -1\n  failedJobsHistoryLimit: -2\n" + kRedis,
       {"spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
        "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0"}},
      {"history limits 0 keep no finished jobs",
       kJob + "  successfulJobsHistoryLimit: 0\n  failedJobsHistoryLimit: 0\n" + kRedis,
       {}},
      {"negative minReplicaCount",
       kJob + "  minReplicaCount: -1\n" + kRedis,
       {"spec.minReplicaCount: Invalid value: -1: must be greater than or equal to 0"}},
      {"maxReplicaCount below 1",
       kJob + "  maxReplicaCount: 0\n" + kRedis,
       {"spec.maxReplicaCount: Invalid value: 0: must be greater than or equal to 1"}},
      {"unknown scaling strategy",
       kJob + "  scalingStrategy: {strategy: lazy}\n" + kRedis,
       {"spec.scalingStrategy.strategy: Unsupported value: \"lazy\": supported values: "
        "\"default\", \"custom\", \"accurate\", \"eager\""}},
      {"unknown multipleScalersCalculation",
       kJob + "  scalingStrategy: {multipleScalersCalculation: median}\n" + kRedis,
       {"spec.scalingStrategy.multipleScalersCalculation: Unsupported value: \"median\": "
        "supported values: \"min\", \"avg\", \"sum\", \"max\""}},
      {"unknown rollout values",
       kJob + "  rollout: {strategy: slow, propagationPolicy: orphan}\n" + kRedis,
       {"spec.rollout.strategy: Unsupported value: \"slow\": supported values: \"gradual\", "
        "\"immediate\"",
        "spec.rollout.propagationPolicy: Unsupported value: \"orphan\": supported values: "
        "\"foreground\", \"background\""}},
      {"every strategy KEDA knows",
       kJob + "  scalingStrategy: {strategy: accurate, multipleScalersCalculation: avg}\n" +
           kRedis,
       {}},
  });
}

TEST_CASE("ScaledJob warnings for what KEDA accepts but reads differently") {
  run({
      {"deprecated rolloutStrategy",
       kJob + "  rolloutStrategy: gradual\n" + kRedis,
       {},
       {"spec.rolloutStrategy: rolloutStrategy is deprecated: use rollout.strategy"}},
      {"deprecated rolloutStrategy overriding rollout.strategy",
       kJob + "  rolloutStrategy: gradual\n  rollout: {strategy: immediate}\n" + kRedis,
       {},
       {"spec.rolloutStrategy: rolloutStrategy is deprecated: use rollout.strategy "
        "(rolloutStrategy \"gradual\" wins over rollout.strategy \"immediate\")"}},
      {"custom strategy without a percentage",
       kJob + "  scalingStrategy: {strategy: custom, customScalingQueueLengthDeduction: 1}\n" +
           kRedis,
       {},
       {"spec.scalingStrategy.customScalingRunningJobPercentage: not set: the custom strategy "
        "needs it, so the default strategy is used instead"}},
      {"custom strategy with a bad percentage",
       kJob + "  scalingStrategy: {strategy: custom, customScalingRunningJobPercentage: half}\n" +
           kRedis,
       {},
       {"spec.scalingStrategy.customScalingRunningJobPercentage: \"half\" is not a number: the "
        "custom strategy needs it, so the default strategy is used instead"}},
      {"custom strategy as KEDA expects it",
       kJob +
           "  scalingStrategy: {strategy: custom, customScalingQueueLengthDeduction: 1, "
           "customScalingRunningJobPercentage: '0.5'}\n" +
           kRedis,
       {}},
      {"custom fields under another strategy",
       kJob + "  scalingStrategy: {strategy: eager, customScalingRunningJobPercentage: '0.5'}\n" +
           kRedis,
       {},
       {"spec.scalingStrategy: customScalingQueueLengthDeduction and "
        "customScalingRunningJobPercentage have no effect unless strategy is \"custom\""}},
      {"min above max",
       kJob + "  minReplicaCount: 5\n  maxReplicaCount: 3\n" + kRedis,
       {},
       {"spec.minReplicaCount: minReplicaCount 5 is above maxReplicaCount 3: both count as 3 "
        "(accepted because KEDA accepts it)"}},
      {"ScaledObject-only annotations",
       kJob + kRedis,
       {},
       {"metadata.annotations[autoscaling.keda.sh/paused]: \"yes\" is not a boolean "
        "(true/false, t/f, 1/0), and any such value counts as true",
        "metadata.annotations[autoscaling.keda.sh/paused-replicas]: has no effect on a "
        "ScaledJob (only autoscaling.keda.sh/paused pauses one)"},
       "{name: render, annotations: {autoscaling.keda.sh/paused: 'yes', "
       "autoscaling.keda.sh/paused-replicas: '0'}}"},
  });
}

TEST_CASE("ScaledJob names") {
  const std::string long_name(64, 'a');
  run({
      {"name longer than a label value",
       kJob + kRedis,
       {"metadata.name: scaledjob name \"" + long_name +
        "\" is 64 characters long; must be no more than 63 characters because it is used as the "
        "value of label scaledjob.keda.sh/name on its Jobs"},
       {},
       "{name: " + long_name + "}"},
      {"not a DNS subdomain",
       kJob + kRedis,
       {"metadata.name: Invalid value: \"Render\": must be at most 253 characters of lower-case "
        "letters, digits, '-' or '.', starting and ending with a letter or digit"},
       {},
       "{name: Render}"},
      {"generateName only", kJob + kRedis, {}, {}, "{generateName: render-}"},
  });
}

// KEDA's ValidateTriggers (scaletriggers_types.go), which the ScaledJob webhook runs, and the
// reconciler's metricType check (scaledjob_controller.go).
TEST_CASE("ScaledJob trigger rules") {
  run({
      {"no triggers",
       kJob + "  triggers: []\n",
       {"spec.triggers: no triggers defined in the ScaledObject/ScaledJob"}},
      {"duplicate trigger names",
       kJob +
           "  triggers:\n"
           "    - {type: redis, name: a, metadata: {}}\n"
           "    - {type: rabbitmq, name: a, metadata: {}}\n",
       {"spec.triggers[1].name: triggerName \"a\" is defined multiple times in the "
        "ScaledObject/ScaledJob, but it must be unique"}},
      {"useCachedMetrics on cron",
       kJob + "  triggers: [{type: cron, metadata: {}, useCachedMetrics: true}]\n",
       {"spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for "
        "\"cron\" scaler"}},
      {"useCachedMetrics on redis is ignored",
       kJob + "  triggers: [{type: redis, metadata: {}, useCachedMetrics: true}]\n",
       {},
       {"spec.triggers[0].useCachedMetrics: useCachedMetrics has no effect in a ScaledJob"}},
      {"metricType",
       kJob + "  triggers: [{type: redis, metadata: {}, metricType: Value}]\n",
       {"spec.triggers[0].metricType: metricType cannot be set in ScaledJob triggers (KEDA's "
        "ScaledJob has no such field: jobs are counted from the queue length and the trigger's "
        "target)"}},
      {"cpu trigger",
       kJob + "  triggers: [{type: redis, metadata: {}}, {type: cpu, metadata: {value: '50'}}]\n",
       {},
       {"spec.triggers[1].type: \"cpu\" triggers have no effect in a ScaledJob: only external "
        "metrics count jobs"}},
      {"unknown type with a hint",
       kJob + "  triggers: [{type: rediss, metadata: {}}]\n",
       {"spec.triggers[0].type: unknown trigger type \"rediss\" (did you mean \"redis\"?)"}},
      {"bad authenticationRef kind",
       kJob +
           "  triggers: [{type: redis, metadata: {}, authenticationRef: {name: a, kind: "
           "Secret}}]\n",
       {"spec.triggers[0].authenticationRef.kind: Unsupported value: \"Secret\": supported "
        "values: \"TriggerAuthentication\", \"ClusterTriggerAuthentication\""}},
  });
}
