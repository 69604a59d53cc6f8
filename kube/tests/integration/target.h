// Where the kube/ integration tests run: a real cluster when EBB_TEST_KUBECONFIG names a
// kubeconfig, else the in-process test API server. Either way each test gets its own fresh
// namespace, deleted at the end, so runs never see each other's objects.
//
// Tests that need fault injection (or the request log) call `needs_server()` first: on a real
// cluster it WARNs the reason and the test returns early (Catch2 v2 has no SKIP).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "test_apiserver.h"

namespace ebb::kube::it {

inline std::string random_suffix() {
  static const char* hex = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 8; ++i) out += hex[rd() % 16];
  return out;
}

class Target {
 public:
  explicit Target(testapi::TestApiServerOptions options = {}) {
    const char* kubeconfig = std::getenv("EBB_TEST_KUBECONFIG");
    if (kubeconfig != nullptr && *kubeconfig != '\0') {
      auto config = load_kubeconfig({kubeconfig});
      if (!config) FAIL("EBB_TEST_KUBECONFIG: " << config.error().message);
      config_ = *config;
    } else {
      server_ = std::make_unique<testapi::TestApiServer>(std::move(options));
      config_.server = server_->url();
      config_.token = TokenSource::fixed("test-token");
    }
    ns_ = "ebb-it-" + random_suffix();
    config_.namespace_name = ns_;
    auto admin = client();
    auto created = admin->create(resources::namespaces(), Object{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                                                 {"metadata", {{"name", ns_}}}});
    if (!created) FAIL("create namespace " << ns_ << ": " << created.error().message);
  }
  ~Target() {
    auto admin = client();
    (void)admin->remove(resources::namespaces(), "", ns_);
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  bool real_cluster() const { return server_ == nullptr; }
  // The in-process server, or null on a real cluster; see needs_server().
  testapi::TestApiServer* server() { return server_.get(); }
  const std::string& ns() const { return ns_; }
  const Config& config() const { return config_; }

  std::unique_ptr<Client> client(RestOptions options = {}) const {
    return std::make_unique<Client>(config_, std::move(options));
  }

 private:
  std::unique_ptr<testapi::TestApiServer> server_;
  Config config_;
  std::string ns_;
};

}  // namespace ebb::kube::it

// Returns from the test with a printed reason when it cannot run against a real cluster.
#define EBB_NEEDS_TEST_SERVER(target)                                                            \
  do {                                                                                           \
    if ((target).real_cluster()) {                                                               \
      WARN("SKIPPED: needs the test API server's fault injection / request log (real cluster)"); \
      return;                                                                                    \
    }                                                                                            \
  } while (0)
