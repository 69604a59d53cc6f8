// Command-line options of ebb-metrics-adapter, in the style of aggregated API servers
// (k8s.io/apiserver's flags) and Kubernetes components (CLI11; --flag=value and --flag value).
// The flags every Ebb process takes (cluster access, leader election, --metrics-bind-address,
// --log-level) come from runtime::CommonFlags; the rest are the adapter's own.
// Defaults do not clash with ebb-operator's on one host: the operator keeps 8080/8081/9443,
// the adapter serves the API on 6443 and metrics on 9022.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ebb/process/flags.h"
#include "ebb/runtime/options.h"

namespace ebb::adapter::process {

inline constexpr const char* kAdapterVersion = "0.1.0";

// kubeconfig (from CommonOptions) is also used for delegated authentication (the ConfigMap)
// and authorization (SAR). Only the leader writes /scale, status and Events.
struct AdapterOptions : runtime::CommonOptions {
  AdapterOptions() {
    leader_election_id = "ebb-metrics-adapter.keda.sh";
    metrics_bind_address = ":9022";  // "0" disables
  }

  std::vector<std::string> namespaces;  // --namespace (repeatable or comma list); empty = all
  std::string label_selector;           // ScaledObject informer only

  // Serving
  std::string bind_address;        // --bind-address, "" = all interfaces
  int secure_port = 6443;          // --secure-port
  std::string cert_dir = "apiserver.local.config/certificates";  // --cert-dir, created if missing
  std::string tls_cert_file, tls_private_key_file;  // else self-signed, written to cert_dir
  std::string tls_min_version = "VersionTLS12";     // --tls-min-version
  std::string requestheader_client_ca_file;         // else from the ConfigMap
  std::vector<std::string> requestheader_allowed_names;  // empty = any cert from that CA
  std::vector<std::string> requestheader_username_headers{"X-Remote-User"};
  std::vector<std::string> requestheader_group_headers{"X-Remote-Group"};
  std::vector<std::string> requestheader_extra_headers_prefix{"X-Remote-Extra-"};
  std::string client_ca_file;  // else from the ConfigMap
  // --authentication-skip-lookup: do not read kube-system/extension-apiserver-authentication.
  bool authentication_skip_lookup = false;
  std::vector<std::string> authorization_always_allow_paths{"/healthz", "/readyz", "/livez"};
  bool authorization_always_allow = false;  // --authorization-always-allow: no SAR (tests, dev)
  std::chrono::milliseconds authorization_allowed_ttl{10'000}, authorization_denied_ttl{10'000};
  // --authorization-webhook-cache-authorized-ttl / -unauthorized-ttl; 0 disables that cache.

  // Polling
  std::size_t max_concurrent_polls = 16;         // --max-concurrent-polls
  std::chrono::milliseconds poll_timeout{10'000};  // --poll-timeout
  std::chrono::seconds hpa_sync_period{15};        // --hpa-sync-period (the cluster's)
  // --cluster-object-namespace; "" = ebb::process::cluster_object_namespace()'s rule.
  std::string cluster_object_namespace;
};

// Either options to run with, or the exit code to leave with right away (--help, --version:
// 0; a usage error: 2, with the message already printed on stderr).
struct ParsedOptions {
  std::optional<AdapterOptions> options;
  int exit_code = 0;
};
ParsedOptions parse_options(int argc, char** argv);

}  // namespace ebb::adapter::process
