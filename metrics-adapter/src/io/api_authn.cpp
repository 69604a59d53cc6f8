// Authentication of the external metrics API (see external_metrics_api.h): the front proxy's
// request headers, trusted only behind a verified front-proxy certificate with an allowed name,
// then direct client certificates; and the merge of the extension-apiserver-authentication
// ConfigMap under the flags.
#include <algorithm>
#include <cctype>

#include "ebb/adapter/external_metrics_api.h"
#include "ebb/strings.h"

namespace ebb::adapter {

namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Extra keys travel in header names, which cannot hold every character a key may have, so the
// front proxy percent-encodes them; Kubernetes lower-cases and then decodes them.
std::string extra_key(std::string_view raw) {
  const std::string lower = to_lower(raw);
  std::string out;
  for (std::size_t i = 0; i < lower.size(); ++i) {
    if (lower[i] == '%' && i + 2 < lower.size()) {
      const int hi = hex_digit(lower[i + 1]), lo = hex_digit(lower[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(lower[i]);
  }
  return out;
}

Result<UserInfo> front_proxy_user(const AuthenticationConfig& config,
                                  const net::ServerRequest& request) {
  const net::PeerCertificate& peer = *request.peer;
  if (!config.requestheader_allowed_names.empty() &&
      std::find(config.requestheader_allowed_names.begin(),
                config.requestheader_allowed_names.end(),
                peer.common_name) == config.requestheader_allowed_names.end()) {
    return fail("front-proxy client certificate " + ebb::quoted(peer.common_name) +
                " is not in requestheader-allowed-names");
  }
  UserInfo user;
  for (const auto& name : config.username_headers) {
    for (const auto& value : request.header_values(name)) {
      if (!value.empty()) {
        user.name = value;
        break;
      }
    }
    if (!user.name.empty()) break;
  }
  if (user.name.empty()) return fail("front-proxy request without a username header");
  for (const auto& name : config.group_headers) {
    for (const auto& value : request.header_values(name)) {
      if (!value.empty()) user.groups.push_back(value);
    }
  }
  for (const auto& [header, value] : request.headers) {
    for (const auto& prefix : config.extra_headers_prefix) {
      if (prefix.empty() || header.size() <= prefix.size() || !starts_with_ci(header, prefix))
        continue;
      if (value.empty()) break;
      user.extra[extra_key(std::string_view(header).substr(prefix.size()))].push_back(value);
      break;
    }
  }
  return user;
}

}  // namespace

Result<UserInfo> authenticate(const AuthenticationConfig& config,
                              const net::ServerRequest& request) {
  if (!request.peer) return fail("no client certificate");
  const net::PeerCertificate& peer = *request.peer;
  // As Kubernetes' union of authenticators: a front-proxy certificate that does not yield a user
  // (name not allowed, no username header) is not an identity; the next authenticator may still
  // accept the certificate when the client CA also signed it.
  std::string problem = "client certificate not verified by a trusted CA";
  if (!config.requestheader_client_ca_pem.empty() &&
      peer.verified_by_bundle(kRequestHeaderBundle)) {
    auto user = front_proxy_user(config, request);
    if (user) return user;
    problem = user.error().message;
  }
  if (!config.client_ca_pem.empty() && peer.verified_by_bundle(kClientCaBundle)) {
    if (peer.common_name.empty()) return fail("client certificate without a common name");
    UserInfo user;
    user.name = peer.common_name;
    user.groups = peer.organizations;
    return user;
  }
  return fail(problem);
}

namespace {

// The ConfigMap's string value for `key`, or nullopt when absent or empty.
Result<std::optional<std::string>> data_string(const kube::Object& data, const char* key) {
  if (!data.is_object() || !data.contains(key) || data.at(key).is_null())
    return std::optional<std::string>{};
  const auto& value = data.at(key);
  if (!value.is_string())
    return fail(std::string("extension-apiserver-authentication: ") + key + " is not a string");
  const auto& text = value.get_ref<const std::string&>();
  if (trim(text).empty()) return std::optional<std::string>{};
  return std::optional<std::string>{text};
}

// List values are JSON arrays of strings, as kube-apiserver writes them ("[\"X-Remote-User\"]").
Result<std::optional<std::vector<std::string>>> data_list(const kube::Object& data,
                                                          const char* key) {
  auto text = data_string(data, key);
  if (!text) return unexpected(text.error());
  if (!*text) return std::optional<std::vector<std::string>>{};
  const std::string what = std::string("extension-apiserver-authentication: ") + key;
  auto parsed = nlohmann::json::parse(**text, nullptr, false);
  if (parsed.is_discarded()) return fail(what + " is not a JSON array of strings");
  if (parsed.is_null()) return std::optional<std::vector<std::string>>{std::vector<std::string>{}};
  if (!parsed.is_array()) return fail(what + " is not a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& item : parsed) {
    if (!item.is_string()) return fail(what + " is not a JSON array of strings");
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

}  // namespace

Result<AuthenticationConfig> merge_authentication_configmap(const kube::Object& configmap_data,
                                                            const AuthenticationConfig& flags) {
  // A whole ConfigMap is accepted too: its data is what counts.
  const kube::Object& data = configmap_data.is_object() &&
                                     configmap_data.value("kind", "") == "ConfigMap" &&
                                     configmap_data.contains("data")
                                 ? configmap_data.at("data")
                                 : configmap_data;
  if (!data.is_null() && !data.is_object())
    return fail("extension-apiserver-authentication: data is not an object");

  AuthenticationConfig out = flags;
  auto client_ca = data_string(data, "client-ca-file");
  if (!client_ca) return unexpected(client_ca.error());
  if (out.client_ca_pem.empty() && *client_ca) out.client_ca_pem = **client_ca;

  auto requestheader_ca = data_string(data, "requestheader-client-ca-file");
  if (!requestheader_ca) return unexpected(requestheader_ca.error());
  if (out.requestheader_client_ca_pem.empty() && *requestheader_ca) {
    out.requestheader_client_ca_pem = **requestheader_ca;
  }

  auto allowed = data_list(data, "requestheader-allowed-names");
  if (!allowed) return unexpected(allowed.error());
  if (out.requestheader_allowed_names.empty() && *allowed)
    out.requestheader_allowed_names = **allowed;

  // The header-name flags always have a value (their defaults), so a flag still at its default
  // counts as not given: the ConfigMap's list (what kube-apiserver's front proxy really sends)
  // then applies.
  const AuthenticationConfig defaults;
  struct ListField {
    const char* key;
    std::vector<std::string> AuthenticationConfig::*field;
  };
  for (const ListField& f :
       {ListField{"requestheader-username-headers", &AuthenticationConfig::username_headers},
        ListField{"requestheader-group-headers", &AuthenticationConfig::group_headers},
        ListField{"requestheader-extra-headers-prefix",
                  &AuthenticationConfig::extra_headers_prefix}}) {
    auto list = data_list(data, f.key);
    if (!list) return unexpected(list.error());
    const bool flag_given = !(out.*f.field).empty() && out.*f.field != defaults.*f.field;
    if (!flag_given && *list && !(*list)->empty()) out.*f.field = **list;
  }
  return out;
}

}  // namespace ebb::adapter
