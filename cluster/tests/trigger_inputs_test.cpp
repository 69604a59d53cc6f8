// Reading a ScaledObject's inputs from the cluster: the scale target, its env, the
// (Cluster)TriggerAuthentications and their Secrets, and the scalers' pure step.
#include <catch2/catch.hpp>

#include "ebb/api/decode.h"
#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/kube/client.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;
namespace res = ebb::kube::resources;

namespace {

struct Fixture {
  testapi::TestApiServer server{testapi::TestApiServerOptions{.preregister_keda = true}};
  std::unique_ptr<kube::Client> client;
  Fixture() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("t");
    client = std::make_unique<kube::Client>(config);
    for (const char* ns : {"shop", "keda"})
      REQUIRE(client->create(res::namespaces(), json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}).ok());
  }
  void create(const kube::Resource& r, json o) {
    auto created = client->create(r, o);
    if (!created) FAIL(created.error().message);
  }
  void secret(const std::string& ns, const std::string& name, const json& string_data) {
    json data = json::object();
    for (auto it = string_data.begin(); it != string_data.end(); ++it)
      data[it.key()] = base64_encode(it->get<std::string>());
    create(res::secrets(), {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", data}});
  }
};

api::ScaledObject decode(const std::string& yaml) {
  auto docs = api::decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  REQUIRE(docs[0].ok());
  return *docs[0].scaled_object();
}

const kube::Resource kTA = ebb::cluster::trigger_authentications();
const kube::Resource kCTA = ebb::cluster::cluster_trigger_authentications();

}  // namespace

TEST_CASE("scale target: Deployment resolved without discovery, missing vs kind without /scale") {
  Fixture f;
  auto so = decode("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s, namespace: shop}\n"
                   "spec: {scaleTargetRef: {name: w}, triggers: [{type: cpu, metricType: Utilization, metadata: {value: '50'}}]}\n");
  auto missing = cluster::resolve_scale_target(*f.client, so);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == cluster::TargetProblem::Kind::not_found);
  CHECK_THAT(missing.error().message, Catch::StartsWith("Target resource doesn't exist"));

  f.create(res::deployments(), json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w","namespace":"shop"},
    "spec":{"replicas":3,"selector":{},"template":{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"}]}]}}}})"));
  auto found = cluster::resolve_scale_target(*f.client, so);
  REQUIRE(found.ok());
  CHECK(found->gvkr.kind_string() == "apps/v1.Deployment");
  CHECK(found->gvkr.resource == "deployments");
  CHECK(found->scale.replicas == 3);

  // A ConfigMap exists but has no /scale.
  f.create(res::configmaps(), {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}, {"namespace", "shop"}}}});
  so.spec.scale_target_ref = {"v1", "ConfigMap", "cm", ""};
  auto not_scalable = cluster::resolve_scale_target(*f.client, so);
  REQUIRE_FALSE(not_scalable.ok());
  CHECK(not_scalable.error().kind == cluster::TargetProblem::Kind::not_scalable);
  CHECK_THAT(not_scalable.error().message, Catch::StartsWith("Target resource doesn't expose /scale subresource"));

  so.spec.scale_target_ref = {"example.com/v1", "Widget", "x", ""};
  auto unknown = cluster::resolve_scale_target(*f.client, so);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == cluster::TargetProblem::Kind::unknown_kind);
}

TEST_CASE("pod env: envFrom, secretKeyRef, configMapKeyRef, $(VAR) expansion, envSourceContainerName") {
  Fixture f;
  f.secret("shop", "creds", {{"URL", "amqp://u:topsecret@h/"}, {"K", "v"}});
  f.create(res::configmaps(), {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}, {"namespace", "shop"}}},
                               {"data", {{"Q", "orders"}}}});
  f.create(res::deployments(), json::parse(R"J({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w","namespace":"shop"},
    "spec":{"selector":{},"template":{"spec":{"containers":[
      {"name":"first","env":[{"name":"A","value":"1"}]},
      {"name":"app","envFrom":[{"secretRef":{"name":"creds"},"prefix":"P_"},{"configMapRef":{"name":"nope","optional":true}}],
       "env":[{"name":"HOST","valueFrom":{"secretKeyRef":{"name":"creds","key":"URL"}}},
              {"name":"QUEUE","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"Q"}}},
              {"name":"FULL","value":"$(QUEUE)-x-$$(QUEUE)"},
              {"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}}})J"));
  auto so = decode("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s, namespace: shop}\n"
                   "spec: {scaleTargetRef: {name: w, envSourceContainerName: app}, triggers: [{type: cpu, metricType: Utilization, metadata: {value: '50'}}]}\n");
  auto target = cluster::resolve_scale_target(*f.client, so);
  REQUIRE(target.ok());
  auto env = cluster::read_target_environment(*f.client, *target, "app");
  REQUIRE(env.ok());
  CHECK(env->containers.size() == 2);
  CHECK(env->source_env.at("HOST") == "amqp://u:topsecret@h/");
  CHECK(env->source_env.at("P_K") == "v");
  CHECK(env->source_env.at("QUEUE") == "orders");
  CHECK(env->source_env.at("FULL") == "orders-x-$(QUEUE)");
  CHECK_FALSE(env->source_env.count("POD"));

  auto wrong = cluster::read_target_environment(*f.client, *target, "nosuch");
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().message, Catch::Contains("couldn't find container with name nosuch"));
}

TEST_CASE("trigger inputs: TriggerAuthentication in the SO namespace, ClusterTriggerAuthentication secrets from the cluster object namespace") {
  Fixture f;
  f.secret("shop", "rabbit", {{"host", "amqp://u:topsecret@rabbit:5672/"}});
  f.secret("keda", "rabbit-cluster", {{"host", "amqp://u:clustersecret@rabbit:5672/"}});
  f.create(kTA, json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"TriggerAuthentication","metadata":{"name":"ta","namespace":"shop"},
    "spec":{"secretTargetRef":[{"parameter":"host","name":"rabbit","key":"host"}]}})"));
  f.create(kCTA, json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"ClusterTriggerAuthentication","metadata":{"name":"cta"},
    "spec":{"secretTargetRef":[{"parameter":"host","name":"rabbit-cluster","key":"host"}]}})"));
  f.create(kTA, json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"TriggerAuthentication","metadata":{"name":"broken","namespace":"shop"},
    "spec":{"secretTargetRef":[{"parameter":"host","name":"absent","key":"host"}]}})"));
  auto so = decode(R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s, namespace: shop}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - {type: rabbitmq, metadata: {queueName: a, mode: QueueLength, value: "5"}, authenticationRef: {name: ta}}
    - {type: rabbitmq, metadata: {queueName: b, mode: QueueLength, value: "5"}, authenticationRef: {name: cta, kind: ClusterTriggerAuthentication}}
    - {type: rabbitmq, metadata: {queueName: c, mode: QueueLength, value: "5"}, authenticationRef: {name: broken}}
    - {type: rabbitmq, metadata: {queueName: d, mode: QueueLength, value: "5"}, authenticationRef: {name: nosuch}}
    - {type: cpu, metricType: Utilization, metadata: {value: "50", containerName: app}}
)");
  cluster::TargetEnvironment env;
  auto inputs = cluster::resolve_trigger_inputs(*f.client, so, &env);
  REQUIRE(inputs.contexts.size() == 5);
  CHECK(inputs.contexts[0].auth_params.at("host") == "amqp://u:topsecret@rabbit:5672/");
  CHECK(inputs.contexts[1].auth_params.at("host") == "amqp://u:clustersecret@rabbit:5672/");
  REQUIRE(inputs.metrics.size() == 3);
  CHECK(inputs.metrics[0].spec.name == "s0-rabbitmq-a");
  CHECK(inputs.metrics[1].spec.name == "s1-rabbitmq-b");
  REQUIRE(inputs.metrics[2].spec.resource);
  CHECK(inputs.metrics[2].spec.resource->resource == "cpu");
  CHECK(inputs.metrics[2].spec.resource->container_name == "app");
  REQUIRE(inputs.problems.size() == 2);
  CHECK(inputs.problems[0].index == 2);
  CHECK_THAT(inputs.problems[0].message, Catch::StartsWith("trigger 2 (rabbitmq)") && Catch::Contains("\"absent\""));
  CHECK(inputs.problems[1].index == 3);
  CHECK_THAT(inputs.problems[1].message, Catch::Contains("TriggerAuthentication \"nosuch\" not found"));
  for (const auto& p : inputs.problems) CHECK_THAT(p.message, !Catch::Contains("secret@"));

  // The cluster object namespace is an option.
  cluster::TriggerInputsOptions other;
  other.cluster_object_namespace = "shop";
  auto moved = cluster::resolve_trigger_inputs(*f.client, so, &env, other);
  CHECK(moved.contexts[1].auth_params.empty());
  CHECK(moved.problems.size() == 3);
}
