// The `ebb` subcommands as functions over streams, so tests run them without a process.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "manifests.h"

namespace ebb::cli {

// `ebb validate -f FILE…`: 0 when every object is valid, 1 when any is invalid. Errors go to
// `err` as "FILE:DOC: path: message", warnings as "FILE:DOC: warning: path: message".
int run_validate(const std::vector<std::string>& files, const SecretSources& secrets,
                 std::ostream& out, std::ostream& err);

struct ProbeOptions {
  bool watch = false;
  std::chrono::milliseconds interval{std::chrono::seconds(5)};
  std::optional<int> count;  // stop after this many rounds (watch); --once is count 1
  std::int32_t current_replicas = 1;
  // ScaledJobs: the Jobs taken as running (and, of those, pending) when deciding how many a
  // poll creates; probe does not count them in a cluster.
  std::int64_t running_jobs = 0;
  std::int64_t pending_jobs = 0;
  bool json = false;
  // The cluster triggers that read Kubernetes objects (kubernetes-workload, …) look at:
  // kube::load_config's order (this file, else $KUBECONFIG, else in-cluster, else
  // ~/.kube/config). Without one those triggers report that no cluster is configured.
  std::string kubeconfig;
};

// `ebb probe -f FILE…`: polls every trigger of every ScaledObject and ScaledJob, once or
// repeatedly, and prints the replicas the HPA would choose, or the Jobs the adapter's job loop
// would create (its own decision functions). Returns 0 when every round completed with every
// trigger read, 1 when an object is invalid or a trigger failed (in the last round).
int run_probe(const std::vector<std::string>& files, const SecretSources& secrets,
              const ProbeOptions& options, std::ostream& out, std::ostream& err);

// `ebb scalers`: the trigger types this build runs (tab-separated), or with `markdown` the
// reference page docs/scalers.md holds.
int run_scalers(bool markdown, std::ostream& out);

struct MigrateCheckOptions {
  std::string kubeconfig;      // "" = kube::load_config's order
  std::string context;         // "" = current-context
  std::string namespace_name;  // "" = all namespaces (and ClusterTriggerAuthentications)
};

// `ebb migrate check`: lists the KEDA objects of a cluster that Ebb cannot serve yet, with the
// reason (unsupported trigger types through the scaler registry, ScaledJobs, invalid objects),
// and what the switch changes (HPAs adopted in place, the external metrics APIService). 0 when
// nothing blocks the switch, 1 when something does, 2 when the cluster cannot be read.
int run_migrate_check(const MigrateCheckOptions& options, std::ostream& out, std::ostream& err);

// Set by SIGINT/SIGTERM handlers to end a --watch loop cleanly.
void request_stop();

}  // namespace ebb::cli
