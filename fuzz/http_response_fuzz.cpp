// The HTTP client's response parser (net/http_client.cpp: status line, headers, Content-Length,
// chunked and close-delimited bodies, 1xx interim answers), which every HTTP scaler
// (metrics-api, prometheus, rabbitmq management, nats, etcd) and the Kubernetes client read
// with: a loopback server thread answers each request with the input's bytes and closes; the
// client sends (byte 0 even) or streams as a watch does (odd).
// Property: the client returns (a response or an error) instead of hanging, and a streamed
// body never delivers more bytes than the server sent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "ebb/net/http_client.h"
#include "fuzz_input.h"

namespace {

using namespace ebb;

// Answers one connection at a time with the bytes set by the current input.
class CannedServer {
 public:
  CannedServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      fuzz::fail("cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
    std::thread([this] { serve(); }).detach();
  }
  std::uint16_t port() const { return port_; }
  void set_answer(std::string_view answer) {
    std::lock_guard lock(mutex_);
    answer_ = answer;
  }

 private:
  void serve() {
    while (true) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      std::string answer;
      {
        std::lock_guard lock(mutex_);
        answer = answer_;
      }
      std::size_t sent = 0;
      while (sent < answer.size()) {
        const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
      // Read until the client closes, so that closing never resets a connection whose answer
      // the client has not read yet.
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      // The client closed first; a reset keeps its side out of TIME_WAIT, so that ports are
      // not used up by the fuzzing rate.
      const linger reset{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      ::close(fd);
    }
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::string answer_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static CannedServer& server = *new CannedServer;  // never destroyed: its thread outlives main
  if (size < 1) return 0;
  const std::string_view answer = fuzz::as_text(data + 1, size - 1);
  server.set_answer(answer);

  net::HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/query?query=up";
  request.timeout = std::chrono::seconds(5);
  net::HttpClientOptions options;
  options.max_response_bytes = 1 << 16;
  net::HttpClient client(options);
  // The server closes at once, so the client has no reason to wait: anything near the 5 s
  // timeouts is a client that missed the end of the answer. (Time, not the error's text: the
  // text may quote the answer.)
  const auto started = std::chrono::steady_clock::now();
  const auto waited = [&] {
    return std::chrono::steady_clock::now() - started > std::chrono::seconds(4);
  };
  if ((data[0] & 1) == 0) {
    auto response = client.send(request);
    if (response.ok()) {
      (void)response->header("content-type");
      if (response->body.size() > answer.size()) fuzz::fail("a body longer than the answer");
    }
    if (waited()) fuzz::fail("the client waited for a closed connection");
  } else {
    std::size_t delivered = 0;
    net::HttpStreamHandlers handlers;
    handlers.on_head = [](const net::HttpResponse& head) { return head.status != 404; };
    handlers.on_data = [&](std::string_view piece) {
      delivered += piece.size();
      return true;
    };
    auto streamed = client.stream(request, std::chrono::seconds(5), handlers);
    if (delivered > answer.size()) fuzz::fail("a streamed body longer than the answer");
    if (waited()) fuzz::fail("the stream waited for a closed connection");
  }
  return 0;
}
