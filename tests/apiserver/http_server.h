// HTTP/1.1 and HTTPS listener for the test API server: a thread per connection, synchronous
// Beast reads and writes, watches as chunked responses. The only TU that includes Beast/Asio.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "router.h"

namespace ebb::testapi {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see port()
  bool tls = false;
  std::string cert_pem, key_pem;  // with tls
};

class HttpServer {
 public:
  // Binds and starts accepting; throws std::runtime_error when it cannot.
  HttpServer(Router& router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  std::uint16_t port() const;
  // Closes every open connection (including watches) without a response.
  void drop_connections();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A self-signed certificate (EC P-256) for 127.0.0.1 and localhost: {cert PEM, key PEM}.
std::pair<std::string, std::string> make_self_signed_certificate();

}  // namespace ebb::testapi
