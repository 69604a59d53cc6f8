#include "ebb/kube/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <exception>

#include "encoding.h"
#include "ebb/strings.h"

namespace ebb::kube {

// --- TokenSource ------------------------------------------------------------------------------

std::shared_ptr<TokenSource> TokenSource::fixed(std::string token) {
  auto source = std::make_shared<TokenSource>();
  source->token_ = std::move(token);
  return source;
}

std::shared_ptr<TokenSource> TokenSource::file(std::string path, std::chrono::seconds max_age) {
  auto source = std::make_shared<TokenSource>();
  source->path_ = std::move(path);
  source->max_age_ = max_age;
  return source;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  identity_.reset();
}

Result<std::string> TokenSource::current() {
  std::lock_guard lock(mutex_);
  if (path_.empty()) return token_;
  // stat() follows the ..data symlink that kubelet swaps atomically on rotation.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (!token_.empty()) return token_;  // keep the last good token through a brief swap
    return fail("cannot read token file " + path_);
  }
  const Identity now_identity{static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_size),
                              static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
  const auto now = std::chrono::steady_clock::now();
  if (identity_ && *identity_ == now_identity && now - read_at_ < max_age_) return token_;
  auto content = detail::read_file(path_);
  if (!content) {
    if (!token_.empty()) return token_;
    return fail("cannot read token file " + path_);
  }
  token_ = std::string(trim(*content));
  identity_ = now_identity;
  read_at_ = now;
  return token_;
}

// --- kubeconfig parsing -----------------------------------------------------------------------

namespace {

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

std::string scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return {};
  return value.as<std::string>();
}

bool boolean(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return false;
  const std::string text = to_lower(value.as<std::string>());
  return text == "true" || text == "yes" || text == "1";
}

template <class T, class F>
Result<std::vector<Named<T>>> named_list(const YAML::Node& root, const char* list_key, const char* item_key,
                                         const std::string& origin, F&& parse_item) {
  std::vector<Named<T>> out;
  const YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) return fail(origin + ": " + list_key + " must be a list");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string where = origin + ": " + list_key + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) return fail(where + " must be a mapping");
    Named<T> named;
    named.name = scalar(item, "name");
    if (named.name.empty()) return fail(where + ": name is required");
    const YAML::Node body = item[item_key];
    if (body && !body.IsNull()) {
      if (!body.IsMap()) return fail(where + "." + item_key + " must be a mapping");
      named.value = parse_item(body);
    }
    out.push_back(std::move(named));
  }
  return out;
}

}  // namespace

Result<Kubeconfig> parse_kubeconfig(std::string_view yaml, const std::string& base_dir, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // e.what() quotes only the location and the parser's complaint, never a value.
    return fail(origin + ": invalid YAML: " + e.msg + " at line " + std::to_string(e.mark.line + 1));
  }
  Kubeconfig config;
  if (!root || root.IsNull()) return config;  // an empty file is a valid, empty kubeconfig
  if (!root.IsMap()) return fail(origin + ": not a kubeconfig (top level is not a mapping)");
  try {
    config.current_context = scalar(root, "current-context");
    auto clusters = named_list<KubeconfigCluster>(root, "clusters", "cluster", origin, [&](const YAML::Node& n) {
      KubeconfigCluster c;
      c.server = scalar(n, "server");
      c.certificate_authority = resolve_path(base_dir, scalar(n, "certificate-authority"));
      c.certificate_authority_data = scalar(n, "certificate-authority-data");
      c.tls_server_name = scalar(n, "tls-server-name");
      c.insecure_skip_tls_verify = boolean(n, "insecure-skip-tls-verify");
      return c;
    });
    if (!clusters) return unexpected(clusters.error());
    config.clusters = std::move(*clusters);
    auto users = named_list<KubeconfigUser>(root, "users", "user", origin, [&](const YAML::Node& n) {
      KubeconfigUser u;
      u.token = scalar(n, "token");
      u.token_file = resolve_path(base_dir, scalar(n, "tokenFile"));
      u.client_certificate = resolve_path(base_dir, scalar(n, "client-certificate"));
      u.client_certificate_data = scalar(n, "client-certificate-data");
      u.client_key = resolve_path(base_dir, scalar(n, "client-key"));
      u.client_key_data = scalar(n, "client-key-data");
      u.username = scalar(n, "username");
      u.password = scalar(n, "password");
      u.has_exec = static_cast<bool>(n["exec"]) && !n["exec"].IsNull();
      u.has_auth_provider = static_cast<bool>(n["auth-provider"]) && !n["auth-provider"].IsNull();
      return u;
    });
    if (!users) return unexpected(users.error());
    config.users = std::move(*users);
    auto contexts = named_list<KubeconfigContext>(root, "contexts", "context", origin, [&](const YAML::Node& n) {
      return KubeconfigContext{scalar(n, "cluster"), scalar(n, "user"), scalar(n, "namespace")};
    });
    if (!contexts) return unexpected(contexts.error());
    config.contexts = std::move(*contexts);
  } catch (const YAML::Exception& e) {
    return fail(origin + ": invalid kubeconfig: " + e.msg);
  }
  return config;
}

Kubeconfig merge_kubeconfigs(const std::vector<Kubeconfig>& files) {
  Kubeconfig merged;
  const auto add = [](auto& into, const auto& from) {
    for (const auto& item : from) {
      const bool known = std::any_of(into.begin(), into.end(), [&](const auto& e) { return e.name == item.name; });
      if (!known) into.push_back(item);
    }
  };
  for (const auto& file : files) {
    if (merged.current_context.empty()) merged.current_context = file.current_context;
    add(merged.clusters, file.clusters);
    add(merged.users, file.users);
    add(merged.contexts, file.contexts);
  }
  return merged;
}

namespace {

template <class T>
const T* find_named(const std::vector<Named<T>>& list, const std::string& name) {
  for (const auto& item : list) {
    if (item.name == name) return &item.value;
  }
  return nullptr;
}

// Inline data wins over a file reference, as in kubectl.
Result<std::string> data_or_file(const std::string& data, const std::string& file, const std::string& what) {
  if (!data.empty()) {
    auto decoded = detail::base64_decode(data);
    if (!decoded) return fail(what + "-data is not valid base64");
    return *decoded;
  }
  if (!file.empty()) {
    auto content = detail::read_file(file);
    if (!content) return fail(what + ": " + content.error().message);
    return *content;
  }
  return std::string();
}

}  // namespace

Result<Config> resolve_kubeconfig(const Kubeconfig& merged, const std::string& context) {
  const std::string context_name = context.empty() ? merged.current_context : context;
  if (context_name.empty()) return fail("kubeconfig: no current-context is set and no context was given");
  const KubeconfigContext* ctx = find_named(merged.contexts, context_name);
  if (ctx == nullptr) return fail("kubeconfig: context " + ebb::quoted(context_name) + " not found");
  const KubeconfigCluster* cluster = find_named(merged.clusters, ctx->cluster);
  if (cluster == nullptr) {
    return fail("kubeconfig: cluster " + ebb::quoted(ctx->cluster) + " of context " + ebb::quoted(context_name) + " not found");
  }
  if (cluster->server.empty()) return fail("kubeconfig: cluster " + ebb::quoted(ctx->cluster) + " has no server");

  Config config;
  config.context = context_name;
  config.server = cluster->server;
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  config.insecure_skip_tls_verify = cluster->insecure_skip_tls_verify;
  config.tls_server_name = cluster->tls_server_name;
  if (!ctx->namespace_name.empty()) config.namespace_name = ctx->namespace_name;
  auto ca = data_or_file(cluster->certificate_authority_data, cluster->certificate_authority,
                         "cluster " + ebb::quoted(ctx->cluster) + " certificate-authority");
  if (!ca) return unexpected(ca.error());
  config.ca_pem = std::move(*ca);

  if (!ctx->user.empty()) {
    const KubeconfigUser* user = find_named(merged.users, ctx->user);
    if (user == nullptr) {
      return fail("kubeconfig: user " + ebb::quoted(ctx->user) + " of context " + ebb::quoted(context_name) + " not found");
    }
    const std::string who = "user " + ebb::quoted(ctx->user);
    if (!user->token.empty()) {
      config.token = TokenSource::fixed(user->token);
    } else if (!user->token_file.empty()) {
      config.token = TokenSource::file(user->token_file);
    } else if (user->has_exec || user->has_auth_provider) {
      if (user->client_certificate.empty() && user->client_certificate_data.empty()) {
        return fail("kubeconfig: " + who + " uses an exec or auth-provider plugin, which Ebb does not run; "
                    "use a token, tokenFile or client certificate");
      }
    }
    auto cert = data_or_file(user->client_certificate_data, user->client_certificate, who + " client-certificate");
    if (!cert) return unexpected(cert.error());
    auto key = data_or_file(user->client_key_data, user->client_key, who + " client-key");
    if (!key) return unexpected(key.error());
    if (cert->empty() != key->empty()) {
      return fail("kubeconfig: " + who + " needs both a client certificate and a client key");
    }
    config.cert_pem = std::move(*cert);
    config.key_pem = std::move(*key);
    config.username = user->username;
    config.password = user->password;
  }
  return config;
}

std::vector<std::string> split_kubeconfig_paths(std::string_view value) {
  std::vector<std::string> paths;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto end = std::min(value.find(':', start), value.size());
    std::string path(trim(value.substr(start, end - start)));
    if (!path.empty() && std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
    start = end + 1;
  }
  return paths;
}

Result<Config> load_kubeconfig(const std::vector<std::string>& paths, const std::string& context) {
  std::vector<Kubeconfig> files;
  for (const auto& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;  // kubectl ignores missing files in KUBECONFIG
    auto text = detail::read_file(path);
    if (!text) return unexpected(text.error());
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    auto parsed = parse_kubeconfig(*text, dir, path);
    if (!parsed) return unexpected(parsed.error());
    files.push_back(std::move(*parsed));
  }
  if (files.empty()) return fail("no kubeconfig found at " + join(paths, ", "));
  return resolve_kubeconfig(merge_kubeconfigs(files), context);
}

Result<Config> in_cluster_config(std::string_view host, std::string_view port, const InClusterPaths& paths) {
  if (host.empty() || port.empty()) {
    return fail("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  Config config;
  const bool ipv6 = host.find(':') != std::string_view::npos;
  config.server = "https://" + (ipv6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::string(port);
  auto token = TokenSource::file(paths.token_file);
  if (auto first = token->current(); !first) return unexpected(first.error());
  config.token = std::move(token);
  auto ca = detail::read_file(paths.ca_file);
  if (!ca) return fail("in-cluster CA: " + ca.error().message);
  config.ca_pem = std::move(*ca);
  if (auto ns = detail::read_file(paths.namespace_file); ns && !trim(*ns).empty()) {
    config.namespace_name = std::string(trim(*ns));
  }
  return config;
}

Result<Config> load_in_cluster_config(const InClusterPaths& paths) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return in_cluster_config(host ? host : "", port ? port : "", paths);
}

Result<Config> load_config(const std::string& explicit_kubeconfig, const std::string& context) {
  if (!explicit_kubeconfig.empty()) return load_kubeconfig({explicit_kubeconfig}, context);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    return load_kubeconfig(split_kubeconfig_paths(env), context);
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host != nullptr && *host != '\0') {
    return load_in_cluster_config();
  }
  const char* home = std::getenv("HOME");
  return load_kubeconfig({std::string(home ? home : "") + "/.kube/config"}, context);
}

}  // namespace ebb::kube
