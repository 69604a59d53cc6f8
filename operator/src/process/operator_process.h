// The ebb-operator process: informers (ScaledObjects, HPAs, TriggerAuthentications,
// ClusterTriggerAuthentications) -> a runtime::Controller ("scaledobject", its work queue and
// --concurrent-reconciles workers calling ScaledObjectReconciler::reconcile(key)); the
// admission webhook over HTTPS. The runtime::Manager runs the rest: /healthz, /readyz and
// /metrics served always, Lease leader election (workers only while leading; a lost Lease
// exits 1), SIGTERM/SIGINT: stop taking keys, finish in-flight reconciles, release the Lease,
// stop the servers, exit 0.
#pragma once

#include "process/options.h"

namespace ebb::op::process {

// Runs until a signal (exit code 0) or a fatal condition such as a lost Lease (non-zero).
// Never returns for a clean shutdown: it exits the process itself once the Lease is released,
// because informer threads may sit in a watch for up to a bookmark interval.
int run_operator(const OperatorOptions& options);

}  // namespace ebb::op::process
