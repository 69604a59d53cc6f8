#include "ebb/scalers/scaled_object.h"

#include "ebb/scalers/formula.h"

namespace ebb::scalers {

TriggerContext trigger_context(const api::ScaledObject& so, std::size_t index) {
  const auto& trigger = so.spec.triggers.at(index);
  TriggerContext ctx;
  ctx.index = index;
  ctx.type = trigger.type;
  ctx.name = trigger.name;
  ctx.metric_type = trigger.metric_type;
  ctx.use_cached_metrics = trigger.use_cached_metrics;
  ctx.as_metric_source = so.spec.uses_scaling_modifiers();
  ctx.metadata = trigger.metadata;
  ctx.scaled_object_namespace = so.metadata.namespace_;
  ctx.scaled_object_name = so.metadata.name;
  return ctx;
}

TriggerContext trigger_context(const api::ScaledJob& sj, std::size_t index) {
  const auto& trigger = sj.spec.triggers.at(index);
  TriggerContext ctx;
  ctx.index = index;
  ctx.type = trigger.type;
  ctx.name = trigger.name;
  ctx.metric_type = trigger.metric_type;
  ctx.use_cached_metrics = false;  // KEDA ignores it for ScaledJobs
  ctx.metadata = trigger.metadata;
  ctx.scaled_object_namespace = sj.metadata.namespace_;
  ctx.scaled_object_name = sj.metadata.name;
  return ctx;
}

api::ValidationOptions validation_options(const Registry& registry) {
  api::ValidationOptions options;
  options.trigger_traits = [&registry](std::string_view type) {
    api::TriggerTraits traits;
    if (const auto* def = registry.find(type)) {
      traits.supported = true;
      traits.resource_metric = def->source == MetricSource::Resource;
      traits.cached_metrics = def->cached_metrics;
    }
    return traits;
  };
  options.supported_types = registry.types();
  options.check_formula = check_formula;
  return options;
}

std::vector<std::string> formula_variables(const api::ScaledObject& so, const Registry& registry) {
  std::vector<std::string> names;
  for (const auto& t : so.spec.triggers)
    if (!t.name.empty() && !registry.is_resource(t.type)) names.push_back(t.name);
  return names;
}

}  // namespace ebb::scalers
