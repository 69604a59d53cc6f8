// The cluster view for the kubernetes-* scalers, taken from the pools without letting
// ConnectionPools' "nothing provides this" exception out of the scaler: a host that installed no
// kubernetes::Objects gets an error from create_scaler(), never a crash.
#pragma once

#include <stdexcept>

#include "ebb/result.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/kubernetes.h"

namespace ebb::scalers::kubernetes {

inline Result<Objects*> cluster_objects(ConnectionPools& pools) {
  try {
    return &pools.get<Objects>();
  } catch (const std::logic_error&) {
    return fail("this process has no view of the cluster to read Kubernetes objects from");
  }
}

}  // namespace ebb::scalers::kubernetes
