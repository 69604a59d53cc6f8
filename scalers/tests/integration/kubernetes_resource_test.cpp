// kubernetes-resource against the in-process test API server, read as the adapter reads it: an
// informer-backed cluster view (cluster::InformerObjects). A ConfigMap's and a Secret's key give
// exact values and follow updates; a missing object or key is an error; triggers on the same kind
// and namespace share one informer and polls put no LIST or GET on the server; a kind that cannot
// be listed is an error until it can; a Secret's value never shows in an error.
#include <catch2/catch.hpp>

#include <thread>

#include "ebb/cluster/objects.h"
#include "ebb/kube/client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
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
    REQUIRE(client->create(
        res::namespaces(),
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}}));
    objects = std::make_shared<cluster::InformerObjects>(*client, 1s);
    pools.provide<kubernetes::Objects>(objects);
  }

  json config_map(const std::string& name, const Map& data) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"namespace", "shop"}}},
            {"data", data}};
  }
  json secret(const std::string& name, const Map& data) {
    json encoded = json::object();
    for (const auto& [k, v] : data) encoded[k] = base64_encode(v);
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}, {"namespace", "shop"}}},
            {"data", encoded}};
  }
  void put_config_map(const std::string& name, const Map& data) {
    auto existing = client->get(res::configmaps(), "shop", name);
    if (!existing) {
      REQUIRE(client->create(res::configmaps(), config_map(name, data)));
      return;
    }
    auto updated = *existing;
    updated["data"] = data;
    REQUIRE(client->update(res::configmaps(), updated));
  }

  std::unique_ptr<Scaler> scaler(Map metadata) {
    TriggerContext c;
    c.type = "kubernetes-resource";
    c.metadata = std::move(metadata);
    c.scaled_object_namespace = "shop";
    auto parsed = Registry::builtin().parse(c);
    REQUIRE(parsed);
    auto made = parsed.value()->create_scaler(pools);
    REQUIRE(made);
    return std::move(made).value();
  }

  std::size_t reads(const std::string& resource) const {
    std::size_t n = 0;
    for (const auto& r : server.request_log())
      if (r.method == "GET" && r.path.find("/" + resource) != std::string::npos &&
          r.query.find("watch") == std::string::npos)
        ++n;
    return n;
  }
};

Map cm(const std::string& name, const std::string& key, Map extra = {}) {
  Map m = {
      {"resourceKind", "ConfigMap"}, {"resourceName", name}, {"key", key}, {"targetValue", "10"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

template <class F>
bool eventually(F f, int tries = 250) {
  for (int i = 0; i < tries; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool value_is(Scaler& s, double v) {
  auto r = s.poll();
  return r && r->value == v;
}

std::string error_of(Scaler& s) {
  auto r = s.poll();
  return r ? std::string("no error, value ") + std::to_string(r->value) : r.error().message;
}

}  // namespace

TEST_CASE("kubernetes-resource: a ConfigMap key, its updates, its deletion") {
  Cluster c;
  c.put_config_map("scaling", {{"depth", "12"},
                               {"doc", R"({"queues": [{"n": 3}, {"n": 40}]})"},
                               {"yaml", "a:\n  b: 750m\n"}});
  auto depth = c.scaler(cm("scaling", "depth", {{"activationTargetValue", "12"}}));
  auto r = depth->poll();
  REQUIRE(r);
  CHECK(r->value == 12);
  CHECK_FALSE(r->active);  // not above 12
  auto json_value =
      c.scaler(cm("scaling", "doc", {{"format", "json"}, {"valueLocation", "queues.1.n"}}));
  CHECK(value_is(*json_value, 40));
  auto yaml_value =
      c.scaler(cm("scaling", "yaml",
                  {{"format", "yaml"}, {"valueLocation", "a.b"}, {"valueType", "quantity"}}));
  CHECK(value_is(*yaml_value, 0.75));

  c.put_config_map("scaling", {{"depth", "13"}});
  CHECK(eventually([&] { return value_is(*depth, 13); }));
  CHECK(depth->poll()->active);
  CHECK(eventually([&] {
    return error_of(*json_value) ==
           "error getting metric value from ConfigMap: key doc not "
           "found in ConfigMap shop/scaling";
  }));

  REQUIRE(c.client->remove(res::configmaps(), "shop", "scaling"));
  CHECK(eventually([&] {
    return error_of(*depth) ==
           "error getting metric value from ConfigMap: error getting ConfigMap shop/scaling: "
           "configmaps \"scaling\" not found";
  }));
  // Created again: the value comes back.
  c.put_config_map("scaling", {{"depth", "2"}});
  CHECK(eventually([&] { return value_is(*depth, 2); }));
}

TEST_CASE("kubernetes-resource: a Secret key is decoded and its value stays out of errors") {
  Cluster c;
  REQUIRE(
      c.client->create(res::secrets(), c.secret("limits", {{"max", "25"}, {"token", "hunter2"}})));
  auto max = c.scaler({{"resourceKind", "Secret"},
                       {"resourceName", "limits"},
                       {"key", "max"},
                       {"targetValue", "10"}});
  auto r = max->poll();
  REQUIRE(r);
  CHECK(r->value == 25);
  CHECK(r->active);
  auto token = c.scaler({{"resourceKind", "Secret"},
                         {"resourceName", "limits"},
                         {"key", "token"},
                         {"targetValue", "10"}});
  const auto message = error_of(*token);
  CHECK(
      message ==
      "error getting metric value from Secret: error parsing value as float64: strconv.ParseFloat: "
      "parsing <redacted>: invalid syntax");
  CHECK(message.find("hunter2") == std::string::npos);
}

TEST_CASE("kubernetes-resource: one informer per kind and namespace, no LIST or GET per poll") {
  Cluster c;
  c.put_config_map("a", {{"x", "1"}});
  c.put_config_map("b", {{"x", "2"}});
  auto a = c.scaler(cm("a", "x"));
  auto b = c.scaler(cm("b", "x"));
  CHECK(value_is(*a, 1));
  CHECK(value_is(*b, 2));
  const auto synced = c.reads("configmaps");
  CHECK(synced == 1 + 2);  // the informer's LIST, and put_config_map's GETs before it
  for (int i = 0; i < 30; ++i) {
    CHECK(value_is(*a, 1));
    CHECK(value_is(*b, 2));
  }
  CHECK(c.reads("configmaps") == synced);
  CHECK(c.objects->informers() == 1);
  // A missing object is answered from the cache too.
  auto missing = c.scaler(cm("nope", "x"));
  CHECK(error_of(*missing) ==
        "error getting metric value from ConfigMap: error getting ConfigMap shop/nope: "
        "configmaps \"nope\" not found");
  CHECK(c.reads("configmaps") == synced);
}

TEST_CASE("kubernetes-resource: a kind that cannot be listed is an error, never 0, until it can") {
  Cluster c;
  REQUIRE(c.client->create(res::secrets(), c.secret("limits", {{"max", "7"}})));
  c.server.inject({.kind = testapi::Fault::Kind::Error,
                   .status = 403,
                   .count = 1000,
                   .method = "^GET$",
                   .path = "/namespaces/shop/secrets"});
  auto max = c.scaler({{"resourceKind", "Secret"},
                       {"resourceName", "limits"},
                       {"key", "max"},
                       {"targetValue", "10"}});
  auto r = max->poll();
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "error getting metric value from Secret: error getting Secret shop/limits: cannot read "
        "secrets in namespace \"shop\": not listed yet (is list/watch allowed?)");
  c.server.clear_faults();
  CHECK(eventually([&] { return value_is(*max, 7); }, 1500));
}
