// The HorizontalPodAutoscaler (autoscaling/v2) the operator keeps for a ScaledObject, built by a
// pure function (keda-compat §2, §3.4, §4.9), and the "does the live HPA need an update" rule.
//
// Labels: app.kubernetes.io/name (the HPA name cut to 63 characters, trailing non-alphanumerics
// trimmed), app.kubernetes.io/version, app.kubernetes.io/part-of=<so>, and
// app.kubernetes.io/managed-by=keda-operator — KEDA's value, on purpose: dashboards, alerts and
// `kubectl get hpa -l app.kubernetes.io/managed-by=keda-operator` written for KEDA keep finding
// Ebb's HPAs, and the HPA is byte-for-byte what KEDA would create (keda-compat §12). Then every
// ScaledObject label except those listed in scaledobject.keda.sh/hpa-excluded-labels (SO labels
// win). Annotations: a copy of the ScaledObject's.
//
// Composite mode (scalingModifiers): the External metrics are replaced by one External metric
// `composite-metric`; Resource metrics are kept and, as in KEDA, ContainerResource metrics are
// dropped (keda-compat §3.4 quirk), so the HPA is the one KEDA would build.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/result.h"

namespace ebb::op {

inline constexpr std::string_view kCompositeMetricName = "composite-metric";
inline constexpr std::string_view kManagedByValue = "keda-operator";

struct HpaOptions {
  std::string version = "dev";  // app.kubernetes.io/version
};

struct DesiredHpa {
  nlohmann::json hpa;  // apiVersion, kind, metadata (name, namespace, labels, annotations, ownerReferences), spec
  std::string name;
  // Status fields that follow from the HPA (keda-compat §1.1.3): external metric names of the
  // triggers in trigger order (also in composite mode: the adapter evaluates them), resource
  // metric names (Resource only, not ContainerResource), composite-metric or "".
  std::vector<std::string> external_metric_names;
  std::vector<std::string> resource_metric_names;
  std::string composite_scaler_name;
};

// `metrics` are the per-trigger metrics (cluster::resolve_trigger_inputs), in trigger order.
// Errors (KEDA's texts): no metric at all; the same metric name twice; a scalingModifiers target
// that is not a positive number or a metricType Utilization.
Result<DesiredHpa> build_hpa(const api::ScaledObject& so, const cluster::ScaleTargetGVKR& target,
                             const std::vector<cluster::TriggerMetric>& metrics, const HpaOptions& options = {});

// app.kubernetes.io/name value for an HPA name.
std::string hpa_name_label(std::string_view hpa_name);

// Whether `live` must be replaced by `desired` (keda-compat §3.4): the metric count differs,
// behavior differs (deep equality), the desired spec is not a semantic subset of the live one
// (quantities compared by value: "1k" == "1000"), desired labels or annotations are not a subset
// of the live ones, or the live HPA is not controlled by the owner desired names (ownership
// transfer, or an owner recreated with a new uid).
bool hpa_needs_update(const nlohmann::json& desired, const nlohmann::json& live);

// The live HPA's controller owner reference uid, or "".
std::string controller_uid(const nlohmann::json& object);

}  // namespace ebb::op
