// Validation of decoded (or code-built) objects: the CRD schema's value rules, the checks KEDA's
// reconciler and admission webhook apply without a cluster (keda-compat §1.1, §1.2, §3.7, §3.8,
// §4.8, §4.9), and annotation values (§2). Warnings are findings that do not make the object
// invalid but usually mean it does not do what its author expects.
//
// Not checked here: scaler metadata (the scalers module, paths "spec.triggers[i]. …"), formula
// syntax (pass ValidationOptions::check_formula), and anything that needs the cluster (other
// ScaledObjects on the same target, foreign HPAs, container resource requests).
//
// idleReplicaCount quirk (keda-compat §3.7, §11 quirk 1): KEDA compares idleReplicaCount with
// minReplicaCount after turning an explicit 0 into 1 and an unset one into 0. Ebb accepts exactly
// what KEDA accepts, so existing objects apply unchanged: `idle: 0, min: 0` passes (with a
// warning that it has no effect), idle with min unset is rejected (with a message that says to
// set minReplicaCount). See docs/compatibility.md, "Decisions on KEDA quirks".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/api/objects.h"
#include "ebb/result.h"

namespace ebb::api {

struct ValidationResult {
  FieldErrors errors;
  FieldErrors warnings;

  bool ok() const { return errors.empty(); }
  void error(std::string path, std::string message) { errors.push_back({std::move(path), std::move(message)}); }
  void warn(std::string path, std::string message) { warnings.push_back({std::move(path), std::move(message)}); }
};

// What Ebb knows of one trigger type (the scalers registry decides:
// scalers::validation_options()).
struct TriggerTraits {
  bool supported = false;        // Ebb can run it
  bool resource_metric = false;  // an HPA resource metric (cpu, memory): Utilization allowed, no
                                 // formula variable, no fallback input, scale to zero needs another trigger
  bool cached_metrics = true;    // useCachedMetrics allowed
};

struct ValidationOptions {
  // The traits of each trigger type. Empty: every KEDA type is accepted and none is a resource
  // metric (for tests of the rules that do not depend on types).
  std::function<TriggerTraits(std::string_view)> trigger_traits;
  // Names listed in "unsupported trigger type … (supported: …)".
  std::vector<std::string> supported_types;
  // Checks scalingModifiers.formula against the trigger names it may use (named, non-cpu/memory
  // triggers). Returns a message when the formula is invalid. Empty: formulas are not checked.
  std::function<std::optional<std::string>(std::string_view formula,
                                           const std::vector<std::string>& variables)>
      check_formula;
};

ValidationResult validate(const ScaledObject& so, const ValidationOptions& options = {});
// ScaledJob: CRD value rules, KEDA's ValidateTriggers and its "no metricType" reconcile check.
// Warnings for what KEDA accepts but ignores (ScaledObject-only annotations, cpu/memory
// triggers, custom strategy fields under another strategy, an unparseable custom percentage).
ValidationResult validate(const ScaledJob& sj, const ValidationOptions& options = {});
// TriggerAuthentication and ClusterTriggerAuthentication (by `kind`).
ValidationResult validate(const TriggerAuthentication& auth);

}  // namespace ebb::api
