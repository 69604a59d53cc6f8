#include "adapter_harness.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "ebb/cluster/resources.h"
#include "ebb/net/http_client.h"

#ifndef EBB_ADAPTER_BIN
#error "EBB_ADAPTER_BIN must name the ebb-metrics-adapter executable"
#endif

namespace ebb::systest {

namespace {

void run_openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const auto r = test::run_command(args, 30s);
  if (r.exit_code != 0) FAIL("openssl " << args[1] << " failed: " << r.err);
}

}  // namespace

AdapterPki make_adapter_pki(const std::string& dir) {
  const std::string cnf = dir + "/pki.cnf";
  {
    std::ofstream f(cnf);
    f << "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
         "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[client]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  }
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                       "-days", "3650"};
  auto make_ca = [&](const std::string& name, const std::string& cn) {
    std::vector<std::string> args = {"req", "-x509", "-new", "-config", cnf, "-extensions", "ca", "-subj", "/CN=" + cn,
                                     "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt"};
    args.insert(args.end(), ec.begin(), ec.end());
    run_openssl(args);
  };
  // `req -x509 -CA` issues without a CSR (OpenSSL 3).
  auto issue = [&](const std::string& ca, const std::string& name, const std::string& cn, std::string& cert,
                   std::string& key) {
    std::vector<std::string> args = {"req", "-x509", "-new", "-config", cnf, "-extensions", "client",
                                     "-subj", "/CN=" + cn, "-CA", dir + "/" + ca + ".crt", "-CAkey",
                                     dir + "/" + ca + ".key", "-keyout", dir + "/" + name + ".key", "-out",
                                     dir + "/" + name + ".crt"};
    args.insert(args.end(), ec.begin(), ec.end());
    run_openssl(args);
    cert = test::read_file(dir + "/" + name + ".crt");
    key = test::read_file(dir + "/" + name + ".key");
  };
  AdapterPki pki;
  make_ca("requestheader-ca", "Ebb Test Front Proxy CA");
  make_ca("other-ca", "Ebb Test Other CA");
  pki.requestheader_ca_file = dir + "/requestheader-ca.crt";
  issue("requestheader-ca", "front-proxy", kFrontProxyName, pki.front_proxy_cert_pem, pki.front_proxy_key_pem);
  issue("requestheader-ca", "stranger", "not-the-front-proxy", pki.stranger_cert_pem, pki.stranger_key_pem);
  issue("other-ca", "foreign", kFrontProxyName, pki.foreign_cert_pem, pki.foreign_key_pem);
  return pki;
}

ClientIdentity hpa_identity(const AdapterPki& pki) {
  return {pki.front_proxy_cert_pem, pki.front_proxy_key_pem, kHpaUser, {"system:serviceaccounts", "system:authenticated"}};
}

std::optional<kube::Object> ApiResponse::json() const {
  auto parsed = kube::Object::parse(body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// ---------------------------------------------------------------------------------------------

AdapterRun::AdapterRun(Cluster& cluster, const AdapterPki& pki, std::vector<std::string> extra,
                       const std::string& log_name) {
  ports_.secure = test::free_port();
  ports_.metrics = test::free_port();
  log_path_ = cluster.dir() + "/" + log_name + ".log";
  cert_dir_ = cluster.dir() + "/" + log_name + "-certs";
  // flag -> value, in order. The process takes each flag once, so an `extra` "--flag=value"
  // replaces the default of the same flag instead of repeating it.
  std::vector<std::pair<std::string, std::string>> flags = {
      {"--kubeconfig", cluster.kubeconfig()},
      {"--namespace", cluster.ns()},
      {"--bind-address", "127.0.0.1"},
      {"--secure-port", std::to_string(ports_.secure)},
      {"--metrics-bind-address", "127.0.0.1:" + std::to_string(ports_.metrics)},
      {"--cert-dir", cert_dir_},
      {"--requestheader-client-ca-file", pki.requestheader_ca_file},
      {"--requestheader-allowed-names", kFrontProxyName},
      // The CA comes from the flag; on a real cluster the ConfigMap may not be readable.
      {"--authentication-skip-lookup", "true"},
      // SubjectAccessReviews are asked every time, so a policy change shows at once.
      {"--authorization-webhook-cache-authorized-ttl", "0"},
      {"--authorization-webhook-cache-unauthorized-ttl", "0"},
      {"--leader-elect", "true"},
      {"--leader-election-namespace", cluster.ns()},
      // Short leases so a restarted or second instance takes over within seconds.
      {"--leader-election-lease-duration", "4s"},
      {"--leader-election-renew-deadline", "3s"},
      {"--leader-election-retry-period", "500ms"},
      {"--cluster-object-namespace", cluster.ns()},
      {"--log-level", "debug"},
  };
  std::vector<std::string> rest;
  for (const auto& arg : extra) {
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    auto it = std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == name; });
    if (eq != std::string::npos && it != flags.end()) {
      it->second = arg.substr(eq + 1);
    } else {
      rest.push_back(arg);
    }
  }
  argv_ = {EBB_ADAPTER_BIN};
  for (const auto& [flag, value] : flags) argv_.push_back(flag + "=" + value);
  argv_.insert(argv_.end(), rest.begin(), rest.end());
  process_ = test::Process::start(wrapped("EBB_TEST_ADAPTER_WRAPPER", argv_), log_path_);
}

AdapterRun::~AdapterRun() {
  if (process_.running()) terminate(10s);
}

std::string AdapterRun::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ApiResponse AdapterRun::get(const std::string& path, const ClientIdentity& who, std::chrono::milliseconds timeout) const {
  net::HttpClientOptions options;
  options.tls.enabled = true;
  options.tls.ca_pem = test::read_file(cert_dir_ + "/apiserver.crt");
  options.tls.cert_pem = who.cert_pem;
  options.tls.key_pem = who.key_pem;
  options.max_idle_per_host = 0;
  net::HttpClient client(options);
  net::HttpRequest request{.method = "GET",
                           .url = "https://127.0.0.1:" + std::to_string(ports_.secure) + path,
                           .headers = {{"Accept", "application/json"}},
                           .body = "",
                           .timeout = timeout};
  if (!who.user.empty()) request.headers.emplace_back("X-Remote-User", who.user);
  for (const auto& g : who.groups) request.headers.emplace_back("X-Remote-Group", g);
  auto response = client.send(request);
  if (!response) return {0, response.error().message};
  return {response->status, response->body};
}

ApiResponse AdapterRun::external_metric(const std::string& ns, const std::string& metric, const std::string& so,
                                        const ClientIdentity& who) const {
  // labelSelector=scaledobject.keda.sh/name=<so>, escaped as the HPA controller sends it.
  return get("/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/" + metric +
                 "?labelSelector=scaledobject.keda.sh%2Fname%3D" + so,
             who);
}

bool AdapterRun::wait_ready(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) return false;
    std::ifstream cert(cert_dir_ + "/apiserver.crt");
    if (cert && get("/readyz", ClientIdentity{}, 2s).status == 200) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

void AdapterRun::require_ready(std::chrono::milliseconds timeout) const {
  if (wait_ready(timeout)) return;
  FAIL("ebb-metrics-adapter not ready (GET /readyz) within "
       << timeout.count() << " ms; running: " << running() << "\n--- adapter log (tail) ---\n"
       << log_tail(log()));
}

std::string AdapterRun::metrics() const {
  net::HttpClient client;
  auto response = client.send({.method = "GET",
                               .url = "http://127.0.0.1:" + std::to_string(ports_.metrics) + "/metrics",
                               .headers = {},
                               .body = "",
                               .timeout = std::chrono::seconds(5)});
  if (!response || response->status != 200) return "";
  return response->body;
}

std::optional<int> AdapterRun::exit_status() const {
  if (process_.pid() <= 0) return std::nullopt;
  siginfo_t info{};
  // WNOWAIT: look without reaping; Process::stop() reaps.
  if (::waitid(P_PID, static_cast<id_t>(process_.pid()), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return std::nullopt;
  if (info.si_pid == 0) return std::nullopt;
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
}

void AdapterRun::kill9() {
  if (process_.pid() <= 0) return;
  ::kill(process_.pid(), SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!exit_status() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  process_.stop();
}

int AdapterRun::terminate(std::chrono::milliseconds timeout) {
  if (process_.pid() <= 0) return -1;
  ::kill(process_.pid(), SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<int> status;
  while (!(status = exit_status()) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  process_.stop();
  return status.value_or(-1);
}

void AdapterRun::restart() {
  if (process_.running()) FAIL("AdapterRun::restart: the adapter is still running");
  process_.stop();
  // The log file is opened for appending: the restarted process continues it.
  process_ = test::Process::start(wrapped("EBB_TEST_ADAPTER_WRAPPER", argv_), log_path_);
}

kube::Object rabbit_call(const std::string& method, const std::string& path,
                         const std::string& body) {
  const auto& s = test::shared_servers();
  net::HttpClient http;
  net::HttpRequest request;
  request.method = method;
  request.url = "http://" + s.rabbitmq_user + ":" + s.rabbitmq_password +
                "@127.0.0.1:" + std::to_string(s.rabbitmq_http_port) + "/api" + path;
  request.body = body;
  request.headers.emplace_back("Content-Type", "application/json");
  request.timeout = std::chrono::seconds(10);
  auto response = http.send(request);
  if (!response)
    FAIL("RabbitMQ management " << method << " " << path << ": " << response.error().message);
  if (response->status >= 300)
    FAIL("RabbitMQ management " << method << " " << path << ": " << response->status);
  return response->body.empty() ? kube::Object() : kube::Object::parse(response->body);
}

void rabbit_fill_queue(const std::string& queue, int messages) {
  rabbit_call("PUT", "/queues/%2F/" + queue, R"({"durable":false,"auto_delete":false})");
  for (int i = 0; i < messages; ++i) {
    auto routed = rabbit_call("POST", "/exchanges/%2F/amq.default/publish",
                              kube::Object{{"properties", kube::Object::object()},
                                           {"routing_key", queue},
                                           {"payload", "m"},
                                           {"payload_encoding", "string"}}
                                  .dump());
    REQUIRE(routed.value("routed", false));
  }
}

void eventually_adapter(const std::string& what, const std::function<bool()>& predicate,
                        std::chrono::milliseconds timeout, const AdapterRun& adapter, const OperatorRun* op) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("timed out after " << timeout.count() << " ms waiting for: " << what
                          << "\n--- adapter log (tail) ---\n"
                          << log_tail(adapter.log())
                          << (op != nullptr
                                  ? "\n--- operator log (tail) ---\n" + log_tail(op->log(), 3000)
                                  : std::string()));
}

void eventually_scaled_job_condition(Cluster& cluster, const std::string& name,
                                     const std::string& type, const std::string& status,
                                     std::chrono::milliseconds timeout, const AdapterRun& adapter) {
  eventually_adapter(
      "ScaledJob " + name + ": " + type + "=" + status,
      [&] {
        auto sj = cluster.get(ebb::cluster::scaled_jobs(), name);
        return sj && condition_status(*sj, type) == status;
      },
      timeout, adapter);
}

std::vector<int> attempted_scale_values(Cluster& cluster, const std::string& deployment) {
  std::vector<int> out;
  for (const auto& w : scale_writes(*cluster.server(), cluster.ns(), deployment))
    out.push_back(w.replicas);
  return out;
}

std::vector<int> successful_scale_values(Cluster& cluster, const std::string& deployment) {
  std::vector<int> out;
  for (const auto& w : scale_writes(*cluster.server(), cluster.ns(), deployment))
    if (w.code >= 200 && w.code < 300) out.push_back(w.replicas);
  return out;
}

std::string served(const ApiResponse& r) {
  if (r.status != 200) return "";
  auto body = r.json();
  if (!body || !body->contains("items") || !(*body)["items"].is_array() || (*body)["items"].empty())
    return "";
  return (*body)["items"][0].value("value", "");
}

double sample_sum(const std::string& text, const std::string& name,
                  const std::vector<std::string>& fragments) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const auto close = line.rfind('}');
    if (close == std::string::npos) continue;
    const std::string labels = line.substr(name.size() + 1, close - name.size() - 1);
    bool all = true;
    for (const auto& f : fragments) all = all && labels.find(f) != std::string::npos;
    if (!all) continue;
    try {
      sum += std::stod(line.substr(close + 1));
    } catch (...) {
    }
  }
  return sum;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::vector<int> seen(ReplicaSampler& sampler) {
  sampler.sync();
  INFO("deployment " << sampler.deployment()
                     << (sampler.errors().empty() ? "" : ": " + sampler.errors()));
  CHECK(sampler.errors().empty());
  return sampler.values();
}

std::vector<ScaleWrite> scale_writes(const testapi::TestApiServer& server, const std::string& ns,
                                     const std::string& deployment) {
  std::vector<ScaleWrite> out;
  const std::string path = "/apis/apps/v1/namespaces/" + ns + "/deployments/" + deployment + "/scale";
  const auto log = server.request_log();
  for (std::size_t i = 0; i < log.size(); ++i) {
    const auto& r = log[i];
    if ((r.method != "PUT" && r.method != "PATCH") || r.path != path) continue;
    ScaleWrite w;
    w.index = i;
    w.code = r.code;
    auto body = kube::Object::parse(r.body, nullptr, false);
    if (!body.is_discarded() && body.contains("spec") && body["spec"].is_object())
      w.replicas = body["spec"].value("replicas", -1);
    out.push_back(w);
  }
  return out;
}

ReplicaSampler::ReplicaSampler(const Cluster& cluster, std::string deployment,
                               std::chrono::milliseconds period)
    : ns_(cluster.ns()),
      deployment_(std::move(deployment)),
      period_(period),
      client_(cluster.new_client({.qps = 50, .burst = 50})) {
  thread_ = std::thread([this] { run(); });
  const auto deadline = Clock::now() + 10s;
  while (samples() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  if (samples() == 0) {
    stop();
    FAIL("ReplicaSampler: no read of deployment " << deployment_ << " within 10 s: " << errors());
  }
}

ReplicaSampler::~ReplicaSampler() {
  stop();
}

void ReplicaSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ReplicaSampler::run() {
  while (!stop_) {
    const auto started = Clock::now();
    auto d = client_->get(kube::resources::deployments(), ns_, deployment_);
    const auto seen = Clock::now();
    {
      std::lock_guard lock(mutex_);
      if (d) {
        const int replicas = (*d)["spec"].value("replicas", 1);
        if (changes_.empty() || changes_.back().replicas != replicas)
          changes_.push_back({seen, replicas});
        ++samples_;
      } else {
        if (failures_++ == 0) first_error_ = d.error().message;
      }
    }
    const auto next = started + period_;
    while (!stop_ && Clock::now() < next) std::this_thread::sleep_for(10ms);
  }
}

std::vector<ReplicaSampler::Change> ReplicaSampler::changes() const {
  std::lock_guard lock(mutex_);
  return changes_;
}

std::vector<int> ReplicaSampler::values() const {
  std::vector<int> out;
  for (const auto& c : changes()) out.push_back(c.replicas);
  return out;
}

std::optional<ReplicaSampler::Clock::time_point> ReplicaSampler::first_seen(
    int replicas, Clock::time_point after) const {
  for (const auto& c : changes())
    if (c.replicas == replicas && c.at >= after) return c.at;
  return std::nullopt;
}

std::size_t ReplicaSampler::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::string ReplicaSampler::errors() const {
  std::lock_guard lock(mutex_);
  if (failures_ == 0) return "";
  return std::to_string(failures_) + " failed read(s), the first: " + first_error_;
}

void ReplicaSampler::sync() {
  // Two more completed reads: the first may have started before this call.
  const auto target = samples() + 2;
  const auto deadline = Clock::now() + 10s;
  while (samples() < target && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  if (samples() < target)
    FAIL("ReplicaSampler: deployment " << deployment_ << " not read for 10 s: " << errors());
}

Object scaled_object_with(const std::string& name, const std::string& target, const std::string& type,
                          const Object& metadata, int min, int max, int polling_interval, int cooldown) {
  return {{"apiVersion", "keda.sh/v1alpha1"},
          {"kind", "ScaledObject"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"scaleTargetRef", {{"name", target}}},
            {"minReplicaCount", min},
            {"maxReplicaCount", max},
            {"pollingInterval", polling_interval},
            {"cooldownPeriod", cooldown},
            {"triggers", Object::array({{{"type", type}, {"metadata", metadata}}})}}}};
}

Object redis_trigger_metadata(std::uint16_t port, const std::string& list) {
  return {{"address", "127.0.0.1:" + std::to_string(port)}, {"listName", list}, {"listLength", "5"}};
}

}  // namespace ebb::systest
