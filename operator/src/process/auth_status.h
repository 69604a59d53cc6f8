// status.scaledobjects and status.scaledjobs of TriggerAuthentications and
// ClusterTriggerAuthentications, as KEDA's operator fills them (`kubectl get ta -o wide`): the
// names of the ScaledObjects (ScaledJobs) that reference the object, comma-separated (names only,
// also for a ClusterTriggerAuthentication). KEDA appends a name when it reconciles a ScaledObject
// or ScaledJob and removes it on delete; here each list is derived from the caches' auth index
// each time (level-triggered), sorted, so a missed event or a restart changes nothing.
//
// Keys are the auth index's: "TriggerAuthentication/<ns>/<name>" and
// "ClusterTriggerAuthentication/<name>". Only without --label-selector: a shard sees only its own
// ScaledObjects and would drop the others' names.
#pragma once

#include <functional>
#include <string>

#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/runtime/reconciler.h"

namespace ebb::op::process {

class AuthStatusReconciler : public runtime::Reconciler {
 public:
  // `scaled_jobs` holds at least metadata and spec.triggers, indexed under kAuthIndex. While
  // `scaled_jobs_synced` is false (not listed yet, or no ScaledJob CRD), status.scaledjobs is
  // left as it is: a partial cache would drop names.
  AuthStatusReconciler(kube::Client& client, const kube::CacheView& scaled_objects,
                       const kube::CacheView& scaled_jobs, const kube::CacheView& trigger_auths,
                       const kube::CacheView& cluster_trigger_auths,
                       std::function<bool()> scaled_jobs_synced)
      : client_(client),
        scaled_objects_(scaled_objects),
        scaled_jobs_(scaled_jobs),
        trigger_auths_(trigger_auths),
        cluster_trigger_auths_(cluster_trigger_auths),
        scaled_jobs_synced_(std::move(scaled_jobs_synced)) {}

  runtime::ReconcileResult reconcile(const std::string& key) override;

  // "ScaledObjectA,ScaledObjectB" for the auth index key, "" when none.
  std::string referencing_names(const std::string& key) const;
  // The same for ScaledJobs.
  std::string referencing_job_names(const std::string& key) const;

 private:
  kube::Client& client_;
  const kube::CacheView& scaled_objects_;
  const kube::CacheView& scaled_jobs_;
  const kube::CacheView& trigger_auths_;
  const kube::CacheView& cluster_trigger_auths_;
  std::function<bool()> scaled_jobs_synced_;
};

}  // namespace ebb::op::process
