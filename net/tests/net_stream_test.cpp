#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "ebb/net/stream.h"
#include "support.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using ebb::net::Stream;
using ebb::net::TlsOptions;
namespace testing = ebb::test;

namespace {

const auto kTimeout = std::chrono::milliseconds(2000);

// Sends a RESP inline PING and returns what came back.
std::string ping(Stream& stream) {
  auto written = stream.write_all("PING\r\n", kTimeout);
  REQUIRE(written.ok());
  char buffer[64];
  auto n = stream.read_some(buffer, sizeof buffer, kTimeout);
  if (!n) FAIL(n.error().message);
  return std::string(buffer, *n);
}

TlsOptions trusting(const testing::TestCerts& certs) {
  TlsOptions tls;
  tls.enabled = true;
  tls.ca_pem = certs.ca_pem;
  return tls;
}

// One TLS redis for the whole binary: generating certificates is the slow part.
const testing::RedisServer& tls_redis() {
  static const testing::RedisServer server({.tls = true});
  return server;
}

}  // namespace

TEST_CASE("connecting to a port nobody listens on names host:port and the cause", "[stream]") {
  const auto port = testing::free_port();
  auto stream = Stream::connect("127.0.0.1", port, {}, kTimeout);
  REQUIRE_FALSE(stream.ok());
  CHECK(stream.error().message == "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  CHECK(stream.error().transient);
}

TEST_CASE("plain TCP round trip with redis-server", "[stream]") {
  testing::RedisServer redis;
  auto stream = Stream::connect("127.0.0.1", redis.port(), {}, kTimeout);
  REQUIRE(stream.ok());
  CHECK((*stream)->peer() == "127.0.0.1:" + std::to_string(redis.port()));
  CHECK(ping(**stream) == "+PONG\r\n");

  SECTION("an orderly close by the peer is reported as such and closes the stream") {
    REQUIRE((*stream)->write_all("QUIT\r\n", kTimeout).ok());
    char buffer[64];
    auto reply = (*stream)->read_some(buffer, sizeof buffer, kTimeout);
    REQUIRE(reply.ok());
    CHECK(std::string(buffer, *reply) == "+OK\r\n");
    auto after = (*stream)->read_some(buffer, sizeof buffer, kTimeout);
    REQUIRE_FALSE(after.ok());
    CHECK(after.error().message == "read from " + (*stream)->peer() + ": connection closed by peer");
    CHECK((*stream)->peer_closed());
    CHECK_FALSE((*stream)->is_open());
  }

  SECTION("an idle connection closed by the server is no longer alive") {
    CHECK((*stream)->idle_alive());
    REQUIRE((*stream)->write_all("QUIT\r\n", kTimeout).ok());
    char buffer[64];
    REQUIRE((*stream)->read_some(buffer, sizeof buffer, kTimeout).ok());
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE((*stream)->idle_alive());
  }
}

TEST_CASE("host names are resolved, and failures to resolve name the host", "[stream]") {
  testing::RedisServer redis;
  // "localhost" may list ::1 first, where redis does not listen; the next address must be tried.
  auto stream = Stream::connect("localhost", redis.port(), {}, kTimeout);
  REQUIRE(stream.ok());
  CHECK((*stream)->peer() == "localhost:" + std::to_string(redis.port()));
  CHECK(ping(**stream) == "+PONG\r\n");

  auto missing = Stream::connect("no-such-host.invalid", 6379, {}, kTimeout);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Contains("resolve no-such-host.invalid:6379: "));
  CHECK(missing.error().transient);
}

TEST_CASE("a read that gets no answer times out within its deadline and closes the stream", "[stream]") {
  testing::SilentListener silent;
  auto stream = Stream::connect("127.0.0.1", silent.port(), {}, kTimeout);
  REQUIRE(stream.ok());
  REQUIRE((*stream)->write_all("PING\r\n", kTimeout).ok());

  char buffer[16];
  const auto started = std::chrono::steady_clock::now();
  auto n = (*stream)->read_some(buffer, sizeof buffer, 300ms);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message == "read from 127.0.0.1:" + std::to_string(silent.port()) + ": timed out after 300ms");
  CHECK(n.error().transient);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 1500ms);
  CHECK_FALSE((*stream)->is_open());
  CHECK_FALSE((*stream)->peer_closed());

  auto again = (*stream)->write_all("PING\r\n", kTimeout);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Contains("connection is closed"));
}

TEST_CASE("a TLS handshake that gets no answer times out", "[stream][tls]") {
  testing::SilentListener silent;
  TlsOptions tls;
  tls.enabled = true;
  // The first TLS connect loads the system trust store, which under sanitizers can eat the whole
  // budget before the handshake starts; a refused connect leaves the context cached.
  (void)Stream::connect("127.0.0.1", testing::free_port(), tls, kTimeout);
  const auto started = std::chrono::steady_clock::now();
  auto stream = Stream::connect("127.0.0.1", silent.port(), tls, 300ms);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(stream.ok());
  CHECK(stream.error().message ==
        "TLS handshake with 127.0.0.1:" + std::to_string(silent.port()) + ": timed out after 300ms");
  CHECK(stream.error().transient);
  CHECK(elapsed < 1500ms);
}

TEST_CASE("TLS to redis: certificate and name verification", "[stream][tls]") {
  const auto& redis = tls_redis();
  const std::string peer = "127.0.0.1:" + std::to_string(redis.port());

  SECTION("verifies against the extra CA and the IP address in the certificate") {
    auto stream = Stream::connect("127.0.0.1", redis.port(), trusting(redis.certs()), kTimeout);
    if (!stream) FAIL(stream.error().message);
    CHECK(ping(**stream) == "+PONG\r\n");
  }

  SECTION("server_name replaces the host for SNI and verification") {
    auto tls = trusting(redis.certs());
    tls.server_name = "localhost";
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    if (!stream) FAIL(stream.error().message);
    CHECK(ping(**stream) == "+PONG\r\n");
  }

  SECTION("fails without the CA: system roots do not know it") {
    TlsOptions tls;
    tls.enabled = true;
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    REQUIRE_FALSE(stream.ok());
    CHECK_THAT(stream.error().message, Contains("TLS handshake with " + peer + ": certificate verify failed"));
    CHECK_FALSE(stream.error().transient);
  }

  SECTION("insecure_skip_verify accepts the unknown CA") {
    TlsOptions tls;
    tls.enabled = true;
    tls.insecure_skip_verify = true;
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    if (!stream) FAIL(stream.error().message);
    CHECK(ping(**stream) == "+PONG\r\n");
  }

  SECTION("a server_name the certificate does not carry fails") {
    auto tls = trusting(redis.certs());
    tls.server_name = "wrong.example";
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    REQUIRE_FALSE(stream.ok());
    CHECK_THAT(stream.error().message,
               Contains("TLS handshake with " + peer + ": certificate verify failed") &&
                   Contains("hostname mismatch", Catch::CaseSensitive::No));
  }

  SECTION("an unparsable CA is a setup error, not a network error") {
    TlsOptions tls;
    tls.enabled = true;
    tls.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    REQUIRE_FALSE(stream.ok());
    CHECK_THAT(stream.error().message, Contains("TLS setup for " + peer + ": invalid CA certificate"));
    CHECK_FALSE(stream.error().transient);
  }

  SECTION("plain TCP to the TLS port gets no PONG") {
    auto stream = Stream::connect("127.0.0.1", redis.port(), {}, kTimeout);
    REQUIRE(stream.ok());
    REQUIRE((*stream)->write_all("PING\r\n", kTimeout).ok());
    char buffer[64];
    auto n = (*stream)->read_some(buffer, sizeof buffer, kTimeout);
    CHECK_FALSE(n.ok());
  }
}

TEST_CASE("TLS client certificates", "[stream][tls]") {
  testing::RedisServer redis({.tls = true, .tls_auth_clients = true});
  const auto& certs = redis.certs();
  auto tls = trusting(certs);

  SECTION("a plain key") {
    tls.cert_pem = certs.client_cert_pem;
    tls.key_pem = certs.client_key_pem;
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    if (!stream) FAIL(stream.error().message);
    CHECK(ping(**stream) == "+PONG\r\n");
  }

  SECTION("an encrypted key with its password") {
    tls.cert_pem = certs.client_cert_pem;
    tls.key_pem = certs.client_key_encrypted_pem;
    tls.key_password = certs.client_key_password;
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    if (!stream) FAIL(stream.error().message);
    CHECK(ping(**stream) == "+PONG\r\n");
  }

  SECTION("an encrypted key with a wrong password fails without prompting or echoing it") {
    tls.cert_pem = certs.client_cert_pem;
    tls.key_pem = certs.client_key_encrypted_pem;
    tls.key_password = "wrong-password";
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    REQUIRE_FALSE(stream.ok());
    CHECK_THAT(stream.error().message, Contains("invalid client key"));
    CHECK_THAT(stream.error().message, !Contains("wrong-password"));
  }

  SECTION("a certificate without its key is rejected before connecting") {
    tls.cert_pem = certs.client_cert_pem;
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    REQUIRE_FALSE(stream.ok());
    CHECK_THAT(stream.error().message, Contains("needs both a certificate and a key"));
  }

  SECTION("without a client certificate the server refuses") {
    // With TLS 1.3 the client finishes its handshake before the server checks for a
    // certificate, so the refusal may only surface on the first read.
    auto stream = Stream::connect("127.0.0.1", redis.port(), tls, kTimeout);
    if (stream) {
      auto written = (*stream)->write_all("PING\r\n", kTimeout);
      char buffer[64];
      auto n = written ? (*stream)->read_some(buffer, sizeof buffer, kTimeout)
                       : ebb::Result<std::size_t>(ebb::fail("write failed"));
      CHECK_FALSE(n.ok());
    }
  }
}
