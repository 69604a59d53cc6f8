// ScaledJob validation: the CRD's value rules (minimums, enums), KEDA's ValidateTriggers (the
// only check KEDA's ScaledJob webhook runs) and its reconciler's trigger check (no metricType),
// plus warnings for settings KEDA accepts but ignores or reads differently from how they look.
#include <algorithm>
#include <cmath>

#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/strings.h"
#include "messages.h"
#include "names.h"
#include "validate_triggers.h"

namespace ebb::api {

using detail::invalid_value;
using detail::minimum_violation;
using detail::required_value;
using detail::unsupported_value;

namespace {

const std::vector<std::string> kScalingStrategies = {"default", "custom", "accurate", "eager"};
const std::vector<std::string> kMultipleScalersCalculations = {"min", "avg", "sum", "max"};
const std::vector<std::string> kRolloutStrategies = {"gradual", "immediate"};
const std::vector<std::string> kPropagationPolicies = {"foreground", "background"};
// ScaledObject-only annotations: KEDA reads none of them on a ScaledJob.
const std::vector<std::string_view> kScaledObjectOnlyAnnotations = {
    kPausedReplicasAnnotation, kPausedScaleInAnnotation, kPausedScaleOutAnnotation,
    kForceActivationAnnotation, kTransferHpaOwnershipAnnotation, kHpaExcludedLabelsAnnotation};

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

class ScaledJobValidator {
 public:
  ScaledJobValidator(const ScaledJob& sj, const ValidationOptions& options)
      : sj_(sj), spec_(sj.spec), options_(options) {}

  ValidationResult run() {
    check_name();
    check_annotations();
    check_job_target();
    check_minimums();
    check_replica_bounds();
    check_enums();
    check_custom_strategy();
    check_triggers();
    return std::move(result_);
  }

 private:
  void error(std::string path, std::string message) {
    result_.error(std::move(path), std::move(message));
  }
  void warn(std::string path, std::string message) {
    result_.warn(std::move(path), std::move(message));
  }

  void check_name() {
    const auto& meta = sj_.metadata;
    if (meta.name.empty()) {
      if (meta.generate_name.empty())
        error("metadata.name", required_value("name or generateName is required"));
    } else {
      if (!detail::is_dns_subdomain(meta.name))
        error("metadata.name", invalid_value(meta.name, detail::kDnsSubdomainRule));
      if (meta.name.size() > kMaxLabelValueLength)
        error("metadata.name", "scaledjob name " + ebb::quoted(meta.name) + " is " +
                                   std::to_string(meta.name.size()) +
                                   " characters long; must be no more than 63 characters "
                                   "because it is used as the value of label " +
                                   std::string(kScaledJobNameLabel) + " on its Jobs");
    }
    if (!meta.namespace_.empty() && !detail::is_dns_label(meta.namespace_))
      error("metadata.namespace", invalid_value(meta.namespace_, detail::kDnsLabelRule));
  }

  void check_annotations() {
    const auto& annotations = sj_.metadata.annotations;
    const auto path = [](std::string_view name) {
      return child_path("metadata.annotations", name);
    };
    if (auto it = annotations.find(std::string(kPausedAnnotation));
        it != annotations.end() && !parse_go_bool(it->second))
      warn(path(kPausedAnnotation), ebb::quoted(it->second) +
                                        " is not a boolean (true/false, t/f, 1/0), and any such "
                                        "value counts as true");
    for (auto name : kScaledObjectOnlyAnnotations)
      if (annotations.count(std::string(name)))
        warn(path(name), "has no effect on a ScaledJob (only " +
                             std::string(kPausedAnnotation) + " pauses one)");
  }

  void check_job_target() {
    // Decode requires jobTargetRef and its template; objects built in code may lack them.
    const auto& ref = spec_.job_target_ref;
    if (!ref.is_object()) {
      error("spec.jobTargetRef", required_value());
      return;
    }
    if (!ref.contains("template") || !ref["template"].is_object())
      error("spec.jobTargetRef.template", required_value());
  }

  void minimum(const char* path, const std::optional<std::int32_t>& value, std::int32_t min) {
    if (value && *value < min) error(path, minimum_violation(*value, min));
  }

  void check_minimums() {
    minimum("spec.pollingInterval", spec_.polling_interval, 1);
    minimum("spec.successfulJobsHistoryLimit", spec_.successful_jobs_history_limit, 0);
    minimum("spec.failedJobsHistoryLimit", spec_.failed_jobs_history_limit, 0);
    minimum("spec.minReplicaCount", spec_.min_replica_count, 0);
    minimum("spec.maxReplicaCount", spec_.max_replica_count, 1);
  }

  // The ScaledJob CRD has no min <= max rule (unlike the ScaledObject's), so KEDA accepts it and
  // then treats maxReplicaCount as both bounds.
  void check_replica_bounds() {
    if (!spec_.min_replica_count || !spec_.max_replica_count) return;
    const auto min = *spec_.min_replica_count;
    const auto max = *spec_.max_replica_count;
    if (min > max && max >= 1)
      warn("spec.minReplicaCount",
           "minReplicaCount " + std::to_string(min) + " is above maxReplicaCount " +
               std::to_string(max) + ": both count as " + std::to_string(max) +
               " (accepted because KEDA accepts it)");
  }

  void one_of(const std::string& path, const std::string& value,
              const std::vector<std::string>& allowed) {
    if (!value.empty() && !contains(allowed, value))
      error(path, unsupported_value(value, allowed));
  }

  void check_enums() {
    const auto& ss = spec_.scaling_strategy;
    one_of("spec.scalingStrategy.strategy", ss.strategy, kScalingStrategies);
    one_of("spec.scalingStrategy.multipleScalersCalculation", ss.multiple_scalers_calculation,
           kMultipleScalersCalculations);
    one_of("spec.rolloutStrategy", spec_.rollout_strategy, kRolloutStrategies);
    one_of("spec.rollout.strategy", spec_.rollout.strategy, kRolloutStrategies);
    one_of("spec.rollout.propagationPolicy", spec_.rollout.propagation_policy,
           kPropagationPolicies);
    if (!spec_.rollout_strategy.empty()) {
      std::string message = "rolloutStrategy is deprecated: use rollout.strategy";
      if (!spec_.rollout.strategy.empty() && spec_.rollout.strategy != spec_.rollout_strategy)
        message += " (rolloutStrategy " + ebb::quoted(spec_.rollout_strategy) +
                   " wins over rollout.strategy " + ebb::quoted(spec_.rollout.strategy) + ")";
      warn("spec.rolloutStrategy", std::move(message));
    }
  }

  // KEDA silently falls back to the default strategy when the percentage does not parse, and
  // ignores the custom fields under any other strategy.
  void check_custom_strategy() {
    const auto& ss = spec_.scaling_strategy;
    const std::string path = "spec.scalingStrategy";
    const bool has_custom_fields = ss.custom_scaling_queue_length_deduction.has_value() ||
                                   !ss.custom_scaling_running_job_percentage.empty();
    if (ss.strategy == "custom") {
      const auto& text = ss.custom_scaling_running_job_percentage;
      const auto percentage = detail::parse_go_float(text);
      if (!percentage)
        warn(path + ".customScalingRunningJobPercentage",
             (text.empty() ? std::string("not set")
                           : ebb::quoted(text) + " is not a number") +
                 ": the custom strategy needs it, so the default strategy is used instead");
    } else if (has_custom_fields && contains(kScalingStrategies, ss.strategy_or_default())) {
      warn(path, "customScalingQueueLengthDeduction and customScalingRunningJobPercentage have "
                 "no effect unless strategy is \"custom\"");
    }
  }

  void check_triggers() {
    detail::TriggerChecks(options_, result_)
        .check_list(spec_.triggers, [this](const ScaleTrigger& trigger, const std::string& path) {
          if (!trigger.metric_type.empty())
            error(path + ".metricType",
                  "metricType cannot be set in ScaledJob triggers (KEDA's ScaledJob has no such "
                  "field: jobs are counted from the queue length and the trigger's target)");
          if (trigger.use_cached_metrics &&
              detail::trigger_traits(options_, trigger.type).cached_metrics)
            warn(path + ".useCachedMetrics", "useCachedMetrics has no effect in a ScaledJob");
          if (detail::trigger_traits(options_, trigger.type).resource_metric)
            warn(path + ".type", ebb::quoted(trigger.type) +
                                     " triggers have no effect in a ScaledJob: only external "
                                     "metrics count jobs");
        });
  }

  const ScaledJob& sj_;
  const ScaledJobSpec& spec_;
  const ValidationOptions& options_;
  ValidationResult result_;
};

}  // namespace

ValidationResult validate(const ScaledJob& sj, const ValidationOptions& options) {
  return ScaledJobValidator(sj, options).run();
}

}  // namespace ebb::api
