// runtime::Manager against the in-process test API server: readiness checks in order (and
// "shutting down" during shutdown), the health and metrics endpoints, runnables that start
// always or only while leading, stop steps in order around the Lease release, the shutdown
// budget, and both policies for a lost Lease. The process exit is replaced by a recorder.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ebb/kube/client.h"
#include "ebb/kube/resource.h"
#include "ebb/net/http_client.h"
#include "ebb/runtime/controller.h"
#include "ebb/runtime/manager.h"
#include "support.h"
#include "test_apiserver.h"

using namespace ebb;
using namespace ebb::runtime;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// The exit codes a Manager asked for, in order.
class Exits {
 public:
  std::function<void(int)> hook() {
    return [this](int code) {
      std::lock_guard lock(mutex_);
      codes_.push_back(code);
      cv_.notify_all();
    };
  }
  std::vector<int> codes() const {
    std::lock_guard lock(mutex_);
    return codes_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int> codes_;
};

// A test API server, a namespace and a kubeconfig for it.
class Cluster {
 public:
  Cluster() {
    kube::Config config;
    config.server = server_.url();
    config.token = kube::TokenSource::fixed("test-token");
    client_ = std::make_unique<kube::Client>(config);
    auto created = client_->create(
        kube::resources::namespaces(),
        kube::Object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}});
    if (!created) FAIL("create namespace: " << created.error().message);
    kubeconfig_ = dir_.path() + "/kubeconfig";
    std::ofstream out(kubeconfig_);
    out << "apiVersion: v1\nkind: Config\n"
        << "clusters:\n- name: test\n  cluster:\n    server: " << server_.url() << "\n"
        << "users:\n- name: test\n  user:\n    token: test-token\n"
        << "contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: "
        << ns_ << "\n"
        << "current-context: test\n";
  }

  ManagerOptions options(Exits& exits, bool leader_election) const {
    ManagerOptions o;
    o.name = "test-process";
    o.version = "1.2.3";
    o.git_commit = "abc";
    o.kubeconfig = kubeconfig_;
    o.leader_election.enabled = leader_election;
    o.leader_election.lease_namespace = ns_;
    o.leader_election.lease_name = "test-lease";
    o.leader_election.lease_duration = 2s;
    o.leader_election.renew_deadline = 1s;
    o.leader_election.retry_period = 100ms;
    o.handle_signals = false;
    o.exit = exits.hook();
    return o;
  }

  // Someone else takes the Lease over for `seconds` and never renews it.
  void steal_lease(int seconds) {
    auto lease = client_->get(kube::resources::leases(), ns_, "test-lease");
    REQUIRE(lease);
    (*lease)["spec"]["holderIdentity"] = "thief";
    (*lease)["spec"]["leaseDurationSeconds"] = seconds;
    REQUIRE(client_->update(kube::resources::leases(), *lease));
  }
  std::string holder() const {
    auto lease = client_->get(kube::resources::leases(), ns_, "test-lease");
    return lease ? (*lease)["spec"].value("holderIdentity", "") : "<none>";
  }
  const std::string& ns() const { return ns_; }

 private:
  testapi::TestApiServer server_;
  test::TempDir dir_{"ebb-runtime-test"};
  std::string ns_ = "runtime-test";
  std::string kubeconfig_;
  std::unique_ptr<kube::Client> client_;
};

std::pair<int, std::string> get(const std::string& url, const std::string& method = "GET") {
  net::HttpClient client;
  auto response = client.send({.method = method, .url = url, .timeout = 5s});
  if (!response) return {0, response.error().message};
  return {response->status, response->body};
}

// Runs the manager on a thread of its own; join() waits for run() to return.
class Running {
 public:
  explicit Running(Manager& manager) : thread_([&] { code_ = manager.run(); }) {}
  ~Running() { join(); }
  int join() {
    if (thread_.joinable()) thread_.join();
    return code_;
  }

 private:
  std::atomic<int> code_{-1};
  std::thread thread_;
};

}  // namespace

TEST_CASE("manager: a kubeconfig that cannot be loaded is an error, not a manager") {
  ManagerOptions o;
  o.name = "test-process";
  o.kubeconfig = "/nonexistent/kubeconfig";
  CHECK(Manager::create(o) == nullptr);
}

TEST_CASE("manager: identity, clients and the default Lease namespace") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, true);
  o.leader_election.lease_namespace.clear();
  auto manager = Manager::create(o);
  REQUIRE(manager);
  CHECK(manager->identity().find('_') != std::string::npos);
  CHECK(manager->identity().size() > 9);
  CHECK(manager->lease_namespace() == "default");  // not in a pod
  CHECK(manager->lease() == "default/test-lease");
  CHECK(manager->client().get(kube::resources::namespaces(), "", cluster.ns()));
}

TEST_CASE("manager: readiness checks answer in order, and shutting down once they all pass") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, false);
  o.health.bind_address = "127.0.0.1:0";
  auto manager = Manager::create(o);
  REQUIRE(manager);
  std::atomic<bool> synced{false}, started{false};
  manager->add_readiness_check(
      "informers", [&]() -> std::string { return synced ? "" : "informers not synced"; });
  manager->add_readiness_check(
      "workers", [&]() -> std::string { return started ? "" : "workers not started"; });
  REQUIRE(manager->start_servers());
  const std::string url = manager->health_url();
  REQUIRE_FALSE(url.empty());
  CHECK(manager->metrics_url().empty());

  CHECK(get(url + "/readyz") == std::make_pair(503, std::string("informers not synced\n")));
  synced = true;
  CHECK(get(url + "/readyz") == std::make_pair(503, std::string("workers not started\n")));
  started = true;
  CHECK(get(url + "/readyz") == std::make_pair(200, std::string("ok\n")));
  CHECK(get(url + "/healthz") == std::make_pair(200, std::string("ok\n")));
  CHECK(get(url + "/livez") == std::make_pair(200, std::string("ok\n")));
  CHECK(get(url + "/nope").first == 404);
  CHECK(get(url + "/readyz", "POST").first == 405);

  // During shutdown: "shutting down", unless an earlier check fails first.
  std::string while_stopping, with_failing_check;
  manager->add_stop_step("", [&] {
    while_stopping = get(url + "/readyz").second;
    synced = false;
    with_failing_check = manager->readiness();
  });
  Running running(*manager);
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
  CHECK(while_stopping == "shutting down\n");
  CHECK(with_failing_check == "informers not synced");
  CHECK(exits.codes() == std::vector<int>{0});
  CHECK(get(url + "/healthz").first == 0);  // the health server stopped
}

TEST_CASE("manager: /metrics renders build info, the leader gauge and collectors") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, false);
  o.metrics.bind_address = "127.0.0.1:0";
  auto manager = Manager::create(o);
  REQUIRE(manager);
  manager->metrics().add_collector([] {
    prometheus::MetricFamily family{"test_things", "Things", prometheus::MetricType::Gauge, {}};
    family.metric.push_back(gauge_sample({{"kind", "a"}}, 3));
    return std::vector<prometheus::MetricFamily>{family};
  });
  REQUIRE(manager->start_servers());
  CHECK(manager->health_url().empty());
  const std::string url = manager->metrics_url();
  // Not leading before run(): no election has been won.
  auto before = get(url + "/metrics");
  CHECK(before.first == 200);
  CHECK(before.second.find("leader_election_master_status{name=\"test-process\"} 0") !=
        std::string::npos);
  Running running(*manager);
  REQUIRE(eventually([&] { return manager->leading(); }));
  auto text = get(url + "/metrics").second;
  CHECK(text.find("build_info{git_commit=\"abc\",goarch=") != std::string::npos);
  CHECK(text.find("version=\"1.2.3\"} 1") != std::string::npos);
  CHECK(text.find("leader_election_master_status{name=\"test-process\"} 1") != std::string::npos);
  CHECK(text.find("test_things{kind=\"a\"} 3") != std::string::npos);
  CHECK(get(url + "/other").first == 404);
  CHECK(get(url + "/metrics", "POST").first == 405);
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
}

TEST_CASE(
    "manager: runnables start always or on the win, stop steps run in order around the Lease "
    "release") {
  Cluster cluster;
  Exits exits;
  auto manager = Manager::create(cluster.options(exits, true));
  REQUIRE(manager);
  std::mutex mutex;
  std::vector<std::string> order;
  auto note = [&](const std::string& what) {
    std::lock_guard lock(mutex);
    order.push_back(what);
  };
  std::atomic<bool> leader_started{false};
  manager->add_runnable("informers", Manager::RunWhen::always, [&] { note("start informers"); });
  manager->add_runnable("workers", Manager::RunWhen::leading, [&] {
    note("start workers (holder " +
         std::string(cluster.holder() == manager->identity() ? "us" : "other") + ")");
    leader_started = true;
  });
  manager->add_stop_step(
      "", [&] { note("after release: " + cluster.holder()); },
      Manager::StopPhase::after_lease_release);
  manager->add_stop_step("", [&] {
    note("first: holder " + std::string(cluster.holder() == manager->identity() ? "us" : "other"));
  });
  manager->add_stop_step("",
                         [&] { note("second: leading " + std::to_string(manager->leading())); });
  Running running(*manager);
  REQUIRE(eventually([&] { return leader_started.load(); }));
  CHECK(manager->leading());
  manager->request_stop(3, "asked to");
  manager->request_stop(0, "a later request loses");
  CHECK(running.join() == 3);
  CHECK(exits.codes() == std::vector<int>{3});
  CHECK_FALSE(manager->leading());
  std::lock_guard lock(mutex);
  CHECK(order == std::vector<std::string>{"start informers", "start workers (holder us)",
                                          "first: holder us", "second: leading 1",
                                          "after release: "});
}

TEST_CASE("manager: a controller's workers start on the win and stop first on shutdown") {
  Cluster cluster;
  Exits exits;
  auto manager = Manager::create(cluster.options(exits, true));
  REQUIRE(manager);
  class Counting : public Reconciler {
   public:
    std::atomic<int> calls{0};
    ReconcileResult reconcile(const std::string&) override {
      ++calls;
      return {};
    }
  } reconciler;
  Controller controller({.name = "widget", .workers = 1}, reconciler, manager->metrics());
  manager->add_controller(controller);
  bool stopped_before_release = false;
  manager->add_stop_step("",
                         [&] { stopped_before_release = cluster.holder() == manager->identity(); });
  controller.enqueue("ns/a");
  CHECK(manager->readiness().empty());  // not leading: a standby is ready
  Running running(*manager);
  REQUIRE(eventually([&] { return reconciler.calls == 1; }));
  CHECK(controller.started());
  CHECK(manager->readiness().empty());
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
  CHECK(stopped_before_release);
  controller.enqueue("ns/b");  // stopped: ignored
  std::this_thread::sleep_for(50ms);
  CHECK(reconciler.calls == 1);
}

TEST_CASE("manager: a shutdown past its budget exits 1, and the rest still runs") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, false);
  o.shutdown.budget = 100ms;
  auto manager = Manager::create(o);
  REQUIRE(manager);
  manager->add_stop_step("polls stopped", [] { std::this_thread::sleep_for(400ms); });
  Running running(*manager);
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
  CHECK(exits.codes() == std::vector<int>{1, 0});
}

TEST_CASE("manager: a shutdown within its budget exits with its code only") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, false);
  o.shutdown.budget = 2s;
  o.shutdown.log_elapsed = true;
  auto manager = Manager::create(o);
  REQUIRE(manager);
  Running running(*manager);
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(exits.codes() == std::vector<int>{0});
}

TEST_CASE("manager: a lost Lease exits 1 with exit_process") {
  Cluster cluster;
  Exits exits;
  auto manager = Manager::create(cluster.options(exits, true));
  REQUIRE(manager);
  Running running(*manager);
  REQUIRE(eventually([&] { return manager->leading(); }));
  cluster.steal_lease(60);
  CHECK(running.join() == 1);
  CHECK(exits.codes() == std::vector<int>{1});
  CHECK(cluster.holder() == "thief");  // not ours to release
}

TEST_CASE("manager: a lost Lease with keep_competing stops leading and keeps running") {
  Cluster cluster;
  Exits exits;
  auto o = cluster.options(exits, true);
  o.leader_election.on_loss = LeaseLoss::keep_competing;
  auto manager = Manager::create(o);
  REQUIRE(manager);
  std::atomic<int> leader_starts{0};
  manager->add_runnable("writer", Manager::RunWhen::leading, [&] { ++leader_starts; });
  Running running(*manager);
  REQUIRE(eventually([&] { return manager->leading(); }));
  cluster.steal_lease(2);
  REQUIRE(eventually([&] { return !manager->leading(); }));
  CHECK_FALSE(manager->stopping());
  CHECK(exits.codes().empty());
  // The thief never renews: after its 2 s the Lease is ours again, and leader runnables do not
  // start twice.
  CHECK(eventually([&] { return manager->leading(); }, 10s));
  CHECK(leader_starts == 1);
  manager->request_stop(0, "test");
  CHECK(running.join() == 0);
  CHECK(cluster.holder().empty());  // released
}
