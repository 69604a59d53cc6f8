// The ScaledJob decision: KEDA's test tables for each step (pkg/scaling/scaledjob/metrics_test.go,
// pkg/scaling/scale_handler_test.go TestGetScaledJobState*, pkg/scaling/executor/
// scale_jobs_test.go), then Ebb's rules for failed triggers, the maxReplicaCount cap and the
// conditions and events of one poll.
#include "ebb/adapter/job_decision.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "ebb/api/decode.h"

using namespace ebb::adapter;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

JobScalingPolicy strategy(JobStrategy s, std::int64_t deduction = 0, double percentage = 0) {
  JobScalingPolicy p;
  p.strategy = s;
  p.queue_length_deduction = deduction;
  p.running_job_percentage = percentage;
  return p;
}

std::int64_t max_scale_of(const JobScalingPolicy& p, std::int64_t max_scale, std::int64_t running,
                          std::int64_t pending, std::int64_t max_replica_count,
                          std::int64_t scale_to) {
  return effective_max_scale(p, max_scale, running, pending, max_replica_count, scale_to).max_scale;
}

ebb::api::ScaledJob scaled_job(const std::string& spec_extra,
                               const std::string& metadata = "{name: test, namespace: test}") {
  auto docs = ebb::api::decode_yaml(
      "apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: " + metadata +
      "\nspec:\n  jobTargetRef:\n    template:\n      spec:\n        containers: [{name: c, "
      "image: i}]\n  triggers: [{type: redis, metadata: {listName: q}}]\n" +
      spec_extra);
  REQUIRE(docs.size() == 1);
  REQUIRE(docs[0].scaled_job());
  return *docs[0].scaled_job();
}

JobTriggerOutcome ok(std::string metric, double value, double target, bool active) {
  JobTriggerOutcome o;
  o.metric_name = std::move(metric);
  o.trigger_type = "redis";
  o.value = value;
  o.target = target;
  o.active = active;
  return o;
}

JobTriggerOutcome failed(std::string metric) {
  JobTriggerOutcome o;
  o.metric_name = std::move(metric);
  o.trigger_type = "redis";
  o.error = "redis 127.0.0.1:1: connection refused";
  return o;
}

JobDecisionInput input(std::vector<JobTriggerOutcome> triggers, std::int64_t running = 0,
                       std::int64_t pending = 0) {
  JobDecisionInput in;
  in.policy.min_replicas = 0;
  in.policy.max_replicas = 10;
  in.triggers = std::move(triggers);
  in.running = running;
  in.pending = pending;
  return in;
}

}  // namespace

// --- pkg/scaling/scaledjob/metrics_test.go ---------------------------------------------------

TEST_CASE("target average value is the mean of the metric specs' targets (KEDA TestTargetAverageValue)") {
  CHECK(target_average_value({}) == 0);
  CHECK(target_average_value({1, 1}) == 1);
  CHECK(target_average_value({5, 5, 3}) == 4.333333333333333);
  CHECK(target_average_value({5, 5, 4}) == 4.666666666666667);
}

// --- pkg/scaling/scale_handler_test.go -------------------------------------------------------

TEST_CASE("one trigger: queue length and max value (KEDA TestGetScaledJobState, single)") {
  // min 1, max 100: MaxReplicaCount() is 99.
  const auto m = trigger_metrics({20}, {2}, true, 99);
  const auto c = combine({m}, ScalersCalculation::Max, 1, 99);
  CHECK(c.active);
  CHECK(c.queue_length == 20);
  CHECK(c.max_value == 10);
}

TEST_CASE("multipleScalersCalculation over four triggers (KEDA TestGetScaledJobState table)") {
  struct Row {
    ScalersCalculation calculation;
    std::int64_t max_replicas;
    std::int64_t queue_length, max_value;
  };
  // Triggers: (queue, target, active) = (20,1,T) (10,2,T) (5,3,T) (7,4,F); min 0.
  const Row rows[] = {
      {ScalersCalculation::Max, 100, 20, 20}, {ScalersCalculation::Min, 100, 5, 2},
      {ScalersCalculation::Avg, 100, 12, 9},  {ScalersCalculation::Sum, 100, 35, 27},
      {ScalersCalculation::Sum, 25, 35, 25},
  };
  for (const auto& row : rows) {
    CAPTURE(to_string(row.calculation), row.max_replicas);
    std::vector<JobTriggerMetrics> triggers = {
        trigger_metrics({20}, {1}, true, row.max_replicas),
        trigger_metrics({10}, {2}, true, row.max_replicas),
        trigger_metrics({5}, {3}, true, row.max_replicas),
        trigger_metrics({7}, {4}, false, row.max_replicas),
    };
    const auto c = combine(triggers, row.calculation, 0, row.max_replicas);
    CHECK(c.active);
    CHECK(c.queue_length == row.queue_length);
    CHECK(c.max_value == row.max_value);
  }
}

TEST_CASE("an empty queue with minReplicaCount above 0 is active (KEDA TestGetScaledJobStateIfQueueEmptyButMinReplicaCountGreaterZero)") {
  const auto c = combine({trigger_metrics({0}, {1}, true, 99)}, ScalersCalculation::Max, 1, 99);
  CHECK(c.active);
  CHECK(c.queue_length == 0);
  CHECK(c.max_value == 0);
}

TEST_CASE("min: a running minimum of 0 is replaced by the next active trigger, as KEDA's loop does") {
  const auto c = combine({trigger_metrics({0}, {1}, true, 100), trigger_metrics({8}, {2}, true, 100)},
                         ScalersCalculation::Min, 0, 100);
  CHECK(c.queue_length == 8);
  CHECK(c.max_value == 4);
}

TEST_CASE("no active trigger: inactive and nothing to scale to, whatever the calculation") {
  for (auto calc : {ScalersCalculation::Max, ScalersCalculation::Min, ScalersCalculation::Avg,
                    ScalersCalculation::Sum}) {
    CAPTURE(to_string(calc));
    const auto c = combine({trigger_metrics({50}, {1}, false, 100)}, calc, 0, 100);
    CHECK_FALSE(c.active);
    CHECK(c.queue_length == 0);
    CHECK(c.max_value == 0);
  }
}

// --- pkg/scaling/executor/scale_jobs_test.go -------------------------------------------------

TEST_CASE("strategy selection (KEDA TestNewNewScalingStrategy and the custom fallbacks)") {
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: custom, "
                                      "customScalingQueueLengthDeduction: 10, "
                                      "customScalingRunningJobPercentage: '0'}\n"))
            .strategy == JobStrategy::Custom);
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: accurate}\n")).strategy ==
        JobStrategy::Accurate);
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: eager}\n")).strategy ==
        JobStrategy::Eager);
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: default}\n")).strategy ==
        JobStrategy::Default);
  CHECK(job_scaling_policy(scaled_job("")).strategy == JobStrategy::Default);
  // An empty (or unparseable) percentage makes custom the default strategy.
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: custom, "
                                      "customScalingQueueLengthDeduction: 1}\n"))
            .strategy == JobStrategy::Default);
  CHECK(job_scaling_policy(scaled_job("  scalingStrategy: {strategy: custom, "
                                      "customScalingRunningJobPercentage: 'half'}\n"))
            .strategy == JobStrategy::Default);
  // A nil deduction is 0 (KEDA issue #7798).
  const auto p = job_scaling_policy(
      scaled_job("  scalingStrategy: {strategy: custom, customScalingRunningJobPercentage: '0.5'}\n"));
  CHECK(p.strategy == JobStrategy::Custom);
  CHECK(p.queue_length_deduction == 0);
  CHECK(p.running_job_percentage == 0.5);
  CHECK(max_scale_of(p, 10, 2, 0, 100, 1) == 9);
  CHECK(max_scale_of(p, 10, 0, 0, 100, 1) == 10);
}

TEST_CASE("default strategy (KEDA TestDefaultScalingStrategy)") {
  const auto p = strategy(JobStrategy::Default);
  CHECK(max_scale_of(p, 3, 2, 0, 5, 1) == 1);
  CHECK(max_scale_of(p, 2, 0, 0, 5, 1) == 2);
}

TEST_CASE("custom strategy (KEDA TestCustomScalingStrategy)") {
  CHECK(max_scale_of(strategy(JobStrategy::Custom, 1, 0.5), 3, 2, 0, 5, 1) == 1);
  CHECK(max_scale_of(strategy(JobStrategy::Custom, 1, 0.5), 10, 0, 0, 10, 1) == 9);
  // Both parameters unset: the default strategy's numbers.
  CHECK(max_scale_of(strategy(JobStrategy::Custom), 3, 2, 0, 5, 1) == 3);
  CHECK(max_scale_of(strategy(JobStrategy::Default), 3, 2, 0, 5, 1) == 1);
  CHECK(max_scale_of(strategy(JobStrategy::Custom, 2, 0), 3, 2, 0, 5, 1) == 1);
  // Capped at maxReplicaCount.
  CHECK(max_scale_of(strategy(JobStrategy::Custom, -2, 0), 3, 2, 0, 4, 1) == 4);
}

TEST_CASE("accurate strategy (KEDA TestAccurateScalingStrategy)") {
  const auto p = strategy(JobStrategy::Accurate);
  CHECK(max_scale_of(p, 3, 2, 0, 5, 1) == 3);
  CHECK(max_scale_of(p, 5, 2, 0, 5, 1) == 3);
  CHECK(max_scale_of(p, 3, 4, 2, 10, 1) == 1);
  CHECK(max_scale_of(p, 5, 4, 2, 5, 1) == 1);
  CHECK(max_scale_of(p, 3, 3, 3, 5, 1) == 0);
  CHECK(max_scale_of(p, 15, 15, 15, 20, 1) == 0);
  CHECK(max_scale_of(p, 10, 10, 10, 15, 1) == 0);
  CHECK(max_scale_of(p, 20, 15, 10, 20, 1) == 5);
}

TEST_CASE("eager strategy (KEDA TestEagerScalingStrategy)") {
  const auto p = strategy(JobStrategy::Eager);
  CHECK(effective_max_scale(p, 4, 3, 0, 10, 1) == EffectiveScale{4, 10});
  CHECK(effective_max_scale(p, 4, 0, 3, 10, 1) == EffectiveScale{4, 10});
  CHECK(effective_max_scale(p, 4, 7, 0, 10, 1) == EffectiveScale{3, 10});
  CHECK(effective_max_scale(p, 4, 1, 6, 10, 1) == EffectiveScale{3, 10});
  CHECK(effective_max_scale(p, 15, 0, 0, 10, 1) == EffectiveScale{10, 10});
}

TEST_CASE("running jobs below, at and above minReplicaCount (KEDA TestRunningJobCount*)") {
  JobScalingPolicy p;
  p.min_replicas = 2;
  p.max_replicas = 98;
  CHECK(scaling_decision(p, 0, 0, 0, 0) == EffectiveScale{2, 2});
  CHECK(scaling_decision(p, 1, 0, 0, 0) == EffectiveScale{1, 1});
  p.min_replicas = 1;
  p.max_replicas = 99;
  CHECK(scaling_decision(p, 1, 2, 2, 0) == EffectiveScale{2, 2});
}

TEST_CASE("history trimming keeps the newest finished jobs per kind (KEDA TestCleanUp*)") {
  auto complete = [](std::string name, std::string at) {
    return FinishedJob{std::move(name), JobFinish::Complete, std::move(at)};
  };
  auto fail = [](std::string name, std::string at) {
    return FinishedJob{std::move(name), JobFinish::Failed, std::move(at)};
  };
  // TestCleanUpNormalCase
  CHECK(jobs_to_trim({complete("name1", "2020-07-29T15:37:00Z"),
                      complete("name2", "2020-07-29T15:36:00Z"),
                      complete("name3", "2020-07-29T15:38:00Z")},
                     2, 2) == Strings{"name2"});
  // TestCleanUpMixedCaseWithSortByTime
  CHECK(jobs_to_trim({complete("success1", "2020-07-29T15:37:00Z"),
                      complete("success2", "2020-07-29T15:36:00Z"),
                      complete("success3", "2020-07-29T15:35:00Z"),
                      fail("fail1", "2020-07-29T15:37:00Z"), fail("fail2", "2020-07-29T15:36:00Z"),
                      fail("fail3", "2020-07-29T15:38:00Z")},
                     1, 2) == Strings{"success3", "success2", "fail2"});
  // TestCleanUpDefaultValue: 101 of each, limits 100.
  std::vector<FinishedJob> jobs = {complete("success0", "2020-07-29T15:35:00Z")};
  for (int i = 1; i < 101; ++i)
    jobs.push_back(complete("success" + std::to_string(i), "2020-07-29T15:40:00Z"));
  jobs.push_back(fail("fail101", "2020-07-29T15:35:00Z"));
  for (int i = 102; i < 202; ++i)
    jobs.push_back(fail("fail" + std::to_string(i), "2020-07-29T15:40:00Z"));
  CHECK(jobs_to_trim(jobs, 100, 100) == Strings{"success0", "fail101"});
  // Limit 0 keeps none.
  CHECK(jobs_to_trim({complete("a", "2020-07-29T15:35:00Z")}, 0, 0) == Strings{"a"});
}

TEST_CASE("a finished Job's time is completionTime, else its finishing condition's") {
  const auto done = json::parse(R"({"metadata": {"name": "a"}, "status": {
      "completionTime": "2020-07-29T15:37:00Z",
      "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2020-07-29T15:36:59Z"}]}})");
  const auto failed_job = json::parse(R"({"metadata": {"name": "b"}, "status": {
      "conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": "2020-07-29T15:30:00Z"}]}})");
  const auto running = json::parse(R"({"metadata": {"name": "c"}, "status": {
      "conditions": [{"type": "Complete", "status": "False"}, {"type": "Suspended", "status": "True"}]}})");
  CHECK(job_finish(done) == JobFinish::Complete);
  CHECK(job_finish(failed_job) == JobFinish::Failed);
  CHECK(job_finish(running) == JobFinish::None);
  CHECK(job_finish(json::object()) == JobFinish::None);
  CHECK(finished_job(done).finished_at == "2020-07-29T15:37:00Z");
  const auto f = finished_job(failed_job);
  CHECK(f.finish == JobFinish::Failed);
  CHECK(f.finished_at == "2020-07-29T15:30:00Z");
}

TEST_CASE("pending jobs (KEDA TestGetPendingJobCount)") {
  const Strings conditions = {"Ready", "PodScheduled"};
  auto pod = [](std::string phase, std::map<std::string, bool> c = {}) {
    return PodState{std::move(phase), std::move(c)};
  };
  const std::map<std::string, bool> ready = {{"Ready", true}};
  const std::map<std::string, bool> scheduled = {{"PodScheduled", true}};
  const std::map<std::string, bool> both = {{"Ready", true}, {"PodScheduled", true}};
  // One pod, by phase.
  CHECK_FALSE(job_pending({pod("Succeeded")}, {}));
  CHECK_FALSE(job_pending({pod("Running")}, {}));
  CHECK(job_pending({pod("Failed")}, {}));
  CHECK(job_pending({pod("Pending")}, {}));
  CHECK(job_pending({pod("Unknown")}, {}));
  CHECK(job_pending({}, {}));  // no pod yet
  // One pod, by conditions.
  CHECK(job_pending({pod("")}, conditions));
  CHECK(job_pending({pod("", ready)}, conditions));
  CHECK(job_pending({pod("", scheduled)}, conditions));
  CHECK_FALSE(job_pending({pod("", both)}, conditions));
  // Several pods: one with all conditions is enough.
  CHECK_FALSE(job_pending({pod("", both), pod("", both)}, conditions));
  CHECK_FALSE(job_pending({pod("", both), pod("", ready)}, conditions));
  CHECK(job_pending({pod("", ready), pod("", scheduled)}, conditions));
  CHECK_FALSE(job_pending({pod(""), pod("", ready), pod("", both)}, conditions));
  CHECK(job_pending({pod(""), pod("", ready), pod("", scheduled)}, conditions));
  // No conditions listed: the phase decides.
  CHECK_FALSE(job_pending({pod("Running", ready)}, {}));
  // A False condition does not count.
  CHECK(job_pending({pod("", {{"Ready", true}, {"PodScheduled", false}})}, conditions));
}

TEST_CASE("pod state reads phase and True conditions") {
  const auto p = pod_state(json::parse(R"({"status": {"phase": "Running",
      "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "False"}]}})"));
  CHECK(p.phase == "Running");
  CHECK(p.conditions.at("Ready"));
  CHECK_FALSE(p.conditions.at("PodScheduled"));
}

TEST_CASE("the Job a ScaledJob creates (KEDA TestGenerateJobs, TestCreateJobs)") {
  const auto sj = scaled_job("", "{name: test, namespace: test, uid: u-1, generation: 3, "
                                 "labels: {test: test, secret-team: x}, annotations: {test: test, "
                                 "scaledjob.keda.sh/job-excluded-labels: secret-team}}");
  const auto job = job_manifest(sj, "main");
  CHECK(job["apiVersion"] == "batch/v1");
  CHECK(job["kind"] == "Job");
  CHECK(job["metadata"]["generateName"] == "test-");
  CHECK(job["metadata"]["namespace"] == "test");
  CHECK(job["metadata"]["labels"] == json{{"app.kubernetes.io/managed-by", "keda-operator"},
                                          {"app.kubernetes.io/name", "test"},
                                          {"app.kubernetes.io/part-of", "test"},
                                          {"app.kubernetes.io/version", "main"},
                                          {"scaledjob.keda.sh/name", "test"},
                                          {"test", "test"}});
  CHECK(job["metadata"]["annotations"] ==
        json{{"test", "test"},
             {"scaledjob.keda.sh/generation", "3"},
             {"scaledjob.keda.sh/job-excluded-labels", "secret-team"}});
  CHECK(job["metadata"]["ownerReferences"] ==
        json::array({{{"apiVersion", "keda.sh/v1alpha1"},
                      {"kind", "ScaledJob"},
                      {"name", "test"},
                      {"uid", "u-1"},
                      {"controller", true},
                      {"blockOwnerDeletion", true}}}));
  CHECK(job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure");
  CHECK(job["spec"]["template"]["metadata"]["labels"]["scaledjob.keda.sh/name"] == "test");
  CHECK(job["spec"]["template"]["spec"]["containers"][0]["name"] == "c");
  // An explicit restartPolicy is kept.
  auto never = sj;
  never.spec.job_target_ref["template"]["spec"]["restartPolicy"] = "Never";
  CHECK(job_manifest(never, "main")["spec"]["template"]["spec"]["restartPolicy"] == "Never");
}

// --- the decision of one poll (Ebb) ----------------------------------------------------------

TEST_CASE("jobs are created as the queue grows, capped at maxReplicaCount") {
  struct Row {
    double queue;
    std::int64_t running;
    std::int64_t create;
  };
  // listLength 1, maxReplicaCount 10, default strategy: running jobs are taken to be working
  // on items of the queue (KEDA), so 3 items with 1 running job create 2.
  const Row rows[] = {{0, 0, 0},   {1, 0, 1},    {3, 0, 3},   {3, 1, 2},  {12, 0, 10},
                      {12, 4, 6},  {12, 10, 0},  {12, 12, 0}, {1e30, 0, 10}};
  for (const auto& row : rows) {
    CAPTURE(row.queue, row.running);
    auto in = input({ok("s0-redis-q", row.queue, 1, row.queue > 0)}, row.running);
    const auto d = decide_jobs(in);
    CHECK(d.create == row.create);
    CHECK(d.active == (row.queue > 0));
    CHECK(d.ready.status == "True");
  }
}

TEST_CASE("a failed trigger never creates jobs and never reads as an empty queue") {
  SECTION("the only trigger failed") {
    auto in = input({failed("s0-redis-q")}, 0);
    in.was_active = true;
    const auto d = decide_jobs(in);
    CHECK(d.create == 0);
    CHECK_FALSE(d.active);
    CHECK(d.error);
    CHECK(d.all_failed);
    CHECK(d.ready == Condition{"Ready", "False", "TriggerError",
                               "Triggers defined in ScaledJob are not working correctly"});
    CHECK_FALSE(d.active_condition);  // unknown: left as it was, no ScaledJobInactive event
    REQUIRE(d.events.size() == 1);
    CHECK(d.events[0].reason == "KEDAScalerFailed");
    CHECK(d.events[0].type == "Warning");
    CHECK(d.events[0].message ==
          "s0-redis-q (redis): redis 127.0.0.1:1: connection refused");
    CHECK(d.triggers_activity == std::map<std::string, bool>{{"s0-redis-q", false}});
  }
  SECTION("another trigger is active: jobs from that one, Ready Unknown") {
    auto in = input({failed("s0-redis-q"), ok("s1-redis-r", 4, 1, true)}, 1);
    const auto d = decide_jobs(in);
    CHECK(d.active);
    CHECK(d.create == 3);  // 4 items, 1 running Job (KEDA's default strategy)
    CHECK(d.ready.status == "Unknown");
    CHECK(d.ready.reason == "PartialTriggerError");
    REQUIRE(d.active_condition);
    CHECK(d.active_condition->status == "True");
  }
  SECTION("with a minimum, the minimum is still kept, nothing more") {
    auto in = input({failed("s0-redis-q")}, 0);
    in.policy.min_replicas = 2;
    in.policy.max_replicas = 8;
    const auto d = decide_jobs(in);
    CHECK(d.create == 2);
    CHECK(d.ready.status == "Unknown");
    in.running = 2;
    CHECK(decide_jobs(in).create == 0);
  }
}

TEST_CASE("activity flips record KEDA's events and conditions") {
  auto in = input({ok("s0-redis-q", 2, 1, true)});
  auto d = decide_jobs(in);
  CHECK(d.stamp_last_active);
  REQUIRE(d.events.size() == 1);
  CHECK(d.events[0] == Event{"Normal", "ScaledJobActive",
                             "Scaling is performed because triggers are active"});
  CHECK(d.active_condition == Condition{"Active", "True", "ScalerActive",
                                        "Scaling is performed because triggers are active"});
  in.was_active = true;
  CHECK(decide_jobs(in).events.empty());

  in = input({ok("s0-redis-q", 0, 1, false)});
  in.was_active = true;
  d = decide_jobs(in);
  CHECK_FALSE(d.stamp_last_active);
  CHECK(d.create == 0);
  REQUIRE(d.events.size() == 1);
  CHECK(d.events[0].reason == "ScaledJobInactive");
  CHECK(d.active_condition == Condition{"Active", "False", "ScalerNotActive",
                                        "Scaling is not performed because triggers are not active"});
}

TEST_CASE("a paused ScaledJob does nothing") {
  auto sj = scaled_job("", "{name: test, namespace: test, annotations: {autoscaling.keda.sh/paused: 'true'}}");
  JobDecisionInput in;
  in.policy = job_scaling_policy(sj);
  in.triggers = {ok("s0-redis-q", 5, 1, true)};
  const auto d = decide_jobs(in);
  CHECK(d.skipped);
  CHECK(d.create == 0);
  CHECK(d.events.empty());
}

TEST_CASE("the policy carries KEDA's bounds and history limits") {
  const auto p = job_scaling_policy(scaled_job(
      "  minReplicaCount: 2\n  maxReplicaCount: 10\n  successfulJobsHistoryLimit: 3\n"
      "  failedJobsHistoryLimit: 0\n  scalingStrategy: {multipleScalersCalculation: avg, "
      "pendingPodConditions: [Ready]}\n"));
  CHECK(p.min_replicas == 2);
  CHECK(p.max_replicas == 8);
  CHECK(p.successful_jobs_history_limit == 3);
  CHECK(p.failed_jobs_history_limit == 0);
  CHECK(p.calculation == ScalersCalculation::Avg);
  CHECK(p.pending_pod_conditions == Strings{"Ready"});
  CHECK_FALSE(p.paused);
}

TEST_CASE("accurate strategy through a whole poll counts pending jobs") {
  auto in = input({ok("s0-redis-q", 5, 1, true)}, 4, 2);
  in.policy.strategy = JobStrategy::Accurate;
  // maxScale 5 + running 4 - pending 2 = 7 <= 10: 5 - 2 = 3.
  CHECK(decide_jobs(in).create == 3);
  in.running = 8;
  // 5 + 8 - 2 = 11 > 10: 10 - 8 = 2.
  CHECK(decide_jobs(in).create == 2);
}

TEST_CASE("values that do not fit an int64 saturate instead of overflowing") {
  const auto inf = std::numeric_limits<double>::infinity();
  const auto c = combine({trigger_metrics({inf}, {1}, true, 10)}, ScalersCalculation::Max, 0, 10);
  CHECK(c.queue_length == std::numeric_limits<std::int64_t>::max());
  CHECK(c.max_value == 10);
  const auto nan = combine({trigger_metrics({std::nan("")}, {1}, true, 10)}, ScalersCalculation::Sum,
                           0, 10);
  CHECK(nan.queue_length == 0);
}
