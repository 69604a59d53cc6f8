// ebb::net::HttpServer over real loopback sockets, with ebb::net::HttpClient as the client and a
// raw Stream for input no well-behaved client sends. Certificates come from the server itself
// (make_self_signed_certificate) and from the openssl command line (make_test_certs).
#include "ebb/net/http_server.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ebb/net/certificates.h"
#include "ebb/net/http_client.h"
#include "ebb/net/stream.h"
#include "ebb/strings.h"
#include "support.h"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using ebb::net::HttpClient;
using ebb::net::HttpClientOptions;
using ebb::net::HttpRequest;
using ebb::net::HttpResponse;
using ebb::net::HttpServer;
using ebb::net::HttpServerOptions;
using ebb::net::ServerRequest;
using ebb::net::ServerResponse;
using ebb::net::ServerTls;
namespace testing = ebb::test;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<HttpServer> must_start(HttpServerOptions options,
                                       ebb::net::RequestHandler handler) {
  auto server = HttpServer::start(std::move(options), std::move(handler));
  if (!server) FAIL("start: " << server.error().message);
  return std::move(server.value());
}

HttpResponse must(ebb::Result<HttpResponse> result) {
  if (!result) FAIL(result.error().message);
  return std::move(result.value());
}

HttpRequest request(std::string url, std::string method = "GET", std::string body = "") {
  HttpRequest r;
  r.url = std::move(url);
  r.method = std::move(method);
  r.body = std::move(body);
  return r;
}

ServerResponse ok_handler(const ServerRequest&) {
  return ServerResponse::text(200, "ok");
}

// Collects on_error messages; thread-safe.
struct ErrorLog {
  std::mutex mutex;
  std::vector<std::string> messages;
  std::function<void(std::string_view)> hook() {
    return [this](std::string_view m) {
      std::lock_guard lock(mutex);
      messages.emplace_back(m);
    };
  }
  std::string all() {
    std::lock_guard lock(mutex);
    return ebb::join(messages, "\n");
  }
};

// Sends raw bytes and returns everything the server sends until it closes the connection.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  auto stream = ebb::net::Stream::connect("127.0.0.1", port, {}, 2s);
  REQUIRE(stream);
  REQUIRE((*stream)->write_all(bytes, 2s));
  std::string out;
  char buffer[4096];
  while (true) {
    auto n = (*stream)->read_some(buffer, sizeof buffer, 3s);
    if (!n) break;
    out.append(buffer, *n);
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

HttpClient tls_client(const std::string& ca_pem, const std::string& cert_pem = "",
                      const std::string& key_pem = "") {
  HttpClientOptions options;
  options.tls.ca_pem = ca_pem;
  options.tls.cert_pem = cert_pem;
  options.tls.key_pem = key_pem;
  return HttpClient(options);
}

}  // namespace

TEST_CASE("server: GET and POST with path, query, headers and body", "[http-server]") {
  std::mutex mutex;
  std::vector<ServerRequest> seen;
  auto server = must_start({}, [&](const ServerRequest& r) {
    std::lock_guard lock(mutex);
    seen.push_back(r);
    if (r.method == "POST") {
      ServerResponse res = ServerResponse::json(201, R"({"got":")" + r.body + R"("})");
      res.headers.emplace_back("X-Reply", "yes");
      return res;
    }
    return ServerResponse::text(200, "path=" + r.path + " x=" + r.query_value("x"));
  });
  REQUIRE_THAT(server->url(), Contains("http://127.0.0.1:"));
  HttpClient client;

  auto get =
      request(server->url() + "/apis/a%20b/c%2Fd?x=1&labelSelector=app%3Dweb&y=two+words&x=2&flag");
  get.headers = {{"X-Test", "yes"}, {"X-Multi", "a"}, {"x-multi", "b"}};
  const auto got = must(client.send(get));
  CHECK(got.status == 200);
  CHECK(got.body == "path=/apis/a b/c/d x=1");
  CHECK(got.header("Content-Type") == "text/plain; charset=utf-8");

  const auto posted = must(client.send(request(server->url() + "/hook", "POST", "payload")));
  CHECK(posted.status == 201);
  CHECK(posted.body == R"({"got":"payload"})");
  CHECK(posted.header("x-reply") == "yes");
  CHECK(posted.header("content-type") == "application/json");

  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 2);
  const auto& r = seen[0];
  CHECK(r.method == "GET");
  CHECK(r.target == "/apis/a%20b/c%2Fd?x=1&labelSelector=app%3Dweb&y=two+words&x=2&flag");
  CHECK(r.path == "/apis/a b/c/d");
  using Q = std::vector<std::pair<std::string, std::string>>;
  CHECK(r.query ==
        Q{{"x", "1"}, {"labelSelector", "app=web"}, {"y", "two words"}, {"x", "2"}, {"flag", ""}});
  CHECK(r.query_value("labelSelector") == "app=web");
  CHECK(r.query_value("absent").empty());
  CHECK(r.header("x-TEST") == "yes");
  CHECK(r.header_values("X-MULTI") == std::vector<std::string>{"a", "b"});
  CHECK(r.header("X-Absent").empty());
  CHECK(r.body.empty());
  CHECK_THAT(r.remote, Contains("127.0.0.1:"));
  CHECK_FALSE(r.peer.has_value());
  CHECK(seen[1].body == "payload");
  CHECK(seen[1].method == "POST");
}

TEST_CASE("server: keep-alive connections are reused and Connection: close is honoured",
          "[http-server]") {
  auto server = must_start({}, ok_handler);
  HttpClient client;
  for (int i = 0; i < 5; ++i) CHECK(must(client.send(request(server->url() + "/x"))).status == 200);
  CHECK(server->connections_accepted() == 1);

  auto closing = request(server->url() + "/x");
  closing.headers = {{"Connection", "close"}};
  const auto response = must(client.send(closing));
  CHECK(response.status == 200);
  CHECK(ebb::iequals(response.header("Connection"), "close"));
  CHECK(must(client.send(request(server->url() + "/x"))).status == 200);
  // The pooled connection served the close request and then went away; the next needed a new one.
  CHECK(server->connections_accepted() == 2);

  // A handler that asks to close is honoured too.
  auto server2 = must_start({}, [](const ServerRequest&) {
    auto res = ServerResponse::text(200, "bye");
    res.headers.emplace_back("Connection", "close");
    return res;
  });
  HttpClient client2;
  CHECK(must(client2.send(request(server2->url() + "/"))).status == 200);
  CHECK(must(client2.send(request(server2->url() + "/"))).status == 200);
  CHECK(server2->connections_accepted() == 2);
}

TEST_CASE("server: HEAD gets headers without a body, 204 has no body", "[http-server]") {
  auto server = must_start({}, [](const ServerRequest& r) {
    return r.path == "/empty" ? ServerResponse::text(204, "ignored")
                              : ServerResponse::text(200, "hello");
  });
  const auto head =
      raw_exchange(server->port(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK_THAT(head, Contains("HTTP/1.1 200 OK"));
  CHECK_THAT(head, Contains("Content-Length: 5"));
  CHECK(head.find("hello") == std::string::npos);
  HttpClient client;
  const auto empty = must(client.send(request(server->url() + "/empty")));
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
}

TEST_CASE("server: a body over the limit gets 413, one at the limit is served", "[http-server]") {
  HttpServerOptions options;
  options.max_body_bytes = 64 * 1024;
  std::atomic<int> calls{0};
  auto server = must_start(options, [&](const ServerRequest& r) {
    ++calls;
    return ServerResponse::text(200, std::to_string(r.body.size()));
  });
  HttpClient client;
  auto big = request(server->url() + "/hook", "POST", std::string(8u << 20, 'x'));
  big.timeout = 10s;
  const auto refused = must(client.send(big));
  CHECK(refused.status == 413);
  CHECK_THAT(refused.body, Contains(R"("reason":"RequestEntityTooLarge")"));
  CHECK_THAT(refused.body, Contains(R"("code":413)"));
  CHECK(refused.header("Content-Type") == "application/json");
  CHECK(calls == 0);

  const auto fits =
      must(client.send(request(server->url() + "/hook", "POST", std::string(64 * 1024, 'y'))));
  CHECK(fits.status == 200);
  CHECK(fits.body == "65536");
  CHECK(calls == 1);
}

TEST_CASE("server: malformed requests get 400", "[http-server]") {
  std::atomic<int> calls{0};
  auto server = must_start({}, [&](const ServerRequest&) {
    ++calls;
    return ServerResponse::text(200, "ok");
  });
  const auto garbage = raw_exchange(server->port(), "GARBAGE \x01\x02 nonsense\r\n\r\n");
  CHECK_THAT(garbage, Contains("HTTP/1.1 400 Bad Request"));
  CHECK_THAT(garbage, Contains(R"("reason":"BadRequest")"));

  const auto bad_length =
      raw_exchange(server->port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  CHECK_THAT(bad_length, Contains("HTTP/1.1 400"));

  const auto bad_escape = raw_exchange(server->port(), "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK_THAT(bad_escape, Contains("HTTP/1.1 400"));
  CHECK(calls == 0);

  // The server is still fine afterwards.
  HttpClient client;
  CHECK(must(client.send(request(server->url() + "/"))).status == 200);
}

TEST_CASE("server: a handler exception becomes a generic 500 and goes to on_error",
          "[http-server]") {
  ErrorLog errors;
  HttpServerOptions options;
  options.on_error = errors.hook();
  auto server = must_start(options, [](const ServerRequest& r) -> ServerResponse {
    if (r.path == "/throw") throw std::runtime_error("database password is hunter2");
    if (r.path == "/bad-status") return ServerResponse::text(42, "?");
    if (r.path == "/bad-header") {
      auto res = ServerResponse::text(200, "x");
      res.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: b");
      return res;
    }
    return ServerResponse::text(200, "fine");
  });
  HttpClient client;
  const auto thrown = must(client.send(request(server->url() + "/throw")));
  CHECK(thrown.status == 500);
  CHECK_THAT(thrown.body, Contains(R"("reason":"InternalError")"));
  CHECK(thrown.body.find("hunter2") == std::string::npos);
  CHECK_THAT(errors.all(), Contains("GET /throw"));
  CHECK_THAT(errors.all(), Contains("database password is hunter2"));

  CHECK(must(client.send(request(server->url() + "/bad-status"))).status == 500);
  const auto injected = must(client.send(request(server->url() + "/bad-header")));
  CHECK(injected.status == 500);
  CHECK(injected.header("Set-Cookie").empty());
  CHECK_THAT(errors.all(), Contains("invalid status 42"));
  CHECK_THAT(errors.all(), Contains("invalid header \"X-Evil\""));
  // Still serving on the same connection.
  CHECK(must(client.send(request(server->url() + "/"))).body == "fine");
  CHECK(server->connections_accepted() == 1);
}

TEST_CASE("server: more slow requests than threads all complete, never more than threads at once",
          "[http-server]") {
  HttpServerOptions options;
  options.threads = 2;
  std::atomic<int> running{0}, most{0};
  auto server = must_start(options, [&](const ServerRequest&) {
    const int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(200ms);
    --running;
    return ServerResponse::text(200, "done");
  });
  // One shared client: after the first round its pool holds idle keep-alive connections, which
  // must not keep the two workers from serving the second round.
  HttpClient client;
  for (int round = 0; round < 2; ++round) {
    constexpr int kRequests = 8;
    std::atomic<int> succeeded{0};
    std::vector<std::string> failures(kRequests);
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < kRequests; ++i) {
      threads.emplace_back([&, i] {
        auto r = request(server->url() + "/slow");
        r.timeout = 10s;
        auto response = client.send(r);
        if (response && response->status == 200 && response->body == "done") {
          ++succeeded;
        } else {
          failures[i] = response ? std::to_string(response->status) : response.error().message;
        }
      });
    }
    for (auto& t : threads) t.join();
    const auto elapsed = Clock::now() - start;
    INFO("round " << round << ": " << ebb::join(failures, "; "));
    CHECK(succeeded == kRequests);
    CHECK(most == 2);
    // Two at a time: four waves of 200 ms, far below the 8 s the idle connections would cost
    // if they held workers until their idle timeout.
    CHECK(elapsed >= 750ms);
    CHECK(elapsed < 3s);
  }
}

TEST_CASE("server: a request that stalls is cut after read_timeout", "[http-server]") {
  HttpServerOptions options;
  options.read_timeout = 300ms;
  auto server = must_start(options, ok_handler);
  auto stream = ebb::net::Stream::connect("127.0.0.1", server->port(), {}, 2s);
  REQUIRE(stream);
  REQUIRE((*stream)->write_all("GET / HTTP/1.1\r\nHost: x\r\n", 1s));  // headers never finish
  const auto start = Clock::now();
  char buffer[256];
  auto n = (*stream)->read_some(buffer, sizeof buffer, 5s);
  CHECK_FALSE(n);
  CHECK((*stream)->peer_closed());
  CHECK(Clock::now() - start < 2s);

  // A connection that never sends anything is dropped too.
  auto silent = ebb::net::Stream::connect("127.0.0.1", server->port(), {}, 2s);
  REQUIRE(silent);
  const auto silent_start = Clock::now();
  CHECK_FALSE((*silent)->read_some(buffer, sizeof buffer, 5s));
  CHECK(Clock::now() - silent_start < 2s);
}

TEST_CASE("server: idle keep-alive connections are closed after idle_timeout", "[http-server]") {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  auto server = must_start(options, ok_handler);
  auto stream = ebb::net::Stream::connect("127.0.0.1", server->port(), {}, 2s);
  REQUIRE(stream);
  REQUIRE((*stream)->write_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1s));
  char buffer[512];
  auto n = (*stream)->read_some(buffer, sizeof buffer, 2s);
  REQUIRE(n);
  CHECK_THAT(std::string(buffer, *n), Contains("HTTP/1.1 200"));
  const auto start = Clock::now();
  CHECK_FALSE((*stream)->read_some(buffer, sizeof buffer, 5s));
  CHECK((*stream)->peer_closed());
  const auto waited = Clock::now() - start;
  CHECK(waited >= 200ms);
  CHECK(waited < 2s);
}

TEST_CASE("server: pipelined requests on one connection are all answered", "[http-server]") {
  auto server =
      must_start({}, [](const ServerRequest& r) { return ServerResponse::text(200, r.path); });
  const auto out =
      raw_exchange(server->port(),
                   "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto one = out.find("/one"), two = out.find("/two"), three = out.find("/three");
  REQUIRE(one != std::string::npos);
  REQUIRE(two != std::string::npos);
  REQUIRE(three != std::string::npos);
  CHECK(one < two);
  CHECK(two < three);
}

TEST_CASE("server: stop() finishes in-flight requests and does not wait for idle connections",
          "[http-server]") {
  HttpServerOptions options;
  options.idle_timeout = 60s;
  auto server = must_start(options, [](const ServerRequest& r) {
    if (r.path == "/slow") std::this_thread::sleep_for(400ms);
    return ServerResponse::text(200, "ok");
  });
  HttpClient idle_client;
  CHECK(must(idle_client.send(request(server->url() + "/"))).status ==
        200);  // now idle, kept alive

  ebb::Result<HttpResponse> slow = ebb::fail("not run");
  std::thread in_flight([&] {
    auto r = request(server->url() + "/slow");
    r.timeout = 5s;
    HttpClient client;
    slow = client.send(r);
  });
  std::this_thread::sleep_for(150ms);
  const auto start = Clock::now();
  server->stop(5s);
  const auto took = Clock::now() - start;
  in_flight.join();
  REQUIRE(slow);
  CHECK(slow->status == 200);
  CHECK(took < 1500ms);
  // Nothing listens any more.
  HttpClient after;
  CHECK_FALSE(after.send(request(server->url() + "/")));
  server->stop();  // twice is fine
}

TEST_CASE("server: stop() cuts requests that outlast the grace period", "[http-server]") {
  auto server = must_start({}, [](const ServerRequest&) {
    std::this_thread::sleep_for(1500ms);
    return ServerResponse::text(200, "late");
  });
  ebb::Result<HttpResponse> slow = ebb::fail("not run");
  std::thread in_flight([&] {
    auto r = request(server->url() + "/");
    r.timeout = 5s;
    HttpClient client;
    slow = client.send(r);
  });
  std::this_thread::sleep_for(150ms);
  server->stop(200ms);
  in_flight.join();
  CHECK_FALSE(slow);  // the connection was closed before the late answer
}

TEST_CASE("server: bind errors", "[http-server]") {
  auto first = must_start({}, ok_handler);
  HttpServerOptions options;
  options.bind_address = "127.0.0.1:" + std::to_string(first->port());
  auto second = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(second);
  CHECK(second.error().message ==
        "listen 127.0.0.1:" + std::to_string(first->port()) + ": Address already in use");

  for (const auto& [address, message] :
       std::vector<std::pair<std::string, std::string>>{{"nonsense", "expected host:port"},
                                                        {"127.0.0.1:99999", "invalid port"},
                                                        {"127.0.0.1:", "invalid port"},
                                                        {"::1:80", "brackets"},
                                                        {"[nope]:80", "not an IPv6 address"}}) {
    HttpServerOptions bad;
    bad.bind_address = address;
    auto result = HttpServer::start(bad, ok_handler);
    INFO(address);
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().message, Contains(message));
  }

  HttpServerOptions any;
  any.bind_address = ":0";
  auto all_interfaces = must_start(any, ok_handler);
  CHECK_THAT(all_interfaces->url(), Contains("http://127.0.0.1:"));
  HttpClient client;
  CHECK(must(client.send(request(all_interfaces->url() + "/"))).status == 200);

  HttpServerOptions v6;
  v6.bind_address = "[::1]:0";
  auto ipv6 = HttpServer::start(v6, ok_handler);
  if (ipv6) {  // hosts without IPv6 loopback refuse to bind; that is their business, not ours
    CHECK_THAT((*ipv6)->url(), Contains("http://[::1]:"));
    CHECK(must(client.send(request((*ipv6)->url() + "/"))).status == 200);
  } else {
    CHECK_THAT(ipv6.error().message, Contains("listen [::1]:0"));
  }
}

TEST_CASE("server: self-signed TLS trusted through ca_pem", "[http-server][tls]") {
  HttpServerOptions options;
  options.tls = ServerTls{};
  auto server = must_start(options, ok_handler);
  CHECK_THAT(server->url(), Contains("https://127.0.0.1:"));
  const std::string pem = server->certificate_pem();
  CHECK_THAT(pem, Contains("BEGIN CERTIFICATE"));
  CHECK(pem.find("PRIVATE KEY") == std::string::npos);

  HttpClient trusting = tls_client(pem);
  CHECK(must(trusting.send(request(server->url() + "/"))).body == "ok");
  CHECK(must(trusting.send(request("https://localhost:" + std::to_string(server->port()) + "/")))
            .body == "ok");

  HttpClient stranger;
  auto refused = stranger.send(request(server->url() + "/"));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Contains("certificate verify failed"));

  // TLS 1.3 only.
  options.tls->min_version = "1.3";
  auto tls13 = must_start(options, ok_handler);
  HttpClient client13 = tls_client(tls13->certificate_pem());
  CHECK(must(client13.send(request(tls13->url() + "/"))).status == 200);
  options.tls->min_version = "1.1";
  auto old = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(old);
  CHECK_THAT(old.error().message, Contains("\"1.1\""));
}

TEST_CASE("make_self_signed_certificate: names and errors", "[http-server][tls]") {
  auto made = ebb::net::make_self_signed_certificate({"ebb.example", "10.1.2.3", "[::1]"});
  REQUIRE(made);
  CHECK_THAT(made->first, Contains("BEGIN CERTIFICATE"));
  CHECK_THAT(made->second, Contains("BEGIN PRIVATE KEY"));
  testing::TempDir dir;
  write_file(dir.path() + "/c.pem", made->first);
  const auto text =
      testing::run_command({"openssl", "x509", "-in", dir.path() + "/c.pem", "-noout", "-text"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("DNS:ebb.example"));
  CHECK_THAT(text.out, Contains("IP Address:10.1.2.3"));
  CHECK_THAT(text.out, Contains("IP Address:0:0:0:0:0:0:0:1"));
  CHECK_THAT(text.out, Contains("CN = ebb.example"));
  CHECK_THAT(text.out, Contains("ASN1 OID: prime256v1"));

  CHECK_FALSE(ebb::net::make_self_signed_certificate({}));
  auto bad = ebb::net::make_self_signed_certificate({"bad name,DNS:evil"});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("invalid host name"));
}

TEST_CASE("server: TLS from files is reloaded when the files change, a bad pair keeps the old one",
          "[http-server][tls]") {
  testing::TempDir dir;
  const std::string cert_file = dir.path() + "/tls.crt", key_file = dir.path() + "/tls.key";
  auto first = ebb::net::make_self_signed_certificate({"127.0.0.1"});
  auto second = ebb::net::make_self_signed_certificate({"127.0.0.1"});
  REQUIRE(first);
  REQUIRE(second);
  write_file(cert_file, first->first);
  write_file(key_file, first->second);

  ErrorLog errors;
  HttpServerOptions options;
  options.tls = ServerTls{};
  options.tls->cert_file = cert_file;
  options.tls->key_file = key_file;
  options.tls->reload_check_interval = 50ms;
  options.on_error = errors.hook();
  auto server = must_start(options, ok_handler);
  CHECK(server->certificate_pem() == first->first);
  {
    HttpClient trusts_first = tls_client(first->first);
    CHECK(must(trusts_first.send(request(server->url() + "/"))).status == 200);
  }

  // Rotation: both files rewritten.
  write_file(cert_file, second->first);
  write_file(key_file, second->second);
  std::this_thread::sleep_for(100ms);
  {
    HttpClient trusts_second = tls_client(second->first);  // a new connection triggers the check
    CHECK(must(trusts_second.send(request(server->url() + "/"))).status == 200);
    CHECK(server->certificate_pem() == second->first);
    HttpClient trusts_first = tls_client(first->first);
    auto refused = trusts_first.send(request(server->url() + "/"));
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Contains("certificate verify failed"));
  }
  // The client that no longer trusts the served certificate aborted its handshake; nothing else.
  CHECK(errors.all().find("reloading") == std::string::npos);

  // A certificate that does not match the key: the old pair stays.
  write_file(cert_file, first->first);
  std::this_thread::sleep_for(100ms);
  {
    HttpClient trusts_second = tls_client(second->first);
    CHECK(must(trusts_second.send(request(server->url() + "/"))).status == 200);
  }
  CHECK(server->certificate_pem() == second->first);
  CHECK_THAT(errors.all(), Contains("still serving the previous one"));
  CHECK_THAT(errors.all(), Contains("does not match"));

  // Garbage: the same, and the message names the file, never its content.
  write_file(key_file, "-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n");
  std::this_thread::sleep_for(100ms);
  {
    HttpClient trusts_second = tls_client(second->first);
    CHECK(must(trusts_second.send(request(server->url() + "/"))).status == 200);
  }
  CHECK_THAT(errors.all(), Contains("TLS key file " + key_file));
  CHECK(errors.all().find("not really") == std::string::npos);
  CHECK(errors.all().find(second->second.substr(30, 20)) == std::string::npos);

  // Fixed again: served at once.
  write_file(cert_file, first->first);
  write_file(key_file, first->second);
  std::this_thread::sleep_for(100ms);
  {
    HttpClient trusts_first = tls_client(first->first);
    CHECK(must(trusts_first.send(request(server->url() + "/"))).status == 200);
  }
  CHECK(server->certificate_pem() == first->first);
}

TEST_CASE("server: TLS start errors name the file, never the key", "[http-server][tls]") {
  testing::TempDir dir;
  auto pair = ebb::net::make_self_signed_certificate({"127.0.0.1"});
  REQUIRE(pair);
  HttpServerOptions options;
  options.tls = ServerTls{};
  options.tls->cert_file = dir.path() + "/missing.crt";
  options.tls->key_file = dir.path() + "/missing.key";
  auto missing = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Contains("missing.crt"));
  CHECK_THAT(missing.error().message, Contains("No such file"));

  options.tls = ServerTls{};
  options.tls->cert_pem = pair->first;
  options.tls->key_pem = pair->first;  // a certificate where the key should be
  auto wrong = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message, Contains("TLS key (PEM text)"));
  CHECK(wrong.error().message.find("BEGIN") == std::string::npos);

  options.tls = ServerTls{};
  options.tls->cert_pem = pair->first;
  auto half = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(half);

  options.tls = ServerTls{};
  options.tls->client_ca_bundles = {{"front-proxy", "not a certificate"}};
  auto bad_bundle = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(bad_bundle);
  CHECK_THAT(bad_bundle.error().message, Contains("client CA bundle \"front-proxy\""));

  options.tls = ServerTls{};
  options.tls->cert_pem = pair->first;
  options.tls->key_pem = pair->second;
  auto from_pem = must_start(options, ok_handler);
  CHECK(from_pem->certificate_pem() == pair->first);
  HttpClient client = tls_client(pair->first);
  CHECK(must(client.send(request(from_pem->url() + "/"))).status == 200);
}

TEST_CASE("server: client certificates say which CA bundles verified them", "[http-server][tls]") {
  testing::TempDir dir_a, dir_b, dir_c;
  const auto direct = testing::make_test_certs(dir_a.path());  // CA for direct clients
  const auto proxy = testing::make_test_certs(dir_b.path());   // front-proxy CA
  // A self-signed client certificate nobody trusts, with groups.
  const std::string rogue_cert = dir_c.path() + "/rogue.crt",
                    rogue_key = dir_c.path() + "/rogue.key";
  const auto made = testing::run_command(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-subj", "/CN=intruder/O=system:masters/O=dev", "-days", "1", "-keyout", rogue_key,
       "-out", rogue_cert},
      30s);
  REQUIRE(made.exit_code == 0);

  HttpServerOptions options;
  options.tls = ServerTls{};
  options.tls->client_ca_bundles = {{"client-ca", direct.ca_pem},
                                    {"requestheader", proxy.ca_pem},
                                    {"both", direct.ca_pem + proxy.ca_pem}};
  auto server = must_start(options, [](const ServerRequest& r) {
    if (!r.peer) return ServerResponse::text(200, "none");
    return ServerResponse::text(200, r.peer->common_name + "|" +
                                         ebb::join(r.peer->organizations, ",") + "|" +
                                         ebb::join(r.peer->verified_by, ","));
  });
  const std::string server_ca = server->certificate_pem();

  HttpClient anonymous = tls_client(server_ca);
  CHECK(must(anonymous.send(request(server->url() + "/"))).body == "none");

  HttpClient direct_client = tls_client(server_ca, direct.client_cert_pem, direct.client_key_pem);
  CHECK(must(direct_client.send(request(server->url() + "/"))).body ==
        "ebb-test-client||client-ca,both");

  HttpClient proxy_client = tls_client(server_ca, proxy.client_cert_pem, proxy.client_key_pem);
  CHECK(must(proxy_client.send(request(server->url() + "/"))).body ==
        "ebb-test-client||requestheader,both");

  HttpClient rogue =
      tls_client(server_ca, testing::read_file(rogue_cert), testing::read_file(rogue_key));
  CHECK(must(rogue.send(request(server->url() + "/"))).body == "intruder|system:masters,dev|");

  // Without bundles no certificate is asked for, so none is reported.
  HttpServerOptions plain_tls;
  plain_tls.tls = ServerTls{};
  auto no_bundles = must_start(plain_tls, [](const ServerRequest& r) {
    return ServerResponse::text(200, r.peer ? "peer" : "none");
  });
  HttpClient with_cert =
      tls_client(no_bundles->certificate_pem(), direct.client_cert_pem, direct.client_key_pem);
  CHECK(must(with_cert.send(request(no_bundles->url() + "/"))).body == "none");
}

TEST_CASE("server: a plain-HTTP request to the TLS port is reported, not served",
          "[http-server][tls]") {
  ErrorLog errors;
  HttpServerOptions options;
  options.tls = ServerTls{};
  options.on_error = errors.hook();
  std::atomic<int> calls{0};
  auto server = must_start(options, [&](const ServerRequest&) {
    ++calls;
    return ServerResponse::text(200, "ok");
  });
  raw_exchange(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(calls == 0);
  CHECK_THAT(errors.all(), Contains("TLS handshake with 127.0.0.1:"));
}

TEST_CASE("certificates: a private CA signs serving certificates that verify only with it",
          "[http-server][tls][certificates]") {
  using namespace ebb::net;
  auto ca = make_certificate_authority("Ebb", "ebb", std::chrono::hours(24));
  REQUIRE(ca);
  auto ca_info = inspect_certificate(ca->cert_pem);
  REQUIRE(ca_info);
  CHECK(ca_info->is_ca);
  const auto now = std::chrono::system_clock::now();
  CHECK(ca_info->not_after > now + std::chrono::hours(23));
  CHECK(ca_info->not_after < now + std::chrono::hours(25));

  const std::vector<std::string> names{"ebb-metrics-adapter.ebb-system.svc", "ebb-webhooks",
                                       "127.0.0.1"};
  auto serving = issue_serving_certificate(*ca, names, std::chrono::seconds(3600));
  REQUIRE(serving);
  auto info = inspect_certificate(serving->cert_pem);
  REQUIRE(info);
  CHECK_FALSE(info->is_ca);
  CHECK(info->dns_names == names);
  CHECK(info->not_after < now + std::chrono::seconds(3700));
  CHECK(certificate_verifies(serving->cert_pem, ca->cert_pem));
  CHECK(key_matches_certificate(serving->cert_pem, serving->key_pem));
  CHECK_FALSE(key_matches_certificate(serving->cert_pem, ca->key_pem));

  // Another CA does not verify it; a bundle holding both does (CA rotation overlap).
  auto other = make_certificate_authority("Other", "", std::chrono::hours(24));
  REQUIRE(other);
  CHECK_FALSE(certificate_verifies(serving->cert_pem, other->cert_pem));
  CHECK(certificate_verifies(serving->cert_pem, other->cert_pem + ca->cert_pem));
  auto split = split_certificates(other->cert_pem + ca->cert_pem);
  REQUIRE(split);
  REQUIRE(split->size() == 2);
  CHECK((*split)[1] == ca->cert_pem);

  // openssl agrees: usages and the chain.
  testing::TempDir dir;
  write_file(dir.path() + "/ca.crt", ca->cert_pem);
  write_file(dir.path() + "/tls.crt", serving->cert_pem);
  const auto verified =
      testing::run_command({"openssl", "verify", "-purpose", "sslserver", "-CAfile",
                            dir.path() + "/ca.crt", dir.path() + "/tls.crt"});
  CHECK(verified.exit_code == 0);

  // Errors: no names, a key that is not the CA's, a validity that is not positive.
  CHECK_FALSE(issue_serving_certificate(*ca, {}, std::chrono::seconds(60)));
  auto mismatched =
      issue_serving_certificate({ca->cert_pem, other->key_pem}, names, std::chrono::seconds(60));
  REQUIRE_FALSE(mismatched);
  CHECK_THAT(mismatched.error().message, Contains("does not match"));
  CHECK_FALSE(make_certificate_authority("x", "", std::chrono::seconds(0)));
  CHECK_FALSE(issue_serving_certificate(*ca, {"bad name"}, std::chrono::seconds(60)));
  CHECK_FALSE(inspect_certificate("not a certificate"));
}

TEST_CASE("server: wait_for_files serves a self-signed certificate until the files appear",
          "[http-server][tls][certificates]") {
  testing::TempDir dir;
  const std::string cert_file = dir.path() + "/tls.crt", key_file = dir.path() + "/tls.key";
  auto ca = ebb::net::make_certificate_authority("Ebb", "", std::chrono::hours(1));
  REQUIRE(ca);
  auto serving =
      ebb::net::issue_serving_certificate(*ca, {"ebb.ebb-system.svc"}, std::chrono::hours(1));
  REQUIRE(serving);

  ErrorLog errors;
  HttpServerOptions options;
  options.tls = ServerTls{};
  options.tls->cert_file = cert_file;
  options.tls->key_file = key_file;
  options.tls->reload_check_interval = 50ms;
  options.on_error = errors.hook();
  // Without wait_for_files a missing file is an error at start.
  auto refused = HttpServer::start(options, ok_handler);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Contains(cert_file));

  options.tls->wait_for_files = true;
  auto server = must_start(options, ok_handler);
  CHECK_THAT(errors.all(), Contains("does not exist yet"));
  auto trusting_ca = [&] {
    HttpClientOptions client_options;
    client_options.tls.ca_pem = ca->cert_pem;
    client_options.tls.server_name = "ebb.ebb-system.svc";
    return HttpClient(client_options);
  };
  {
    auto client = trusting_ca();
    auto failed = client.send(request(server->url() + "/"));
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().message, Contains("certificate verify failed"));
  }
  write_file(key_file, serving->key_pem);
  write_file(cert_file, serving->cert_pem);
  std::this_thread::sleep_for(100ms);
  {
    auto client = trusting_ca();
    CHECK(must(client.send(request(server->url() + "/"))).status == 200);
  }
  CHECK(server->certificate_pem() == serving->cert_pem);
}
