// Command-line options of ebb-metrics-adapter, in the style of aggregated API servers
// (k8s.io/apiserver's flags) and Kubernetes components (CLI11; --flag=value and --flag value).
// The flags every Ebb process takes (cluster access, leader election, --metrics-bind-address,
// --log-level) come from runtime::CommandLine; the rest are the adapter's own.
// Defaults do not clash with ebb-operator's on one host: the operator keeps 8080/8081/9443,
// the adapter serves the API on 6443 and metrics on 9022.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ebb/process/flags.h"
#include "ebb/runtime/options.h"

namespace ebb::adapter::process {

inline constexpr const char* kAdapterVersion = "0.1.0";

// From runtime::CommonOptions: the flags every process takes (kubeconfig is also used for
// delegated authentication, the ConfigMap, and authorization, SAR; only the Lease holder writes
// /scale, status and Events), --namespace (repeatable or comma list; empty = all) and
// --label-selector (the ScaledObject informer only).
struct AdapterOptions : runtime::CommonOptions {
  AdapterOptions() : CommonOptions("ebb-metrics-adapter.keda.sh", ":9022") {}

  // Serving
  std::string bind_address;        // --bind-address, "" = all interfaces
  int secure_port = 6443;          // --secure-port
  std::string cert_dir = "apiserver.local.config/certificates";  // --cert-dir, created if missing
  std::string tls_cert_file, tls_private_key_file;  // else self-signed, written to cert_dir
  bool tls_cert_optional = false;  // --tls-cert-optional: wait for those files (net::ServerTls)
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

using ParsedOptions = runtime::ParsedOptions<AdapterOptions>;
ParsedOptions parse_options(int argc, char** argv);

}  // namespace ebb::adapter::process
