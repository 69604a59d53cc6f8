// How to reach and authenticate to a Kubernetes API server: kubeconfig files (merged the way
// kubectl merges KUBECONFIG) and the in-cluster service account.
//
// Pure parsing lives in parse_kubeconfig()/merge; only the load_* functions read files or the
// environment. Credentials never appear in error messages.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::kube {

// A bearer token that may come from a file which is rotated underneath us (projected service
// account tokens are replaced about hourly). current() re-reads the file whenever its identity
// (inode, size, mtime) changes, and at least every `max_age` so an in-place rewrite within the
// same second is still seen.
class TokenSource {
 public:
  static std::shared_ptr<TokenSource> fixed(std::string token);
  static std::shared_ptr<TokenSource> file(std::string path,
                                           std::chrono::seconds max_age = std::chrono::seconds(60));
  // The token to send; an error when the file cannot be read (naming the file, not its content).
  Result<std::string> current();
  // Forces the next current() to re-read the file (after a 401, say).
  void invalidate();
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::string token_;
  std::string path_;  // empty for a fixed token
  std::chrono::seconds max_age_{60};
  std::chrono::steady_clock::time_point read_at_{};
  struct Identity {
    unsigned long long inode = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const Identity&) const = default;
  };
  std::optional<Identity> identity_;
};

struct Config {
  std::string server;  // "https://host:port", no trailing slash
  std::string ca_pem;  // trusted CA for the server (PEM text); empty = system roots
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // SNI/verified name when it differs from the URL's host
  std::string cert_pem, key_pem;  // client certificate auth
  std::shared_ptr<TokenSource> token;  // bearer auth; null when none
  std::string username, password;      // basic auth (rare; kept for completeness)
  std::string namespace_name = "default";  // the context's namespace, or the pod's
  std::string context;                     // which kubeconfig context was used; "" in-cluster
};

// --- kubeconfig -------------------------------------------------------------------------------

// One kubeconfig file, as parsed; relative paths already resolved against the file's directory.
struct KubeconfigCluster {
  std::string server, certificate_authority, certificate_authority_data, tls_server_name;
  bool insecure_skip_tls_verify = false;
};
struct KubeconfigUser {
  std::string token, token_file, client_certificate, client_certificate_data, client_key,
      client_key_data, username, password;
  bool has_exec = false, has_auth_provider = false;
};
struct KubeconfigContext {
  std::string cluster, user, namespace_name;
};
template <class T>
struct Named {
  std::string name;
  T value;
};
struct Kubeconfig {
  std::string current_context;
  std::vector<Named<KubeconfigCluster>> clusters;
  std::vector<Named<KubeconfigUser>> users;
  std::vector<Named<KubeconfigContext>> contexts;
};

// Parses one kubeconfig document. `base_dir` resolves relative file references, as kubectl does
// relative to the file that contains them. `origin` names the file in errors.
Result<Kubeconfig> parse_kubeconfig(std::string_view yaml, const std::string& base_dir,
                                    const std::string& origin = "kubeconfig");
// kubectl's KUBECONFIG merge: for every map (clusters, users, contexts) the first file that
// defines a name wins, and the first non-empty current-context wins.
Kubeconfig merge_kubeconfigs(const std::vector<Kubeconfig>& files);
// Selects `context` (or current-context when empty) and reads referenced files into a Config.
Result<Config> resolve_kubeconfig(const Kubeconfig& merged, const std::string& context = "");

// Splits a KUBECONFIG value on ':' (empty entries dropped, duplicates dropped after the first).
std::vector<std::string> split_kubeconfig_paths(std::string_view value);
// Loads and merges files; a missing file is skipped as kubectl does, unless none exists.
Result<Config> load_kubeconfig(const std::vector<std::string>& paths, const std::string& context = "");

// --- in-cluster -------------------------------------------------------------------------------

struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};
// From KUBERNETES_SERVICE_HOST/PORT (passed in so tests need no environment) and the mounted
// service account. The token is re-read when it rotates.
Result<Config> in_cluster_config(std::string_view host, std::string_view port,
                                 const InClusterPaths& paths = {});
// Reads the two variables from the environment.
Result<Config> load_in_cluster_config(const InClusterPaths& paths = {});

// The usual order: an explicit kubeconfig path, else $KUBECONFIG, else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
Result<Config> load_config(const std::string& explicit_kubeconfig = "", const std::string& context = "");

}  // namespace ebb::kube
