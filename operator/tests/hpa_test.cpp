// The HPA builder against KEDA's expectations (keda-compat §2, §3.4, §4.9, §12).
#include <catch2/catch.hpp>

#include "ebb/api/decode.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/operator/hpa.h"
#include "ebb/scalers/scaled_object.h"

using nlohmann::json;
using namespace ebb;

namespace {

api::ScaledObject decode(const std::string& yaml) {
  auto docs = api::decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  INFO(docs[0].errors.size());
  REQUIRE(docs[0].ok());
  auto so = *docs[0].scaled_object();
  so.metadata.uid = "uid-1";
  return so;
}

std::vector<cluster::TriggerMetric> metrics_of(const api::ScaledObject& so) {
  std::vector<cluster::TriggerMetric> out;
  for (std::size_t i = 0; i < so.spec.triggers.size(); ++i) {
    auto ctx = scalers::trigger_context(so, i);
    ctx.resolved_env = {{"RABBIT_URL", "amqp://user:pw@rabbit:5672/"}};
    auto m = cluster::parse_trigger(ctx, scalers::Registry::builtin());
    if (!m) FAIL(m.error().front().str());
    out.push_back(std::move(*m));
  }
  return out;
}

const cluster::ScaleTargetGVKR kDeployment{"apps", "v1", "Deployment", "deployments"};

const char* kWorkedExample = R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders
  namespace: shop
  labels: {team: a, scaledobject.keda.sh/name: orders}
spec:
  scaleTargetRef: {name: orders-worker}
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: rabbitmq
      metadata: {queueName: orders, mode: QueueLength, value: "20", hostFromEnv: RABBIT_URL}
    - type: cpu
      metricType: Utilization
      metadata: {value: "70"}
)";

}  // namespace

TEST_CASE("worked example (keda-compat §12): the HPA KEDA builds, exactly") {
  auto so = decode(kWorkedExample);
  auto hpa = op::build_hpa(so, kDeployment, metrics_of(so), {.version = "2.16.0"});
  REQUIRE(hpa.ok());
  const json expected = json::parse(R"({
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {
      "name": "keda-hpa-orders", "namespace": "shop",
      "labels": {"app.kubernetes.io/name": "keda-hpa-orders", "app.kubernetes.io/version": "2.16.0",
                 "app.kubernetes.io/part-of": "orders", "app.kubernetes.io/managed-by": "keda-operator",
                 "team": "a", "scaledobject.keda.sh/name": "orders"},
      "annotations": {},
      "ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "orders",
                           "uid": "uid-1", "controller": true, "blockOwnerDeletion": true}]},
    "spec": {
      "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-worker"},
      "minReplicas": 1, "maxReplicas": 10,
      "metrics": [
        {"type": "External", "external": {
           "metric": {"name": "s0-rabbitmq-orders",
                      "selector": {"matchLabels": {"scaledobject.keda.sh/name": "orders"}}},
           "target": {"type": "AverageValue", "averageValue": "20"}}},
        {"type": "Resource", "resource": {"name": "cpu",
           "target": {"type": "Utilization", "averageUtilization": 70}}}]}})");
  CHECK(hpa->hpa == expected);
  CHECK(hpa->name == "keda-hpa-orders");
  CHECK(hpa->external_metric_names == std::vector<std::string>{"s0-rabbitmq-orders"});
  CHECK(hpa->resource_metric_names == std::vector<std::string>{"cpu"});
  CHECK(hpa->composite_scaler_name.empty());
  CHECK_FALSE(op::hpa_needs_update(hpa->hpa, hpa->hpa));
}

TEST_CASE("custom HPA name, excluded labels, annotations copied, Value target, memory with containerName") {
  auto so = decode(R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders
  namespace: shop
  labels: {team: a, secret-team: b, app.kubernetes.io/part-of: mine}
  annotations: {scaledobject.keda.sh/hpa-excluded-labels: "secret-team, other", note: x}
spec:
  scaleTargetRef: {name: orders-worker, kind: StatefulSet}
  minReplicaCount: 3
  advanced:
    horizontalPodAutoscalerConfig:
      name: my-hpa
  triggers:
    - type: memory
      metricType: AverageValue
      metadata: {value: 512Mi, containerName: app}
    - type: rabbitmq
      metricType: Value
      metadata: {queueName: orders, mode: QueueLength, value: "5", hostFromEnv: RABBIT_URL}
    - type: cpu
      metricType: AverageValue
      metadata: {value: 500m}
)");
  auto hpa = op::build_hpa(so, {"apps", "v1", "StatefulSet", "statefulsets"}, metrics_of(so));
  REQUIRE(hpa.ok());
  const auto& h = hpa->hpa;
  CHECK(h["metadata"]["name"] == "my-hpa");
  CHECK(h["metadata"]["labels"]["app.kubernetes.io/name"] == "my-hpa");
  CHECK(h["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mine");  // SO labels win
  CHECK(h["metadata"]["labels"]["team"] == "a");
  CHECK_FALSE(h["metadata"]["labels"].contains("secret-team"));
  CHECK(h["metadata"]["annotations"]["note"] == "x");
  CHECK(h["spec"]["minReplicas"] == 3);
  CHECK(h["spec"]["maxReplicas"] == 100);
  CHECK(h["spec"]["scaleTargetRef"]["kind"] == "StatefulSet");
  // Sorted by type: ContainerResource < External < Resource.
  const auto& m = h["spec"]["metrics"];
  REQUIRE(m.size() == 3);
  CHECK(m[0] == json::parse(R"({"type":"ContainerResource","containerResource":{"name":"memory","container":"app",
                              "target":{"type":"AverageValue","averageValue":"512Mi"}}})"));
  CHECK(m[1]["external"]["target"] == json::parse(R"({"type":"Value","value":"5"})"));
  CHECK(m[1]["external"]["metric"]["name"] == "s1-rabbitmq-orders");
  CHECK(m[2] == json::parse(R"({"type":"Resource","resource":{"name":"cpu",
                              "target":{"type":"AverageValue","averageValue":"500m"}}})"));
  // ContainerResource triggers are not listed in resourceMetricNames.
  CHECK(hpa->resource_metric_names == std::vector<std::string>{"cpu"});
}

TEST_CASE("composite metric for scalingModifiers replaces External metrics, keeps Resource, drops ContainerResource") {
  auto so = decode(R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: orders, namespace: shop}
spec:
  scaleTargetRef: {name: w}
  advanced:
    scalingModifiers: {formula: "a + b", target: "2.5"}
  triggers:
    - {type: rabbitmq, name: a, metadata: {queueName: q1, mode: QueueLength, value: "5", hostFromEnv: RABBIT_URL}}
    - {type: rabbitmq, name: b, metadata: {queueName: q2, mode: QueueLength, value: "5", hostFromEnv: RABBIT_URL}}
    - {type: cpu, metricType: Utilization, metadata: {value: "50"}}
    - {type: memory, metricType: Utilization, metadata: {value: "50", containerName: c}}
)");
  auto hpa = op::build_hpa(so, kDeployment, metrics_of(so));
  REQUIRE(hpa.ok());
  const auto& m = hpa->hpa["spec"]["metrics"];
  REQUIRE(m.size() == 2);
  CHECK(m[0]["external"]["metric"]["name"] == "composite-metric");
  CHECK(m[0]["external"]["metric"]["selector"]["matchLabels"]["scaledobject.keda.sh/name"] == "orders");
  CHECK(m[0]["external"]["target"] == json::parse(R"({"type":"AverageValue","averageValue":"2500m"})"));
  CHECK(m[1]["type"] == "Resource");
  CHECK(hpa->composite_scaler_name == "composite-metric");
  CHECK(hpa->external_metric_names == std::vector<std::string>{"s0-rabbitmq-q1", "s1-rabbitmq-q2"});
}

TEST_CASE("directional pauses disable the matching HPA policy, behavior passes through, removal is an update") {
  auto so = decode(R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders
  namespace: shop
  annotations: {autoscaling.keda.sh/paused-scale-in: "true"}
spec:
  scaleTargetRef: {name: w}
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleDown: {stabilizationWindowSeconds: 60}
  triggers:
    - {type: rabbitmq, metadata: {queueName: q, mode: QueueLength, value: "5", hostFromEnv: RABBIT_URL}}
)");
  auto paused_in = op::build_hpa(so, kDeployment, metrics_of(so));
  REQUIRE(paused_in.ok());
  CHECK(paused_in->hpa["spec"]["behavior"] ==
        json::parse(R"({"scaleDown":{"stabilizationWindowSeconds":60,"selectPolicy":"Disabled"}})"));

  so.metadata.annotations = {{"autoscaling.keda.sh/paused-scale-out", "true"}};
  auto paused_out = op::build_hpa(so, kDeployment, metrics_of(so));
  REQUIRE(paused_out.ok());
  CHECK(paused_out->hpa["spec"]["behavior"] ==
        json::parse(R"({"scaleDown":{"stabilizationWindowSeconds":60},"scaleUp":{"selectPolicy":"Disabled"}})"));

  so.metadata.annotations.clear();
  auto unpaused = op::build_hpa(so, kDeployment, metrics_of(so));
  REQUIRE(unpaused.ok());
  CHECK(unpaused->hpa["spec"]["behavior"] == json::parse(R"({"scaleDown":{"stabilizationWindowSeconds":60}})"));
  // Live HPA still paused: the annotation removal must be an update (but not the other way round
  // because of labels: compare specs only).
  auto live = paused_in->hpa;
  live["metadata"]["annotations"] = unpaused->hpa["metadata"]["annotations"];
  CHECK(op::hpa_needs_update(unpaused->hpa, live));
}

TEST_CASE("duplicate metric names and no metrics are errors with KEDA's text") {
  auto so = decode(R"(
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: orders, namespace: shop}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - {type: rabbitmq, metadata: {queueName: q, mode: QueueLength, value: "5", hostFromEnv: RABBIT_URL}}
)");
  auto metrics = metrics_of(so);
  metrics.push_back(metrics.front());
  auto dup = op::build_hpa(so, kDeployment, metrics);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message == "metricName s0-rabbitmq-q defined multiple times in ScaledObject orders");
  auto none = op::build_hpa(so, kDeployment, {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "no metric specs returned from scalers for ScaledObject shop/orders");
}

TEST_CASE("needs update: semantic subset, quantities by value, labels subset, owner") {
  auto so = decode(kWorkedExample);
  auto hpa = op::build_hpa(so, kDeployment, metrics_of(so));
  REQUIRE(hpa.ok());
  auto live = hpa->hpa;
  live["metadata"]["resourceVersion"] = "12";
  live["metadata"]["labels"]["extra"] = "kept";
  live["status"] = {{"currentReplicas", 1}};
  CHECK_FALSE(op::hpa_needs_update(hpa->hpa, live));

  auto q = live;
  q["spec"]["metrics"][0]["external"]["target"]["averageValue"] = "20000m";
  CHECK_FALSE(op::hpa_needs_update(hpa->hpa, q));  // same quantity
  q["spec"]["metrics"][0]["external"]["target"]["averageValue"] = "21";
  CHECK(op::hpa_needs_update(hpa->hpa, q));

  auto fewer = live;
  fewer["spec"]["metrics"].erase(1);
  CHECK(op::hpa_needs_update(hpa->hpa, fewer));

  auto max = live;
  max["spec"]["maxReplicas"] = 11;
  CHECK(op::hpa_needs_update(hpa->hpa, max));

  auto label = live;
  label["metadata"]["labels"].erase("team");
  CHECK(op::hpa_needs_update(hpa->hpa, label));

  auto foreign = live;
  foreign["metadata"]["ownerReferences"][0]["uid"] = "other";
  CHECK(op::hpa_needs_update(hpa->hpa, foreign));
  CHECK(op::controller_uid(live) == "uid-1");
}

TEST_CASE("HPA name label is cut to 63 characters without a trailing non-alphanumeric") {
  CHECK(op::hpa_name_label("keda-hpa-x") == "keda-hpa-x");
  const std::string long_name = std::string(62, 'a') + "-b";
  CHECK(op::hpa_name_label(long_name) == std::string(62, 'a'));
}
