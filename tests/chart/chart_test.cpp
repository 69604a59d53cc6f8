// The Helm chart (charts/ebb), rendered by the test-only renderer (tests/chart/render) with the
// default values and the main variations: every document is a valid object, RBAC is least
// privilege, the pods pass the restricted Pod Security Standard, the certificate modes wire the
// same CA everywhere, the test API server accepts every object, and deploy/ebb.yaml and the
// chart's crds/ match their sources.
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/decode.h"
#include "ebb/kube/client.h"
#include "support.h"
#include "test_apiserver.h"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kSource = EBB_SOURCE_DIR;
const std::string kRenderer = EBB_CHART_RENDERER;
const std::string kNs = "ebb-system";

ebb::test::CommandResult run_renderer(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kRenderer, "--chart", kSource + "/charts/ebb", "--namespace", kNs};
  argv.insert(argv.end(), args.begin(), args.end());
  return ebb::test::run_command(argv, std::chrono::seconds(60));
}

// Splits a YAML stream on "---" lines and converts every non-empty document to JSON.
std::vector<json> parse_stream(const std::string& text) {
  std::vector<json> docs;
  std::vector<std::string> chunks(1);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line == "---") {
      chunks.emplace_back();
    } else {
      chunks.back() += line + "\n";
    }
    start = end + 1;
  }
  for (const auto& chunk : chunks) {
    bool empty = true;
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      std::size_t end = chunk.find('\n', pos);
      std::string line = chunk.substr(pos, end - pos);
      auto first = line.find_first_not_of(" \t");
      if (first != std::string::npos && line[first] != '#') empty = false;
      pos = end + 1;
    }
    if (empty) continue;
    auto converted = ebb::api::yaml_to_json(chunk);
    if (!converted.ok()) {
      std::string why;
      for (const auto& e : converted.error()) why += e.str() + "; ";
      FAIL("a rendered document is not valid YAML: " << why << "\n" << chunk);
    }
    docs.push_back(std::move(converted.value()));
  }
  return docs;
}

std::vector<json> render(const std::vector<std::string>& args) {
  auto r = run_renderer(args);
  INFO("renderer stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return parse_stream(r.out);
}

std::vector<json> of_kind(const std::vector<json>& docs, const std::string& kind) {
  std::vector<json> out;
  for (const auto& d : docs)
    if (d.value("kind", "") == kind) out.push_back(d);
  return out;
}

const json* find(const std::vector<json>& docs, const std::string& kind, const std::string& name) {
  for (const auto& d : docs)
    if (d.value("kind", "") == kind && d["metadata"].value("name", "") == name) return &d;
  return nullptr;
}

std::vector<std::string> strings(const json& array) {
  std::vector<std::string> out;
  if (array.is_array())
    for (const auto& v : array) out.push_back(v.get<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const json& container(const json& deployment, const std::string& name) {
  for (const auto& c : deployment["spec"]["template"]["spec"]["containers"])
    if (c.value("name", "") == name) return c;
  FAIL("no container " << name);
  static json none;
  return none;
}

std::vector<std::string> args_of(const json& deployment, const std::string& name) {
  return strings(container(deployment, name)["args"]);
}

// The value of "--flag=value" among args, or "" when absent.
std::string arg_value(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
  return "";
}

const std::vector<std::vector<std::string>>& variations() {
  static const std::vector<std::vector<std::string>> v{
      {},
      {"--set", "certificates.mode=certManager"},
      {"--set", "webhooks.enabled=false"},
      {"--set", "certificates.mode=supplied", "--set",
       "certificates.supplied.metricsAdapterSecretName=my-adapter-tls", "--set",
       "certificates.supplied.webhookSecretName=my-webhook-tls", "--set",
       "certificates.supplied.caBundle=Y2E="},
      {"--set", "apiService.enabled=false"},
      {"--set", "metrics.serviceMonitor.enabled=true", "--set", "grafanaDashboard.enabled=true"},
      {"--set", "watchNamespaces={team-a,team-b}", "--set", "labelSelector=shard=one"},
      {"--set", "rbac.secrets.clusterWide=true"},
      {"--set", "operator.replicas=2", "--set", "metricsAdapter.replicas=2", "--set",
       "operator.topologySpreadConstraints[0].maxSkew=1", "--set",
       "operator.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone", "--set",
       "operator.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway", "--set",
       "operator.priorityClassName=system-cluster-critical", "--set",
       "metricsAdapter.nodeSelector.pool=infra"},
      {"--set", "certificates.mode=generate"},
      {"--values", kSource + "/charts/deploy-values.yaml", "--include-crds"},
  };
  return v;
}

std::string describe(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += a + " ";
  return s.empty() ? "(defaults)" : s;
}

// --- RBAC ----------------------------------------------------------------------------------

// A rule's wildcard is allowed only as (a) resources exactly ["*/scale"] (any API group, from
// rbac.scaleTargetApiGroups), or (b) every resource of external.metrics.k8s.io, read-only, for
// the HPA controller.
void check_rule_wildcards(const json& role, const json& rule) {
  auto groups = strings(rule["apiGroups"]);
  auto resources = strings(rule["resources"]);
  auto verbs = strings(rule["verbs"]);
  INFO(role["kind"].get<std::string>() << " " << role["metadata"]["name"].get<std::string>() << " rule "
                                       << rule.dump());
  CHECK_FALSE(rule.contains("nonResourceURLs"));
  CHECK_FALSE(contains(verbs, "*"));
  CHECK_FALSE(resources.empty());
  CHECK_FALSE(verbs.empty());
  const bool scale_rule = resources == std::vector<std::string>{"*/scale"};
  const bool external_metrics = groups == std::vector<std::string>{"external.metrics.k8s.io"} &&
                                resources == std::vector<std::string>{"*"};
  for (const auto& r : resources) {
    if (r.find('*') == std::string::npos) continue;
    CHECK((scale_rule || external_metrics));
  }
  if (contains(groups, "*")) CHECK(scale_rule);
  if (scale_rule) CHECK(verbs == std::vector<std::string>{"get", "update", "patch"});
  if (external_metrics) CHECK(verbs == std::vector<std::string>{"get", "list", "watch"});
}

// Who may read Secrets where: (kind of grant, namespace or "*").
std::set<std::string> secret_grants(const std::vector<json>& docs) {
  std::set<std::string> out;
  for (const auto& role : docs) {
    const auto kind = role.value("kind", "");
    if (kind != "Role" && kind != "ClusterRole") continue;
    for (const auto& rule : role["rules"]) {
      auto groups = strings(rule["apiGroups"]);
      auto resources = strings(rule["resources"]);
      if (!contains(groups, "") && !contains(groups, "*")) continue;
      if (!contains(resources, "secrets") && !contains(resources, "*")) continue;
      // Reading named Secrets only (the operator's own certificate Secret) or writing without
      // reading is not a grant to read the namespace's Secrets.
      if (rule.contains("resourceNames")) continue;
      const auto verbs = strings(rule["verbs"]);
      if (!contains(verbs, "get") && !contains(verbs, "list") && !contains(verbs, "watch"))
        continue;
      out.insert(kind == "ClusterRole" ? "*" : role["metadata"]["namespace"].get<std::string>());
    }
  }
  return out;
}

// --- certificates --------------------------------------------------------------------------

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string b64decode(const json& value) {
  REQUIRE(value.is_string());
  const auto text = value.get<std::string>();
  std::unique_ptr<BIO, decltype(&BIO_free_all)> b64(BIO_new(BIO_f_base64()), BIO_free_all);
  BIO_set_flags(b64.get(), BIO_FLAGS_BASE64_NO_NL);
  BIO_push(b64.get(), BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::string out(text.size(), '\0');
  const int n = BIO_read(b64.get(), out.data(), static_cast<int>(out.size()));
  REQUIRE(n > 0);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

X509Ptr load_cert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  REQUIRE(cert != nullptr);
  return cert;
}

KeyPtr load_key(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  REQUIRE(key != nullptr);
  return key;
}

bool verifies(const std::string& ca_pem, const std::string& cert_pem) {
  auto ca = load_cert(ca_pem);
  auto cert = load_cert(cert_pem);
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  return X509_verify_cert(ctx.get()) == 1;
}

bool names_host(const std::string& cert_pem, const std::string& host) {
  auto cert = load_cert(cert_pem);
  return X509_check_host(cert.get(), host.data(), host.size(), 0, nullptr) == 1;
}

}  // namespace

TEST_CASE("every rendered document is a named object, unique per kind and namespace") {
  for (const auto& args : variations()) {
    INFO("values: " << describe(args));
    auto docs = render(args);
    REQUIRE(docs.size() >= 20);
    std::set<std::string> keys;
    for (const auto& d : docs) {
      INFO(d.dump().substr(0, 300));
      REQUIRE(d.is_object());
      CHECK_FALSE(d.value("apiVersion", "").empty());
      CHECK_FALSE(d.value("kind", "").empty());
      REQUIRE(d.contains("metadata"));
      CHECK_FALSE(d["metadata"].value("name", "").empty());
      auto key = d.value("apiVersion", "") + "/" + d.value("kind", "") + "/" +
                 d["metadata"].value("namespace", "") + "/" + d["metadata"].value("name", "");
      CHECK(keys.insert(key).second);
    }
    for (const auto* kind : {"Deployment", "ServiceAccount", "Service", "ClusterRole", "PodDisruptionBudget"})
      CHECK_FALSE(of_kind(docs, kind).empty());
    // Whatever the values, the API server verifies the adapter's certificate.
    for (const auto& apiservice : of_kind(docs, "APIService"))
      CHECK_FALSE(apiservice["spec"].contains("insecureSkipTLSVerify"));
  }
}

TEST_CASE("RBAC: no wildcard beyond */scale and the external metrics read, no cluster-wide Secret read by default") {
  for (const auto& args : variations()) {
    INFO("values: " << describe(args));
    auto docs = render(args);
    for (const auto* kind : {"Role", "ClusterRole"})
      for (const auto& role : of_kind(docs, kind)) {
        REQUIRE(role["rules"].is_array());
        for (const auto& rule : role["rules"]) check_rule_wildcards(role, rule);
      }
    // Every binding points at a role in the render or at one of the two standard ones.
    for (const auto* kind : {"RoleBinding", "ClusterRoleBinding"})
      for (const auto& b : of_kind(docs, kind)) {
        const auto ref_kind = b["roleRef"]["kind"].get<std::string>();
        const auto ref_name = b["roleRef"]["name"].get<std::string>();
        INFO(kind << " " << b["metadata"]["name"] << " -> " << ref_kind << " " << ref_name);
        const bool standard = ref_name == "system:auth-delegator" || ref_name == "extension-apiserver-authentication-reader";
        CHECK((standard || find(docs, ref_kind, ref_name) != nullptr));
        if (ref_kind == "Role" && !standard) {
          const auto* role = find(docs, "Role", ref_name);
          bool same_ns = false;
          for (const auto& r : of_kind(docs, "Role"))
            if (r["metadata"]["name"] == ref_name && r["metadata"]["namespace"] == b["metadata"]["namespace"]) same_ns = true;
          CHECK((role != nullptr && same_ns));
        }
      }
  }

  SECTION("defaults: Secrets only in the release namespace") {
    auto docs = render({});
    CHECK(secret_grants(docs) == std::set<std::string>{kNs});
  }
  SECTION("watch namespaces and extra namespaces get namespaced Roles, still nothing cluster-wide") {
    auto docs = render({"--set", "watchNamespaces={team-a,team-b}", "--set", "rbac.secrets.namespaces={vault}"});
    CHECK(secret_grants(docs) == std::set<std::string>{kNs, "team-a", "team-b", "vault"});
    const auto& op = *find(docs, "Deployment", "ebb-operator");
    CHECK(arg_value(args_of(op, "operator"), "--namespace") == "team-a,team-b");
    const auto& ad = *find(docs, "Deployment", "ebb-metrics-adapter");
    CHECK(arg_value(args_of(ad, "metrics-adapter"), "--namespace") == "team-a,team-b");
  }
  SECTION("cluster-wide Secret read only with the explicit opt-in") {
    auto docs = render({"--set", "rbac.secrets.clusterWide=true"});
    CHECK(secret_grants(docs) == std::set<std::string>{"*"});
    const auto* b = find(docs, "ClusterRoleBinding", "ebb-secret-reader");
    REQUIRE(b != nullptr);
    CHECK((*b)["subjects"].size() == 2);
  }
  SECTION("scale target groups can be narrowed") {
    auto docs = render({"--set", "rbac.scaleTargetApiGroups={apps,argoproj.io}"});
    for (const auto& role : of_kind(docs, "ClusterRole"))
      for (const auto& rule : role["rules"])
        if (strings(rule["resources"]) == std::vector<std::string>{"*/scale"})
          CHECK(strings(rule["apiGroups"]) == std::vector<std::string>{"apps", "argoproj.io"});
  }
  SECTION("the adapter lists and watches what cluster-reading triggers read; Secrets only where readable") {
    // The verbs a role grants on (group, resource).
    const auto verbs_on = [](const json& role, const std::string& group, const std::string& resource) {
      std::set<std::string> out;
      for (const auto& rule : role["rules"])
        if (contains(strings(rule["apiGroups"]), group) && contains(strings(rule["resources"]), resource))
          for (const auto& v : strings(rule["verbs"])) out.insert(v);
      return out;
    };
    const std::set<std::string> read = {"get", "list", "watch"};
    auto docs = render({"--set", "watchNamespaces={team-a}"});
    const auto* adapter = find(docs, "ClusterRole", "ebb-metrics-adapter");
    REQUIRE(adapter != nullptr);
    CHECK(verbs_on(*adapter, "", "pods") == read);
    CHECK(verbs_on(*adapter, "", "configmaps") == read);
    CHECK(verbs_on(*adapter, "discovery.k8s.io", "endpointslices") == read);
    CHECK(verbs_on(*adapter, "", "secrets").empty());
    // list/watch on Secrets: a Role per Secret namespace, bound to the adapter alone.
    std::set<std::string> watched;
    for (const auto& role : of_kind(docs, "Role"))
      if (verbs_on(role, "", "secrets").count("watch")) {
        CHECK(role["metadata"]["name"] == "ebb-metrics-adapter-secret-watcher");
        CHECK(verbs_on(role, "", "secrets") == std::set<std::string>{"list", "watch"});
        watched.insert(role["metadata"]["namespace"].get<std::string>());
      }
    CHECK(watched == std::set<std::string>{kNs, "team-a"});
    for (const auto& b : of_kind(docs, "RoleBinding"))
      if (b["metadata"]["name"] == "ebb-metrics-adapter-secret-watcher") {
        REQUIRE(b["subjects"].size() == 1);
        CHECK(b["subjects"][0]["name"] == "ebb-metrics-adapter");
      }
    const auto* op = find(docs, "ClusterRole", "ebb-operator");
    REQUIRE(op != nullptr);
    CHECK(verbs_on(*op, "", "pods").empty());
    // ScaledJobs are read for status.scaledjobs of the auth objects only.
    CHECK(verbs_on(*op, "keda.sh", "scaledjobs") == read);
    CHECK(verbs_on(*op, "keda.sh", "triggerauthentications/status") ==
          std::set<std::string>{"get", "patch"});
    CHECK(verbs_on(*op, "keda.sh", "clustertriggerauthentications/status") ==
          std::set<std::string>{"get", "patch"});
    // Cluster-wide only with the opt-in; none at all with adapterWatchVerbs=[].
    docs = render({"--set", "rbac.secrets.clusterWide=true"});
    const auto* cluster_watch = find(docs, "ClusterRole", "ebb-metrics-adapter-secret-watcher");
    REQUIRE(cluster_watch != nullptr);
    CHECK(verbs_on(*cluster_watch, "", "secrets") == std::set<std::string>{"list", "watch"});
    REQUIRE(find(docs, "ClusterRoleBinding", "ebb-metrics-adapter-secret-watcher") != nullptr);
    CHECK((*find(docs, "ClusterRoleBinding", "ebb-metrics-adapter-secret-watcher"))["subjects"].size() == 1);
    docs = render({"--set", "rbac.secrets.adapterWatchVerbs={}"});
    CHECK(find(docs, "Role", "ebb-metrics-adapter-secret-watcher") == nullptr);
    CHECK(secret_grants(docs) == std::set<std::string>{kNs});
  }
  SECTION("the adapter has delegated auth; the HPA controller reads external metrics") {
    auto docs = render({});
    const auto* deleg = find(docs, "ClusterRoleBinding", "ebb-metrics-adapter-auth-delegator");
    REQUIRE(deleg != nullptr);
    CHECK((*deleg)["roleRef"]["name"] == "system:auth-delegator");
    CHECK((*deleg)["subjects"][0]["name"] == "ebb-metrics-adapter");
    const auto* reader = find(docs, "RoleBinding", "ebb-metrics-adapter-auth-reader");
    REQUIRE(reader != nullptr);
    CHECK((*reader)["metadata"]["namespace"] == "kube-system");
    CHECK((*reader)["roleRef"]["name"] == "extension-apiserver-authentication-reader");
    const auto* hpa = find(docs, "ClusterRoleBinding", "ebb-hpa-external-metrics");
    REQUIRE(hpa != nullptr);
    CHECK((*hpa)["subjects"][0]["name"] == "horizontal-pod-autoscaler");
    CHECK((*hpa)["subjects"][0]["namespace"] == "kube-system");
    // The operator, not the adapter, writes HPAs (ARCHITECTURE.md "Who writes what").
    auto verbs_on = [&](const std::string& role, const std::string& resource) {
      std::set<std::string> out;
      for (const auto& rule : (*find(docs, "ClusterRole", role))["rules"])
        if (contains(strings(rule["resources"]), resource))
          for (const auto& v : strings(rule["verbs"])) out.insert(v);
      return out;
    };
    CHECK(verbs_on("ebb-operator", "horizontalpodautoscalers").count("create") == 1);
    CHECK(verbs_on("ebb-metrics-adapter", "horizontalpodautoscalers") == std::set<std::string>{"get", "list", "watch"});
    CHECK(verbs_on("ebb-metrics-adapter", "scaledobjects").count("update") == 0);
    CHECK(verbs_on("ebb-metrics-adapter", "scaledobjects/status").count("update") == 1);
    CHECK(verbs_on("ebb-operator", "scaledobjects/finalizers") == std::set<std::string>{"update"});
    // The ScaledJob loop runs in the adapter: it creates and trims Jobs and writes SJ status.
    CHECK(verbs_on("ebb-metrics-adapter", "scaledjobs") == std::set<std::string>{"get", "list", "watch"});
    CHECK(verbs_on("ebb-metrics-adapter", "scaledjobs/status").count("patch") == 1);
    CHECK(verbs_on("ebb-metrics-adapter", "jobs") ==
          std::set<std::string>{"create", "delete", "get", "list", "watch"});
  }
}

TEST_CASE("every pod spec passes the restricted Pod Security Standard") {
  for (const auto& args : variations()) {
    INFO("values: " << describe(args));
    auto docs = render(args);
    auto deployments = of_kind(docs, "Deployment");
    REQUIRE(deployments.size() == 2);
    for (const auto& d : deployments) {
      INFO(d["metadata"]["name"]);
      const auto& pod = d["spec"]["template"]["spec"];
      CHECK_FALSE(pod.value("hostNetwork", false));
      CHECK_FALSE(pod.value("hostPID", false));
      CHECK_FALSE(pod.value("hostIPC", false));
      const auto& psc = pod["securityContext"];
      CHECK(psc["runAsNonRoot"] == true);
      CHECK(psc["runAsUser"].get<long>() != 0);
      CHECK(psc["seccompProfile"]["type"] == "RuntimeDefault");
      for (const auto& v : pod["volumes"]) {
        CHECK_FALSE(v.contains("hostPath"));
      }
      for (const auto& c : pod["containers"]) {
        INFO(c["name"]);
        const auto& sc = c["securityContext"];
        CHECK(sc["allowPrivilegeEscalation"] == false);
        CHECK(sc["readOnlyRootFilesystem"] == true);
        CHECK(sc["runAsNonRoot"] == true);
        CHECK(sc.value("privileged", false) == false);
        CHECK(strings(sc["capabilities"]["drop"]) == std::vector<std::string>{"ALL"});
        CHECK_FALSE(sc["capabilities"].contains("add"));
        CHECK(sc["seccompProfile"]["type"] == "RuntimeDefault");
        const bool host_port = c.contains("ports") && std::any_of(c["ports"].begin(), c["ports"].end(),
                                                                   [](const json& p) { return p.contains("hostPort"); });
        CHECK_FALSE(host_port);
        CHECK(c.contains("resources"));
        CHECK(c.contains("livenessProbe"));
        CHECK(c.contains("readinessProbe"));
      }
    }
  }
  SECTION("a component override merges over the shared settings instead of replacing them") {
    auto docs = render({"--set", "operator.securityContext.runAsUser=1001"});
    const auto& sc = container(*find(docs, "Deployment", "ebb-operator"), "operator")["securityContext"];
    CHECK(sc["runAsUser"] == 1001);
    CHECK(sc["readOnlyRootFilesystem"] == true);
  }
}

TEST_CASE("deployments: flags, ports, probes and Services agree") {
  auto docs = render({});
  const auto& op = *find(docs, "Deployment", "ebb-operator");
  const auto& ad = *find(docs, "Deployment", "ebb-metrics-adapter");
  auto op_args = args_of(op, "operator");
  auto ad_args = args_of(ad, "metrics-adapter");
  CHECK(arg_value(op_args, "--health-probe-bind-address") == ":8081");
  CHECK(arg_value(op_args, "--metrics-bind-address") == ":8080");
  CHECK(arg_value(op_args, "--webhook-port") == "9443");
  CHECK(arg_value(op_args, "--leader-elect") == "true");
  CHECK(arg_value(op_args, "--leader-election-namespace") == kNs);
  CHECK(arg_value(op_args, "--namespace").empty());  // all namespaces by default
  CHECK(arg_value(ad_args, "--secure-port") == "6443");
  CHECK(arg_value(ad_args, "--metrics-bind-address") == ":9022");
  CHECK(arg_value(ad_args, "--authorization-always-allow-paths") == "/healthz,/readyz,/livez");

  auto port_of = [](const json& c, const std::string& name) {
    for (const auto& p : c["ports"])
      if (p["name"] == name) return p["containerPort"].get<int>();
    return -1;
  };
  const auto& opc = container(op, "operator");
  const auto& adc = container(ad, "metrics-adapter");
  CHECK(port_of(opc, "health") == 8081);
  CHECK(port_of(opc, "webhook") == 9443);
  CHECK(port_of(adc, "https") == 6443);
  CHECK(port_of(adc, "metrics") == 9022);
  CHECK(opc["livenessProbe"]["httpGet"]["path"] == "/healthz");
  CHECK(opc["readinessProbe"]["httpGet"]["path"] == "/readyz");
  CHECK(opc["readinessProbe"]["httpGet"]["port"] == "health");
  CHECK(adc["readinessProbe"]["httpGet"]["scheme"] == "HTTPS");
  CHECK(adc["readinessProbe"]["httpGet"]["port"] == "https");

  // Services select the right pods and target named ports that exist.
  auto labels_match = [](const json& selector, const json& labels) {
    for (auto it = selector.begin(); it != selector.end(); ++it)
      if (!labels.contains(it.key()) || labels[it.key()] != it.value()) return false;
    return true;
  };
  struct Expect {
    std::string service;
    const json* deployment;
    const json* container;
    int port;
    std::string target;
  };
  for (const auto& e : std::vector<Expect>{{"ebb-metrics-adapter", &ad, &adc, 443, "https"},
                                           {"ebb-webhooks", &op, &opc, 443, "webhook"},
                                           {"ebb-operator-metrics", &op, &opc, 8080, "metrics"},
                                           {"ebb-metrics-adapter-metrics", &ad, &adc, 9022, "metrics"}}) {
    INFO(e.service);
    const auto* svc = find(docs, "Service", e.service);
    REQUIRE(svc != nullptr);
    CHECK(labels_match((*svc)["spec"]["selector"], (*e.deployment)["spec"]["template"]["metadata"]["labels"]));
    CHECK(labels_match((*e.deployment)["spec"]["selector"]["matchLabels"],
                       (*e.deployment)["spec"]["template"]["metadata"]["labels"]));
    CHECK((*svc)["spec"]["ports"][0]["port"] == e.port);
    CHECK((*svc)["spec"]["ports"][0]["targetPort"] == e.target);
    CHECK(port_of(*e.container, e.target) > 0);
  }
  // Both components' selectors differ, so a Service never reaches the other process.
  CHECK_FALSE(labels_match(find(docs, "Service", "ebb-webhooks")->at("spec").at("selector"),
                           ad["spec"]["template"]["metadata"]["labels"]));

  SECTION("scheduling values reach the pod spec") {
    auto d2 = render(variations()[8]);
    const auto& op2 = *find(d2, "Deployment", "ebb-operator");
    CHECK(op2["spec"]["replicas"] == 2);
    const auto& pod = op2["spec"]["template"]["spec"];
    CHECK(pod["priorityClassName"] == "system-cluster-critical");
    REQUIRE(pod["topologySpreadConstraints"].size() == 1);
    CHECK(pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] ==
          "operator");
    CHECK((*find(d2, "Deployment", "ebb-metrics-adapter"))["spec"]["template"]["spec"]["nodeSelector"]["pool"] ==
          "infra");
  }
  SECTION("PDBs select their own component") {
    for (const auto* name : {"ebb-operator", "ebb-metrics-adapter"}) {
      const auto* pdb = find(docs, "PodDisruptionBudget", name);
      REQUIRE(pdb != nullptr);
      const auto& dep = *find(docs, "Deployment", name);
      CHECK(labels_match((*pdb)["spec"]["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]));
      CHECK((*pdb)["spec"]["maxUnavailable"] == 1);
    }
    auto d2 = render({"--set", "operator.podDisruptionBudget.minAvailable=1"});
    const auto& spec = (*find(d2, "PodDisruptionBudget", "ebb-operator"))["spec"];
    CHECK(spec["minAvailable"] == 1);
    CHECK_FALSE(spec.contains("maxUnavailable"));
  }
}

// The args the chart passes must parse in the real binaries: a flag the binary does not take (or
// takes in another form, e.g. a comma list) would crash-loop the pod on install. Each binary runs
// with the rendered args plus a kubeconfig that does not exist, so it gets past flag parsing
// (a usage error exits 2) and stops at loading the cluster configuration (exit 1, logged).
#if defined(EBB_OPERATOR_BIN) && defined(EBB_ADAPTER_BIN)
TEST_CASE("every rendered Deployment's args parse in the real ebb-operator and ebb-metrics-adapter") {
  ebb::test::TempDir dir("ebb-chart-args");
  const std::string missing_kubeconfig = dir.path() + "/no-such-kubeconfig";
  const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> binaries{
      {"ebb-operator", {"operator", EBB_OPERATOR_BIN}},
      {"ebb-metrics-adapter", {"metrics-adapter", EBB_ADAPTER_BIN}},
  };
  auto extra = variations();
  extra.push_back({"--set", "metricsAdapter.requestheaderAllowedNames={front-proxy-client,aggregator}", "--set",
                   "metricsAdapter.extraArgs={--log-level=debug}", "--set", "operator.extraArgs={--log-level=debug}"});
  for (const auto& values : extra) {
    INFO("values: " << describe(values));
    auto docs = render(values);
    for (const auto& [deployment, binary] : binaries) {
      const auto* d = find(docs, "Deployment", deployment);
      REQUIRE(d != nullptr);
      auto args = args_of(*d, binary.first);
      REQUIRE_FALSE(args.empty());
      std::vector<std::string> argv{binary.second};
      argv.insert(argv.end(), args.begin(), args.end());
      argv.push_back("--kubeconfig=" + missing_kubeconfig);
      // Ports the chart picks may be taken on this machine; the binaries bind only after loading
      // the configuration, which fails first.
      auto r = ebb::test::run_command(argv, std::chrono::seconds(20));
      INFO(binary.first << " " << describe(args) << "\nstderr: " << r.err << "\nstdout: " << r.out);
      CHECK(r.exit_code == 1);
      CHECK(r.err.find("cannot load the Kubernetes client configuration") != std::string::npos);
    }
  }
}
#endif

TEST_CASE("the webhook registration uses KEDA's paths and the configured failure policy") {
  auto docs = render({});
  auto vwcs = of_kind(docs, "ValidatingWebhookConfiguration");
  REQUIRE(vwcs.size() == 1);
  std::set<std::string> paths;
  for (const auto& w : vwcs[0]["webhooks"]) {
    paths.insert(w["clientConfig"]["service"]["path"].get<std::string>());
    CHECK(w["failurePolicy"] == "Ignore");
    CHECK(w["sideEffects"] == "None");
    CHECK(w["timeoutSeconds"] == 10);
    CHECK(strings(w["admissionReviewVersions"]) == std::vector<std::string>{"v1"});
    CHECK(w["clientConfig"]["service"]["name"] == "ebb-webhooks");
    CHECK(w["clientConfig"]["service"]["namespace"] == kNs);
    CHECK(strings(w["rules"][0]["operations"]) == std::vector<std::string>{"CREATE", "UPDATE"});
  }
  CHECK(paths == std::set<std::string>{"/validate-keda-sh-v1alpha1-scaledobject",
                                       "/validate-keda-sh-v1alpha1-scaledjob",
                                       "/validate-keda-sh-v1alpha1-triggerauthentication",
                                       "/validate-keda-sh-v1alpha1-clustertriggerauthentication"});
  auto fail = render({"--set", "webhooks.failurePolicy=Fail", "--set", "webhooks.timeoutSeconds=5"});
  // Bound first: a range over a member of of_kind()'s temporary would dangle.
  const auto fail_vwc = of_kind(fail, "ValidatingWebhookConfiguration")[0];
  for (const auto& w : fail_vwc["webhooks"]) {
    CHECK(w["failurePolicy"] == "Fail");
    CHECK(w["timeoutSeconds"] == 5);
  }
  auto bad = run_renderer({"--set", "webhooks.failurePolicy=Sometimes"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("webhooks.failurePolicy must be Ignore or Fail"));
  CHECK(of_kind(render({"--set", "webhooks.enabled=false"}), "ValidatingWebhookConfiguration").empty());
}

TEST_CASE("certificates: generated mode shares one CA between the Secrets, the APIService and the webhook") {
  auto docs = render({"--set", "certificates.mode=generate"});
  const auto* ad_secret = find(docs, "Secret", "ebb-metrics-adapter-tls");
  const auto* wh_secret = find(docs, "Secret", "ebb-webhooks-tls");
  REQUIRE(ad_secret != nullptr);
  REQUIRE(wh_secret != nullptr);
  CHECK((*ad_secret)["type"] == "kubernetes.io/tls");
  const auto ca = b64decode((*ad_secret)["data"]["ca.crt"]);
  CHECK(b64decode((*wh_secret)["data"]["ca.crt"]) == ca);
  const auto apiservice = of_kind(docs, "APIService");
  REQUIRE(apiservice.size() == 1);
  CHECK(apiservice[0]["metadata"]["name"] == "v1beta1.external.metrics.k8s.io");
  CHECK(apiservice[0]["spec"]["group"] == "external.metrics.k8s.io");
  CHECK(apiservice[0]["spec"]["version"] == "v1beta1");
  CHECK(apiservice[0]["spec"]["service"]["name"] == "ebb-metrics-adapter");
  CHECK(apiservice[0]["spec"]["service"]["port"] == 443);
  CHECK_FALSE(apiservice[0]["spec"].contains("insecureSkipTLSVerify"));
  CHECK(b64decode(apiservice[0]["spec"]["caBundle"]) == ca);
  const auto vwc = of_kind(docs, "ValidatingWebhookConfiguration")[0];
  for (const auto& w : vwc["webhooks"]) CHECK(b64decode(w["clientConfig"]["caBundle"]) == ca);

  for (const auto& [secret, service] : {std::pair{ad_secret, std::string("ebb-metrics-adapter")},
                                        std::pair{wh_secret, std::string("ebb-webhooks")}}) {
    INFO(service);
    const auto cert = b64decode((*secret)["data"]["tls.crt"]);
    CHECK(verifies(ca, cert));
    CHECK(names_host(cert, service + "." + kNs + ".svc"));
    CHECK(names_host(cert, service + "." + kNs + ".svc.cluster.local"));
    CHECK_FALSE(names_host(cert, "other." + kNs + ".svc"));
    auto x509 = load_cert(cert);
    auto key = load_key(b64decode((*secret)["data"]["tls.key"]));
    CHECK(X509_check_private_key(x509.get(), key.get()) == 1);
  }
  // The adapter's certificate is not the webhook's.
  CHECK((*ad_secret)["data"]["tls.key"] != (*wh_secret)["data"]["tls.key"]);
  // Deployments mount the Secrets they were issued for and point the processes at them.
  const auto& ad = *find(docs, "Deployment", "ebb-metrics-adapter");
  const auto& op = *find(docs, "Deployment", "ebb-operator");
  auto secret_volume = [](const json& d) {
    for (const auto& v : d["spec"]["template"]["spec"]["volumes"])
      if (v.contains("secret")) return v["secret"]["secretName"].get<std::string>();
    return std::string();
  };
  CHECK(secret_volume(ad) == "ebb-metrics-adapter-tls");
  CHECK(secret_volume(op) == "ebb-webhooks-tls");
  CHECK(arg_value(args_of(ad, "metrics-adapter"), "--tls-cert-file") == "/etc/ebb/tls/tls.crt");
  CHECK(arg_value(args_of(op, "operator"), "--webhook-key-file") == "/etc/ebb/webhook-tls/tls.key");
}

TEST_CASE("certificates: cert-manager mode holds no key and lets cainjector own caBundle") {
  auto docs = render({"--set", "certificates.mode=certManager"});
  CHECK(of_kind(docs, "Secret").empty());
  const auto apiservice = of_kind(docs, "APIService")[0];
  CHECK_FALSE(apiservice["spec"].contains("caBundle"));
  CHECK_FALSE(apiservice["spec"].contains("insecureSkipTLSVerify"));
  const auto vwc = of_kind(docs, "ValidatingWebhookConfiguration")[0];
  for (const auto& w : vwc["webhooks"]) CHECK_FALSE(w["clientConfig"].contains("caBundle"));
  // inject-ca-from names a Certificate in the render whose Secret is the one the pod mounts.
  for (const auto& [obj, deployment] : {std::pair{apiservice, std::string("ebb-metrics-adapter")},
                                        std::pair{vwc, std::string("ebb-operator")}}) {
    const auto ref = obj["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].get<std::string>();
    REQUIRE(ref.rfind(kNs + "/", 0) == 0);
    const auto* cert = find(docs, "Certificate", ref.substr(kNs.size() + 1));
    REQUIRE(cert != nullptr);
    std::string mounted;
    for (const auto& v : (*find(docs, "Deployment", deployment))["spec"]["template"]["spec"]["volumes"])
      if (v.contains("secret")) mounted = v["secret"]["secretName"];
    CHECK((*cert)["spec"]["secretName"] == mounted);
    const auto issuer = (*cert)["spec"]["issuerRef"]["name"].get<std::string>();
    CHECK(find(docs, "Issuer", issuer) != nullptr);
  }
  // A given issuer replaces the chart's private CA.
  auto given = render({"--set", "certificates.mode=certManager", "--set", "certificates.certManager.issuerRef.name=corp-ca",
                       "--set", "certificates.certManager.issuerRef.kind=ClusterIssuer"});
  CHECK(of_kind(given, "Issuer").empty());
  for (const auto& c : of_kind(given, "Certificate")) CHECK(c["spec"]["issuerRef"]["name"] == "corp-ca");
}

TEST_CASE("certificates: supplied and self-signed modes") {
  SECTION("supplied: the chart renders no Secret and trusts the given CA") {
    auto docs = render(variations()[3]);
    CHECK(of_kind(docs, "Secret").empty());
    CHECK(of_kind(docs, "APIService")[0]["spec"]["caBundle"] == "Y2E=");
    std::string mounted;
    for (const auto& v : (*find(docs, "Deployment", "ebb-operator"))["spec"]["template"]["spec"]["volumes"])
      if (v.contains("secret")) mounted = v["secret"]["secretName"];
    CHECK(mounted == "my-webhook-tls");
    auto missing = run_renderer({"--set", "certificates.mode=supplied", "--set",
                                 "certificates.supplied.metricsAdapterSecretName=a", "--set",
                                 "certificates.supplied.webhookSecretName=b"});
    CHECK(missing.exit_code != 0);
    CHECK_THAT(missing.err, Catch::Contains("certificates.supplied.caBundle"));
  }
  SECTION("selfSigned, which skipped TLS verification, is refused with what to use instead") {
    auto removed = run_renderer({"--set", "certificates.mode=selfSigned"});
    CHECK(removed.exit_code != 0);
    CHECK_THAT(removed.err, Catch::Contains("certificates.mode=selfSigned was removed"));
    CHECK_THAT(removed.err, Catch::Contains("use operator"));
  }
  SECTION("an unknown mode is refused with the list of modes") {
    auto bad = run_renderer({"--set", "certificates.mode=acme"});
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.err, Catch::Contains("certificates.mode must be one of operator, generate, "
                                        "supplied, certManager"));
  }
}

TEST_CASE("optional parts: APIService off, ServiceMonitor, dashboard, NOTES") {
  SECTION("apiService.enabled=false leaves external.metrics.k8s.io to another adapter") {
    auto docs = render({"--set", "apiService.enabled=false"});
    CHECK(of_kind(docs, "APIService").empty());
    CHECK(find(docs, "ClusterRole", "ebb-external-metrics-reader") == nullptr);
    CHECK(find(docs, "Deployment", "ebb-metrics-adapter") != nullptr);
    auto notes = run_renderer({"--set", "apiService.enabled=false", "--notes"});
    REQUIRE(notes.exit_code == 0);
    CHECK_THAT(notes.out, Catch::Contains("does not register v1beta1.external.metrics.k8s.io"));
  }
  SECTION("ServiceMonitors select the metrics Services by their metrics port") {
    auto none = render({});
    CHECK(of_kind(none, "ServiceMonitor").empty());
    CHECK(of_kind(none, "ConfigMap").empty());
    auto docs = render(variations()[5]);
    auto monitors = of_kind(docs, "ServiceMonitor");
    REQUIRE(monitors.size() == 2);
    for (const auto& m : monitors) {
      const auto& sel = m["spec"]["selector"]["matchLabels"];
      int matched = 0;
      for (const auto& svc : of_kind(docs, "Service")) {
        bool ok = true;
        for (auto it = sel.begin(); it != sel.end(); ++it)
          if (svc["metadata"]["labels"].value(it.key(), "") != it.value()) ok = false;
        if (!ok) continue;
        ++matched;
        CHECK(svc["spec"]["ports"][0]["name"] == m["spec"]["endpoints"][0]["port"]);
      }
      CHECK(matched == 1);
    }
    auto dashboards = of_kind(docs, "ConfigMap");
    REQUIRE(dashboards.size() == 1);
    CHECK(dashboards[0]["metadata"]["labels"]["grafana_dashboard"] == "1");
    auto dashboard = json::parse(dashboards[0]["data"]["ebb.json"].get<std::string>());
    CHECK(dashboard["panels"].size() >= 4);
    CHECK_THAT(dashboards[0]["data"]["ebb.json"].get<std::string>(), Catch::Contains("keda_scaler_metrics_value"));
  }
  SECTION("NOTES warn when Secrets are readable only in the release namespace") {
    auto notes = run_renderer({"--notes"});
    REQUIRE(notes.exit_code == 0);
    CHECK_THAT(notes.out, Catch::Contains("Secrets are readable only in " + kNs));
    auto quiet = run_renderer({"--notes", "--set", "rbac.secrets.clusterWide=true"});
    CHECK_THAT(quiet.out, !Catch::Contains("Secrets are readable only"));
  }
}

TEST_CASE("the test API server accepts every rendered object") {
  for (const auto& args : variations()) {
    INFO("values: " << describe(args));
    ebb::testapi::TestApiServer server;
    ebb::kube::Config config;
    config.server = server.url();
    ebb::kube::Client client(config);

    auto create = [&](const json& obj) {
      auto resource = client.discovery().resource_of(obj);
      INFO(obj["kind"] << " " << obj["metadata"]["name"] << ": " << (resource.ok() ? "" : resource.error().message));
      REQUIRE(resource.ok());
      auto created = client.create(*resource, obj);
      INFO((created.ok() ? "" : created.error().message));
      REQUIRE(created.ok());
      auto read = client.get(*resource, obj["metadata"].value("namespace", ""), obj["metadata"]["name"].get<std::string>());
      REQUIRE(read.ok());
      CHECK((*read)["kind"] == obj["kind"]);
      if (obj.contains("spec")) CHECK((*read)["spec"] == obj["spec"]);
    };

    // CRDs first (the chart's and the third-party kinds the variations use), then namespaces.
    for (const auto& entry : fs::directory_iterator(kSource + "/charts/ebb/crds"))
      if (entry.path().extension() == ".yaml")
        for (const auto& crd : parse_stream(ebb::test::read_file(entry.path().string()))) create(crd);
    for (const auto& crd : parse_stream(ebb::test::read_file(kSource + "/tests/chart/data/third-party-crds.yaml")))
      create(crd);
    auto docs = render(args);
    std::set<std::string> namespaces{kNs, "team-a", "team-b"};
    for (const auto& d : docs)
      if (d["kind"] == "Namespace") namespaces.erase(d["metadata"]["name"].get<std::string>());
    for (const auto& ns : namespaces) create(json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    std::size_t created = 0;
    for (const auto& d : docs) {
      if (d["kind"] == "CustomResourceDefinition") continue;  // already created above
      create(d);
      ++created;
    }
    CHECK(created >= 20);
  }
}

TEST_CASE(
    "deploy/ebb.yaml is the chart's render with charts/deploy-values.yaml, no key, no "
    "cert-manager") {
  auto fresh = ebb::test::run_command({"bash", kSource + "/scripts/render-deploy.sh", "--renderer", kRenderer, "--stdout"},
                                      std::chrono::seconds(60));
  INFO(fresh.err);
  REQUIRE(fresh.exit_code == 0);
  const auto committed = ebb::test::read_file(kSource + "/deploy/ebb.yaml");
  INFO("deploy/ebb.yaml is stale: run `bash scripts/render-deploy.sh`");
  CHECK(committed == fresh.out);
  CHECK(committed.find("tls.key:") == std::string::npos);
  CHECK(committed.find("PRIVATE KEY") == std::string::npos);
  auto docs = parse_stream(committed);
  CHECK(of_kind(docs, "Secret").empty());
  CHECK(of_kind(docs, "Namespace").size() == 1);
  CHECK(of_kind(docs, "CustomResourceDefinition").size() == 4);
  // Nothing kubectl cannot apply on a bare cluster: no cert-manager objects, and TLS verified.
  CHECK(of_kind(docs, "Certificate").empty());
  CHECK(of_kind(docs, "Issuer").empty());
  CHECK(committed.find("cert-manager.io") == std::string::npos);
  CHECK(committed.find("insecureSkipTLSVerify") == std::string::npos);
  // deploy/ holds manifests only (kubectl apply -f deploy/ reads every .yaml there).
  for (const auto& e : fs::directory_iterator(kSource + "/deploy")) {
    const auto ext = e.path().extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    INFO(e.path().filename().string() << " in deploy/ is not a manifest");
    CHECK(e.path().filename() == "ebb.yaml");
  }
}

TEST_CASE("certificates: operator mode (default) has the operator make, rotate and inject them") {
  auto docs = render({});
  CHECK(of_kind(docs, "Secret").empty());
  CHECK(of_kind(docs, "Certificate").empty());
  const auto apiservice = of_kind(docs, "APIService")[0];
  CHECK_FALSE(apiservice["spec"].contains("caBundle"));  // the operator's to set
  CHECK_FALSE(apiservice["spec"].contains("insecureSkipTLSVerify"));
  const auto vwc = of_kind(docs, "ValidatingWebhookConfiguration")[0];
  for (const auto& w : vwc["webhooks"]) CHECK_FALSE(w["clientConfig"].contains("caBundle"));

  const auto& op = *find(docs, "Deployment", "ebb-operator");
  const auto& ad = *find(docs, "Deployment", "ebb-metrics-adapter");
  const auto op_args = args_of(op, "operator");
  CHECK(contains(op_args, "--enable-cert-rotation"));
  CHECK(contains(op_args, "--webhook-cert-optional"));
  CHECK(arg_value(op_args, "--cert-secret-name") == "ebb-certs");
  CHECK(arg_value(op_args, "--cert-service") == "ebb-metrics-adapter,ebb-webhooks");
  CHECK(arg_value(op_args, "--cert-apiservice-name") == apiservice["metadata"]["name"]);
  CHECK(arg_value(op_args, "--cert-webhook-configuration-name") == vwc["metadata"]["name"]);
  CHECK(arg_value(op_args, "--cert-renew-before") == "2160h");
  CHECK(contains(args_of(ad, "metrics-adapter"), "--tls-cert-optional"));
  // Both mount the operator's Secret, optional (it does not exist before the operator runs), and
  // only the serving pair: the CA key never lands in a file.
  for (const auto* d : {&op, &ad}) {
    INFO((*d)["metadata"]["name"]);
    bool mounted = false;
    for (const auto& v : (*d)["spec"]["template"]["spec"]["volumes"]) {
      if (!v.contains("secret")) continue;
      mounted = true;
      CHECK(v["secret"]["secretName"] == "ebb-certs");
      CHECK(v["secret"]["optional"] == true);
      std::set<std::string> keys;
      for (const auto& item : v["secret"]["items"]) keys.insert(item["key"].get<std::string>());
      CHECK(keys == std::set<std::string>{"tls.crt", "tls.key"});
    }
    CHECK(mounted);
  }
  // RBAC: the operator may write its Secret and the two caBundles, by name.
  const auto* role = find(docs, "Role", "ebb-operator-certs");
  REQUIRE(role != nullptr);
  bool update_by_name = false;
  for (const auto& rule : (*role)["rules"])
    if (contains(strings(rule["verbs"]), "update"))
      update_by_name = strings(rule["resourceNames"]) == std::vector<std::string>{"ebb-certs"};
  CHECK(update_by_name);
  std::set<std::string> registrations;
  for (const auto& rule : (*find(docs, "ClusterRole", "ebb-operator"))["rules"])
    for (const auto& r : strings(rule["resources"]))
      if (r == "apiservices" || r == "validatingwebhookconfigurations")
        for (const auto& n : strings(rule["resourceNames"])) registrations.insert(r + "/" + n);
  CHECK(registrations == std::set<std::string>{"apiservices/v1beta1.external.metrics.k8s.io",
                                               "validatingwebhookconfigurations/ebb-validation"});
  // Turning the registrations off leaves nothing to patch.
  auto off = render({"--set", "apiService.enabled=false", "--set", "webhooks.enabled=false"});
  const auto off_args = args_of(*find(off, "Deployment", "ebb-operator"), "operator");
  CHECK(contains(off_args, "--cert-apiservice-name="));
  CHECK(contains(off_args, "--cert-webhook-configuration-name="));
}

TEST_CASE("the chart's crds/ are the repository's crds/, file for file") {
  const std::vector<std::string> expected{"keda.sh_clustertriggerauthentications.yaml", "keda.sh_scaledjobs.yaml",
                                          "keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml"};
  auto names_in = [](const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".yaml") out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto chart = names_in(kSource + "/charts/ebb/crds");
  CHECK(chart == expected);
  CHECK(names_in(kSource + "/crds") == chart);
  for (const auto& name : chart) {
    INFO(name << " differs: copy crds/" << name << " to charts/ebb/crds/");
    CHECK(ebb::test::read_file(kSource + "/charts/ebb/crds/" + name) == ebb::test::read_file(kSource + "/crds/" + name));
  }
}
