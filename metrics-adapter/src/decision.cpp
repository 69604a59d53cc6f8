#include "ebb/adapter/decision.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "ebb/api/annotations.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::adapter {
namespace {

constexpr std::string_view kCompositeMetric = "composite-metric";

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// strconv.Atoi: optional sign and decimal digits.
std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}


std::string names(const std::vector<std::string>& list) { return join(list, ", "); }

std::string are(const std::vector<std::string>& list, std::string_view what) {
  return (list.size() == 1 ? "trigger " : "triggers ") + names(list) +
         (list.size() == 1 ? " is " : " are ") + std::string(what);
}

Condition condition(std::string type, std::string status, std::string reason, std::string message) {
  return Condition{std::move(type), std::move(status), std::move(reason), std::move(message)};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Policy

std::optional<FallbackBehavior> parse_fallback_behavior(std::string_view behavior) {
  if (behavior.empty() || behavior == "static") return FallbackBehavior::Static;
  if (behavior == "currentReplicas") return FallbackBehavior::CurrentReplicas;
  if (behavior == "currentReplicasIfHigher") return FallbackBehavior::CurrentReplicasIfHigher;
  if (behavior == "currentReplicasIfLower") return FallbackBehavior::CurrentReplicasIfLower;
  if (behavior == "scalingModifiers") return FallbackBehavior::ScalingModifiers;
  return std::nullopt;
}

std::string_view to_string(FallbackBehavior behavior) {
  switch (behavior) {
    case FallbackBehavior::Static: return "static";
    case FallbackBehavior::CurrentReplicas: return "currentReplicas";
    case FallbackBehavior::CurrentReplicasIfHigher: return "currentReplicasIfHigher";
    case FallbackBehavior::CurrentReplicasIfLower: return "currentReplicasIfLower";
    case FallbackBehavior::ScalingModifiers: return "scalingModifiers";
  }
  return "static";
}

std::string_view to_string(ScaleReason reason) {
  switch (reason) {
    case ScaleReason::Activate: return "activate";
    case ScaleReason::DeactivateToIdle: return "deactivate-to-idle";
    case ScaleReason::DeactivateToZero: return "deactivate-to-zero";
    case ScaleReason::Fallback: return "fallback";
    case ScaleReason::RaiseToMin: return "raise-to-min";
  }
  return "activate";
}

Result<ScalingPolicy> scaling_policy(const api::ScaledObject& so) {
  const auto& spec = so.spec;
  const auto& annotations = so.metadata.annotations;
  ScalingPolicy p;
  p.min_replicas = spec.min_replica_count_or_default();
  p.idle_replicas = spec.idle_replica_count;
  p.max_replicas = spec.max_replica_count_or_default();
  p.cooldown = std::chrono::seconds(spec.cooldown_period_or_default());
  p.initial_cooldown = std::chrono::seconds(spec.initial_cooldown_period_or_default());
  p.paused = api::is_paused(annotations);
  p.paused_scale_in = api::bool_annotation(annotations, api::kPausedScaleInAnnotation);
  p.paused_scale_out = api::bool_annotation(annotations, api::kPausedScaleOutAnnotation);
  p.force_activation = api::bool_annotation(annotations, api::kForceActivationAnnotation);

  const auto* modifiers = spec.scaling_modifiers();
  if (modifiers) {
    auto formula = scalers::Formula::compile(modifiers->formula, scalers::formula_variables(so));
    if (!formula.ok())
      return fail("spec.advanced.scalingModifiers.formula: " + formula.error().message);
    const auto target = parse_number(modifiers->target);
    if (!target || *target <= 0)
      return fail("spec.advanced.scalingModifiers.target: " + ebb::quoted(modifiers->target) +
                  " is not a number greater than 0");
    double activation = 0;
    if (!modifiers->activation_target.empty()) {
      const auto a = parse_number(modifiers->activation_target);
      if (!a)
        return fail("spec.advanced.scalingModifiers.activationTarget: " +
                    ebb::quoted(modifiers->activation_target) + " is not a number");
      activation = *a;
    }
    p.composite = CompositePolicy{
        std::move(formula).value(), *target, activation,
        modifiers->metric_type_or_default() == "Value" ? scalers::MetricTargetType::Value
                                                       : scalers::MetricTargetType::AverageValue};
  }

  if (spec.fallback) {
    const auto& f = *spec.fallback;
    const auto behavior = parse_fallback_behavior(f.behavior);
    bool valid = behavior && f.failure_threshold >= 0 && f.replicas >= 0;
    // HasValidFallback: with scalingModifiers the target must be an integer (quirk: "2.5" makes
    // the fallback invalid although the composite metric accepts it).
    if (valid && modifiers) {
      const auto t = parse_integer(modifiers->target);
      valid = t && *t > 0;
    }
    if (valid) p.fallback = FallbackPolicy{f.failure_threshold, f.replicas, *behavior};
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Fallback accounting and served values

MetricHealth next_health(const MetricHealth& before, bool query_succeeded) {
  if (query_succeeded) return MetricHealth{0, false};
  MetricHealth after = before;
  if (after.failures < std::numeric_limits<std::int32_t>::max()) ++after.failures;
  after.failing = true;
  return after;
}

bool fallback_engaged(const FallbackPolicy& fallback, const MetricHealth& health) {
  return health.failing && health.failures > fallback.failure_threshold;
}

std::int32_t fallback_replicas(const FallbackPolicy& fallback, std::int32_t current) {
  switch (fallback.behavior) {
    case FallbackBehavior::CurrentReplicas: return current;
    case FallbackBehavior::CurrentReplicasIfHigher: return std::max(current, fallback.replicas);
    case FallbackBehavior::CurrentReplicasIfLower: return std::min(current, fallback.replicas);
    case FallbackBehavior::Static:
    case FallbackBehavior::ScalingModifiers: break;
  }
  return fallback.replicas;
}

ServedValue metric_value(double value) {
  ServedValue out;
  out.quantity = scalers::milli_quantity(value);
  double parsed = 0;
  out.value = scalers::parse_quantity(out.quantity, parsed) ? parsed : 0;
  return out;
}

namespace {
std::int64_t to_milli(double value) {
  const double m = value * 1000;
  if (std::isnan(m)) return 0;
  if (m >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (m <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(m);  // truncation, like Go's int64()
}
}  // namespace

ServedValue composite_value(double value) {
  const std::int64_t milli = to_milli(value);
  return ServedValue{static_cast<double>(milli) / 1000, scalers::milli_exponent_quantity(milli)};
}

Result<ServedValue> fallback_value(const FallbackPolicy& fallback, std::int32_t current,
                                   scalers::MetricTargetType target_type, double target,
                                   std::int32_t ready_pods) {
  double r = fallback_replicas(fallback, current);
  if (target_type == scalers::MetricTargetType::Value) {
    if (ready_pods <= 0)
      return fail("fallback for a Value target needs ready pods to divide by, and there are none");
    r /= ready_pods;
  }
  const std::int64_t milli = to_milli(target * r);
  return ServedValue{static_cast<double>(milli) / 1000, scalers::milli_int_quantity(milli)};
}

// ---------------------------------------------------------------------------------------------
// decide()

Decision decide(const DecisionInput& in) {
  Decision d;
  const ScalingPolicy& p = in.policy;
  if (p.paused) {
    d.skipped = true;
    return d;
  }
  const std::int32_t current = in.current_replicas;
  const std::int32_t R = p.fallback ? fallback_replicas(*p.fallback, current) : 0;
  const bool sm_behavior = p.fallback && p.fallback->behavior == FallbackBehavior::ScalingModifiers;
  const bool composite = p.composite.has_value();

  std::vector<std::string> active_names;    // scaler said active
  std::vector<std::string> inactive_names;  // scaler said inactive
  std::vector<std::string> unknown_names;   // failed, nothing covers it
  std::vector<std::string> fallback_names;  // failed beyond the threshold, served its fallback
  std::vector<std::string> nil_variables;   // scalingModifiers behaviour: the formula sees nil

  for (const auto& t : in.triggers) {
    d.triggers_activity[t.metric_name] = !t.failed() && t.active;
    if (!t.failed()) {
      (t.active ? active_names : inactive_names).push_back(t.metric_name);
      continue;
    }
    d.events.push_back(Event{"Warning", composite ? "KEDAMetricSourceFailed" : "KEDAScalerFailed",
                             t.metric_name + " (" + t.trigger_type + "): " + *t.error});
    const bool engaged = p.fallback && fallback_engaged(*p.fallback, t.health);
    if (engaged) fallback_names.push_back(t.metric_name);
    if (engaged && sm_behavior && composite) {
      const auto& used = p.composite->formula.used_variables();
      if (std::find(used.begin(), used.end(), t.trigger_name) != used.end())
        nil_variables.push_back(t.trigger_name);
    } else if (!engaged || sm_behavior || R <= 0) {
      // A fallback of 0 replicas (or one the formula cannot use) does not say "inactive".
      unknown_names.push_back(t.metric_name);
    }
  }
  // Replicas asked for by a fallback that is active for activity purposes.
  const bool fallback_scales = !fallback_names.empty() && !sm_behavior && R > 0;

  // -- Fallback condition and its transition events ----------------------------------------
  d.fallback_active = !fallback_names.empty();
  if (d.fallback_active) {
    d.fallback_condition = condition("Fallback", "True", "FallbackExists",
                                     "fallback is active for " + names(fallback_names) + " (more than " +
                                         std::to_string(p.fallback->failure_threshold) +
                                         " consecutive failures)");
    if (!in.fallback_was_active)
      d.events.push_back(Event{"Normal", "ScaledObjectFallbackActivated",
                               "ScaledObject fallback is active for " + names(fallback_names)});
  } else {
    d.fallback_condition = condition(
        "Fallback", "False", "NoFallbackFound",
        p.fallback ? "no trigger is falling back" : "no valid fallback is configured");
    if (in.fallback_was_active)
      d.events.push_back(Event{"Normal", "ScaledObjectFallbackDeactivated",
                               "ScaledObject fallback is no longer active"});
  }

  // -- Activity ------------------------------------------------------------------------------
  bool active = false;
  std::string active_because;  // for the condition
  std::string triggered_by;    // for the activation event
  std::string inactive_because;
  if (composite) {
    const auto& c = *p.composite;
    std::string cmp;
    if (fallback_scales) {
      d.composite = c.target * R;
    } else if (unknown_names.empty()) {
      if (!nil_variables.empty()) {
        // The formula cannot handle a missing value (no `??` in Ebb's subset): KEDA's rule for a
        // formula that yields nil applies.
        d.composite = static_cast<double>(p.fallback->replicas) * c.target;
      } else {
        std::map<std::string, double> values;
        for (const auto& t : in.triggers)
          if (!t.failed() && t.value && !t.trigger_name.empty()) values[t.trigger_name] = *t.value;
        auto r = c.formula.evaluate(values);
        if (r.ok()) {
          d.composite = r.value();
        } else {
          unknown_names.push_back(std::string(kCompositeMetric));
          d.events.push_back(Event{"Warning", "KEDAMetricSourceFailed",
                                   std::string(kCompositeMetric) + ": " + r.error().message});
        }
      }
    }
    if (fallback_scales) {
      active = true;
      active_because = "fallback is active for " + names(fallback_names);
      triggered_by = "caused by fallback of " + join(fallback_names, ";");
    } else if (d.composite && unknown_names.empty()) {
      const std::string relation = number(*d.composite) + (*d.composite > c.activation_target ? " > " : " <= ") +
                                   "activationTarget " + number(c.activation_target);
      if (*d.composite > c.activation_target) {
        active = true;
        active_because = std::string(kCompositeMetric) + " " + relation;
        triggered_by = "triggered by " + std::string(kCompositeMetric);
      } else {
        inactive_because = std::string(kCompositeMetric) + " " + relation;
      }
    }
  } else {
    if (!active_names.empty()) {
      active = true;
      active_because = are(active_names, "active");
      triggered_by = "triggered by " + join(active_names, ";");
      if (fallback_scales) active_because += "; fallback is active for " + names(fallback_names);
    } else if (fallback_scales) {
      active = true;
      active_because = "fallback is active for " + names(fallback_names);
      triggered_by = "caused by fallback of " + join(fallback_names, ";");
    } else {
      inactive_because = inactive_names.empty() ? "no trigger is active"
                                                : "no trigger is active (" + names(inactive_names) + ")";
    }
  }
  if (p.force_activation) {
    active = true;
    active_because = "activation is being forced by annotation " +
                     std::string(api::kForceActivationAnnotation);
    triggered_by = "caused by forced activation annotation";
  }
  d.active = active;
  d.unknown = !unknown_names.empty();

  const std::int32_t min = p.min_replicas;
  const std::int32_t max = p.max_replicas;
  const bool idle_mode = p.idle_replicas.has_value();
  const std::string& target = in.scale_target;

  // -- Active ----------------------------------------------------------------------------------
  if (active) {
    std::string message = active_because;
    const bool at_rest = current == 0 || (idle_mode && current < min);
    if (at_rest) {
      const std::int32_t activation = std::min(std::max(min, 1), max);
      std::int32_t to = activation;
      ScaleReason reason = ScaleReason::Activate;
      if (fallback_scales && !p.force_activation && R > activation) {
        to = std::min(R, max);
        reason = to > activation ? ScaleReason::Fallback : ScaleReason::Activate;
      }
      if (p.paused_scale_out) {
        message += "; not scaling out: paused by annotation " +
                   std::string(api::kPausedScaleOutAnnotation);
      } else if (to > current) {
        ScaleAction a;
        a.from = current;
        a.to = to;
        a.reason = reason;
        a.stamp_last_active = true;
        a.on_success = Event{"Normal", "KEDAScaleTargetActivated",
                             "Scaled " + target + " from " + std::to_string(current) + " to " +
                                 std::to_string(to) + ", " + triggered_by};
        a.on_failure = Event{"Warning", "KEDAScaleTargetActivationFailed",
                             "Failed to scale " + target + " from " + std::to_string(current) +
                                 " to " + std::to_string(to) + ", " + triggered_by};
        d.scale = a;
      } else {
        d.last_active = in.now;
      }
    } else {
      d.last_active = in.now;
    }
    if (!unknown_names.empty()) message += "; " + are(unknown_names, "failing");
    d.active_condition = condition("Active", "True", "ScalerActive", message);
    return d;
  }

  // -- Not active ------------------------------------------------------------------------------
  if (!unknown_names.empty()) {
    std::string message = are(unknown_names, "failing") +
                          "; not deactivating while their state is unknown";
    if (!fallback_names.empty() && p.fallback)
      message += "; fallback is active for " + names(fallback_names);
    d.active_condition = condition("Active", "Unknown", "UnknownState", message);
  } else {
    const bool deactivation_region =
        (idle_mode && current > *p.idle_replicas) || (current > 0 && min == 0);
    if (deactivation_region) {
      const TimePoint until = in.last_active ? *in.last_active + p.cooldown : in.created + p.initial_cooldown;
      if (!(until < in.now)) {
        d.active_condition =
            condition("Active", "False", "ScalerCooldown",
                      inactive_because + "; cooling down until " + format_rfc3339(until) + " (" +
                          (in.last_active ? "cooldownPeriod " + std::to_string(p.cooldown.count()) +
                                                "s after lastActiveTime"
                                          : "initialCooldownPeriod " +
                                                std::to_string(p.initial_cooldown.count()) +
                                                "s after creation") +
                          ")");
      } else if (p.paused_scale_in) {
        d.active_condition = condition("Active", "False", "ScalerNotActive",
                                       inactive_because + "; not scaling in: paused by annotation " +
                                           std::string(api::kPausedScaleInAnnotation));
      } else {
        const std::int32_t to = idle_mode ? *p.idle_replicas : 0;
        ScaleAction a;
        a.from = current;
        a.to = to;
        a.reason = to == 0 ? ScaleReason::DeactivateToZero : ScaleReason::DeactivateToIdle;
        a.on_success = Event{"Normal", "KEDAScaleTargetDeactivated",
                             "Deactivated " + target + " from " + std::to_string(current) + " to " +
                                 std::to_string(to) + ", " + inactive_because};
        a.on_failure = Event{"Warning", "KEDAScaleTargetDeactivationFailed",
                             "Failed to deactivate " + target + " from " + std::to_string(current) +
                                 " to " + std::to_string(to)};
        d.scale = a;
        d.active_condition = condition("Active", "False", "ScalerNotActive", inactive_because);
      }
    } else {
      d.active_condition = condition("Active", "False", "ScalerNotActive", inactive_because);
    }
  }

  // Below minReplicaCount without idle mode: KEDA raises to min (the HPA cannot act at 0).
  if (!d.scale && !idle_mode && current < min && !p.paused_scale_out) {
    const std::int32_t to = std::min(min, max);
    if (to > current) {
      ScaleAction a;
      a.from = current;
      a.to = to;
      a.reason = ScaleReason::RaiseToMin;
      a.on_failure = Event{"Warning", "KEDAScaleTargetActivationFailed",
                           "Failed to scale " + target + " from " + std::to_string(current) +
                               " to minReplicaCount " + std::to_string(to)};
      d.scale = a;
    }
  }
  return d;
}

}  // namespace ebb::adapter
