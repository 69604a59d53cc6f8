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

std::string hpa_name(const ScaledObject& so) {
  const auto& advanced = so.spec.advanced;
  if (advanced && advanced->horizontal_pod_autoscaler_config &&
      !advanced->horizontal_pod_autoscaler_config->name.empty())
    return advanced->horizontal_pod_autoscaler_config->name;
  return "keda-hpa-" + so.metadata.name;
}

}  // namespace ebb::api
