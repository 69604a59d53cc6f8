// System-test harness for the real ebb-operator process.
//
// Each test gets a Cluster: the in-process test API server (with the keda.sh CRDs from crds/,
// or preregistered keda.sh types until crds/ exists), or the real cluster named by
// EBB_TEST_KUBECONFIG (CRDs must be installed there) — in both cases a fresh namespace of its
// own, deleted at the end: the pattern of kube/tests/integration/target.h, kept here on its own
// so the kube tests' harness can change freely. Tests that need fault injection or the request
// log are tagged [faults] and start with EBB_SYSTEM_NEEDS_TEST_SERVER(), which on a real
// cluster warns "SKIPPED: <reason>" (ctest reports them as skipped through
// SKIP_REGULAR_EXPRESSION). OperatorRun starts `ebb-operator` with a kubeconfig
// file, free loopback ports and that namespace, and stops it with SIGTERM (or kill -9).
// Tests wait for states with eventually(), polling against a deadline, never fixed sleeps.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/cluster/resources.h"
#include "ebb/kube/client.h"
#include "support.h"
#include "test_apiserver.h"

namespace ebb::systest {

using kube::Object;
using namespace std::chrono_literals;

// A command line with the words of the environment variable `variable` in front (e.g.
// EBB_TEST_OPERATOR_WRAPPER="heaptrack -o /tmp/op" to profile the process a bench starts).
std::vector<std::string> wrapped(const char* variable, std::vector<std::string> argv);

// EBB_TEST_KUBECONFIG, or "" for the in-process test API server.
std::string real_cluster_kubeconfig();

using ebb::cluster::cluster_trigger_authentications;
using ebb::cluster::trigger_authentications;

// Test API server settings a test may choose (ignored on a real cluster).
struct ClusterOptions {
  // SubjectAccessReview answers (spec in, allowed out); default: allow everything.
  std::function<bool(const Object& spec)> access_policy;
  // data of kube-system/extension-apiserver-authentication, when the server should serve it.
  std::optional<Object> extension_apiserver_authentication;
  // A test API server already running at this URL instead of the in-process one: the standalone
  // ebb-test-apiserver, which a test can kill -9 and start again on the same port. The harness
  // makes the namespace and installs crds/ there as it does in-process; server() is null.
  std::string server_url;
  // false: the in-process server starts without keda.sh (no crds/, nothing preregistered), for a
  // test that installs other CRDs first (migration from KEDA's); Cluster::install_crds() later.
  bool install_crds = true;
};

// The CustomResourceDefinitions of crds/, as the harness installs them.
std::vector<Object> crd_documents();

class Cluster {
 public:
  Cluster();
  explicit Cluster(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  bool real() const { return server_ == nullptr && !external_; }
  // The in-process server; null on a real cluster (see EBB_SYSTEM_NEEDS_TEST_SERVER).
  testapi::TestApiServer* server() { return server_.get(); }
  const std::string& ns() const { return ns_; }
  kube::Client& client() { return *client_; }
  std::unique_ptr<kube::Client> new_client(kube::RestOptions options = {}) const;
  // A kubeconfig file for the operator (the EBB_TEST_KUBECONFIG file itself on a real cluster).
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& dir() const { return dir_.path(); }

  // Creates the namespace and installs crds/ (the constructor does it): again after a
  // ClusterOptions::server_url server restarted empty.
  void prepare_server();
  // Creates crds/'s CRDs (existing ones are left alone) and waits until keda.sh is served.
  void install_crds();

  // --- objects
  Object create(const kube::Resource& resource, const Object& object);
  std::optional<Object> get(const kube::Resource& resource, const std::string& name);
  std::vector<Object> list(const kube::Resource& resource);
  // Read-modify-write with conflict retries.
  Object modify(const kube::Resource& resource, const std::string& name, const std::function<void(Object&)>& change);
  void remove(const kube::Resource& resource, const std::string& name);

  Object create_deployment(const std::string& name, int replicas = 1);
  int deployment_replicas(const std::string& name);
  std::optional<Object> hpa(const std::string& name) { return get(kube::resources::horizontal_pod_autoscalers(), name); }
  std::optional<Object> scaled_object(const std::string& name) { return get(ebb::cluster::scaled_objects(), name); }
  // events.k8s.io/v1 Events about the object `name` with this reason.
  std::vector<Object> events_for(const std::string& name, const std::string& reason);

 private:
  test::TempDir dir_{"ebb-system"};
  std::unique_ptr<testapi::TestApiServer> server_;
  bool external_ = false;  // ClusterOptions::server_url
  bool install_crds_ = true;  // ClusterOptions::install_crds
  kube::Config config_;
  std::string ns_;
  std::unique_ptr<kube::Client> client_;
  std::string kubeconfig_;
};

// A ScaledObject with one redis trigger (metric s0-redis-<list>), targeting Deployment `target`.
Object scaled_object(const std::string& name, const std::string& target, const std::string& list = "orders",
                     int min = 0, int max = 10);
// Condition `type` of an object's status, if present.
std::optional<Object> condition(const Object& object, const std::string& type);
std::string condition_status(const Object& object, const std::string& type);
bool is_ready(const std::optional<Object>& so);  // Ready=True with observedGeneration = generation

struct OperatorPorts {
  std::uint16_t health = 0, metrics = 0, webhook = 0;
};

class OperatorRun {
 public:
  // `extra` flags come last, so they override the defaults (CLI11 keeps the last value).
  OperatorRun(Cluster& cluster, std::vector<std::string> extra = {}, const std::string& log_name = "operator");
  ~OperatorRun();
  OperatorRun(const OperatorRun&) = delete;
  OperatorRun& operator=(const OperatorRun&) = delete;

  const OperatorPorts& ports() const { return ports_; }
  pid_t pid() const { return process_.pid(); }
  bool running() const { return process_.running(); }
  std::string log() const;
  std::string log_path() const { return log_path_; }

  // GET http://127.0.0.1:<port><path>: {status, body}; status 0 when the connection failed.
  std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) const;
  bool wait_ready(std::chrono::milliseconds timeout = 30s) const;
  // wait_ready(), failing the test with how the process ended and the tail of its log.
  void require_ready(std::chrono::milliseconds timeout = 30s) const;
  std::string metrics() const { return http_get(ports_.metrics, "/metrics").second; }

  void kill9();
  // SIGTERM, then the exit status (-1: still running after `timeout`; 128+N: killed by signal N).
  int terminate(std::chrono::milliseconds timeout = 20s);

 private:
  std::optional<int> exit_status() const;  // without reaping
  OperatorPorts ports_;
  std::string log_path_;
  test::Process process_;
};

// The last `n` bytes of a process log, for failure messages.
std::string log_tail(const std::string& log, std::size_t n = 6000);

// Polls `predicate` every 100 ms until it holds or `timeout` passes; on timeout the test fails
// with `what`, and the tail of the operator's log when one is given.
void eventually(const std::string& what, const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = 30s, const OperatorRun* run = nullptr);

// The value of one Prometheus sample line `name{labels}` in text exposition (labels exactly as
// rendered, e.g. `controller="scaledobject",result="success"`); nullopt when absent.
std::optional<double> metric_value(const std::string& text, const std::string& name, const std::string& labels);

}  // namespace ebb::systest

// Returns from the test with a visible reason when it needs the test API server.
// First statement of every [faults] test, before any Cluster exists.
#define EBB_SYSTEM_NEEDS_TEST_SERVER()                                                                \
  do {                                                                                                \
    if (!::ebb::systest::real_cluster_kubeconfig().empty()) {                                         \
      WARN("SKIPPED: needs the test API server's fault injection / request log (EBB_TEST_KUBECONFIG)"); \
      return;                                                                                         \
    }                                                                                                 \
  } while (0)
