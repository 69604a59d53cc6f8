// The prometheus scaler against a real Prometheus (Debian's, tests/support/servers.h) scraping
// a /metrics target the test serves with a gauge it changes: exact values and activation,
// ignoreNullValues both ways, multiple series, a bad query, namespace and queryParameters on the
// wire, basic/bearer/apiKey/OAuth2 through an auth-checking gateway in front of Prometheus,
// Prometheus stopped (an error, never 0) and started again (recovery), and two triggers sharing
// one kept-alive connection.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/net/http_server.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"
#include "support/servers.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

// The scrape target: a gauge the test sets, and two series of another metric.
class Target {
 public:
  Target() {
    auto started = ebb::net::HttpServer::start({}, [this](const ebb::net::ServerRequest& r) {
      if (r.path != "/metrics") return ebb::net::ServerResponse::text(404, "");
      auto response = ebb::net::ServerResponse::text(
          200, "# TYPE ebb_test_depth gauge\nebb_test_depth{queue=\"orders\"} " +
                   std::to_string(depth_.load()) +
                   "\n# TYPE ebb_test_multi gauge\nebb_test_multi{i=\"1\"} "
                   "1\nebb_test_multi{i=\"2\"} 2\n");
      response.content_type = "text/plain; version=0.0.4";
      return response;
    });
    REQUIRE(started);
    server_ = std::move(*started);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  void set(int depth) { depth_ = depth; }

 private:
  std::atomic<int> depth_{0};
  std::unique_ptr<ebb::net::HttpServer> server_;
};

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make_trigger(ConnectionPools& pools, Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "prometheus";
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

// Polls until `expected` is read: a new value needs a scrape (1 s) and a new target its first
// discovery (about 5 s). At most 30 s.
ebb::Result<PollResult> poll_until(Scaler& scaler, double expected) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    auto r = scaler.poll();
    if ((r && r->value == expected) || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(200ms);
  }
}

Map depth_query(const std::string& server, Map extra = {}) {
  Map m = {{"serverAddress", server},
           {"query", "sum(ebb_test_depth{queue=\"orders\"})"},
           {"threshold", "5"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

// A gateway in front of Prometheus that checks credentials the way a reverse proxy would:
// Basic ebb:pw, Bearer static-token, X-Api-Key k1, or an OAuth2 token it issued at /token
// (client ebb / s3cret). It records what it saw of the last request.
class AuthGateway {
 public:
  explicit AuthGateway(std::uint16_t prometheus_port) : prometheus_port_(prometheus_port) {
    auto started = ebb::net::HttpServer::start(
        {}, [this](const ebb::net::ServerRequest& r) { return serve(r); });
    REQUIRE(started);
    server_ = std::move(*started);
  }
  std::string url() const { return server_->url(); }
  int tokens_issued() const { return issued_; }
  void revoke() { ++generation_; }
  std::string last_target() {
    std::lock_guard lock(mutex_);
    return last_target_;
  }

 private:
  ebb::net::ServerResponse serve(const ebb::net::ServerRequest& r) {
    if (r.path == "/token") {
      if (r.header("Authorization") != "Basic " + ebb::base64_encode("ebb:s3cret") ||
          r.body.find("grant_type=client_credentials") == std::string::npos)
        return ebb::net::ServerResponse::json(401, R"({"error":"invalid_client"})");
      ++issued_;
      return ebb::net::ServerResponse::json(200,
                                            R"({"access_token":"t-)" + std::to_string(generation_) +
                                                R"(","token_type":"Bearer","expires_in":3600})");
    }
    {
      std::lock_guard lock(mutex_);
      last_target_ = r.target;
    }
    const std::string auth = r.header("Authorization");
    const bool ok =
        auth == "Basic " + ebb::base64_encode("ebb:pw") || auth == "Bearer static-token" ||
        auth == "Bearer t-" + std::to_string(generation_) || r.header("X-Api-Key") == "k1";
    if (!ok) return ebb::net::ServerResponse::json(401, R"({"error":"unauthorized"})");
    ebb::net::HttpRequest forward;
    forward.url = "http://127.0.0.1:" + std::to_string(prometheus_port_) + r.target;
    auto answer = client_.send(forward);
    if (!answer) return ebb::net::ServerResponse::text(502, answer.error().message);
    return ebb::net::ServerResponse::json(answer->status, answer->body);
  }

  std::uint16_t prometheus_port_;
  std::atomic<int> issued_{0}, generation_{1};
  std::mutex mutex_;
  std::string last_target_;
  ebb::net::HttpClient client_;
  std::unique_ptr<ebb::net::HttpServer> server_;
};

}  // namespace

TEST_CASE(
    "prometheus integration: values, activation, ignoreNullValues, several series and a bad "
    "query") {
  Target target;
  target.set(3);
  ebb::test::LocalServer prometheus(ebb::test::prometheus_server({target.address()}));
  const std::string server = "http://" + prometheus.address();
  ConnectionPools pools;

  auto depth = make_trigger(pools, depth_query(server, {{"activationThreshold", "3"}}));
  auto r = poll_until(*depth.scaler, 3);
  CHECK(value_of(r) == 3);
  CHECK_FALSE(r->active);  // 3 is not above the activation threshold 3
  target.set(12);
  r = poll_until(*depth.scaler, 12);
  CHECK(value_of(r) == 12);
  CHECK(r->active);
  CHECK(depth.config->metric_spec().name == "s0-prometheus");
  CHECK(depth.config->metric_spec().target_quantity == "5");

  // An empty result: 0 by default, an error with ignoreNullValues false.
  auto absent = make_trigger(pools, depth_query(server, {{"query", "ebb_test_absent_metric"}}));
  r = absent.scaler->poll();
  CHECK(value_of(r) == 0);
  CHECK_FALSE(r->active);
  auto strict = make_trigger(pools, depth_query(server, {{"query", "ebb_test_absent_metric"},
                                                         {"ignoreNullValues", "false"}}));
  auto lost = strict.scaler->poll();
  REQUIRE_FALSE(lost);
  CHECK(
      lost.error().message ==
      "prometheus " + server +
          "/api/v1/query: prometheus metrics 'prometheus' target may be lost, the result is empty");

  // Two series: KEDA's error.
  auto multi = make_trigger(pools, depth_query(server, {{"query", "ebb_test_multi"}}));
  auto many = multi.scaler->poll();
  REQUIRE_FALSE(many);
  CHECK(many.error().message ==
        "prometheus " + server +
            "/api/v1/query: prometheus query ebb_test_multi returned multiple elements");
  auto summed = make_trigger(pools, depth_query(server, {{"query", "sum(ebb_test_multi)"}}));
  CHECK(value_of(summed.scaler->poll()) == 3);

  // A query Prometheus refuses: its 400 and its reason, naming the endpoint.
  auto bad = make_trigger(pools, depth_query(server, {{"query", "sum(ebb_test_depth"}}));
  auto refused = bad.scaler->poll();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.starts_with(
      "prometheus " + server +
      "/api/v1/query: prometheus query api returned error. status: 400, "
      "response: {\"status\":\"error\",\"errorType\":\"bad_data\""));

  // A scalar result is refused with a reason (KEDA: a JSON decoding error).
  auto scalar =
      make_trigger(pools, depth_query(server, {{"query", "scalar(sum(ebb_test_multi))"}}));
  auto not_vector = scalar.scaler->poll();
  REQUIRE_FALSE(not_vector);
  CHECK(not_vector.error().message ==
        "prometheus " + server +
            "/api/v1/query: prometheus query scalar(sum(ebb_test_multi)) returned a scalar result; "
            "the query must "
            "return an instant vector");
}

TEST_CASE(
    "prometheus integration: authModes through a gateway, namespace and queryParameters on the "
    "wire") {
  Target target;
  target.set(4);
  ebb::test::LocalServer prometheus(ebb::test::prometheus_server({target.address()}));
  AuthGateway gateway(prometheus.port());
  ConnectionPools pools;

  // Without credentials the gateway refuses: an error with the status, never 0.
  auto anonymous = make_trigger(pools, depth_query(gateway.url()));
  auto refused = anonymous.scaler->poll();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("status: 401") != std::string::npos);

  auto basic = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "basic"}}),
                            {{"username", "ebb"}, {"password", "pw"}});
  CHECK(value_of(poll_until(*basic.scaler, 4)) == 4);
  auto wrong = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "basic"}}),
                            {{"username", "ebb"}, {"password", "not-pw"}});
  auto denied = wrong.scaler->poll();
  REQUIRE_FALSE(denied);
  CHECK(denied.error().message.find("status: 401") != std::string::npos);
  CHECK(denied.error().message.find("not-pw") == std::string::npos);

  auto bearer = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "bearer"}}),
                             {{"bearerToken", "static-token"}});
  CHECK(value_of(bearer.scaler->poll()) == 4);
  // apiKey: sent, where KEDA's prometheus scaler ignores it.
  auto api_key = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "apiKey"}}),
                              {{"apiKey", "k1"}});
  CHECK(value_of(api_key.scaler->poll()) == 4);

  // OAuth2 client credentials: one token for two triggers, renewed after a 401.
  const Map oauth = {
      {"oauthTokenURI", gateway.url() + "/token"}, {"clientID", "ebb"}, {"clientSecret", "s3cret"}};
  auto a = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "oauth"}}), oauth);
  auto b = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "oauth"}}), oauth);
  CHECK(value_of(a.scaler->poll()) == 4);
  CHECK(value_of(b.scaler->poll()) == 4);
  CHECK(gateway.tokens_issued() == 1);
  gateway.revoke();
  REQUIRE_FALSE(a.scaler->poll());
  CHECK(value_of(a.scaler->poll()) == 4);
  CHECK(gateway.tokens_issued() == 2);
  auto bad_secret = oauth;
  bad_secret["clientSecret"] = "wrong-s3cret";
  auto c = make_trigger(pools, depth_query(gateway.url(), {{"authModes", "oauth"}}), bad_secret);
  auto no_token = c.scaler->poll();
  REQUIRE_FALSE(no_token);
  CHECK(no_token.error().message.find("OAuth2 token endpoint " + gateway.url() +
                                      "/token answered 401") != std::string::npos);
  CHECK(no_token.error().message.find("wrong-s3cret") == std::string::npos);

  // namespace and queryParameters, as KEDA sends them.
  auto tenant = make_trigger(
      pools,
      depth_query(gateway.url(), {{"authModes", "basic"},
                                  {"namespace", "shop"},
                                  {"queryParameters", "dedup=true,partial_response=false"}}),
      {{"username", "ebb"}, {"password", "pw"}});
  CHECK(value_of(tenant.scaler->poll()) == 4);
  const auto sent = gateway.last_target();
  CHECK(sent.starts_with(
      "/api/v1/query?query=sum%28ebb_test_depth%7Bqueue%3D%22orders%22%7D%29&time="));
  CHECK(sent.ends_with("&namespace=shop&dedup=true&partial_response=false"));
}

TEST_CASE(
    "prometheus integration: Prometheus stopped is an error, started again recovers and triggers "
    "share a connection") {
  Target target;
  target.set(6);
  ebb::test::LocalServer prometheus(ebb::test::prometheus_server({target.address()}));
  ebb::test::TcpProxy proxy("127.0.0.1", prometheus.port());
  const std::string server = "http://127.0.0.1:" + std::to_string(proxy.port());
  ConnectionPools pools;
  auto one = make_trigger(pools, depth_query(server));
  auto two = make_trigger(
      pools, depth_query(server, {{"query", "sum(ebb_test_multi)"}, {"threshold", "1.5"}}));
  CHECK(value_of(poll_until(*one.scaler, 6)) == 6);
  for (int i = 0; i < 10; ++i) {
    CHECK(value_of(one.scaler->poll()) == 6);
    CHECK(value_of(two.scaler->poll()) == 3);
  }
  CHECK(proxy.connections_accepted() == 1);  // 21 polls of two triggers, one kept-alive connection

  prometheus.stop();
  for (auto* scaler : {one.scaler.get(), two.scaler.get()}) {
    auto down = scaler->poll();
    REQUIRE_FALSE(down);
    CHECK(down.error().message.starts_with("prometheus " + server + "/api/v1/query: "));
    CHECK(down.error().transient);
  }
  prometheus.start();
  target.set(8);
  CHECK(value_of(poll_until(*one.scaler, 8)) == 8);
  CHECK(value_of(two.scaler->poll()) == 3);
}
