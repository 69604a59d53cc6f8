// Pure tests of the kubernetes-workload scaler: KEDA's kubernetes_workload_scaler_test.go tables
// (metadata, activity, metric names, phases, groupByNode) with exact errors, against an in-memory
// cluster view; the informer-backed one is in integration/kubernetes_workload_test.cpp.
#include <catch2/catch.hpp>

#include <memory>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "kubernetes_fake_objects.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using nlohmann::json;

namespace {

TriggerContext trigger(Map metadata, std::string ns, std::size_t index = 0) {
  TriggerContext c;
  c.type = "kubernetes-workload";
  c.index = index;
  c.metadata = std::move(metadata);
  c.scaled_object_namespace = std::move(ns);
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

json pod(const std::string& name, const std::string& ns, const std::string& app,
         const std::string& phase = "", const std::string& node = "") {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
            {"spec", json::object()}};
  if (!phase.empty()) p["status"]["phase"] = phase;
  if (!node.empty()) p["spec"]["nodeName"] = node;
  return p;
}

struct Cluster {
  std::shared_ptr<test::FakeObjects> objects = std::make_shared<test::FakeObjects>();
  ConnectionPools pools;
  Cluster() { pools.provide<kubernetes::Objects>(objects); }
  Result<PollResult> poll(const TriggerContext& c) {
    auto parsed = parse(c);
    INFO((parsed ? std::string() : errors_of(parsed).front()));
    REQUIRE(parsed);
    auto scaler = parsed.value()->create_scaler(pools);
    REQUIRE(scaler);
    return scaler.value()->poll();
  }
};

const Map kDemo = {{"value", "1"}, {"podSelector", "app=demo"}};

}  // namespace

TEST_CASE("kubernetes-workload: KEDA's TestParseWorkloadMetadata rows, with exact errors") {
  struct Case {
    Map metadata;
    std::string ns;
    std::vector<std::string> errors;
  };
  const std::string kValue = "metadata.value: value must be a float greater than 0";
  const std::string kSelector =
      "metadata.podSelector: missing required parameter \"podSelector\" in [triggerMetadata]";
  const std::vector<Case> cases = {
      {kDemo, "test", {}},
      {kDemo, "default", {}},
      {{{"value", "1"}, {"podSelector", "app in (demo1, demo2)"}}, "test", {}},
      {{{"value", "1"}, {"podSelector", "app in (demo1, demo2),deploy in (deploy1, deploy2)"}},
       "test",
       {}},
      {{{"value", "1"}, {"podSelector", "app=demo"}, {"groupByNode", "true"}}, "test", {}},
      {{{"podSelector", "app=demo"}}, "test", {kValue}},
      {{{"podSelector", "app=demo"}}, "default", {kValue}},
      {{{"value", "1"}}, "test", {kSelector}},
      {{{"value", "1"}}, "default", {kSelector}},
      // KEDA adds "value must be a float greater than 0" here too.
      {{{"value", "a"}, {"podSelector", "app=demo"}},
       "test",
       {"metadata.value: must be a number, got \"a\""}},
      {{{"value", "a"}, {"podSelector", "app=demo"}},
       "default",
       {"metadata.value: must be a number, got \"a\""}},
      {{{"value", "0"}, {"podSelector", "app=demo"}}, "test", {kValue}},
      {{{"value", "0"}, {"podSelector", "app=demo"}}, "default", {kValue}},
      {{{"value", "1"}, {"activationValue", "aa"}, {"podSelector", "app=demo"}},
       "test",
       {"metadata.activationValue: must be a number, got \"aa\""}},
      {{{"value", "1"}, {"podSelector", "app=demo"}, {"groupByNode", "invalid"}},
       "test",
       {"metadata.groupByNode: must be a boolean (true or false), got \"invalid\""}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    CHECK(errors_of(parse(trigger(cases[i].metadata, cases[i].ns))) == cases[i].errors);
  }
}

TEST_CASE("kubernetes-workload: selectors, negative values and scalingModifiers") {
  CHECK(errors_of(parse(trigger({{"value", "1"}, {"podSelector", "app in (demo"}}, "test"))) ==
        std::vector<std::string>{
            "metadata.podSelector: error parsing pod selector: invalid label selector \"app in "
            "(demo\": missing ')' at position 12"});
  // apimachinery's numeric gt/lt requirements are not supported.
  CHECK(errors_of(parse(trigger({{"value", "1"}, {"podSelector", "replicas>1"}}, "test"))).size() ==
        1);
  for (const char* ok :
       {"app", "!canary", "app!=demo", "app==demo,tier notin (db)", " app = demo "})
    CHECK(parse(trigger({{"value", "1"}, {"podSelector", ok}}, "test")).ok());
  CHECK(errors_of(parse(trigger({{"value", "-2"}, {"podSelector", "app=demo"}}, "test"))) ==
        std::vector<std::string>{"metadata.value: value must be a float greater than 0"});
  // With scalingModifiers (KEDA's AsMetricSource) value may be left out.
  auto c = trigger({{"podSelector", "app=demo"}}, "test");
  c.as_metric_source = true;
  auto r = parse(c);
  REQUIRE(r);
  CHECK(r.value()->metric_spec().target_quantity == "0");
}

TEST_CASE("kubernetes-workload: KEDA's TestWorkloadGetMetricSpecForScaling names, float targets") {
  const std::vector<std::tuple<Map, std::string, std::size_t, std::string>> cases = {
      {kDemo, "test", 0, "s0-workload-test"},
      {kDemo, "default", 1, "s1-workload-default"},
      {{{"value", "1"}, {"podSelector", "app in (demo1, demo2)"}}, "test", 2, "s2-workload-test"},
      {{{"value", "1"}, {"podSelector", "app in (demo1, demo2),deploy in (deploy1, deploy2)"}},
       "test",
       3,
       "s3-workload-test"},
  };
  for (const auto& [metadata, ns, index, name] : cases) {
    auto r = parse(trigger(metadata, ns, index));
    REQUIRE(r);
    CHECK(r.value()->metric_spec().name == name);
    CHECK(r.value()->metric_spec().target_quantity == "1");
    CHECK(r.value()->metric_spec().target_type == MetricTargetType::AverageValue);
  }
  auto r = parse(
      trigger({{"value", "1.5"}, {"activationValue", "2"}, {"podSelector", "app=demo"}}, "team.a"));
  REQUIRE(r);
  CHECK(r.value()->metric_spec().name == "s0-workload-team-a");
  CHECK(r.value()->metric_spec().target == 1.5);
  CHECK(r.value()->metric_spec().target_quantity == "1.500");
  CHECK(r.value()->metric_spec().activation_target == 2);
  CHECK(r.value()->endpoint() == "kubernetes pods in namespace \"team.a\" matching \"app=demo\"");
  const auto* def = Registry::builtin().find("kubernetes-workload");
  REQUIRE(def);
  CHECK(def->keda_name == "kubernetesWorkloadScaler");
  CHECK(def->cached_metrics);
}

TEST_CASE("kubernetes-workload: KEDA's TestWorkloadIsActive (pods live in namespace default)") {
  for (const auto& [ns, pods, active] :
       std::vector<std::tuple<std::string, int, bool>>{{"test", 0, false},
                                                       {"test", 1, false},
                                                       {"test", 15, false},
                                                       {"default", 0, false},
                                                       {"default", 1, true},
                                                       {"default", 15, true}}) {
    INFO(ns << " with " << pods << " pods");
    Cluster cluster;
    for (int i = 0; i < pods; ++i)
      cluster.objects->add(kubernetes::kPods, pod("p" + std::to_string(i), "default", "demo"));
    auto r = cluster.poll(trigger(kDemo, ns));
    REQUIRE(r);
    CHECK(r->active == active);
    CHECK(r->value == (ns == "default" ? pods : 0));
  }
}

TEST_CASE("kubernetes-workload: KEDA's TestWorkloadPhase: Succeeded and Failed do not count") {
  for (const auto& [phase, active] : std::vector<std::pair<std::string, bool>>{{"Running", true},
                                                                               {"Pending", true},
                                                                               {"Unknown", true},
                                                                               {"Succeeded", false},
                                                                               {"Failed", false},
                                                                               {"", true}}) {
    INFO("phase " << phase);
    Cluster cluster;
    cluster.objects->add(kubernetes::kPods, pod("p", "default", "testphases", phase));
    auto r = cluster.poll(trigger({{"value", "1"}, {"podSelector", "app=testphases"}}, "default"));
    REQUIRE(r);
    CHECK(r->active == active);
    CHECK(r->value == (active ? 1 : 0));
  }
}

TEST_CASE("kubernetes-workload: KEDA's TestWorkloadGroupByNode") {
  Cluster cluster;
  cluster.objects->add(kubernetes::kPods, pod("a-1", "default", "demo", "Running", "node-a"));
  cluster.objects->add(kubernetes::kPods, pod("a-2", "default", "demo", "Running", "node-a"));
  cluster.objects->add(kubernetes::kPods, pod("b", "default", "demo", "Running", "node-b"));
  cluster.objects->add(kubernetes::kPods, pod("pending", "default", "demo", "Pending"));
  cluster.objects->add(kubernetes::kPods, pod("failed", "default", "demo", "Failed", "node-c"));
  cluster.objects->add(kubernetes::kPods, pod("other", "default", "web", "Running", "node-d"));
  auto r = cluster.poll(trigger(kDemo, "default"));
  REQUIRE(r);
  CHECK(r->value == 4);
  r = cluster.poll(
      trigger({{"value", "1"}, {"podSelector", "app=demo"}, {"groupByNode", "true"}}, "default"));
  REQUIRE(r);
  CHECK(r->value == 2);
  // Activation is strictly above activationValue.
  r = cluster.poll(
      trigger({{"value", "1"}, {"activationValue", "4"}, {"podSelector", "app=demo"}}, "default"));
  REQUIRE(r);
  CHECK(r->value == 4);
  CHECK_FALSE(r->active);
}

TEST_CASE("kubernetes-workload: a cluster view that cannot answer is an error, never 0") {
  Cluster cluster;
  cluster.objects->failure =
      "cannot read pods in namespace \"default\": not listed yet (is list/watch allowed?)";
  auto r = cluster.poll(trigger(kDemo, "default"));
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "error inspecting kubernetes workload: cannot read pods in namespace \"default\": not "
        "listed yet (is list/watch allowed?)");
  CHECK(r.error().transient);
  // A process that installed no cluster view: create_scaler fails, nothing throws.
  ConnectionPools bare;
  auto parsed = parse(trigger(kDemo, "default"));
  REQUIRE(parsed);
  auto scaler = parsed.value()->create_scaler(bare);
  REQUIRE_FALSE(scaler);
  CHECK(scaler.error().message ==
        "this process has no view of the cluster to read Kubernetes objects from");
}
