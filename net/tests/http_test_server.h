// The HTTP server the net tests talk to. Processes, ports and certificates come from the shared
// test support library (tests/support/support.h); only the server script is net's own.
#pragma once

#include <cstdint>
#include <string>

#include "support.h"

namespace ebb::net::testing {

// A small Python ThreadingHTTPServer (HTTP/1.1, keep-alive) on a free loopback port, optionally
// over TLS with make_test_certs() certificates. Its routes (/hello, /peer, /chunked, /arm-drop,
// ...) are listed in the .cpp.
class HttpServer {
 public:
  explicit HttpServer(bool tls = false);
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  const ebb::test::TestCerts& certs() const { return certs_; }

 private:
  bool tls_;
  ebb::test::TempDir dir_{"ebb-net-http"};
  ebb::test::TestCerts certs_;
  std::uint16_t port_;
  ebb::test::Process process_;
};

}  // namespace ebb::net::testing
