// KEDA's `authModes` for HTTP scalers (pkg/scalers/authentication, keda-compat §6.0): apiKey,
// basic, bearer, tls, custom and oauth (client credentials), with their parameters, KEDA's
// validation, and one way to apply them to a request that every HTTP scaler uses.
//
// A scaler's config derives from AuthParams and calls add_auth_params() on its table, then
// validate_auth() after parsing; at poll time an Authenticator adds what the modes ask for.
//
// Where Ebb goes beyond KEDA, on purpose (docs/compatibility.md): every accepted mode is
// applied. KEDA parses `oauth` in prometheus and metrics-api but sends no token, ignores
// `apiKey` in prometheus and `custom` in metrics-api, and drops a custom header next to
// bearer or basic; a user who configured them wants them sent.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/net/http_client.h"
#include "ebb/result.h"
#include "ebb/scalers/params.h"

namespace ebb::scalers {
class ConnectionPools;
}

namespace ebb::scalers::http {

struct AuthParams {
  std::vector<std::string> auth_modes;  // authModes;authMode
  std::string bearer_token;             // bearerToken;token
  std::string username, password;
  std::string cert, key, ca;  // PEM texts
  std::string oauth_token_uri;
  std::vector<std::string> scopes;  // scopes;scope
  std::string client_id, client_secret;
  std::string endpoint_params;  // "k=v&k2=v2" (url.Values)
  std::string custom_auth_header, custom_auth_value;
  std::string api_key;
  std::string method = "header";  // apiKey in a "header" or the "query"
  std::string key_param_name;     // header or query parameter name for apiKey

  bool has_mode(std::string_view mode) const;
};

// KEDA's sources and names: authModes, apiKey, method and keyParamName from trigger metadata
// then auth params; everything else from auth params only (a credential in plain metadata is
// ignored, as in KEDA).
template <class Config>
void add_auth_params(params::Table<Config>& t) {
  using namespace params;
  using Strings = std::vector<std::string>;
  const Options optional{.optional = true};
  const Options secret{.optional = true, .secret = true};
  t.template add<Strings>(&Config::auth_modes, "authModes;authMode", {M, A},
                          {.optional = true, .one_of = {"apiKey", "basic", "tls", "bearer", "custom", "oauth"}});
  t.template add<std::string>(&Config::bearer_token, "bearerToken;token", {A}, secret);
  t.template add<std::string>(&Config::username, "username", {A}, optional);
  t.template add<std::string>(&Config::password, "password", {A}, secret);
  t.template add<std::string>(&Config::cert, "cert", {A}, optional);
  t.template add<std::string>(&Config::key, "key", {A}, secret);
  t.template add<std::string>(&Config::ca, "ca", {A}, optional);
  t.template add<std::string>(&Config::oauth_token_uri, "oauthTokenURI", {A}, optional);
  t.template add<Strings>(&Config::scopes, "scopes;scope", {A}, optional);
  t.template add<std::string>(&Config::client_id, "clientID", {A}, optional);
  t.template add<std::string>(&Config::client_secret, "clientSecret", {A}, secret);
  t.template add<std::string>(&Config::endpoint_params, "endpointParams", {A}, optional);
  t.template add<std::string>(&Config::custom_auth_header, "customAuthHeader", {A}, optional);
  t.template add<std::string>(&Config::custom_auth_value, "customAuthValue", {A}, secret);
  t.template add<std::string>(&Config::api_key, "apiKey", {M, A}, secret);
  t.template add<std::string>(&Config::method, "method", {M, A}, {.default_value = "header", .one_of = {"header", "query"}});
  t.template add<std::string>(&Config::key_param_name, "keyParamName", {M, A}, optional);
}

// KEDA's Config.Validate (the first failure, in its order) and its exclusive set: at most one
// of bearer, basic and oauth. Paths are where the parameter was found, else where it belongs.
FieldErrors validate_auth(const TriggerContext& ctx, const AuthParams& a);

// The client certificate of `tls` mode and the `ca` (whenever given) on top of `base`.
net::TlsOptions auth_tls(const AuthParams& a, net::TlsOptions base);

// Access tokens of OAuth2 client-credential grants, cached per credential (token URL, client
// id and secret, scopes, endpoint params) and shared by every trigger that uses the same
// credential, refreshed shortly before they expire or after the resource answered 401. Get it
// with pools.get<http::OAuthTokens>().
class OAuthTokens {
 public:
  struct Grant {
    std::string token_uri, client_id, client_secret;
    std::vector<std::string> scopes;
    std::string endpoint_params;
  };
  // A valid access token, fetched when none is cached or it expires within 10 s. Errors name
  // the token endpoint and the status, never the secret.
  Result<std::string> token(const Grant& grant, net::HttpClient& client, std::chrono::milliseconds timeout);
  // Drops the cached token (the resource refused it).
  void invalidate(const Grant& grant);

 private:
  struct Entry {
    std::mutex fetch;  // one fetch at a time per credential
    std::string token;
    std::optional<std::chrono::steady_clock::time_point> expires;
  };
  std::shared_ptr<Entry> entry(const Grant& grant);
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

// Applies a trigger's authModes to its requests.
class Authenticator {
 public:
  Authenticator(AuthParams params, OAuthTokens& tokens);
  // Adds the headers (and for apiKey with method query, the query parameter) the modes ask for;
  // for oauth, fetches or reuses the access token through `client`.
  Result<void> apply(net::HttpRequest& request, net::HttpClient& client, std::chrono::milliseconds timeout);
  // The resource answered 401: the next apply() fetches a new OAuth token.
  void unauthorized();

 private:
  AuthParams p_;
  OAuthTokens& tokens_;
  OAuthTokens::Grant grant_;
};

// The Authenticator of a trigger's authModes, on the process's shared token cache
// (pools.get<OAuthTokens>()); none when the trigger names no authModes.
std::optional<Authenticator> authenticator_for(const AuthParams& a, ConnectionPools& pools);

}  // namespace ebb::scalers::http
