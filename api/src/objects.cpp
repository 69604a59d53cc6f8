#include "ebb/api/objects.h"

namespace ebb::api {

std::string ScaleTargetRef::api_version_or_default() const {
  return api_version.empty() ? std::string(kDefaultScaleTargetApiVersion) : api_version;
}

std::string ScaleTargetRef::kind_or_default() const {
  return kind.empty() ? std::string(kDefaultScaleTargetKind) : kind;
}

std::string ScalingModifiers::metric_type_or_default() const {
  return metric_type.empty() ? std::string(kDefaultMetricType) : metric_type;
}

std::string AuthenticationRef::kind_or_default() const {
  return kind.empty() ? std::string(kTriggerAuthenticationKind) : kind;
}

std::string ScaleTrigger::metric_type_or_default() const {
  return metric_type.empty() ? std::string(kDefaultMetricType) : metric_type;
}

std::int32_t ScaledObjectSpec::polling_interval_or_default() const {
  return polling_interval.value_or(kDefaultPollingInterval);
}

std::int32_t ScaledObjectSpec::cooldown_period_or_default() const {
  return cooldown_period.value_or(kDefaultCooldownPeriod);
}

std::int32_t ScaledObjectSpec::initial_cooldown_period_or_default() const {
  return initial_cooldown_period.value_or(kDefaultInitialCooldownPeriod);
}

std::int32_t ScaledObjectSpec::min_replica_count_or_default() const {
  return min_replica_count.value_or(kDefaultMinReplicaCount);
}

std::int32_t ScaledObjectSpec::max_replica_count_or_default() const {
  return max_replica_count.value_or(kDefaultMaxReplicaCount);
}

std::int32_t ScaledObjectSpec::hpa_min_replicas() const {
  return min_replica_count && *min_replica_count > 0 ? *min_replica_count : 1;
}

bool ScaledObjectSpec::uses_scaling_modifiers() const {
  return advanced && !advanced->scaling_modifiers.empty();
}

const ScalingModifiers* ScaledObjectSpec::scaling_modifiers() const {
  return uses_scaling_modifiers() ? &advanced->scaling_modifiers : nullptr;
}

std::string JobScalingStrategy::strategy_or_default() const {
  return strategy.empty() ? std::string(kDefaultScalingStrategy) : strategy;
}

std::string JobScalingStrategy::multiple_scalers_calculation_or_default() const {
  return multiple_scalers_calculation.empty() ? std::string(kDefaultMultipleScalersCalculation)
                                              : multiple_scalers_calculation;
}

std::int32_t ScaledJobSpec::polling_interval_or_default() const {
  return polling_interval.value_or(kDefaultPollingInterval);
}

std::int32_t ScaledJobSpec::successful_jobs_history_limit_or_default() const {
  return successful_jobs_history_limit.value_or(kDefaultSuccessfulJobsHistoryLimit);
}

std::int32_t ScaledJobSpec::failed_jobs_history_limit_or_default() const {
  return failed_jobs_history_limit.value_or(kDefaultFailedJobsHistoryLimit);
}

std::int64_t ScaledJobSpec::effective_min_replica_count() const {
  if (!min_replica_count) return kDefaultScaledJobMinReplicaCount;
  if (max_replica_count && *min_replica_count > *max_replica_count) return *max_replica_count;
  return *min_replica_count;
}

std::int64_t ScaledJobSpec::effective_max_replica_count() const {
  if (!max_replica_count) return kDefaultScaledJobMaxReplicaCount;
  if (min_replica_count && *min_replica_count > *max_replica_count) return *max_replica_count;
  return std::int64_t{*max_replica_count} - effective_min_replica_count();
}

std::string ScaledJobSpec::rollout_strategy_or_default() const {
  if (!rollout_strategy.empty()) return rollout_strategy;
  return rollout.strategy.empty() ? std::string(kDefaultRolloutStrategy) : rollout.strategy;
}

std::string ScaledJobSpec::propagation_policy_or_default() const {
  return rollout.propagation_policy.empty() ? std::string(kDefaultRolloutPropagationPolicy)
                                            : rollout.propagation_policy;
}

std::string hpa_name(const ScaledObject& so) {
  const auto& advanced = so.spec.advanced;
  if (advanced && advanced->horizontal_pod_autoscaler_config &&
      !advanced->horizontal_pod_autoscaler_config->name.empty())
    return advanced->horizontal_pod_autoscaler_config->name;
  return "keda-hpa-" + so.metadata.name;
}

}  // namespace ebb::api
