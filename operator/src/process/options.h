// Command-line options of ebb-operator, in the style of Kubernetes components (CLI11; both
// --flag=value and --flag value). The flags every Ebb process takes (cluster access, leader
// election, --metrics-bind-address, --log-level) come from runtime::CommonFlags; the rest are
// the operator's own. Defaults let `ebb-operator --kubeconfig F` run next to
// `ebb-metrics-adapter --kubeconfig F` on one host: the operator keeps KEDA's operator ports
// (health 8081, metrics 8080, webhook 9443) and the adapter uses others.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ebb/process/flags.h"
#include "ebb/runtime/options.h"

namespace ebb::op::process {

inline constexpr const char* kOperatorVersion = "0.1.0";

struct OperatorOptions : runtime::CommonOptions {
  OperatorOptions() {
    leader_election_id = "ebb-operator.keda.sh";
    metrics_bind_address = ":8080";  // "0" disables
  }

  std::vector<std::string> namespaces;  // empty = all namespaces
  std::string label_selector;           // ScaledObject informer only (sharding)

  std::string health_probe_bind_address = ":8081";  // "0" disables
  int webhook_port = 9443;                          // 0 disables
  std::string webhook_host;                         // "" = all interfaces
  std::string webhook_cert_dir;                     // tls.crt + tls.key inside
  std::string webhook_cert_file, webhook_key_file;

  int concurrent_reconciles = 5;
  // --cluster-object-namespace; "" = ebb::process::cluster_object_namespace()'s rule.
  std::string cluster_object_namespace;
};

// Either options to run with, or the exit code to leave with right away (--help, --version:
// 0; a usage error: 2, with the message already printed on stderr).
struct ParsedOptions {
  std::optional<OperatorOptions> options;
  int exit_code = 0;
};
ParsedOptions parse_options(int argc, char** argv);

// Shared with ebb-metrics-adapter (common/include/ebb/process/flags.h).
using ebb::process::parse_duration;
using ebb::process::pod_namespace;

}  // namespace ebb::op::process
