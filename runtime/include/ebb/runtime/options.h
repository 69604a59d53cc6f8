// The command-line options every Ebb process shares (cluster access, leader election, metrics
// endpoint, log level), as parsed by CommonFlags (flags.h) and turned into a Manager's options
// by ManagerOptions::from (manager.h). Each process's own options type derives from it and
// sets the defaults that differ (the Lease name, the metrics port).
#pragma once

#include <chrono>
#include <string>

namespace ebb::runtime {

struct CommonOptions {
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
};

}  // namespace ebb::runtime
