// The CRDs in crds/: their structure (names, scope, subresources, printer columns, a schema with
// no untyped holes) and their behaviour. The behaviour tests install the three CRDs into the
// in-process test API server through ebb::kube::Client with server-side apply, as
// `kubectl apply --server-side -f crds/` does, and then write a corpus of KEDA objects: what
// KEDA's CRDs accept is accepted (unknown fields pruned, defaults applied), what they reject is
// answered 422 Invalid naming the field.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ebb/api/decode.h"
#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The documents of a YAML stream, split on `---` lines as kubectl splits them.
std::vector<json> yaml_documents(const std::string& text) {
  std::vector<std::string> parts(1);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line == "---" || line.rfind("--- ", 0) == 0) parts.emplace_back();
    else parts.back() += line + "\n";
  }
  std::vector<json> docs;
  for (const auto& p : parts) {
    auto j = api::yaml_to_json(p);
    if (!j) throw std::runtime_error("bad YAML document");
    if (!j->is_null()) docs.push_back(*j);
  }
  return docs;
}

json yaml(const std::string& text) {
  auto docs = yaml_documents(text);
  if (docs.size() != 1) throw std::runtime_error("expected one YAML document");
  return docs[0];
}

const std::string kSource = EBB_SOURCE_DIR;
const std::vector<std::string> kCrdFiles = {"keda.sh_scaledobjects.yaml", "keda.sh_scaledjobs.yaml",
                                            "keda.sh_triggerauthentications.yaml",
                                            "keda.sh_clustertriggerauthentications.yaml"};

json crd_file(const std::string& name) {
  auto docs = yaml_documents(read_file(kSource + "/crds/" + name));
  REQUIRE(docs.size() == 1);
  return docs[0];
}

const json& schema_of(const json& crd) { return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]; }

// The sub-schema at a dotted path of properties ("spec.fallback.behavior").
json at(const json& schema, const std::string& dotted) {
  json n = schema;
  std::istringstream in(dotted);
  for (std::string part; std::getline(in, part, '.');) {
    if (part == "[]") n = n.at("items");
    else n = n.at("properties").at(part);
  }
  return n;
}

}  // namespace

// --- structure -------------------------------------------------------------------------------

TEST_CASE("each CRD file is one apiextensions.k8s.io/v1 document for keda.sh/v1alpha1 with status") {
  struct Want {
    std::string file, plural, kind, scope;
    std::vector<std::string> short_names;
  };
  for (const auto& w : {Want{"keda.sh_scaledobjects.yaml", "scaledobjects", "ScaledObject", "Namespaced", {"so"}},
                        Want{"keda.sh_scaledjobs.yaml", "scaledjobs", "ScaledJob", "Namespaced", {"sj"}},
                        Want{"keda.sh_triggerauthentications.yaml", "triggerauthentications", "TriggerAuthentication",
                             "Namespaced", {"ta", "triggerauth"}},
                        Want{"keda.sh_clustertriggerauthentications.yaml", "clustertriggerauthentications",
                             "ClusterTriggerAuthentication", "Cluster", {"cta", "clustertriggerauth"}}}) {
    INFO(w.file);
    json crd = crd_file(w.file);
    CHECK(crd["apiVersion"] == "apiextensions.k8s.io/v1");
    CHECK(crd["kind"] == "CustomResourceDefinition");
    CHECK(crd["metadata"]["name"] == w.plural + ".keda.sh");
    CHECK(crd["spec"]["group"] == "keda.sh");
    CHECK(crd["spec"]["scope"] == w.scope);
    CHECK(crd["spec"]["names"]["kind"] == w.kind);
    CHECK(crd["spec"]["names"]["plural"] == w.plural);
    CHECK(crd["spec"]["names"]["listKind"] == w.kind + "List");
    CHECK(crd["spec"]["names"]["shortNames"] == json(w.short_names));
    CHECK_FALSE(crd["spec"]["names"].contains("categories"));  // KEDA declares none
    REQUIRE(crd["spec"]["versions"].size() == 1);
    const json& v = crd["spec"]["versions"][0];
    CHECK(v["name"] == "v1alpha1");
    CHECK(v["served"] == true);
    CHECK(v["storage"] == true);
    CHECK(v["subresources"] == json{{"status", json::object()}});
    // KEDA's ScaledJob declares spec with omitempty, so its schema does not require it.
    CHECK(schema_of(crd).value("required", json()) == (w.kind == "ScaledJob" ? json() : json{"spec"}));
  }
}

TEST_CASE("ScaledObject printer columns are keda-compat §1.1.5, in order") {
  json cols = crd_file("keda.sh_scaledobjects.yaml")["spec"]["versions"][0]["additionalPrinterColumns"];
  auto cond = [](const std::string& t) { return ".status.conditions[?(@.type==\"" + t + "\")].status"; };
  json want = json::array({
      {{"jsonPath", ".status.scaleTargetKind"}, {"name", "ScaleTargetKind"}, {"type", "string"}},
      {{"jsonPath", ".spec.scaleTargetRef.name"}, {"name", "ScaleTargetName"}, {"type", "string"}},
      {{"jsonPath", ".spec.minReplicaCount"}, {"name", "Min"}, {"type", "integer"}},
      {{"jsonPath", ".spec.maxReplicaCount"}, {"name", "Max"}, {"type", "integer"}},
      {{"jsonPath", cond("Ready")}, {"name", "Ready"}, {"type", "string"}},
      {{"jsonPath", cond("Active")}, {"name", "Active"}, {"type", "string"}},
      {{"jsonPath", cond("Fallback")}, {"name", "Fallback"}, {"type", "string"}},
      {{"jsonPath", cond("Paused")}, {"name", "Paused"}, {"type", "string"}},
      {{"jsonPath", ".status.triggersTypes"}, {"name", "Triggers"}, {"type", "string"}},
      {{"jsonPath", ".status.authenticationsTypes"}, {"name", "Authentications"}, {"type", "string"}},
      {{"jsonPath", ".metadata.creationTimestamp"}, {"name", "Age"}, {"type", "date"}},
  });
  CHECK(cols == want);
}

TEST_CASE("ScaledJob printer columns are KEDA's, in order") {
  json cols = crd_file("keda.sh_scaledjobs.yaml")["spec"]["versions"][0]["additionalPrinterColumns"];
  auto cond = [](const std::string& t) { return ".status.conditions[?(@.type==\"" + t + "\")].status"; };
  json want = json::array({
      {{"jsonPath", ".spec.minReplicaCount"}, {"name", "Min"}, {"type", "integer"}},
      {{"jsonPath", ".spec.maxReplicaCount"}, {"name", "Max"}, {"type", "integer"}},
      {{"jsonPath", cond("Ready")}, {"name", "Ready"}, {"type", "string"}},
      {{"jsonPath", cond("Active")}, {"name", "Active"}, {"type", "string"}},
      {{"jsonPath", cond("Paused")}, {"name", "Paused"}, {"type", "string"}},
      {{"jsonPath", ".status.triggersTypes"}, {"name", "Triggers"}, {"type", "string"}},
      {{"jsonPath", ".status.authenticationsTypes"}, {"name", "Authentications"}, {"type", "string"}},
      {{"jsonPath", ".metadata.creationTimestamp"}, {"name", "Age"}, {"type", "date"}},
  });
  CHECK(cols == want);
}

TEST_CASE("ScaledJob schema facts of keda-compat §1.3, with KEDA's kustomize patches applied") {
  json s = schema_of(crd_file("keda.sh_scaledjobs.yaml"));
  CHECK(at(s, "spec")["required"] == json{"jobTargetRef", "triggers"});
  for (auto [field, min] : {std::pair{"pollingInterval", 1}, std::pair{"successfulJobsHistoryLimit", 0},
                            std::pair{"failedJobsHistoryLimit", 0}, std::pair{"minReplicaCount", 0},
                            std::pair{"maxReplicaCount", 1}}) {
    INFO(field);
    json f = at(s, std::string("spec.") + field);
    CHECK(f["type"] == "integer");
    CHECK(f["format"] == "int32");
    CHECK(f["minimum"] == min);
  }
  CHECK(at(s, "spec.jobTargetRef")["required"] == json{"template"});
  CHECK(at(s, "spec.scalingStrategy.strategy")["enum"] == json{"default", "custom", "accurate", "eager"});
  CHECK(at(s, "spec.scalingStrategy.multipleScalersCalculation")["enum"] == json{"min", "avg", "sum", "max"});
  CHECK(at(s, "spec.rollout.strategy")["enum"] == json{"gradual", "immediate"});
  CHECK(at(s, "spec.rollout.propagationPolicy")["enum"] == json{"foreground", "background"});
  CHECK(at(s, "spec.rolloutStrategy")["enum"] == json{"gradual", "immediate"});
  CHECK(at(s, "spec.triggers")["minItems"] == 1);
  CHECK(at(s, "spec.triggers.[]")["required"] == json{"metadata", "type"});
  // config/crd/patches/scaledjob_patch.yaml
  CHECK_FALSE(at(s, "spec.triggers.[]")["properties"].contains("metricType"));
  CHECK(at(s, "spec.jobTargetRef.template.metadata")["x-kubernetes-preserve-unknown-fields"] == true);
  for (const char* containers : {"containers", "initContainers", "ephemeralContainers"}) {
    INFO(containers);
    CHECK(at(s, std::string("spec.jobTargetRef.template.spec.") + containers + ".[].ports.[]")["required"] ==
          json{"containerPort", "protocol"});
  }
  // No CEL rule: KEDA's ScaledJob accepts min > max.
  CHECK_FALSE(at(s, "spec").contains("x-kubernetes-validations"));
  CHECK(at(s, "status.lastActiveTime")["format"] == "date-time");
  CHECK(at(s, "status.conditions.[]")["properties"].contains("observedGeneration"));
}

TEST_CASE("TriggerAuthentication and ClusterTriggerAuthentication printer columns are KEDA's") {
  auto names = [](const std::string& file) {
    std::vector<std::string> out;
    const json crd = crd_file(file);
    for (const auto& c : crd["spec"]["versions"][0]["additionalPrinterColumns"])
      out.push_back(c["name"].get<std::string>() + "=" + c["jsonPath"].get<std::string>() + "/" +
                    std::to_string(c.value("priority", 0)));
    return out;
  };
  // VaultAddress is on both kinds in KEDA's generated CRDs; FilePath only on the cluster kind.
  CHECK(names("keda.sh_triggerauthentications.yaml") ==
        std::vector<std::string>{"PodIdentity=.spec.podIdentity.provider/0", "Secret=.spec.secretTargetRef[*].name/0",
                                 "Env=.spec.env[*].name/0", "VaultAddress=.spec.hashiCorpVault.address/0",
                                 "ScaledObjects=.status.scaledobjects/1", "ScaledJobs=.status.scaledjobs/1"});
  CHECK(names("keda.sh_clustertriggerauthentications.yaml") ==
        std::vector<std::string>{"PodIdentity=.spec.podIdentity.provider/0", "Secret=.spec.secretTargetRef[*].name/0",
                                 "Env=.spec.env[*].name/0", "FilePath=.spec.filePath/0",
                                 "VaultAddress=.spec.hashiCorpVault.address/0", "ScaledObjects=.status.scaledobjects/1",
                                 "ScaledJobs=.status.scaledjobs/1"});
}

TEST_CASE("every schema node is typed and every object says what it holds (structural)") {
  for (const auto& file : kCrdFiles) {
    json crd = crd_file(file);
    std::vector<std::string> holes;
    std::function<void(const json&, const std::string&)> walk = [&](const json& s, const std::string& path) {
      bool int_or_string = s.value("x-kubernetes-int-or-string", false);
      bool preserve = s.value("x-kubernetes-preserve-unknown-fields", false);
      if (!s.contains("type") && !int_or_string && !preserve) holes.push_back(path + " (no type)");
      std::string type = s.value("type", "");
      if (type == "object" && path != "metadata" && !s.contains("properties") && !s.contains("additionalProperties") &&
          !preserve)
        holes.push_back(path + " (object without properties)");
      if (type == "array" && !s.contains("items")) holes.push_back(path + " (array without items)");
      if (s.contains("properties"))
        for (auto& [k, v] : s["properties"].items()) walk(v, path.empty() ? k : path + "." + k);
      if (s.contains("additionalProperties") && s["additionalProperties"].is_object())
        walk(s["additionalProperties"], path + ".*");
      if (s.contains("items")) walk(s["items"], path + "[]");
    };
    walk(schema_of(crd), "");
    INFO(file);
    CHECK(holes == std::vector<std::string>{});
  }
}

TEST_CASE("ScaledObject schema facts of keda-compat §1.1.1 and §1.1.6") {
  json s = schema_of(crd_file("keda.sh_scaledobjects.yaml"));
  CHECK(at(s, "spec")["required"] == json{"scaleTargetRef", "triggers"});
  for (auto [field, min] : {std::pair{"pollingInterval", 1}, std::pair{"cooldownPeriod", 0},
                            std::pair{"initialCooldownPeriod", 0}, std::pair{"idleReplicaCount", 0},
                            std::pair{"minReplicaCount", 0}, std::pair{"maxReplicaCount", 1}}) {
    INFO(field);
    json f = at(s, std::string("spec.") + field);
    CHECK(f["type"] == "integer");
    CHECK(f["format"] == "int32");
    CHECK(f["minimum"] == min);
  }
  CHECK(at(s, "spec.scaleTargetRef")["required"] == json{"name"});
  CHECK(at(s, "spec.scaleTargetRef.name")["minLength"] == 1);
  CHECK(at(s, "spec.fallback")["required"] == json{"failureThreshold", "replicas"});
  CHECK(at(s, "spec.fallback.behavior")["enum"] ==
        json{"static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower", "scalingModifiers"});
  CHECK(at(s, "spec.fallback.behavior")["default"] == "static");
  CHECK(at(s, "spec.advanced.scalingModifiers.metricType")["enum"] == json{"AverageValue", "Value"});
  CHECK(at(s, "spec.triggers")["minItems"] == 1);
  CHECK(at(s, "spec.triggers.[]")["required"] == json{"metadata", "type"});
  CHECK(at(s, "spec.triggers.[].metadata")["additionalProperties"] == json{{"type", "string"}});
  CHECK(at(s, "spec.triggers.[].authenticationRef.kind")["enum"] ==
        json{"TriggerAuthentication", "ClusterTriggerAuthentication"});
  for (const char* side : {"scaleUp", "scaleDown"}) {
    json w = at(s, std::string("spec.advanced.horizontalPodAutoscalerConfig.behavior.") + side +
                       ".stabilizationWindowSeconds");
    CHECK(w["minimum"] == 0);
    CHECK(w["maximum"] == 3600);
    json p = at(s, std::string("spec.advanced.horizontalPodAutoscalerConfig.behavior.") + side + ".policies.[]");
    CHECK(p["required"] == json{"periodSeconds", "type", "value"});
  }
  json rules = at(s, "spec")["x-kubernetes-validations"];
  REQUIRE(rules.size() == 1);
  CHECK(rules[0]["message"] == "minReplicaCount must be less than or equal to maxReplicaCount");
  CHECK(at(s, "status.scaleTargetGVKR")["required"] == json{"group", "kind", "resource", "version"});
  CHECK(at(s, "status.lastActiveTime")["format"] == "date-time");
}

TEST_CASE("the two authentication CRDs share one spec and status schema") {
  json ta = schema_of(crd_file("keda.sh_triggerauthentications.yaml"));
  json cta = schema_of(crd_file("keda.sh_clustertriggerauthentications.yaml"));
  CHECK(ta["properties"] == cta["properties"]);
  CHECK(ta["required"] == cta["required"]);
  CHECK(at(ta, "spec.secretTargetRef.[]")["required"] == json{"key", "name", "parameter"});
  CHECK(at(ta, "spec.podIdentity.provider")["enum"] == json{"azure-workload", "gcp", "aws", "aws-eks", "none"});
  CHECK(at(ta, "spec.oauth2.type")["default"] == "clientCredentials");
}

// --- behaviour against the test API server ---------------------------------------------------

namespace {

struct Cluster {
  testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  kube::Resource so, sj, ta, cta;

  Cluster() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("test-token");
    client = std::make_unique<kube::Client>(config);
    for (const auto& file : kCrdFiles) {
      auto applied = client->apply(kube::resources::custom_resource_definitions(), crd_file(file), "kubectl", true);
      REQUIRE(applied);
    }
    auto ns = client->create(kube::resources::namespaces(),
                             {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "shop"}}}});
    REQUIRE(ns);
    so = resource("ScaledObject");
    sj = resource("ScaledJob");
    ta = resource("TriggerAuthentication");
    cta = resource("ClusterTriggerAuthentication");
  }

  kube::Resource resource(const std::string& kind) {
    auto r = client->discovery().resource_for({"keda.sh", "v1alpha1", kind});
    REQUIRE(r);
    return *r;
  }

  const kube::Resource& resource_of(const json& obj) {
    std::string kind = obj.value("kind", "");
    return kind == "ScaledObject" ? so : kind == "ScaledJob" ? sj : kind == "TriggerAuthentication" ? ta : cta;
  }

  kube::ApiResult<json> create(json obj) {
    if (obj["metadata"].value("namespace", "").empty() && obj.value("kind", "") != "ClusterTriggerAuthentication")
      obj["metadata"]["namespace"] = "shop";
    return client->create(resource_of(obj), obj);
  }
};

// Rejected with 422 Invalid, and the message names `field` with kube's wording `expect`.
void check_rejected(Cluster& c, const json& obj, const std::string& field, const std::string& expect) {
  auto r = c.create(obj);
  INFO(obj.dump());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == 422);
  CHECK(r.error().reason == "Invalid");
  INFO(r.error().message);
  CHECK(r.error().message.find(field + ": " + expect) != std::string::npos);
}

json so_yaml(const std::string& spec, const std::string& name = "so") {
  return yaml("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: " + name + "\nspec:\n" + spec);
}

const std::string kTarget = "  scaleTargetRef: {name: web}\n";
const std::string kTrigger = "  triggers:\n  - type: cpu\n    metricType: Utilization\n    metadata: {value: \"60\"}\n";

}  // namespace

TEST_CASE("the CRDs install by server-side apply and are served with their short names") {
  Cluster c;
  CHECK(c.so.namespaced);
  CHECK(c.ta.namespaced);
  CHECK_FALSE(c.cta.namespaced);
  CHECK(c.so.has_subresource("status"));
  auto crd = c.client->get(kube::resources::custom_resource_definitions(), "", "scaledobjects.keda.sh");
  REQUIRE(crd);
  // The CRD round-trips: what was applied is what is stored.
  json applied = crd_file("keda.sh_scaledobjects.yaml");
  CHECK((*crd)["spec"] == applied["spec"]);
  auto resp = c.client->rest().call({.path = "/apis/keda.sh/v1alpha1"});
  REQUIRE(resp);
  REQUIRE(resp->status == 200);
  json disc_body = json::parse(resp->body);
  const json* disc = &disc_body;
  std::set<std::string> shorts;
  for (const auto& r : (*disc)["resources"])
    for (const auto& s : r.value("shortNames", json::array())) shorts.insert(s.get<std::string>());
  CHECK(shorts == std::set<std::string>{"so", "sj", "ta", "triggerauth", "cta", "clustertriggerauth"});
  // Applying the same files again changes nothing and fails nothing.
  for (const auto& file : kCrdFiles)
    CHECK(c.client->apply(kube::resources::custom_resource_definitions(), crd_file(file), "kubectl", true));
}

TEST_CASE("accepted: the worked example of keda-compat §12, unchanged") {
  Cluster c;
  json so = yaml(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: orders
  namespace: shop
  labels: {team: a}
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
)");
  auto r = c.create(so);
  REQUIRE(r);
  CHECK((*r)["spec"] == so["spec"]);  // nothing pruned, nothing defaulted
  CHECK((*r)["metadata"]["generation"] == 1);
}

TEST_CASE("accepted: every document of examples/redis-list.yaml") {
  Cluster c;
  auto docs = yaml_documents(read_file(kSource + "/examples/redis-list.yaml"));
  REQUIRE(docs.size() == 2);
  for (const auto& d : docs) {
    auto r = c.create(d);
    INFO(d.dump());
    REQUIRE(r);
    CHECK((*r)["spec"] == d["spec"]);
  }
}

TEST_CASE("accepted: a ScaledObject using every field, as KEDA's documentation shows them") {
  Cluster c;
  json so = yaml(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: everything
  annotations:
    autoscaling.keda.sh/paused-replicas: "0"
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: StatefulSet
    name: consumer
    envSourceContainerName: main
  pollingInterval: 15
  cooldownPeriod: 120
  initialCooldownPeriod: 60
  idleReplicaCount: 0
  minReplicaCount: 1
  maxReplicaCount: 50
  fallback:
    failureThreshold: 3
    replicas: 6
    behavior: currentReplicasIfHigher
  advanced:
    restoreToOriginalReplicaCount: true
    horizontalPodAutoscalerConfig:
      name: custom-hpa
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 300
          selectPolicy: Min
          tolerance: "0.05"
          policies:
          - type: Percent
            value: 100
            periodSeconds: 15
        scaleUp:
          stabilizationWindowSeconds: 0
          selectPolicy: Max
          policies:
          - type: Pods
            value: 4
            periodSeconds: 15
          - type: Percent
            value: 100
            periodSeconds: 15
    scalingModifiers:
      formula: "(lag + queue) / 2"
      target: "10"
      activationTarget: "1"
      metricType: AverageValue
  triggers:
  - type: kafka
    name: lag
    metricType: AverageValue
    useCachedMetrics: true
    metadata:
      bootstrapServers: kafka:9092
      consumerGroup: g
      topic: t
      lagThreshold: "5"
    authenticationRef:
      name: kafka-auth
      kind: ClusterTriggerAuthentication
  - type: rabbitmq
    name: queue
    metadata:
      queueName: q
      mode: QueueLength
      value: "10"
    authenticationRef:
      name: rabbit-auth
)");
  auto r = c.create(so);
  REQUIRE(r);
  CHECK((*r)["spec"] == so["spec"]);
}

TEST_CASE("accepted: unknown fields are pruned and schema defaults applied") {
  Cluster c;
  json so = so_yaml(kTarget + "  fallback: {failureThreshold: 2, replicas: 1}\n  someFutureField: x\n" + kTrigger +
                    "    extra: dropped\n");
  so["status"] = {{"hpaName", "ignored-on-create"}};
  auto r = c.create(so);
  REQUIRE(r);
  CHECK_FALSE((*r)["spec"].contains("someFutureField"));
  CHECK_FALSE((*r)["spec"]["triggers"][0].contains("extra"));
  CHECK((*r)["spec"]["fallback"]["behavior"] == "static");
  CHECK_FALSE(r->contains("status"));
  auto stored = c.client->get(c.so, "shop", "so");
  REQUIRE(stored);
  CHECK((*stored)["spec"] == (*r)["spec"]);

  json ta = yaml(R"(apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: oauth}
spec:
  oauth2:
    clientId: id
    tokenUrl: https://idp.example/token
    clientSecret: {valueFrom: {secretKeyRef: {name: s, key: k}}}
    scopes: [a, b]
    tokenUrlParams: {audience: x}
  unknownMember: {a: 1}
)");
  auto t = c.create(ta);
  REQUIRE(t);
  CHECK((*t)["spec"]["oauth2"]["type"] == "clientCredentials");
  CHECK_FALSE((*t)["spec"].contains("unknownMember"));
}

TEST_CASE("accepted: TriggerAuthentication and ClusterTriggerAuthentication with every member") {
  Cluster c;
  std::string spec = R"(spec:
  secretTargetRef:
  - {parameter: password, name: redis-secret, key: password}
  configMapTargetRef:
  - {parameter: host, name: redis-config, key: host}
  env:
  - {parameter: user, name: REDIS_USER, containerName: main}
  - {parameter: db, name: REDIS_DB}
  boundServiceAccountToken:
  - {parameter: token, serviceAccountName: reader}
  podIdentity:
    provider: aws
    roleArn: arn:aws:iam::123:role/r
    identityOwner: keda
  hashiCorpVault:
    address: https://vault:8200
    authentication: kubernetes
    role: r
    mount: kubernetes
    namespace: ns
    credential: {serviceAccount: /var/run/secrets/token}
    secrets:
    - {parameter: p, path: secret/data/x, key: k, type: secretV2}
    - {parameter: c, path: pki/issue/r, key: certificate, type: pki, pkiData: {commonName: a.example, ttl: 24h}}
  azureKeyVault:
    vaultUri: https://v.vault.azure.net
    credentials: {clientId: c, tenantId: t, clientSecret: {valueFrom: {secretKeyRef: {name: s, key: k}}}}
    cloud: {type: AzurePublicCloud}
    secrets: [{parameter: p, name: n, version: "1"}]
  gcpSecretManager:
    secrets: [{parameter: p, id: i}]
    podIdentity: {provider: gcp}
  awsSecretManager:
    region: eu-west-1
    credentials:
      accessKey: {valueFrom: {secretKeyRef: {name: s, key: id}}}
      accessSecretKey: {valueFrom: {secretKeyRef: {name: s, key: secret}}}
    secrets: [{parameter: p, name: n, secretKey: k}]
)";
  json ta = yaml("apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: all}\n" + spec);
  auto t = c.create(ta);
  REQUIRE(t);
  CHECK((*t)["spec"] == ta["spec"]);
  json cta = yaml("apiVersion: keda.sh/v1alpha1\nkind: ClusterTriggerAuthentication\nmetadata: {name: all}\n" + spec +
                  "  filePath: creds/redis.json\n");
  auto ct = c.create(cta);
  REQUIRE(ct);
  CHECK((*ct)["spec"] == cta["spec"]);
  CHECK_FALSE((*ct)["metadata"].contains("namespace"));
}

TEST_CASE("rejected: ScaledObjects KEDA's CRD rejects, each naming the field") {
  Cluster c;
  struct Case {
    std::string spec, field, message;
  };
  const std::string req = "Required value";
  std::vector<Case> cases = {
      {kTrigger, "spec.scaleTargetRef", req},
      {kTarget, "spec.triggers", req},
      {kTarget + "  triggers: []\n", "spec.triggers", "Invalid value: 0: spec.triggers in body should have at least 1 items"},
      {"  scaleTargetRef: {kind: Deployment}\n" + kTrigger, "spec.scaleTargetRef.name", req},
      {"  scaleTargetRef: {name: \"\"}\n" + kTrigger, "spec.scaleTargetRef.name",
       "Invalid value: \"\": spec.scaleTargetRef.name in body should be at least 1 chars long"},
      {kTarget + "  minReplicaCount: x\n" + kTrigger, "spec.minReplicaCount",
       "Invalid value: \"string\": spec.minReplicaCount in body must be of type integer: \"string\""},
      {kTarget + "  maxReplicaCount: \"10\"\n" + kTrigger, "spec.maxReplicaCount",
       "Invalid value: \"string\": spec.maxReplicaCount in body must be of type integer: \"string\""},
      {kTarget + "  minReplicaCount: -1\n" + kTrigger, "spec.minReplicaCount",
       "Invalid value: -1: spec.minReplicaCount in body should be greater than or equal to 0"},
      {kTarget + "  maxReplicaCount: 0\n" + kTrigger, "spec.maxReplicaCount",
       "Invalid value: 0: spec.maxReplicaCount in body should be greater than or equal to 1"},
      {kTarget + "  pollingInterval: 0\n" + kTrigger, "spec.pollingInterval",
       "Invalid value: 0: spec.pollingInterval in body should be greater than or equal to 1"},
      {kTarget + "  cooldownPeriod: -5\n" + kTrigger, "spec.cooldownPeriod",
       "Invalid value: -5: spec.cooldownPeriod in body should be greater than or equal to 0"},
      {kTarget + "  idleReplicaCount: 1.5\n" + kTrigger, "spec.idleReplicaCount",
       "Invalid value: \"number\": spec.idleReplicaCount in body must be of type integer: \"number\""},
      {kTarget + "  fallback: {failureThreshold: 3, replicas: 2, behavior: x}\n" + kTrigger, "spec.fallback.behavior",
       "Unsupported value: \"x\": supported values: \"static\", \"currentReplicas\", \"currentReplicasIfHigher\", "
       "\"currentReplicasIfLower\", \"scalingModifiers\""},
      {kTarget + "  fallback: {failureThreshold: 3}\n" + kTrigger, "spec.fallback.replicas", req},
      {kTarget + "  fallback: {replicas: 3}\n" + kTrigger, "spec.fallback.failureThreshold", req},
      {kTarget + "  triggers:\n  - metadata: {a: b}\n", "spec.triggers[0].type", req},
      {kTarget + "  triggers:\n  - type: \"\"\n    metadata: {}\n", "spec.triggers[0].type",
       "Invalid value: \"\": spec.triggers[0].type in body should be at least 1 chars long"},
      {kTarget + "  triggers:\n  - type: cron\n", "spec.triggers[0].metadata", req},
      {kTarget + "  triggers:\n  - type: redis\n    metadata: {listLength: 5}\n", "spec.triggers[0].metadata.listLength",
       "Invalid value: \"integer\": spec.triggers[0].metadata.listLength in body must be of type string: \"integer\""},
      {kTarget + "  triggers:\n  - type: redis\n    metadata: {enableTLS: true}\n", "spec.triggers[0].metadata.enableTLS",
       "Invalid value: \"boolean\": spec.triggers[0].metadata.enableTLS in body must be of type string: \"boolean\""},
      {kTarget + "  triggers:\n  - type: redis\n    metadata: {}\n    useCachedMetrics: \"yes\"\n",
       "spec.triggers[0].useCachedMetrics",
       "Invalid value: \"string\": spec.triggers[0].useCachedMetrics in body must be of type boolean: \"string\""},
      {kTarget + "  triggers:\n  - type: redis\n    metadata: {}\n    authenticationRef: {name: a, kind: Secret}\n",
       "spec.triggers[0].authenticationRef.kind",
       "Unsupported value: \"Secret\": supported values: \"TriggerAuthentication\", \"ClusterTriggerAuthentication\""},
      {kTarget + "  triggers:\n  - type: redis\n    metadata: {}\n    authenticationRef: {kind: TriggerAuthentication}\n",
       "spec.triggers[0].authenticationRef.name", req},
      {kTarget + "  triggers: {type: cpu}\n", "spec.triggers",
       "Invalid value: \"object\": spec.triggers in body must be of type array: \"object\""},
      {kTarget + "  advanced: {scalingModifiers: {formula: a, target: \"1\", metricType: Utilization}}\n" + kTrigger,
       "spec.advanced.scalingModifiers.metricType", "Unsupported value: \"Utilization\""},
      {kTarget + "  advanced: {restoreToOriginalReplicaCount: \"true\"}\n" + kTrigger,
       "spec.advanced.restoreToOriginalReplicaCount", "Invalid value: \"string\""},
      {kTarget + "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n"
                 "          stabilizationWindowSeconds: 3601\n" + kTrigger,
       "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
       "Invalid value: 3601: spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds "
       "in body should be less than or equal to 3600"},
      {kTarget + "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n"
                 "          stabilizationWindowSeconds: -1\n" + kTrigger,
       "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds",
       "Invalid value: -1"},
      {kTarget + "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n"
                 "          policies: [{type: Pods, value: 4}]\n" + kTrigger,
       "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].periodSeconds", req},
      {kTarget + "  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n"
                 "          tolerance: fast\n" + kTrigger,
       "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance", "Invalid value: \"fast\""},
      {kTarget + "  minReplicaCount: 5\n  maxReplicaCount: 2\n" + kTrigger, "spec",
       "Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount"},
      {kTarget + "  minReplicaCount: 101\n" + kTrigger, "spec",
       "Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].field);
    check_rejected(c, so_yaml(cases[i].spec, "bad-" + std::to_string(i)), cases[i].field, cases[i].message);
  }
  // Nothing rejected was stored.
  auto list = c.client->list(c.so, "shop");
  REQUIRE(list);
  CHECK(list->items.empty());

  json no_spec = yaml("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: nospec}\n");
  check_rejected(c, no_spec, "spec", req);
}

TEST_CASE("rejected: examples/invalid.yaml (minReplicaCount above maxReplicaCount)") {
  Cluster c;
  json so = yaml(read_file(kSource + "/examples/invalid.yaml"));
  check_rejected(c, so, "spec", "Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount");
}

TEST_CASE("rejected: TriggerAuthentications and ClusterTriggerAuthentications KEDA's CRDs reject") {
  Cluster c;
  struct Case {
    std::string kind, spec, field, message;
  };
  const std::string req = "Required value";
  std::vector<Case> cases = {
      {"TriggerAuthentication", "spec:\n  secretTargetRef:\n  - {parameter: p, name: s}\n", "spec.secretTargetRef[0].key", req},
      {"TriggerAuthentication", "spec:\n  secretTargetRef:\n  - {name: s, key: k}\n", "spec.secretTargetRef[0].parameter", req},
      {"TriggerAuthentication", "spec:\n  secretTargetRef: {parameter: p, name: s, key: k}\n", "spec.secretTargetRef",
       "Invalid value: \"object\": spec.secretTargetRef in body must be of type array: \"object\""},
      {"TriggerAuthentication", "spec:\n  configMapTargetRef:\n  - {parameter: p, key: k}\n", "spec.configMapTargetRef[0].name", req},
      {"TriggerAuthentication", "spec:\n  env:\n  - {parameter: p}\n", "spec.env[0].name", req},
      {"TriggerAuthentication", "spec:\n  boundServiceAccountToken:\n  - {parameter: p}\n",
       "spec.boundServiceAccountToken[0].serviceAccountName", req},
      {"TriggerAuthentication", "spec:\n  podIdentity: {provider: azure}\n", "spec.podIdentity.provider",
       "Unsupported value: \"azure\": supported values: \"azure-workload\", \"gcp\", \"aws\", \"aws-eks\", \"none\""},
      {"TriggerAuthentication", "spec:\n  podIdentity: {identityId: x}\n", "spec.podIdentity.provider", req},
      {"TriggerAuthentication", "spec:\n  podIdentity: {provider: aws, identityOwner: me}\n", "spec.podIdentity.identityOwner",
       "Unsupported value: \"me\""},
      {"TriggerAuthentication", "spec:\n  hashiCorpVault: {address: a, authentication: ldap, secrets: [{parameter: p, path: x, key: k}]}\n",
       "spec.hashiCorpVault.authentication", "Unsupported value: \"ldap\": supported values: \"token\", \"kubernetes\""},
      {"TriggerAuthentication", "spec:\n  hashiCorpVault: {address: a, authentication: token, secrets: [{parameter: p, path: x, key: k, type: kv}]}\n",
       "spec.hashiCorpVault.secrets[0].type", "Unsupported value: \"kv\": supported values: \"\", \"secretV2\", \"secret\", \"pki\""},
      {"TriggerAuthentication", "spec:\n  hashiCorpVault: {authentication: token, secrets: [{parameter: p, path: x, key: k}]}\n",
       "spec.hashiCorpVault.address", req},
      {"TriggerAuthentication", "spec:\n  hashiCorpVault: {address: a, authentication: token, secrets: []}\n",
       "spec.hashiCorpVault.secrets", "Invalid value: 0: spec.hashiCorpVault.secrets in body should have at least 1 items"},
      {"TriggerAuthentication", "spec:\n  azureKeyVault: {secrets: [{parameter: p, name: n}]}\n", "spec.azureKeyVault.vaultUri", req},
      {"TriggerAuthentication", "spec:\n  azureKeyVault: {vaultUri: u, secrets: [{parameter: p, name: n}], credentials: {clientId: c, tenantId: t}}\n",
       "spec.azureKeyVault.credentials.clientSecret", req},
      {"TriggerAuthentication", "spec:\n  gcpSecretManager: {secrets: [{parameter: p}]}\n", "spec.gcpSecretManager.secrets[0].id", req},
      {"TriggerAuthentication", "spec:\n  awsSecretManager: {secrets: []}\n", "spec.awsSecretManager.secrets",
       "Invalid value: 0: spec.awsSecretManager.secrets in body should have at least 1 items"},
      {"TriggerAuthentication",
       "spec:\n  awsSecretManager:\n    secrets: [{parameter: p, name: n}]\n    credentials: {accessKey: {valueFrom: {secretKeyRef: {name: s}}}}\n",
       "spec.awsSecretManager.credentials.accessKey.valueFrom.secretKeyRef.key", req},
      {"TriggerAuthentication", "spec:\n  oauth2: {type: password, clientId: c, tokenUrl: u}\n", "spec.oauth2.type",
       "Unsupported value: \"password\": supported values: \"clientCredentials\""},
      {"TriggerAuthentication", "spec:\n  oauth2: {clientId: c}\n", "spec.oauth2.tokenUrl", req},
      {"TriggerAuthentication", "spec:\n  oauth2: {clientId: c, tokenUrl: u, scopes: a}\n", "spec.oauth2.scopes",
       "Invalid value: \"string\": spec.oauth2.scopes in body must be of type array: \"string\""},
      {"TriggerAuthentication", "spec:\n  filePath: 5\n", "spec.filePath", "Invalid value: \"integer\""},
      {"TriggerAuthentication", "", "spec", req},
      {"ClusterTriggerAuthentication", "", "spec", req},
      {"ClusterTriggerAuthentication", "spec:\n  secretTargetRef:\n  - {parameter: p, name: s}\n", "spec.secretTargetRef[0].key", req},
      {"ClusterTriggerAuthentication", "spec:\n  podIdentity: {provider: azure-workload, identityId: 7}\n",
       "spec.podIdentity.identityId", "Invalid value: \"integer\""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].kind << " " << cases[i].field);
    json obj = yaml("apiVersion: keda.sh/v1alpha1\nkind: " + cases[i].kind + "\nmetadata: {name: bad-" +
                    std::to_string(i) + "}\n" + cases[i].spec);
    check_rejected(c, obj, cases[i].field, cases[i].message);
  }
}

TEST_CASE("updates, patches and server-side apply are checked like creates") {
  Cluster c;
  json so = so_yaml(kTarget + kTrigger, "live");
  REQUIRE(c.create(so));
  auto patched = c.client->patch(c.so, "shop", "live", kube::PatchType::merge, {{"spec", {{"minReplicaCount", "two"}}}});
  REQUIRE_FALSE(patched);
  CHECK(patched.error().code == 422);
  CHECK(patched.error().message.find("spec.minReplicaCount: Invalid value: \"string\"") != std::string::npos);

  auto removed = c.client->patch(c.so, "shop", "live", kube::PatchType::json,
                                 json::array({{{"op", "remove"}, {"path", "/spec/triggers"}}}));
  REQUIRE_FALSE(removed);
  CHECK(removed.error().message.find("spec.triggers: Required value") != std::string::npos);

  auto current = c.client->get(c.so, "shop", "live");
  REQUIRE(current);
  json next = *current;
  next["spec"]["maxReplicaCount"] = 0;
  auto updated = c.client->update(c.so, next);
  REQUIRE_FALSE(updated);
  CHECK(updated.error().message.find("spec.maxReplicaCount: Invalid value: 0") != std::string::npos);

  json apply = so;
  apply["metadata"]["namespace"] = "shop";
  apply["spec"]["fallback"] = {{"failureThreshold", 1}, {"replicas", 1}, {"behavior", "sometimes"}};
  auto applied = c.client->apply(c.so, apply, "kubectl");
  REQUIRE_FALSE(applied);
  CHECK(applied.error().message.find("spec.fallback.behavior: Unsupported value: \"sometimes\"") != std::string::npos);

  // A valid change is stored, pruned and defaulted, and bumps the generation.
  auto ok = c.client->patch(c.so, "shop", "live", kube::PatchType::merge,
                            {{"spec", {{"fallback", {{"failureThreshold", 1}, {"replicas", 2}}}, {"junk", 1}}}});
  REQUIRE(ok);
  CHECK((*ok)["spec"]["fallback"]["behavior"] == "static");
  CHECK_FALSE((*ok)["spec"].contains("junk"));
  CHECK((*ok)["metadata"]["generation"] == 2);
}

TEST_CASE("status written through /status is validated and pruned against the status schema") {
  Cluster c;
  auto created = c.create(so_yaml(kTarget + kTrigger, "st"));
  REQUIRE(created);
  json obj = *created;
  obj["status"] = yaml(R"(scaleTargetKind: apps/v1.Deployment
scaleTargetGVKR: {group: apps, version: v1, kind: Deployment, resource: deployments}
originalReplicaCount: 3
lastActiveTime: "2026-11-26T19:00:00Z"
externalMetricNames: [s0-cpu]
health: {s0-cpu: {numberOfFailures: 0, status: Happy}}
triggersActivity: {s0-cpu: {isActive: true}}
conditions:
- {type: Ready, status: "True", reason: ScaledObjectReady, message: ok}
hpaName: keda-hpa-st
triggersTypes: cpu
authenticationsTypes: ""
notInSchema: dropped
)");
  auto ok = c.client->update_status(c.so, obj);
  REQUIRE(ok);
  CHECK((*ok)["status"]["originalReplicaCount"] == 3);
  CHECK_FALSE((*ok)["status"].contains("notInSchema"));

  json bad = *ok;
  bad["status"]["originalReplicaCount"] = "three";
  auto r = c.client->update_status(c.so, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == 422);
  CHECK(r.error().message.find("status.originalReplicaCount: Invalid value: \"string\"") != std::string::npos);

  bad = *ok;
  bad["status"]["conditions"] = json::array({{{"type", "Ready"}}});
  r = c.client->update_status(c.so, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("status.conditions[0].status: Required value") != std::string::npos);

  bad = *ok;
  bad["status"]["scaleTargetGVKR"].erase("resource");
  r = c.client->update_status(c.so, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("status.scaleTargetGVKR.resource: Required value") != std::string::npos);

  bad = *ok;
  bad["status"]["lastActiveTime"] = "yesterday";
  r = c.client->update_status(c.so, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("status.lastActiveTime") != std::string::npos);
}

// --- ScaledJob -------------------------------------------------------------------------------

namespace {

json sj_yaml(const std::string& spec, const std::string& name = "sj") {
  return yaml("apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata:\n  name: " + name + "\nspec:\n" + spec);
}

const std::string kJob =
    "  jobTargetRef:\n    template:\n      spec:\n        containers:\n"
    "        - {name: w, image: busybox, ports: [{containerPort: 80, protocol: TCP}]}\n";
const std::string kJobTrigger = "  triggers:\n  - type: redis\n    metadata: {listName: q, listLength: \"1\"}\n";

}  // namespace

TEST_CASE("accepted: examples/redis-list-job.yaml and a ScaledJob using every field") {
  Cluster c;
  auto docs = yaml_documents(read_file(kSource + "/examples/redis-list-job.yaml"));
  REQUIRE(docs.size() == 1);
  auto r = c.create(docs[0]);
  INFO(docs[0].dump());
  REQUIRE(r);
  CHECK((*r)["spec"] == docs[0]["spec"]);

  json sj = yaml(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata:
  name: everything
  annotations: {autoscaling.keda.sh/paused: "false", scaledjob.keda.sh/job-excluded-labels: team}
  labels: {team: a}
spec:
  jobTargetRef:
    parallelism: 1
    completions: 1
    activeDeadlineSeconds: 600
    backoffLimit: 6
    ttlSecondsAfterFinished: 100
    template:
      metadata:
        labels: {app: everything}
        annotations: {note: kept}
        anything: preserved
      spec:
        restartPolicy: Never
        containers:
        - name: worker
          image: busybox
          env:
          - {name: QUEUE, value: jobs}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
  pollingInterval: 10
  successfulJobsHistoryLimit: 5
  failedJobsHistoryLimit: 5
  envSourceContainerName: worker
  minReplicaCount: 0
  maxReplicaCount: 20
  rolloutStrategy: gradual
  rollout:
    strategy: gradual
    propagationPolicy: foreground
  scalingStrategy:
    strategy: custom
    customScalingQueueLengthDeduction: 1
    customScalingRunningJobPercentage: "0.5"
    pendingPodConditions: [Ready, PodScheduled, AnyOtherCustomPodCondition]
    multipleScalersCalculation: max
  triggers:
  - type: rabbitmq
    name: queue
    useCachedMetrics: false
    metadata: {queueName: jobs, mode: QueueLength, value: "1", hostFromEnv: RABBIT_URL}
    authenticationRef: {name: rabbit-auth, kind: TriggerAuthentication}
)");
  r = c.create(sj);
  REQUIRE(r);
  CHECK((*r)["spec"] == sj["spec"]);  // nothing pruned (template metadata preserves all)
  CHECK((*r)["metadata"]["generation"] == 1);
}

TEST_CASE("rejected: ScaledJobs KEDA's CRD rejects, each naming the field") {
  Cluster c;
  check_rejected(c, sj_yaml(kJobTrigger), "spec.jobTargetRef", "Required value");
  check_rejected(c, sj_yaml("  jobTargetRef: {backoffLimit: 1}\n" + kJobTrigger), "spec.jobTargetRef.template",
                 "Required value");
  check_rejected(c, sj_yaml(kJob), "spec.triggers", "Required value");
  check_rejected(c, sj_yaml(kJob + "  triggers: []\n"), "spec.triggers", "Invalid value");
  check_rejected(c, sj_yaml(kJob + "  pollingInterval: 0\n" + kJobTrigger), "spec.pollingInterval",
                 "Invalid value: 0: spec.pollingInterval in body should be greater than or equal to 1");
  check_rejected(c, sj_yaml(kJob + "  maxReplicaCount: 0\n" + kJobTrigger), "spec.maxReplicaCount", "Invalid value");
  check_rejected(c, sj_yaml(kJob + "  successfulJobsHistoryLimit: -1\n" + kJobTrigger),
                 "spec.successfulJobsHistoryLimit", "Invalid value");
  check_rejected(c, sj_yaml(kJob + "  scalingStrategy: {strategy: lazy}\n" + kJobTrigger),
                 "spec.scalingStrategy.strategy", "Unsupported value: \"lazy\"");
  check_rejected(c, sj_yaml(kJob + "  scalingStrategy: {multipleScalersCalculation: median}\n" + kJobTrigger),
                 "spec.scalingStrategy.multipleScalersCalculation", "Unsupported value: \"median\"");
  check_rejected(c, sj_yaml(kJob + "  rollout: {propagationPolicy: orphan}\n" + kJobTrigger),
                 "spec.rollout.propagationPolicy", "Unsupported value: \"orphan\"");
  check_rejected(c, sj_yaml(kJob + "  triggers: [{type: \"\", metadata: {}}]\n"), "spec.triggers[0].type",
                 "Invalid value");
}

TEST_CASE("ScaledJob: metricType is pruned (KEDA's CRD has none) and min above max is accepted") {
  Cluster c;
  // KEDA's patch makes a container port's protocol required; its default (TCP) satisfies that,
  // as on a real API server, which defaults before it validates.
  auto ports = c.create(sj_yaml("  jobTargetRef:\n    template:\n      spec:\n        containers:\n"
                                "        - {name: w, image: busybox, ports: [{containerPort: 80}]}\n" +
                                    kJobTrigger,
                                "ports"));
  REQUIRE(ports);
  CHECK((*ports)["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP");
  auto r = c.create(sj_yaml(kJob + "  minReplicaCount: 5\n  maxReplicaCount: 3\n" +
                            "  triggers:\n  - {type: redis, metricType: Value, metadata: {listName: q}}\n"));
  REQUIRE(r);
  CHECK_FALSE((*r)["spec"]["triggers"][0].contains("metricType"));
  CHECK((*r)["spec"]["minReplicaCount"] == 5);
}

TEST_CASE("ScaledJob status keeps what Ebb writes and drops the rest") {
  Cluster c;
  auto created = c.create(sj_yaml(kJob + kJobTrigger, "st"));
  REQUIRE(created);
  json obj = *created;
  obj["status"] = yaml(R"(lastActiveTime: "2026-11-26T19:00:00Z"
conditions:
- {type: Ready, status: "True", reason: ScaledJobReady, message: ok, observedGeneration: 1, lastTransitionTime: "2026-11-26T19:00:00Z"}
- {type: Active, status: "False", reason: ScalerNotActive, message: idle}
triggersTypes: redis
externalMetricNames: [s0-redis-q]
triggersActivity: {s0-redis-q: {isActive: false}}
notInSchema: dropped
)");
  auto ok = c.client->update_status(c.sj, obj);
  REQUIRE(ok);
  CHECK((*ok)["status"]["conditions"][0]["observedGeneration"] == 1);
  CHECK((*ok)["status"]["conditions"][0]["lastTransitionTime"] == "2026-11-26T19:00:00Z");
  CHECK((*ok)["status"]["triggersActivity"]["s0-redis-q"]["isActive"] == false);
  CHECK_FALSE((*ok)["status"].contains("notInSchema"));
}
