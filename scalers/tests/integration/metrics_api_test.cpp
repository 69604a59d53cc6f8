// The metrics-api scaler over real HTTP: the endpoint a user runs is served by the test
// (net::HttpServer), as JSON, YAML, XML and Prometheus text, over HTTP and over HTTPS with a CA
// and a client certificate (tls mode); every authModes value including OAuth2; a non-200 answer
// and a stopped server as errors, never 0, and the recovery; connection sharing; and
// aggregateFromKubeServiceEndpoints against the in-process test API server's EndpointSlices,
// read through cluster::InformerObjects as the adapter does, with several local endpoints, one
// down (skipped) and all down (an error).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "builtin.h"
#include "ebb/cluster/objects.h"
#include "ebb/kube/client.h"
#include "ebb/net/http_server.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"
#include "support/support.h"
#include "test_apiserver.h"

using namespace std::chrono_literals;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using ebb::net::ServerRequest;
using ebb::net::ServerResponse;
using nlohmann::json;

namespace {

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make_trigger(ConnectionPools& pools, Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "metrics-api";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  if (!parsed) FAIL("parse: " << parsed.error().front().str());
  auto scaler = (*parsed)->create_scaler(pools);
  if (!scaler) FAIL("create_scaler: " << scaler.error().message);
  return {std::move(*parsed), std::move(*scaler)};
}

double value_of(const ebb::Result<PollResult>& r) {
  if (!r) FAIL("poll failed: " << r.error().message);
  return r->value;
}

std::string error_of(const ebb::Result<PollResult>& r) {
  if (r) FAIL("poll succeeded with " << r->value);
  return r.error().message;
}

Map trigger(const std::string& url, const std::string& location, Map extra = {}) {
  Map m = {{"url", url}, {"valueLocation", location}, {"targetValue", "10"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

// The user's metrics endpoint. `tasks` is what every format reports.
class Api {
 public:
  explicit Api(ebb::net::HttpServerOptions options = {}) {
    auto started = ebb::net::HttpServer::start(std::move(options),
                                               [this](const ServerRequest& r) { return serve(r); });
    REQUIRE(started);
    server_ = std::move(*started);
  }
  std::string url() const { return server_->url(); }
  std::uint16_t port() const { return server_->port(); }
  std::size_t connections() const { return server_->connections_accepted(); }
  void stop() { server_->stop(0ms); }
  std::atomic<int> tasks{32};
  std::atomic<int> tokens_issued{0}, generation{1};

 private:
  ServerResponse serve(const ServerRequest& r) {
    const std::string n = std::to_string(tasks.load());
    if (r.path == "/json")
      return ServerResponse::json(200, R"({"components":[{"id":"82328e93e","tasks":)" + n +
                                           R"(,"str":")" + n + R"("}],"count":2.43})");
    if (r.path == "/yaml")
      return ServerResponse::text(200, "components:\n  - tasks: " + n + "\n    k: 1k\n");
    if (r.path == "/xml")
      return ServerResponse::text(200, "<stats><queue><tasks>" + n + "</tasks></queue></stats>");
    if (r.path == "/prom")
      return ServerResponse::text(
          200, "# TYPE backend_queue_size gauge\nbackend_queue_size{queueName=\"one\"} " + n +
                   "\nbackend_queue_size{queueName=\"two\"} 1\n");
    if (r.path == "/api/v1/") return ServerResponse::text(418, "I'm a teapot");
    if (r.path == "/token") {
      if (r.header("Authorization") != "Basic " + ebb::base64_encode("ebb:s3cret"))
        return ServerResponse::json(401, R"({"error":"invalid_client"})");
      ++tokens_issued;
      return ServerResponse::json(
          200, R"({"access_token":"t-)" + std::to_string(generation) + R"(","expires_in":3600})");
    }
    const auto ok = ServerResponse::json(200, R"({"tasks":)" + n + "}");
    const auto denied = ServerResponse::json(401, R"({"error":"unauthorized"})");
    if (r.path == "/bearer")
      return r.header("Authorization") == "Bearer secure-token" ? ok : denied;
    if (r.path == "/basic")
      return r.header("Authorization") == "Basic " + ebb::base64_encode("user:pass") ? ok : denied;
    if (r.path == "/apikey-header") return r.header("X-API-KEY") == "k1" ? ok : denied;
    if (r.path == "/apikey-query")
      return r.query_value("key") == "k1" && r.query_value("keep") == "me" ? ok : denied;
    if (r.path == "/custom") return r.header("X-Custom-Auth") == "c1" ? ok : denied;
    if (r.path == "/oauth")
      return r.header("Authorization") == "Bearer t-" + std::to_string(generation) ? ok : denied;
    if (r.path == "/mtls")
      return r.peer && r.peer->verified_by_bundle("clients") ? ok : ServerResponse::json(403, "{}");
    return ServerResponse::text(404, "");
  }

  std::unique_ptr<ebb::net::HttpServer> server_;
};

}  // namespace

TEST_CASE("metrics-api integration: each format over real HTTP, activation, a non-200 answer") {
  Api api;
  ConnectionPools pools;
  auto json_t = make_trigger(
      pools, trigger(api.url() + "/json", "components.0.tasks", {{"activationTargetValue", "32"}}));
  auto r = json_t.scaler->poll();
  CHECK(value_of(r) == 32);
  CHECK_FALSE(r->active);
  api.tasks = 33;
  r = json_t.scaler->poll();
  CHECK(value_of(r) == 33);
  CHECK(r->active);

  auto str = make_trigger(pools, trigger(api.url() + "/json", "components.0.str"));
  CHECK(value_of(str.scaler->poll()) == 33);
  auto yaml =
      make_trigger(pools, trigger(api.url() + "/yaml", "components.0.tasks", {{"format", "yaml"}}));
  CHECK(value_of(yaml.scaler->poll()) == 33);
  auto k =
      make_trigger(pools, trigger(api.url() + "/yaml", "components.0.k", {{"format", "yaml"}}));
  CHECK(value_of(k.scaler->poll()) == 1000);
  auto xml =
      make_trigger(pools, trigger(api.url() + "/xml", "stats.queue.tasks", {{"format", "xml"}}));
  CHECK(value_of(xml.scaler->poll()) == 33);
  auto prom =
      make_trigger(pools, trigger(api.url() + "/prom", "backend_queue_size{queueName=\"one\"}",
                                  {{"format", "prometheus"}}));
  CHECK(value_of(prom.scaler->poll()) == 33);

  // KEDA's TestGetMetricValueErrorMessage, with the whole URL (never its query).
  auto teapot = make_trigger(pools, trigger(api.url() + "/api/v1/?token=s3cret", "count"));
  CHECK(error_of(teapot.scaler->poll()) ==
        "error requesting metrics endpoint: " + api.url() + "/api/v1/: api returned 418");
  auto missing = make_trigger(pools, trigger(api.url() + "/json", "components.0.nope"));
  CHECK(error_of(missing.scaler->poll()) ==
        "error requesting metrics endpoint: " + api.url() +
            "/json: valueLocation \"components.0.nope\" must point to a numeric value or a string "
            "parseable as a "
            "Quantity, got Null");

  // Every trigger above reached the same host through one pool: polled one after another, they
  // used one kept-alive connection.
  CHECK(api.connections() == 1);
}

TEST_CASE("metrics-api integration: every authModes value, OAuth2 renewed after a 401") {
  Api api;
  ConnectionPools pools;
  // KEDA's TestBearerAuth.
  auto bearer =
      make_trigger(pools, trigger(api.url() + "/bearer", "tasks", {{"authMode", "bearer"}}),
                   {{"token", "secure-token"}});
  CHECK(value_of(bearer.scaler->poll()) == 32);
  auto basic = make_trigger(pools, trigger(api.url() + "/basic", "tasks", {{"authMode", "basic"}}),
                            {{"username", "user"}, {"password", "pass"}});
  CHECK(value_of(basic.scaler->poll()) == 32);
  auto header =
      make_trigger(pools, trigger(api.url() + "/apikey-header", "tasks", {{"authMode", "apiKey"}}),
                   {{"apiKey", "k1"}});
  CHECK(value_of(header.scaler->poll()) == 32);
  auto query = make_trigger(
      pools, trigger(api.url() + "/apikey-query?keep=me", "tasks", {{"authMode", "apiKey"}}),
      {{"apiKey", "k1"}, {"method", "query"}, {"keyParamName", "key"}});
  CHECK(value_of(query.scaler->poll()) == 32);
  auto custom =
      make_trigger(pools, trigger(api.url() + "/custom", "tasks", {{"authMode", "custom"}}),
                   {{"customAuthHeader", "X-Custom-Auth"}, {"customAuthValue", "c1"}});
  CHECK(value_of(custom.scaler->poll()) == 32);

  // Refused credentials: the status, the endpoint, never the secret.
  auto wrong = make_trigger(pools, trigger(api.url() + "/basic", "tasks", {{"authMode", "basic"}}),
                            {{"username", "user"}, {"password", "hunter2"}});
  const auto refused = error_of(wrong.scaler->poll());
  CHECK(refused == "error requesting metrics endpoint: " + api.url() + "/basic: api returned 401");
  auto wrong_key =
      make_trigger(pools, trigger(api.url() + "/apikey-query", "tasks", {{"authMode", "apiKey"}}),
                   {{"apiKey", "k2-secret"}, {"method", "query"}, {"keyParamName", "key"}});
  CHECK(error_of(wrong_key.scaler->poll()).find("k2-secret") == std::string::npos);

  const Map oauth = {
      {"oauthTokenURI", api.url() + "/token"}, {"clientID", "ebb"}, {"clientSecret", "s3cret"}};
  auto a =
      make_trigger(pools, trigger(api.url() + "/oauth", "tasks", {{"authMode", "oauth"}}), oauth);
  auto b =
      make_trigger(pools, trigger(api.url() + "/oauth", "tasks", {{"authMode", "oauth"}}), oauth);
  CHECK(value_of(a.scaler->poll()) == 32);
  CHECK(value_of(b.scaler->poll()) == 32);
  CHECK(api.tokens_issued == 1);  // cached per credential
  ++api.generation;               // the provider rotates its keys
  CHECK(error_of(a.scaler->poll()).ends_with("/oauth: api returned 401"));
  CHECK(value_of(a.scaler->poll()) == 32);
  CHECK(value_of(b.scaler->poll()) == 32);
  CHECK(api.tokens_issued == 2);
}

TEST_CASE(
    "metrics-api integration: HTTPS with a CA and a client certificate (tls mode), unsafeSsl") {
  ebb::test::TempDir dir;
  const auto certs = ebb::test::make_test_certs(dir.path());
  ebb::net::HttpServerOptions options;
  ebb::net::ServerTls tls;
  tls.cert_file = certs.server_cert_file;
  tls.key_file = certs.server_key_file;
  tls.client_ca_bundles = {{"clients", certs.ca_pem}};
  options.tls = tls;
  Api api(options);
  REQUIRE(api.url().starts_with("https://"));
  ConnectionPools pools;
  auto mtls = make_trigger(
      pools, trigger(api.url() + "/mtls", "tasks", {{"authMode", "tls"}}),
      {{"ca", certs.ca_pem}, {"cert", certs.client_cert_pem}, {"key", certs.client_key_pem}});
  CHECK(value_of(mtls.scaler->poll()) == 32);
  // The CA without a client certificate: trusted (KEDA needs tls mode for that), but the
  // endpoint wants a certificate.
  auto no_cert = make_trigger(pools, trigger(api.url() + "/mtls", "tasks"), {{"ca", certs.ca_pem}});
  CHECK(error_of(no_cert.scaler->poll()) ==
        "error requesting metrics endpoint: " + api.url() + "/mtls: api returned 403");
  // Without the CA the server is not trusted, unless unsafeSsl.
  auto untrusted = make_trigger(pools, trigger(api.url() + "/json", "components.0.tasks"));
  CHECK_FALSE(untrusted.scaler->poll());
  auto unsafe = make_trigger(
      pools, trigger(api.url() + "/json", "components.0.tasks", {{"unsafeSsl", "true"}}));
  CHECK(value_of(unsafe.scaler->poll()) == 32);
}

TEST_CASE(
    "metrics-api integration: a stopped endpoint is an error (never 0) and back again it "
    "recovers") {
  const auto port = ebb::test::free_port();
  ebb::net::HttpServerOptions options;
  options.bind_address = "127.0.0.1:" + std::to_string(port);
  auto api = std::make_unique<Api>(options);
  ConnectionPools pools;
  auto t = make_trigger(pools, trigger(api->url() + "/json", "components.0.tasks"));
  CHECK(value_of(t.scaler->poll()) == 32);
  api->stop();
  api.reset();
  auto down = t.scaler->poll();
  REQUIRE_FALSE(down);
  CHECK(down.error().message.starts_with("error requesting metrics endpoint: "));
  CHECK(down.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(down.error().transient);
  api = std::make_unique<Api>(options);
  api->tasks = 5;
  CHECK(value_of(t.scaler->poll()) == 5);
}

namespace {

// The test API server with a Service's EndpointSlices, and endpoints on 127.0.0.x that all
// listen on one port (EndpointSlice addresses share the Service's target port).
struct Cluster {
  ebb::testapi::TestApiServer server;
  std::unique_ptr<ebb::kube::Client> client;
  const ebb::kube::Resource slices{"discovery.k8s.io", "v1", "endpointslices",
                                   "EndpointSlice",    true, {}};
  Cluster() {
    ebb::kube::Config config;
    config.server = server.url();
    config.token = ebb::kube::TokenSource::fixed("t");
    client = std::make_unique<ebb::kube::Client>(config);
    REQUIRE(client->create(
        ebb::kube::resources::namespaces(),
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}}));
  }
  void slice(const std::string& name, const std::string& service, std::uint16_t port,
             const json& endpoints) {
    REQUIRE(client->create(
        slices, {{"apiVersion", "discovery.k8s.io/v1"},
                 {"kind", "EndpointSlice"},
                 {"metadata",
                  {{"name", name},
                   {"namespace", "shop"},
                   {"labels", {{"kubernetes.io/service-name", service}}}}},
                 {"addressType", "IPv4"},
                 {"ports", json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}})},
                 {"endpoints", endpoints}}));
  }
};

json endpoint(const std::string& ip, bool ready = true) {
  return {{"addresses", json::array({ip})}, {"conditions", {{"ready", ready}}}};
}

std::unique_ptr<Api> api_on(const std::string& ip, std::uint16_t port, int tasks) {
  ebb::net::HttpServerOptions options;
  options.bind_address = ip + ":" + std::to_string(port);
  auto api = std::make_unique<Api>(options);
  api->tasks = tasks;
  return api;
}

}  // namespace

TEST_CASE(
    "metrics-api integration: aggregateFromKubeServiceEndpoints over EndpointSlices from the API "
    "server") {
  Cluster cluster;
  const auto port = ebb::test::free_port();
  auto a = api_on("127.0.0.1", port, 20);
  auto b = api_on("127.0.0.2", port, 10);
  auto not_ready = api_on("127.0.0.3", port, 1000);  // serves, but the slice says not ready
  // 127.0.0.4 serves nothing: a failed endpoint, left out.
  cluster.slice("web-abc", "web", port,
                json::array({endpoint("127.0.0.1"), endpoint("127.0.0.2"),
                             endpoint("127.0.0.3", false), endpoint("127.0.0.4")}));
  cluster.slice("other-xyz", "other", port, json::array({endpoint("127.0.0.5")}));

  ConnectionPools pools;
  pools.provide<kubernetes::Objects>(
      std::make_shared<ebb::cluster::InformerObjects>(*cluster.client));
  const std::string url = "http://web.shop.svc:" + std::to_string(port) + "/json";
  auto poll_with = [&](const std::string& type) {
    auto t = make_trigger(
        pools, trigger(url, "components.0.tasks",
                       {{"aggregateFromKubeServiceEndpoints", "true"}, {"aggregationType", type}}));
    return value_of(t.scaler->poll());
  };
  CHECK(poll_with("average") == 15);
  CHECK(poll_with("sum") == 30);
  CHECK(poll_with("max") == 20);
  CHECK(poll_with("min") == 10);

  // The informer follows the slices: a new ready endpoint counts at the next poll.
  auto c = api_on("127.0.0.6", port, 30);
  cluster.slice("web-def", "web", port, json::array({endpoint("127.0.0.6")}));
  auto sum = make_trigger(
      pools, trigger(url, "components.0.tasks",
                     {{"aggregateFromKubeServiceEndpoints", "true"}, {"aggregationType", "sum"}}));
  double seen = 0;
  for (int i = 0; i < 100 && seen != 60; ++i, std::this_thread::sleep_for(50ms))
    seen = value_of(sum.scaler->poll());
  CHECK(seen == 60);

  // Every endpoint down: an error naming the count and the first cause, never 0.
  a.reset();
  b.reset();
  c.reset();
  auto all_down = sum.scaler->poll();
  REQUIRE_FALSE(all_down);
  CHECK(all_down.error().message.starts_with(
      "error requesting metrics endpoint: could not get any metric successfully from the 4 "
      "provided endpoints (first "
      "error: "));
  // A Service without endpoints, and a URL that names no Service.
  auto none =
      make_trigger(pools, trigger("http://nothing.shop.svc:" + std::to_string(port) + "/json",
                                  "count", {{"aggregateFromKubeServiceEndpoints", "true"}}));
  CHECK(error_of(none.scaler->poll()) ==
        "error requesting metrics endpoint: no endpoints URLs were given for the service name "
        "(service shop/nothing has "
        "no ready endpoint)");
  auto bad = make_trigger(pools, trigger("http://localhost:8080/json", "count",
                                         {{"aggregateFromKubeServiceEndpoints", "true"}}));
  CHECK(error_of(bad.scaler->poll()) ==
        "error requesting metrics endpoint: failed to get kubernetes endpoints urls from "
        "configured service URL: invalid "
        "hostname localhost : expected at least 2 elements, first being service name and second "
        "being the namespace");
}
