// Command-line options of ebb-operator, in the style of Kubernetes components (CLI11; both
// --flag=value and --flag value). The flags every Ebb process takes (cluster access, leader
// election, --metrics-bind-address, --log-level) come from runtime::CommandLine; the rest are
// the operator's own. Defaults let `ebb-operator --kubeconfig F` run next to
// `ebb-metrics-adapter --kubeconfig F` on one host: the operator keeps KEDA's operator ports
// (health 8081, metrics 8080, webhook 9443) and the adapter uses others.
#pragma once

#include <string>
#include <vector>

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

  // Wait for the webhook certificate files (a Secret volume the kubelet fills once
  // --enable-cert-rotation created the Secret), serving a self-signed one meanwhile.
  bool webhook_cert_optional = false;

  // Self-managed certificates (process/certificates.h).
  bool cert_rotation = false;                  // --enable-cert-rotation
  std::string cert_secret_name = "ebb-certs";  // --cert-secret-name
  std::string cert_secret_namespace;           // --cert-secret-namespace, "" = the pod's namespace
  std::vector<std::string> cert_services;      // --cert-service (repeatable, comma list)
  std::string cluster_domain = "cluster.local";                     // --cluster-domain
  std::string cert_apiservice = "v1beta1.external.metrics.k8s.io";  // --cert-apiservice-name
  std::string cert_webhook_configuration;  // --cert-webhook-configuration-name
  std::string ca_validity = "87600h", cert_validity = "8760h", cert_renew_before = "2160h",
              cert_check_interval = "10m";  // Go durations, checked at parse

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
