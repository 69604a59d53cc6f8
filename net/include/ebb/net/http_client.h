// A small blocking HTTP/1.1 client over ebb::net::Stream with keep-alive connection reuse.
// Thread-safe: concurrent send() calls use separate pooled connections to the same host.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ebb/net/stream.h"

namespace ebb::net {

struct HttpRequest {
  std::string method = "GET";
  // Absolute URL, http or https. Userinfo ("user:pass@") in the URL becomes a Basic
  // Authorization header and is never echoed in errors.
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Timeout timeout{std::chrono::seconds(3)};  // whole request: connect, write, read
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Case-insensitive lookup; empty when absent.
  std::string header(std::string_view name) const;
};

// Ends an HttpClient::stream() from another thread: cancel() makes the stream running with it
// fail at once ("operation canceled") instead of waiting for data or its idle timeout, and
// every later stream() given it fail before connecting. Stays cancelled. Thread-safe.
class HttpStreamCancel {
 public:
  void cancel();
  bool cancelled() const;
  // For HttpClient::stream(): registers the stream in use (false when already cancelled) and
  // unregisters it before the stream is destroyed.
  bool attach(Stream* stream);
  void detach();

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  Stream* active_ = nullptr;
};

// Callbacks for HttpClient::stream().
struct HttpStreamHandlers {
  // The status and headers (body empty). Returning false ends the exchange without the body.
  std::function<bool(const HttpResponse& head)> on_head;
  // Each piece of the body as it arrives (chunked framing already removed). Returning false
  // stops reading; the connection is then closed.
  std::function<bool(std::string_view data)> on_data;
  // Optional: lets another thread end the stream (see HttpStreamCancel).
  std::shared_ptr<HttpStreamCancel> cancel;
};

struct HttpClientOptions {
  TlsOptions tls;                       // used for https URLs (tls.enabled is implied)
  std::size_t max_idle_per_host = 4;    // idle keep-alive connections kept per host:port
  std::size_t max_response_bytes = 64u << 20;
  // Idle connections older than this are closed instead of reused: NAT tables and load
  // balancers drop quiet connections silently, and a request on one would only time out.
  std::chrono::seconds idle_timeout{90};
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP status is a successful Result; transport failures (DNS, connect, TLS, timeout,
  // malformed response) are errors naming scheme://host:port without credentials.
  Result<HttpResponse> send(const HttpRequest& request);
  // As send(); on failure `request_sent` says whether any byte of the request may have reached
  // the server. False (DNS, connect or TLS handshake failed) means even a non-idempotent
  // request can safely be repeated.
  Result<HttpResponse> send(const HttpRequest& request, bool& request_sent);

  // For long-lived responses (Kubernetes watches): delivers the body as it arrives instead of
  // buffering it. request.timeout bounds connecting, sending and receiving the response head;
  // after that every wait for more body bytes is bounded by `idle_timeout` instead, so a stream
  // may last indefinitely while a silent peer is still detected. Streamed connections are
  // never pooled. Ok when the body ended normally or a handler stopped it; an error for a
  // transport failure, including one in the middle of the body. `request_sent` as for send().
  Result<void> stream(const HttpRequest& request, Timeout idle_timeout, const HttpStreamHandlers& handlers,
                      bool* request_sent = nullptr);

  // Number of connections currently open (idle + in use); for tests and metrics.
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything except RFC 3986 unreserved characters (Go's url.PathEscape is
// close to this but keeps some sub-delims; callers that need Go's exact rules use their own).
std::string url_escape_component(std::string_view s);
// Masks the userinfo of a URL ("amqp://user:secret@h/" -> "amqp://user:xxxxx@h/") so URLs can
// appear in errors and logs without their password.
std::string redact_url(std::string_view url);

}  // namespace ebb::net
