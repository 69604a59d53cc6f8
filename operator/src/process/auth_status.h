// status.scaledobjects of TriggerAuthentications and ClusterTriggerAuthentications, as KEDA's
// operator fills it (`kubectl get ta -o wide`): the names of the ScaledObjects that reference the
// object, comma-separated (names only, also for a ClusterTriggerAuthentication). KEDA appends a
// name when it reconciles a ScaledObject and removes it on delete; here the list is derived from
// the ScaledObject cache's auth index each time (level-triggered), sorted, so a missed event or
// a restart changes nothing. status.scaledjobs is left alone (Ebb has no ScaledJobs yet).
//
// Keys are the auth index's: "TriggerAuthentication/<ns>/<name>" and
// "ClusterTriggerAuthentication/<name>". Only without --label-selector: a shard sees only its own
// ScaledObjects and would drop the others' names.
#pragma once

#include <string>

#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/runtime/reconciler.h"

namespace ebb::op::process {

class AuthStatusReconciler : public runtime::Reconciler {
 public:
  AuthStatusReconciler(kube::Client& client, const kube::CacheView& scaled_objects,
                       const kube::CacheView& trigger_auths,
                       const kube::CacheView& cluster_trigger_auths)
      : client_(client),
        scaled_objects_(scaled_objects),
        trigger_auths_(trigger_auths),
        cluster_trigger_auths_(cluster_trigger_auths) {}

  runtime::ReconcileResult reconcile(const std::string& key) override;

  // "ScaledObjectA,ScaledObjectB" for the auth index key, "" when none.
  std::string referencing_names(const std::string& key) const;

 private:
  kube::Client& client_;
  const kube::CacheView& scaled_objects_;
  const kube::CacheView& trigger_auths_;
  const kube::CacheView& cluster_trigger_auths_;
};

}  // namespace ebb::op::process
