// The processes' HTTP server (net/http_server.h: the webhook, the adapter's API, /metrics and
// the health endpoints) reading requests from a client: each input is sent as raw bytes on a
// fresh loopback connection to a real HttpServer, the write side is then shut, and the answer
// is read to the end. This runs the server's own request path (Beast's parser with the limits
// the server sets, 100-continue, the target and query decoding, refusals, pipelined requests
// on one connection, keep-alive) rather than a copy of it.
// Property: every answer starts with a status line, and the server keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ebb/net/http_server.h"
#include "fuzz_input.h"

namespace {

using namespace ebb;

net::HttpServer& server() {
  static std::unique_ptr<net::HttpServer> instance = [] {
    net::HttpServerOptions options;
    options.threads = 2;
    options.max_body_bytes = 4096;  // small, so the fuzzer reaches the 413 path
    options.read_timeout = std::chrono::seconds(2);
    options.idle_timeout = std::chrono::seconds(2);
    options.write_timeout = std::chrono::seconds(2);
    auto started = net::HttpServer::start(options, [](const net::ServerRequest& request) {
      // Reads every decoded part, as handlers do, and answers with some of it.
      std::string body = request.method + " " + request.path + "\n";
      for (const auto& [k, v] : request.query) body += k + "=" + v + "&";
      body += request.query_value("watch") + request.header("content-type");
      for (const auto& v : request.header_values("accept")) body += v;
      body += std::to_string(request.body.size());
      if (request.path == "/status") return net::ServerResponse::text(204, "");
      return net::ServerResponse::text(200, body);
    });
    if (!started.ok()) fuzz::fail("cannot start the server", started.error().message);
    return std::move(*started);
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint16_t port = server().port();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  // Thousands of connections a second: a port may still be held for a moment (EADDRNOTAVAIL).
  for (int attempt = 0; fd < 0; ++attempt) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fuzz::fail("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    ::close(fd);
    fd = -1;
    if (attempt == 200) fuzz::fail("connect");
    ::usleep(10'000);
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server refused and closed early
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) fuzz::fail("the server did not finish answering in 5 s");
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  // Reset instead of TIME_WAIT, so that ports are not used up by the fuzzing rate.
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
  if (!answer.empty() && !answer.starts_with("HTTP/1."))
    fuzz::fail("an answer without a status line", answer);
  return 0;
}
