// What a scaler may read of the cluster it scales in: kubernetes-workload counts Pods,
// kubernetes-resource reads a ConfigMap or Secret, metrics-api aggregates over a Service's
// EndpointSlices. The hosting process installs an implementation (ConnectionPools::provide):
// the adapter one answered from watch-backed caches it shares across every such trigger, never
// a LIST per poll (cluster::InformerObjects); `ebb probe` one that reads the API server
// directly. A scaler gets it with pools.get<kubernetes::Objects>().
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/result.h"

namespace ebb::scalers::kubernetes {

// A resource as the API addresses it: {"", "v1", "pods"}, {"discovery.k8s.io", "v1", "endpointslices"}.
struct ResourceRef {
  std::string group, version, resource;
  bool operator<(const ResourceRef& o) const {
    return std::tie(group, version, resource) < std::tie(o.group, o.version, o.resource);
  }
  bool operator==(const ResourceRef&) const = default;
};

inline const ResourceRef kPods{"", "v1", "pods"};
inline const ResourceRef kConfigMaps{"", "v1", "configmaps"};
inline const ResourceRef kSecrets{"", "v1", "secrets"};
inline const ResourceRef kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices"};

class Objects {
 public:
  virtual ~Objects() = default;
  // The objects of `resource` in namespace `ns` whose labels match `label_selector` (Kubernetes
  // selector syntax; "" matches all). Errors: a selector that does not parse, a resource that
  // cannot be listed (RBAC, unknown), never an empty answer in its place.
  virtual Result<std::vector<nlohmann::json>> list(const ResourceRef& resource, const std::string& ns,
                                                   const std::string& label_selector) = 0;
  // One object; nullopt when it does not exist.
  virtual Result<std::optional<nlohmann::json>> get(const ResourceRef& resource, const std::string& ns,
                                                    const std::string& name) = 0;
};

}  // namespace ebb::scalers::kubernetes
