// The ScaledJob decision (keda-compat §1.3; KEDA's pkg/scaling/scaledjob/metrics.go and
// pkg/scaling/executor/scale_jobs.go): how many Jobs one poll creates, which finished Jobs the
// history limits trim, which Jobs count as running and pending, and the Job a ScaledJob stamps
// out. Pure: no clock, no I/O. The job loop gathers one outcome per external metric and the
// ScaledJob's Jobs (and their pods) from its informers, calls these, and carries out the result.
//
// Differences from KEDA, on purpose:
// - A failed trigger is unknown, never inactive: when no trigger is active and some failed, the
//   Active condition is left as it was (KEDA sets it False and records ScaledJobInactive). No
//   Job is ever created or deleted from a failed trigger's reading: it takes no part in the
//   multipleScalersCalculation (as in KEDA), and history trimming does not depend on triggers.
// - Finished Jobs without status.completionTime (failed Jobs never get one) are ordered by the
//   lastTransitionTime of their Complete/Failed condition; KEDA compares nil times as equal and
//   so trims them in an unspecified order.
// - Numbers a scaler returns that do not fit an int64 (inf, 1e30) saturate instead of being
//   undefined as Go's float->int conversion is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/adapter/decision.h"
#include "ebb/api/objects.h"

namespace ebb::adapter {

// ---------------------------------------------------------------------------------------------
// Policy: the parts of a ScaledJob the decision reads.

enum class JobStrategy { Default, Custom, Accurate, Eager };
enum class ScalersCalculation { Max, Min, Avg, Sum };
std::string_view to_string(JobStrategy strategy);
std::string_view to_string(ScalersCalculation calculation);

struct JobScalingPolicy {
  std::int64_t min_replicas = 0;    // KEDA's MinReplicaCount()
  std::int64_t max_replicas = 100;  // KEDA's MaxReplicaCount(): jobs above the minimum
  // Custom with a customScalingRunningJobPercentage that does not parse is Default (KEDA).
  JobStrategy strategy = JobStrategy::Default;
  std::int64_t queue_length_deduction = 0;  // customScalingQueueLengthDeduction, unset = 0
  double running_job_percentage = 0;        // customScalingRunningJobPercentage
  ScalersCalculation calculation = ScalersCalculation::Max;
  std::vector<std::string> pending_pod_conditions;
  std::int32_t successful_jobs_history_limit = 100;
  std::int32_t failed_jobs_history_limit = 100;
  bool paused = false;  // autoscaling.keda.sh/paused (KEDA's ParseBool reading: junk pauses)
};

// Reads the policy; unknown enum values (which the CRD rejects) read as the defaults.
JobScalingPolicy job_scaling_policy(const api::ScaledJob& sj);

// ---------------------------------------------------------------------------------------------
// KEDA's arithmetic, one function per step, so KEDA's test tables apply to each.

// One trigger's contribution (KEDA's ScalerMetrics).
struct JobTriggerMetrics {
  double queue_length = 0;
  double max_value = 0;  // queue_length / target, capped at max_replicas; 0 when target is 0
  bool active = false;
};
// KEDA's CalculateQueueLengthAndMaxValue for one metric: `values` are the values the scaler
// returned for it (summed), `targets` the AverageValue targets of the trigger's metric specs
// (averaged).
JobTriggerMetrics trigger_metrics(const std::vector<double>& values,
                                  const std::vector<double>& targets, bool active,
                                  std::int64_t max_replicas);
// Mean of the targets; 0 for none (KEDA's getTargetAverageValue).
double target_average_value(const std::vector<double>& targets);

struct CombinedMetrics {
  bool active = false;
  std::int64_t queue_length = 0;  // ceil; KEDA's scaleTo
  std::int64_t max_value = 0;     // ceil of the capped max value; KEDA's maxScale
};
// KEDA's IsScaledJobActive: combines the active triggers by the calculation; a minimum above 0
// makes the ScaledJob active regardless.
CombinedMetrics combine(const std::vector<JobTriggerMetrics>& triggers,
                        ScalersCalculation calculation, std::int64_t min_replicas,
                        std::int64_t max_replicas);

struct EffectiveScale {
  std::int64_t max_scale = 0;  // effective max: the most Jobs this poll may create
  std::int64_t scale_to = 0;   // the Jobs it asks for
  bool operator==(const EffectiveScale&) const = default;
};
// KEDA's ScalingStrategy.GetEffectiveMaxScale.
EffectiveScale effective_max_scale(const JobScalingPolicy& policy, std::int64_t max_scale,
                                   std::int64_t running, std::int64_t pending,
                                   std::int64_t max_replica_count, std::int64_t scale_to);
// KEDA's getScalingDecision: below the minimum, top up to it; else the strategy on the jobs
// running above the minimum.
EffectiveScale scaling_decision(const JobScalingPolicy& policy, std::int64_t running,
                                std::int64_t scale_to, std::int64_t max_scale,
                                std::int64_t pending);
// Jobs one poll creates: min(scale_to, max_scale) when active and max_scale > 0, else 0.
std::int64_t jobs_to_create(bool active, const EffectiveScale& scale);

// ---------------------------------------------------------------------------------------------
// Jobs and pods as the decision sees them.

enum class JobFinish { None, Complete, Failed };
// The first True Complete or Failed condition of a batch/v1 Job (KEDA's isJobFinished).
JobFinish job_finish(const nlohmann::json& job);

struct PodState {
  std::string phase;                        // status.phase
  std::map<std::string, bool> conditions;   // status.conditions: type -> status == "True"
};
PodState pod_state(const nlohmann::json& pod);
// A running Job is pending when none of its pods is Running or Succeeded, or, with
// pendingPodConditions, when no pod has all of them True (KEDA's getPendingJobCount).
bool job_pending(const std::vector<PodState>& pods,
                 const std::vector<std::string>& pending_pod_conditions);

struct FinishedJob {
  std::string name;
  JobFinish finish = JobFinish::Complete;
  std::string finished_at;  // RFC 3339: completionTime, else the finishing condition's time
};
FinishedJob finished_job(const nlohmann::json& job);  // for a Job whose job_finish() != None
// Names of the finished Jobs beyond the history limits, oldest first (KEDA's cleanUp).
std::vector<std::string> jobs_to_trim(std::vector<FinishedJob> finished,
                                      std::int32_t successful_limit, std::int32_t failed_limit);

// The Job a ScaledJob creates (KEDA's generateJobs): generateName "<sj>-", its namespace, the
// labels app.kubernetes.io/{name,part-of}=<sj}, version, managed-by=keda-operator and
// scaledjob.keda.sh/name=<sj> plus the ScaledJob's labels minus those named in
// scaledjob.keda.sh/job-excluded-labels, the annotation scaledjob.keda.sh/generation plus the
// ScaledJob's annotations, the ScaledJob as controller owner, jobTargetRef as spec with the
// scaledjob.keda.sh/name label on the pod template and restartPolicy OnFailure when unset.
nlohmann::json job_manifest(const api::ScaledJob& sj, std::string_view version);

// ---------------------------------------------------------------------------------------------
// The decision for one poll.

// One external metric of one trigger in this poll.
struct JobTriggerOutcome {
  std::string metric_name;   // "s0-redis-renders"
  std::string trigger_type;  // for messages
  std::optional<double> value;  // set when the query succeeded: the queue length
  double target = 0;            // the metric's AverageValue target
  bool active = false;
  std::optional<std::string> error;  // set when it failed

  bool failed() const { return error.has_value(); }
};

struct JobDecisionInput {
  JobScalingPolicy policy;
  std::vector<JobTriggerOutcome> triggers;
  std::int64_t running = 0;  // Jobs without a True Complete/Failed condition
  std::int64_t pending = 0;  // of those, the pending ones
  bool was_active = false;   // status.conditions[Active] was True
};

struct JobDecision {
  bool skipped = false;  // paused: nothing at all
  bool active = false;
  bool error = false;     // some trigger failed
  bool all_failed = false;  // every trigger failed (and there is at least one)
  CombinedMetrics combined;
  EffectiveScale scale;   // after the strategy; max_scale clamped at 0
  std::int64_t create = 0;  // Jobs to create now
  bool stamp_last_active = false;
  Condition ready;
  std::optional<Condition> active_condition;  // nullopt: leave it
  std::vector<Event> events;
  std::map<std::string, bool> triggers_activity;  // status.triggersActivity
};

JobDecision decide_jobs(const JobDecisionInput& input);

}  // namespace ebb::adapter
