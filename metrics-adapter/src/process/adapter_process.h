// The ebb-metrics-adapter process: informers (ScaledObjects with --namespace/--label-selector,
// TriggerAuthentications, ClusterTriggerAuthentications) -> Engine (upsert/remove/auth_changed);
// one PollScheduler; the external metrics API (ExternalMetricsApi on a TLS net::HttpServer at
// --secure-port, client CA bundles from flags or the extension-apiserver-authentication
// ConfigMap, SubjectAccessReview authorization); Prometheus /metrics on --metrics-bind-address
// (keda-compat §7.1 names for the adapter's work); Lease leader election gating every write;
// JSON logs. SIGTERM/SIGINT: stop serving (in-flight requests finish), stop polls, release the
// Lease, exit 0.
#pragma once

#include "process/options.h"

namespace ebb::adapter::process {

int run_adapter(const AdapterOptions& options);

}  // namespace ebb::adapter::process
