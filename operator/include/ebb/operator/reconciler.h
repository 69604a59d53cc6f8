// The ScaledObject reconciler: level-triggered and idempotent. One call reads the object and
// everything it depends on, computes the desired HPA and status with pure functions, and applies
// the difference (keda-compat §3, ARCHITECTURE.md "Who writes what"). It never touches the fields
// the metrics adapter owns (Active, Fallback, lastActiveTime, health) and never connects to a
// broker.
//
// The process (operator/src/process/) runs it from a runtime::Controller, which owns the work
// queue and the workers; this class only needs a client, an event recorder and, optionally,
// informer caches to read from instead of the API server.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/cluster/scale_target.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/kube/informer.h"
#include "ebb/runtime/reconciler.h"
#include "ebb/scalers/registry.h"

namespace ebb::op {

struct ReconcilerOptions {
  std::string field_manager = "ebb-operator";
  // The trigger types Ebb can run and how each is validated and turned into HPA metrics;
  // null: scalers::Registry::builtin(). Other types are a validation error on the object.
  const scalers::Registry* registry = nullptr;
  // A missing scale target (or one without /scale) is rechecked this often, besides the work
  // queue's error backoff, so a Deployment created later is picked up.
  std::chrono::milliseconds missing_target_recheck{std::chrono::seconds(30)};
  // Value of app.kubernetes.io/version on HPAs.
  std::string version = "dev";
  // Where a ClusterTriggerAuthentication's Secrets/ConfigMaps are read (KEDA's
  // KEDA_CLUSTER_OBJECT_NAMESPACE; keda-compat §1.2.1).
  std::string cluster_object_namespace = "keda";
};

// Where the reconciler reads instead of the API server (all optional; null = API reads), so a
// reconcile of an unchanged object puts no request on the API server. Writes always carry the
// resourceVersion they were computed from, so a stale cache costs a 409 and a fresh read,
// never a lost update.
struct ReconcilerCaches {
  // keda.sh ScaledObjects and autoscaling/v2 HPAs, indexed by kOwnershipIndex (ownership.h)
  // with scaled_object_ownership_keys / hpa_ownership_keys.
  const kube::CacheView* scaled_objects = nullptr;
  const kube::CacheView* hpas = nullptr;
  // Scale targets and their pod templates (cluster::workload_transform).
  cluster::WorkloadCaches workloads;
  // (Cluster)TriggerAuthentications.
  const kube::CacheView* trigger_authentications = nullptr;
  const kube::CacheView* cluster_trigger_authentications = nullptr;
};

// The index of ScaledObject caches by the auth objects their triggers reference:
// "TriggerAuthentication/<ns>/<name>", "ClusterTriggerAuthentication/<name>".
inline constexpr const char* kAuthIndex = "auth";
std::vector<std::string> auth_reference_keys(const kube::Object& so);

class ScaledObjectReconciler : public runtime::Reconciler {
 public:
  ScaledObjectReconciler(kube::Client& client, kube::EventRecorder& events, ReconcilerOptions options,
                         ReconcilerCaches caches = {});

  // key = "namespace/name". A missing object is success (nothing to do). An error is also
  // written as a condition, Event or log before it is returned.
  runtime::ReconcileResult reconcile(const std::string& key) override;

  // Keys of the ScaledObjects in `scaled_objects` whose triggers reference the given auth object
  // (kind "TriggerAuthentication" with its namespace, or "ClusterTriggerAuthentication" with
  // ns ""), so a change to it re-queues them.
  static std::vector<std::string> keys_referencing(const kube::CacheView& scaled_objects,
                                                   std::string_view auth_kind, std::string_view ns,
                                                   std::string_view name);
  // Key of the ScaledObject that controls this HPA (its controller owner reference), if any.
  static std::optional<std::string> owner_key(const kube::Object& hpa);

 private:
  struct State;
  kube::Client& client_;
  kube::EventRecorder& events_;
  ReconcilerOptions options_;
  ReconcilerCaches caches_;
};

}  // namespace ebb::op
