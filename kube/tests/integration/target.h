// Where the kube/ integration tests run: a real cluster when EBB_TEST_KUBECONFIG names a
// kubeconfig, else the in-process test API server. Either way each test gets its own fresh
// namespace, deleted at the end, so runs never see each other's objects.
//
// Tests that need fault injection or the request log are tagged [faults] and start with
// EBB_NEEDS_TEST_SERVER(): on a real cluster it WARNs "SKIPPED: <reason>" and returns before the
// test touches the cluster (Catch2 v2 has no SKIP; ctest reports the test as skipped through
// SKIP_REGULAR_EXPRESSION, see ../CMakeLists.txt). Tag and macro must agree, checked in both
// modes: the macro fails an untagged test, and a [faults] test that builds a Target without
// having called the macro fails. So exactly the [faults] tests skip on a real cluster.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

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

// The kubeconfig of the real cluster, or "" for the in-process test API server.
inline std::string real_cluster_kubeconfig() {
  const char* kubeconfig = std::getenv("EBB_TEST_KUBECONFIG");
  return kubeconfig == nullptr ? "" : kubeconfig;
}

// True when the running test case carries the Catch2 tag `[tag]` (tag given without brackets).
inline bool current_test_has_tag(const std::string& tag) {
  const std::string name = Catch::getResultCapture().getCurrentTestName();
  for (const auto& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    if (test.name != name) continue;
    return std::find(test.lcaseTags.begin(), test.lcaseTags.end(), Catch::toLower(tag)) != test.lcaseTags.end();
  }
  return false;
}

// The test that last passed EBB_NEEDS_TEST_SERVER() (by name), so Target can check the pairing.
inline std::string& fault_test_checked() {
  static std::string name;
  return name;
}

class Target {
 public:
  explicit Target(testapi::TestApiServerOptions options = {}) {
    const std::string test = Catch::getResultCapture().getCurrentTestName();
    if (current_test_has_tag("faults") && fault_test_checked() != test) {
      FAIL("a [faults] test must start with EBB_NEEDS_TEST_SERVER() so it skips on a real cluster");
    }
    kubeconfig_ = real_cluster_kubeconfig();
    if (!kubeconfig_.empty()) {
      auto config = load_kubeconfig({kubeconfig_});
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
  // The in-process server; only [faults] tests (which never run on a real cluster) use it.
  testapi::TestApiServer& server() {
    if (!server_) FAIL("the test server's controls are only for [faults] tests");
    return *server_;
  }
  // Command-line flags that connect another process (see lease_holder.cpp) to the same API
  // server as client(): the kubeconfig of the real cluster, or the test server's URL and token.
  std::vector<std::string> connection_args() const {
    if (!kubeconfig_.empty()) return {"--kubeconfig", kubeconfig_};
    return {"--server", server_->url(), "--token", "test-token"};
  }
  const std::string& ns() const { return ns_; }
  const Config& config() const { return config_; }

  std::unique_ptr<Client> client(RestOptions options = {}) const {
    return std::make_unique<Client>(config_, std::move(options));
  }

 private:
  std::unique_ptr<testapi::TestApiServer> server_;
  std::string kubeconfig_;
  Config config_;
  std::string ns_;
};

}  // namespace ebb::kube::it

// First statement of every [faults] test: on a real cluster, returns from the test with a
// visible "SKIPPED: <reason>" warning (ctest then reports the test as skipped).
#define EBB_NEEDS_TEST_SERVER()                                                                    \
  do {                                                                                             \
    if (!::ebb::kube::it::current_test_has_tag("faults")) {                                        \
      FAIL("EBB_NEEDS_TEST_SERVER() in a test not tagged [faults]");                               \
    }                                                                                              \
    ::ebb::kube::it::fault_test_checked() = Catch::getResultCapture().getCurrentTestName();        \
    if (!::ebb::kube::it::real_cluster_kubeconfig().empty()) {                                     \
      WARN("SKIPPED: [faults] test needs the test API server's fault injection or request log, "   \
           "and EBB_TEST_KUBECONFIG names a real cluster");                                        \
      return;                                                                                      \
    }                                                                                              \
  } while (0)
