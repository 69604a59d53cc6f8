// Helpers both processes' command lines share.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ebb::process {

// "1h2m3.5s", "500ms", "15s", "2m": Go's time.ParseDuration subset (h, m, s, ms, us, ns).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// The namespace of the pod this process runs in, from the service-account namespace file;
// "" when not in a pod.
std::string pod_namespace(const std::string& namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace");

// KEDA's WATCH_NAMESPACE, the namespaces watched when --namespace is not given: a comma list,
// blanks dropped; empty (unset or "") = all namespaces. `env` is injectable for tests.
std::vector<std::string> watch_namespace_env(
    const std::function<std::string(const char*)>& env = {});

// Where cluster-scoped objects' Secrets and ConfigMaps are read (KEDA's
// KEDA_CLUSTER_OBJECT_NAMESPACE, keda-compat §1.2.1): the --cluster-object-namespace flag, else
// $KEDA_CLUSTER_OBJECT_NAMESPACE, else $POD_NAMESPACE, else the service-account namespace file,
// else "keda". An empty value counts as unset. The lookups are injectable for tests; null ones
// read the process environment and pod_namespace().
struct NamespaceLookups {
  std::function<std::string(const char* name)> env;  // "" when unset
  std::function<std::string()> namespace_file;       // "" when not in a pod
};
std::string cluster_object_namespace(const std::string& flag, const NamespaceLookups& lookups = {});

}  // namespace ebb::process
