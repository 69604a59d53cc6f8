// net::HttpClient::stream() against a scripted loopback server: bodies delivered as they
// arrive (chunked, Content-Length, close-delimited), an idle timeout, a stop from the handler,
// request_sent for connect failures, and cancel() from another thread. Plus Client::watch() decoding over a real socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <thread>

#include "ebb/kube/client.h"
#include "ebb/net/http_client.h"

using namespace std::chrono_literals;

namespace {

// Accepts connections one at a time; `script` writes the response with send_text/sleeps.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd, const std::string& request)> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  static void send_text(int fd, const std::string& text) { (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL); }

 private:
  void run() {
    while (!stopping_) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      script_(client, request);
      ::close(client);
    }
  }
  std::function<void(int, const std::string&)> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

}  // namespace

TEST_CASE("net stream: chunked body arrives piece by piece before the response ends") {
  std::atomic<bool> second_sent{false};
  ScriptedServer server([&](int fd, const std::string&) {
    ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("first\n"));
    std::this_thread::sleep_for(300ms);
    second_sent = true;
    ScriptedServer::send_text(fd, chunk("second\n") + "0\r\n\r\n");
  });
  ebb::net::HttpClient client;
  std::vector<std::string> pieces;
  bool first_before_second = false;
  int status = 0;
  ebb::net::HttpStreamHandlers handlers;
  handlers.on_head = [&](const ebb::net::HttpResponse& head) {
    status = head.status;
    return true;
  };
  handlers.on_data = [&](std::string_view data) {
    if (pieces.empty()) first_before_second = !second_sent;
    pieces.emplace_back(data);
    return true;
  };
  bool sent = false;
  auto result = client.stream({.url = server.url("/watch"), .timeout = 2s}, 2s, handlers, &sent);
  REQUIRE(result.ok());
  CHECK(sent);
  CHECK(status == 200);
  CHECK(first_before_second);
  std::string all;
  for (const auto& p : pieces) all += p;
  CHECK(all == "first\nsecond\n");
  CHECK(client.open_connections() == 0);  // streamed connections are never pooled
}

TEST_CASE("net stream: Content-Length and close-delimited bodies, and a handler stop") {
  ScriptedServer sized([](int fd, const std::string&) {
    ScriptedServer::send_text(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!");
  });
  ebb::net::HttpClient client;
  std::string body;
  ebb::net::HttpStreamHandlers handlers;
  handlers.on_data = [&](std::string_view data) {
    body.append(data);
    return true;
  };
  REQUIRE(client.stream({.url = sized.url("/")}, 1s, handlers).ok());
  CHECK(body == "nope!");

  ScriptedServer closing([](int fd, const std::string&) {
    ScriptedServer::send_text(fd, "HTTP/1.0 200 OK\r\n\r\nuntil-close");
  });
  body.clear();
  REQUIRE(client.stream({.url = closing.url("/")}, 1s, handlers).ok());
  CHECK(body == "until-close");

  ScriptedServer endless([](int fd, const std::string&) {
    ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 50; ++i) {
      ScriptedServer::send_text(fd, chunk("x"));
      std::this_thread::sleep_for(10ms);
    }
  });
  int seen = 0;
  handlers.on_data = [&](std::string_view) { return ++seen < 3; };
  REQUIRE(client.stream({.url = endless.url("/")}, 1s, handlers).ok());
  CHECK(seen == 3);
}

TEST_CASE("net stream: a silent peer hits the idle timeout, and a refused connect was never sent") {
  ScriptedServer silent([](int fd, const std::string&) {
    ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("x"));
    std::this_thread::sleep_for(800ms);
  });
  ebb::net::HttpClient client;
  ebb::net::HttpStreamHandlers handlers;
  const auto start = std::chrono::steady_clock::now();
  auto result = client.stream({.url = silent.url("/"), .timeout = 5s}, 200ms, handlers);
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("timed out after 200ms"));
  CHECK(std::chrono::steady_clock::now() - start < 700ms);

  // Port 1 on loopback: nothing listens.
  bool sent = true;
  auto refused = client.stream({.url = "http://127.0.0.1:1/", .timeout = 1s}, 1s, handlers, &sent);
  REQUIRE_FALSE(refused.ok());
  CHECK_FALSE(sent);
  auto refused_send = client.send({.method = "POST", .url = "http://127.0.0.1:1/", .timeout = 1s}, sent);
  REQUIRE_FALSE(refused_send.ok());
  CHECK_FALSE(sent);
}

TEST_CASE("net stream: cancel() from another thread ends a quiet stream at once, and later ones before connecting") {
  std::atomic<int> connections{0};
  std::atomic<bool> release{false};
  ScriptedServer quiet([&](int fd, const std::string&) {
    ++connections;
    ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("x"));
    // Silent from here on, like a watch with nothing to report; the cancel ends it on our side.
    for (int i = 0; i < 500 && !release; ++i) std::this_thread::sleep_for(10ms);
  });
  ebb::net::HttpClient client;
  ebb::net::HttpStreamHandlers handlers;
  std::string received;
  handlers.on_data = [&](std::string_view data) {
    received.append(data);
    return true;
  };
  handlers.cancel = std::make_shared<ebb::net::HttpStreamCancel>();

  const auto start = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    handlers.cancel->cancel();
  });
  auto result = client.stream({.url = quiet.url("/"), .timeout = 5s}, 30s, handlers);
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  REQUIRE_FALSE(result.ok());
  CHECK(received == "x");  // the stream was running when cancelled
  CHECK(took >= 300ms);
  CHECK(took < 1s);  // not the 30 s idle timeout
  CHECK(handlers.cancel->cancelled());

  // Cancelled stays cancelled: the next stream fails without connecting.
  auto again = client.stream({.url = quiet.url("/"), .timeout = 5s}, 30s, handlers);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains("cancelled"));
  CHECK(connections == 1);
  release = true;
}

TEST_CASE("client watch: events decoded across chunk boundaries, ERROR 410 becomes Gone") {
  ScriptedServer server([](int fd, const std::string& request) {
    if (request.find("resourceVersion=1") != std::string::npos) {
      const std::string events =
          R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"2"}}})" "\n"
          R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"3"}}})" "\n";
      ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (std::size_t i = 0; i < events.size(); i += 17) {
        ScriptedServer::send_text(fd, chunk(events.substr(i, 17)));
      }
      ScriptedServer::send_text(fd, "0\r\n\r\n");
    } else {
      ScriptedServer::send_text(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                        chunk(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})" "\n") +
                                        "0\r\n\r\n");
    }
  });
  ebb::kube::Config config;
  config.server = server.url("");
  ebb::kube::Client client(config);
  std::vector<ebb::kube::WatchEvent> events;
  auto ok = client.watch(ebb::kube::resources::pods(), "n", {.resource_version = "1"}, [&](ebb::kube::WatchEvent& e) {
    events.push_back(e);
    return true;
  });
  REQUIRE(ok.ok());
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == ebb::kube::WatchEventType::added);
  CHECK(events[1].type == ebb::kube::WatchEventType::bookmark);

  auto gone = client.watch(ebb::kube::resources::pods(), "n", {.resource_version = "0"},
                           [&](ebb::kube::WatchEvent&) { return true; });
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().gone());
  CHECK_THAT(gone.error().message, Catch::Contains("too old"));
}
