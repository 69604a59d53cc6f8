// The scale target of a ScaledObject, read from the cluster (keda-compat §3.3, §1.2.2): which
// resource it is (apps/v1 Deployment and StatefulSet without a discovery round trip, any other
// kind through discovery), whether it serves /scale, its current Scale, and the environment of
// its pod template's containers for `…FromEnv` parameters and TriggerAuthentication `env`.
//
// Shared by the operator and the metrics adapter, so both resolve the same target and the same
// environment. Reads only the target's namespace; error messages never contain a value read
// from a Secret.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/auth.h"
#include "ebb/api/objects.h"
#include "ebb/api/status.h"
#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/result.h"

namespace ebb::cluster {

// status.scaleTargetGVKR (part of the status contract, ebb/api/status.h).
using api::ScaleTargetGVKR;

struct TargetProblem {
  enum class Kind {
    not_found,     // the target object does not exist (KEDA: "Target resource doesn't exist")
    not_scalable,  // its kind serves no /scale ("Target resource doesn't expose /scale subresource")
    unknown_kind,  // discovery does not know the apiVersion/kind
    invalid_ref,   // scaleTargetRef itself is unusable (empty name, bad apiVersion)
    api,           // any other API failure (transient or not)
  };
  Kind kind = Kind::api;
  std::string message;  // KEDA's text first, then the detail: "Target resource doesn't exist: deployments.apps \"x\" …"
  bool transient = false;
};
std::string_view to_string(TargetProblem::Kind kind);

struct ScaleTarget {
  ScaleTargetGVKR gvkr;
  kube::Resource resource;
  std::string ns, name;
  kube::Scale scale;       // GET /scale at resolution time, or read from the cached workload
  kube::ObjectPtr object;  // the workload as cached (trimmed by workload_transform), when it was
};

// Watch-backed apps/v1 Deployments and StatefulSets, the scale targets almost every
// ScaledObject has: resolving a target and its env then puts no request on the API server.
// Other kinds are read from the API. Caches hold what workload_transform keeps.
struct WorkloadCaches {
  const kube::CacheView* deployments = nullptr;
  const kube::CacheView* statefulsets = nullptr;
  // The cache of `resource`, if it is one of the two and its cache is given.
  const kube::CacheView* for_resource(const kube::Resource& resource) const;
};

// What the caches keep of a workload: name, namespace, uid, resourceVersion, generation, labels,
// spec.replicas, spec.selector, the containers' name/env/envFrom, status.replicas and
// status.readyReplicas. Everything else (most of the pod template, managedFields) is dropped.
void workload_transform(kube::Object& workload);

// The Scale a workload's /scale would answer, from the object itself.
kube::Scale scale_of(const kube::Object& workload);

// apiVersion/kind (defaults apps/v1 Deployment) -> resource, without reading the object.
Result<std::pair<ScaleTargetGVKR, kube::Resource>, TargetProblem> resolve_target_resource(
    kube::Client& client, const api::ScaleTargetRef& ref);

// Resolves the resource, checks that it serves /scale and reads the Scale. A 404 on /scale is
// told apart from a kind without /scale by reading the object itself.
// With `workloads`, Deployments and StatefulSets are read from those caches (complete once their
// informers listed: an absent object is "not found").
Result<ScaleTarget, TargetProblem> resolve_scale_target(kube::Client& client, const api::ScaledObject& so,
                                                        const WorkloadCaches* workloads = nullptr);

// --- pod template environment ----------------------------------------------------------------

// Looks a Secret or ConfigMap up by name in the target's namespace: decoded data, nullopt when
// it does not exist, or an error for any other failure.
using ObjectDataLookup = std::function<Result<std::optional<api::StringMap>>(const std::string& name)>;

struct EnvLookups {
  ObjectDataLookup secret;
  ObjectDataLookup config_map;
};

// Pure apart from the lookups: the resolved env of every container of a PodSpec, in order
// (keda-compat §1.2.2): envFrom first (prefix, optional sources), then env in order with
// $(VAR) expansion against earlier variables and $$ escaping; valueFrom secretKeyRef and
// configMapKeyRef resolved (a missing non-optional source is an error naming the Secret/ConfigMap
// and key), fieldRef/resourceFieldRef skipped. Paths in errors: "containers[0].env[2]".
Result<std::vector<api::ContainerEnv>> resolve_pod_env(const nlohmann::json& pod_spec, const EnvLookups& lookups);

// The PodSpec of a workload: spec.template.spec (Deployment, StatefulSet and any PodSpecable
// kind); an error when the object has none.
Result<nlohmann::json> pod_spec_of(const nlohmann::json& workload);

struct TargetEnvironment {
  std::vector<api::ContainerEnv> containers;  // every container, in pod order
  // The container `envSourceContainerName` names, else the first one: the env `…FromEnv`
  // parameters read. Empty map when the pod has no containers.
  api::StringMap source_env;
};

// Reads the target object (the cached one when the target carries it, else a GET) and the
// Secrets/ConfigMaps its env names, in the target's namespace only. A missing envSourceContainerName container is an error
// ("couldn't find container with name <n> on scale target").
Result<TargetEnvironment> read_target_environment(kube::Client& client, const ScaleTarget& target,
                                                  const std::string& env_source_container_name);

// A ScaledJob's environment: its jobTargetRef.template.spec containers, resolved like a scale
// target's, in the ScaledJob's namespace; spec.envSourceContainerName picks the source container
// (error "couldn't find container with name <n> on job template" when absent).
Result<TargetEnvironment> job_template_environment(kube::Client& client, const api::ScaledJob& sj);

// Lookups reading <ns>/Secret and <ns>/ConfigMap through the client, remembering what they read
// for the lifetime of the returned object (one reconcile).
EnvLookups client_lookups(kube::Client& client, const std::string& ns);

}  // namespace ebb::cluster
