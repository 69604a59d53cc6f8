// kubernetes-workload against the in-process test API server, read as the adapter reads it: an
// informer-backed cluster view (cluster::InformerObjects) in the ConnectionPools. Pods created,
// deleted and moved to a terminal phase change the value; selectors; one informer per namespace
// shared by every trigger; no LIST or GET once it has synced; a namespace that cannot be listed
// is an error (never 0) until it can.
#include <catch2/catch.hpp>

#include <thread>

#include "ebb/cluster/objects.h"
#include "ebb/kube/client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "test_apiserver.h"

using namespace ebb;
using namespace ebb::scalers;
using namespace std::chrono_literals;
using nlohmann::json;
namespace res = ebb::kube::resources;
using Map = std::map<std::string, std::string>;

namespace {

struct Cluster {
  testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  std::shared_ptr<cluster::InformerObjects> objects;
  ConnectionPools pools;

  Cluster() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("t");
    client = std::make_unique<kube::Client>(config);
    for (const char* ns : {"shop", "other", "locked"})
      REQUIRE(client->create(
          res::namespaces(),
          {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}));
    objects = std::make_shared<cluster::InformerObjects>(*client, 1s);
    pools.provide<kubernetes::Objects>(objects);
  }

  void pod(const std::string& name, const std::string& app, const std::string& node = "",
           const std::string& ns = "shop") {
    json spec = {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}};
    if (!node.empty()) spec["nodeName"] = node;
    REQUIRE(client->create(
        res::pods(), {{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
                      {"spec", spec}}));
  }
  void phase(const std::string& name, const std::string& phase) {
    kube::PatchOptions options;
    options.subresource = "status";
    REQUIRE(client->patch(res::pods(), "shop", name, kube::PatchType::merge,
                          {{"status", {{"phase", phase}}}}, options));
  }
  void remove(const std::string& name) { REQUIRE(client->remove(res::pods(), "shop", name)); }

  std::unique_ptr<Scaler> scaler(Map metadata, const std::string& ns = "shop") {
    TriggerContext c;
    c.type = "kubernetes-workload";
    c.metadata = std::move(metadata);
    c.scaled_object_namespace = ns;
    auto parsed = Registry::builtin().parse(c);
    REQUIRE(parsed);
    auto made = parsed.value()->create_scaler(pools);
    REQUIRE(made);
    return std::move(made).value();
  }

  // GET requests for pods that are not watches: LISTs and GETs.
  std::size_t reads() const {
    std::size_t n = 0;
    for (const auto& r : server.request_log())
      if (r.method == "GET" && r.path.find("/pods") != std::string::npos &&
          r.query.find("watch") == std::string::npos)
        ++n;
    return n;
  }
};

double value(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  return r->value;
}

template <class F>
bool eventually(F f, int tries = 250) {
  for (int i = 0; i < tries; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE(
    "kubernetes-workload: pods created, finished and deleted change the value, through the watch") {
  Cluster c;
  c.pod("web-1", "web");
  c.pod("web-2", "web");
  c.pod("db-1", "db");
  c.pod("web-x", "web", "", "other");  // another namespace
  auto web = c.scaler({{"podSelector", "app=web"}, {"value", "2"}, {"activationValue", "2"}});
  auto r = web->poll();
  REQUIRE(r);
  CHECK(r->value == 2);
  CHECK_FALSE(r->active);  // 2 is not above activationValue 2

  c.pod("web-3", "web");
  CHECK(eventually([&] { return value(*web) == 3; }));
  CHECK(web->poll()->active);

  // Terminal phases stop counting; Running and Unknown count.
  c.phase("web-1", "Succeeded");
  CHECK(eventually([&] { return value(*web) == 2; }));
  c.phase("web-2", "Failed");
  CHECK(eventually([&] { return value(*web) == 1; }));
  c.phase("web-3", "Unknown");
  c.pod("web-4", "web");
  c.phase("web-4", "Running");
  CHECK(eventually([&] { return value(*web) == 2; }));

  c.remove("web-3");
  CHECK(eventually([&] { return value(*web) == 1; }));

  // Set-based selectors, and a selector nothing matches.
  auto both = c.scaler({{"podSelector", "app in (web, db),app notin (cache)"}, {"value", "1"}});
  CHECK(value(*both) == 2);  // web-4 and db-1
  auto none = c.scaler({{"podSelector", "app=cache"}, {"value", "1"}});
  auto n = none->poll();
  REQUIRE(n);
  CHECK(n->value == 0);
  CHECK_FALSE(n->active);
}

TEST_CASE("kubernetes-workload: groupByNode counts the nodes the pods run on") {
  Cluster c;
  c.pod("a-1", "web", "node-a");
  c.pod("a-2", "web", "node-a");
  c.pod("b-1", "web", "node-b");
  c.pod("unscheduled", "web");
  auto nodes = c.scaler({{"podSelector", "app=web"}, {"value", "1"}, {"groupByNode", "true"}});
  CHECK(value(*nodes) == 2);
  c.pod("c-1", "web", "node-c");
  CHECK(eventually([&] { return value(*nodes) == 3; }));
  c.phase("b-1", "Succeeded");
  CHECK(eventually([&] { return value(*nodes) == 2; }));
}

TEST_CASE(
    "kubernetes-workload: one informer per namespace for every trigger, and no LIST or GET per "
    "poll") {
  Cluster c;
  for (int i = 0; i < 5; ++i) c.pod("web-" + std::to_string(i), i % 2 ? "web" : "db");
  auto web = c.scaler({{"podSelector", "app=web"}, {"value", "1"}});
  auto db = c.scaler({{"podSelector", "app=db"}, {"value", "1"}});
  auto all = c.scaler({{"podSelector", "app"}, {"value", "1"}, {"groupByNode", "true"}});
  CHECK(value(*web) == 2);
  const auto synced = c.reads();
  CHECK(synced == 1);  // the informer's one LIST
  for (int i = 0; i < 30; ++i) {
    CHECK(value(*web) == 2);
    CHECK(value(*db) == 3);
    CHECK(value(*all) == 0);
  }
  CHECK(c.reads() == synced);
  CHECK(c.objects->informers() == 1);
  // Another namespace: a second informer, one more LIST.
  auto other = c.scaler({{"podSelector", "app=web"}, {"value", "1"}}, "other");
  CHECK(value(*other) == 0);
  CHECK(c.objects->informers() == 2);
  CHECK(c.reads() == synced + 1);
}

TEST_CASE(
    "kubernetes-workload: a namespace that cannot be listed is an error, never 0, until it can") {
  Cluster c;
  c.pod("web-1", "web", "", "locked");
  c.server.inject({.kind = testapi::Fault::Kind::Error,
                   .status = 403,
                   .count = 1000,
                   .method = "^GET$",
                   .path = "/namespaces/locked/pods"});
  auto locked = c.scaler({{"podSelector", "app=web"}, {"value", "1"}}, "locked");
  auto r = locked->poll();
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "error inspecting kubernetes workload: cannot read pods in namespace \"locked\": not "
        "listed yet (is list/watch allowed?)");
  CHECK(r.error().transient);
  // Later reads fail at once instead of waiting again.
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(locked->poll());
  CHECK(std::chrono::steady_clock::now() - started < 500ms);
  // Allowed again: the informer's retries list it and the value appears.
  c.server.clear_faults();
  CHECK(eventually(
      [&] {
        auto v = locked->poll();
        return v && v->value == 1;
      },
      1500));  // the informer's retry backoff has grown meanwhile
}
