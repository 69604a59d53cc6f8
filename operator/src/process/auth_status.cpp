#include "process/auth_status.h"

#include <algorithm>
#include <vector>

#include "ebb/cluster/resources.h"
#include "ebb/json.h"
#include "ebb/operator/reconciler.h"

namespace ebb::op::process {

std::string AuthStatusReconciler::referencing_names(const std::string& key) const {
  std::vector<std::string> names;
  for (const auto& so_key : scaled_objects_.indexed_keys(kAuthIndex, key))
    names.push_back(kube::split_key(so_key).second);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
  return joined;
}

runtime::ReconcileResult AuthStatusReconciler::reconcile(const std::string& key) {
  const bool cluster = key.rfind("ClusterTriggerAuthentication/", 0) == 0;
  const std::string rest = key.substr(key.find('/') + 1);
  const auto [ns, name] =
      cluster ? std::pair<std::string, std::string>{"", rest} : kube::split_key(rest);
  const auto& cache = cluster ? cluster_trigger_auths_ : trigger_auths_;
  const auto auth = cache.find(cluster ? name : kube::object_key(ns, name));
  if (!auth || !json_string(*auth, {"metadata", "deletionTimestamp"}).empty()) return {};
  const std::string desired = referencing_names(key);
  if (json_string(*auth, {"status", "scaledobjects"}) == desired) return {};
  const auto& resource =
      cluster ? cluster::cluster_trigger_authentications() : cluster::trigger_authentications();
  // null removes the field: KEDA omits it when empty.
  kube::Object patch{
      {"status", {{"scaledobjects", desired.empty() ? kube::Object() : kube::Object(desired)}}}};
  kube::PatchOptions options;
  options.subresource = "status";
  auto done = client_.patch(resource, ns, name, kube::PatchType::merge, patch, options);
  if (!done && !done.error().not_found())
    return {"patching status.scaledobjects of " + key + ": " + done.error().message, std::nullopt};
  return {};
}

}  // namespace ebb::op::process
