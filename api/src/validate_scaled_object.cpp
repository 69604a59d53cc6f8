// ScaledObject validation: CRD value rules, KEDA's reconciler and admission checks that need no
// cluster, and annotation values. Each check_* adds to one ValidationResult, so a user sees
// every problem at once.
#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/keda_types.h"
#include "ebb/api/validate.h"
#include "ebb/strings.h"
#include "messages.h"
#include "names.h"
#include "schema.h"
#include "validate_triggers.h"

namespace ebb::api {

using detail::invalid_value;
using detail::minimum_violation;
using detail::required_value;
using detail::unsupported_value;


namespace {

const std::vector<std::string> kTriggerMetricTypes = {"AverageValue", "Value", "Utilization"};
const std::vector<std::string> kModifierMetricTypes = {"AverageValue", "Value"};
const std::vector<std::string> kFallbackBehaviors = {"static", "currentReplicas",
                                                     "currentReplicasIfHigher",
                                                     "currentReplicasIfLower", "scalingModifiers"};
const std::vector<std::string_view> kBoolAnnotations = {kPausedAnnotation, kPausedScaleInAnnotation,
                                                        kPausedScaleOutAnnotation,
                                                        kForceActivationAnnotation};

constexpr std::string_view kCelMinMaxMessage =
    "minReplicaCount must be less than or equal to maxReplicaCount";

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

class ScaledObjectValidator {
 public:
  ScaledObjectValidator(const ScaledObject& so, const ValidationOptions& options)
      : so_(so), spec_(so.spec), options_(options) {}

  ValidationResult run() {
    check_name();
    check_annotations();
    check_scale_target();
    check_minimums();
    check_replica_bounds();
    check_triggers();
    check_advanced();
    check_fallback();
    check_resource_only_scale_to_zero();
    check_cooldown_relevance();
    return std::move(result_);
  }

 private:
  void error(std::string path, std::string message) { result_.error(std::move(path), std::move(message)); }
  void warn(std::string path, std::string message) { result_.warn(std::move(path), std::move(message)); }

  // -- metadata --------------------------------------------------------------------------------

  void check_name() {
    const auto& meta = so_.metadata;
    if (meta.name.empty()) {
      if (meta.generate_name.empty())
        error("metadata.name", required_value("name or generateName is required"));
      check_hpa_name();
      return;
    }
    if (!detail::is_dns_subdomain(meta.name))
      error("metadata.name", invalid_value(meta.name, detail::kDnsSubdomainRule));
    if (meta.name.size() > kMaxLabelValueLength) {
      // The name is the value of the scaledobject.keda.sh/name label, which Kubernetes caps.
      error("metadata.name", "scaledobject name " + ebb::quoted(meta.name) + " is " +
                                 std::to_string(meta.name.size()) +
                                 " characters long; must be no more than 63 characters because "
                                 "it is used as the value of label " +
                                 std::string(kScaledObjectNameLabel));
    }
    if (!meta.namespace_.empty() && !detail::is_dns_label(meta.namespace_))
      error("metadata.namespace", invalid_value(meta.namespace_, detail::kDnsLabelRule));
    check_hpa_name();
  }

  const HorizontalPodAutoscalerConfig* hpa_config() const {
    return spec_.advanced && spec_.advanced->horizontal_pod_autoscaler_config
               ? &*spec_.advanced->horizontal_pod_autoscaler_config
               : nullptr;
  }

  void check_hpa_name() {
    const auto* config = hpa_config();
    const bool custom = config && !config->name.empty();
    const std::string path =
        custom ? "spec.advanced.horizontalPodAutoscalerConfig.name" : "metadata.name";
    if (!custom && (so_.metadata.name.empty() || so_.metadata.name.size() > kMaxLabelValueLength))
      return;  // nothing to derive from, or the name error above already says it
    const auto name = hpa_name(so_);
    if (custom && !detail::is_dns_subdomain(name))
      error(path, invalid_value(name, detail::kDnsSubdomainRule));
    if (name.size() > kMaxLabelValueLength)
      error(path, "HPA name " + ebb::quoted(name) +
                      (custom ? "" : " derived from the scaledobject") + " is " +
                      std::to_string(name.size()) +
                      " characters long; must be no more than 63 characters: set "
                      "spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name" +
                      (custom ? "" : " or shorten the scaledobject name"));
  }

  void check_annotations() {
    const auto& annotations = so_.metadata.annotations;
    const auto path = [](std::string_view name) {
      return child_path("metadata.annotations", name);
    };
    if (auto it = annotations.find(std::string(kPausedReplicasAnnotation));
        it != annotations.end()) {
      if (auto count = parse_go_int32(it->second); !count)
        error(path(kPausedReplicasAnnotation), invalid_value(it->second, count.error()));
      else if (*count < 0)
        error(path(kPausedReplicasAnnotation),
              invalid_value(it->second, "must be greater than or equal to 0"));
    }
    for (auto name : kBoolAnnotations) {
      auto it = annotations.find(std::string(name));
      if (it != annotations.end() && !parse_go_bool(it->second))
        warn(path(name), ebb::quoted(it->second) +
                             " is not a boolean (true/false, t/f, 1/0), and any such value counts "
                             "as true");
    }
    if (auto it = annotations.find(std::string(kTransferHpaOwnershipAnnotation));
        it != annotations.end() && it->second != "true" && parse_go_bool(it->second) == true)
      warn(path(kTransferHpaOwnershipAnnotation),
           "only the exact value \"true\" requests an HPA ownership transfer; " +
               ebb::quoted(it->second) + " does not");
  }

  // -- scale target and replica counts ---------------------------------------------------------

  void check_scale_target() {
    const auto& ref = spec_.scale_target_ref;
    if (ref.name.empty())
      error("spec.scaleTargetRef.name", invalid_value(ref.name, "must not be empty"));
    if (!ref.api_version.empty()) {
      const auto parts = split(ref.api_version, '/');
      const bool valid = parts.size() <= 2 &&
                         std::none_of(parts.begin(), parts.end(),
                                      [](const std::string& p) { return p.empty(); }) &&
                         ref.api_version.find(' ') == std::string::npos;
      if (!valid)
        error("spec.scaleTargetRef.apiVersion",
              invalid_value(ref.api_version, "must be <version> or <group>/<version>"));
    }
  }

  void minimum(const char* path, const std::optional<std::int32_t>& value, std::int32_t min) {
    if (value && *value < min) error(path, minimum_violation(*value, min));
  }

  void check_minimums() {
    minimum("spec.pollingInterval", spec_.polling_interval, 1);
    minimum("spec.cooldownPeriod", spec_.cooldown_period, 0);
    minimum("spec.initialCooldownPeriod", spec_.initial_cooldown_period, 0);
    minimum("spec.idleReplicaCount", spec_.idle_replica_count, 0);
    minimum("spec.minReplicaCount", spec_.min_replica_count, 0);
    minimum("spec.maxReplicaCount", spec_.max_replica_count, 1);
  }

  void check_replica_bounds() {
    const auto max = spec_.max_replica_count_or_default();
    // The CRD's CEL rule compares the value as written.
    const bool cel_failed = spec_.min_replica_count && *spec_.min_replica_count > max;
    if (cel_failed) error("spec", invalid_value("object", kCelMinMaxMessage));

    // KEDA's CheckReplicaCountBoundsAreValid: unset min counts as 0, an explicit one goes through
    // GetHPAMinReplicas, which turns 0 into 1 (keda-compat §3.7).
    const std::int32_t min = spec_.min_replica_count ? spec_.hpa_min_replicas() : 0;
    if (min > max && !cel_failed)
      error("spec.minReplicaCount",
            "MinReplicaCount=" + std::to_string(min) +
                " must be less than MaxReplicaCount=" + std::to_string(max));
    check_idle(min);
  }

  void check_idle(std::int32_t min) {
    if (!spec_.idle_replica_count) return;
    const auto idle = *spec_.idle_replica_count;
    const bool explicit_zero = spec_.min_replica_count == 0;
    if (idle >= min) {
      std::string message = "IdleReplicaCount=" + std::to_string(idle) +
                            " must be less than MinReplicaCount=" + std::to_string(min);
      const auto at_least = " set spec.minReplicaCount to at least " + std::to_string(idle + 1);
      if (!spec_.min_replica_count)
        message += " (minReplicaCount is not set and counts as 0;" + at_least + ")";
      else if (explicit_zero)
        message += " (an explicit minReplicaCount 0 counts as 1 in this check;" + at_least + ")";
      error("spec.idleReplicaCount", std::move(message));
    } else if (explicit_zero && idle == 0) {
      warn("spec.idleReplicaCount",
           "idleReplicaCount 0 with minReplicaCount 0 has no effect: the target scales to zero "
           "when inactive either way (accepted because KEDA accepts it)");
    }
  }

  // -- triggers --------------------------------------------------------------------------------

  void check_triggers() {
    detail::TriggerChecks(options_, result_)
        .check_list(spec_.triggers, [this](const ScaleTrigger& trigger, const std::string& path) {
          check_trigger_metric_type(trigger, path);
        });
  }

  TriggerTraits traits(std::string_view type) const {
    return detail::trigger_traits(options_, type);
  }
  bool resource_metric(std::string_view type) const { return traits(type).resource_metric; }

  void check_trigger_metric_type(const ScaleTrigger& trigger, const std::string& path) {
    if (trigger.metric_type.empty()) return;
    if (!contains(kTriggerMetricTypes, trigger.metric_type)) {
      error(path + ".metricType", unsupported_value(trigger.metric_type, kTriggerMetricTypes));
    } else if (trigger.metric_type == "Utilization" && !resource_metric(trigger.type)) {
      // Same text as the scalers registry, so a caller merging both lists can drop duplicates.
      error(path + ".metricType",
            "'Utilization' metric type is unsupported for external metrics, allowed values are "
            "'Value' or 'AverageValue'");
    }
  }

  // -- advanced --------------------------------------------------------------------------------

  void check_advanced() {
    if (!spec_.advanced) return;
    if (const auto* config = hpa_config(); config && config->behavior)
      detail::check_values(*config->behavior, detail::hpa_behavior_schema(),
                           "spec.advanced.horizontalPodAutoscalerConfig.behavior", result_.errors);
    if (const auto* modifiers = spec_.scaling_modifiers()) check_scaling_modifiers(*modifiers);
  }

  std::vector<std::string> formula_variables() const {
    std::vector<std::string> names;
    for (const auto& t : spec_.triggers)
      if (!t.name.empty() && !resource_metric(t.type)) names.push_back(t.name);
    return names;
  }

  void check_scaling_modifiers(const ScalingModifiers& sm) {
    const std::string path = "spec.advanced.scalingModifiers";
    if (!sm.metric_type.empty() && !contains(kModifierMetricTypes, sm.metric_type))
      error(path + ".metricType", unsupported_value(sm.metric_type, kModifierMetricTypes));
    if (sm.formula.empty()) {
      error(path + ".formula", required_value("scalingModifiers needs a formula once any of its "
                                              "fields is set"));
    } else if (sm.target.empty()) {
      error(path + ".target", required_value("a formula needs a target"));
    }
    if (!sm.target.empty()) {
      const auto target = detail::parse_go_float(sm.target);
      if (!target || !std::isfinite(*target) || *target <= 0)
        error(path + ".target", invalid_value(sm.target, "must be a number greater than 0"));
    }
    if (!sm.activation_target.empty()) {
      const auto activation = detail::parse_go_float(sm.activation_target);
      if (!activation || !std::isfinite(*activation))
        error(path + ".activationTarget", invalid_value(sm.activation_target, "must be a number"));
    }
    if (!sm.formula.empty() && options_.check_formula)
      if (auto problem = options_.check_formula(sm.formula, formula_variables()))
        error(path + ".formula", invalid_value(sm.formula, *problem));
  }

  // -- fallback --------------------------------------------------------------------------------

  void check_fallback() {
    if (!spec_.fallback) return;
    const auto& fallback = *spec_.fallback;
    if (fallback.failure_threshold < 0)
      error("spec.fallback.failureThreshold", minimum_violation(fallback.failure_threshold, 0));
    if (fallback.replicas < 0)
      error("spec.fallback.replicas", minimum_violation(fallback.replicas, 0));
    if (!contains(kFallbackBehaviors, fallback.behavior))
      error("spec.fallback.behavior", unsupported_value(fallback.behavior, kFallbackBehaviors));

    const bool only_resource_triggers =
        std::all_of(spec_.triggers.begin(), spec_.triggers.end(),
                    [this](const ScaleTrigger& t) { return resource_metric(t.type); });
    if (!spec_.uses_scaling_modifiers() && !spec_.triggers.empty() && only_resource_triggers)
      error("spec.fallback",
            "at least one trigger (that is not cpu or memory) has to have the `AverageValue` type "
            "for the fallback to be enabled");

    const auto* modifiers = spec_.scaling_modifiers();
    if (fallback.behavior == "scalingModifiers" && (!modifiers || modifiers->formula.empty()))
      error("spec.fallback.behavior",
            "scalingModifiers fallback behavior requires scalingModifiers.formula to be defined");
  }

  // -- admission checks about scaling to zero --------------------------------------------------

  void check_resource_only_scale_to_zero() {
    if (spec_.triggers.empty() || spec_.min_replica_count_or_default() != 0) return;
    const bool only_resource_triggers =
        std::all_of(spec_.triggers.begin(), spec_.triggers.end(),
                    [this](const ScaleTrigger& t) { return resource_metric(t.type); });
    if (!only_resource_triggers) return;
    const std::string message =
        "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't "
        "work in this case)";
    // KEDA's webhook checks this only for Deployment and StatefulSet targets.
    const auto& ref = spec_.scale_target_ref;
    const bool checked_kind =
        ref.api_version_or_default() == "apps/v1" &&
        (ref.kind_or_default() == "Deployment" || ref.kind_or_default() == "StatefulSet");
    checked_kind ? error("spec.minReplicaCount", message) : warn("spec.minReplicaCount", message);
  }

  // KEDA's webhook also warns that pollingInterval is irrelevant when min > 0 without idle mode.
  // Not in Ebb: its adapter serves the HPA from a cache refreshed every pollingInterval, so the
  // interval always matters (ARCHITECTURE.md, decision 3).
  void check_cooldown_relevance() {
    if (spec_.cooldown_period && spec_.min_replica_count_or_default() > 0 &&
        !spec_.idle_replica_count)
      warn("spec.cooldownPeriod",
           "cooldownPeriod has no effect: it delays scaling to zero or to idleReplicaCount, and "
           "with minReplicaCount above 0 and no idleReplicaCount neither happens");
  }

  const ScaledObject& so_;
  const ScaledObjectSpec& spec_;
  const ValidationOptions& options_;
  ValidationResult result_;
};

}  // namespace

ValidationResult validate(const ScaledObject& so, const ValidationOptions& options) {
  return ScaledObjectValidator(so, options).run();
}

}  // namespace ebb::api
