// Migration from KEDA (issue 17, part 3; docs/migrating-from-keda.md): a namespace as KEDA left
// it — ScaledObjects, the HPA KEDA's operator made for one of them (its name, labels and the
// controller owner reference to the ScaledObject), a ScaledJob and an object with a trigger type
// Ebb does not run — is checked with `ebb migrate check`, then the real ebb-operator takes over:
// the same HPA object (same uid, never deleted or recreated) ends up Ebb's, serving the same
// metric, and what Ebb cannot serve is reported on the object.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>

#include "ebb/api/keda_types.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "harness.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace resources = ebb::kube::resources;

namespace {

// A trigger type KEDA has and this build does not run; "" when every one is supported.
std::string unsupported_trigger_type() {
  const auto& registry = ebb::scalers::Registry::builtin();
  for (const auto& type : ebb::api::keda_trigger_types())
    if (!registry.find(type) && !ebb::api::trigger_type_removal(type)) return type;
  return "";
}

// What KEDA's operator creates for ScaledObject `so` (its HPA builder: name keda-hpa-<so>, these
// labels, a controller reference to the ScaledObject, the external metric s0-redis-<list>).
Object keda_made_hpa(const Object& so, const std::string& target, const std::string& list) {
  const std::string name = so["metadata"]["name"];
  Object labels = {{"app.kubernetes.io/managed-by", "keda-operator"},
                   {"app.kubernetes.io/name", "keda-hpa-" + name},
                   {"app.kubernetes.io/part-of", name},
                   {"app.kubernetes.io/version", "2.16.0"},
                   {"scaledobject.keda.sh/name", name}};
  Object owner = {
      {"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"name", name},
      {"uid", so["metadata"]["uid"]},     {"controller", true},     {"blockOwnerDeletion", true}};
  Object metric = {{"name", "s0-redis-" + list},
                   {"selector", {{"matchLabels", {{"scaledobject.keda.sh/name", name}}}}}};
  Object external = {{"metric", metric},
                     {"target", {{"type", "AverageValue"}, {"averageValue", "5"}}}};
  Object hpa = {{"apiVersion", "autoscaling/v2"}, {"kind", "HorizontalPodAutoscaler"}};
  hpa["metadata"] = {{"name", "keda-hpa-" + name}, {"labels", labels}};
  hpa["metadata"]["ownerReferences"] = Object::array({owner});
  hpa["spec"] = {
      {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", target}}},
      {"minReplicas", 1},
      {"maxReplicas", 5}};  // the ScaledObject says 10 now: changed while KEDA was down
  hpa["spec"]["metrics"] = Object::array({Object{{"type", "External"}, {"external", external}}});
  return hpa;
}

// Removes the value limits of a CRD schema node and its children (properties, items, ...), not
// the structure.
void drop_value_limits(Object& node) {
  if (!node.is_object()) return;
  for (const char* limit : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                            "minItems", "maxItems", "minLength", "maxLength", "enum", "pattern",
                            "x-kubernetes-validations"})
    node.erase(limit);
  if (auto properties = node.find("properties"); properties != node.end())
    for (auto& [name, child] : properties->items()) drop_value_limits(child);
  for (const char* child : {"items", "additionalProperties", "not"})
    if (node.contains(child)) drop_value_limits(node[child]);
  for (const char* list : {"allOf", "anyOf", "oneOf"})
    if (node.contains(list))
      for (auto& child : node[list]) drop_value_limits(child);
}

// KEDA's four CRDs as a cluster running KEDA 2.19 or older has them (v1.26 clusters run 2.12 at
// most): the same names, version, subresources and structure as crds/, which follow KEDA's
// current CRDs, but without the value limits (minimums, enums, minItems, the min <= max rule)
// KEDA added to its schemas in 2.20, and with KEDA's labels instead of Ebb's.
std::vector<Object> crds_before_keda_2_20() {
  std::vector<Object> crds = crd_documents();
  REQUIRE(crds.size() == 4);
  for (auto& crd : crds) {
    crd["metadata"]["labels"] = {{"app.kubernetes.io/part-of", "keda-operator"},
                                 {"app.kubernetes.io/version", "2.12.1"}};
    crd["metadata"]["annotations"] = {{"controller-gen.kubebuilder.io/version", "v0.12.0"}};
    for (auto& version : crd["spec"]["versions"])
      drop_value_limits(version["schema"]["openAPIV3Schema"]);
  }
  return crds;
}

}  // namespace

TEST_CASE(
    "migration from KEDA: from KEDA's CRDs, migrate check lists what Ebb cannot serve, Ebb's CRDs "
    "keep every object, the operator adopts KEDA's HPA in place",
    "[system][migration]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();  // reads the request log to prove the HPA was never deleted
  Cluster cluster(ClusterOptions{.install_crds = false});
  const std::string ns = cluster.ns();
  const std::string unsupported = unsupported_trigger_type();

  // KEDA's state, on KEDA's CRDs: installed by KEDA's manifest, not by Ebb.
  for (const auto& crd : crds_before_keda_2_20()) {
    auto created = cluster.client().create(resources::custom_resource_definitions(), crd,
                                           {.field_manager = "kubectl-client-side-apply"});
    REQUIRE(created);
  }
  const ebb::kube::Resource scaled_jobs{"keda.sh", "v1alpha1", "scaledjobs", "ScaledJob", true, {}};
  eventually("keda.sh served by KEDA's CRDs", [&] {
    auto rest = cluster.client().rest().call({.method = "GET", .path = "/apis/keda.sh/v1alpha1"});
    return rest.ok() && rest->body.find("\"scaledjobs\"") != std::string::npos &&
           rest->body.find("\"clustertriggerauthentications\"") != std::string::npos;
  });
  cluster.create(
      scaled_jobs,
      {{"apiVersion", "keda.sh/v1alpha1"},
       {"kind", "ScaledJob"},
       {"metadata", {{"name", "reports"}}},
       {"spec",
        {{"jobTargetRef",
          {{"template",
            {{"spec",
              {{"containers", Object::array({{{"name", "job"}, {"image", "busybox"}}})},
               {"restartPolicy", "Never"}}}}}}},
         // A KEDA trigger type this build does not run.
         {"triggers", Object::array({{{"type", "activemq"},
                                      {"metadata", {{"destinationName", "reports"}}}}})}}}});

  cluster.create_deployment("orders", 2);
  const Object so = cluster.create(ebb::cluster::scaled_objects(),
                                   scaled_object("orders", "orders", "orders", 1, 10));
  const Object hpa_before = cluster.create(resources::horizontal_pod_autoscalers(),
                                           keda_made_hpa(so, "orders", "orders"));
  const std::string hpa_uid = hpa_before["metadata"]["uid"];
  if (!unsupported.empty()) {
    cluster.create_deployment("legacy", 1);
    Object legacy = scaled_object("legacy", "legacy");
    legacy["spec"]["triggers"] =
        Object::array({{{"type", unsupported}, {"metadata", {{"value", "1"}}}}});
    cluster.create(ebb::cluster::scaled_objects(), legacy);
  }

  // Objects KEDA's CRDs of that time stored and Ebb's (KEDA's current) schema refuses.
  cluster.create_deployment("inverted", 1);
  const Object inverted = cluster.create(ebb::cluster::scaled_objects(),
                                         scaled_object("inverted", "inverted", "inverted", 5, 2));
  const Object kiam = cluster.create(
      ebb::cluster::trigger_authentications(),
      {{"apiVersion", "keda.sh/v1alpha1"},
       {"kind", "TriggerAuthentication"},
       {"metadata", {{"name", "kiam"}}},
       {"spec", {{"podIdentity", {{"provider", "aws-kiam"}}}}}});

  // The check before the switch: it names each object Ebb cannot serve and why, and counts the
  // HPA that will be adopted.
  auto check = ebb::test::run_command(
      {EBB_CLI_BIN, "migrate", "check", "--kubeconfig", cluster.kubeconfig(), "-n", ns},
      std::chrono::seconds(30));
  INFO(check.out + check.err);
  CHECK(check.exit_code == 1);
  // A ScaledJob is checked as the adapter's job loop would take it.
  CHECK(check.out.find("ScaledJob " + ns +
                       "/reports: spec.triggers[0].type: unsupported trigger type") !=
        std::string::npos);
  CHECK(check.out.find("HPAs controlled by a ScaledObject (adopted in place by Ebb): 1") !=
        std::string::npos);
  CHECK(check.out.find("ScaledObject " + ns + "/orders") == std::string::npos);
  if (!unsupported.empty())
    CHECK(check.out.find("ScaledObject " + ns +
                         "/legacy: spec.triggers[0].type: unsupported trigger type \"" +
                         unsupported + "\"") != std::string::npos);
  CHECK(check.out.find("ScaledObject " + ns +
                       "/inverted: spec: Invalid value: \"object\": minReplicaCount must be less "
                       "than or equal to maxReplicaCount") != std::string::npos);
  CHECK(check.out.find("TriggerAuthentication " + ns + "/kiam: spec.podIdentity.provider") !=
        std::string::npos);
  auto usage = ebb::test::run_command(
      {EBB_CLI_BIN, "migrate", "check", "--kubeconfig", "/nonexistent/kubeconfig"});
  CHECK(usage.exit_code == 2);

  // Step 3 of docs/migrating-from-keda.md: Ebb's CRDs applied server-side over KEDA's. Every
  // stored object stays, with its uid.
  for (auto crd : crd_documents()) {
    crd.erase("status");
    auto applied = cluster.client().apply(resources::custom_resource_definitions(), crd,
                                          "kubectl", /*force=*/true);
    INFO(crd["metadata"].value("name", ""));
    REQUIRE(applied);
    CHECK(applied->at("metadata").value("labels", Object::object()).value(
              "app.kubernetes.io/part-of", "") == "ebb");
  }
  cluster.install_crds();  // waits until keda.sh is served again
  for (const auto& [resource, before] :
       {std::pair{ebb::cluster::scaled_objects(), so}, std::pair{ebb::cluster::scaled_objects(), inverted},
        std::pair{ebb::cluster::trigger_authentications(), kiam}}) {
    auto after = cluster.get(resource, before["metadata"]["name"]);
    REQUIRE(after);
    CHECK(after->at("metadata")["uid"] == before["metadata"]["uid"]);
    CHECK(after->at("spec") == before["spec"]);
  }
  // Why the check matters: without ratcheting (Kubernetes before 1.30) every later write of an
  // object the new schema refuses fails, status included, so it must be mended first.
  auto status_write = cluster.client().patch(
      ebb::cluster::scaled_objects(), ns, "inverted", ebb::kube::PatchType::merge,
      {{"status", {{"hpaName", "keda-hpa-inverted"}}}}, {.subresource = "status"});
  REQUIRE_FALSE(status_write);
  CHECK(status_write.error().code == 422);

  // The switch: Ebb's operator runs (KEDA's is at 0). It adopts KEDA's HPA as its own.
  if (auto* server = cluster.server()) server->clear_request_log();
  OperatorRun run(cluster);
  run.require_ready();
  std::optional<Object> hpa;
  eventually(
      "the HPA keda-hpa-orders updated by Ebb (its version label, maxReplicas 10)",
      [&] {
        hpa = cluster.hpa("keda-hpa-orders");
        return hpa &&
               hpa->at("metadata")
                       .value("labels", Object::object())
                       .value("app.kubernetes.io/version", "") == "0.1.0" &&
               hpa->at("spec").value("maxReplicas", 0) == 10;
      },
      30s, &run);
  CHECK(hpa->at("metadata")["uid"] == hpa_uid);
  CHECK(hpa->at("metadata")["ownerReferences"][0]["uid"] == so["metadata"]["uid"]);
  CHECK(hpa->at("spec")["metrics"][0]["external"]["metric"]["name"] == "s0-redis-orders");
  eventually(
      "ScaledObject orders Ready=True with hpaName keda-hpa-orders",
      [&] {
        auto current = cluster.scaled_object("orders");
        return is_ready(current) && current->at("status").value("hpaName", "") == "keda-hpa-orders";
      },
      30s, &run);
  // Never deleted, never recreated: no DELETE and no POST of an HPA in the request log.
  for (const auto& r : cluster.server()->request_log()) {
    if (r.path.find("/horizontalpodautoscalers") == std::string::npos) continue;
    INFO(r.method << " " << r.path);
    CHECK(r.method != "DELETE");
    CHECK(r.method != "POST");
  }
  // What Ebb cannot serve is said on the object, and it gets no HPA.
  if (!unsupported.empty()) {
    eventually(
        "ScaledObject legacy Ready=False",
        [&] {
          return condition_status(cluster.scaled_object("legacy").value_or(Object::object()),
                                  "Ready") == "False";
        },
        30s, &run);
    CHECK_FALSE(cluster.hpa("keda-hpa-legacy"));
  }
}

TEST_CASE(
    "TriggerAuthentication and ClusterTriggerAuthentication status.scaledobjects list their users",
    "[system][migration]") {
  Cluster cluster;
  const std::string cta_name = "shared-" + cluster.ns();
  auto auth = [](const std::string& kind, const std::string& name) {
    Object ref = {{"parameter", "password"}, {"name", "redis"}, {"key", "password"}};
    Object object = {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", kind}};
    object["metadata"] = {{"name", name}};
    object["spec"]["secretTargetRef"] = Object::array({ref});
    return object;
  };
  cluster.create(ebb::cluster::trigger_authentications(),
                 auth("TriggerAuthentication", "redis-auth"));
  cluster.create(ebb::cluster::cluster_trigger_authentications(),
                 auth("ClusterTriggerAuthentication", cta_name));
  for (const char* name : {"zeta", "alpha"}) {
    cluster.create_deployment(name);
    Object so = scaled_object(name, name);
    so["spec"]["triggers"][0]["authenticationRef"] = {{"name", "redis-auth"}};
    if (std::string(name) == "zeta") {
      Object second = so["spec"]["triggers"][0];
      second["authenticationRef"] = {{"name", cta_name}, {"kind", "ClusterTriggerAuthentication"}};
      so["spec"]["triggers"].push_back(second);
    }
    cluster.create(ebb::cluster::scaled_objects(), so);
  }
  OperatorRun run(cluster);
  run.require_ready();
  auto status_of = [&](const ebb::kube::Resource& resource, const std::string& name) {
    auto object = cluster.get(resource, name);
    if (!object) return std::string("(missing)");
    return object->value("status", Object::object()).value("scaledobjects", std::string());
  };
  eventually(
      "TriggerAuthentication status.scaledobjects = alpha,zeta",
      [&] {
        return status_of(ebb::cluster::trigger_authentications(), "redis-auth") == "alpha,zeta";
      },
      30s, &run);
  eventually(
      "ClusterTriggerAuthentication status.scaledobjects = zeta",
      [&] {
        return status_of(ebb::cluster::cluster_trigger_authentications(), cta_name) == "zeta";
      },
      30s, &run);

  // A ScaledObject that goes, and one that stops using the auth objects, leave the lists.
  cluster.remove(ebb::cluster::scaled_objects(), "alpha");
  eventually(
      "alpha leaves the list",
      [&] { return status_of(ebb::cluster::trigger_authentications(), "redis-auth") == "zeta"; },
      30s, &run);
  cluster.modify(ebb::cluster::scaled_objects(), "zeta", [](Object& so) {
    so["spec"]["triggers"] = Object::array({so["spec"]["triggers"][0]});
    so["spec"]["triggers"][0].erase("authenticationRef");
  });
  eventually(
      "no users: the field goes",
      [&] {
        return status_of(ebb::cluster::trigger_authentications(), "redis-auth").empty() &&
               status_of(ebb::cluster::cluster_trigger_authentications(), cta_name).empty();
      },
      30s, &run);
}

TEST_CASE(
    "TriggerAuthentication and ClusterTriggerAuthentication status.scaledjobs list their "
    "ScaledJobs",
    "[system][migration]") {
  Cluster cluster;
  const std::string cta_name = "jobs-" + cluster.ns();
  auto auth = [](const std::string& kind, const std::string& name) {
    Object ref = {{"parameter", "password"}, {"name", "redis"}, {"key", "password"}};
    Object object = {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", kind}};
    object["metadata"] = {{"name", name}};
    object["spec"]["secretTargetRef"] = Object::array({ref});
    return object;
  };
  // A ScaledJob whose triggers use the auth objects named (kind, name).
  auto scaled_job = [](const std::string& name,
                       const std::vector<std::pair<std::string, std::string>>& refs) {
    Object triggers = Object::array();
    for (const auto& [kind, auth_name] : refs)
      triggers.push_back({{"type", "redis"},
                          {"metadata", {{"address", "127.0.0.1:1"}, {"listName", name}}},
                          {"authenticationRef", {{"name", auth_name}, {"kind", kind}}}});
    return Object{
        {"apiVersion", "keda.sh/v1alpha1"},
        {"kind", "ScaledJob"},
        {"metadata", {{"name", name}}},
        {"spec",
         {{"jobTargetRef",
           {{"template", {{"spec", {{"containers", {{{"name", "w"}, {"image", "busybox"}}}}}}}}}},
          {"triggers", triggers}}}};
  };
  cluster.create(ebb::cluster::trigger_authentications(),
                 auth("TriggerAuthentication", "redis-auth"));
  cluster.create(ebb::cluster::cluster_trigger_authentications(),
                 auth("ClusterTriggerAuthentication", cta_name));
  cluster.create(ebb::cluster::scaled_jobs(),
                 scaled_job("zeta", {{"TriggerAuthentication", "redis-auth"},
                                     {"ClusterTriggerAuthentication", cta_name}}));
  cluster.create(ebb::cluster::scaled_jobs(),
                 scaled_job("alpha", {{"TriggerAuthentication", "redis-auth"}}));
  // A ScaledObject on the same TriggerAuthentication: its list is the other field.
  cluster.create_deployment("beta");
  Object so = scaled_object("beta", "beta");
  so["spec"]["triggers"][0]["authenticationRef"] = {{"name", "redis-auth"}};
  cluster.create(ebb::cluster::scaled_objects(), so);

  OperatorRun run(cluster);
  run.require_ready();
  auto status_of = [&](const ebb::kube::Resource& resource, const std::string& name,
                       const std::string& field) {
    auto object = cluster.get(resource, name);
    if (!object) return std::string("(missing)");
    return object->value("status", Object::object()).value(field, std::string());
  };
  const auto& tas = ebb::cluster::trigger_authentications();
  const auto& ctas = ebb::cluster::cluster_trigger_authentications();
  eventually(
      "TriggerAuthentication status.scaledjobs = alpha,zeta and scaledobjects = beta",
      [&] {
        return status_of(tas, "redis-auth", "scaledjobs") == "alpha,zeta" &&
               status_of(tas, "redis-auth", "scaledobjects") == "beta";
      },
      30s, &run);
  eventually(
      "ClusterTriggerAuthentication status.scaledjobs = zeta",
      [&] {
        return status_of(ctas, cta_name, "scaledjobs") == "zeta" &&
               status_of(ctas, cta_name, "scaledobjects").empty();
      },
      30s, &run);

  // A ScaledJob created while the operator runs joins; one deleted leaves.
  cluster.create(ebb::cluster::scaled_jobs(),
                 scaled_job("mid", {{"ClusterTriggerAuthentication", cta_name}}));
  eventually(
      "mid joins the ClusterTriggerAuthentication's list",
      [&] { return status_of(ctas, cta_name, "scaledjobs") == "mid,zeta"; }, 30s, &run);
  cluster.remove(ebb::cluster::scaled_jobs(), "alpha");
  eventually(
      "alpha leaves the list", [&] { return status_of(tas, "redis-auth", "scaledjobs") == "zeta"; },
      30s, &run);

  // zeta stops using the auth objects, mid goes: the scaledjobs fields go, scaledobjects stays.
  cluster.modify(ebb::cluster::scaled_jobs(), "zeta", [](Object& sj) {
    sj["spec"]["triggers"][0].erase("authenticationRef");
    sj["spec"]["triggers"] = Object::array({sj["spec"]["triggers"][0]});
  });
  cluster.remove(ebb::cluster::scaled_jobs(), "mid");
  eventually(
      "no ScaledJob users: status.scaledjobs goes",
      [&] {
        auto ta = cluster.get(tas, "redis-auth");
        auto cta = cluster.get(ctas, cta_name);
        return ta && cta && !ta->value("status", Object::object()).contains("scaledjobs") &&
               !cta->value("status", Object::object()).contains("scaledjobs") &&
               status_of(tas, "redis-auth", "scaledobjects") == "beta";
      },
      30s, &run);
}

TEST_CASE(
    "ClusterTriggerAuthentication Secrets are read from the operator's pod namespace "
    "(POD_NAMESPACE)",
    "[system][migration]") {
  // The chart sets POD_NAMESPACE from the Downward API and passes no --cluster-object-namespace:
  // the operator must then read a ClusterTriggerAuthentication's Secrets there (issue 17, part 2).
  Cluster cluster;
  const std::string cta_name = "redis-cluster-auth-" + cluster.ns();
  cluster.create(resources::secrets(), {{"apiVersion", "v1"},
                                        {"kind", "Secret"},
                                        {"metadata", {{"name", "redis-secret"}}},
                                        {"data", {{"password", ebb::base64_encode("s3cret")}}}});
  Object cta = {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ClusterTriggerAuthentication"}};
  cta["metadata"] = {{"name", cta_name}};
  cta["spec"]["secretTargetRef"] = Object::array(
      {Object{{"parameter", "password"}, {"name", "redis-secret"}, {"key", "password"}}});
  cluster.create(ebb::cluster::cluster_trigger_authentications(), cta);
  cluster.create_deployment("orders");
  Object so = scaled_object("orders", "orders");
  so["spec"]["triggers"][0]["authenticationRef"] = {{"name", cta_name},
                                                    {"kind", "ClusterTriggerAuthentication"}};
  cluster.create(ebb::cluster::scaled_objects(), so);
  ::unsetenv("KEDA_CLUSTER_OBJECT_NAMESPACE");

  auto ready_message = [&] {
    auto current = cluster.scaled_object("orders");
    auto ready = current ? condition(*current, "Ready") : std::nullopt;
    return ready ? ready->value("status", "") + ": " + ready->value("message", "") : std::string();
  };
  {
    // Another namespace: the Secret is not there, and the condition says where it looked.
    ::setenv("POD_NAMESPACE", "elsewhere", 1);
    OperatorRun run(cluster, {}, "operator-elsewhere");
    ::unsetenv("POD_NAMESPACE");
    run.require_ready();
    eventually(
        "Ready=False naming the namespace it looked in",
        [&] {
          const auto m = ready_message();
          return m.rfind("False", 0) == 0 &&
                 m.find("not found in namespace \"elsewhere\"") != std::string::npos;
        },
        30s, &run);
    CHECK(run.terminate() == 0);
  }
  ::setenv("POD_NAMESPACE", cluster.ns().c_str(), 1);
  OperatorRun run(cluster);
  ::unsetenv("POD_NAMESPACE");
  run.require_ready();
  eventually(
      "Ready=True once the Secret is read from the pod's namespace",
      [&] { return is_ready(cluster.scaled_object("orders")); }, 30s, &run);
}
