// The command-line options every Ebb process shares (cluster access, leader election, metrics
// endpoint, log level), as parsed by CommonFlags (flags.h) and turned into a Manager's options
// by ManagerOptions::from (manager.h). Each process's own options type derives from it and
// gives the defaults that differ (the Lease name, the metrics port).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ebb::runtime {

struct CommonOptions {
  CommonOptions() = default;
  CommonOptions(std::string lease_name, std::string metrics_address)
      : leader_election_id(std::move(lease_name)),
        metrics_bind_address(std::move(metrics_address)) {}

  std::string kubeconfig;  // "" = $KUBECONFIG, in-cluster, ~/.kube/config (kube::load_config)
  std::string context;
  double kube_api_qps = 300;
  int kube_api_burst = 600;

  bool leader_elect = true;
  std::string leader_election_id;         // the Lease's name; each process has its own
  std::string leader_election_namespace;  // "" = the pod's namespace, else "default"
  std::chrono::milliseconds lease_duration{15'000}, renew_deadline{10'000}, retry_period{2'000};

  std::string metrics_bind_address;  // "0" or "" disables; each process has its own port
  std::string log_level = "info";

  // What the process watches: --namespace (empty = all namespaces) and --label-selector (its
  // main informer only). Each process registers these two flags itself: their help names what
  // it watches, and the adapter's --namespace also takes no value at all (= all namespaces).
  std::vector<std::string> namespaces;
  std::string label_selector;
};

// What an option parser returns: options to run with, or the exit code to leave with right away
// (--help, --version: 0; a usage error: 2, with the message already printed on stderr).
template <class Options>
struct ParsedOptions {
  std::optional<Options> options;
  int exit_code = 0;
};

}  // namespace ebb::runtime
