// Which informer updates are worth a reconcile (keda-compat §3.1). The operator's own status
// writes come back as updates; if every update were queued, each reconcile would trigger the
// next. Pure functions of (old, new).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ebb/kube/resource.h"

namespace ebb::op::process {

// ScaledObject: a resync (same resourceVersion), a generation change, a change of labels or
// annotations (the pause/activation annotations of §2, and labels/annotations the HPA copies),
// Ready going to True, deletionTimestamp or finalizers changing, or a change of status.health
// (the adapter's trigger health, which Ready reflects). A status write of the operator's own
// fields alone is not.
bool scaled_object_update_matters(const kube::Object& old_so, const kube::Object& new_so);

// HPA: spec, labels, annotations or owner references changed (manual edits are reverted), or
// its ScalingActive condition changed (mirrored as HPAActive). Status-only churn is not.
bool hpa_update_matters(const kube::Object& old_hpa, const kube::Object& new_hpa);

// TriggerAuthentication / ClusterTriggerAuthentication: spec (or generation), deletion or
// finalizers changed, or a resync.
bool auth_update_matters(const kube::Object& old_auth, const kube::Object& new_auth);

// The scale target name of a ScaledObject or an HPA (spec.scaleTargetRef.name), "" if none.
std::string scale_target_name(const kube::Object& object);

// A condition of status.conditions by type, if present.
std::optional<kube::Object> condition(const kube::Object& object, const std::string& type);

}  // namespace ebb::op::process
