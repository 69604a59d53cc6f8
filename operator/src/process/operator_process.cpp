#include "process/operator_process.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "ebb/process/runtime.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/kube/informer.h"
#include "ebb/kube/leader_election.h"
#include "ebb/kube/work_queue.h"
#include "ebb/net/http_server.h"
#include "ebb/operator/reconciler.h"
#include "ebb/operator/webhook.h"
#include "ebb/scalers/registry.h"
#include "process/filters.h"
#include "process/log.h"
#include "process/metrics.h"

#ifndef EBB_GIT_COMMIT
#define EBB_GIT_COMMIT "unknown"
#endif

namespace ebb::op::process {
namespace {

using ebb::process::bind_disabled;
using ebb::process::host_name;
using ebb::process::random_suffix;
using ebb::process::termination_signals;

using kube::Object;
using Clock = std::chrono::steady_clock;

kube::Resource trigger_authentications() {
  return {"keda.sh", "v1alpha1", "triggerauthentications", "TriggerAuthentication", true, {"status"}};
}
kube::Resource cluster_trigger_authentications() {
  return {"keda.sh", "v1alpha1", "clustertriggerauthentications", "ClusterTriggerAuthentication", false, {"status"}};
}
kube::Resource limit_ranges() { return {"", "v1", "limitranges", "LimitRange", true, {}}; }

class OperatorProcess {
 public:
  explicit OperatorProcess(OperatorOptions options)
      : o_(std::move(options)), metrics_(kOperatorVersion, EBB_GIT_COMMIT) {}

  int run();

 private:
  // --- setup
  bool start_servers();
  void start_informers();
  void start_workers();
  void worker_loop();
  bool informers_synced() const;
  bool ready(std::string& why) const;

  // --- informer handlers
  void enqueue(const std::string& key);
  void enqueue_for_hpa(const Object& hpa);
  void enqueue_same_target(const Object& so);
  void enqueue_referencing(const std::string& kind, const std::string& ns, const std::string& name);

  // --- endpoints
  net::ServerResponse serve_health(const net::ServerRequest& request) const;
  net::ServerResponse serve_metrics(const net::ServerRequest& request) const;
  net::ServerResponse serve_webhook(const net::ServerRequest& request);
  AdmissionLookups admission_lookups();
  bool cache_complete_for(const std::string& ns, bool label_filtered) const;

  void request_stop(int code, const std::string& why);
  int shut_down();

  OperatorOptions o_;
  Logger log_{"setup"};
  Logger controller_log_{"controller.scaledobject"};
  Logger webhook_log_{"webhook"};
  Logger election_log_{"leader-election"};
  OperatorMetrics metrics_;
  std::string identity_;

  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::Client> lease_client_;  // own rate limiter: renewals never wait behind reconciles
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<ScaledObjectReconciler> reconciler_;
  kube::WorkQueue queue_;

  // Merged caches over every watched namespace (one informer per namespace, or one for all).
  kube::ObjectCache scaled_objects_, hpas_, trigger_auths_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
  kube::Informer* cluster_trigger_auths_ = nullptr;

  std::unique_ptr<kube::LeaderElector> elector_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> workers_started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_workers_{0};
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;

  std::unique_ptr<net::HttpServer> health_server_, metrics_server_, webhook_server_;
  std::vector<std::string> supported_types_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
  int exit_code_ = 0;
  std::string stop_reason_;
};

// ---------------------------------------------------------------------------------------------

int OperatorProcess::run() {
  LogLevel level = LogLevel::info;
  parse_log_level(o_.log_level, level);
  Logger::set_level(level);

  const sigset_t signals = termination_signals();
  auto config = kube::load_config(o_.kubeconfig, o_.context);
  if (!config) {
    log_.error("cannot load the Kubernetes client configuration", {{"error", config.error().message}});
    return 1;
  }
  identity_ = host_name("ebb-operator") + "_" + random_suffix();
  if (o_.leader_election_namespace.empty()) {
    o_.leader_election_namespace = pod_namespace();
    if (o_.leader_election_namespace.empty()) o_.leader_election_namespace = "default";
  }

  kube::RestOptions rest;
  rest.qps = o_.kube_api_qps;
  rest.burst = o_.kube_api_burst;
  rest.user_agent = std::string("ebb-operator/") + kOperatorVersion;
  client_ = std::make_unique<kube::Client>(*config, rest);
  kube::RestOptions lease_rest;
  lease_rest.qps = 20;
  lease_rest.burst = 40;
  lease_rest.user_agent = rest.user_agent + " leader-election";
  lease_rest.timeout = std::max(o_.renew_deadline / 2, std::chrono::milliseconds(1000));
  lease_client_ = std::make_unique<kube::Client>(*config, lease_rest);

  events_ = std::make_unique<kube::EventRecorder>(*client_,
                                                  kube::EventRecorderOptions{"keda.sh/ebb-operator", identity_});
  supported_types_ = scalers::Registry::builtin().types();
  ReconcilerOptions ropts;
  ropts.supported_types = supported_types_;
  ropts.version = kOperatorVersion;
  ReconcilerCaches caches;
  // With a label selector the ScaledObject cache holds only this shard, but ownership conflicts
  // must see every ScaledObject of the namespace: then the reconciler reads them from the API.
  if (o_.label_selector.empty()) caches.scaled_objects = &scaled_objects_;
  caches.hpas = &hpas_;
  reconciler_ = std::make_unique<ScaledObjectReconciler>(*client_, *events_, ropts, caches);

  std::string watched;
  for (const auto& ns : o_.namespaces) watched += (watched.empty() ? "" : ",") + ns;
  log_.info("starting ebb-operator",
            {{"version", kOperatorVersion},
             {"server", config->server},
             {"namespaces", watched.empty() ? std::string("(all)") : watched},
             {"labelSelector", o_.label_selector},
             {"leaderElect", o_.leader_elect},
             {"identity", identity_},
             {"concurrentReconciles", o_.concurrent_reconciles}});

  if (!start_servers()) return 1;

  std::thread([this, signals] {
    int count = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (++count == 1) {
        request_stop(0, sig == SIGTERM ? "SIGTERM" : "SIGINT");
      } else {
        log_.warn("second signal: exiting without waiting for in-flight reconciles");
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
  }).detach();

  start_informers();

  if (o_.leader_elect) {
    kube::LeaderElectionConfig lc;
    lc.lease_namespace = o_.leader_election_namespace;
    lc.lease_name = o_.leader_election_id;
    lc.identity = identity_;
    lc.lease_duration = o_.lease_duration;
    lc.renew_deadline = o_.renew_deadline;
    lc.retry_period = o_.retry_period;
    lc.release_on_stop = true;
    lc.on_started_leading = [this] {
      election_log_.info("started leading", {{"lease", o_.leader_election_namespace + "/" + o_.leader_election_id},
                                             {"identity", identity_}});
      leading_ = true;
      start_workers();
    };
    lc.on_stopped_leading = [this] {
      leading_ = false;
      if (stopping_) return;  // our own release on shutdown
      // Another process may be writing already; a clean restart is the safe way back (as
      // controller-runtime does), and the work queue cannot be restarted in place.
      request_stop(1, "leader election lost");
    };
    lc.on_new_leader = [this](const std::string& id) {
      if (id != identity_) election_log_.info("new leader observed", {{"identity", id}});
    };
    election_log_.info("waiting for the lease", {{"lease", o_.leader_election_namespace + "/" + o_.leader_election_id},
                                                 {"identity", identity_}});
    elector_ = std::make_unique<kube::LeaderElector>(*lease_client_, lc);
    elector_->start();
  } else {
    leading_ = true;
    start_workers();
  }

  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [&] { return stop_requested_; });
  }
  return shut_down();
}

void OperatorProcess::request_stop(int code, const std::string& why) {
  std::lock_guard lock(stop_mutex_);
  if (stop_requested_) return;
  stop_requested_ = true;
  exit_code_ = code;
  stop_reason_ = why;
  stop_cv_.notify_all();
}

int OperatorProcess::shut_down() {
  std::string reason;
  int code = 0;
  {
    std::lock_guard lock(stop_mutex_);
    reason = stop_reason_;
    code = exit_code_;
  }
  (code == 0 ? log_.info("shutting down", {{"reason", reason}}) : log_.error("shutting down", {{"reason", reason}}));
  const auto started = Clock::now();
  stopping_ = true;
  // No new keys are handed out; workers finish the reconcile they are in, then return.
  queue_.shut_down();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  log_.info("workers stopped", {{"elapsedMs", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  Clock::now() - started).count()}});
  if (elector_) {
    const bool was_leading = elector_->is_leader();
    elector_->stop();  // releases the Lease when leading
    if (was_leading) election_log_.info("lease released", {{"lease", o_.leader_election_namespace + "/" + o_.leader_election_id}});
  }
  for (auto* server : {&webhook_server_, &metrics_server_, &health_server_})
    if (*server) (*server)->stop(std::chrono::seconds(2));
  log_.info("stopped", {{"exitCode", code}});
  std::fflush(stderr);
  std::fflush(stdout);
  // Informer threads can sit in a watch until the next bookmark; nothing they hold needs
  // flushing, so leave without joining them.
  std::_Exit(code);
}

// ---------------------------------------------------------------------------------------------
// Informers and the work queue

void OperatorProcess::enqueue(const std::string& key) {
  if (stopping_) return;
  queue_.add(key);
  metrics_.queue_added();
}

void OperatorProcess::enqueue_same_target(const Object& so) {
  // Another ScaledObject of the same target may have lost an ownership conflict to this one.
  const std::string target = scale_target_name(so);
  if (target.empty()) return;
  const std::string key = kube::object_key(so);
  for (const auto& other : scaled_objects_.by_namespace(kube::meta_string(so, "namespace")))
    if (scale_target_name(other) == target && kube::object_key(other) != key) enqueue(kube::object_key(other));
}

void OperatorProcess::enqueue_for_hpa(const Object& hpa) {
  if (auto owner = ScaledObjectReconciler::owner_key(hpa)) {
    if (scaled_objects_.get(*owner)) enqueue(*owner);  // only ScaledObjects of this shard
    return;
  }
  // A foreign HPA: the ScaledObjects of the same target wait for it to go (or to be adopted).
  const std::string target = scale_target_name(hpa);
  if (target.empty()) return;
  for (const auto& so : scaled_objects_.by_namespace(kube::meta_string(hpa, "namespace")))
    if (scale_target_name(so) == target) enqueue(kube::object_key(so));
}

void OperatorProcess::enqueue_referencing(const std::string& kind, const std::string& ns, const std::string& name) {
  for (const auto& key : ScaledObjectReconciler::keys_referencing(scaled_objects_, kind, ns, name)) enqueue(key);
}

void OperatorProcess::start_informers() {
  std::vector<std::string> scopes = o_.namespaces;
  if (scopes.empty()) scopes.push_back("");  // all namespaces

  for (const auto& ns : scopes) {
    kube::InformerOptions so_options;
    so_options.namespace_name = ns;
    so_options.label_selector = o_.label_selector;
    auto so = std::make_unique<kube::Informer>(*client_, kube::resources::scaled_objects(), so_options);
    so->add_handlers({
        .on_add =
            [this](const Object& o) {
              scaled_objects_.upsert(o);
              enqueue(kube::object_key(o));
            },
        .on_update =
            [this](const Object& a, const Object& b) {
              scaled_objects_.upsert(b);
              if (scaled_object_update_matters(a, b)) enqueue(kube::object_key(b));
              if (scale_target_name(a) != scale_target_name(b)) enqueue_same_target(a);
            },
        .on_delete =
            [this](const Object& o) {
              const std::string key = kube::object_key(o);
              scaled_objects_.erase(key);
              metrics_.forget_scaled_object(kube::meta_string(o, "namespace"), kube::meta_string(o, "name"));
              enqueue(key);
              enqueue_same_target(o);
            },
    });
    informers_.push_back(std::move(so));

    kube::InformerOptions options;
    options.namespace_name = ns;
    auto hpa = std::make_unique<kube::Informer>(*client_, kube::resources::horizontal_pod_autoscalers(), options);
    hpa->add_handlers({
        .on_add =
            [this](const Object& h) {
              hpas_.upsert(h);
              enqueue_for_hpa(h);
            },
        .on_update =
            [this](const Object& a, const Object& b) {
              hpas_.upsert(b);
              if (!hpa_update_matters(a, b)) return;
              enqueue_for_hpa(b);
              if (ScaledObjectReconciler::owner_key(a) != ScaledObjectReconciler::owner_key(b)) enqueue_for_hpa(a);
            },
        .on_delete =
            [this](const Object& h) {
              hpas_.erase(kube::object_key(h));
              enqueue_for_hpa(h);
            },
    });
    informers_.push_back(std::move(hpa));

    auto ta = std::make_unique<kube::Informer>(*client_, trigger_authentications(), options);
    auto ta_changed = [this](const Object& t) {
      enqueue_referencing("TriggerAuthentication", kube::meta_string(t, "namespace"), kube::meta_string(t, "name"));
    };
    ta->add_handlers({
        .on_add =
            [this, ta_changed](const Object& t) {
              trigger_auths_.upsert(t);
              ta_changed(t);
            },
        .on_update =
            [this, ta_changed](const Object& a, const Object& b) {
              trigger_auths_.upsert(b);
              if (auth_update_matters(a, b)) ta_changed(b);
            },
        .on_delete =
            [this, ta_changed](const Object& t) {
              trigger_auths_.erase(kube::object_key(t));
              ta_changed(t);
            },
    });
    informers_.push_back(std::move(ta));
  }

  auto cta = std::make_unique<kube::Informer>(*client_, cluster_trigger_authentications(), kube::InformerOptions{});
  auto cta_changed = [this](const Object& t) {
    enqueue_referencing("ClusterTriggerAuthentication", "", kube::meta_string(t, "name"));
  };
  cta->add_handlers({
      .on_add = cta_changed,
      .on_update =
          [cta_changed](const Object& a, const Object& b) {
            if (auth_update_matters(a, b)) cta_changed(b);
          },
      .on_delete = cta_changed,
  });
  cluster_trigger_auths_ = cta.get();
  informers_.push_back(std::move(cta));

  for (auto& informer : informers_) informer->start();
}

bool OperatorProcess::informers_synced() const {
  return std::all_of(informers_.begin(), informers_.end(), [](const auto& i) { return i->has_synced(); });
}

void OperatorProcess::start_workers() {
  std::lock_guard lock(workers_mutex_);
  if (workers_started_ || stopping_) return;
  workers_started_ = true;
  for (int i = 0; i < o_.concurrent_reconciles; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void OperatorProcess::worker_loop() {
  // Decisions such as "is there a foreign HPA for this target" need complete caches, so no
  // reconcile runs before every informer has listed once.
  while (!stopping_ && !informers_synced()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  while (auto key = queue_.get()) {
    if (stopping_) {
      queue_.done(*key);
      break;
    }
    metrics_.set_active_workers(++active_workers_);
    const auto started = Clock::now();
    runtime::ReconcileResult result;
    try {
      result = reconciler_->reconcile(*key);
    } catch (const std::exception& e) {
      result.error = std::string("reconcile failed unexpectedly: ") + e.what();
    } catch (...) {
      result.error = "reconcile failed unexpectedly";
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    const auto [ns, name] = kube::split_key(*key);
    ReconcileOutcome outcome = ReconcileOutcome::success;
    if (!result.ok()) {
      outcome = ReconcileOutcome::error;
      queue_.add_rate_limited(*key);
      metrics_.queue_retried();
      controller_log_.error("reconcile failed", {{"namespace", ns},
                                                 {"name", name},
                                                 {"error", result.error},
                                                 {"retries", queue_.requeues(*key)},
                                                 {"seconds", seconds}});
    } else {
      queue_.forget(*key);
      if (result.requeue_after && result.requeue_after->count() > 0) {
        outcome = ReconcileOutcome::requeue_after;
        queue_.add_after(*key, *result.requeue_after);
      }
      controller_log_.debug("reconciled", {{"namespace", ns},
                                           {"name", name},
                                           {"seconds", seconds},
                                           {"requeueAfterMs", result.requeue_after ? result.requeue_after->count() : 0}});
    }
    metrics_.reconciled(ns, name, outcome, seconds);
    queue_.done(*key);
    metrics_.set_active_workers(--active_workers_);
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

bool OperatorProcess::start_servers() {
  auto start = [&](const char* what, net::HttpServerOptions options, net::RequestHandler handler,
                   std::unique_ptr<net::HttpServer>& out) {
    const std::string bind = options.bind_address;
    options.on_error = [this, what](std::string_view message) {
      log_.warn("server error", {{"server", what}, {"error", std::string(message)}});
    };
    auto server = net::HttpServer::start(std::move(options), std::move(handler));
    if (!server) {
      log_.error("cannot start server", {{"server", what}, {"bindAddress", bind}, {"error", server.error().message}});
      return false;
    }
    out = std::move(*server);
    log_.info("serving", {{"server", what}, {"url", out->url()}});
    return true;
  };

  if (!bind_disabled(o_.health_probe_bind_address)) {
    net::HttpServerOptions options;
    options.bind_address = o_.health_probe_bind_address;
    options.threads = 2;
    if (!start("health", options, [this](const net::ServerRequest& r) { return serve_health(r); }, health_server_))
      return false;
  }
  if (!bind_disabled(o_.metrics_bind_address)) {
    net::HttpServerOptions options;
    options.bind_address = o_.metrics_bind_address;
    options.threads = 2;
    if (!start("metrics", options, [this](const net::ServerRequest& r) { return serve_metrics(r); }, metrics_server_))
      return false;
  }
  if (o_.webhook_port != 0) {
    net::HttpServerOptions options;
    options.bind_address = o_.webhook_host + ":" + std::to_string(o_.webhook_port);
    if (o_.webhook_host.find(':') != std::string::npos)
      options.bind_address = "[" + o_.webhook_host + "]:" + std::to_string(o_.webhook_port);
    net::ServerTls tls;
    if (!o_.webhook_cert_dir.empty()) {
      tls.cert_file = o_.webhook_cert_dir + "/tls.crt";
      tls.key_file = o_.webhook_cert_dir + "/tls.key";
    } else if (!o_.webhook_cert_file.empty()) {
      tls.cert_file = o_.webhook_cert_file;
      tls.key_file = o_.webhook_key_file;
    } else {
      tls.self_signed_hosts = {"localhost", "127.0.0.1", host_name("ebb-operator")};
      if (!o_.webhook_host.empty()) tls.self_signed_hosts.push_back(o_.webhook_host);
      log_.info("no webhook certificate given: serving a self-signed one");
    }
    options.tls = tls;
    if (!start("webhook", options, [this](const net::ServerRequest& r) { return serve_webhook(r); }, webhook_server_))
      return false;
  }
  return true;
}

bool OperatorProcess::ready(std::string& why) const {
  if (!informers_synced()) {
    why = "informers not synced";
    return false;
  }
  if (stopping_) {
    why = "shutting down";
    return false;
  }
  if (leading_ && !workers_started_) {
    why = "workers not started";
    return false;
  }
  return true;
}

net::ServerResponse OperatorProcess::serve_health(const net::ServerRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") return net::ServerResponse::text(405, "method not allowed\n");
  if (request.path == "/healthz" || request.path == "/livez") return net::ServerResponse::text(200, "ok\n");
  if (request.path == "/readyz") {
    std::string why;
    if (ready(why)) return net::ServerResponse::text(200, "ok\n");
    return net::ServerResponse::text(503, why + "\n");
  }
  return net::ServerResponse::text(404, "not found\n");
}

net::ServerResponse OperatorProcess::serve_metrics(const net::ServerRequest& request) const {
  if (request.path != "/metrics") return net::ServerResponse::text(404, "not found\n");
  if (request.method != "GET" && request.method != "HEAD") return net::ServerResponse::text(405, "method not allowed\n");
  ClusterSnapshot s;
  for (const auto& so : scaled_objects_.list()) {
    const std::string ns = kube::meta_string(so, "namespace"), name = kube::meta_string(so, "name");
    s.scaled_objects_by_namespace[ns]++;
    if (so.contains("spec") && so["spec"].is_object()) {
      const auto triggers = so["spec"].value("triggers", Object::array());
      if (triggers.is_array())
        for (const auto& t : triggers)
          if (t.is_object() && t.contains("type") && t["type"].is_string()) s.triggers_by_type[t["type"].get<std::string>()]++;
    }
    auto paused = condition(so, "Paused");
    s.paused.emplace_back(ns, name, paused && paused->value("status", "") == "True");
  }
  for (const auto& ta : trigger_auths_.list()) s.trigger_authentications_by_namespace[kube::meta_string(ta, "namespace")]++;
  if (cluster_trigger_auths_ != nullptr)
    s.cluster_trigger_authentications = static_cast<int>(cluster_trigger_auths_->cache().size());
  s.queue_depth = queue_.length();
  s.leader = leading_;
  auto response = net::ServerResponse::text(200, metrics_.render(s));
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

bool OperatorProcess::cache_complete_for(const std::string& ns, bool label_filtered) const {
  if (label_filtered && !o_.label_selector.empty()) return false;
  if (!informers_synced()) return false;
  return o_.namespaces.empty() || std::find(o_.namespaces.begin(), o_.namespaces.end(), ns) != o_.namespaces.end();
}

AdmissionLookups OperatorProcess::admission_lookups() {
  AdmissionLookups lookups;
  lookups.supported_types = supported_types_;
  lookups.scaled_objects = [this](const std::string& ns) -> std::vector<Json> {
    if (cache_complete_for(ns, true)) return scaled_objects_.by_namespace(ns);
    auto list = client_->list_all(kube::resources::scaled_objects(), ns);
    if (!list) {
      webhook_log_.warn("cannot list ScaledObjects", {{"namespace", ns}, {"error", list.error().message}});
      return {};
    }
    return list->items;
  };
  lookups.hpas = [this](const std::string& ns) -> std::vector<Json> {
    if (cache_complete_for(ns, false)) return hpas_.by_namespace(ns);
    auto list = client_->list_all(kube::resources::horizontal_pod_autoscalers(), ns);
    if (!list) {
      webhook_log_.warn("cannot list HPAs", {{"namespace", ns}, {"error", list.error().message}});
      return {};
    }
    return list->items;
  };
  lookups.workload = [this](const std::string& api_version, const std::string& kind, const std::string& ns,
                            const std::string& name) -> std::optional<Json> {
    const auto gv = kube::GroupVersion::parse(api_version);
    auto resource = client_->discovery().resource_for(kube::GroupVersionKind{gv.group, gv.version, kind});
    if (!resource) return std::nullopt;
    auto object = client_->get(*resource, ns, name);
    if (!object) {
      if (!object.error().not_found())
        webhook_log_.warn("cannot read the scale target",
                          {{"namespace", ns}, {"name", name}, {"kind", kind}, {"error", object.error().message}});
      return std::nullopt;
    }
    return *object;
  };
  lookups.limit_ranges = [this](const std::string& ns) -> std::vector<Json> {
    auto list = client_->list_all(limit_ranges(), ns);
    if (!list) return {};
    return list->items;
  };
  return lookups;
}

net::ServerResponse OperatorProcess::serve_webhook(const net::ServerRequest& request) {
  const bool known = request.path == kScaledObjectWebhookPath || request.path == kTriggerAuthenticationWebhookPath ||
                     request.path == kClusterTriggerAuthenticationWebhookPath;
  if (!known) return net::ServerResponse::text(404, "not found\n");
  if (request.method != "POST") return net::ServerResponse::text(405, "method not allowed: use POST\n");
  Json review;
  try {
    review = Json::parse(request.body);
  } catch (const std::exception&) {
    return net::ServerResponse::text(400, "the body is not JSON: expected an admission.k8s.io/v1 AdmissionReview\n");
  }
  if (!review.is_object() || review.value("kind", "") != "AdmissionReview" || !review.contains("request") ||
      !review["request"].is_object() || !review["request"].contains("uid") || !review["request"]["uid"].is_string())
    return net::ServerResponse::text(400, "expected an admission.k8s.io/v1 AdmissionReview with request.uid\n");

  std::optional<AdmissionOutcome> outcome;
  try {
    outcome = op::review(request.path, review, admission_lookups());
  } catch (const std::exception& e) {
    webhook_log_.error("admission review failed", {{"path", request.path}, {"error", e.what()}});
    return net::ServerResponse::text(500, "internal error\n");
  }
  if (!outcome) return net::ServerResponse::text(404, "not found\n");
  if (request.path == kScaledObjectWebhookPath)
    metrics_.scaled_object_validation(outcome->ns, outcome->action, outcome->allowed, outcome->reason);
  const auto& req = review["request"];
  const std::string name = req.value("name", "");
  if (outcome->allowed) {
    webhook_log_.debug("admitted", {{"path", request.path}, {"namespace", outcome->ns}, {"name", name}});
  } else {
    webhook_log_.info("denied", {{"path", request.path},
                                 {"namespace", outcome->ns},
                                 {"name", name},
                                 {"action", outcome->action},
                                 {"reason", outcome->reason}});
  }
  return net::ServerResponse::json(200, outcome->review.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

int run_operator(const OperatorOptions& options) {
  // Never destroyed: shut_down() exits the process. Held by a global so leak checkers see it
  // as reachable when run() returns early with an error.
  // Signals are taken by one thread with sigwait. They must be blocked before the first thread
  // exists (the work queue starts one in the constructor): every thread inherits the mask, and
  // a thread without it would take the default action and kill the process.
  const sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  static OperatorProcess* process = nullptr;
  process = new OperatorProcess(options);
  return process->run();
}

}  // namespace ebb::op::process
