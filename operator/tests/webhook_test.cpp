// The admission webhook (keda-compat §3.8, §1.2): AdmissionReview v1 documents in, the answer and
// its metrics labels out. Lookups are plain vectors standing in for the operator's informer
// caches; the webhook code itself is the real one.
#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ebb/operator/webhook.h"

using ebb::op::AdmissionLookups;
using ebb::op::AdmissionOutcome;
using ebb::op::Json;

namespace {

const std::string kSoPath(ebb::op::kScaledObjectWebhookPath);
const std::string kSjPath(ebb::op::kScaledJobWebhookPath);
const std::string kTaPath(ebb::op::kTriggerAuthenticationWebhookPath);
const std::string kCtaPath(ebb::op::kClusterTriggerAuthenticationWebhookPath);

// A namespace as the webhook sees it through its lookups.
struct Cluster {
  std::vector<Json> scaled_objects;
  std::vector<Json> hpas;
  std::vector<Json> workloads;
  std::vector<Json> limit_ranges;
  const ebb::scalers::Registry* registry = nullptr;  // null: the built-in one
  mutable std::vector<std::string> workload_lookups;  // "apiVersion kind ns/name"

  AdmissionLookups lookups() const {
    AdmissionLookups l;
    l.scaled_objects = [this](const Json& so) { return in(scaled_objects, so["metadata"].value("namespace", "")); };
    l.hpas = [this](const Json& so) { return in(hpas, so["metadata"].value("namespace", "")); };
    l.limit_ranges = [this](const std::string& ns) { return in(limit_ranges, ns); };
    l.workload = [this](const std::string& api_version, const std::string& kind,
                        const std::string& ns, const std::string& name) -> std::optional<Json> {
      workload_lookups.push_back(api_version + " " + kind + " " + ns + "/" + name);
      for (const auto& w : workloads)
        if (w["apiVersion"] == api_version && w["kind"] == kind &&
            w["metadata"]["namespace"] == ns && w["metadata"]["name"] == name)
          return w;
      return std::nullopt;
    };
    l.registry = registry;
    return l;
  }

  static std::vector<Json> in(const std::vector<Json>& objects, const std::string& ns) {
    std::vector<Json> out;
    for (const auto& o : objects)
      if (o["metadata"].value("namespace", "") == ns) out.push_back(o);
    return out;
  }
};

// An AdmissionReview v1 request as kube-apiserver sends it.
Json admission_review(const std::string& operation, const Json& object,
                      const Json& old_object = nullptr, bool dry_run = false,
                      const std::string& resource = "scaledobjects",
                      const std::string& ns = "shop") {
  const std::string kind = object.is_object() ? object.value("kind", "ScaledObject") : "";
  Json request = {
      {"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
      {"kind", {{"group", "keda.sh"}, {"version", "v1alpha1"}, {"kind", kind}}},
      {"resource", {{"group", "keda.sh"}, {"version", "v1alpha1"}, {"resource", resource}}},
      {"requestKind", {{"group", "keda.sh"}, {"version", "v1alpha1"}, {"kind", kind}}},
      {"requestResource", {{"group", "keda.sh"}, {"version", "v1alpha1"}, {"resource", resource}}},
      {"name", object.is_object() ? object["metadata"].value("name", "") : ""},
      {"operation", operation},
      {"userInfo", {{"username", "admin"}, {"groups", {"system:authenticated"}}}},
      {"object", object},
      {"oldObject", old_object},
      {"dryRun", dry_run},
      {"options", {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}}}};
  if (!ns.empty()) request["namespace"] = ns;
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

// A ScaledObject as the API server stores it; `spec` members override the defaults below.
Json scaled_object(const std::string& name, const Json& spec_overrides = Json::object(),
                   const Json& metadata_overrides = Json::object()) {
  Json so = R"({
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"namespace": "shop", "uid": "", "generation": 1,
                 "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {
      "scaleTargetRef": {"name": "api"},
      "triggers": [{"type": "rabbitmq", "metadata": {"queueName": "orders", "host": "amqp://rabbit"}}]
    }
  })"_json;
  so["metadata"]["name"] = name;
  so["metadata"]["uid"] = "uid-" + name;
  so["metadata"].update(metadata_overrides);
  so["spec"].update(spec_overrides);
  return so;
}

Json container(const std::string& name, const Json& resources = Json::object()) {
  Json c = {{"name", name}, {"image", "example/" + name + ":1"}};
  if (!resources.empty()) c["resources"] = resources;
  return c;
}

Json workload(const std::string& kind, const std::string& name,
              const std::vector<Json>& containers) {
  return {
      {"apiVersion", "apps/v1"},
      {"kind", kind},
      {"metadata", {{"name", name}, {"namespace", "shop"}}},
      {"spec",
       {{"replicas", 1},
        {"template",
         {{"metadata", {{"labels", {{"app", name}}}}}, {"spec", {{"containers", containers}}}}}}}};
}

Json limit_range(const std::string& type, const Json& defaults) {
  Json item = {{"type", type}};
  item.update(defaults);
  return {{"apiVersion", "v1"},
          {"kind", "LimitRange"},
          {"metadata", {{"name", "defaults"}, {"namespace", "shop"}}},
          {"spec", {{"limits", Json::array({item})}}}};
}

Json hpa(const std::string& name, const std::string& target, const Json& owner = nullptr,
         const Json& annotations = Json::object()) {
  Json h = {
      {"apiVersion", "autoscaling/v2"},
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata", {{"name", name}, {"namespace", "shop"}}},
      {"spec",
       {{"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
        {"minReplicas", 1},
        {"maxReplicas", 10}}}};
  if (!annotations.empty()) h["metadata"]["annotations"] = annotations;
  if (!owner.is_null()) h["metadata"]["ownerReferences"] = Json::array({owner});
  return h;
}

Json so_owner(const std::string& name) {
  return {{"apiVersion", "keda.sh/v1alpha1"},
          {"kind", "ScaledObject"},
          {"name", name},
          {"uid", "uid-" + name},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

const Json kCpuTrigger =
    R"({"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}})"_json;
const Json kMemoryTrigger =
    R"({"type": "memory", "metricType": "Utilization", "metadata": {"value": "70"}})"_json;

AdmissionOutcome run(const Json& review, const Cluster& cluster = {},
                     const std::string& path = kSoPath) {
  auto outcome = ebb::op::review(path, review, cluster.lookups());
  REQUIRE(outcome.has_value());
  // Every answer is a well-formed AdmissionReview that echoes the request uid.
  CHECK(outcome->review["apiVersion"] == "admission.k8s.io/v1");
  CHECK(outcome->review["kind"] == "AdmissionReview");
  CHECK(outcome->review["response"]["allowed"] == outcome->allowed);
  return *outcome;
}

void check_allowed(const AdmissionOutcome& o) {
  INFO(o.review.dump());
  CHECK(o.allowed);
  CHECK(o.reason.empty());
  CHECK(o.review["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002");
  CHECK(o.review["response"]["status"]["code"] == 200);
}

void check_denied(const AdmissionOutcome& o, const std::string& reason,
                  const std::string& message) {
  INFO(o.review.dump());
  CHECK_FALSE(o.allowed);
  CHECK(o.reason == reason);
  const auto& response = o.review["response"];
  CHECK(response["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002");
  CHECK(response["status"]["code"] == 403);
  CHECK(response["status"]["reason"] == "Forbidden");
  CHECK(response["status"]["message"] == message);
}

}  // namespace

TEST_CASE("webhook: paths other than the four KEDA paths are not answered") {
  const auto review = admission_review("CREATE", scaled_object("orders"));
  CHECK(kSjPath == "/validate-keda-sh-v1alpha1-scaledjob");
  CHECK(ebb::op::review(kSjPath, review, {}).has_value());
  CHECK_FALSE(ebb::op::review("/validate-keda-sh-v1alpha1-scaledjobs", review, {}).has_value());
  CHECK_FALSE(ebb::op::review("/", review, {}).has_value());
  CHECK_FALSE(ebb::op::review(kSoPath + "/", review, {}).has_value());
}

TEST_CASE("webhook: a valid ScaledObject is allowed, with the uid, namespace and action") {
  Cluster cluster;
  const auto o = run(admission_review("CREATE", scaled_object("orders")), cluster);
  check_allowed(o);
  CHECK(o.ns == "shop");
  CHECK(o.action == "create");
  CHECK(o.warnings.empty());
  CHECK_FALSE(o.review["response"].contains("warnings"));
  // No cpu/memory trigger: the workload is not needed.
  CHECK(cluster.workload_lookups.empty());

  const auto update =
      run(admission_review("UPDATE", scaled_object("orders"), scaled_object("orders")),
          Cluster{{scaled_object("orders")}});
  check_allowed(update);
  CHECK(update.action == "update");
}

TEST_CASE("webhook: the literal AdmissionReview kube-apiserver sends") {
  const auto review = R"({
    "kind": "AdmissionReview",
    "apiVersion": "admission.k8s.io/v1",
    "request": {
      "uid": "3b2a1c6e-0d4f-4f1a-9c51-2f7a8c1d9e00",
      "kind": {"group": "keda.sh", "version": "v1alpha1", "kind": "ScaledObject"},
      "resource": {"group": "keda.sh", "version": "v1alpha1", "resource": "scaledobjects"},
      "name": "orders",
      "namespace": "shop",
      "operation": "CREATE",
      "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
      "object": {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
          "name": "orders", "namespace": "shop", "uid": "0f1e2d3c", "generation": 1,
          "creationTimestamp": "2026-11-26T19:00:00Z",
          "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "keda.sh/v1alpha1",
                             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]
        },
        "spec": {
          "scaleTargetRef": {"name": "api"},
          "minReplicaCount": 5, "maxReplicaCount": 2,
          "triggers": [{"type": "kafka", "metadata": {"topic": "orders", "bootstrapServers": "k:9092",
                                                      "consumerGroup": "g"}}]
        }
      },
      "oldObject": null,
      "dryRun": false,
      "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply"}
    }
  })"_json;
  const auto o = ebb::op::review(kSoPath, review, Cluster{}.lookups());
  REQUIRE(o);
  CHECK_FALSE(o->allowed);
  CHECK(o->reason == "incorrect-replicas");
  CHECK(o->review == R"({
    "apiVersion": "admission.k8s.io/v1",
    "kind": "AdmissionReview",
    "response": {
      "uid": "3b2a1c6e-0d4f-4f1a-9c51-2f7a8c1d9e00",
      "allowed": false,
      "status": {"code": 403, "reason": "Forbidden",
                 "message": "spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount"}
    }
  })"_json);
}

TEST_CASE("webhook: each ScaledObject check denies with KEDA's reason label and message") {
  const std::string long_name(64, 'n');
  const std::string name_60(60, 'n');
  struct Case {
    std::string name;
    Json so;
    std::string reason;
    std::string message;
    std::vector<std::string> supported = {};
  };
  const std::vector<Case> cases = {
      {"name-too-long", scaled_object(long_name), "name-too-long",
       "metadata.name: scaledobject name \"" + long_name +
           "\" is 64 characters long; must be no more than 63 characters because it is used as "
           "the value of label scaledobject.keda.sh/name"},
      {"hpa-name-too-long", scaled_object(name_60), "hpa-name-too-long",
       "metadata.name: HPA name \"keda-hpa-" + name_60 +
           "\" derived from the scaledobject is 69 characters long; must be no more than 63 "
           "characters: set spec.advanced.horizontalPodAutoscalerConfig.name to a shorter name or "
           "shorten the scaledobject name"},
      {"incorrect-replicas: idle not below min",
       scaled_object("o", {{"idleReplicaCount", 2}, {"minReplicaCount", 2}}), "incorrect-replicas",
       "spec.idleReplicaCount: IdleReplicaCount=2 must be less than MinReplicaCount=2"},
      {"incorrect-replicas: CEL min <= max",
       scaled_object("o", {{"minReplicaCount", 7}, {"maxReplicaCount", 3}}), "incorrect-replicas",
       "spec: Invalid value: \"object\": minReplicaCount must be less than or equal to "
       "maxReplicaCount"},
      {"incorrect-fallback: negative replicas",
       scaled_object("o", {{"fallback", {{"failureThreshold", 3}, {"replicas", -1}}}}),
       "incorrect-fallback",
       "spec.fallback.replicas: Invalid value: -1: must be greater than or equal to 0"},
      {"incorrect-triggers: duplicate names",
       scaled_object(
           "o", {{"triggers",
                  {{{"type", "rabbitmq"}, {"name", "q"}, {"metadata", {{"queueName", "a"}}}},
                   {{"type", "rabbitmq"}, {"name", "q"}, {"metadata", {{"queueName", "b"}}}}}}}),
       "incorrect-triggers",
       "spec.triggers[1].name: triggerName \"q\" is defined multiple times in the "
       "ScaledObject/ScaledJob, but it must be unique"},
      {"incorrect-triggers: no triggers", scaled_object("o", {{"triggers", Json::array()}}),
       "incorrect-triggers", "spec.triggers: no triggers defined in the ScaledObject/ScaledJob"},
      {"incorrect-triggers: useCachedMetrics on cron",
       scaled_object("o", {{"triggers",
                            {{{"type", "cron"},
                              {"useCachedMetrics", true},
                              {"metadata",
                               {{"timezone", "UTC"},
                                {"start", "0 * * * *"},
                                {"end", "5 * * * *"},
                                {"desiredReplicas", "2"}}}}}}}),
       "incorrect-triggers",
       "spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for "
       "\"cron\" scaler"},
      {"incorrect-triggers: useCachedMetrics on memory",
       // A custom target: KEDA checks container requests of Deployments and StatefulSets only.
       scaled_object("o", {{"minReplicaCount", 1},
                           {"scaleTargetRef", {{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"name", "w"}}},
                           {"triggers",
                            {{{"type", "memory"},
                              {"metricType", "Utilization"},
                              {"useCachedMetrics", true},
                              {"metadata", {{"value", "60"}}}}}}}),
       "incorrect-triggers",
       "spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not supported for "
       "\"memory\" scaler"},
      {"incorrect-triggers: a KEDA type Ebb cannot run",
       scaled_object("o"),
       "incorrect-triggers",
       "spec.triggers[0].type: unsupported trigger type \"rabbitmq\" (supported: kafka, redis, "
       "redis-cluster, redis-sentinel)",
       {"kafka", "redis"}},
      {"scaling-modifiers: formula without target",
       scaled_object("o", {{"advanced", {{"scalingModifiers", {{"formula", "1 + 2"}}}}}}),
       "scaling-modifiers",
       "spec.advanced.scalingModifiers.target: Required value: a formula needs a target"},
      {"scaling-modifiers: target not above 0",
       scaled_object("o",
                     {{"advanced", {{"scalingModifiers", {{"formula", "1"}, {"target", "0"}}}}}}),
       "scaling-modifiers",
       "spec.advanced.scalingModifiers.target: Invalid value: \"0\": must be a number greater than "
       "0"},
      {"scaling-modifiers: a formula construct the evaluator does not support",
       scaled_object("o", {{"advanced",
                            {{"scalingModifiers", {{"formula", "q ?? 1"}, {"target", "5"}}}}},
                           {"triggers",
                            {{{"type", "redis"},
                              {"name", "q"},
                              {"metadata", {{"address", "r:6379"}, {"listName", "l"}}}}}}}),
       "scaling-modifiers",
       "spec.advanced.scalingModifiers.formula: Invalid value: \"q ?? 1\": invalid formula: "
       "unsupported operator \"??\" at position 3"},
      {"scaling-modifiers-fallback",
       scaled_object(
           "o", {{"fallback",
                  {{"failureThreshold", 3}, {"replicas", 2}, {"behavior", "scalingModifiers"}}}}),
       "scaling-modifiers-fallback",
       "spec.fallback.behavior: scalingModifiers fallback behavior requires "
       "scalingModifiers.formula to be defined"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Cluster cluster;
    // A registry with only the scalers of these types, for the "unsupported" messages.
    ebb::scalers::Registry registry;
    for (const auto& type : c.supported) registry.add(*ebb::scalers::Registry::builtin().find(type));
    if (!c.supported.empty()) cluster.registry = &registry;
    check_denied(run(admission_review("CREATE", c.so), cluster), c.reason, c.message);
  }
}

TEST_CASE("webhook: ownership checks (other ScaledObject, HPA name, foreign HPA, transfer)") {
  const Json transfer = {{"scaledobject.keda.sh/transfer-hpa-ownership", "true"}};
  struct Case {
    std::string name;
    Json so;
    Cluster cluster;
    std::optional<std::pair<std::string, std::string>> denied;  // reason, message
  };
  const std::vector<Case> cases = {
      {"another ScaledObject on the same Deployment",
       scaled_object("b"),
       Cluster{{scaled_object("a")}},
       {{"other-scaled-object",
         "the workload 'api' of type 'apps/v1.Deployment' is already managed by the ScaledObject "
         "'a'"}}},
      {"another ScaledObject on a StatefulSet of the same name", scaled_object("b"),
       Cluster{
           {scaled_object("a", {{"scaleTargetRef", {{"name", "api"}, {"kind", "StatefulSet"}}}})}},
       std::nullopt},
      {"another ScaledObject in another namespace", scaled_object("b"),
       Cluster{{scaled_object("a", Json::object(), {{"namespace", "other"}})}}, std::nullopt},
      {"the object's own stored copy (an UPDATE) does not conflict", scaled_object("a"),
       Cluster{{scaled_object("a")}}, std::nullopt},
      {"another ScaledObject uses the same HPA name",
       scaled_object("b",
                     {{"scaleTargetRef", {{"name", "web"}}},
                      {"advanced", {{"horizontalPodAutoscalerConfig", {{"name", "keda-hpa-a"}}}}}}),
       Cluster{{scaled_object("a")}},
       {{"other-scaled-object-hpa",
         "the HPA 'keda-hpa-a' is already managed by the ScaledObject 'a'"}}},
      {"a foreign HPA on the target",
       scaled_object("a"),
       Cluster{{}, {hpa("manual", "api")}},
       {{"other-hpa",
         "the workload 'api' of type 'apps/v1.Deployment' is already managed by the hpa "
         "'manual'"}}},
      {"a foreign HPA marked validations.keda.sh/hpa-ownership: false", scaled_object("a"),
       Cluster{{},
               {hpa("manual", "api", nullptr, {{"validations.keda.sh/hpa-ownership", "false"}})}},
       std::nullopt},
      {"our own HPA", scaled_object("a"), Cluster{{}, {hpa("keda-hpa-a", "api", so_owner("a"))}},
       std::nullopt},
      {"the HPA of another ScaledObject on the target",
       scaled_object("b"),
       Cluster{{}, {hpa("keda-hpa-a", "api", so_owner("a"))}},
       {{"other-hpa",
         "the workload 'api' of type 'apps/v1.Deployment' is already managed by the hpa "
         "'keda-hpa-a'"}}},
      {"transfer requested, HPA named",
       scaled_object("a", {{"advanced", {{"horizontalPodAutoscalerConfig", {{"name", "manual"}}}}}},
                     {{"annotations", transfer}}),
       Cluster{{}, {hpa("manual", "api")}}, std::nullopt},
      {"transfer requested, HPA not named",
       scaled_object("a", Json::object(), {{"annotations", transfer}}),
       Cluster{{}, {hpa("manual", "api")}},
       {{"transfer-ownership-missing-hpa-name",
         "the existing hpa 'manual' for workload 'api' of type 'apps/v1.Deployment' must be "
         "specified by "
         "name in advanced settings to enable ownership transfer"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto o = run(admission_review("CREATE", c.so), c.cluster);
    if (c.denied)
      check_denied(o, c.denied->first, c.denied->second);
    else
      check_allowed(o);
  }
}

TEST_CASE("webhook: cpu/memory triggers need container requests (or a LimitRange default)") {
  const Json with_cpu = {{"requests", {{"cpu", "250m"}}}};
  const Json with_memory_limit = {{"limits", {{"memory", "256Mi"}}}};
  const auto cpu_so = [](const Json& trigger) {
    return scaled_object(
        "o", {{"minReplicaCount", 1},
              {"triggers", {trigger, R"({"type": "kafka", "metadata": {"topic": "t"}})"_json}}});
  };
  const std::string missing_cpu =
      "the scaledobject has a cpu trigger but the container app doesn't have the cpu request "
      "defined";
  struct Case {
    std::string name;
    Json so;
    Cluster cluster;
    std::optional<std::pair<std::string, std::string>> denied;
  };
  const std::vector<Case> cases = {
      {"cpu request set", cpu_so(kCpuTrigger),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_cpu)})}},
       std::nullopt},
      {"no cpu request",
       cpu_so(kCpuTrigger),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app")})}},
       {{"missing-requests", missing_cpu}}},
      {"cpu request \"0\" does not count",
       cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app", {{"requests", {{"cpu", "0"}}}})})}},
       {{"missing-requests", missing_cpu}}},
      {"a cpu limit alone counts", cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app", {{"limits", {{"cpu", "1"}}}})})}},
       std::nullopt},
      {"only the memory limit set, cpu trigger",
       cpu_so(kCpuTrigger),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_memory_limit)})}},
       {{"missing-requests", missing_cpu}}},
      {"memory limit set, memory trigger", cpu_so(kMemoryTrigger),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_memory_limit)})}},
       std::nullopt},
      {"memory trigger, no memory request",
       cpu_so(kMemoryTrigger),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_cpu)})}},
       {{"missing-requests",
         "the scaledobject has a memory trigger but the container app doesn't have the memory "
         "request defined"}}},
      {"every container is checked",
       cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app", with_cpu), container("sidecar")})}},
       {{"missing-requests",
         "the scaledobject has a cpu trigger but the container sidecar doesn't have the cpu "
         "request defined"}}},
      {"containerName limits the check to that container",
       cpu_so(
           R"({"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60", "containerName": "app"}})"_json),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app", with_cpu), container("sidecar")})}},
       std::nullopt},
      {"containerName naming the container without requests",
       cpu_so(
           R"({"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60", "containerName": "sidecar"}})"_json),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app", with_cpu), container("sidecar")})}},
       {{"missing-requests",
         "the scaledobject has a cpu trigger but the container sidecar doesn't have the cpu "
         "request defined"}}},
      {"a LimitRange default for containers", cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app")})},
               {limit_range("Container", {{"default", {{"cpu", "500m"}}}})}},
       std::nullopt},
      {"a LimitRange defaultRequest for containers", cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app")})},
               {limit_range("Container", {{"defaultRequest", {{"cpu", "100m"}}}})}},
       std::nullopt},
      {"a LimitRange for pods does not count",
       cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app")})},
               {limit_range("Pod", {{"default", {{"cpu", "500m"}}}})}},
       {{"missing-requests", missing_cpu}}},
      {"a LimitRange default for the other resource does not count",
       cpu_so(kCpuTrigger),
       Cluster{{},
               {},
               {workload("Deployment", "api", {container("app")})},
               {limit_range("Container", {{"default", {{"memory", "1Gi"}}}})}},
       {{"missing-requests", missing_cpu}}},
      {"StatefulSet targets are checked too",
       scaled_object("o", {{"minReplicaCount", 1},
                           {"scaleTargetRef", {{"name", "api"}, {"kind", "StatefulSet"}}},
                           {"triggers", {kCpuTrigger}}}),
       Cluster{{}, {}, {workload("StatefulSet", "api", {container("app")})}},
       {{"missing-requests", missing_cpu}}},
      {"other kinds are not checked",
       scaled_object(
           "o", {{"minReplicaCount", 1},
                 {"scaleTargetRef",
                  {{"name", "api"}, {"kind", "Rollout"}, {"apiVersion", "argoproj.io/v1alpha1"}}},
                 {"triggers", {kCpuTrigger}}}),
       Cluster{}, std::nullopt},
      {"the workload does not exist",
       cpu_so(kCpuTrigger),
       Cluster{},
       {{"workload-not-found",
         "the scale target apps/v1.Deployment 'api' was not found in namespace 'shop', so its "
         "containers' cpu/memory requests cannot be checked"}}},
      {"only cpu/memory triggers and minReplicaCount 0",
       scaled_object("o", {{"minReplicaCount", 0}, {"triggers", {kCpuTrigger, kMemoryTrigger}}}),
       Cluster{{},
               {},
               {workload("Deployment", "api",
                         {container("app", {{"requests", {{"cpu", "1"}, {"memory", "1Gi"}}}})})}},
       {{"scale-to-zero-requirements-not-met",
         "spec.minReplicaCount: scaledobject has only cpu/memory triggers AND minReplica is 0 "
         "(scale "
         "to zero doesn't work in this case)"}}},
      {"only cpu/memory triggers and minReplicaCount unset",
       scaled_object("o", {{"triggers", {kCpuTrigger}}}),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_cpu)})}},
       {{"scale-to-zero-requirements-not-met",
         "spec.minReplicaCount: scaledobject has only cpu/memory triggers AND minReplica is 0 "
         "(scale "
         "to zero doesn't work in this case)"}}},
      {"only cpu/memory triggers and minReplicaCount 1",
       scaled_object("o", {{"minReplicaCount", 1}, {"triggers", {kCpuTrigger}}}),
       Cluster{{}, {}, {workload("Deployment", "api", {container("app", with_cpu)})}},
       std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto o = run(admission_review("CREATE", c.so), c.cluster);
    if (c.denied)
      check_denied(o, c.denied->first, c.denied->second);
    else
      check_allowed(o);
  }
}

TEST_CASE("webhook: the workload is looked up with the target's defaulted apiVersion and kind") {
  Cluster cluster{
      {}, {}, {workload("StatefulSet", "db", {container("app", {{"requests", {{"cpu", "1"}}}})})}};
  const auto so = scaled_object("o", {{"minReplicaCount", 1},
                                      {"scaleTargetRef", {{"name", "db"}, {"kind", "StatefulSet"}}},
                                      {"triggers", {kCpuTrigger}}});
  check_allowed(run(admission_review("CREATE", so), cluster));
  CHECK(cluster.workload_lookups == std::vector<std::string>{"apps/v1 StatefulSet shop/db"});
}

TEST_CASE("webhook: dry-run skips the container request check") {
  const auto so = scaled_object("o", {{"minReplicaCount", 1}, {"triggers", {kCpuTrigger}}});
  Cluster no_requests{{}, {}, {workload("Deployment", "api", {container("app")})}};
  Cluster no_workload;

  check_denied(run(admission_review("CREATE", so), no_requests), "missing-requests",
               "the scaledobject has a cpu trigger but the container app doesn't have the cpu "
               "request defined");
  check_allowed(run(admission_review("CREATE", so, nullptr, true), no_requests));
  check_allowed(run(admission_review("CREATE", so, nullptr, true), no_workload));
  CHECK(no_workload.workload_lookups.empty());
  // The checks that need no workload still run on dry-run.
  check_denied(run(admission_review("CREATE", scaled_object("o", {{"triggers", Json::array()}}),
                                    nullptr, true)),
               "incorrect-triggers",
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob");
}

TEST_CASE("webhook: warnings are returned on allowed requests") {
  const auto so = scaled_object("o", {{"minReplicaCount", 1}, {"cooldownPeriod", 60}});
  const auto o = run(admission_review("CREATE", so));
  check_allowed(o);
  const std::vector<std::string> expected = {
      "spec.cooldownPeriod: cooldownPeriod has no effect: it delays scaling to zero or to "
      "idleReplicaCount, and with minReplicaCount above 0 and no idleReplicaCount neither happens"};
  CHECK(o.warnings == expected);
  CHECK(o.review["response"]["warnings"] == Json(expected));

  // With idle mode on, the cooldown matters and there is no warning.
  const auto idle = run(admission_review("CREATE", scaled_object("o", {{"minReplicaCount", 2},
                                                                       {"idleReplicaCount", 0},
                                                                       {"cooldownPeriod", 60}})));
  check_allowed(idle);
  CHECK(idle.warnings.empty());
}

TEST_CASE("webhook: several problems are all reported, the label is the first one's") {
  const auto so = scaled_object(
      "b", {{"idleReplicaCount", 3}, {"minReplicaCount", 1}, {"triggers", Json::array()}});
  const auto o = run(admission_review("CREATE", so), Cluster{{scaled_object("a")}});
  check_denied(o, "incorrect-replicas",
               "spec.idleReplicaCount: IdleReplicaCount=3 must be less than MinReplicaCount=1; "
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob; "
               "the workload 'api' of type 'apps/v1.Deployment' is already managed by the "
               "ScaledObject 'a'");
}

TEST_CASE("webhook: an UPDATE that only removes finalizers is always allowed") {
  // Invalid spec (no triggers) that the controller must still be able to release.
  auto old_so = scaled_object(
      "o", {{"triggers", Json::array()}},
      {{"finalizers", {"finalizer.keda.sh"}}, {"deletionTimestamp", "2026-11-26T19:00:00Z"}});
  auto new_so = old_so;
  new_so["metadata"]["finalizers"] = Json::array();
  // A foreign HPA too: nothing may block the release.
  Cluster cluster{{}, {hpa("manual", "api")}};

  check_allowed(run(admission_review("UPDATE", new_so, old_so), cluster));

  // Finalizer removed but the spec changed too: validated.
  auto changed = new_so;
  changed["spec"]["maxReplicaCount"] = 7;
  check_denied(run(admission_review("UPDATE", changed, old_so), cluster), "incorrect-triggers",
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob; the workload "
               "'api' of type 'apps/v1.Deployment' is already managed by the hpa 'manual'");

  // Finalizers unchanged: validated.
  check_denied(run(admission_review("UPDATE", old_so, old_so), cluster), "incorrect-triggers",
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob; the workload "
               "'api' of type 'apps/v1.Deployment' is already managed by the hpa 'manual'");

  // Finalizer added: validated.
  check_denied(run(admission_review("UPDATE", old_so, new_so), cluster), "incorrect-triggers",
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob; the workload "
               "'api' of type 'apps/v1.Deployment' is already managed by the hpa 'manual'");
}

TEST_CASE("webhook: DELETE and CONNECT are allowed without looking at the object") {
  for (const std::string op : {"DELETE", "CONNECT"}) {
    CAPTURE(op);
    auto review = admission_review(op, nullptr, scaled_object("o", {{"triggers", Json::array()}}));
    const auto o = run(review);
    check_allowed(o);
    CHECK(o.action == (op == "DELETE" ? "delete" : "connect"));
    CHECK(o.ns == "shop");
  }
}

TEST_CASE("webhook: malformed reviews are denied with a clear message") {
  const auto bad = [](const Json& review, const std::string& message, const std::string& uid) {
    const auto o = ebb::op::review(kSoPath, review, AdmissionLookups{});
    REQUIRE(o);
    INFO(o->review.dump());
    CHECK_FALSE(o->allowed);
    CHECK(o->reason == "malformed-request");
    CHECK(o->review["apiVersion"] == "admission.k8s.io/v1");
    CHECK(o->review["response"]["uid"] == uid);
    CHECK(o->review["response"]["allowed"] == false);
    CHECK(o->review["response"]["status"]["code"] == 400);
    CHECK(o->review["response"]["status"]["reason"] == "BadRequest");
    CHECK(o->review["response"]["status"]["message"] == message);
  };
  const std::string uid = "705ab4f5-6393-11e8-b7cc-42010a800002";
  bad(Json::array(), "the body is not an AdmissionReview object", "");
  bad(Json::object(), "the AdmissionReview has no request", "");
  bad(R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})"_json,
      "the AdmissionReview has no request", "");
  bad(R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": "x"})"_json,
      "the AdmissionReview has no request", "");

  auto no_uid = admission_review("CREATE", scaled_object("o"));
  no_uid["request"].erase("uid");
  bad(no_uid, "the AdmissionReview request has no uid", "");

  auto v1beta1 = admission_review("CREATE", scaled_object("o"));
  v1beta1["apiVersion"] = "admission.k8s.io/v1beta1";
  bad(v1beta1,
      "unsupported AdmissionReview apiVersion \"admission.k8s.io/v1beta1\"; this webhook speaks "
      "admission.k8s.io/v1",
      "");

  auto wrong_kind = admission_review("CREATE", scaled_object("o"));
  wrong_kind["kind"] = "Status";
  bad(wrong_kind, "expected kind AdmissionReview, got \"Status\"", "");

  bad(admission_review("PATCH", scaled_object("o")), "unknown operation 'PATCH'", uid);
  bad(admission_review("CREATE", nullptr), "the AdmissionReview request has no object", uid);

  auto wrong_type = scaled_object("o");
  wrong_type["spec"]["minReplicaCount"] = "two";
  const auto o =
      ebb::op::review(kSoPath, admission_review("CREATE", wrong_type), AdmissionLookups{});
  REQUIRE(o);
  CHECK(o->reason == "malformed-request");
  CHECK(o->review["response"]["status"]["code"] == 400);
  const auto message = o->review["response"]["status"]["message"].get<std::string>();
  CHECK(message.rfind("cannot read the ScaledObject: spec.minReplicaCount", 0) == 0);

  // A TriggerAuthentication sent to the ScaledObject path.
  const auto ta = R"({"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
                      "metadata": {"name": "a", "namespace": "shop"}, "spec": {}})"_json;
  const auto misrouted =
      ebb::op::review(kSoPath, admission_review("CREATE", ta), AdmissionLookups{});
  REQUIRE(misrouted);
  CHECK_FALSE(misrouted->allowed);
  CHECK(misrouted->review["response"]["status"]["code"] == 400);
}

TEST_CASE("webhook: the namespace comes from the request when the object has none") {
  auto so = scaled_object("b");
  so["metadata"].erase("namespace");
  const auto o = run(admission_review("CREATE", so), Cluster{{scaled_object("a")}});
  CHECK(o.ns == "shop");
  check_denied(
      o, "other-scaled-object",
      "the workload 'api' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'a'");
}

TEST_CASE("webhook: a failing lookup is answered, not thrown") {
  AdmissionLookups lookups;
  lookups.scaled_objects = [](const Json&) -> std::vector<Json> {
    throw std::runtime_error("informer not synced");
  };
  const auto o = ebb::op::review(kSoPath, admission_review("CREATE", scaled_object("o")), lookups);
  REQUIRE(o);
  CHECK_FALSE(o->allowed);
  CHECK(o->reason == "internal-error");
  CHECK(o->review["response"]["status"]["code"] == 500);
  CHECK(o->review["response"]["status"]["message"] ==
        "validation could not complete: informer not synced");
}

namespace {

Json trigger_auth(const std::string& kind, const Json& spec,
                  const Json& finalizers = Json::array()) {
  Json object = {{"apiVersion", "keda.sh/v1alpha1"},
                 {"kind", kind},
                 {"metadata", {{"name", "auth"}, {"uid", "uid-auth"}}},
                 {"spec", spec}};
  if (kind == "TriggerAuthentication") object["metadata"]["namespace"] = "shop";
  if (!finalizers.empty()) object["metadata"]["finalizers"] = finalizers;
  return object;
}

AdmissionOutcome run_auth(const std::string& path, const std::string& operation, const Json& object,
                          const Json& old_object = nullptr) {
  const bool cluster = object.value("kind", "") == "ClusterTriggerAuthentication";
  return run(admission_review(operation, object, old_object, false,
                              cluster ? "clustertriggerauthentications" : "triggerauthentications",
                              cluster ? "" : "shop"),
             Cluster{}, path);
}

}  // namespace

TEST_CASE("webhook: TriggerAuthentication and ClusterTriggerAuthentication") {
  const auto secret =
      R"({"secretTargetRef": [{"parameter": "password", "name": "rabbit", "key": "pw"}]})"_json;
  const auto bad_oauth =
      R"({"oauth2": {"type": "password", "clientId": "c", "tokenUrl": "ftp://idp/token"}})"_json;

  SECTION("valid TriggerAuthentication") {
    const auto o = run_auth(kTaPath, "CREATE", trigger_auth("TriggerAuthentication", secret));
    check_allowed(o);
    CHECK(o.ns == "shop");
    CHECK(o.action == "create");
  }
  SECTION("invalid TriggerAuthentication: every problem listed") {
    check_denied(run_auth(kTaPath, "CREATE", trigger_auth("TriggerAuthentication", bad_oauth)),
                 "incorrect-trigger-authentication",
                 "spec.oauth2.type: Unsupported value: \"password\": supported values: "
                 "\"clientCredentials\"; spec.oauth2.tokenUrl: Invalid value: \"ftp://idp/token\": "
                 "must be an absolute http or https URL");
  }
  SECTION("filePath is only for ClusterTriggerAuthentication") {
    check_denied(
        run_auth(kTaPath, "CREATE",
                 trigger_auth("TriggerAuthentication", {{"filePath", "creds/rabbit.json"}})),
        "incorrect-trigger-authentication",
        "spec.filePath: Forbidden: filePath is only supported for ClusterTriggerAuthentication");
    const auto o =
        run_auth(kCtaPath, "CREATE",
                 trigger_auth("ClusterTriggerAuthentication", {{"filePath", "creds/rabbit.json"}}));
    check_allowed(o);
    CHECK(o.ns.empty());
  }
  SECTION("invalid ClusterTriggerAuthentication") {
    check_denied(
        run_auth(kCtaPath, "UPDATE",
                 trigger_auth("ClusterTriggerAuthentication",
                              R"({"podIdentity": {"provider": "aws", "externalID": "x"}})"_json),
                 trigger_auth("ClusterTriggerAuthentication", secret)),
        "incorrect-trigger-authentication",
        "spec.podIdentity.externalID: Forbidden: externalID requires roleArn to be set");
  }
  SECTION("warnings") {
    const auto o = run_auth(
        kTaPath, "CREATE",
        trigger_auth("TriggerAuthentication", R"({"podIdentity": {"provider": "aws-eks"}})"_json));
    check_allowed(o);
    CHECK(o.warnings == std::vector<std::string>{
                            "spec.podIdentity.provider: aws-eks is deprecated in KEDA (removal "
                            "planned for v3); use aws with identityOwner: workload"});
    CHECK(o.review["response"]["warnings"] == Json(o.warnings));
  }
  SECTION("the kind must match the path") {
    const auto o = ebb::op::review(
        kTaPath, admission_review("CREATE", trigger_auth("ClusterTriggerAuthentication", secret)),
        AdmissionLookups{});
    REQUIRE(o);
    CHECK_FALSE(o->allowed);
    CHECK(o->reason == "malformed-request");
    CHECK(o->review["response"]["status"]["message"] ==
          "expected a TriggerAuthentication at this path, got kind 'ClusterTriggerAuthentication'");
    const auto scaled = ebb::op::review(kCtaPath, admission_review("CREATE", scaled_object("o")),
                                        AdmissionLookups{});
    REQUIRE(scaled);
    CHECK_FALSE(scaled->allowed);
    CHECK(scaled->review["response"]["status"]["code"] == 400);
  }
  SECTION("removing the only finalizer is allowed even when the spec is invalid") {
    const auto old_ta = trigger_auth("TriggerAuthentication", bad_oauth, {"finalizer.keda.sh"});
    const auto new_ta = trigger_auth("TriggerAuthentication", bad_oauth);
    check_allowed(run_auth(kTaPath, "UPDATE", new_ta, old_ta));
    // Not a finalizer-only change: validated.
    auto changed = new_ta;
    changed["spec"]["oauth2"]["clientId"] = "other";
    CHECK_FALSE(run_auth(kTaPath, "UPDATE", changed, old_ta).allowed);
  }
  SECTION("DELETE is allowed") {
    auto review =
        admission_review("DELETE", nullptr, trigger_auth("TriggerAuthentication", bad_oauth), false,
                         "triggerauthentications");
    check_allowed(run(review, Cluster{}, kTaPath));
  }
}

namespace {

// A ScaledJob as the API server stores it; `spec` members override the defaults below.
Json scaled_job(const std::string& name, const Json& spec_overrides = Json::object(),
                const Json& metadata_overrides = Json::object()) {
  Json sj = R"({
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledJob",
    "metadata": {"namespace": "shop", "generation": 1},
    "spec": {
      "jobTargetRef": {"template": {"spec": {"containers": [{"name": "render", "image": "busybox"}],
                                             "restartPolicy": "Never"}}},
      "triggers": [{"type": "redis", "metadata": {"address": "redis:6379", "listName": "renders"}}]
    }
  })"_json;
  sj["metadata"]["name"] = name;
  sj["metadata"]["uid"] = "uid-" + name;
  sj["metadata"].update(metadata_overrides);
  sj["spec"].update(spec_overrides);
  return sj;
}

AdmissionOutcome run_job(const std::string& operation, const Json& object,
                         const Json& old_object = nullptr, const Cluster& cluster = {}) {
  return run(admission_review(operation, object, old_object, false, "scaledjobs"), cluster,
             kSjPath);
}

}  // namespace

TEST_CASE("webhook: a valid ScaledJob is allowed, with the namespace and action") {
  const auto o = run_job("CREATE", scaled_job("render"));
  check_allowed(o);
  CHECK(o.ns == "shop");
  CHECK(o.action == "create");
  CHECK(o.warnings.empty());
  check_allowed(
      run_job("UPDATE", scaled_job("render", {{"maxReplicaCount", 3}}), scaled_job("render")));

  // The namespace comes from the request when the object has none.
  auto no_ns = scaled_job("render");
  no_ns["metadata"].erase("namespace");
  const auto from_request = run_job("CREATE", no_ns);
  check_allowed(from_request);
  CHECK(from_request.ns == "shop");
}

TEST_CASE("webhook: ScaledJob triggers are denied by KEDA's ValidateTriggers rules") {
  SECTION("no triggers") {
    check_denied(run_job("CREATE", scaled_job("render", {{"triggers", Json::array()}})),
                 "incorrect-triggers",
                 "spec.triggers: no triggers defined in the ScaledObject/ScaledJob");
  }
  SECTION("a trigger name used twice") {
    const auto triggers = R"([
      {"type": "redis", "name": "q", "metadata": {"address": "redis:6379", "listName": "a"}},
      {"type": "redis", "name": "q", "metadata": {"address": "redis:6379", "listName": "b"}}
    ])"_json;
    check_denied(
        run_job("UPDATE", scaled_job("render", {{"triggers", triggers}}), scaled_job("render")),
        "incorrect-triggers",
        "spec.triggers[1].name: triggerName \"q\" is defined multiple times in the "
        "ScaledObject/ScaledJob, but it must be unique");
  }
  SECTION("useCachedMetrics on a cron trigger") {
    const auto triggers = R"([{"type": "cron", "useCachedMetrics": true, "metadata":
      {"timezone": "Etc/UTC", "start": "0 8 * * *", "end": "0 18 * * *", "desiredReplicas": "2"}}])"_json;
    check_denied(run_job("CREATE", scaled_job("render", {{"triggers", triggers}})),
                 "incorrect-triggers",
                 "spec.triggers[0].useCachedMetrics: property \"useCachedMetrics\" is not "
                 "supported for \"cron\" scaler");
  }
}

TEST_CASE("webhook: a ScaledJob the adapter would not run is denied, every problem listed") {
  // A misspelt type and a metricType (KEDA's ScaledJob reconciler rejects it too): both listed,
  // the label is the first one's.
  const auto triggers = R"([
    {"type": "redis-stream", "metadata": {"address": "redis:6379", "stream": "s"}},
    {"type": "redis", "metricType": "Value", "metadata": {"address": "redis:6379", "listName": "a"}}
  ])"_json;
  const auto o = run_job("CREATE", scaled_job("render", {{"triggers", triggers}}));
  CHECK_FALSE(o.allowed);
  CHECK(o.reason == "incorrect-triggers");
  const auto message = o.review["response"]["status"]["message"].get<std::string>();
  CHECK_THAT(message, Catch::StartsWith("spec.triggers[0].type: unknown trigger type "
                                        "\"redis-stream\" (did you mean \"redis-streams\"?); "
                                        "spec.triggers[1].metricType: metricType cannot be set "
                                        "in ScaledJob triggers"));

  // A name that cannot be the value of the scaledjob.keda.sh/name label of its Jobs.
  const std::string long_name(64, 'r');
  const auto named = run_job("CREATE", scaled_job(long_name));
  CHECK_FALSE(named.allowed);
  CHECK(named.reason == "name-too-long");
  CHECK_THAT(named.review["response"]["status"]["message"].get<std::string>(),
             Catch::StartsWith("metadata.name: scaledjob name \"" + long_name + "\" is 64"));
}

TEST_CASE("webhook: a ScaledJob's warnings come back on the allowed answer") {
  const auto triggers = R"([
    {"type": "redis", "metadata": {"address": "redis:6379", "listName": "a"}},
    {"type": "cpu", "metadata": {"value": "60"}}
  ])"_json;
  const auto o = run_job("CREATE", scaled_job("render", {{"triggers", triggers}}));
  check_allowed(o);
  CHECK(o.warnings == std::vector<std::string>{
                          "spec.triggers[1].type: \"cpu\" triggers have no effect in a ScaledJob: "
                          "only external metrics count jobs"});
  CHECK(o.review["response"]["warnings"] == Json(o.warnings));
}

TEST_CASE("webhook: a ScaledJob UPDATE that removes its only finalizer is allowed") {
  // KEDA's rule: exactly one finalizer before, none after, the spec unchanged.
  const auto old_sj =
      scaled_job("render", {{"triggers", Json::array()}}, {{"finalizers", {"finalizer.keda.sh"}}});
  auto new_sj = old_sj;
  new_sj["metadata"]["finalizers"] = Json::array();
  check_allowed(run_job("UPDATE", new_sj, old_sj));

  auto changed = new_sj;
  changed["spec"]["maxReplicaCount"] = 7;
  check_denied(run_job("UPDATE", changed, old_sj), "incorrect-triggers",
               "spec.triggers: no triggers defined in the ScaledObject/ScaledJob");
  // Two finalizers down to none is not KEDA's shortcut: validated.
  auto two = old_sj;
  two["metadata"]["finalizers"] = {"finalizer.keda.sh", "example.com/other"};
  CHECK_FALSE(run_job("UPDATE", new_sj, two).allowed);
  // No finalizer change: validated.
  CHECK_FALSE(run_job("UPDATE", old_sj, old_sj).allowed);
}

TEST_CASE("webhook: the ScaledJob path reads only ScaledJobs") {
  // A ScaledObject sent to the ScaledJob path, a ScaledJob to the ScaledObject path.
  const auto so_there = run(admission_review("CREATE", scaled_object("o")), Cluster{}, kSjPath);
  CHECK_FALSE(so_there.allowed);
  CHECK(so_there.reason == "malformed-request");
  CHECK(so_there.review["response"]["status"]["code"] == 400);
  CHECK_THAT(so_there.review["response"]["status"]["message"].get<std::string>(),
             Catch::StartsWith("cannot read the ScaledJob: "));
  const auto sj_there =
      run(admission_review("CREATE", scaled_job("r"), nullptr, false, "scaledjobs"));
  CHECK_FALSE(sj_there.allowed);
  CHECK(sj_there.review["response"]["status"]["code"] == 400);

  // A field of the wrong type: the object cannot be read, which is not a crash.
  auto wrong_type = scaled_job("render");
  wrong_type["spec"]["pollingInterval"] = "often";
  const auto o = run_job("CREATE", wrong_type);
  CHECK_FALSE(o.allowed);
  CHECK(o.review["response"]["status"]["code"] == 400);
  CHECK_THAT(o.review["response"]["status"]["message"].get<std::string>(),
             Catch::StartsWith("cannot read the ScaledJob: spec.pollingInterval"));

  // DELETE is allowed without reading the object.
  check_allowed(run(admission_review("DELETE", nullptr, scaled_job("render"), false, "scaledjobs"),
                    Cluster{}, kSjPath));
}
