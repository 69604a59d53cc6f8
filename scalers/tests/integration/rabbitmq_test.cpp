// The rabbitmq scaler against the real shared RabbitMQ (with the management plugin) started by
// tests/servers.sh: AMQP and HTTP protocols, excludeUnacknowledged, regex combination, custom
// vhosts, auth failure, missing queue then recovery on the same connection, a cut link and its
// recovery, and one shared AMQP connection for many triggers.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/net/http_server.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"
#include "rabbitmq/amqp.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb::scalers;
using ebb::test::shared_servers;

namespace {

std::string unique_name(const std::string& what) {
  static int counter = 0;
  return "ebb-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" + what;
}

std::string amqp_host(std::uint16_t port, const std::string& vhost = "", const std::string& password = "") {
  const auto& s = shared_servers();
  return "amqp://" + s.rabbitmq_user + ":" + (password.empty() ? s.rabbitmq_password : password) +
         "@127.0.0.1:" + std::to_string(port) + "/" + vhost;
}
std::string http_host(std::uint16_t port, const std::string& vhost = "", const std::string& password = "") {
  const auto& s = shared_servers();
  return "http://" + s.rabbitmq_user + ":" + (password.empty() ? s.rabbitmq_password : password) +
         "@127.0.0.1:" + std::to_string(port) + "/" + vhost;
}

// The management API, as an administrator sets up queues for a test.
class Admin {
 public:
  Admin() : base_(http_host(shared_servers().rabbitmq_http_port) + "api") {}

  nlohmann::json call(const std::string& method, const std::string& path, const std::string& body = "") {
    ebb::net::HttpRequest request;
    request.method = method;
    request.url = base_ + path;
    request.body = body;
    request.headers.emplace_back("Content-Type", "application/json");
    auto response = http_.send(request);
    if (!response) FAIL("management API " << method << " " << path << ": " << response.error().message);
    if (response->status >= 300) FAIL("management API " << method << " " << path << ": " << response->status << " " << response->body);
    return response->body.empty() ? nlohmann::json() : nlohmann::json::parse(response->body);
  }
  void declare_queue(const std::string& name, const std::string& vhost = "%2F") {
    call("PUT", "/queues/" + vhost + "/" + name, R"({"durable":false,"auto_delete":false})");
  }
  void delete_queue(const std::string& name, const std::string& vhost = "%2F") {
    call("DELETE", "/queues/" + vhost + "/" + name);
  }
  void publish(const std::string& queue, int count, const std::string& vhost = "%2F") {
    const nlohmann::json body = {{"properties", nlohmann::json::object()},
                                 {"routing_key", queue},
                                 {"payload", "m"},
                                 {"payload_encoding", "string"}};
    for (int i = 0; i < count; ++i) {
      auto reply = call("POST", "/exchanges/" + vhost + "/amq.default/publish", body.dump());
      REQUIRE(reply.value("routed", false));
    }
  }
  void create_vhost(const std::string& vhost) {
    call("PUT", "/vhosts/" + vhost);
    call("PUT", "/permissions/" + vhost + "/" + shared_servers().rabbitmq_user,
         R"({"configure":".*","write":".*","read":".*"})");
  }
  std::size_t connections_named(const std::string& name) {
    std::size_t n = 0;
    for (const auto& c : call("GET", "/connections"))
      if (c.contains("client_properties") && c["client_properties"].value("connection_name", "") == name) ++n;
    return n;
  }

 private:
  ebb::net::HttpClient http_;
  std::string base_;
};

Admin& admin() {
  static Admin a;
  return a;
}

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make_trigger(ConnectionPools& pools, std::map<std::string, std::string> metadata,
                     std::map<std::string, std::string> auth = {}) {
  static const Registry registry = [] {
    Registry r;
    register_rabbitmq_scaler(r);
    return r;
  }();
  TriggerContext ctx;
  ctx.type = "rabbitmq";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = registry.parse(ctx);
  if (!parsed) FAIL("parse: " << parsed.error().front().str());
  auto scaler = (*parsed)->create_scaler(pools);
  if (!scaler) FAIL("create_scaler: " << scaler.error().message);
  return {std::move(*parsed), std::move(*scaler)};
}

// Polls until `expected` is read (management statistics lag about 0.5 s), at most 20 s.
ebb::Result<PollResult> poll_until(Scaler& scaler, double expected) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (true) {
    auto r = scaler.poll();
    if ((r && r->value == expected) || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(200ms);
  }
}

double value_of(const ebb::Result<PollResult>& r) {
  if (!r) FAIL("poll failed: " << r.error().message);
  return r->value;
}

// Holds `count` messages of `queue` unacknowledged for as long as it lives.
class UnackedHolder {
 public:
  UnackedHolder(const std::string& queue, int count) : conn_(amqp_new_connection()) {
    const auto& s = shared_servers();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
    timeval tv{5, 0};
    REQUIRE(amqp_socket_open_noblock(socket, "127.0.0.1", s.rabbitmq_amqp_port, &tv) == AMQP_STATUS_OK);
    REQUIRE(amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, s.rabbitmq_user.c_str(),
                       s.rabbitmq_password.c_str())
                .reply_type == AMQP_RESPONSE_NORMAL);
    amqp_channel_open(conn_, 1);
    REQUIRE(amqp_get_rpc_reply(conn_).reply_type == AMQP_RESPONSE_NORMAL);
    for (int i = 0; i < count; ++i) {
      auto reply = amqp_basic_get(conn_, 1, amqp_cstring_bytes(queue.c_str()), /*no_ack=*/0);
      REQUIRE(reply.reply_type == AMQP_RESPONSE_NORMAL);
      REQUIRE(reply.reply.id == AMQP_BASIC_GET_OK_METHOD);
      amqp_message_t message;
      REQUIRE(amqp_read_message(conn_, 1, &message, 0).reply_type == AMQP_RESPONSE_NORMAL);
      amqp_destroy_message(&message);
    }
  }
  ~UnackedHolder() {
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }

 private:
  amqp_connection_state_t conn_;
};

}  // namespace

TEST_CASE("rabbitmq integration: AMQP and HTTP read the queue length") {
  const auto& s = shared_servers();
  const auto queue = unique_name("len");
  admin().declare_queue(queue);
  admin().publish(queue, 7);
  ConnectionPools pools;

  auto amqp = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port)},
                                   {"mode", "QueueLength"}, {"value", "5"}, {"activationValue", "6"}});
  auto r = amqp.scaler->poll();
  CHECK(value_of(r) == 7);
  CHECK(r->active);

  auto inactive = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port)},
                                       {"activationValue", "7"}});
  r = inactive.scaler->poll();
  CHECK(value_of(r) == 7);
  CHECK_FALSE(r->active);

  auto http = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port)}});
  CHECK(value_of(poll_until(*http.scaler, 7)) == 7);

  // Credentials from auth params are injected into a host without them.
  auto http_auth = make_trigger(pools, {{"queueName", queue}, {"host", "http://127.0.0.1:" + std::to_string(s.rabbitmq_http_port)}},
                                {{"username", s.rabbitmq_user}, {"password", s.rabbitmq_password}});
  CHECK(value_of(poll_until(*http_auth.scaler, 7)) == 7);
  admin().delete_queue(queue);
}

TEST_CASE("rabbitmq integration: excludeUnacknowledged counts ready messages only") {
  const auto& s = shared_servers();
  const auto queue = unique_name("unacked");
  admin().declare_queue(queue);
  admin().publish(queue, 5);
  UnackedHolder holder(queue, 2);
  ConnectionPools pools;

  auto all = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port)}});
  auto ready = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port)},
                                    {"excludeUnacknowledged", "true"}});
  CHECK(value_of(poll_until(*all.scaler, 5)) == 5);
  CHECK(value_of(poll_until(*ready.scaler, 3)) == 3);
  // A passive declare reports ready messages.
  auto amqp = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port)}});
  CHECK(value_of(amqp.scaler->poll()) == 3);
  admin().delete_queue(queue);
}

TEST_CASE("rabbitmq integration: regex over several queues with sum, avg and max") {
  const auto& s = shared_servers();
  const auto prefix = unique_name("rx");
  const std::vector<std::pair<std::string, int>> queues = {{prefix + "-a", 1}, {prefix + "-b", 2}, {prefix + "-c", 6}};
  for (const auto& [name, count] : queues) {
    admin().declare_queue(name);
    admin().publish(name, count);
  }
  ConnectionPools pools;
  for (const auto& [operation, expected] : std::vector<std::pair<std::string, double>>{{"sum", 9}, {"avg", 3}, {"max", 6}}) {
    INFO(operation);
    auto t = make_trigger(pools, {{"queueName", "^" + prefix + "-.*$"}, {"host", http_host(s.rabbitmq_http_port)},
                                  {"useRegex", "true"}, {"operation", operation}, {"pageSize", "10"}});
    CHECK(value_of(poll_until(*t.scaler, expected)) == expected);
  }
  for (const auto& [name, count] : queues) admin().delete_queue(name);
}

TEST_CASE("rabbitmq integration: a custom vhost through the host path and vhostName") {
  const auto& s = shared_servers();
  const auto vhost = unique_name("vh");
  const auto queue = unique_name("q");
  admin().create_vhost(vhost);
  admin().declare_queue(queue, vhost);
  admin().publish(queue, 3, vhost);
  ConnectionPools pools;

  auto amqp_path = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port, vhost)}});
  CHECK(value_of(amqp_path.scaler->poll()) == 3);
  auto amqp_override = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port)},
                                            {"vhostName", vhost}});
  CHECK(value_of(amqp_override.scaler->poll()) == 3);
  auto http_path = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port, vhost)}});
  CHECK(value_of(poll_until(*http_path.scaler, 3)) == 3);
  auto http_override = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port)},
                                            {"vhostName", vhost}});
  CHECK(value_of(poll_until(*http_override.scaler, 3)) == 3);
  // The path and vhostName name the same vhost with the same credentials: one shared connection.
  CHECK(pools.get<rabbitmq::AmqpConnections>().size() == 1);
  auto root = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(s.rabbitmq_amqp_port)}});
  CHECK(pools.get<rabbitmq::AmqpConnections>().size() == 2);  // another vhost is another connection
  admin().call("DELETE", "/vhosts/" + vhost);
}

TEST_CASE("rabbitmq integration: a wrong password is an error that never shows the password") {
  const auto& s = shared_servers();
  const auto queue = unique_name("auth");
  admin().declare_queue(queue);
  ConnectionPools pools;
  const std::string wrong = "Wr0ngPassw0rd";
  for (const auto& host : {amqp_host(s.rabbitmq_amqp_port, "", wrong), http_host(s.rabbitmq_http_port, "", wrong)}) {
    auto t = make_trigger(pools, {{"queueName", queue}, {"host", host}});
    auto r = t.scaler->poll();
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find(wrong) == std::string::npos);
    CHECK(r.error().message.find("error inspecting RabbitMQ") == 0);
  }
  admin().delete_queue(queue);
}

TEST_CASE("rabbitmq integration: a missing queue is an error, then recovers on the same connection") {
  const auto& s = shared_servers();
  const auto queue = unique_name("late");
  const auto other = unique_name("other");
  admin().declare_queue(other);
  admin().publish(other, 4);
  ConnectionPools pools;
  const auto host = amqp_host(s.rabbitmq_amqp_port);
  auto late = make_trigger(pools, {{"queueName", queue}, {"host", host}});
  auto present = make_trigger(pools, {{"queueName", other}, {"host", host}});

  auto r = late.scaler->poll();
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("404") != std::string::npos);
  // The channel closed by the broker does not hurt the other trigger on the same connection.
  CHECK(value_of(present.scaler->poll()) == 4);

  auto http = make_trigger(pools, {{"queueName", queue}, {"host", http_host(s.rabbitmq_http_port)}});
  auto hr = http.scaler->poll();
  REQUIRE_FALSE(hr);
  CHECK(hr.error().message.find("404") != std::string::npos);

  admin().declare_queue(queue);
  admin().publish(queue, 2);
  CHECK(value_of(late.scaler->poll()) == 2);
  CHECK(value_of(poll_until(*http.scaler, 2)) == 2);
  auto connection = pools.get<rabbitmq::AmqpConnections>().get(*rabbitmq::parse_amqp_uri(host));
  CHECK(connection->connects() == 1);
  admin().delete_queue(queue);
  admin().delete_queue(other);
}

TEST_CASE("rabbitmq integration: a cut link is an error and recovers without a restart") {
  const auto& s = shared_servers();
  const auto queue = unique_name("cut");
  admin().declare_queue(queue);
  admin().publish(queue, 3);
  ebb::test::TcpProxy amqp_proxy("127.0.0.1", s.rabbitmq_amqp_port);
  ebb::test::TcpProxy http_proxy("127.0.0.1", s.rabbitmq_http_port);
  ConnectionPools pools;
  auto amqp = make_trigger(pools, {{"queueName", queue}, {"host", amqp_host(amqp_proxy.port())}});
  auto http = make_trigger(pools, {{"queueName", queue}, {"host", http_host(http_proxy.port())}});
  CHECK(value_of(amqp.scaler->poll()) == 3);
  CHECK(value_of(poll_until(*http.scaler, 3)) == 3);

  amqp_proxy.cut();
  http_proxy.cut();
  const auto started = std::chrono::steady_clock::now();
  auto ar = amqp.scaler->poll();
  auto hr = http.scaler->poll();
  CHECK_FALSE(ar);
  CHECK_FALSE(hr);
  CHECK(std::chrono::steady_clock::now() - started < 15s);  // bounded by the timeouts

  amqp_proxy.restore();
  http_proxy.restore();
  CHECK(value_of(amqp.scaler->poll()) == 3);
  CHECK(value_of(poll_until(*http.scaler, 3)) == 3);
  admin().delete_queue(queue);
}

TEST_CASE("rabbitmq integration: many triggers on one broker share one AMQP connection") {
  const auto& s = shared_servers();
  // A proxy of our own gives this test's connection a name no other test uses.
  ebb::test::TcpProxy proxy("127.0.0.1", s.rabbitmq_amqp_port);
  const std::string name = "ebb-127.0.0.1:" + std::to_string(proxy.port());
  ConnectionPools pools;
  std::vector<std::string> queues;
  std::vector<Trigger> triggers;
  for (int i = 0; i < 6; ++i) {
    queues.push_back(unique_name("share"));
    admin().declare_queue(queues.back());
    admin().publish(queues.back(), i);
    triggers.push_back(make_trigger(pools, {{"queueName", queues.back()}, {"host", amqp_host(proxy.port())}}));
  }
  // Concurrent polls from several threads serialise on the one connection.
  std::vector<std::thread> threads;
  std::vector<double> values(triggers.size(), -1);
  for (std::size_t i = 0; i < triggers.size(); ++i)
    threads.emplace_back([&, i] {
      auto r = triggers[i].scaler->poll();
      if (r) values[i] = r->value;
    });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == static_cast<double>(i));

  CHECK(pools.get<rabbitmq::AmqpConnections>().size() == 1);
  CHECK(proxy.connections_accepted() == 1);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::size_t seen = 0;
  while ((seen = admin().connections_named(name)) != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(250ms);
  CHECK(seen == 1);
  for (const auto& q : queues) admin().delete_queue(q);
}

// RabbitMQ behind OAuth2, as an identity provider and an authenticating gateway present it: a
// token endpoint issuing client-credential tokens, and a gateway that accepts only the current
// token and forwards to the real management API (the queue statistics are the broker's).
class OAuthGateway {
 public:
  OAuthGateway() {
    auto started = ebb::net::HttpServer::start({}, [this](const ebb::net::ServerRequest& r) { return serve(r); });
    REQUIRE(started);
    server_ = std::move(*started);
  }
  std::string url() const { return server_->url(); }
  int tokens_issued() const { return issued_; }
  int refused() const { return refused_; }
  // The provider rotates keys: tokens issued so far stop working.
  void revoke() { ++generation_; }

 private:
  ebb::net::ServerResponse serve(const ebb::net::ServerRequest& r) {
    if (r.path == "/token") {
      const bool ok = r.method == "POST" && r.header("Authorization") == "Basic " + ebb::base64_encode("ebb:s3cret") &&
                      r.body.find("grant_type=client_credentials") != std::string::npos &&
                      r.body.find("scope=rabbitmq.read") != std::string::npos;
      if (!ok) return ebb::net::ServerResponse::json(401, R"({"error":"invalid_client"})");
      ++issued_;
      return ebb::net::ServerResponse::json(200, R"({"access_token":"t-)" + std::to_string(generation_) +
                                                      R"(","token_type":"Bearer","expires_in":3600})");
    }
    if (r.header("Authorization") != "Bearer t-" + std::to_string(generation_)) {
      ++refused_;
      return ebb::net::ServerResponse::json(401, R"({"error":"not_authorized"})");
    }
    ebb::net::HttpRequest forward;
    forward.url = "http://127.0.0.1:" + std::to_string(shared_servers().rabbitmq_http_port) + r.target;
    forward.headers.emplace_back("Authorization", "Basic " + ebb::base64_encode(shared_servers().rabbitmq_user + ":" +
                                                                              shared_servers().rabbitmq_password));
    auto answer = client_.send(forward);
    if (!answer) return ebb::net::ServerResponse::text(502, answer.error().message);
    return ebb::net::ServerResponse::json(answer->status, answer->body);
  }

  std::atomic<int> issued_{0}, refused_{0}, generation_{1};
  ebb::net::HttpClient client_;
  std::unique_ptr<ebb::net::HttpServer> server_;
};

TEST_CASE("rabbitmq integration: OAuth2 client credentials: a token is fetched once, sent, and renewed after a 401") {
  const auto queue = unique_name("oauth");
  admin().declare_queue(queue);
  admin().publish(queue, 4);
  OAuthGateway gateway;
  ConnectionPools pools;
  const std::map<std::string, std::string> auth{{"oauthTokenURI", gateway.url() + "/token"},
                                                {"clientID", "ebb"},
                                                {"clientSecret", "s3cret"},
                                                {"scopes", "rabbitmq.read"}};
  auto a = make_trigger(pools, {{"queueName", queue}, {"host", gateway.url() + "/"}, {"protocol", "http"}}, auth);
  auto b = make_trigger(pools, {{"queueName", queue}, {"host", gateway.url() + "/"}, {"protocol", "http"}}, auth);
  CHECK(value_of(poll_until(*a.scaler, 4)) == 4);
  CHECK(value_of(b.scaler->poll()) == 4);
  CHECK(gateway.tokens_issued() == 1);  // one credential, one token, shared by both triggers
  CHECK(gateway.refused() == 0);

  // A revoked token: that poll is an error (never 0), and the next one gets a new token.
  gateway.revoke();
  auto refused = a.scaler->poll();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("401") != std::string::npos);
  CHECK(refused.error().message.find("s3cret") == std::string::npos);
  CHECK(value_of(a.scaler->poll()) == 4);
  CHECK(gateway.tokens_issued() == 2);

  // A wrong client secret: the token endpoint's refusal, named, the secret never shown.
  auto wrong = auth;
  wrong["clientSecret"] = "not-the-s3cret";
  auto w = make_trigger(pools, {{"queueName", queue}, {"host", gateway.url() + "/"}, {"protocol", "http"}}, wrong);
  auto denied = w.scaler->poll();
  REQUIRE_FALSE(denied);
  CHECK(denied.error().message.find("OAuth2 token endpoint " + gateway.url() + "/token answered 401") != std::string::npos);
  CHECK(denied.error().message.find("not-the-s3cret") == std::string::npos);
  admin().delete_queue(queue);
}
