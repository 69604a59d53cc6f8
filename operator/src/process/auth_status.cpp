#include "process/auth_status.h"

#include <algorithm>
#include <vector>

#include "ebb/cluster/resources.h"
#include "ebb/json.h"
#include "ebb/operator/reconciler.h"

namespace ebb::op::process {

namespace {

// The names of the cache's objects filed under `key`, sorted, unique, comma-joined.
std::string names_under(const kube::CacheView& cache, const std::string& key) {
  std::vector<std::string> names;
  for (const auto& object_key : cache.indexed_keys(kAuthIndex, key))
    names.push_back(kube::split_key(object_key).second);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
  return joined;
}

// null removes the field: KEDA omits it when empty.
kube::Object list_value(const std::string& names) {
  return names.empty() ? kube::Object() : kube::Object(names);
}

}  // namespace

std::string AuthStatusReconciler::referencing_names(const std::string& key) const {
  return names_under(scaled_objects_, key);
}

std::string AuthStatusReconciler::referencing_job_names(const std::string& key) const {
  return names_under(scaled_jobs_, key);
}

runtime::ReconcileResult AuthStatusReconciler::reconcile(const std::string& key) {
  const bool cluster = key.rfind("ClusterTriggerAuthentication/", 0) == 0;
  const std::string rest = key.substr(key.find('/') + 1);
  const auto [ns, name] =
      cluster ? std::pair<std::string, std::string>{"", rest} : kube::split_key(rest);
  const auto& cache = cluster ? cluster_trigger_auths_ : trigger_auths_;
  const auto auth = cache.find(cluster ? name : kube::object_key(ns, name));
  if (!auth || !json_string(*auth, {"metadata", "deletionTimestamp"}).empty()) return {};
  const std::string objects = referencing_names(key);
  const bool jobs_known = !scaled_jobs_synced_ || scaled_jobs_synced_();
  const std::string jobs = jobs_known ? referencing_job_names(key) : std::string();
  const bool objects_differ = json_string(*auth, {"status", "scaledobjects"}) != objects;
  const bool jobs_differ = jobs_known && json_string(*auth, {"status", "scaledjobs"}) != jobs;
  if (!objects_differ && !jobs_differ) return {};
  const auto& resource =
      cluster ? cluster::cluster_trigger_authentications() : cluster::trigger_authentications();
  kube::Object patch{{"status", {{"scaledobjects", list_value(objects)}}}};
  if (jobs_known) patch["status"]["scaledjobs"] = list_value(jobs);
  kube::PatchOptions options;
  options.subresource = "status";
  auto done = client_.patch(resource, ns, name, kube::PatchType::merge, patch, options);
  if (!done && !done.error().not_found())
    return {"patching status.scaledobjects/scaledjobs of " + key + ": " + done.error().message,
            std::nullopt};
  return {};
}

}  // namespace ebb::op::process
