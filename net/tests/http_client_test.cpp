#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "ebb/net/http_client.h"
#include "ebb/strings.h"
#include "http_test_server.h"
#include "support.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using ebb::net::HttpClient;
using ebb::net::HttpClientOptions;
using ebb::net::HttpRequest;
using ebb::net::HttpResponse;
using ebb::net::testing::HttpServer;
namespace testing = ebb::test;

namespace {

HttpRequest get(std::string url) {
  HttpRequest request;
  request.url = std::move(url);
  return request;
}

HttpResponse must(ebb::Result<HttpResponse> result) {
  if (!result) FAIL(result.error().message);
  return std::move(result.value());
}

// One plain server for the tests that do not need a private one.
const HttpServer& http_server() {
  static const HttpServer server;
  return server;
}

}  // namespace

TEST_CASE("GET returns status, headers and body", "[http]") {
  const auto& server = http_server();
  HttpClient client;
  const auto response = must(client.send(get(server.url("/hello"))));
  CHECK(response.status == 200);
  CHECK(response.body == "hello world");
  CHECK(response.header("x-TEST") == "yes");
  CHECK(response.header("Content-Length") == "11");
  CHECK(response.header("X-Absent").empty());
}

TEST_CASE("any HTTP status is a successful result", "[http]") {
  HttpClient client;
  const auto response = must(client.send(get(http_server().url("/missing"))));
  CHECK(response.status == 404);
  CHECK(response.body == "no route for /missing");
}

TEST_CASE("sequential requests reuse one keep-alive connection", "[http]") {
  const auto& server = http_server();
  HttpClient client;
  CHECK(client.open_connections() == 0);
  const auto first = must(client.send(get(server.url("/peer"))));
  CHECK(client.open_connections() == 1);
  for (int i = 0; i < 3; ++i) {
    // The server answers with the client's port: the same port means the same connection.
    CHECK(must(client.send(get(server.url("/peer")))).body == first.body);
    CHECK(client.open_connections() == 1);
  }

  SECTION("also after a chunked response and a HEAD response") {
    CHECK(must(client.send(get(server.url("/chunked")))).status == 200);
    auto head = get(server.url("/hello"));
    head.method = "HEAD";
    const auto response = must(client.send(head));
    CHECK(response.header("Content-Length") == "11");
    CHECK(response.body.empty());
    CHECK(must(client.send(get(server.url("/peer")))).body == first.body);
    CHECK(client.open_connections() == 1);
  }
}

TEST_CASE("a chunked response is decoded, extensions and trailers skipped", "[http]") {
  HttpClient client;
  const auto response = must(client.send(get(http_server().url("/chunked"))));
  CHECK(response.status == 200);
  CHECK(response.body == "hello chunked world");
}

TEST_CASE("bodies spanning many reads are reassembled", "[http]") {
  HttpClient client;
  std::string expected_chunked;
  for (int i = 0; i < 5000; ++i) expected_chunked += "0123456789";
  CHECK(must(client.send(get(http_server().url("/many-chunks")))).body == expected_chunked);
  CHECK(must(client.send(get(http_server().url("/big")))).body == std::string(100000, 'x'));
  CHECK(client.open_connections() == 1);
}

TEST_CASE("POST sends the body with its length", "[http]") {
  HttpClient client;
  HttpRequest request = get(http_server().url("/echo?x=1"));
  request.method = "POST";
  request.body = "payload";
  request.headers = {{"Content-Type", "text/plain"}, {"Content-Length", "999"}};
  const auto response = must(client.send(request));
  CHECK(response.body == "POST /echo?x=1 payload");
}

TEST_CASE("userinfo in the URL becomes a Basic Authorization header", "[http]") {
  const auto& server = http_server();
  HttpClient client;
  const std::string url = "http://alice:s3cr%40t@127.0.0.1:" + std::to_string(server.port()) + "/auth";
  CHECK(must(client.send(get(url))).body == "Basic YWxpY2U6czNjckB0");  // base64("alice:s3cr@t")

  SECTION("an explicit Authorization header wins") {
    auto request = get(url);
    request.headers = {{"Authorization", "Bearer token"}};
    CHECK(must(client.send(request)).body == "Bearer token");
  }
}

TEST_CASE("Connection: close is honoured", "[http]") {
  HttpClient client;
  CHECK(must(client.send(get(http_server().url("/close")))).body == "bye");
  CHECK(client.open_connections() == 0);
}

TEST_CASE("max_idle_per_host 0 disables pooling", "[http]") {
  HttpClientOptions options;
  options.max_idle_per_host = 0;
  HttpClient client(options);
  CHECK(must(client.send(get(http_server().url("/hello")))).status == 200);
  CHECK(client.open_connections() == 0);
}

TEST_CASE("a pooled connection the server closed is not reused", "[http]") {
  HttpServer server;
  HttpClient client;
  const auto first = must(client.send(get(server.url("/drop"))));
  CHECK(first.body == "dropping");
  std::this_thread::sleep_for(100ms);  // let the FIN arrive
  const auto second = must(client.send(get(server.url("/peer"))));
  CHECK(second.status == 200);
  CHECK(client.open_connections() == 1);
}

TEST_CASE("a pooled connection that dies on reuse is retried only for idempotent methods", "[http]") {
  HttpServer server;
  HttpClient client;
  const std::string first_port = must(client.send(get(server.url("/peer")))).body;
  // The server now reads the next request on this connection and hangs up without answering.
  REQUIRE(must(client.send(get(server.url("/arm-drop")))).body == "armed");

  SECTION("GET is retried once on a fresh connection") {
    const auto response = must(client.send(get(server.url("/peer"))));
    CHECK(response.status == 200);
    CHECK(response.body != first_port);
    CHECK(client.open_connections() == 1);
  }

  SECTION("POST is not, since the server may have acted on it") {
    auto request = get(server.url("/echo"));
    request.method = "POST";
    request.body = "once";
    auto result = client.send(request);
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Contains("POST http://127.0.0.1:" + std::to_string(server.port()) + ": "));
    CHECK(result.error().transient);
    CHECK(client.open_connections() == 0);
  }
}

TEST_CASE("the request timeout bounds the whole request", "[http]") {
  HttpServer server;
  HttpClient client;
  auto request = get(server.url("/slow?2"));
  request.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto result = client.send(request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message ==
        "GET http://127.0.0.1:" + std::to_string(server.port()) + ": timed out after 300ms waiting for the response");
  CHECK(result.error().transient);
  CHECK(elapsed < 1500ms);
  CHECK(client.open_connections() == 0);
}

TEST_CASE("transport errors name scheme://host:port and never the credentials", "[http]") {
  const auto port = std::to_string(testing::free_port());
  HttpClient client;
  auto result = client.send(get("http://bob:hunter2@127.0.0.1:" + port + "/path?token=abc"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message ==
        "GET http://127.0.0.1:" + port + ": connect 127.0.0.1:" + port + ": Connection refused");
  CHECK(result.error().transient);

  SECTION("invalid URLs") {
    auto bad = client.send(get("http://bob:pa/ss@127.0.0.1:" + port + "/"));
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Contains("invalid URL"));
    CHECK_THAT(bad.error().message, !Contains("pa/ss") && !Contains("ss@"));

    auto big_port = client.send(get("http://127.0.0.1:99999/"));
    REQUIRE_FALSE(big_port.ok());
    CHECK(big_port.error().message == "invalid URL \"http://127.0.0.1:99999/\": invalid port \"99999\"");

    auto scheme = client.send(get("ftp://127.0.0.1/"));
    REQUIRE_FALSE(scheme.ok());
    CHECK_THAT(scheme.error().message, Contains("scheme must be http or https"));

    auto method = get("http://127.0.0.1:" + port + "/");
    method.method = "GET /x HTTP/1.1\r\nX:";
    auto injected = client.send(method);
    REQUIRE_FALSE(injected.ok());
    CHECK_THAT(injected.error().message, Contains("invalid HTTP method"));
  }
}

TEST_CASE("a response larger than max_response_bytes is an error", "[http]") {
  HttpClientOptions options;
  options.max_response_bytes = 1000;
  HttpClient client(options);
  auto result = client.send(get(http_server().url("/big")));
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Contains("response body larger than 1000 bytes"));
  CHECK(client.open_connections() == 0);
}

TEST_CASE("concurrent requests use separate connections and all return to the pool", "[http]") {
  const auto& server = http_server();
  HttpClient client;
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto result = client.send(get(server.url("/hello")));
        if (result && result->body == "hello world") ++succeeded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(succeeded == 40);
  CHECK(client.open_connections() >= 1);
  CHECK(client.open_connections() <= 4);
}

TEST_CASE("https with keep-alive and certificate verification", "[http][tls]") {
  HttpServer server(/*tls=*/true);
  HttpClientOptions options;
  options.tls.ca_pem = server.certs().ca_pem;  // tls.enabled is implied by the https scheme
  HttpClient client(options);
  const auto first = must(client.send(get(server.url("/peer"))));
  CHECK(must(client.send(get(server.url("/peer")))).body == first.body);
  CHECK(client.open_connections() == 1);

  SECTION("without the CA the request fails verification") {
    HttpClient untrusting;
    auto result = untrusting.send(get(server.url("/hello")));
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Contains("https://127.0.0.1:" + std::to_string(server.port()) +
                                                ": TLS handshake with 127.0.0.1:" +
                                                std::to_string(server.port()) + ": certificate verify failed"));
  }
}

TEST_CASE("a body delimited by connection close (openssl s_server -www, HTTP/1.0)", "[http][tls]") {
  testing::TempDir dir;
  const auto certs = testing::make_test_certs(dir.path());
  const auto port = testing::free_port();
  auto server = testing::Process::start({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port),
                                         "-cert", certs.server_cert_file, "-key", certs.server_key_file, "-www",
                                         "-quiet"},
                                        dir.path() + "/s_server.log");
  REQUIRE(testing::wait_for_port(port, 10s));
  HttpClientOptions options;
  options.tls.ca_pem = certs.ca_pem;
  HttpClient client(options);
  const auto response = must(client.send(get("https://localhost:" + std::to_string(port) + "/")));
  CHECK(response.status == 200);
  CHECK_THAT(response.body, Contains("<HTML>") && Contains("</HTML>"));
  CHECK(client.open_connections() == 0);
}

TEST_CASE("redact_url masks only the password", "[http][url]") {
  using ebb::net::redact_url;
  CHECK(redact_url("amqp://user:secret@h/") == "amqp://user:xxxxx@h/");
  CHECK(redact_url("https://user:secret@h:8443/p?q=1#f") == "https://user:xxxxx@h:8443/p?q=1#f");
  CHECK(redact_url("https://h:8443/p?mail=a@b") == "https://h:8443/p?mail=a@b");
  CHECK(redact_url("https://user@h/") == "https://user@h/");
  CHECK(redact_url("http://h/") == "http://h/");
  CHECK(redact_url("user:secret@h") == "user:xxxxx@h");
  CHECK(redact_url("amqp://user:p@ss@h/v") == "amqp://user:xxxxx@h/v");
  // An unescaped '/' in the password ends the authority for a strict parser; still masked.
  CHECK(redact_url("amqp://user:pa/ss@h/v") == "amqp://user:xxxxx@h/v");
  CHECK(redact_url("") == "");
}

TEST_CASE("url_escape_component keeps only unreserved characters", "[http][url]") {
  using ebb::net::url_escape_component;
  CHECK(url_escape_component("AZaz09-._~") == "AZaz09-._~");
  CHECK(url_escape_component("a b/c?d&e=f+g%") == "a%20b%2Fc%3Fd%26e%3Df%2Bg%25");
  CHECK(url_escape_component("\xc3\xa9") == "%C3%A9");
  CHECK(url_escape_component("") == "");
}

TEST_CASE("base64_encode pads as RFC 4648 says (Basic authorization)", "[http][url]") {
  using ebb::base64_encode;
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("guest:gu\xff\x01st") == "Z3Vlc3Q6Z3X/AXN0");
}
