// How a ScaledObject's triggers meet the registry, written once for the operator, the adapter
// and the `ebb` command: the TriggerContext of a trigger, and the validation options that give
// api::validate() the registry's knowledge of each type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ebb/api/objects.h"
#include "ebb/api/validate.h"
#include "ebb/scalers/registry.h"

namespace ebb::scalers {

// The TriggerContext of spec.triggers[index] with what the spec itself holds: type, name,
// metricType, useCachedMetrics, metadata and the object's name. Auth params and the resolved
// env are the caller's to add (from the cluster, or from files for `ebb validate`).
TriggerContext trigger_context(const api::ScaledObject& so, std::size_t index);
// The same for a ScaledJob's trigger (no metricType there, never a metric source of a formula).
// scaled_object_* name the ScaledJob: KEDA's ScalerConfig carries either kind in those fields.
TriggerContext trigger_context(const api::ScaledJob& sj, std::size_t index);

// Which types exist, which are resource metrics, which allow useCachedMetrics (the registry),
// and formula checking (scalers::check_formula).
api::ValidationOptions validation_options(const Registry& registry = Registry::builtin());

// Names usable as scalingModifiers formula variables: the names of the named triggers that are
// not resource metrics, in spec order.
std::vector<std::string> formula_variables(const api::ScaledObject& so, const Registry& registry = Registry::builtin());

}  // namespace ebb::scalers
