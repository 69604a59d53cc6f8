// Skeleton so the process can link while the reconciler is being written.
#include "ebb/operator/reconciler.h"

namespace ebb::op {

ScaledObjectReconciler::ScaledObjectReconciler(kube::Client& client, kube::EventRecorder& events,
                                               ReconcilerOptions options, ReconcilerCaches caches)
    : client_(client), events_(events), options_(std::move(options)), caches_(caches) {}

ReconcileResult ScaledObjectReconciler::reconcile(const std::string&) {
  return {.error = "reconciler not implemented yet"};
}

std::vector<std::string> ScaledObjectReconciler::keys_referencing(const kube::ObjectCache&, std::string_view,
                                                                  std::string_view, std::string_view) {
  return {};
}

std::optional<std::string> ScaledObjectReconciler::owner_key(const kube::Object&) { return std::nullopt; }

}  // namespace ebb::op
