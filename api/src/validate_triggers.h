// The trigger rules ScaledObjects and ScaledJobs share (KEDA's ValidateTriggers, which both
// admission webhooks run, and the trigger schema both CRDs have): a non-empty list, known and
// supported types, unique names, useCachedMetrics only where the type allows it, and
// authenticationRef kinds. What differs per kind (metricType) stays with each validator.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/api/objects.h"
#include "ebb/api/validate.h"

namespace ebb::api::detail {

// options.trigger_traits, or "every KEDA type is supported" when it is empty.
TriggerTraits trigger_traits(const ValidationOptions& options, std::string_view type);

class TriggerChecks {
 public:
  TriggerChecks(const ValidationOptions& options, ValidationResult& result)
      : options_(options), result_(result) {}

  // Every shared rule over spec.triggers. `per_kind` adds the kind's own rules for one trigger,
  // after its type and authenticationRef checks, so findings stay in trigger order.
  using PerKind = std::function<void(const ScaleTrigger&, const std::string& path)>;
  void check_list(const std::vector<ScaleTrigger>& triggers, const PerKind& per_kind = {});

 private:
  void check_type(const std::string& type, const std::string& path);
  void check_auth(const ScaleTrigger& trigger, const std::string& path);

  const ValidationOptions& options_;
  ValidationResult& result_;
};

}  // namespace ebb::api::detail
