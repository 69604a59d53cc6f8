#include "process/adapter_process.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "ebb/adapter/actuator.h"
#include "ebb/adapter/engine.h"
#include "ebb/adapter/external_metrics_api.h"
#include "ebb/adapter/job_loop.h"
#include "ebb/adapter/scheduler.h"
#include "ebb/adapter/status_writer.h"
#include "ebb/cluster/objects.h"
#include "ebb/cluster/resources.h"
#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/net/http_server.h"
#include "ebb/process/log.h"
#include "ebb/process/runtime.h"
#include "ebb/runtime/manager.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"
#include "process/metrics.h"

#ifndef EBB_GIT_COMMIT
#define EBB_GIT_COMMIT "unknown"
#endif

namespace ebb::adapter::process {
namespace {

using ebb::process::host_name;

using Clock = std::chrono::steady_clock;
using ebb::process::Logger;
using ebb::process::LogLevel;
using kube::Object;

constexpr const char* kAuthConfigMapNamespace = "kube-system";
constexpr const char* kAuthConfigMapName = "extension-apiserver-authentication";


std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string joined(const std::vector<std::string>& list) {
  return join(list, ",");
}

Result<std::string> read_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string(flag) + ": cannot read " + ebb::quoted(path));
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof())
    return fail(std::string(flag) + ": cannot read " + ebb::quoted(path));
  if (text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return fail(std::string(flag) + ": " + ebb::quoted(path) + " holds no PEM certificate");
  return text.str();
}

// A (Cluster)TriggerAuthentication change that can change what scalers are built with.
bool auth_spec_changed(const Object& a, const Object& b) {
  auto spec = [](const Object& o) { return o.contains("spec") ? o["spec"] : Object(); };
  return spec(a) != spec(b);
}

// Every write the engine asks for goes through here on its way to the KubeActuator, so each one
// is logged with its outcome (the engine itself does not log).
class LoggingActuator : public Actuator {
 public:
  explicit LoggingActuator(Actuator& inner) : inner_(inner) {}

  bool leader() const override { return inner_.leader(); }
  Result<TargetState> read_target(const api::ScaledObject& so) override {
    auto target = inner_.read_target(so);
    if (!target)
      log_.warn("cannot read the scale target", {{"namespace", so.metadata.namespace_},
                                                 {"name", so.metadata.name},
                                                 {"error", target.error().message}});
    return target;
  }
  Result<ScaleOutcome> scale(const api::ScaledObject& so, std::int32_t replicas) override {
    auto result = inner_.scale(so, replicas);
    if (result) {
      // "scaled target" only for a write: a fresh read can show the count already there (the
      // decision was made on a cached read, and the HPA or a person may have been first).
      log_.info(*result == ScaleOutcome::written ? "scaled target" : "target already at replicas",
                {{"namespace", so.metadata.namespace_},
                 {"name", so.metadata.name},
                 {"target", so.spec.scale_target_ref.name},
                 {"replicas", replicas}});
    } else {
      log_.error("cannot scale target", {{"namespace", so.metadata.namespace_},
                                         {"name", so.metadata.name},
                                         {"target", so.spec.scale_target_ref.name},
                                         {"replicas", replicas},
                                         {"error", result.error().message}});
    }
    return result;
  }
  Result<void> update_status(const api::ScaledObject& so, const StatusUpdate& update) override {
    // Which fields the write changes, from what the object held when it was read.
    const auto fields = status_update_fields(*api::adapter_status_of(so), update,
                                             so.metadata.generation.value_or(0));
    auto result = inner_.update_status(so, update);
    if (!result) {
      log_.error("cannot write status", {{"namespace", so.metadata.namespace_},
                                         {"name", so.metadata.name},
                                         {"error", result.error().message}});
    } else if (!fields.empty()) {
      log_.info("status written",
                {{"namespace", so.metadata.namespace_},
                 {"name", so.metadata.name},
                 {"fields", joined(fields)},
                 {"active", update.active ? update.active->status : std::string()},
                 {"fallback", update.fallback ? update.fallback->status : std::string()}});
    }
    return result;
  }
  void record(const api::ScaledObject& so, const Event& event) override {
    inner_.record(so, event);
    const ebb::process::LogFields fields{{"namespace", so.metadata.namespace_},
                                         {"name", so.metadata.name},
                                         {"type", event.type},
                                         {"reason", event.reason},
                                         {"message", event.message}};
    log_.log(event.type == "Warning" ? LogLevel::warn : LogLevel::info, "event", fields);
  }

 private:
  Actuator& inner_;
  Logger log_{"actuator"};
};

runtime::ManagerOptions manager_options(const AdapterOptions& o) {
  auto m = runtime::ManagerOptions::from(o, "ebb-metrics-adapter", kAdapterVersion, EBB_GIT_COMMIT);
  m.build_info_metric = "keda_build_info";
  // Every replica polls and serves; only the leader writes. Losing the Lease stops writes at
  // once (the actuator asks before each one) and the replica competes again.
  m.leader_election.on_loss = runtime::LeaseLoss::keep_competing;
  m.metrics.stop_grace = std::chrono::seconds(1);
  m.metrics.log_url_path = "/metrics";
  m.metrics.start_error = "cannot start the metrics server";
  // Polls are bounded by --poll-timeout; past that budget something hangs, and a kill is what
  // would follow anyway.
  m.shutdown.budget = o.poll_timeout + std::chrono::seconds(15);
  m.shutdown.in_flight = "polls";
  m.shutdown.log_elapsed = true;
  return m;
}

// What is the adapter's own: the external metrics API with its TLS, authentication and
// authorization, the engine with its scheduler and actuator, and the informers feeding it. The
// lifecycle (clients, signals, the metrics server, leader election, shutdown) is the
// runtime::Manager's.
class AdapterProcess {
 public:
  explicit AdapterProcess(AdapterOptions options) : o_(std::move(options)) {}

  int run();

 private:
  bool resolve_authentication(AuthenticationConfig& out);
  bool resolve_serving_tls(net::ServerTls& tls);
  bool start_api_server(const AuthenticationConfig& auth);
  void start_informers();
  void start_job_informers(const std::vector<std::string>& scopes);
  bool informers_synced() const;
  bool job_caches_synced() const;
  kube::Client& client() { return manager_->client(); }

  AdapterOptions o_;
  Logger log_{"setup"};
  Logger api_log_{"api"};
  std::unique_ptr<runtime::Manager> manager_;
  std::unique_ptr<AdapterMetrics> metrics_;
  std::string cluster_object_namespace_;

  scalers::ConnectionPools pools_;
  std::unique_ptr<PollScheduler> scheduler_;
  std::unique_ptr<KubeActuator> kube_actuator_;
  std::unique_ptr<LoggingActuator> actuator_;
  std::unique_ptr<StatusWriter> status_writer_;
  std::unique_ptr<Engine> engine_;
  // ScaledJobs: their loop, and the Jobs and Pods they own (only those labelled
  // scaledjob.keda.sh/name are watched), read through indexes.
  std::unique_ptr<JobLoop> job_loop_;
  kube::CacheView jobs_view_, pods_view_;
  std::vector<std::unique_ptr<kube::Informer>> sj_informers_, job_informers_;
  // job_informers_ is complete and never changes again: polls read it without informers_mutex_
  // (which a shutdown step holds while an informer may wait for a poll to end).
  std::atomic<bool> job_informers_complete_{false};
  std::unique_ptr<SubjectAccessReviewAuthorizer> authorizer_;
  std::unique_ptr<ExternalMetricsApi> api_;

  // Started before the ScaledObject informers and listed (bounded wait) before them, so that
  // building an object's triggers and every poll read these caches, not the API server.
  std::vector<std::unique_ptr<kube::Informer>> auth_informers_, workload_informers_, so_informers_;
  mutable std::mutex informers_mutex_;
  kube::CacheView trigger_auths_, cluster_trigger_auths_, deployments_, statefulsets_;
  kube::CacheView scaled_objects_;  // filled under informers_mutex_ before any event
  cluster::WorkloadCaches workloads_{&deployments_, &statefulsets_};

  std::unique_ptr<net::HttpServer> api_server_;
};

// ---------------------------------------------------------------------------------------------

int AdapterProcess::run() {
  manager_ = runtime::Manager::create(manager_options(o_));
  if (!manager_) return 1;
  cluster_object_namespace_ = ebb::process::cluster_object_namespace(o_.cluster_object_namespace);
  metrics_ = std::make_unique<AdapterMetrics>(manager_->metrics());

  const kube::Config& config = manager_->config();
  std::string watched = joined(o_.namespaces);
  log_.info("starting ebb-metrics-adapter",
            {{"version", kAdapterVersion},
             {"gitCommit", EBB_GIT_COMMIT},
             {"server", config.server},
             {"context", config.context},
             {"namespaces", watched.empty() ? std::string("(all)") : watched},
             {"labelSelector", o_.label_selector},
             {"bindAddress", o_.bind_address},
             {"securePort", o_.secure_port},
             {"tlsCertFile", o_.tls_cert_file},
             {"certDir", o_.tls_cert_file.empty() ? o_.cert_dir : std::string()},
             {"tlsMinVersion", o_.tls_min_version},
             {"requestheaderClientCaFile", o_.requestheader_client_ca_file},
             {"requestheaderAllowedNames", joined(o_.requestheader_allowed_names)},
             {"clientCaFile", o_.client_ca_file},
             {"authenticationSkipLookup", o_.authentication_skip_lookup},
             {"authorizationAlwaysAllow", o_.authorization_always_allow},
             {"authorizationAlwaysAllowPaths", joined(o_.authorization_always_allow_paths)},
             {"leaderElect", o_.leader_elect},
             {"leaderElectionLease", manager_->lease()},
             {"identity", manager_->identity()},
             {"maxConcurrentPolls", o_.max_concurrent_polls},
             {"pollTimeoutMs", o_.poll_timeout.count()},
             {"hpaSyncPeriodSeconds", o_.hpa_sync_period.count()},
             {"clusterObjectNamespace", cluster_object_namespace_},
             {"metricsBindAddress", o_.metrics_bind_address},
             {"kubeApiQps", o_.kube_api_qps},
             {"kubeApiBurst", o_.kube_api_burst}});

  AuthenticationConfig auth;
  if (!resolve_authentication(auth)) return 1;

  scheduler_ = std::make_unique<PollScheduler>(SchedulerOptions{o_.max_concurrent_polls});
  KubeActuatorOptions actuator_options;
  actuator_options.is_leader = [this] { return manager_->leading(); };
  actuator_options.events.reporting_instance = manager_->identity();
  actuator_options.workloads = &workloads_;
  actuator_options.scaled_objects = &scaled_objects_;
  kube_actuator_ = std::make_unique<KubeActuator>(client(), actuator_options);
  actuator_ = std::make_unique<LoggingActuator>(*kube_actuator_);
  // Scalers that read the cluster (kubernetes-workload, ...) share watch-backed caches.
  pools_.provide<scalers::kubernetes::Objects>(std::make_shared<cluster::InformerObjects>(client()));
  EngineOptions engine_options;
  engine_options.hpa_sync_period = o_.hpa_sync_period;
  engine_options.poll_timeout = o_.poll_timeout;
  engine_options.cluster_object_namespace = cluster_object_namespace_;
  engine_options.workloads = &workloads_;
  engine_options.trigger_authentications = &trigger_auths_;
  engine_options.cluster_trigger_authentications = &cluster_trigger_auths_;
  engine_options.scaled_objects = &scaled_objects_;
  // Status and Event writes leave the poll workers: a slow API server must not slow polling.
  status_writer_ = std::make_unique<StatusWriter>(*actuator_);
  engine_ = std::make_unique<Engine>(
      EngineDeps{client(), pools_, *scheduler_, *actuator_, metrics_.get(), status_writer_.get()},
      engine_options);

  JobLoopOptions job_options;
  job_options.poll_timeout = o_.poll_timeout;
  job_options.cluster_object_namespace = cluster_object_namespace_;
  job_options.version = kAdapterVersion;
  job_options.is_leader = [this] { return manager_->leading(); };
  job_options.caches_synced = [this] { return job_caches_synced(); };
  job_options.events.reporting_instance = manager_->identity();
  job_options.on_error = [this](const std::string& ns, const std::string& name) {
    metrics_->scaled_job_error(ns, name);
  };
  job_options.on_trigger_polled = [this](const MetricLabels& labels, std::optional<double> value,
                                         bool active, bool failed, double seconds) {
    metrics_->job_trigger_polled(labels, value, active, failed, seconds);
  };
  job_options.on_poll_lag = [this](const std::string& ns, const std::string& name, double seconds) {
    metrics_->job_poll_lag(ns, name, seconds);
  };
  job_options.on_forget = [this](const std::string& ns, const std::string& name, bool removed) {
    metrics_->forget_scaled_job(ns, name, removed);
  };
  job_loop_ = std::make_unique<JobLoop>(
      JobLoopDeps{client(), pools_, *scheduler_, jobs_view_, pods_view_}, std::move(job_options));

  if (!manager_->start_servers()) return 1;
  if (!start_api_server(auth)) return 1;

  // Shutdown, before the Lease is released: 1. no new requests, in-flight ones finish; 2. no
  // more informer events; 3. no new polls, running ones finish (each bounded by --poll-timeout).
  manager_->add_stop_step("external metrics API stopped",
                          [this] { api_server_->stop(std::chrono::seconds(5)); });
  manager_->add_stop_step("", [this] {
    std::lock_guard lock(informers_mutex_);
    for (auto& informer : so_informers_) informer->stop();
    for (auto& informer : sj_informers_) informer->stop();
    for (auto& informer : job_informers_) informer->stop();
    for (auto& informer : auth_informers_) informer->stop();
    for (auto& informer : workload_informers_) informer->stop();
  });
  manager_->add_stop_step("polls stopped", [this] { scheduler_->stop(); });
  // What the last polls handed over gets a moment to be written while this replica still leads;
  // anything left is written again by the next leader's polls (status is level-based).
  manager_->add_stop_step("status writes stopped", [this] {
    status_writer_->wait_idle(std::chrono::seconds(2));
    status_writer_->stop();
  });
  // Informers start on their own thread: the auth informers list first so that building the
  // ScaledObjects' scalers is not followed by a rebuild for every referenced auth object.
  manager_->add_runnable("informers", runtime::Manager::RunWhen::always,
                         [this] { std::thread([this] { start_informers(); }).detach(); });
  // The engine, scalers and pools are never torn down one by one: nothing they hold needs
  // flushing, and their connections close with the process.
  return manager_->run();
}

bool AdapterProcess::resolve_authentication(AuthenticationConfig& out) {
  AuthenticationConfig flags;
  if (!o_.requestheader_client_ca_file.empty()) {
    auto pem = read_file(o_.requestheader_client_ca_file, "--requestheader-client-ca-file");
    if (!pem) {
      log_.error("cannot load the requestheader CA", {{"error", pem.error().message}});
      return false;
    }
    flags.requestheader_client_ca_pem = *pem;
  }
  if (!o_.client_ca_file.empty()) {
    auto pem = read_file(o_.client_ca_file, "--client-ca-file");
    if (!pem) {
      log_.error("cannot load the client CA", {{"error", pem.error().message}});
      return false;
    }
    flags.client_ca_pem = *pem;
  }
  flags.requestheader_allowed_names = o_.requestheader_allowed_names;
  flags.username_headers = o_.requestheader_username_headers;
  flags.group_headers = o_.requestheader_group_headers;
  flags.extra_headers_prefix = o_.requestheader_extra_headers_prefix;
  const bool flags_give_ca =
      !flags.requestheader_client_ca_pem.empty() || !flags.client_ca_pem.empty();
  out = flags;

  if (!o_.authentication_skip_lookup) {
    const std::string where = std::string(kAuthConfigMapNamespace) + "/" + kAuthConfigMapName;
    auto cm =
        client().get(kube::resources::configmaps(), kAuthConfigMapNamespace, kAuthConfigMapName);
    if (!cm) {
      if (!flags_give_ca) {
        log_.error(
            "cannot read the authentication ConfigMap and no CA flag is given",
            {{"configMap", where},
             {"error", cm.error().message},
             {"hint",
              "grant get on that ConfigMap (role extension-apiserver-authentication-reader), or "
              "give --requestheader-client-ca-file / --client-ca-file"}});
        return false;
      }
      log_.warn("cannot read the authentication ConfigMap: using the CA flags only",
                {{"configMap", where}, {"error", cm.error().message}});
    } else {
      auto merged = merge_authentication_configmap(*cm, flags);
      if (!merged) {
        log_.error("invalid authentication ConfigMap",
                   {{"configMap", where}, {"error", merged.error().message}});
        return false;
      }
      out = std::move(*merged);
    }
  }
  if (out.requestheader_client_ca_pem.empty() && out.client_ca_pem.empty())
    log_.warn(
        "no client CA: every request outside --authorization-always-allow-paths is answered 401");
  log_.info(
      "authentication",
      {{"frontProxyCa", !out.requestheader_client_ca_pem.empty()},
       {"clientCa", !out.client_ca_pem.empty()},
       {"requestheaderAllowedNames", out.requestheader_allowed_names.empty()
                                         ? std::string("(any)")
                                         : joined(out.requestheader_allowed_names)},
       {"usernameHeaders", joined(out.username_headers)},
       {"groupHeaders", joined(out.group_headers)},
       {"extraHeadersPrefix", joined(out.extra_headers_prefix)},
       {"authorization", o_.authorization_always_allow ? "always-allow" : "SubjectAccessReview"}});
  return true;
}

bool AdapterProcess::resolve_serving_tls(net::ServerTls& tls) {
  tls.min_version = o_.tls_min_version == "VersionTLS13" ? "1.3" : "1.2";
  if (!o_.tls_cert_file.empty()) {
    tls.cert_file = o_.tls_cert_file;
    tls.key_file = o_.tls_private_key_file;
    tls.wait_for_files = o_.tls_cert_optional;
    if (tls.wait_for_files)
      tls.self_signed_hosts = {"localhost", "127.0.0.1", host_name("ebb-metrics-adapter")};
    return true;
  }
  // As Kubernetes' apiservers: keep a pair already in --cert-dir, else generate one there.
  namespace fs = std::filesystem;
  const fs::path dir(o_.cert_dir);
  const fs::path cert = dir / "apiserver.crt", key = dir / "apiserver.key";
  std::error_code ec;
  if (fs::exists(cert, ec) && fs::exists(key, ec)) {
    log_.info("serving the certificate found in --cert-dir", {{"certFile", cert.string()}});
    tls.cert_file = cert.string();
    tls.key_file = key.string();
    return true;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    log_.error("cannot create --cert-dir", {{"certDir", o_.cert_dir}, {"error", ec.message()}});
    return false;
  }
  std::vector<std::string> hosts{"localhost", "127.0.0.1", host_name("ebb-metrics-adapter")};
  if (!o_.bind_address.empty() && o_.bind_address != "0.0.0.0" && o_.bind_address != "::")
    hosts.push_back(o_.bind_address);
  if (auto pod_ip = env("POD_IP"); !pod_ip.empty()) hosts.push_back(pod_ip);
  auto pair = net::make_self_signed_certificate(hosts);
  if (!pair) {
    log_.error("cannot generate a self-signed certificate", {{"error", pair.error().message}});
    return false;
  }
  auto write = [&](const fs::path& path, const std::string& text, mode_t mode) {
    const std::string tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return false;
      ::chmod(tmp.c_str(), mode);  // before the key is written into it
      out << text;
      if (!out.flush()) return false;
    }
    std::error_code rename_error;
    fs::rename(tmp, path, rename_error);
    return !rename_error;
  };
  if (!write(key, pair->second, 0600) || !write(cert, pair->first, 0644)) {
    log_.error("cannot write the self-signed certificate", {{"certDir", o_.cert_dir}});
    return false;
  }
  log_.info("no --tls-cert-file: serving a generated self-signed certificate",
            {{"certFile", cert.string()}, {"hosts", joined(hosts)}});
  tls.cert_file = cert.string();
  tls.key_file = key.string();
  return true;
}

bool AdapterProcess::start_api_server(const AuthenticationConfig& auth) {
  net::ServerTls tls;
  if (!resolve_serving_tls(tls)) return false;
  if (!auth.requestheader_client_ca_pem.empty())
    tls.client_ca_bundles.emplace_back(kRequestHeaderBundle, auth.requestheader_client_ca_pem);
  if (!auth.client_ca_pem.empty())
    tls.client_ca_bundles.emplace_back(kClientCaBundle, auth.client_ca_pem);

  if (!o_.authorization_always_allow) {
    SubjectAccessReviewOptions sar;
    sar.allowed_ttl = o_.authorization_allowed_ttl;
    sar.denied_ttl = o_.authorization_denied_ttl;
    authorizer_ = std::make_unique<SubjectAccessReviewAuthorizer>(client(), sar);
  }
  ExternalMetricsApiOptions api_options;
  api_options.authentication = auth;
  api_options.authorizer = authorizer_.get();
  api_options.always_allow_paths = o_.authorization_always_allow_paths;
  api_options.ready = [this] { return !manager_->stopping() && informers_synced(); };
  api_options.on_request = [this](const std::string& method, const std::string& path, int status,
                                  const std::string& user, double seconds) {
    metrics_->api_request(method, path, status, seconds);
    if (status >= 500) {
      api_log_.warn("request answered with a server error",
                    {{"method", method}, {"path", path}, {"status", status}, {"user", user}});
    } else if (Logger::enabled(LogLevel::debug)) {
      api_log_.debug("request", {{"method", method},
                                 {"path", path},
                                 {"status", status},
                                 {"user", user},
                                 {"ms", static_cast<std::int64_t>(seconds * 1000)}});
    }
  };
  api_ = std::make_unique<ExternalMetricsApi>(*engine_, std::move(api_options));

  net::HttpServerOptions options;
  std::string host = o_.bind_address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  options.bind_address = host + ":" + std::to_string(o_.secure_port);
  options.tls = std::move(tls);
  options.threads = 8;
  options.on_error = [this](std::string_view message) {
    api_log_.warn("server error", {{"error", std::string(message)}});
  };
  auto server = net::HttpServer::start(
      std::move(options), [this](const net::ServerRequest& r) { return api_->handle(r); });
  if (!server) {
    log_.error("cannot start the external metrics API server", {{"bindAddress", o_.bind_address},
                                                                {"securePort", o_.secure_port},
                                                                {"error", server.error().message}});
    return false;
  }
  api_server_ = std::move(*server);
  log_.info("serving", {{"server", "external-metrics-api"},
                        {"url", api_server_->url()},
                        {"port", api_server_->port()}});
  return true;
}

// ---------------------------------------------------------------------------------------------
// Informers

void AdapterProcess::start_informers() {
  std::vector<std::string> scopes = o_.namespaces;
  if (scopes.empty()) scopes.push_back("");  // all namespaces

  std::vector<kube::Informer*> first;  // listed before the ScaledObjects
  {
    std::lock_guard lock(informers_mutex_);
    if (manager_->stopping()) return;
    auto add_auth = [&](kube::Resource resource, const std::string& ns, const std::string& kind,
                        kube::CacheView& view) {
      kube::InformerOptions options;
      options.namespace_name = ns;
      options.transform = kube::strip_bookkeeping;
      auto informer = std::make_unique<kube::Informer>(client(), std::move(resource), options);
      auto changed = [this, kind](const Object& o) {
        const auto auth_ns =
            kind == "ClusterTriggerAuthentication" ? "" : kube::meta_string(o, "namespace");
        engine_->auth_changed(kind, auth_ns, kube::meta_string(o, "name"));
        job_loop_->auth_changed(kind, auth_ns, kube::meta_string(o, "name"));
      };
      informer->add_handlers({
          .on_add = changed,
          .on_update =
              [changed](const Object& a, const Object& b) {
                if (auth_spec_changed(a, b)) changed(b);
              },
          .on_delete = changed,
      });
      view.add(&informer->cache());
      first.push_back(informer.get());
      auth_informers_.push_back(std::move(informer));
    };
    // Scale targets: only what workload_transform keeps (counts, selector, containers' env).
    auto add_workloads = [&](kube::Resource resource, const std::string& ns,
                             kube::CacheView& view) {
      kube::InformerOptions options;
      options.namespace_name = ns;
      options.transform = cluster::workload_transform;
      auto informer = std::make_unique<kube::Informer>(client(), std::move(resource), options);
      view.add(&informer->cache());
      first.push_back(informer.get());
      workload_informers_.push_back(std::move(informer));
    };
    for (const auto& ns : scopes) {
      add_auth(ebb::cluster::trigger_authentications(), ns, "TriggerAuthentication",
               trigger_auths_);
      add_workloads(kube::resources::deployments(), ns, deployments_);
      add_workloads(kube::resources::statefulsets(), ns, statefulsets_);
    }
    add_auth(ebb::cluster::cluster_trigger_authentications(), "", "ClusterTriggerAuthentication",
             cluster_trigger_auths_);
    for (auto* informer : first) informer->start();
  }

  // Bounded: a missing permission or CRD must not keep the ScaledObjects from being served. An
  // object the caches do not hold yet is read from the API server.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (auto* informer : first) {
    while (!manager_->stopping() && Clock::now() < deadline &&
           !informer->wait_for_sync(std::chrono::milliseconds(100))) {
    }
  }
  if (!std::all_of(first.begin(), first.end(), [](auto* i) { return i->has_synced(); }))
    log_.warn(
        "TriggerAuthentication, Deployment or StatefulSet informers not synced after 10s: "
        "starting the ScaledObject informers anyway");

  std::lock_guard lock(informers_mutex_);
  if (manager_->stopping()) return;
  for (const auto& ns : scopes) {
    kube::InformerOptions options;
    options.namespace_name = ns;
    options.label_selector = o_.label_selector;
    // What Ebb never reads (managedFields, last-applied) is not cached.
    options.transform = kube::strip_bookkeeping;
    auto informer =
        std::make_unique<kube::Informer>(client(), ebb::cluster::scaled_objects(), options);
    scaled_objects_.add(&informer->cache());
    kube::Informer* self = informer.get();
    informer->add_handlers({
        .on_add = [this, self](const Object& o) { engine_->upsert(o, self->has_synced()); },
        .on_update = [this, self](const Object&,
                                  const Object& b) { engine_->upsert(b, self->has_synced()); },
        .on_delete = [this](const Object& o) { engine_->remove(o); },
    });
    so_informers_.push_back(std::move(informer));
  }
  for (auto& informer : so_informers_) informer->start();
  start_job_informers(scopes);

  std::thread([this] {
    // An informer that cannot list (CRD missing, RBAC) retries quietly: say so every 30 s, since
    // /readyz stays 503 until then.
    auto next_warning = Clock::now() + std::chrono::seconds(30);
    while (!manager_->stopping() && !informers_synced()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (Clock::now() < next_warning) continue;
      next_warning += std::chrono::seconds(30);
      std::vector<std::string> waiting;
      {
        std::lock_guard guard(informers_mutex_);
        for (std::size_t i = 0; i < auth_informers_.size(); ++i)
          if (!auth_informers_[i]->has_synced())
            waiting.push_back(i + 1 == auth_informers_.size() ? "ClusterTriggerAuthentications"
                                                              : "TriggerAuthentications");
        for (const auto& informer : so_informers_)
          if (!informer->has_synced()) waiting.push_back("ScaledObjects");
      }
      log_.warn(
          "informers have not listed yet: /readyz answers 503 until they do (are the keda.sh CRDs "
          "installed and readable with this kubeconfig?)",
          {{"waitingFor", joined(waiting)}});
    }
    if (manager_->stopping()) return;
    log_.info("informers synced",
              {{"scaledObjects", engine_->objects()}, {"polled", engine_->active_objects()}});
  }).detach();
}

// Called with informers_mutex_ held. ScaledJobs are not part of /readyz: a cluster without the
// ScaledJob CRD (or the RBAC for Jobs) must still be served its external metrics.
void AdapterProcess::start_job_informers(const std::vector<std::string>& scopes) {
  for (const auto& ns : scopes) {
    kube::InformerOptions options;
    options.namespace_name = ns;
    options.label_selector = kScaledJobSelector;
    options.transform = job_transform;
    auto jobs = std::make_unique<kube::Informer>(client(), kube::resources::jobs(), options);
    jobs->add_index(kJobsByScaledJobIndex, jobs_by_scaled_job);
    jobs_view_.add(&jobs->cache());
    job_informers_.push_back(std::move(jobs));
    options.transform = pod_transform;
    auto pods = std::make_unique<kube::Informer>(client(), kube::resources::pods(), options);
    pods->add_index(kPodsByJobIndex, pods_by_job);
    pods_view_.add(&pods->cache());
    job_informers_.push_back(std::move(pods));
  }
  for (const auto& ns : scopes) {
    kube::InformerOptions options;
    options.namespace_name = ns;
    options.label_selector = o_.label_selector;
    auto informer =
        std::make_unique<kube::Informer>(client(), ebb::cluster::scaled_jobs(), options);
    kube::Informer* self = informer.get();
    informer->add_handlers({
        .on_add = [this, self](const Object& o) { job_loop_->upsert(o, self->has_synced()); },
        .on_update = [this, self](const Object&,
                                  const Object& b) { job_loop_->upsert(b, self->has_synced()); },
        .on_delete = [this](const Object& o) { job_loop_->remove(o); },
    });
    sj_informers_.push_back(std::move(informer));
  }
  job_informers_complete_ = true;
  for (auto& informer : job_informers_) informer->start();
  for (auto& informer : sj_informers_) informer->start();
}

bool AdapterProcess::job_caches_synced() const {
  if (!job_informers_complete_) return false;
  return !job_informers_.empty() && std::all_of(job_informers_.begin(), job_informers_.end(),
                                                [](const auto& i) { return i->has_synced(); });
}

bool AdapterProcess::informers_synced() const {
  std::lock_guard lock(informers_mutex_);
  if (so_informers_.empty()) return false;
  auto synced = [](const auto& i) { return i->has_synced(); };
  return std::all_of(so_informers_.begin(), so_informers_.end(), synced) &&
         std::all_of(auth_informers_.begin(), auth_informers_.end(), synced);
}

}  // namespace

int run_adapter(const AdapterOptions& options) {
  // The connection pools may start threads: run_process blocks the signals before they exist.
  return runtime::run_process<AdapterProcess>(options);
}

}  // namespace ebb::adapter::process
