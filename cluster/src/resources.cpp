#include "ebb/cluster/resources.h"

#include "ebb/api/objects.h"

namespace ebb::cluster {
namespace {

kube::Resource keda(const char* plural, std::string_view kind, bool namespaced) {
  return kube::Resource{std::string(api::kGroup), std::string(api::kVersion), plural, std::string(kind), namespaced,
                        {"status"}};
}

}  // namespace

const kube::Resource& scaled_objects() {
  static const kube::Resource r = keda("scaledobjects", api::kScaledObjectKind, true);
  return r;
}

const kube::Resource& scaled_jobs() {
  static const kube::Resource r = keda("scaledjobs", api::kScaledJobKind, true);
  return r;
}

const kube::Resource& trigger_authentications() {
  static const kube::Resource r = keda("triggerauthentications", api::kTriggerAuthenticationKind, true);
  return r;
}

const kube::Resource& cluster_trigger_authentications() {
  static const kube::Resource r = keda("clustertriggerauthentications", api::kClusterTriggerAuthenticationKind, false);
  return r;
}

}  // namespace ebb::cluster
