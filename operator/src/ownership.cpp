// Ownership rules of keda-compat §3.8 (verifyScaledObjects, verifyHpas), applied to raw JSON
// objects as the API server returns them. Every accessor tolerates a missing or mistyped member,
// because the reconciler also feeds objects the webhook never saw (failurePolicy Ignore).
#include "ebb/operator/ownership.h"

#include <string_view>

#include "ebb/api/annotations.h"
#include "ebb/api/objects.h"
#include "ebb/json.h"

namespace ebb::op {

namespace {

using nlohmann::json;

std::string annotation(const json& object, std::string_view key) {
  return json_string(json_member(json_member(object, "metadata"), "annotations"), {key});
}

struct Identity {
  std::string name, namespace_, uid, creation_timestamp;
};

Identity identity(const json& object) {
  const auto& meta = json_member(object, "metadata");
  return {json_string(meta, {"name"}), json_string(meta, {"namespace"}), json_string(meta, {"uid"}),
          json_string(meta, {"creationTimestamp"})};
}

// A scale target as KEDA compares it: the name and ParseGVKR's "group/version.Kind", with
// apps/v1 and Deployment filled in for empty members. "v1" has the empty group ("/v1.Kind").
struct Target {
  std::string name;
  std::string gvk;
};

Target target_of(const json& scale_target_ref) {
  auto api_version = json_string(scale_target_ref, {"apiVersion"});
  auto kind = json_string(scale_target_ref, {"kind"});
  if (api_version.empty()) api_version = api::kDefaultScaleTargetApiVersion;
  if (kind.empty()) kind = api::kDefaultScaleTargetKind;
  // An apiVersion without '/' is a version of the core group; one with more than one '/' is
  // invalid (validate() rejects it on ScaledObjects) and is compared as written.
  if (api_version.find('/') == std::string::npos) api_version = "/" + api_version;
  return {json_string(scale_target_ref, {"name"}), api_version + "." + kind};
}

Target so_target(const json& so) {
  return target_of(json_member(json_member(so, "spec"), "scaleTargetRef"));
}

std::string configured_hpa_name(const json& so) {
  return json_string(
      json_member(json_member(json_member(so, "spec"), "advanced"), "horizontalPodAutoscalerConfig"), {"name"});
}

std::string so_hpa_name(const json& so) {
  auto name = configured_hpa_name(so);
  return name.empty() ? "keda-hpa-" + identity(so).name : name;
}

// Two ScaledObjects of one namespace cannot share a name, so a namesake is this object (perhaps
// an older copy of it, as in an UPDATE).
bool same_object(const Identity& a, const Identity& b) {
  return a.name == b.name || (!a.uid.empty() && a.uid == b.uid);
}

bool different_namespace(const Identity& a, const Identity& b) {
  return !a.namespace_.empty() && !b.namespace_.empty() && a.namespace_ != b.namespace_;
}

// The HPA has an ownerReference with controller: true naming this ScaledObject (by uid too when
// both sides have one, so a recreated namesake does not inherit a stale HPA).
bool controlled_by(const json& hpa, const Identity& so) {
  const auto& refs = json_member(json_member(hpa, "metadata"), "ownerReferences");
  if (!refs.is_array()) return false;
  for (const auto& ref : refs) {
    const auto& controller = json_member(ref, "controller");
    if (!controller.is_boolean() || !controller.get<bool>()) continue;
    if (json_string(ref, {"kind"}) != api::kScaledObjectKind) continue;
    if (json_string(ref, {"name"}) != so.name) continue;
    const auto uid = json_string(ref, {"uid"});
    if (!uid.empty() && !so.uid.empty() && uid != so.uid) continue;
    return true;
  }
  return false;
}

bool holds_hpa(const Identity& so, const std::vector<json>& hpas) {
  for (const auto& hpa : hpas)
    if (controlled_by(hpa, so)) return true;
  return false;
}

// Reconciler tie-break (ARCHITECTURE.md decision 7): does `a` keep the target against `b`?
bool keeps(const Identity& a, const Identity& b, const std::vector<json>& hpas) {
  const bool a_holds = holds_hpa(a, hpas);
  const bool b_holds = holds_hpa(b, hpas);
  if (a_holds != b_holds) return a_holds;
  // RFC 3339 UTC timestamps as the API server writes them order lexicographically; an object
  // without one (not yet created) is the newest.
  if (a.creation_timestamp != b.creation_timestamp) {
    if (a.creation_timestamp.empty()) return false;
    if (b.creation_timestamp.empty()) return true;
    return a.creation_timestamp < b.creation_timestamp;
  }
  return a.name < b.name;
}

}  // namespace

std::optional<OwnershipConflict> scaled_object_conflict(const json& so,
                                                        const std::vector<json>& others,
                                                        const std::vector<json>& hpas,
                                                        ConflictMode mode) {
  const auto self = identity(so);
  const auto target = so_target(so);
  const auto hpa_name = so_hpa_name(so);

  // Candidates in KEDA's order: first every target clash, then every HPA-name clash.
  const auto loses_to = [&](const Identity& other) {
    return mode == ConflictMode::webhook || !keeps(self, other, hpas);
  };
  for (const auto& other : others) {
    const auto id = identity(other);
    if (same_object(self, id) || different_namespace(self, id)) continue;
    const auto other_target = so_target(other);
    if (target.name.empty() || other_target.name != target.name || other_target.gvk != target.gvk)
      continue;
    if (!loses_to(id)) continue;
    return OwnershipConflict{"other-scaled-object",
                             "the workload '" + target.name + "' of type '" + target.gvk +
                                 "' is already managed by the ScaledObject '" + id.name + "'",
                             id.name};
  }
  for (const auto& other : others) {
    const auto id = identity(other);
    if (same_object(self, id) || different_namespace(self, id)) continue;
    if (so_hpa_name(other) != hpa_name) continue;
    if (!loses_to(id)) continue;
    return OwnershipConflict{
        "other-scaled-object-hpa",
        "the HPA '" + hpa_name + "' is already managed by the ScaledObject '" + id.name + "'",
        id.name};
  }
  return std::nullopt;
}

std::optional<OwnershipConflict> foreign_hpa_conflict(const json& so,
                                                      const std::vector<json>& hpas) {
  const auto self = identity(so);
  const auto target = so_target(so);
  if (target.name.empty()) return std::nullopt;
  const bool transfer = annotation(so, api::kTransferHpaOwnershipAnnotation) == "true";
  const auto requested_name = configured_hpa_name(so);

  for (const auto& hpa : hpas) {
    const auto id = identity(hpa);
    if (different_namespace(self, id)) continue;
    if (annotation(hpa, api::kHpaOwnershipValidationAnnotation) == "false") continue;
    const auto hpa_target = target_of(json_member(json_member(hpa, "spec"), "scaleTargetRef"));
    if (hpa_target.name != target.name || hpa_target.gvk != target.gvk) continue;
    if (controlled_by(hpa, self)) continue;
    if (!transfer)
      return OwnershipConflict{"other-hpa",
                               "the workload '" + target.name + "' of type '" + target.gvk +
                                   "' is already managed by the hpa '" + id.name + "'",
                               id.name};
    if (requested_name != id.name)
      return OwnershipConflict{"transfer-ownership-missing-hpa-name",
                               "the existing hpa '" + id.name + "' for workload '" + target.name +
                                   "' of type '" + target.gvk +
                                   "' must be specified by name in advanced settings to enable "
                                   "ownership transfer",
                               id.name};
  }
  return std::nullopt;
}

namespace {
std::string target_key(const std::string& ns, const Target& t) { return "target:" + ns + "/" + t.gvk + "/" + t.name; }
std::string owner_key(const std::string& ns, const std::string& so) { return "owner:" + ns + "/" + so; }
}  // namespace

std::vector<std::string> scaled_object_ownership_keys(const json& so) {
  const auto id = identity(so);
  std::vector<std::string> keys;
  const auto target = so_target(so);
  if (!target.name.empty()) keys.push_back(target_key(id.namespace_, target));
  keys.push_back("hpa:" + id.namespace_ + "/" + so_hpa_name(so));
  return keys;
}

std::vector<std::string> hpa_ownership_keys(const json& hpa) {
  const auto id = identity(hpa);
  std::vector<std::string> keys;
  const auto target = target_of(json_member(json_member(hpa, "spec"), "scaleTargetRef"));
  if (!target.name.empty()) keys.push_back(target_key(id.namespace_, target));
  const auto& refs = json_member(json_member(hpa, "metadata"), "ownerReferences");
  if (refs.is_array())
    for (const auto& ref : refs)
      if (json_member(ref, "controller").is_boolean() && json_member(ref, "controller").get<bool>() &&
          json_string(ref, {"kind"}) == api::kScaledObjectKind)
        keys.push_back(owner_key(id.namespace_, json_string(ref, {"name"})));
  return keys;
}

std::vector<std::string> hpa_keys_for(const json& so, const std::vector<json>& others) {
  const auto id = identity(so);
  std::vector<std::string> keys;
  const auto target = so_target(so);
  if (!target.name.empty()) keys.push_back(target_key(id.namespace_, target));
  keys.push_back(owner_key(id.namespace_, id.name));
  for (const auto& other : others) keys.push_back(owner_key(id.namespace_, identity(other).name));
  return keys;
}

std::string conflict_condition_reason(const std::string& reason) {
  if (reason == "other-scaled-object") return "ScaleTargetOwnedByOtherScaledObject";
  if (reason == "other-scaled-object-hpa") return "HPANameUsedByOtherScaledObject";
  if (reason == "other-hpa") return "ScaleTargetOwnedByForeignHPA";
  if (reason == "transfer-ownership-missing-hpa-name") return "HPATransferMissingName";
  return "OwnershipConflict";
}

}  // namespace ebb::op
