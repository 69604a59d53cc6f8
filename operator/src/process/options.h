// Command-line options of ebb-operator, in the style of Kubernetes components (CLI11; both
// --flag=value and --flag value). The flags every Ebb process takes (cluster access, leader
// election, --metrics-bind-address, --log-level) come from runtime::CommandLine; the rest are
// the operator's own. Defaults let `ebb-operator --kubeconfig F` run next to
// `ebb-metrics-adapter --kubeconfig F` on one host: the operator keeps KEDA's operator ports
// (health 8081, metrics 8080, webhook 9443) and the adapter uses others.
#pragma once

#include <string>

#include "ebb/process/flags.h"
#include "ebb/runtime/options.h"

namespace ebb::op::process {

inline constexpr const char* kOperatorVersion = "0.1.0";

// The flags every process takes, the watched namespaces and the label selector are
// runtime::CommonOptions'.
struct OperatorOptions : runtime::CommonOptions {
  OperatorOptions() : CommonOptions("ebb-operator.keda.sh", ":8080") {}

  std::string health_probe_bind_address = ":8081";  // "0" disables
  int webhook_port = 9443;                          // 0 disables
  std::string webhook_host;                         // "" = all interfaces
  std::string webhook_cert_dir;                     // tls.crt + tls.key inside
  std::string webhook_cert_file, webhook_key_file;

  int concurrent_reconciles = 5;
  // --cluster-object-namespace; "" = ebb::process::cluster_object_namespace()'s rule.
  std::string cluster_object_namespace;
};

using ParsedOptions = runtime::ParsedOptions<OperatorOptions>;
ParsedOptions parse_options(int argc, char** argv);

// Shared with ebb-metrics-adapter (common/include/ebb/process/flags.h).
using ebb::process::parse_duration;
using ebb::process::pod_namespace;

}  // namespace ebb::op::process
