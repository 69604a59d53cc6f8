// The HTTP side shared by HTTP scalers (http/client.h, http/auth.h): KEDA's environment
// variables, the effective timeout, authModes validation (KEDA's texts) and how each mode is
// applied, and OAuth2 client credentials against a token endpoint served over real HTTP.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <thread>

#include "ebb/net/http_server.h"
#include "ebb/scalers/params.h"
#include "ebb/strings.h"
#include "http/auth.h"
#include "http/client.h"

using namespace ebb::scalers;
using namespace std::chrono_literals;

namespace {

http::Environment env_of(std::map<std::string, std::string> vars) {
  return http::Environment::from([&](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

struct AuthConfig : http::AuthParams {};

const params::Table<AuthConfig>& auth_table() {
  static const params::Table<AuthConfig> t = [] {
    params::Table<AuthConfig> table;
    http::add_auth_params(table);
    return table;
  }();
  return t;
}

// Parses metadata + auth params as a scaler would, then validates; every message, in order.
std::vector<std::string> auth_errors(std::map<std::string, std::string> metadata,
                                     std::map<std::string, std::string> auth = {}, AuthConfig* out = nullptr) {
  TriggerContext ctx;
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  AuthConfig c;
  auto errors = auth_table().parse(ctx, c);
  if (errors.empty()) errors = http::validate_auth(ctx, c);
  if (out) *out = c;
  std::vector<std::string> texts;
  for (const auto& e : errors) texts.push_back(e.str());
  return texts;
}

std::string header(const ebb::net::HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (ebb::iequals(k, name)) return v;
  return "";
}

}  // namespace

TEST_CASE("http: KEDA's environment variables, with invalid values kept at their defaults") {
  auto defaults = env_of({});
  CHECK(defaults.default_timeout == 3000ms);
  CHECK_FALSE(defaults.disable_keep_alive);
  CHECK_FALSE(defaults.tls13_minimum);
  CHECK(defaults.problems.empty());

  auto set = env_of({{"KEDA_HTTP_DEFAULT_TIMEOUT", "1500"},
                     {"KEDA_HTTP_DISABLE_KEEP_ALIVE", "T"},
                     {"KEDA_HTTP_MIN_TLS_VERSION", "TLS13"}});
  CHECK(set.default_timeout == 1500ms);
  CHECK(set.disable_keep_alive);
  CHECK(set.tls13_minimum);

  auto bad = env_of({{"KEDA_HTTP_DEFAULT_TIMEOUT", "3s"},
                     {"KEDA_HTTP_DISABLE_KEEP_ALIVE", "yes"},
                     {"KEDA_HTTP_MIN_TLS_VERSION", "TLS10"}});
  CHECK(bad.default_timeout == 3000ms);
  CHECK_FALSE(bad.disable_keep_alive);
  CHECK_FALSE(bad.tls13_minimum);
  REQUIRE(bad.problems.size() == 3);
  CHECK(bad.problems[0] == "KEDA_HTTP_DEFAULT_TIMEOUT=\"3s\" is not an integer number of milliseconds: using 3000");
  CHECK(bad.problems[2] == "KEDA_HTTP_MIN_TLS_VERSION=\"TLS10\": Ebb never speaks below TLS 1.2: using TLS12");
}

TEST_CASE("http: a trigger's own timeout wins, then KEDA_HTTP_DEFAULT_TIMEOUT, and 0 or less is 300 ms") {
  CHECK(http::effective_timeout(1500ms, env_of({})) == 1500ms);
  CHECK(http::effective_timeout(0ms, env_of({})) == 3000ms);
  CHECK(http::effective_timeout(0ms, env_of({{"KEDA_HTTP_DEFAULT_TIMEOUT", "700"}})) == 700ms);
  CHECK(http::effective_timeout(0ms, env_of({{"KEDA_HTTP_DEFAULT_TIMEOUT", "0"}})) == 300ms);
  CHECK(http::effective_timeout(0ms, env_of({{"KEDA_HTTP_DEFAULT_TIMEOUT", "-5"}})) == 300ms);
}

TEST_CASE("http: clients are shared per TLS configuration") {
  http::Clients clients;
  ebb::net::TlsOptions plain, insecure;
  insecure.insecure_skip_verify = true;
  auto a = clients.get(plain);
  CHECK(clients.get(plain) == a);
  CHECK(clients.get(insecure) != a);
}

TEST_CASE("http auth: KEDA's validation of authModes (authentication_types.go Validate)") {
  CHECK(auth_errors({}).empty());
  CHECK(auth_errors({{"authModes", "bearer"}}, {{"bearerToken", "t"}}).empty());
  CHECK(auth_errors({{"authModes", "bearer"}}) ==
        std::vector<std::string>{"authParams.bearerToken: bearer token=<empty> is required when bearer auth is enabled"});
  // A credential written in plain metadata is not read (auth params only, as KEDA).
  CHECK(auth_errors({{"authModes", "bearer"}, {"bearerToken", "t"}}).size() == 1);
  CHECK(auth_errors({{"authModes", "basic"}}) ==
        std::vector<std::string>{"authParams.username: username=<empty> is required when basic auth is enabled"});
  CHECK(auth_errors({{"authModes", "basic"}}, {{"username", "u"}}).empty());  // password may be empty
  CHECK(auth_errors({{"authModes", "tls"}}, {{"cert", "c"}}) ==
        std::vector<std::string>{"authParams.key: cert=<present> and key=<empty> are required when tls auth is enabled"});
  CHECK(auth_errors({{"authModes", "oauth"}}, {{"clientID", "id"}}) ==
        std::vector<std::string>{"authParams.oauthTokenURI: oauthTokenURI=<empty> and clientID=<present> are required "
                                 "when oauth is enabled"});
  CHECK(auth_errors({{"authModes", "custom"}}, {{"customAuthHeader", "X-Tenant"}}) ==
        std::vector<std::string>{"authParams.customAuthValue: customAuthHeader=<present> and customAuthValue=<empty> "
                                 "are required when custom auth is enabled"});
  CHECK(auth_errors({{"authModes", "apiKey"}}) ==
        std::vector<std::string>{"metadata.apiKey: apiKey is required when apiKey auth is enabled"});
  CHECK(auth_errors({{"authModes", "tls, basic"}}, {{"cert", "c"}, {"key", "k"}, {"username", "u"}}).empty());
  CHECK(auth_errors({{"authModes", "basic,bearer"}}, {{"username", "u"}, {"bearerToken", "t"}}) ==
        std::vector<std::string>{"metadata.authModes: must contain only one of [bearer, basic, oauth], got "
                                 "\"basic,bearer\""});
  CHECK(auth_errors({{"authMode", "basic,basic"}}, {{"username", "u"}}).size() == 1);
  CHECK(auth_errors({{"authModes", "digest"}}) ==
        std::vector<std::string>{"metadata.authModes: must be one of [apiKey, basic, tls, bearer, custom, oauth], got "
                                 "\"digest\""});
  // `method` is checked even without apiKey, as KEDA does.
  CHECK(auth_errors({{"method", "POST"}}) ==
        std::vector<std::string>{"metadata.method: must be one of [header, query], got \"POST\""});
}

TEST_CASE("http auth: each mode is applied to the request") {
  http::OAuthTokens tokens;
  ebb::net::HttpClient client;
  auto applied = [&](std::map<std::string, std::string> md, std::map<std::string, std::string> auth) {
    AuthConfig c;
    REQUIRE(auth_errors(std::move(md), std::move(auth), &c).empty());
    http::Authenticator authenticator(c, tokens);
    ebb::net::HttpRequest r;
    r.url = "http://example.invalid/api?x=1";
    r.headers = {{"Authorization", "stale"}};
    REQUIRE(authenticator.apply(r, client, 1s));
    return r;
  };
  auto bearer = applied({{"authModes", "bearer"}}, {{"token", "tok"}});
  CHECK(header(bearer, "Authorization") == "Bearer tok");
  CHECK(bearer.headers.size() == 1);  // replaced, not added
  auto basic = applied({{"authModes", "basic"}}, {{"username", "u"}, {"password", "p"}});
  CHECK(header(basic, "Authorization") == "Basic " + ebb::base64_encode("u:p"));
  auto custom = applied({{"authModes", "custom,bearer"}},
                        {{"customAuthHeader", "X-Tenant"}, {"customAuthValue", "t1"}, {"bearerToken", "tok"}});
  CHECK(header(custom, "X-Tenant") == "t1");  // beyond KEDA, which drops it next to bearer
  CHECK(header(custom, "Authorization") == "Bearer tok");
  auto key_header = applied({{"authModes", "apiKey"}}, {{"apiKey", "k"}});
  CHECK(header(key_header, "X-API-KEY") == "k");
  auto key_named = applied({{"authModes", "apiKey"}, {"keyParamName", "X-Key"}}, {{"apiKey", "k"}});
  CHECK(header(key_named, "X-Key") == "k");
  auto key_query = applied({{"authModes", "apiKey"}, {"method", "query"}}, {{"apiKey", "a b"}});
  CHECK(key_query.url == "http://example.invalid/api?x=1&api_key=a+b");
}

TEST_CASE("http auth: tls mode and ca give the TLS options") {
  AuthConfig c;
  REQUIRE(auth_errors({{"authModes", "tls"}}, {{"cert", "CERT"}, {"key", "KEY"}, {"ca", "CA"}}, &c).empty());
  ebb::net::TlsOptions base;
  base.insecure_skip_verify = true;
  auto tls = http::auth_tls(c, base);
  CHECK(tls.cert_pem == "CERT");
  CHECK(tls.key_pem == "KEY");
  CHECK(tls.ca_pem == "CA");
  CHECK(tls.insecure_skip_verify);
  AuthConfig ca_only;
  REQUIRE(auth_errors({}, {{"ca", "CA"}, {"cert", "CERT"}}, &ca_only).empty());
  auto only = http::auth_tls(ca_only, {});
  CHECK(only.ca_pem == "CA");
  CHECK(only.cert_pem.empty());  // without tls mode no client certificate is presented
}

// A token endpoint over real HTTP: client credentials accepted in the Basic header or the form
// (a strict server refuses the header), tokens with a lifetime, counted issues.
struct TokenServer {
  std::atomic<int> issued{0};
  std::atomic<int> expires_in{3600};
  bool basic_allowed = true;
  std::string last_form;
  std::mutex mutex;
  std::unique_ptr<ebb::net::HttpServer> server;

  TokenServer() {
    auto started = ebb::net::HttpServer::start({}, [this](const ebb::net::ServerRequest& r) {
      std::lock_guard lock(mutex);
      last_form = r.body;
      const bool header_ok = r.header("Authorization") == "Basic " + ebb::base64_encode("app:s%3Dcret");
      const bool form_ok = r.body.find("client_id=app") != std::string::npos &&
                           r.body.find("client_secret=s%3Dcret") != std::string::npos;
      if (r.path != "/token" || r.method != "POST" || !((basic_allowed && header_ok) || form_ok))
        return ebb::net::ServerResponse::json(401, R"({"error":"invalid_client"})");
      const int n = ++issued;
      return ebb::net::ServerResponse::json(
          200, R"({"access_token":"token-)" + std::to_string(n) + R"(","token_type":"Bearer","expires_in":)" +
                   std::to_string(expires_in.load()) + "}");
    });
    REQUIRE(started);
    server = std::move(*started);
  }
  http::OAuthTokens::Grant grant() const {
    return {server->url() + "/token", "app", "s=cret", {"read", "write"}, "audience=queues&resource=x%20y"};
  }
};

TEST_CASE("http oauth: the token is fetched once, shared, and sent as a bearer token") {
  TokenServer ts;
  http::OAuthTokens tokens;
  ebb::net::HttpClient client;
  auto first = tokens.token(ts.grant(), client, 2s);
  REQUIRE(first);
  CHECK(*first == "token-1");
  CHECK(*tokens.token(ts.grant(), client, 2s) == "token-1");
  CHECK(ts.issued == 1);
  {
    std::lock_guard lock(ts.mutex);
    CHECK(ts.last_form == "grant_type=client_credentials&scope=read+write&audience=queues&resource=x+y");
  }

  AuthConfig c;
  c.auth_modes = {"oauth"};
  c.oauth_token_uri = ts.grant().token_uri;
  c.client_id = "app";
  c.client_secret = "s=cret";
  c.scopes = {"read", "write"};
  c.endpoint_params = "audience=queues&resource=x%20y";
  http::Authenticator authenticator(c, tokens);  // the same credential: the cached token
  ebb::net::HttpRequest r;
  REQUIRE(authenticator.apply(r, client, 2s));
  CHECK(header(r, "Authorization") == "Bearer token-1");
  CHECK(ts.issued == 1);
  // The resource refused it: the next request fetches a new one.
  authenticator.unauthorized();
  REQUIRE(authenticator.apply(r, client, 2s));
  CHECK(header(r, "Authorization") == "Bearer token-2");
}

TEST_CASE("http oauth: a token about to expire is refreshed, and concurrent users wait for one fetch") {
  TokenServer ts;
  ts.expires_in = 5;  // inside the 10 s refresh margin: every use refreshes
  http::OAuthTokens tokens;
  ebb::net::HttpClient client;
  CHECK(*tokens.token(ts.grant(), client, 2s) == "token-1");
  CHECK(*tokens.token(ts.grant(), client, 2s) == "token-2");
  ts.expires_in = 3600;
  CHECK(*tokens.token(ts.grant(), client, 2s) == "token-3");
  std::vector<std::thread> users;
  for (int i = 0; i < 8; ++i) users.emplace_back([&] { CHECK(tokens.token(ts.grant(), client, 2s)); });
  for (auto& t : users) t.join();
  CHECK(ts.issued == 3);
}

TEST_CASE("http oauth: a server that refuses credentials in the header gets them in the form") {
  TokenServer ts;
  ts.basic_allowed = false;
  http::OAuthTokens tokens;
  ebb::net::HttpClient client;
  auto token = tokens.token(ts.grant(), client, 2s);
  REQUIRE(token);
  CHECK(*token == "token-1");
}

TEST_CASE("http oauth: failures name the endpoint and the status, never the secret") {
  TokenServer ts;
  http::OAuthTokens tokens;
  ebb::net::HttpClient client;
  auto grant = ts.grant();
  grant.client_secret = "wrong-secret";
  auto refused = tokens.token(grant, client, 2s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "OAuth2 token endpoint " + ts.server->url() + "/token answered 401");
  CHECK(refused.error().message.find("wrong-secret") == std::string::npos);
  ts.server->stop();
  auto down = tokens.token(ts.grant(), client, 2s);
  REQUIRE_FALSE(down);
  CHECK(down.error().message.find("OAuth2 token endpoint " + ts.grant().token_uri + ": ") == 0);
  CHECK(down.error().transient);
}
