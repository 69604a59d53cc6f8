// The ScaledObject reconciler against the in-process test API server (no garbage collector, no
// controllers: what the reconciler does is all that happens).
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "ebb/api/decode.h"

#include "ebb/cluster/resources.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/operator/reconciler.h"
#include "ebb/operator/status.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;
namespace res = ebb::kube::resources;

namespace {

struct Fixture {
  bool with_crds;
  testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<kube::EventRecorder> recorder;
  std::unique_ptr<op::ScaledObjectReconciler> reconciler;
  const std::string ns = "shop";

  // with_crds: install crds/ (the test API server then prunes and validates like a real cluster)
  // instead of serving keda.sh without schemas.
  explicit Fixture(bool crds = false)
      : with_crds(crds), server(testapi::TestApiServerOptions{.preregister_keda = !crds}) {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("test-token");
    client = std::make_unique<kube::Client>(config);
    recorder = std::make_unique<kube::EventRecorder>(
        *client, kube::EventRecorderOptions{.reporting_controller = "keda-operator", .reporting_instance = "test"});
    op::ReconcilerOptions options;
    options.version = "test";
    options.missing_target_recheck = std::chrono::milliseconds(1234);
    reconciler = std::make_unique<op::ScaledObjectReconciler>(*client, *recorder, options);
    REQUIRE(client->create(res::namespaces(), json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}).ok());
    if (with_crds) {
      for (const char* file : {"keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml",
                               "keda.sh_clustertriggerauthentications.yaml"}) {
        std::ifstream in(std::string(EBB_SOURCE_DIR) + "/crds/" + file);
        REQUIRE(in.good());
        std::stringstream text;
        text << in.rdbuf();
        auto crd = api::yaml_to_json(text.str());
        REQUIRE(crd.ok());
        auto created = client->create(res::custom_resource_definitions(), *crd);
        if (!created) FAIL(created.error().message);
      }
    }
  }

  void deployment(const std::string& name, int replicas = 2) {
    json d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","spec":{"selector":{"matchLabels":{"app":"w"}},
      "template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"app","image":"busybox",
      "env":[{"name":"RABBIT_URL","value":"amqp://guest:guest@rabbit:5672/"}]}]}}}})");
    d["metadata"] = {{"name", name}, {"namespace", ns}};
    d["spec"]["replicas"] = replicas;
    auto created = client->create(res::deployments(), d);
    REQUIRE(created.ok());
  }

  json so(const std::string& name, const std::string& target) {
    json o = json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","spec":{
      "minReplicaCount":0,"maxReplicaCount":10,
      "triggers":[{"type":"rabbitmq","metadata":{"queueName":"orders","mode":"QueueLength","value":"20","hostFromEnv":"RABBIT_URL"}},
                  {"type":"cpu","metricType":"Utilization","metadata":{"value":"70"}}]}})");
    o["metadata"] = {{"name", name}, {"namespace", ns}, {"labels", {{"team", "a"}}}};
    o["spec"]["scaleTargetRef"] = {{"name", target}};
    return o;
  }

  void create_so(const json& o) {
    auto created = client->create(ebb::cluster::scaled_objects(), o);
    if (!created) FAIL(created.error().message);
  }

  ebb::runtime::ReconcileResult reconcile(const std::string& name) {
    return reconciler->reconcile(ns + "/" + name);
  }

  json get_so(const std::string& name) {
    auto got = client->get(ebb::cluster::scaled_objects(), ns, name);
    if (!got) FAIL(got.error().message);
    return *got;
  }
  std::optional<json> get_hpa(const std::string& name) {
    auto got = client->get(res::horizontal_pod_autoscalers(), ns, name);
    if (!got) {
      REQUIRE(got.error().not_found());
      return std::nullopt;
    }
    return *got;
  }
  int replicas(const std::string& name) {
    auto scale = client->get_scale(res::deployments(), ns, name);
    REQUIRE(scale.ok());
    return scale->replicas;
  }
  void annotate(const std::string& name, const std::string& key, std::optional<std::string> value) {
    auto written = client->read_modify_write(ebb::cluster::scaled_objects(), ns, name, [&](kube::Object& o) {
      if (value) o["metadata"]["annotations"][key] = *value;
      else if (o["metadata"].contains("annotations")) o["metadata"]["annotations"].erase(key);
      return true;
    });
    REQUIRE(written.ok());
  }
  // (type, reason, note) of the Events about `name`, in creation order.
  std::vector<std::tuple<std::string, std::string, std::string>> events(const std::string& name) {
    auto listed = client->list(res::events(), ns);
    REQUIRE(listed.ok());
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const auto& e : listed->items)
      if (e["regarding"]["name"] == name) out.emplace_back(e.value("type", ""), e.value("reason", ""), e.value("note", ""));
    return out;
  }
  bool has_event(const std::string& name, const std::string& type, const std::string& reason) {
    for (const auto& [t, r, n] : events(name))
      if (t == type && r == reason) return true;
    return false;
  }
  // Write requests (anything but GET) since the log was cleared, excluding nothing.
  std::vector<std::string> writes() {
    std::vector<std::string> out;
    for (const auto& r : server.request_log())
      if (r.method != "GET") out.push_back(r.method + " " + r.path);
    return out;
  }
};

op::Condition ready_of(const json& so) {
  auto c = api::get_condition(so["status"], "Ready");
  REQUIRE(c);
  return *c;
}

}  // namespace

TEST_CASE("worked example end to end: finalizer, label, HPA, status, events, a second pass writes nothing") {
  const bool crds = GENERATE(false, true);
  INFO("with Ebb's CRDs installed: " << crds);
  Fixture f(crds);
  f.deployment("orders-worker", 2);
  f.create_so(f.so("orders", "orders-worker"));
  auto r = f.reconcile("orders");
  REQUIRE(r.ok());
  CHECK_FALSE(r.requeue_after);

  auto so = f.get_so("orders");
  CHECK(so["metadata"]["finalizers"] == json::array({"finalizer.keda.sh"}));
  CHECK(so["metadata"]["labels"]["scaledobject.keda.sh/name"] == "orders");
  const auto& st = so["status"];
  CHECK(st["scaleTargetKind"] == "apps/v1.Deployment");
  CHECK(st["scaleTargetGVKR"] == json::parse(R"({"group":"apps","version":"v1","kind":"Deployment","resource":"deployments"})"));
  CHECK(st["originalReplicaCount"] == 2);
  CHECK(st["externalMetricNames"] == json::array({"s0-rabbitmq-orders"}));
  CHECK(st["resourceMetricNames"] == json::array({"cpu"}));
  CHECK(st["hpaName"] == "keda-hpa-orders");
  CHECK(st["triggersTypes"] == "rabbitmq,cpu");
  CHECK(st["authenticationsTypes"] == "");
  auto ready = ready_of(so);
  CHECK(ready.status == "True");
  CHECK(ready.reason == "ScaledObjectReady");
  CHECK(api::observed_generation(st, "Ready") == so["metadata"]["generation"].get<std::int64_t>());
  CHECK(api::get_condition(st, "Paused")->status == "False");
  CHECK_FALSE(api::get_condition(st, "Active"));  // the adapter's
  CHECK_FALSE(api::get_condition(st, "Fallback"));
  CHECK(api::adapter_may_act(so));

  auto hpa = f.get_hpa("keda-hpa-orders");
  REQUIRE(hpa);
  CHECK((*hpa)["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "keda-operator");
  CHECK((*hpa)["metadata"]["labels"]["scaledobject.keda.sh/name"] == "orders");
  CHECK((*hpa)["metadata"]["labels"]["team"] == "a");
  CHECK((*hpa)["metadata"]["ownerReferences"][0]["uid"] == so["metadata"]["uid"]);
  CHECK((*hpa)["metadata"]["ownerReferences"][0]["controller"] == true);
  CHECK((*hpa)["spec"]["minReplicas"] == 1);
  CHECK((*hpa)["spec"]["maxReplicas"] == 10);
  CHECK((*hpa)["spec"]["metrics"][0]["external"]["metric"]["name"] == "s0-rabbitmq-orders");
  CHECK((*hpa)["spec"]["metrics"][1]["resource"]["name"] == "cpu");

  auto ev = f.events("orders");
  REQUIRE(ev.size() == 1);
  CHECK(ev[0] == std::tuple<std::string, std::string, std::string>{"Normal", "ScaledObjectReady",
                                                                    "ScaledObject is ready for scaling"});

  f.server.clear_request_log();
  REQUIRE(f.reconcile("orders").ok());
  CHECK(f.writes().empty());
  CHECK(f.events("orders").size() == 1);
}

TEST_CASE("a spec change updates the HPA and the observed generation") {
  Fixture f;
  f.deployment("w");
  f.create_so(f.so("orders", "w"));
  REQUIRE(f.reconcile("orders").ok());
  auto written = f.client->read_modify_write(ebb::cluster::scaled_objects(), f.ns, "orders", [](kube::Object& o) {
    o["spec"]["maxReplicaCount"] = 7;
    return true;
  });
  REQUIRE(written.ok());
  const auto generation = (*written)["metadata"]["generation"].get<std::int64_t>();
  REQUIRE(f.reconcile("orders").ok());
  CHECK((*f.get_hpa("keda-hpa-orders"))["spec"]["maxReplicas"] == 7);
  CHECK(api::observed_generation(f.get_so("orders")["status"], "Ready") == generation);
}

TEST_CASE("an invalid ScaledObject: Ready=False naming the field, a Warning event, no HPA, an unchanged repeat is quiet") {
  Fixture f;
  f.deployment("w");
  auto o = f.so("orders", "w");
  o["spec"]["triggers"][0]["type"] = "rabbitmqq";
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  auto so = f.get_so("orders");
  auto ready = ready_of(so);
  CHECK(ready.status == "False");
  CHECK(ready.reason == "ScaledObjectCheckFailed");
  CHECK_THAT(ready.message, Catch::Contains("spec.triggers[0].type") && Catch::Contains("rabbitmq"));
  CHECK(f.has_event("orders", "Warning", "ScaledObjectCheckFailed"));
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK_FALSE(api::adapter_may_act(so));

  f.server.clear_request_log();
  const auto before = f.events("orders").size();
  REQUIRE(f.reconcile("orders").ok());
  CHECK(f.writes().empty());
  CHECK(f.events("orders").size() == before);
}

TEST_CASE("scaler metadata errors name the trigger and field") {
  Fixture f;
  f.deployment("w");
  auto o = f.so("orders", "w");
  o["spec"]["triggers"][0]["metadata"].erase("queueName");
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  auto ready = ready_of(f.get_so("orders"));
  CHECK(ready.status == "False");
  CHECK_THAT(ready.message, Catch::Contains("trigger 0 (rabbitmq)") && Catch::Contains("queueName"));
  CHECK_THAT(ready.message, !Catch::Contains("guest"));  // never a secret value
  CHECK(f.has_event("orders", "Warning", "KEDAScalerFailed"));
}

TEST_CASE("a missing scale target: Ready=False and a recheck, created later -> HPA") {
  Fixture f;
  f.create_so(f.so("orders", "later"));
  auto r = f.reconcile("orders");
  REQUIRE(r.ok());
  REQUIRE(r.requeue_after);
  CHECK(*r.requeue_after == std::chrono::milliseconds(1234));
  auto ready = ready_of(f.get_so("orders"));
  CHECK(ready.status == "False");
  CHECK_THAT(ready.message, Catch::StartsWith("Target resource doesn't exist"));
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK(f.has_event("orders", "Warning", "ScaledObjectCheckFailed"));

  f.deployment("later", 4);
  r = f.reconcile("orders");
  REQUIRE(r.ok());
  CHECK_FALSE(r.requeue_after);
  CHECK(f.get_hpa("keda-hpa-orders"));
  auto so = f.get_so("orders");
  CHECK(ready_of(so).status == "True");
  CHECK(so["status"]["originalReplicaCount"] == 4);
}

TEST_CASE("two ScaledObjects on one target: the owner keeps it, the other gets Ready=False and no HPA") {
  Fixture f;
  f.deployment("w");
  f.create_so(f.so("first", "w"));
  REQUIRE(f.reconcile("first").ok());
  f.create_so(f.so("second", "w"));
  REQUIRE(f.reconcile("second").ok());
  auto ready = ready_of(f.get_so("second"));
  CHECK(ready.status == "False");
  CHECK(ready.reason == "ScaleTargetOwnedByOtherScaledObject");
  CHECK_THAT(ready.message, Catch::Contains("first"));
  CHECK_FALSE(f.get_hpa("keda-hpa-second"));
  REQUIRE(f.reconcile("first").ok());
  CHECK(ready_of(f.get_so("first")).status == "True");
}

TEST_CASE("a foreign HPA on the target: conflict without transfer, taken over with it") {
  Fixture f;
  f.deployment("w");
  json foreign = json::parse(R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler",
    "metadata":{"name":"theirs","namespace":"shop"},
    "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"w"},"minReplicas":1,"maxReplicas":3,
            "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}})");
  REQUIRE(f.client->create(res::horizontal_pod_autoscalers(), foreign).ok());
  f.create_so(f.so("orders", "w"));
  REQUIRE(f.reconcile("orders").ok());
  auto ready = ready_of(f.get_so("orders"));
  CHECK(ready.status == "False");
  CHECK(ready.reason == "ScaleTargetOwnedByForeignHPA");
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK((*f.get_hpa("theirs"))["spec"]["maxReplicas"] == 3);

  f.annotate("orders", "scaledobject.keda.sh/transfer-hpa-ownership", "true");
  REQUIRE(f.client->read_modify_write(ebb::cluster::scaled_objects(), f.ns, "orders", [](kube::Object& o) {
    o["spec"]["advanced"] = {{"horizontalPodAutoscalerConfig", {{"name", "theirs"}}}};
    return true;
  }).ok());
  REQUIRE(f.reconcile("orders").ok());
  auto so = f.get_so("orders");
  CHECK(ready_of(so).status == "True");
  auto hpa = f.get_hpa("theirs");
  CHECK((*hpa)["spec"]["maxReplicas"] == 10);
  CHECK((*hpa)["metadata"]["ownerReferences"][0]["uid"] == so["metadata"]["uid"]);
  CHECK(so["status"]["hpaName"] == "theirs");
}

TEST_CASE("full pause with paused-replicas: Paused first, HPA deleted, replicas set, unpause recreates the HPA") {
  Fixture f;
  f.deployment("w", 5);
  f.create_so(f.so("orders", "w"));
  REQUIRE(f.reconcile("orders").ok());
  REQUIRE(f.get_hpa("keda-hpa-orders"));

  f.annotate("orders", "autoscaling.keda.sh/paused-replicas", "2");
  f.server.clear_request_log();
  REQUIRE(f.reconcile("orders").ok());
  // Order: the Paused status write comes before the HPA delete and the /scale write.
  std::vector<std::string> order;
  for (const auto& w : f.writes())
    if (w.find("/events") == std::string::npos) order.push_back(w);
  REQUIRE(order.size() >= 3);
  CHECK_THAT(order[0], Catch::StartsWith("PUT") && Catch::EndsWith("/scaledobjects/orders/status"));
  CHECK_THAT(order[1], Catch::StartsWith("DELETE") && Catch::EndsWith("keda-hpa-orders"));
  CHECK_THAT(order[2], Catch::EndsWith("/deployments/w/scale"));
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK(f.replicas("w") == 2);
  auto so = f.get_so("orders");
  CHECK(so["status"]["pausedReplicaCount"] == 2);
  CHECK(so["status"]["originalReplicaCount"] == 5);
  CHECK(api::get_condition(so["status"], "Paused")->status == "True");
  CHECK(ready_of(so).message == "ScaledObject is paused");
  CHECK(f.has_event("orders", "Normal", "ScaledObjectPaused"));
  CHECK_FALSE(api::adapter_may_act(so));

  f.server.clear_request_log();
  REQUIRE(f.reconcile("orders").ok());
  CHECK(f.writes().empty());

  f.annotate("orders", "autoscaling.keda.sh/paused-replicas", std::nullopt);
  REQUIRE(f.reconcile("orders").ok());
  CHECK(f.get_hpa("keda-hpa-orders"));
  so = f.get_so("orders");
  CHECK(api::get_condition(so["status"], "Paused")->status == "False");
  CHECK(api::get_condition(so["status"], "Paused")->reason == "ScaledObjectUnpaused");
  CHECK_FALSE(so["status"].contains("pausedReplicaCount"));
  CHECK(f.has_event("orders", "Normal", "ScaledObjectUnpaused"));
  CHECK(f.replicas("w") == 2);  // unpausing does not scale
}

TEST_CASE("paused: true keeps replicas where they are") {
  Fixture f;
  f.deployment("w", 3);
  auto o = f.so("orders", "w");
  o["metadata"]["annotations"] = {{"autoscaling.keda.sh/paused", "true"}};
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK(f.replicas("w") == 3);
  auto so = f.get_so("orders");
  CHECK(api::get_condition(so["status"], "Paused")->status == "True");
  CHECK_FALSE(so["status"].contains("pausedReplicaCount"));
}

TEST_CASE("directional pause disables the HPA policy and sets Paused, removing it restores the behavior") {
  Fixture f;
  f.deployment("w");
  auto o = f.so("orders", "w");
  o["metadata"]["annotations"] = {{"autoscaling.keda.sh/paused-scale-in", "true"}};
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  auto hpa = f.get_hpa("keda-hpa-orders");
  REQUIRE(hpa);
  CHECK((*hpa)["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Disabled");
  CHECK(api::get_condition(f.get_so("orders")["status"], "Paused")->status == "True");
  f.annotate("orders", "autoscaling.keda.sh/paused-scale-in", std::nullopt);
  REQUIRE(f.reconcile("orders").ok());
  CHECK_FALSE((*f.get_hpa("keda-hpa-orders"))["spec"].contains("behavior"));
  CHECK(api::get_condition(f.get_so("orders")["status"], "Paused")->status == "False");
}

TEST_CASE("rename through horizontalPodAutoscalerConfig.name deletes the old HPA") {
  Fixture f;
  f.deployment("w");
  f.create_so(f.so("orders", "w"));
  REQUIRE(f.reconcile("orders").ok());
  REQUIRE(f.client->read_modify_write(ebb::cluster::scaled_objects(), f.ns, "orders", [](kube::Object& o) {
    o["spec"]["advanced"] = {{"horizontalPodAutoscalerConfig", {{"name", "renamed"}}}};
    return true;
  }).ok());
  REQUIRE(f.reconcile("orders").ok());
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK(f.get_hpa("renamed"));
  CHECK(f.get_so("orders")["status"]["hpaName"] == "renamed");
}

TEST_CASE("an HPA deleted behind our back is recreated") {
  Fixture f;
  f.deployment("w");
  f.create_so(f.so("orders", "w"));
  REQUIRE(f.reconcile("orders").ok());
  REQUIRE(f.client->remove(res::horizontal_pod_autoscalers(), f.ns, "keda-hpa-orders").ok());
  REQUIRE(f.reconcile("orders").ok());
  CHECK(f.get_hpa("keda-hpa-orders"));
}

TEST_CASE("deletion: HPA deleted, replicas restored when asked, finalizer released, Warning event") {
  Fixture f;
  f.deployment("w", 3);
  auto o = f.so("orders", "w");
  const bool restore = GENERATE(true, false);
  o["spec"]["advanced"] = {{"restoreToOriginalReplicaCount", restore}};
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  REQUIRE(f.client->update_scale(res::deployments(), f.ns, "w", 6).ok());
  REQUIRE(f.client->remove(ebb::cluster::scaled_objects(), f.ns, "orders").ok());
  REQUIRE(f.reconcile("orders").ok());
  CHECK_FALSE(f.get_hpa("keda-hpa-orders"));
  CHECK(f.replicas("w") == (restore ? 3 : 6));
  auto gone = f.client->get(ebb::cluster::scaled_objects(), f.ns, "orders");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().not_found());
  CHECK(f.has_event("orders", "Warning", "ScaledObjectDeleted"));
}

TEST_CASE("a target gone at deletion never blocks it") {
  Fixture f;
  f.deployment("w", 3);
  auto o = f.so("orders", "w");
  o["spec"]["advanced"] = {{"restoreToOriginalReplicaCount", true}};
  f.create_so(o);
  REQUIRE(f.reconcile("orders").ok());
  REQUIRE(f.client->remove(res::deployments(), f.ns, "w").ok());
  REQUIRE(f.client->remove(ebb::cluster::scaled_objects(), f.ns, "orders").ok());
  REQUIRE(f.reconcile("orders").ok());
  CHECK_FALSE(f.client->get(ebb::cluster::scaled_objects(), f.ns, "orders").ok());
}

TEST_CASE("an injected 409 on the status write converges") {
  Fixture f;
  f.deployment("w");
  f.create_so(f.so("orders", "w"));
  f.server.inject({.kind = testapi::Fault::Kind::Error, .status = 409, .count = 2, .method = "^PUT$", .path = "/status$"});
  auto r = f.reconcile("orders");
  REQUIRE(r.ok());
  int conflicts = 0;
  for (const auto& req : f.server.request_log())
    if (req.code == 409) ++conflicts;
  CHECK(conflicts == 2);
  CHECK(ready_of(f.get_so("orders")).status == "True");
}

TEST_CASE("a missing object is success, owner_key and keys_referencing") {
  Fixture f;
  CHECK(f.reconcile("nothing").ok());
  json hpa = {{"metadata", {{"namespace", "shop"}, {"ownerReferences", json::array({{{"apiVersion", "keda.sh/v1alpha1"},
              {"kind", "ScaledObject"}, {"name", "orders"}, {"uid", "u"}, {"controller", true}}})}}}};
  CHECK(op::ScaledObjectReconciler::owner_key(hpa) == "shop/orders");
  hpa["metadata"]["ownerReferences"][0]["controller"] = false;
  CHECK_FALSE(op::ScaledObjectReconciler::owner_key(hpa));

  kube::ObjectCache cache;
  cache.add_index(op::kAuthIndex, op::auth_reference_keys);
  auto a = f.so("a", "w");
  a["spec"]["triggers"][0]["authenticationRef"] = {{"name", "auth"}};
  auto b = f.so("b", "w");
  b["spec"]["triggers"][1]["authenticationRef"] = {{"name", "auth"}, {"kind", "ClusterTriggerAuthentication"}};
  auto c = f.so("c", "w");
  c["metadata"]["namespace"] = "other";
  c["spec"]["triggers"][0]["authenticationRef"] = {{"name", "auth"}};
  for (const auto& o : {a, b, c}) cache.upsert(o);
  const kube::CacheView view({&cache});
  CHECK(op::ScaledObjectReconciler::keys_referencing(view, "TriggerAuthentication", "shop", "auth") ==
        std::vector<std::string>{"shop/a"});
  CHECK(op::ScaledObjectReconciler::keys_referencing(view, "ClusterTriggerAuthentication", "", "auth") ==
        std::vector<std::string>{"shop/b"});
}
