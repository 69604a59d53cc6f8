#include "harness.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <thread>

#include "ebb/api/decode.h"
#include "ebb/net/http_client.h"
#include "ebb/process/runtime.h"
#include "ebb/strings.h"

#ifndef EBB_OPERATOR_BIN
#error "EBB_OPERATOR_BIN must name the ebb-operator executable"
#endif
#ifndef EBB_SOURCE_DIR
#error "EBB_SOURCE_DIR must name the source tree (for crds/)"
#endif

namespace ebb::systest {
namespace fs = std::filesystem;


namespace {

std::vector<fs::path> crd_files() {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(EBB_SOURCE_DIR) / "crds";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Splits a YAML stream on document separators (the CRD files are plain, no block scalars with
// '---' lines in them) and converts each document.
std::vector<Object> yaml_documents(const std::string& text, const std::string& origin) {
  std::vector<Object> out;
  std::istringstream in(text);
  std::string line, current;
  auto flush = [&] {
    bool blank = current.find_first_not_of(" \t\r\n") == std::string::npos;
    if (!blank) {
      auto json = api::yaml_to_json(current);
      if (!json) FAIL(origin << ": cannot parse a YAML document");
      if (json->is_object()) out.push_back(*json);
    }
    current.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("---", 0) == 0) {
      flush();
      continue;
    }
    current += line + "\n";
  }
  flush();
  return out;
}

testapi::TestApiServerOptions server_options(const ClusterOptions& cluster) {
  testapi::TestApiServerOptions options;
  options.preregister_keda = cluster.install_crds && crd_files().empty();
  options.access_policy = cluster.access_policy;
  options.extension_apiserver_authentication = cluster.extension_apiserver_authentication;
  return options;
}

}  // namespace

std::string real_cluster_kubeconfig() {
  const char* kubeconfig = std::getenv("EBB_TEST_KUBECONFIG");
  return kubeconfig == nullptr ? "" : kubeconfig;
}

std::vector<std::string> wrapped(const char* variable, std::vector<std::string> argv) {
  const char* prefix = std::getenv(variable);
  if (prefix == nullptr || *prefix == '\0') return argv;
  std::vector<std::string> out;
  for (const auto& word : ebb::split(prefix, ' '))
    if (!word.empty()) out.push_back(word);
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::unique_ptr<kube::Client> Cluster::new_client(kube::RestOptions options) const {
  return std::make_unique<kube::Client>(config_, std::move(options));
}

Cluster::Cluster() : Cluster(ClusterOptions{}) {}

Cluster::Cluster(ClusterOptions options) : install_crds_(options.install_crds) {
  kubeconfig_ = real_cluster_kubeconfig();
  if (!kubeconfig_.empty()) {
    auto config = kube::load_kubeconfig({kubeconfig_});
    if (!config) FAIL("EBB_TEST_KUBECONFIG: " << config.error().message);
    config_ = *config;
  } else if (!options.server_url.empty()) {
    external_ = true;
    config_.server = options.server_url;
    config_.token = kube::TokenSource::fixed("test-token");
  } else {
    server_ = std::make_unique<testapi::TestApiServer>(server_options(options));
    config_.server = server_->url();
    config_.token = kube::TokenSource::fixed("test-token");
  }
  ns_ = "ebb-sys-" + ebb::process::random_suffix();
  config_.namespace_name = ns_;
  client_ = new_client();
  prepare_server();
  if (!real()) {
    kubeconfig_ = dir_.path() + "/kubeconfig";
    std::ofstream out(kubeconfig_);
    out << "apiVersion: v1\nkind: Config\n"
        << "clusters:\n- name: test\n  cluster:\n    server: " << config_.server << "\n"
        << "users:\n- name: test\n  user:\n    token: test-token\n"
        << "contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: "
        << ns() << "\n"
        << "current-context: test\n";
  }
}

void Cluster::prepare_server() {
  auto created = client_->create(kube::resources::namespaces(),
                                 Object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}});
  if (!created) FAIL("create namespace " << ns_ << ": " << created.error().message);
  if (real()) {
    auto crd = client_->get(kube::resources::custom_resource_definitions(), "", "scaledobjects.keda.sh");
    if (!crd) FAIL("EBB_TEST_KUBECONFIG: the keda.sh CRDs are not installed (kubectl apply --server-side -f crds/): "
                   << crd.error().message);
  } else if (install_crds_) {
    install_crds();
  }
}

Cluster::~Cluster() {
  if (client_) (void)client_->remove(kube::resources::namespaces(), "", ns_);
}

std::vector<Object> crd_documents() {
  std::vector<Object> crds;
  for (const auto& file : crd_files()) {
    for (auto& doc : yaml_documents(test::read_file(file.string()), file.filename().string()))
      if (doc.value("kind", "") == "CustomResourceDefinition") crds.push_back(std::move(doc));
  }
  return crds;
}

void Cluster::install_crds() {
  const auto crds = crd_documents();
  if (crds.empty()) return;  // preregister_keda serves keda.sh without CRDs
  for (const auto& crd : crds) {
    auto created = client_->create(kube::resources::custom_resource_definitions(), crd);
    if (!created && created.error().code != 409)
      FAIL("install " << crd["metadata"].value("name", "") << ": " << created.error().message);
  }
  // The resources are served once discovery lists them.
  eventually("keda.sh/v1alpha1 served after installing crds/", [&] {
    auto rest = client_->rest().call({.method = "GET", .path = "/apis/keda.sh/v1alpha1"});
    return rest.ok() && rest->body.find("\"scaledobjects\"") != std::string::npos &&
           rest->body.find("\"clustertriggerauthentications\"") != std::string::npos;
  });
}

Object Cluster::create(const kube::Resource& resource, const Object& object) {
  Object o = object;
  if (resource.namespaced) o["metadata"]["namespace"] = ns();
  auto created = client_->create(resource, o);
  if (!created) FAIL("create " << resource.resource << " " << o["metadata"].value("name", "") << ": "
                               << created.error().message);
  return *created;
}

std::optional<Object> Cluster::get(const kube::Resource& resource, const std::string& name) {
  auto got = client_->get(resource, resource.namespaced ? ns() : "", name);
  if (got) return *got;
  if (!got.error().not_found()) FAIL("get " << resource.resource << " " << name << ": " << got.error().message);
  return std::nullopt;
}

std::vector<Object> Cluster::list(const kube::Resource& resource) {
  auto got = client_->list_all(resource, resource.namespaced ? ns() : "");
  if (!got) FAIL("list " << resource.resource << ": " << got.error().message);
  return got->items;
}

Object Cluster::modify(const kube::Resource& resource, const std::string& name,
                       const std::function<void(Object&)>& change) {
  kube::ReadModifyWriteOptions options;
  options.attempts = 20;
  auto written = client_->read_modify_write(
      resource, resource.namespaced ? ns() : "", name,
      [&](Object& o) {
        change(o);
        return true;
      },
      options);
  if (!written) FAIL("update " << resource.resource << " " << name << ": " << written.error().message);
  return *written;
}

void Cluster::remove(const kube::Resource& resource, const std::string& name) {
  auto removed = client_->remove(resource, resource.namespaced ? ns() : "", name);
  if (!removed && !removed.error().not_found())
    FAIL("delete " << resource.resource << " " << name << ": " << removed.error().message);
}

Object Cluster::create_deployment(const std::string& name, int replicas) {
  const Object labels = {{"app", name}};
  return create(kube::resources::deployments(),
                {{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", {{"name", name}}},
                 {"spec",
                  {{"replicas", replicas},
                   {"selector", {{"matchLabels", labels}}},
                   {"template",
                    {{"metadata", {{"labels", labels}}},
                     {"spec", {{"containers", Object::array({{{"name", "app"}, {"image", "registry.k8s.io/pause:3.9"}}})}}}}}}}});
}

int Cluster::deployment_replicas(const std::string& name) {
  auto d = get(kube::resources::deployments(), name);
  if (!d) FAIL("deployment " << name << " is gone");
  return (*d)["spec"].value("replicas", 1);
}

std::vector<Object> Cluster::events_for(const std::string& name, const std::string& reason) {
  std::vector<Object> out;
  for (const auto& e : list(kube::resources::events())) {
    const auto regarding = e.value("regarding", Object::object());
    if (regarding.value("name", "") == name && e.value("reason", "") == reason) out.push_back(e);
  }
  return out;
}

Object scaled_object(const std::string& name, const std::string& target, const std::string& list, int min, int max) {
  return {{"apiVersion", "keda.sh/v1alpha1"},
          {"kind", "ScaledObject"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"scaleTargetRef", {{"name", target}}},
            {"minReplicaCount", min},
            {"maxReplicaCount", max},
            {"triggers", Object::array({{{"type", "redis"},
                                         {"metadata",
                                          {{"address", "redis.default.svc:6379"},
                                           {"listName", list},
                                           {"listLength", "5"}}}}})}}}};
}

std::optional<Object> condition(const Object& object, const std::string& type) {
  if (!object.contains("status") || !object["status"].is_object()) return std::nullopt;
  const auto conditions = object["status"].value("conditions", Object::array());
  for (const auto& c : conditions)
    if (c.is_object() && c.value("type", "") == type) return c;
  return std::nullopt;
}

std::string condition_status(const Object& object, const std::string& type) {
  auto c = condition(object, type);
  return c ? c->value("status", "") : "";
}

bool is_ready(const std::optional<Object>& so) {
  if (!so) return false;
  auto ready = condition(*so, "Ready");
  if (!ready || ready->value("status", "") != "True") return false;
  const auto generation = (*so)["metadata"].value("generation", 0);
  // observedGeneration must be there: the adapter's hand-off rule reads it (crds/ keeps it).
  return ready->value("observedGeneration", -1) == generation;
}

// ---------------------------------------------------------------------------------------------

OperatorRun::OperatorRun(Cluster& cluster, std::vector<std::string> extra, const std::string& log_name) {
  ports_.health = test::free_port();
  ports_.metrics = test::free_port();
  ports_.webhook = test::free_port();
  log_path_ = cluster.dir() + "/" + log_name + ".log";
  std::vector<std::string> argv = {
      EBB_OPERATOR_BIN,
      "--kubeconfig", cluster.kubeconfig(),
      "--namespace=" + cluster.ns(),
      "--leader-election-namespace", cluster.ns(),
      "--health-probe-bind-address=127.0.0.1:" + std::to_string(ports_.health),
      "--metrics-bind-address", "127.0.0.1:" + std::to_string(ports_.metrics),
      "--webhook-host=127.0.0.1",
      "--webhook-port", std::to_string(ports_.webhook),
      // Short leases so a restarted or second instance takes over within seconds.
      "--leader-election-lease-duration=4s",
      "--leader-election-renew-deadline=3s",
      "--leader-election-retry-period=500ms",
      "--log-level=debug",
  };
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = test::Process::start(wrapped("EBB_TEST_OPERATOR_WRAPPER", argv), log_path_);
}

OperatorRun::~OperatorRun() {
  if (process_.running()) terminate(10s);
}

std::string OperatorRun::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::pair<int, std::string> OperatorRun::http_get(std::uint16_t port, const std::string& path) const {
  net::HttpClient client;
  auto response = client.send({.method = "GET", .url = "http://127.0.0.1:" + std::to_string(port) + path,
                               .timeout = std::chrono::seconds(5)});
  if (!response) return {0, response.error().message};
  return {response->status, response->body};
}

bool OperatorRun::wait_ready(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_get(ports_.health, "/readyz").first == 200) return true;
    if (!process_.running()) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void OperatorRun::require_ready(std::chrono::milliseconds timeout) const {
  if (wait_ready(timeout)) return;
  const auto status = exit_status();
  FAIL("ebb-operator not ready (GET /readyz) within "
       << timeout.count() << " ms; "
       << (status ? "exited with status " + std::to_string(*status) : std::string("still running"))
       << "\n--- operator log (tail) ---\n"
       << log_tail(log()));
}

std::optional<int> OperatorRun::exit_status() const {
  if (process_.pid() <= 0) return std::nullopt;
  siginfo_t info{};
  // WNOWAIT: look without reaping; Process::stop() reaps.
  if (::waitid(P_PID, static_cast<id_t>(process_.pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return std::nullopt;
  if (info.si_pid == 0) return std::nullopt;
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
}

void OperatorRun::kill9() {
  ::kill(process_.pid(), SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!exit_status() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  process_.stop();
}

int OperatorRun::terminate(std::chrono::milliseconds timeout) {
  ::kill(process_.pid(), SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<int> status;
  while (!(status = exit_status()) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  process_.stop();
  return status.value_or(-1);
}

std::string log_tail(const std::string& log, std::size_t n) {
  return log.size() > n ? log.substr(log.size() - n) : log;
}

void eventually(const std::string& what, const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                const OperatorRun* run) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("timed out after " << timeout.count() << " ms waiting for: " << what
                          << (run != nullptr
                                  ? "\n--- operator log (tail) ---\n" + log_tail(run->log())
                                  : std::string()));
}

std::optional<double> metric_value(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string prefix = labels.empty() ? name + " " : name + "{" + labels + "} ";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    try {
      return std::stod(line.substr(prefix.size()));
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace ebb::systest
