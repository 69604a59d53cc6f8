// Everything a ScaledObject's (or ScaledJob's) triggers need from the cluster, and the scalers' pure step on top:
// for each trigger, the (Cluster)TriggerAuthentication it references and the Secrets/ConfigMaps
// that names, resolved to auth params (api::resolve_auth_params); the scale target's env for
// `…FromEnv`; then the parse step (scalers::Registry::builtin()) giving the trigger's metric,
// external or resource (cpu, memory) as the registry says.
//
// Namespaces: a TriggerAuthentication and its Secrets/ConfigMaps are read in the ScaledObject's
// namespace; a ClusterTriggerAuthentication is cluster-scoped and its Secrets/ConfigMaps are read
// in the "cluster object namespace" (KEDA: KEDA_CLUSTER_OBJECT_NAMESPACE, else the operator's
// namespace; here TriggerInputsOptions::cluster_object_namespace, default "keda"). Nothing else
// is read.
//
// Errors are per trigger, name the trigger index and type and the missing object or key, never
// a value read from a Secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/api/auth.h"
#include "ebb/api/objects.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/result.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaler.h"

namespace ebb::cluster {

// What one trigger contributes to the HPA (spec.external() or a resource metric), and the
// scaler's parsed config, from which the adapter builds the I/O side.
struct TriggerMetric {
  std::size_t index = 0;
  std::string type;
  std::string name;  // spec.triggers[i].name
  scalers::MetricSpec spec;
  std::shared_ptr<const scalers::TriggerConfig> config;
};

struct TriggerProblem {
  std::size_t index = 0;
  std::string type;
  // "trigger 0 (rabbitmq): TriggerAuthentication \"auth\" not found in namespace \"shop\"" or
  // "trigger 1 (redis): spec.triggers[1].metadata.listName: …"
  std::string message;
  FieldErrors errors;  // parse errors, paths from the object root ("spec.triggers[1].metadata.x")
  bool transient = false;  // an API failure, worth retrying unchanged
};

// Pure: the metric of one trigger from a complete context, through `registry`. Error paths are
// relative to the trigger.
Result<TriggerMetric, FieldErrors> parse_trigger(const scalers::TriggerContext& ctx, const scalers::Registry& registry);

struct TriggerInputsOptions {
  std::string cluster_object_namespace = "keda";
  const scalers::Registry* registry = nullptr;  // null: scalers::Registry::builtin()
  // Watch-backed (Cluster)TriggerAuthentications; null: a GET per reference.
  const kube::CacheView* trigger_authentications = nullptr;
  const kube::CacheView* cluster_trigger_authentications = nullptr;
};

struct TriggerInputs {
  std::vector<scalers::TriggerContext> contexts;  // one per trigger, resolved as far as possible
  std::vector<TriggerMetric> metrics;             // triggers that parsed, in trigger order
  std::vector<TriggerProblem> problems;           // triggers that did not, in trigger order
  bool ok() const { return problems.empty(); }
};

// Reads the auth objects and their Secrets/ConfigMaps, resolves auth params and env, and runs
// the parse step. `env` is the target's environment (nullptr: the target could not be read, so
// `…FromEnv` and TriggerAuthentication `env` resolve to errors naming the variable).
TriggerInputs resolve_trigger_inputs(kube::Client& client, const api::ScaledObject& so, const TargetEnvironment* env,
                                     const TriggerInputsOptions& options = {});
// The same for a ScaledJob: `env` is its job template's environment (job_template_environment).
TriggerInputs resolve_trigger_inputs(kube::Client& client, const api::ScaledJob& sj, const TargetEnvironment* env,
                                     const TriggerInputsOptions& options = {});

}  // namespace ebb::cluster
