// The scaler registry: the one owner of everything Ebb knows per trigger type (Envoy-style:
// the core looks definitions up by name and never names a type itself). Each scaler file
// defines one ScalerDefinition and a register function; scalers/src/builtin.cpp lists them (the
// only line a new scaler adds outside its own file). Lookup is exact, as in KEDA; unknown names
// get "did you mean" hints.
//
// Every other module asks the registry: the operator and `ebb validate` for which types exist
// and how they are validated (validation_options() in scaled_object.h), the HPA builder for the
// metric each trigger gives, the adapter for how to build and label each trigger. The only
// other list of type names is api/'s catalogue of all of KEDA's, which tells "not supported by
// Ebb yet" from "unknown".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/scalers/params.h"
#include "ebb/scalers/scaler.h"
#include "ebb/strings.h"

namespace ebb::scalers {

// Where the HPA gets a trigger type's metric from.
enum class MetricSource {
  External,  // the adapter polls the scaler and serves "s<i>-…" through external.metrics.k8s.io
  Resource,  // cpu, memory: the HPA reads metrics-server itself; never polled
};

struct ScalerDefinition {
  // The KEDA trigger type names this scaler serves, e.g. {"redis", "redis-cluster",
  // "redis-sentinel"}; the first is the one docs list it under.
  std::vector<std::string> types;
  // KEDA's name for the scaler (its Go type): the `scaler` label of the keda_scaler_* metrics
  // when a trigger has no name of its own, e.g. "redisScaler".
  std::string keda_name;
  std::string summary;  // one line for the docs: what the metric measures
  MetricSource source = MetricSource::External;
  // The scaler can tell the adapter of new work as it happens (Scaler::watch), so 0 -> 1 does
  // not wait for the next poll.
  bool push = false;
  // spec.triggers[i].useCachedMetrics is allowed (KEDA refuses it for cpu, memory and cron).
  bool cached_metrics = true;

  // Pure step: metadata + auth params + resolved env -> config, or every problem found.
  std::function<ParseResult(const TriggerContext&)> parse;
  // Non-fatal findings (unknown metadata keys, deprecation announcements).
  std::function<FieldErrors(const TriggerContext&)> warnings;
  // The parameters, for docs and `ebb scalers`.
  std::function<std::vector<params::ParamDoc>()> parameters;

  // Fills `warnings` and `parameters` from the scaler's parameter table (a static object).
  template <class Config>
  ScalerDefinition&& with_table(const params::Table<Config>& table) && {
    warnings = [&table](const TriggerContext& ctx) { return table.warnings(ctx); };
    parameters = [&table] { return table.describe(); };
    return std::move(*this);
  }
};

class Registry {
 public:
  // Registering a type name twice is a programming error (std::logic_error).
  void add(ScalerDefinition definition);
  const ScalerDefinition* find(std::string_view type) const;
  std::vector<std::string> types() const;  // every type name, sorted
  // Every definition once, in the order of their first type name.
  std::vector<const ScalerDefinition*> definitions() const;

  // Parses one trigger: for external scalers, rejects metricType Utilization and unknown
  // metric types first; then runs the scaler's pure step. Error paths are relative to the
  // trigger ("metadata.listName"). An unknown type is an error on "type".
  ParseResult parse(const TriggerContext& ctx) const;
  FieldErrors warnings(const TriggerContext& ctx) const;

  bool is_resource(std::string_view type) const;
  // KEDA's scaler name for the metrics label: the definition's; for a type Ebb does not run,
  // KEDA's pattern (camelCase + "Scaler").
  std::string keda_name(std::string_view type) const;

  // The registry with every built-in scaler.
  static const Registry& builtin();

 private:
  std::map<std::string, std::shared_ptr<const ScalerDefinition>, std::less<>> definitions_;
};

// "s<index>-<NormalizeString(name)>": KEDA replaces each of / . : % ( ) with '-'.
std::string metric_name(std::size_t trigger_index, std::string_view scaler_specific_name);
std::string normalize_metric_name(std::string_view s);
// Go's url.QueryEscape (space -> '+'), used by scalers that escape user input in metric names.
using ebb::query_escape;

// How KEDA writes a trigger's target quantity: GetMetricTarget (an integer, canonical: "1k") or
// GetMetricTargetMili (thousandths: "1.500").
enum class TargetForm { Integer, Milli };

// The MetricSpec of an external trigger: "s<index>-<name>" (normalised), the trigger's
// metricType (the registry has refused the others before the scaler's parse runs), the target
// and activation threshold, the target quantity in KEDA's form.
MetricSpec external_metric(const TriggerContext& ctx, std::string_view name, double target, double activation,
                           TargetForm form);

// Metric type of an external trigger: "" and "AverageValue" -> AverageValue, "Value" -> Value.
// "Utilization" and anything else is an error with KEDA's message.
Result<MetricTargetType, FieldError> parse_metric_type(std::string_view metric_type);

}  // namespace ebb::scalers
