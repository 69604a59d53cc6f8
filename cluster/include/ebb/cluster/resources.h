// KEDA's custom resources as the Kubernetes client addresses them: the one definition every
// process and test uses. api/ holds the KEDA types but is pure and knows no kube types; kube/ is
// a generic client that knows nothing of KEDA; cluster/ is where the two meet.
#pragma once

#include "ebb/kube/resource.h"

namespace ebb::cluster {

const kube::Resource& scaled_objects();                   // keda.sh/v1alpha1, namespaced
const kube::Resource& scaled_jobs();                      // keda.sh/v1alpha1, namespaced
const kube::Resource& trigger_authentications();          // keda.sh/v1alpha1, namespaced
const kube::Resource& cluster_trigger_authentications();  // keda.sh/v1alpha1, cluster-scoped

}  // namespace ebb::cluster
