// `ebb probe` end to end against a real redis-server and a real Prometheus: values, desired
// replicas, activation, JSON shape, and a stopped server reported as an error with unknown
// replicas (never 0).
#include <catch2/catch.hpp>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "commands.h"
#include "ebb/kube/client.h"
#include "ebb/net/http_server.h"
#include "support/servers.h"
#include "support/support.h"
#include "test_apiserver.h"

using namespace ebb::cli;
using nlohmann::json;

namespace {

std::string manifest(std::uint16_t port, const std::string& list) {
  return R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: orders-worker, namespace: shop}
spec:
  scaleTargetRef: {name: orders-worker}
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: redis
      metadata:
        address: "127.0.0.1:)" + std::to_string(port) + R"("
        listName: ")" + list + R"("
        listLength: "5"
        activationListLength: "2"
      authenticationRef: {name: redis-auth}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: redis-auth, namespace: shop}
spec:
  secretTargetRef:
    - {parameter: password, name: redis-secret, key: password}
)";
}

json probe_json(const std::string& file, const SecretSources& secrets, int* status = nullptr) {
  std::ostringstream out, err;
  ProbeOptions options;
  options.json = true;
  const int rc = run_probe({file}, secrets, options, out, err);
  if (status) *status = rc;
  INFO(err.str());
  return json::parse(out.str());
}

}  // namespace

TEST_CASE("ebb probe: values, replicas and errors from a real redis") {
  ebb::test::RedisServer redis({.password = "probe-secret"});
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << manifest(redis.port(), "orders");
  SecretSources secrets;
  secrets.files["redis-secret"]["password"] = "probe-secret";

  // Empty list: inactive, minReplicaCount 0 -> 0 replicas.
  int status = -1;
  auto doc = probe_json(file, secrets, &status);
  CHECK(status == 0);
  auto so = doc.at("scaledObjects").at(0);
  CHECK(so.at("namespace") == "shop");
  CHECK(so.at("name") == "orders-worker");
  CHECK(so.at("desiredReplicas") == 0);
  auto trigger = so.at("triggers").at(0);
  CHECK(trigger.at("index") == 0);
  CHECK(trigger.at("type") == "redis");
  CHECK(trigger.at("metricName") == "s0-redis-orders");
  CHECK(trigger.at("value") == 0.0);
  CHECK(trigger.at("target") == 5.0);
  CHECK(trigger.at("activationThreshold") == 2.0);
  CHECK(trigger.at("active") == false);
  CHECK(trigger.at("error").is_null());

  // 2 items: not above the activation threshold of 2, still 0 replicas.
  redis.cli({"-a", "probe-secret", "--no-auth-warning", "rpush", "orders", "a", "b"});
  doc = probe_json(file, secrets);
  CHECK(doc["scaledObjects"][0]["triggers"][0]["value"] == 2.0);
  CHECK(doc["scaledObjects"][0]["triggers"][0]["active"] == false);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 0);

  // 12 items, listLength 5 -> active, ceil(12/5) = 3 replicas.
  std::vector<std::string> push = {"-a", "probe-secret", "--no-auth-warning", "rpush", "orders"};
  for (int i = 0; i < 10; ++i) push.push_back("x" + std::to_string(i));
  redis.cli(push);
  doc = probe_json(file, secrets);
  CHECK(doc["scaledObjects"][0]["triggers"][0]["value"] == 12.0);
  CHECK(doc["scaledObjects"][0]["triggers"][0]["active"] == true);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 3);

  // Server stopped: an error naming the endpoint, replicas unknown (null), exit status 1.
  redis.stop();
  doc = probe_json(file, secrets, &status);
  CHECK(status == 1);
  trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["value"].is_null());
  CHECK(trigger["active"].is_null());
  REQUIRE(trigger["error"].is_string());
  CHECK(trigger["error"].get<std::string>().find("127.0.0.1:" + std::to_string(redis.port())) != std::string::npos);
  CHECK(trigger["error"].get<std::string>().find("probe-secret") == std::string::npos);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"].is_null());
}

TEST_CASE("ebb probe: a wrong secret is an error, not zero") {
  ebb::test::RedisServer redis({.password = "right"});
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << manifest(redis.port(), "jobs");
  SecretSources secrets;
  secrets.files["redis-secret"]["password"] = "wrong-password";
  int status = -1;
  auto doc = probe_json(file, secrets, &status);
  CHECK(status == 1);
  auto trigger = doc["scaledObjects"][0]["triggers"][0];
  REQUIRE(trigger["error"].is_string());
  CHECK(trigger["error"].get<std::string>().find("wrong-password") == std::string::npos);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"].is_null());
}

TEST_CASE("ebb probe: table output and --watch --count") {
  ebb::test::RedisServer redis({.password = "t"});
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << manifest(redis.port(), "table");
  SecretSources secrets;
  secrets.files["redis-secret"]["password"] = "t";
  std::ostringstream out, err;
  ProbeOptions options;
  options.watch = true;
  options.count = 2;
  options.interval = std::chrono::milliseconds(100);
  CHECK(run_probe({file}, secrets, options, out, err) == 0);
  const auto text = out.str();
  // Two rounds, each with a header line and the object's line.
  std::size_t rounds = 0;
  for (std::size_t pos = 0; (pos = text.find("shop/orders-worker", pos)) != std::string::npos; ++pos) ++rounds;
  CHECK(rounds == 2);
  CHECK(text.find("s0-redis-table") != std::string::npos);
}

TEST_CASE("ebb probe: a prometheus trigger against a real Prometheus, and metrics-api aggregation needs a cluster") {
  std::atomic<int> depth{12};
  auto target = ebb::net::HttpServer::start({}, [&](const ebb::net::ServerRequest&) {
    return ebb::net::ServerResponse::text(200, "ebb_probe_depth " + std::to_string(depth.load()) + "\n");
  });
  REQUIRE(target);
  ebb::test::LocalServer prometheus(ebb::test::prometheus_server({"127.0.0.1:" + std::to_string((*target)->port())}));
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << R"yaml(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {name: api}
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: prometheus
      metadata:
        serverAddress: "http://)yaml" + prometheus.address() + R"yaml("
        query: "sum(ebb_probe_depth)"
        threshold: "5"
        activationThreshold: "2"
)yaml";
  // The target's first sample reaches Prometheus some seconds after it starts.
  json doc;
  for (int i = 0; i < 60; ++i) {
    doc = probe_json(file, {});
    if (doc["scaledObjects"][0]["triggers"][0]["value"] == 12.0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  auto trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["type"] == "prometheus");
  CHECK(trigger["metricName"] == "s0-prometheus");
  CHECK(trigger["value"] == 12.0);
  CHECK(trigger["target"] == 5.0);
  CHECK(trigger["activationThreshold"] == 2.0);
  CHECK(trigger["active"] == true);
  CHECK(trigger["error"].is_null());
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 3);

  // Prometheus stopped: an error naming it, replicas unknown.
  prometheus.stop();
  int status = -1;
  doc = probe_json(file, {}, &status);
  CHECK(status == 1);
  trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["value"].is_null());
  REQUIRE(trigger["error"].is_string());
  CHECK(trigger["error"].get<std::string>().starts_with("prometheus http://" + prometheus.address() + "/api/v1/query: "));
  CHECK(doc["scaledObjects"][0]["desiredReplicas"].is_null());

  // metrics-api aggregation reads the Service's EndpointSlices from the cluster; with no
  // kubeconfig there is none to read, and the error says so.
  std::ofstream(file) << R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {name: api}
  triggers:
    - type: metrics-api
      metadata:
        url: "http://api.shop.svc:8080/metrics"
        valueLocation: "queue.depth"
        targetValue: "5"
        aggregateFromKubeServiceEndpoints: "true"
)";
  ::setenv("KUBECONFIG", (dir.path() + "/no-such-kubeconfig").c_str(), 1);
  doc = probe_json(file, {}, &status);
  ::unsetenv("KUBECONFIG");
  CHECK(status == 1);
  trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["metricName"] == "s0-metric-api-queue-depth");
  REQUIRE(trigger["error"].is_string());
  const auto error = trigger["error"].get<std::string>();
  INFO(error);
  CHECK(error.starts_with("error requesting metrics endpoint: failed to get kubernetes endpoints "
                          "urls from configured service URL: no "
                          "Kubernetes cluster configured"));
  CHECK(error.find("give ebb probe --kubeconfig FILE or set KUBECONFIG") != std::string::npos);
}

// --- triggers that read the cluster ---------------------------------------------------------------

namespace {

std::string workload_manifest(const std::string& ns_line) {
  return R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web)" + ns_line + R"(}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: kubernetes-workload
      metadata: {podSelector: "app=web", value: "2"}
    - type: kubernetes-resource
      metadata: {resourceKind: ConfigMap, resourceName: scaling, key: depth, targetValue: "5"}
)";
}

std::string kubeconfig(const std::string& server) {
  return "apiVersion: v1\nkind: Config\n"
         "clusters: [{name: t, cluster: {server: \"" + server + "\"}}]\n"
         "users: [{name: t, user: {token: probe-token}}]\n"
         "contexts: [{name: t, context: {cluster: t, user: t, namespace: shop}}]\n"
         "current-context: t\n";
}

}  // namespace

TEST_CASE("ebb probe: kubernetes-* triggers read the cluster of --kubeconfig or $KUBECONFIG") {
  ebb::testapi::TestApiServer server;
  ebb::kube::Config config;
  config.server = server.url();
  config.token = ebb::kube::TokenSource::fixed("t");
  ebb::kube::Client client(config);
  namespace res = ebb::kube::resources;
  REQUIRE(client.create(res::namespaces(), {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}}));
  for (const char* name : {"web-1", "web-2", "web-3"})
    REQUIRE(client.create(res::pods(), {{"apiVersion", "v1"},
                                        {"kind", "Pod"},
                                        {"metadata", {{"name", name}, {"namespace", "shop"}, {"labels", {{"app", "web"}}}}},
                                        {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}}));
  REQUIRE(client.create(res::configmaps(), {{"apiVersion", "v1"},
                                            {"kind", "ConfigMap"},
                                            {"metadata", {{"name", "scaling"}, {"namespace", "shop"}}},
                                            {"data", {{"depth", "12"}}}}));
  ebb::test::TempDir dir;
  const auto kubeconfig_file = dir.path() + "/kubeconfig";
  std::ofstream(kubeconfig_file) << kubeconfig(server.url());
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << workload_manifest(", namespace: shop");

  ProbeOptions options;
  options.json = true;
  options.kubeconfig = kubeconfig_file;
  std::ostringstream out, err;
  CHECK(run_probe({file}, {}, options, out, err) == 0);
  INFO(err.str());
  auto doc = json::parse(out.str());
  auto triggers = doc["scaledObjects"][0]["triggers"];
  CHECK(triggers[0]["metricName"] == "s0-workload-shop");
  CHECK(triggers[0]["value"] == 3.0);
  CHECK(triggers[0]["active"] == true);
  CHECK(triggers[1]["metricName"] == "s1-configmap-scaling-depth");
  CHECK(triggers[1]["value"] == 12.0);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 3);  // max(ceil(3/2), ceil(12/5))

  // No namespace in the manifest: the kubeconfig context's (shop), as kubectl apply would use.
  // And $KUBECONFIG instead of the option.
  std::ofstream(file) << workload_manifest("");
  ::setenv("KUBECONFIG", kubeconfig_file.c_str(), 1);
  options.kubeconfig.clear();
  std::ostringstream out2, err2;
  CHECK(run_probe({file}, {}, options, out2, err2) == 0);
  ::unsetenv("KUBECONFIG");
  doc = json::parse(out2.str());
  CHECK(doc["scaledObjects"][0]["triggers"][0]["metricName"] == "s0-workload-shop");
  CHECK(doc["scaledObjects"][0]["triggers"][0]["value"] == 3.0);
}

TEST_CASE("ebb probe: without a cluster, kubernetes-* triggers say so (and other triggers still run)") {
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << workload_manifest(", namespace: shop");
  ProbeOptions options;
  options.json = true;
  options.kubeconfig = dir.path() + "/no-such-kubeconfig";
  std::ostringstream out, err;
  CHECK(run_probe({file}, {}, options, out, err) == 1);
  auto doc = json::parse(out.str());
  const auto trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["value"].is_null());
  CHECK(trigger["error"] == "error inspecting kubernetes workload: no Kubernetes cluster configured (no kubeconfig "
                            "found at " + dir.path() + "/no-such-kubeconfig): give ebb probe --kubeconfig FILE or set "
                            "KUBECONFIG");
  CHECK(doc["scaledObjects"][0]["triggers"][1]["error"].get<std::string>().find(
            "error getting metric value from ConfigMap: error getting ConfigMap shop/scaling: no Kubernetes cluster "
            "configured") == 0);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"].is_null());
}
