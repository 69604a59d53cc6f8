// The rabbitmq scaler's TLS paths against the real shared RabbitMQ (tests/servers.sh), which
// serves AMQPS and HTTPS management with certificates from a CA of its own, verifies client
// certificates when presented, and logs in the client certificate's CN with SASL EXTERNAL.
// Covered: the CA (and only the CA) makes verification pass, unsafeSsl skips it, a client
// certificate without credentials logs in with SASL EXTERNAL, encrypted client keys with
// keyPassword, and no password (login or key) in any message.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb::scalers;
using ebb::test::shared_servers;

namespace {

std::string unique_name(const std::string& what) {
  static int counter = 0;
  return "ebb-tls-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" + what;
}

std::string port_text(std::uint16_t port) { return std::to_string(port); }

// amqps://user:password@127.0.0.1:<AMQPS port>/ with the test user's credentials, or `password`.
std::string amqps_host(const std::string& password = "", std::uint16_t port = 0) {
  const auto& s = shared_servers();
  return "amqps://" + s.rabbitmq_user + ":" + (password.empty() ? s.rabbitmq_password : password) + "@127.0.0.1:" +
         port_text(port ? port : s.rabbitmq_amqps_port) + "/";
}
std::string https_host(const std::string& password = "") {
  const auto& s = shared_servers();
  return "https://" + s.rabbitmq_user + ":" + (password.empty() ? s.rabbitmq_password : password) + "@127.0.0.1:" +
         port_text(s.rabbitmq_https_port) + "/";
}

// The PEM texts a TriggerAuthentication would carry.
struct Pem {
  std::string ca, cert, key;
};
const Pem& pem() {
  static const Pem p = [] {
    const auto& s = shared_servers();
    return Pem{ebb::test::read_file(s.rabbitmq_ca_file), ebb::test::read_file(s.rabbitmq_client_cert_file),
               ebb::test::read_file(s.rabbitmq_client_key_file)};
  }();
  return p;
}

// The management API over plain HTTP, as an administrator sets up queues for a test.
class Admin {
 public:
  Admin() {
    const auto& s = shared_servers();
    base_ = "http://" + s.rabbitmq_user + ":" + s.rabbitmq_password + "@127.0.0.1:" + port_text(s.rabbitmq_http_port) +
            "/api";
  }
  nlohmann::json call(const std::string& method, const std::string& path, const std::string& body = "") {
    ebb::net::HttpRequest request;
    request.method = method;
    request.url = base_ + path;
    request.body = body;
    request.headers.emplace_back("Content-Type", "application/json");
    auto response = http_.send(request);
    if (!response) FAIL("management API " << method << " " << path << ": " << response.error().message);
    if (response->status >= 300)
      FAIL("management API " << method << " " << path << ": " << response->status << " " << response->body);
    return response->body.empty() ? nlohmann::json() : nlohmann::json::parse(response->body);
  }
  // A queue holding `count` messages; deleted again by the returned guard.
  struct Queue {
    Admin* admin;
    std::string name;
    ~Queue() { admin->call("DELETE", "/queues/%2F/" + name); }
  };
  std::unique_ptr<Queue> queue_with(int count) {
    std::unique_ptr<Queue> q(new Queue{this, unique_name("q")});
    call("PUT", "/queues/%2F/" + q->name, R"({"durable":false,"auto_delete":false})");
    const nlohmann::json body = {{"properties", nlohmann::json::object()},
                                 {"routing_key", q->name},
                                 {"payload", "m"},
                                 {"payload_encoding", "string"}};
    for (int i = 0; i < count; ++i)
      REQUIRE(call("POST", "/exchanges/%2F/amq.default/publish", body.dump()).value("routed", false));
    return q;
  }
  // The broker's view of the AMQP connection named `name` (null until the broker lists it).
  nlohmann::json connection_named(const std::string& name) {
    for (const auto& c : call("GET", "/connections"))
      if (c.contains("client_properties") && c["client_properties"].value("connection_name", "") == name) return c;
    return nullptr;
  }

 private:
  ebb::net::HttpClient http_;
  std::string base_;
};

Admin& admin() {
  static Admin a;
  return a;
}

using Params = std::map<std::string, std::string>;

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make_trigger(ConnectionPools& pools, Params metadata, Params auth = {}) {
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

// One poll of a fresh trigger in pools of its own, so no earlier connection is reused.
ebb::Result<PollResult> poll_once(Params metadata, Params auth = {}) {
  ConnectionPools pools;
  return make_trigger(pools, std::move(metadata), std::move(auth)).scaler->poll();
}

// Management statistics lag about 0.5 s: polls until `expected` is read, at most 20 s.
ebb::Result<PollResult> poll_until(Scaler& scaler, double expected) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (true) {
    auto r = scaler.poll();
    if ((r && r->value == expected) || std::chrono::steady_clock::now() > deadline) return r;
    std::this_thread::sleep_for(200ms);
  }
}
ebb::Result<PollResult> poll_http_until(Params metadata, Params auth, double expected) {
  ConnectionPools pools;
  return poll_until(*make_trigger(pools, std::move(metadata), std::move(auth)).scaler, expected);
}

double value_of(const ebb::Result<PollResult>& r) {
  if (!r) FAIL("poll failed: " << r.error().message);
  return r->value;
}

// The poll failed with a message that starts like every rabbitmq poll error and mentions `what`.
void check_error(const ebb::Result<PollResult>& r, const std::string& what) {
  if (r) FAIL("expected an error mentioning '" << what << "', got the value " << r->value);
  INFO(r.error().message);
  CHECK(r.error().message.rfind("error inspecting RabbitMQ: ", 0) == 0);
  CHECK_THAT(r.error().message, Catch::Contains(what, Catch::CaseSensitive::No));
}

// Encrypted copies of the client key: PKCS#8 (what KEDA decrypts) and OpenSSL's traditional
// PEM encryption (Proc-Type/DEK-Info headers).
struct EncryptedKeys {
  ebb::test::TempDir dir{"ebb-rabbitmq-tls"};
  std::string password = "s3cret-key-Passw0rd";
  std::string pkcs8, traditional;
  EncryptedKeys() {
    const auto& s = shared_servers();
    auto openssl = [](std::vector<std::string> args) {
      auto r = ebb::test::run_command(args, 30s);
      if (r.exit_code != 0) FAIL("openssl " << args[1] << ": " << r.err);
    };
    openssl({"openssl", "pkey", "-in", s.rabbitmq_client_key_file, "-aes256", "-passout", "pass:" + password, "-out",
             dir.path() + "/pkcs8.key"});
    openssl({"openssl", "ec", "-in", s.rabbitmq_client_key_file, "-aes256", "-passout", "pass:" + password, "-out",
             dir.path() + "/traditional.key"});
    pkcs8 = ebb::test::read_file(dir.path() + "/pkcs8.key");
    traditional = ebb::test::read_file(dir.path() + "/traditional.key");
  }
};

}  // namespace

TEST_CASE("rabbitmq TLS: amqps with the CA reads the queue length") {
  auto q = admin().queue_with(4);
  const Params tls = {{"tls", "enable"}, {"ca", pem().ca}};
  ConnectionPools pools;
  auto t = make_trigger(pools, {{"queueName", q->name}, {"host", amqps_host()}, {"activationValue", "3"}}, tls);
  auto r = t.scaler->poll();
  CHECK(value_of(r) == 4);
  CHECK(r->active);

  // Credentials from auth params; and the server's DNS name instead of its IP address.
  const auto& s = shared_servers();
  Params with_credentials = tls;
  with_credentials.insert({{"username", s.rabbitmq_user}, {"password", s.rabbitmq_password}});
  CHECK(value_of(poll_once({{"queueName", q->name}, {"host", "amqps://127.0.0.1:" + port_text(s.rabbitmq_amqps_port)}},
                           with_credentials)) == 4);
  CHECK(value_of(poll_once({{"queueName", q->name},
                            {"host", "amqps://" + s.rabbitmq_user + ":" + s.rabbitmq_password + "@localhost:" +
                                         port_text(s.rabbitmq_amqps_port)}},
                           tls)) == 4);
}

TEST_CASE("rabbitmq TLS: amqps without the CA fails verification (never reads 0), and unsafeSsl skips it") {
  auto q = admin().queue_with(2);
  const Params meta = {{"queueName", q->name}, {"host", amqps_host()}};
  // Only the system roots: the test CA is unknown.
  check_error(poll_once(meta), "verif");
  check_error(poll_once(meta, {{"tls", "enable"}}), "verif");
  // Another CA does not vouch for the server either.
  ebb::test::TempDir other_dir("ebb-other-ca");
  const auto other = ebb::test::make_test_certs(other_dir.path());
  check_error(poll_once(meta, {{"tls", "enable"}, {"ca", other.ca_pem}}), "verif");

  Params unsafe = meta;
  unsafe["unsafeSsl"] = "true";
  CHECK(value_of(poll_once(unsafe, {{"tls", "enable"}})) == 2);
  // As in KEDA, unsafeSsl reaches the AMQP connection only with `tls: enable`.
  check_error(poll_once(unsafe), "verif");
}

TEST_CASE("rabbitmq TLS: a client certificate without credentials logs in with SASL EXTERNAL") {
  const auto& s = shared_servers();
  auto q = admin().queue_with(3);
  // A proxy of our own gives the connection a name that no other test uses.
  ebb::test::TcpProxy proxy("127.0.0.1", s.rabbitmq_amqps_port);
  const Params cert_auth = {{"tls", "enable"}, {"ca", pem().ca}, {"cert", pem().cert}, {"key", pem().key}};
  ConnectionPools pools;
  auto t = make_trigger(pools, {{"queueName", q->name}, {"host", "amqps://127.0.0.1:" + port_text(proxy.port()) + "/"}},
                        cert_auth);
  CHECK(value_of(t.scaler->poll()) == 3);

  // The broker says who logged in, and how.
  const std::string name = "ebb-127.0.0.1:" + port_text(proxy.port());
  nlohmann::json connection;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((connection = admin().connection_named(name)).is_null() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(250ms);
  REQUIRE_FALSE(connection.is_null());
  CHECK(connection.value("auth_mechanism", "") == "EXTERNAL");
  CHECK(connection.value("user", "") == s.rabbitmq_cert_user);
  CHECK(connection.value("ssl", false));

  // A password in the host URI means a password login, with the certificate only for TLS.
  CHECK(value_of(poll_once({{"queueName", q->name}, {"host", amqps_host()}}, cert_auth)) == 3);
  check_error(poll_once({{"queueName", q->name}, {"host", amqps_host("Wr0ngPassw0rd")}}, cert_auth), "login");
  // A certificate from a CA the broker does not trust is refused. (The reason, "alert unknown
  // ca", is in the message unless the broker's reset wins the race against its alert.)
  ebb::test::TempDir other_dir("ebb-other-ca");
  const auto other = ebb::test::make_test_certs(other_dir.path());
  check_error(poll_once({{"queueName", q->name}, {"host", "amqps://127.0.0.1:" + port_text(s.rabbitmq_amqps_port)}},
                        {{"tls", "enable"},
                         {"ca", pem().ca},
                         {"cert", other.client_cert_pem},
                         {"key", other.client_key_pem}}),
              "");
  // Without the certificate, the user that has no password cannot log in.
  check_error(poll_once({{"queueName", q->name}, {"host", "amqps://127.0.0.1:" + port_text(s.rabbitmq_amqps_port)}},
                        {{"tls", "enable"}, {"ca", pem().ca}, {"username", s.rabbitmq_cert_user}, {"password", "x"}}),
              "login");
}

TEST_CASE("rabbitmq TLS: an encrypted client key works with keyPassword, and fails clearly without it") {
  const auto& s = shared_servers();
  auto q = admin().queue_with(5);
  EncryptedKeys keys;
  const Params amqps = {{"queueName", q->name},
                        {"host", "amqps://127.0.0.1:" + port_text(s.rabbitmq_amqps_port) + "/"}};
  const Params https = {{"queueName", q->name}, {"host", https_host()}};
  for (const auto& [format, key] : {std::pair{"PKCS#8", keys.pkcs8}, std::pair{"traditional", keys.traditional}}) {
    INFO(format << " encrypted key");
    REQUIRE_THAT(key, Catch::Contains("ENCRYPTED"));
    const Params base = {{"tls", "enable"}, {"ca", pem().ca}, {"cert", pem().cert}, {"key", key}};
    Params good = base;
    good["keyPassword"] = keys.password;
    CHECK(value_of(poll_once(amqps, good)) == 5);  // SASL EXTERNAL with the decrypted key
    CHECK(value_of(poll_http_until(https, good, 5)) == 5);

    // A missing or wrong keyPassword is an error at once (never a passphrase prompt), and the
    // wrong password never appears in it.
    const std::string wrong = "Wr0ngKeyPassw0rd";
    Params bad = base;
    bad["keyPassword"] = wrong;
    for (const auto& meta : {amqps, https}) {
      for (const auto& auth : {base, bad}) {
        const auto started = std::chrono::steady_clock::now();
        auto r = poll_once(meta, auth);
        CHECK(std::chrono::steady_clock::now() - started < 5s);
        check_error(r, "key");
        if (!r) CHECK(r.error().message.find(wrong) == std::string::npos);
      }
    }
    auto missing = poll_once(amqps, base);
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.error().message, Catch::Contains("no keyPassword"));
  }
}

TEST_CASE("rabbitmq TLS: the HTTPS management API with the CA reads the value") {
  const auto& s = shared_servers();
  auto q = admin().queue_with(6);
  const Params meta = {{"queueName", q->name}, {"host", https_host()}};
  CHECK(value_of(poll_http_until(meta, {{"tls", "enable"}, {"ca", pem().ca}}, 6)) == 6);
  // With a client certificate, which the management listener verifies.
  CHECK(value_of(poll_http_until(meta, {{"tls", "enable"}, {"ca", pem().ca}, {"cert", pem().cert}, {"key", pem().key}},
                                 6)) == 6);
  // Credentials from auth params, and a regex over the TLS connection.
  CHECK(value_of(poll_http_until(
            {{"queueName", "^" + q->name + "$"}, {"useRegex", "true"},
             {"host", "https://localhost:" + port_text(s.rabbitmq_https_port) + "/"}},
            {{"tls", "enable"}, {"ca", pem().ca}, {"username", s.rabbitmq_user}, {"password", s.rabbitmq_password}},
            6)) == 6);
  // unsafeSsl applies to HTTP with or without `tls: enable`, as in KEDA.
  Params unsafe = meta;
  unsafe["unsafeSsl"] = "true";
  CHECK(value_of(poll_http_until(unsafe, {}, 6)) == 6);
  CHECK(value_of(poll_http_until(unsafe, {{"tls", "enable"}}, 6)) == 6);
}

TEST_CASE("rabbitmq TLS: the HTTPS management API without the CA is a verify error") {
  auto q = admin().queue_with(1);
  const Params meta = {{"queueName", q->name}, {"host", https_host()}};
  check_error(poll_once(meta), "certificate verify failed");
  check_error(poll_once(meta, {{"tls", "enable"}}), "certificate verify failed");
  // The CA only counts with `tls: enable`, as in KEDA.
  check_error(poll_once(meta, {{"ca", pem().ca}}), "certificate verify failed");
}

TEST_CASE("rabbitmq TLS: plain AMQP on the TLS port and TLS on the plain port fail within the timeout") {
  const auto& s = shared_servers();
  auto q = admin().queue_with(1);
  const Params tls = {{"tls", "enable"}, {"ca", pem().ca}};
  for (const std::string& host :
       {"amqp://" + s.rabbitmq_user + ":" + s.rabbitmq_password + "@127.0.0.1:" +
            port_text(s.rabbitmq_amqps_port) + "/",
        amqps_host("", s.rabbitmq_amqp_port)}) {
    INFO(host.substr(0, 5));
    const auto started = std::chrono::steady_clock::now();
    auto r = poll_once({{"queueName", q->name}, {"host", host}}, tls);
    CHECK(std::chrono::steady_clock::now() - started < 15s);
    check_error(r, "");
  }
}

TEST_CASE("rabbitmq TLS: a wrong password is an error that never shows the password") {
  const auto& s = shared_servers();
  auto q = admin().queue_with(1);
  const std::string wrong = "Wr0ngPassw0rd";
  const Params tls = {{"tls", "enable"}, {"ca", pem().ca}};
  Params auth_params = tls;
  auth_params.insert({{"username", s.rabbitmq_user}, {"password", wrong}});
  const std::vector<std::pair<Params, Params>> cases = {
      {{{"queueName", q->name}, {"host", amqps_host(wrong)}}, tls},
      {{{"queueName", q->name}, {"host", https_host(wrong)}}, tls},
      {{{"queueName", q->name}, {"host", "amqps://127.0.0.1:" + port_text(s.rabbitmq_amqps_port)}}, auth_params},
      {{{"queueName", q->name}, {"host", "https://127.0.0.1:" + port_text(s.rabbitmq_https_port)}}, auth_params},
  };
  for (const auto& [meta, auth] : cases) {
    INFO(meta.at("host").substr(0, 5) << (auth.count("password") ? " with auth params" : " with the URI"));
    auto r = poll_once(meta, auth);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find(wrong) == std::string::npos);
    CHECK(r.error().message.rfind("error inspecting RabbitMQ: ", 0) == 0);
    // The broker refused the login (AMQP 403 ACCESS_REFUSED, HTTP 401): TLS itself worked.
    CHECK((r.error().message.find("403") != std::string::npos || r.error().message.find("401") != std::string::npos ||
           r.error().message.find("login") != std::string::npos));
  }
}
