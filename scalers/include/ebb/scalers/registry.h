// Trigger types Ebb supports, by name. Each scaler file defines one ScalerDefinition and a
// register function; scalers/src/builtin.cpp lists them (the only line a new scaler adds
// outside its own file). Lookup is exact, as in KEDA; unknown names get "did you mean" hints.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/scalers/scaler.h"
#include "ebb/strings.h"

namespace ebb::scalers {

struct ScalerDefinition {
  std::string type;  // trigger type, e.g. "redis-streams"
  // Pure step: metadata + auth params + resolved env -> config, or every problem found.
  std::function<ParseResult(const TriggerContext&)> parse;
  // Non-fatal findings (unknown metadata keys, deprecation announcements).
  std::function<FieldErrors(const TriggerContext&)> warnings;
};

class Registry {
 public:
  // Registering the same type twice is a programming error (std::logic_error).
  void add(ScalerDefinition definition);
  const ScalerDefinition* find(std::string_view type) const;
  std::vector<std::string> types() const;  // sorted

  // Parses one trigger: rejects metricType Utilization and unknown metric types, then runs the
  // scaler's pure step. Error paths are relative to the trigger ("metadata.listName").
  ParseResult parse(const TriggerContext& ctx) const;

  // The registry with every built-in scaler.
  static const Registry& builtin();

 private:
  std::map<std::string, ScalerDefinition, std::less<>> definitions_;
};

// "s<index>-<NormalizeString(name)>": KEDA replaces each of / . : % ( ) with '-'.
std::string metric_name(std::size_t trigger_index, std::string_view scaler_specific_name);
std::string normalize_metric_name(std::string_view s);
// Go's url.QueryEscape (space -> '+'), used by scalers that escape user input in metric names.
using ebb::query_escape;

// Metric type of a trigger: "" and "AverageValue" -> AverageValue, "Value" -> Value.
// "Utilization" and anything else is an error with KEDA's message.
Result<MetricTargetType, FieldError> parse_metric_type(std::string_view metric_type);

}  // namespace ebb::scalers
