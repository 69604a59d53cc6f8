// The test API server, in-process: a Store, its Router and HTTP/HTTPS listeners on loopback.
//
//   ebb::testapi::TestApiServer server;                 // plain HTTP on a free port
//   kube client -> server.url()                          // "http://127.0.0.1:<port>"
//   server.inject({.kind = Fault::Kind::Error, .status = 429, .count = 2});
//   server.request_log();                                // what clients sent, with response codes
//
// See README.md for what it implements and what it does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "router.h"
#include "store.h"

namespace ebb::testapi {

struct TestApiServerOptions {
  std::uint16_t port = 0;  // the main listener; 0 picks a free port
  // TLS on the main listener: a certificate/key (PEM text or files), or a generated self-signed one.
  bool tls_self_signed = false;
  std::string tls_cert_pem, tls_key_pem, tls_cert_file, tls_key_file;
  // With TLS: also serve plain HTTP on this port (0 = a free port); unset = HTTPS only.
  std::optional<std::uint16_t> http_port;
  std::size_t watch_window = 1000;
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(1)};
  bool preregister_keda = false;
  // Deployment/StatefulSet status written after every spec change, as the controllers of a real
  // cluster do (observedGeneration, a Deployment's replica counts); false: status only changes
  // when a client writes it.
  bool workload_controllers = true;
  std::optional<json> extension_apiserver_authentication;  // later issue: the auth ConfigMap's data
  std::function<bool(const json& spec)> access_policy;     // SubjectAccessReview answers
};

class TestApiServer {
 public:
  explicit TestApiServer(TestApiServerOptions options = {});
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  std::string url() const;        // the main listener (https when TLS is on)
  std::string http_url() const;   // "" when there is no plain-HTTP listener
  std::string https_url() const;  // "" without TLS
  std::string ca_pem() const;     // the certificate to trust for https_url()

  void inject(Fault fault);
  void clear_faults();
  void pause(std::chrono::milliseconds duration);  // requests arriving meanwhile wait it out
  void close_watches();
  void drop_connections();
  std::vector<LoggedRequest> request_log() const;
  void clear_request_log();

  Store& store();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb::testapi
