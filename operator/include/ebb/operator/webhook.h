// The validating admission webhook for ScaledObject, ScaledJob, TriggerAuthentication and
// ClusterTriggerAuthentication (keda-compat §3.8): AdmissionReview (admission.k8s.io/v1) in,
// AdmissionReview out. Pure apart from the lookups the caller provides, so it is tested without
// a server; the operator serves it over HTTPS at KEDA's paths. The reconciler enforces the same
// rules (ARCHITECTURE.md decision 7), so nothing depends on the webhook being reachable.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/scalers/registry.h"

namespace ebb::op {

using Json = nlohmann::json;

struct AdmissionLookups {
  // The ScaledObjects and HPAs of the object's namespace that may conflict with `so` (those
  // sharing a key of ownership.h's index; the whole namespace is correct too, only slower).
  std::function<std::vector<Json>(const Json& so)> scaled_objects;
  std::function<std::vector<Json>(const Json& so)> hpas;
  // The scale target (apiVersion, kind, ns, name) or nullopt when it does not exist.
  std::function<std::optional<Json>(const std::string& api_version, const std::string& kind,
                                    const std::string& ns, const std::string& name)>
      workload;
  std::function<std::vector<Json>(const std::string& ns)> limit_ranges;
  // The trigger types Ebb can run and how each is validated; null: scalers::Registry::builtin().
  const scalers::Registry* registry = nullptr;
};

// Paths (KEDA's, so existing webhook configurations keep working).
inline constexpr std::string_view kScaledObjectWebhookPath = "/validate-keda-sh-v1alpha1-scaledobject";
inline constexpr std::string_view kScaledJobWebhookPath = "/validate-keda-sh-v1alpha1-scaledjob";
inline constexpr std::string_view kTriggerAuthenticationWebhookPath =
    "/validate-keda-sh-v1alpha1-triggerauthentication";
inline constexpr std::string_view kClusterTriggerAuthenticationWebhookPath =
    "/validate-keda-sh-v1alpha1-clustertriggerauthentication";

struct AdmissionOutcome {
  Json review;          // the AdmissionReview to answer with (response.uid = request.uid)
  bool allowed = true;
  std::string reason;   // KEDA's Prometheus reason label when denied ("other-hpa", …)
  std::string ns, action;  // for metrics: namespace and "create"/"update"
  std::vector<std::string> warnings;
};

// nullopt for a path that is not one of the four above. A malformed review gets a response
// that denies with a message (or a 400-worthy error when there is no request uid at all).
std::optional<AdmissionOutcome> review(std::string_view path, const Json& admission_review,
                                       const AdmissionLookups& lookups);

}  // namespace ebb::op
