#include "ebb/scalers/registry.h"

#include <cctype>
#include <cmath>
#include <set>
#include <stdexcept>

#include "ebb/scalers/quantity.h"
#include "ebb/strings.h"

namespace ebb::scalers {

std::string_view to_string(MetricTargetType t) {
  switch (t) {
    case MetricTargetType::Value: return "Value";
    case MetricTargetType::Utilization: return "Utilization";
    case MetricTargetType::AverageValue: break;
  }
  return "AverageValue";
}

void Registry::add(ScalerDefinition definition) {
  if (definition.types.empty() || !definition.parse) throw std::logic_error("scaler definition without types or parse");
  auto shared = std::make_shared<const ScalerDefinition>(std::move(definition));
  for (const auto& type : shared->types)
    if (!definitions_.emplace(type, shared).second) throw std::logic_error("scaler type registered twice: " + type);
}

const ScalerDefinition* Registry::find(std::string_view type) const {
  auto it = definitions_.find(type);
  return it == definitions_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : definitions_) out.push_back(name);
  return out;
}

std::vector<const ScalerDefinition*> Registry::definitions() const {
  std::vector<const ScalerDefinition*> out;
  std::set<const ScalerDefinition*> seen;
  for (const auto& [name, def] : definitions_)
    if (seen.insert(def.get()).second) out.push_back(def.get());
  return out;
}

ParseResult Registry::parse(const TriggerContext& ctx) const {
  const auto* def = find(ctx.type);
  if (!def) {
    std::string message = "unsupported trigger type " + quoted(ctx.type) + " (supported: " + join(types(), ", ") + ")";
    if (auto hint = closest_match(ctx.type, types()); !hint.empty())
      message = "unknown trigger type " + quoted(ctx.type) + " (did you mean " + quoted(hint) + "?)";
    return unexpected(FieldErrors{{"type", message}});
  }
  if (def->source == MetricSource::External)
    if (auto t = parse_metric_type(ctx.metric_type); !t) return unexpected(FieldErrors{t.error()});
  return def->parse(ctx);
}

FieldErrors Registry::warnings(const TriggerContext& ctx) const {
  const auto* def = find(ctx.type);
  return def && def->warnings ? def->warnings(ctx) : FieldErrors{};
}

bool Registry::is_resource(std::string_view type) const {
  const auto* def = find(type);
  return def && def->source == MetricSource::Resource;
}

std::string Registry::keda_name(std::string_view type) const {
  if (const auto* def = find(type); def && !def->keda_name.empty()) return def->keda_name;
  std::string out;
  bool upper = false;
  for (char c : type) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') {
      upper = !out.empty();
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out + "Scaler";
}

std::string normalize_metric_name(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '/' || c == '.' || c == ':' || c == '%' || c == '(' || c == ')') c = '-';
  }
  return out;
}

std::string metric_name(std::size_t trigger_index, std::string_view scaler_specific_name) {
  return "s" + std::to_string(trigger_index) + "-" + normalize_metric_name(scaler_specific_name);
}

MetricSpec external_metric(const TriggerContext& ctx, std::string_view name, double target, double activation,
                           TargetForm form) {
  MetricSpec spec;
  spec.name = metric_name(ctx.index, name);
  spec.target_type = parse_metric_type(ctx.metric_type).value_or(MetricTargetType::AverageValue);
  spec.target = target;
  spec.target_quantity =
      form == TargetForm::Integer ? int_quantity(round_to_int64(target)) : milli_quantity(target);
  spec.activation_target = activation;
  return spec;
}

Result<MetricTargetType, FieldError> parse_metric_type(std::string_view metric_type) {
  if (metric_type.empty() || metric_type == "AverageValue") return MetricTargetType::AverageValue;
  if (metric_type == "Value") return MetricTargetType::Value;
  if (metric_type == "Utilization")
    return unexpected(FieldError{"metricType",
                                 "'Utilization' metric type is unsupported for external metrics, allowed "
                                 "values are 'Value' or 'AverageValue'"});
  return unexpected(FieldError{"metricType", "must be one of [AverageValue, Value], got " + quoted(metric_type)});
}

}  // namespace ebb::scalers
