#include "http/auth.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"

namespace ebb::scalers::http {
namespace {

using params::A;
using params::M;
using params::path_of;

std::string presence(const std::string& value) { return value.empty() ? "<empty>" : "<present>"; }

// Form encoding of a "k=v&k2=v2" url.Values text: each key and value decoded (as Go's
// ParseQuery does: percent_decode with plus_as_space) then query-escaped again, so a value given
// pre-encoded and one given plain end up alike on the wire.
void append_form(std::string& body, std::string_view key, std::string_view value) {
  if (!body.empty()) body += '&';
  body += query_escape(key);
  body += '=';
  body += query_escape(value);
}

std::string grant_key(const OAuthTokens::Grant& g) {
  std::string key;
  for (std::string_view f : {std::string_view(g.token_uri), std::string_view(g.client_id),
                             std::string_view(g.client_secret), std::string_view(g.endpoint_params)})
    append_key_field(key, f);
  for (const auto& s : g.scopes) append_key_field(key, s);
  return key;
}

struct TokenAnswer {
  std::string access_token;
  std::optional<std::chrono::seconds> expires_in;
};

// RFC 6749 §5.1 as JSON, or the form-encoded answer some servers give.
Result<TokenAnswer> parse_token_answer(const net::HttpResponse& response) {
  TokenAnswer answer;
  const auto type = to_lower(response.header("Content-Type"));
  if (type.find("application/x-www-form-urlencoded") != std::string::npos ||
      type.find("text/plain") != std::string::npos) {
    for (const auto& pair : split(response.body, '&')) {
      const auto eq = pair.find('=');
      if (eq == std::string::npos) continue;
      const auto key = percent_decode(pair.substr(0, eq), true);
      const auto value = percent_decode(pair.substr(eq + 1), true);
      if (key == "access_token") answer.access_token = value;
      if (key == "expires_in" && !value.empty())
        answer.expires_in = std::chrono::seconds(std::strtoll(value.c_str(), nullptr, 10));
    }
  } else {
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return fail("the token endpoint answered something that is not JSON");
    if (auto it = json.find("access_token"); it != json.end() && it->is_string()) answer.access_token = *it;
    if (auto it = json.find("expires_in"); it != json.end()) {
      if (it->is_number()) answer.expires_in = std::chrono::seconds(it->get<std::int64_t>());
      if (it->is_string() && !it->get<std::string>().empty())
        answer.expires_in = std::chrono::seconds(std::strtoll(it->get<std::string>().c_str(), nullptr, 10));
    }
  }
  if (answer.access_token.empty()) return fail("the token endpoint's answer holds no access_token");
  return answer;
}

}  // namespace

bool AuthParams::has_mode(std::string_view mode) const {
  return std::find(auth_modes.begin(), auth_modes.end(), mode) != auth_modes.end();
}

FieldErrors validate_auth(const TriggerContext& ctx, const AuthParams& a) {
  const auto exclusive = std::count_if(a.auth_modes.begin(), a.auth_modes.end(), [](const std::string& m) {
    return m == "bearer" || m == "basic" || m == "oauth";
  });
  if (exclusive > 1)
    return {{path_of(ctx, "authModes;authMode", {M, A}),
             "must contain only one of [bearer, basic, oauth], got " + ebb::quoted(join(a.auth_modes, ","))}};
  // KEDA's Config.Validate: the first failure, in its order.
  if (a.has_mode("bearer") && a.bearer_token.empty())
    return {{path_of(ctx, "bearerToken;token", {A}), "bearer token=<empty> is required when bearer auth is enabled"}};
  if (a.has_mode("basic") && a.username.empty())
    return {{path_of(ctx, "username", {A}), "username=<empty> is required when basic auth is enabled"}};
  if (a.has_mode("tls") && (a.cert.empty() || a.key.empty()))
    return {{path_of(ctx, a.cert.empty() ? "cert" : "key", {A}),
             "cert=" + presence(a.cert) + " and key=" + presence(a.key) + " are required when tls auth is enabled"}};
  if (a.has_mode("oauth") && (a.oauth_token_uri.empty() || a.client_id.empty()))
    return {{path_of(ctx, a.oauth_token_uri.empty() ? "oauthTokenURI" : "clientID", {A}),
             "oauthTokenURI=" + presence(a.oauth_token_uri) + " and clientID=" + presence(a.client_id) +
                 " are required when oauth is enabled"}};
  if (a.has_mode("custom") && (a.custom_auth_header.empty() || a.custom_auth_value.empty()))
    return {{path_of(ctx, a.custom_auth_header.empty() ? "customAuthHeader" : "customAuthValue", {A}),
             "customAuthHeader=" + presence(a.custom_auth_header) + " and customAuthValue=" +
                 presence(a.custom_auth_value) + " are required when custom auth is enabled"}};
  if (a.has_mode("apiKey") && a.api_key.empty())
    return {{path_of(ctx, "apiKey", {M, A}), "apiKey is required when apiKey auth is enabled"}};
  return {};
}

net::TlsOptions auth_tls(const AuthParams& a, net::TlsOptions base) {
  if (a.has_mode("tls")) {
    base.cert_pem = a.cert;
    base.key_pem = a.key;
  }
  if (!a.ca.empty()) base.ca_pem = a.ca;
  return base;
}

// ---------------------------------------------------------------------------------------------
// OAuth2 client credentials

std::shared_ptr<OAuthTokens::Entry> OAuthTokens::entry(const Grant& grant) {
  std::lock_guard lock(mutex_);
  auto& slot = entries_[grant_key(grant)];
  if (!slot) slot = std::make_shared<Entry>();
  return slot;
}

void OAuthTokens::invalidate(const Grant& grant) {
  auto e = entry(grant);
  std::lock_guard lock(e->fetch);
  e->token.clear();
  e->expires.reset();
}

Result<std::string> OAuthTokens::token(const Grant& grant, net::HttpClient& client, std::chrono::milliseconds timeout) {
  auto e = entry(grant);
  std::lock_guard lock(e->fetch);
  const auto now = std::chrono::steady_clock::now();
  // Refresh 10 s before expiry, as golang.org/x/oauth2 does.
  if (!e->token.empty() && (!e->expires || *e->expires - std::chrono::seconds(10) > now)) return e->token;

  std::string form;
  append_form(form, "grant_type", "client_credentials");
  std::vector<std::string> scopes;
  for (const auto& s : grant.scopes)
    if (!trim(s).empty()) scopes.emplace_back(trim(s));
  if (!scopes.empty()) append_form(form, "scope", join(scopes, " "));
  for (const auto& pair : split(grant.endpoint_params, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    append_form(form, percent_decode(pair.substr(0, eq), true),
                eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1), true));
  }
  // golang.org/x/oauth2's auto-detection: the client credentials in a Basic header first; a
  // server that refuses them there gets them in the form instead.
  const std::string endpoint = net::redact_url(grant.token_uri);
  auto request_with = [&](bool in_header) -> Result<net::HttpResponse> {
    net::HttpRequest request;
    request.method = "POST";
    request.url = grant.token_uri;
    request.timeout = timeout;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    request.body = form;
    if (in_header) {
      request.headers.emplace_back(
          "Authorization", "Basic " + base64_encode(query_escape(grant.client_id) + ":" + query_escape(grant.client_secret)));
    } else {
      append_form(request.body, "client_id", grant.client_id);
      if (!grant.client_secret.empty()) append_form(request.body, "client_secret", grant.client_secret);
    }
    return client.send(request);
  };
  auto response = request_with(true);
  if (response && (response->status < 200 || response->status > 299)) {
    auto retry = request_with(false);
    if (retry) response = std::move(retry);
  }
  if (!response) return fail("OAuth2 token endpoint " + endpoint + ": " + response.error().message, true);
  if (response->status < 200 || response->status > 299)
    return fail("OAuth2 token endpoint " + endpoint + " answered " + std::to_string(response->status), true);
  auto answer = parse_token_answer(*response);
  if (!answer) return fail("OAuth2 token endpoint " + endpoint + ": " + answer.error().message, true);
  e->token = answer->access_token;
  e->expires.reset();
  if (answer->expires_in && answer->expires_in->count() > 0) e->expires = now + *answer->expires_in;
  return e->token;
}

// ---------------------------------------------------------------------------------------------

std::optional<Authenticator> authenticator_for(const AuthParams& a, ConnectionPools& pools) {
  if (a.auth_modes.empty()) return std::nullopt;
  return Authenticator(a, pools.get<OAuthTokens>());
}

Authenticator::Authenticator(AuthParams params, OAuthTokens& tokens)
    : p_(std::move(params)),
      tokens_(tokens),
      grant_{p_.oauth_token_uri, p_.client_id, p_.client_secret, p_.scopes, p_.endpoint_params} {}

Result<void> Authenticator::apply(net::HttpRequest& request, net::HttpClient& client, std::chrono::milliseconds timeout) {
  auto set = [&](const std::string& name, const std::string& value) {
    std::erase_if(request.headers, [&](const auto& h) { return iequals(h.first, name); });
    request.headers.emplace_back(name, value);
  };
  if (p_.has_mode("apiKey")) {
    if (p_.method == "query") {
      const auto name = p_.key_param_name.empty() ? std::string("api_key") : p_.key_param_name;
      request.url += (request.url.find('?') == std::string::npos ? "?" : "&") + query_escape(name) + "=" +
                     query_escape(p_.api_key);
    } else {
      set(p_.key_param_name.empty() ? "X-API-KEY" : p_.key_param_name, p_.api_key);
    }
  }
  if (p_.has_mode("custom")) set(p_.custom_auth_header, p_.custom_auth_value);
  if (p_.has_mode("basic")) set("Authorization", "Basic " + base64_encode(p_.username + ":" + p_.password));
  if (p_.has_mode("bearer")) set("Authorization", "Bearer " + p_.bearer_token);
  if (p_.has_mode("oauth")) {
    auto token = tokens_.token(grant_, client, timeout);
    if (!token) return unexpected(token.error());
    set("Authorization", "Bearer " + *token);
  }
  return {};
}

void Authenticator::unauthorized() {
  if (p_.has_mode("oauth")) tokens_.invalidate(grant_);
}

}  // namespace ebb::scalers::http
