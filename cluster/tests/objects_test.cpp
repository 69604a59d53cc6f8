// The scalers' view of the cluster: informer-backed (the adapter) and direct (`ebb probe`).
#include <catch2/catch.hpp>

#include <thread>

#include "ebb/cluster/objects.h"
#include "ebb/kube/client.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;
namespace res = ebb::kube::resources;
namespace k8s = ebb::scalers::kubernetes;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  Fixture() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("t");
    client = std::make_unique<kube::Client>(config);
    REQUIRE(client->create(res::namespaces(), {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}}));
  }
  void pod(const std::string& name, const std::string& app) {
    REQUIRE(client->create(res::pods(), {{"apiVersion", "v1"},
                                         {"kind", "Pod"},
                                         {"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", {{"app", app}}}}},
                                         {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}}));
  }
  // LIST and GET requests (a watch is one long request, started once).
  std::size_t reads_of(const std::string& fragment) const {
    std::size_t n = 0;
    for (const auto& r : server.request_log())
      if (r.path.find(fragment) != std::string::npos && r.method == "GET" && r.query.find("watch") == std::string::npos)
        ++n;
    return n;
  }
};

template <class F>
bool eventually(F f) {
  for (int i = 0; i < 200; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE("informer objects: reads come from one shared watch, never a LIST per read") {
  Fixture f;
  f.pod("a", "web");
  f.pod("b", "web");
  f.pod("c", "db");
  cluster::InformerObjects objects(*f.client);
  auto web = objects.list(k8s::kPods, "shop", "app=web");
  REQUIRE(web);
  CHECK(web->size() == 2);
  const auto lists = f.reads_of("/pods");
  for (int i = 0; i < 20; ++i) REQUIRE(objects.list(k8s::kPods, "shop", i % 2 ? "app=db" : "app in (web,db)"));
  CHECK(f.reads_of("/pods") == lists);  // 20 reads, no request
  CHECK(objects.informers() == 1);
  // Changes arrive through the watch.
  f.pod("d", "web");
  CHECK(eventually([&] { return objects.list(k8s::kPods, "shop", "app=web")->size() == 3; }));
}

TEST_CASE("informer objects: get, a missing object, a bad selector, a resource that cannot be listed") {
  Fixture f;
  REQUIRE(f.client->create(res::configmaps(), {{"apiVersion", "v1"},
                                               {"kind", "ConfigMap"},
                                               {"metadata", {{"name", "settings"}, {"namespace", "shop"}}},
                                               {"data", {{"depth", "12"}}}}));
  cluster::InformerObjects objects(*f.client, 500ms);
  auto cm = objects.get(k8s::kConfigMaps, "shop", "settings");
  REQUIRE(cm);
  REQUIRE(cm->has_value());
  CHECK((**cm)["data"]["depth"] == "12");
  auto missing = objects.get(k8s::kConfigMaps, "shop", "other");
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
  auto bad = objects.list(k8s::kPods, "shop", "app in (");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("invalid label selector \"app in (\"") == 0);
  // A resource the server does not serve: an error, not an empty list; the second read does
  // not wait again.
  const k8s::ResourceRef widgets{"example.com", "v1", "widgets"};
  auto first = objects.list(widgets, "shop", "");
  REQUIRE_FALSE(first);
  CHECK(first.error().message == "cannot read widgets.example.com in namespace \"shop\": not listed yet (is "
                                 "list/watch allowed?)");
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(objects.list(widgets, "shop", ""));
  CHECK(std::chrono::steady_clock::now() - started < 400ms);
}

TEST_CASE("direct objects: a LIST or GET per call, with the same answers") {
  Fixture f;
  f.pod("a", "web");
  cluster::DirectObjects objects(*f.client);
  auto web = objects.list(k8s::kPods, "shop", "app=web");
  REQUIRE(web);
  CHECK(web->size() == 1);
  auto none = objects.get(k8s::kConfigMaps, "shop", "nothing");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  CHECK_FALSE(objects.list(k8s::ResourceRef{"example.com", "v1", "widgets"}, "shop", ""));
}
