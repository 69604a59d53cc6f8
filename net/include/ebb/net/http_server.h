// A small production HTTP/1.1 server (plain or TLS) for the processes' own endpoints: the
// operator's admission webhook, /healthz, /readyz and /metrics, and the metrics adapter's
// aggregated API. Requests are small and answers are computed in memory, so the model is simple:
// a fixed pool of threads accepts connections and serves each one synchronously with a deadline
// on every read and write, keep-alive included, no streaming responses.
//
// TLS: the serving certificate comes from PEM files (re-read when either file changes, checked at
// most once per `reload_check_interval` before a connection is set up, so rotated certificates
// are served without a restart; optionally waited for, see ServerTls::wait_for_files),
// from PEM text, or is generated at start (self-signed, for the listed host names). Client
// certificates are requested, never required, and verified against named CA bundles; the
// request says which bundles verified the peer, so callers can tell a front proxy from a direct
// client (aggregated API servers must).
//
// This header stays free of Asio/Beast/OpenSSL: only src/http_server.cpp includes them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebb/net/certificates.h"  // make_self_signed_certificate
#include "ebb/result.h"

namespace ebb::net {

struct PeerCertificate {
  std::string common_name;                 // subject CN
  std::vector<std::string> organizations;  // subject O entries (Kubernetes groups)
  // Names of the ServerTls::client_ca_bundles whose CAs verify the peer's chain (possibly
  // none: an unverified certificate is reported, never trusted by default).
  std::vector<std::string> verified_by;
  bool verified_by_bundle(std::string_view name) const;
};

struct ServerRequest {
  std::string method;  // "GET"
  std::string target;  // as sent: "/apis/x?labelSelector=a%3Db"
  std::string path;    // percent-decoded path without the query: "/apis/x"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;                  // "ip:port"
  std::optional<PeerCertificate> peer;  // TLS with a client certificate only

  // First query value / header value (header names case-insensitive); "" when absent.
  std::string query_value(std::string_view name) const;
  std::string header(std::string_view name) const;
  std::vector<std::string> header_values(std::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static ServerResponse json(int status, std::string body);
  static ServerResponse text(int status, std::string body);
};

// Called on a server thread; may be called concurrently. Exceptions become 500 (logged by the
// server's error hook, never sent to the client in detail).
using RequestHandler = std::function<ServerResponse(const ServerRequest&)>;

struct ServerTls {
  std::string cert_file, key_file;  // preferred: re-read when they change
  // The files may not exist yet (a Secret volume the kubelet fills once another process has
  // created the Secret): until both exist, serve a self-signed certificate for
  // self_signed_hosts, then the files as soon as a reload check sees them.
  bool wait_for_files = false;
  std::string cert_pem, key_pem;    // else: fixed PEM text
  // Neither given: a self-signed certificate (EC P-256) for these names / IP addresses,
  // generated at start. Defaults to localhost and 127.0.0.1.
  std::vector<std::string> self_signed_hosts;
  // name -> PEM bundle. Client certificates are requested when any bundle is set.
  std::vector<std::pair<std::string, std::string>> client_ca_bundles;
  std::chrono::milliseconds reload_check_interval{std::chrono::seconds(2)};
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

struct HttpServerOptions {
  // "host:port"; port 0 picks a free port (see HttpServer::port()); "" host or ":port" = all
  // interfaces ("0.0.0.0"), "[::]:port" for IPv6.
  std::string bind_address = "127.0.0.1:0";
  std::optional<ServerTls> tls;
  std::size_t threads = 4;  // concurrent connections being served
  std::size_t max_body_bytes = 3 * 1024 * 1024;  // larger -> 413
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};   // per request
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(90)};   // keep-alive idle
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::function<void(std::string_view message)> on_error;  // TLS handshake failures, reload errors
};

class HttpServer {
 public:
  // Binds and starts serving. Errors: bad bind address, port in use, unreadable or invalid
  // certificate/key (named by file, never by content).
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, RequestHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "https://127.0.0.1:<port>" (or http)
  // PEM of the certificate currently served ("" for plain HTTP): tests trust it.
  std::string certificate_pem() const;
  // Connections accepted since start (kept-alive connections count once); for tests and metrics.
  std::size_t connections_accepted() const;
  // Stops accepting, lets in-flight requests finish (bounded by `grace`), closes the rest.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};


}  // namespace ebb::net
