// Who may scale a target: the rules KEDA enforces only in its admission webhook (one
// ScaledObject per scale target, one per HPA name, no adoption of a foreign HPA without the
// transfer annotation), shared by Ebb's webhook and its reconciler (ARCHITECTURE.md decision 7).
// Pure: objects in, verdict out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::op {

struct OwnershipConflict {
  // KEDA's webhook reason label: "other-scaled-object", "other-scaled-object-hpa", "other-hpa",
  // "transfer-ownership-missing-hpa-name". The reconciler uses the same strings, in CamelCase
  // form, as condition reasons (see conflict_condition_reason()).
  std::string reason;
  std::string message;  // KEDA's message shape (keda-compat §3.8), naming the other object
  std::string other;    // name of the other ScaledObject or HPA
};

// Another ScaledObject in the same namespace (`others`, may include `so` itself, which is
// ignored by uid/name) with the same scale target (name and group/version.Kind, defaults
// applied) or the same HPA name.
//
// mode webhook: any such other object is a conflict (KEDA denies the newcomer).
// mode reconciler: the object that already owns the target keeps it: the one whose HPA exists
// and is controlled by it (`hpas` = HPAs of the namespace); else the older by
// creationTimestamp, then by name. Only the loser gets a conflict.
enum class ConflictMode { webhook, reconciler };
std::optional<OwnershipConflict> scaled_object_conflict(const nlohmann::json& so,
                                                        const std::vector<nlohmann::json>& others,
                                                        const std::vector<nlohmann::json>& hpas,
                                                        ConflictMode mode);

// An HPA in the namespace that targets the same workload and is not controlled by this
// ScaledObject, unless it carries validations.keda.sh/hpa-ownership: "false", or the SO asks
// for the transfer (scaledobject.keda.sh/transfer-hpa-ownership: "true") AND names that HPA in
// advanced.horizontalPodAutoscalerConfig.name (else "transfer-ownership-missing-hpa-name").
std::optional<OwnershipConflict> foreign_hpa_conflict(const nlohmann::json& so,
                                                      const std::vector<nlohmann::json>& hpas);

// --- lookups through cache indexes -------------------------------------------------------------
// The rules above read only objects that share something with the ScaledObject: its scale
// target, its HPA name, or an HPA controlled by it or by a ScaledObject it clashes with. Caches
// file ScaledObjects and HPAs under these keys (kube::ObjectCache::add_index(kOwnershipIndex,
// ...)), so the candidates are found by lookups, never by reading the whole namespace.
inline constexpr const char* kOwnershipIndex = "ownership";
// "target:<ns>/<group/version.Kind>/<name>" and "hpa:<ns>/<HPA name>".
std::vector<std::string> scaled_object_ownership_keys(const nlohmann::json& so);
// "target:<ns>/<group/version.Kind>/<name>" and "owner:<ns>/<ScaledObject>" for its controller.
std::vector<std::string> hpa_ownership_keys(const nlohmann::json& hpa);
// The keys under which the HPAs that matter for `so` are filed, given the clashing `others`.
std::vector<std::string> hpa_keys_for(const nlohmann::json& so, const std::vector<nlohmann::json>& others);

// "other-hpa" -> "HPAOwnedByOther" style CamelCase condition reasons used on Ready=False:
//   other-scaled-object -> "ScaleTargetOwnedByOtherScaledObject"
//   other-scaled-object-hpa -> "HPANameUsedByOtherScaledObject"
//   other-hpa -> "ScaleTargetOwnedByForeignHPA"
//   transfer-ownership-missing-hpa-name -> "HPATransferMissingName"
std::string conflict_condition_reason(const std::string& reason);

}  // namespace ebb::op
