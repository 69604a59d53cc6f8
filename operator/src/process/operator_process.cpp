#include "process/operator_process.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/json.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/kube/informer.h"
#include "ebb/net/http_server.h"
#include "ebb/operator/ownership.h"
#include "ebb/operator/reconciler.h"
#include "ebb/operator/webhook.h"
#include "ebb/process/runtime.h"
#include "ebb/runtime/controller.h"
#include "ebb/runtime/manager.h"
#include "ebb/scalers/registry.h"
#include "process/auth_status.h"
#include "process/certificates.h"
#include "process/filters.h"
#include "process/log.h"
#include "process/metrics.h"

#ifndef EBB_GIT_COMMIT
#define EBB_GIT_COMMIT "unknown"
#endif

namespace ebb::op::process {
namespace {

using kube::Object;

kube::Resource limit_ranges() { return {"", "v1", "limitranges", "LimitRange", true, {}}; }

runtime::ManagerOptions manager_options(const OperatorOptions& o) {
  auto m = runtime::ManagerOptions::from(o, "ebb-operator", kOperatorVersion, EBB_GIT_COMMIT);
  m.build_info_metric = "keda_build_info";
  // Another process may be writing already; a clean restart is the safe way back (as
  // controller-runtime does), and the work queue cannot be restarted in place.
  m.leader_election.on_loss = runtime::LeaseLoss::exit_process;
  m.health.bind_address = o.health_probe_bind_address;
  m.shutdown.in_flight = "reconciles";
  return m;
}

// What is the operator's own: informers and their handlers, the reconciler behind a
// runtime::Controller, the admission webhook and the cluster gauges. The lifecycle (clients,
// signals, health and metrics servers, leader election, shutdown) is the runtime::Manager's.
class OperatorProcess {
 public:
  explicit OperatorProcess(OperatorOptions options) : o_(std::move(options)) {}
  ~OperatorProcess() {
    closing_ = true;
    if (scaled_jobs_synced_thread_.joinable()) scaled_jobs_synced_thread_.join();
  }

  int run();

 private:
  bool start_webhook();
  bool add_cert_rotation();
  void create_informers();
  void create_scaled_job_informers(const std::vector<std::string>& scopes);
  void start_scaled_job_informers();
  bool informers_synced() const;
  bool scaled_jobs_synced() const;
  ClusterSnapshot snapshot() const;

  // --- informer handlers
  void enqueue(const std::string& key);
  void enqueue_for_hpa(const Object& hpa);
  void enqueue_same_target(const Object& so);
  void enqueue_referencing(const std::string& kind, const std::string& ns, const std::string& name);
  // status.scaledobjects/scaledjobs of the auth objects these keys (the auth index's) name.
  void enqueue_auth_status(const std::vector<std::string>& auth_keys);

  // --- the webhook
  net::ServerResponse serve_webhook(const net::ServerRequest& request);
  AdmissionLookups admission_lookups();
  bool cache_complete_for(const std::string& ns, bool label_filtered) const;

  OperatorOptions o_;
  Logger log_{"setup"};
  Logger webhook_log_{"webhook"};
  std::unique_ptr<runtime::Manager> manager_;
  std::unique_ptr<OperatorMetrics> metrics_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<ScaledObjectReconciler> reconciler_;
  std::unique_ptr<runtime::Controller> controller_;
  std::unique_ptr<CertificateRotator> cert_rotator_;
  std::unique_ptr<AuthStatusReconciler> auth_status_;
  std::unique_ptr<runtime::Controller> auth_status_controller_;  // null with --label-selector

  // Reads over every watched namespace (one informer per namespace, or one for all); each
  // object is stored once, in its informer's cache.
  kube::CacheView scaled_objects_, hpas_, trigger_auths_, cluster_trigger_auths_view_, deployments_, statefulsets_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
  kube::Informer* cluster_trigger_auths_ = nullptr;
  // ScaledJobs, for status.scaledjobs of the auth objects only (the adapter runs them). Not part
  // of readiness or of the controllers' cache gate: a cluster without the ScaledJob CRD is still
  // served; until they have listed, status.scaledjobs is left as it is.
  kube::CacheView scaled_jobs_;
  std::vector<std::unique_ptr<kube::Informer>> scaled_job_informers_;
  std::thread scaled_jobs_synced_thread_;
  std::atomic<bool> closing_{false};
};

// ---------------------------------------------------------------------------------------------

int OperatorProcess::run() {
  manager_ = runtime::Manager::create(manager_options(o_));
  if (!manager_) return 1;
  kube::Client& client = manager_->client();
  const std::string cluster_object_namespace =
      ebb::process::cluster_object_namespace(o_.cluster_object_namespace);

  events_ = std::make_unique<kube::EventRecorder>(
      client, kube::EventRecorderOptions{"keda.sh/ebb-operator", manager_->identity()});
  ReconcilerOptions ropts;
  ropts.version = kOperatorVersion;
  ropts.cluster_object_namespace = cluster_object_namespace;
  create_informers();
  ReconcilerCaches caches;
  // With a label selector the ScaledObject cache holds only this shard, but ownership conflicts
  // must see every ScaledObject of the namespace: then the reconciler reads them from the API.
  if (o_.label_selector.empty()) caches.scaled_objects = &scaled_objects_;
  caches.hpas = &hpas_;
  caches.workloads = {&deployments_, &statefulsets_};
  caches.trigger_authentications = &trigger_auths_;
  caches.cluster_trigger_authentications = &cluster_trigger_auths_view_;
  reconciler_ = std::make_unique<ScaledObjectReconciler>(client, *events_, ropts, caches);

  metrics_ = std::make_unique<OperatorMetrics>(manager_->metrics(), [this] { return snapshot(); });
  runtime::ControllerOptions copts;
  copts.name = kControllerName;
  copts.workers = o_.concurrent_reconciles;
  // Decisions such as "is there a foreign HPA for this target" need complete caches.
  copts.caches = {{"informers", [this] { return informers_synced(); }}};
  copts.on_result = [this](const std::string& key, const runtime::ReconcileResult& result) {
    if (result.ok()) return;
    const auto [ns, name] = kube::split_key(key);
    metrics_->reconcile_failed(ns, name);
  };
  controller_ = std::make_unique<runtime::Controller>(copts, *reconciler_, manager_->metrics());
  if (o_.label_selector.empty()) {
    auth_status_ = std::make_unique<AuthStatusReconciler>(
        client, scaled_objects_, scaled_jobs_, trigger_auths_, cluster_trigger_auths_view_,
        [this] { return scaled_jobs_synced(); });
    runtime::ControllerOptions aopts;
    aopts.name = "triggerauthentication";
    aopts.workers = 1;
    aopts.caches = {{"informers", [this] { return informers_synced(); }}};
    auth_status_controller_ =
        std::make_unique<runtime::Controller>(aopts, *auth_status_, manager_->metrics());
  }

  std::string watched;
  for (const auto& ns : o_.namespaces) watched += (watched.empty() ? "" : ",") + ns;
  log_.info("starting ebb-operator",
            {{"version", kOperatorVersion},
             {"server", manager_->config().server},
             {"namespaces", watched.empty() ? std::string("(all)") : watched},
             {"labelSelector", o_.label_selector},
             {"leaderElect", o_.leader_elect},
             {"identity", manager_->identity()},
             {"concurrentReconciles", o_.concurrent_reconciles},
             {"clusterObjectNamespace", cluster_object_namespace}});

  manager_->add_readiness_check("informers", [this]() -> std::string {
    return informers_synced() ? "" : "informers not synced";
  });
  // Workers only while leading; informers, webhook, health and metrics on every instance.
  manager_->add_controller(*controller_);
  if (auth_status_controller_) manager_->add_controller(*auth_status_controller_);
  manager_->add_runnable("informers", runtime::Manager::RunWhen::always, [this] {
    for (auto& informer : informers_) informer->start();
    start_scaled_job_informers();
  });
  manager_->add_stop_step("", [this] {
    closing_ = true;
    if (scaled_jobs_synced_thread_.joinable()) scaled_jobs_synced_thread_.join();
  });
  if (!add_cert_rotation()) return 1;
  if (!manager_->start_servers()) return 1;
  if (!start_webhook()) return 1;
  return manager_->run();
}

// ---------------------------------------------------------------------------------------------
// Informers and the work queue

void OperatorProcess::enqueue(const std::string& key) {
  controller_->enqueue(key);
}

void OperatorProcess::enqueue_auth_status(const std::vector<std::string>& auth_keys) {
  if (!auth_status_controller_) return;
  for (const auto& key : auth_keys) auth_status_controller_->enqueue(key);
}

void OperatorProcess::enqueue_same_target(const Object& so) {
  // Another ScaledObject of the same target (or HPA name) may have lost an ownership conflict
  // to this one.
  const std::string key = kube::object_key(so);
  for (const auto& index_key : scaled_object_ownership_keys(so))
    for (const auto& other : scaled_objects_.indexed_keys(kOwnershipIndex, index_key))
      if (other != key) enqueue(other);
}

void OperatorProcess::enqueue_for_hpa(const Object& hpa) {
  if (auto owner = ScaledObjectReconciler::owner_key(hpa)) {
    if (scaled_objects_.find(*owner)) enqueue(*owner);  // only ScaledObjects of this shard
    return;
  }
  // A foreign HPA: the ScaledObjects of the same target wait for it to go (or to be adopted).
  for (const auto& index_key : hpa_ownership_keys(hpa))
    if (index_key.rfind("target:", 0) == 0)
      for (const auto& so : scaled_objects_.indexed_keys(kOwnershipIndex, index_key)) enqueue(so);
}

void OperatorProcess::enqueue_referencing(const std::string& kind, const std::string& ns,
                                          const std::string& name) {
  for (const auto& key : ScaledObjectReconciler::keys_referencing(scaled_objects_, kind, ns, name))
    enqueue(key);
}

// What the operator reads of each kind, filed under the indexes its lookups use. Built before
// the servers start, started by the Manager's "informers" runnable: readiness and the webhook
// read them from other threads, so the list never changes once they run.
namespace {

// Index of ScaledObjects and ScaledJobs by trigger type (keda_trigger_registered_total, which
// KEDA counts over both kinds) and of the paused ScaledObjects
// (keda_scaled_object_paused), so the metrics read counts instead of every object.
constexpr const char* kTriggerTypeIndex = "trigger-type";
constexpr const char* kPausedIndex = "paused";

std::vector<std::string> trigger_types_of(const Object& so) {
  std::vector<std::string> out;
  const auto& triggers = json_at(so, {"spec", "triggers"});
  // One value per trigger ("redis#0", "redis#1"): an object with two redis triggers counts two.
  if (triggers.is_array())
    for (std::size_t i = 0; i < triggers.size(); ++i)
      if (auto type = json_string(triggers[i], {"type"}); !type.empty()) out.push_back(type + "#" + std::to_string(i));
  return out;
}

std::vector<std::string> paused_of(const Object& so) {
  auto paused = condition(so, "Paused");
  if (paused && paused->value("status", "") == "True") return {"true"};
  return {};
}

// HPAs: the status the controller manager keeps rewriting (current metrics, replicas) is not
// read here; its conditions are (HPAActive mirrors ScalingActive).
void hpa_transform(Object& hpa) {
  kube::strip_bookkeeping(hpa);
  if (auto status = hpa.find("status"); status != hpa.end() && status->is_object()) {
    Object kept = Object::object();
    if (status->contains("conditions")) kept["conditions"] = std::move((*status)["conditions"]);
    *status = std::move(kept);
  }
}

}  // namespace

void OperatorProcess::create_informers() {
  kube::Client& client = manager_->client();
  std::vector<std::string> scopes = o_.namespaces;
  if (scopes.empty()) scopes.push_back("");  // all namespaces

  auto add = [&](const kube::Resource& resource, const std::string& ns, std::function<void(Object&)> transform,
                 kube::CacheView& view, const std::string& selector = "") -> kube::Informer& {
    kube::InformerOptions options;
    options.namespace_name = ns;
    options.label_selector = selector;
    options.transform = std::move(transform);
    informers_.push_back(std::make_unique<kube::Informer>(client, resource, options));
    view.add(&informers_.back()->cache());
    return *informers_.back();
  };

  for (const auto& ns : scopes) {
    auto& so = add(ebb::cluster::scaled_objects(), ns, kube::strip_bookkeeping, scaled_objects_, o_.label_selector);
    so.add_index(kOwnershipIndex, scaled_object_ownership_keys);
    so.add_index(kAuthIndex, auth_reference_keys);
    so.add_index(kTriggerTypeIndex, trigger_types_of);
    so.add_index(kPausedIndex, paused_of);
    so.add_handlers({
        .on_add =
            [this](const Object& o) {
              enqueue(kube::object_key(o));
              enqueue_auth_status(auth_reference_keys(o));
            },
        .on_update =
            [this](const Object& a, const Object& b) {
              if (scaled_object_update_matters(a, b)) enqueue(kube::object_key(b));
              if (scaled_object_ownership_keys(a) != scaled_object_ownership_keys(b))
                enqueue_same_target(a);
              if (auto before = auth_reference_keys(a), after = auth_reference_keys(b);
                  before != after) {
                enqueue_auth_status(before);
                enqueue_auth_status(after);
              }
            },
        .on_delete =
            [this](const Object& o) {
              enqueue_auth_status(auth_reference_keys(o));
              const std::string key = kube::object_key(o);
              metrics_->forget_scaled_object(kube::meta_string(o, "namespace"), kube::meta_string(o, "name"));
              enqueue(key);
              enqueue_same_target(o);
            },
    });

    auto& hpa = add(kube::resources::horizontal_pod_autoscalers(), ns, hpa_transform, hpas_);
    hpa.add_index(kOwnershipIndex, hpa_ownership_keys);
    hpa.add_handlers({
        .on_add = [this](const Object& h) { enqueue_for_hpa(h); },
        .on_update =
            [this](const Object& a, const Object& b) {
              if (!hpa_update_matters(a, b)) return;
              enqueue_for_hpa(b);
              if (ScaledObjectReconciler::owner_key(a) != ScaledObjectReconciler::owner_key(b)) enqueue_for_hpa(a);
            },
        .on_delete = [this](const Object& h) { enqueue_for_hpa(h); },
    });

    auto& ta = add(ebb::cluster::trigger_authentications(), ns, kube::strip_bookkeeping, trigger_auths_);
    auto ta_changed = [this](const Object& t) {
      enqueue_referencing("TriggerAuthentication", kube::meta_string(t, "namespace"), kube::meta_string(t, "name"));
    };
    auto ta_status = [this](const Object& t) {
      enqueue_auth_status({"TriggerAuthentication/" + kube::object_key(t)});
    };
    ta.add_handlers({
        .on_add =
            [ta_changed, ta_status](const Object& t) {
              ta_changed(t);
              ta_status(t);
            },
        .on_update =
            [ta_changed, ta_status](const Object& a, const Object& b) {
              if (auth_update_matters(a, b)) ta_changed(b);
              if (json_at(a, {"status"}) != json_at(b, {"status"})) ta_status(b);
            },
        .on_delete = ta_changed,
    });

    // Scale targets and their pod templates: resolving a target reads the cache.
    add(kube::resources::deployments(), ns, cluster::workload_transform, deployments_);
    add(kube::resources::statefulsets(), ns, cluster::workload_transform, statefulsets_);
  }

  auto& cta = add(ebb::cluster::cluster_trigger_authentications(), "", kube::strip_bookkeeping,
                  cluster_trigger_auths_view_);
  auto cta_changed = [this](const Object& t) {
    enqueue_referencing("ClusterTriggerAuthentication", "", kube::meta_string(t, "name"));
  };
  auto cta_status = [this](const Object& t) {
    enqueue_auth_status({"ClusterTriggerAuthentication/" + kube::meta_string(t, "name")});
  };
  cta.add_handlers({
      .on_add =
          [cta_changed, cta_status](const Object& t) {
            cta_changed(t);
            cta_status(t);
          },
      .on_update =
          [cta_changed, cta_status](const Object& a, const Object& b) {
            if (auth_update_matters(a, b)) cta_changed(b);
            if (json_at(a, {"status"}) != json_at(b, {"status"})) cta_status(b);
          },
      .on_delete = cta_changed,
  });
  cluster_trigger_auths_ = &cta;
  // Only the auth status controller reads them, and it runs without a label selector only.
  if (o_.label_selector.empty()) create_scaled_job_informers(scopes);
}

namespace {

// What status.scaledjobs needs of a ScaledJob: its name and its triggers' authenticationRefs.
// The Job template, the largest part, is dropped.
void scaled_job_transform(Object& sj) {
  kube::strip_bookkeeping(sj);
  Object triggers = json_at(sj, {"spec", "triggers"});
  sj.erase("status");
  sj["spec"] = Object{{"triggers", triggers.is_array() ? triggers : Object::array()}};
}

}  // namespace

void OperatorProcess::create_scaled_job_informers(const std::vector<std::string>& scopes) {
  kube::Client& client = manager_->client();
  for (const auto& ns : scopes) {
    kube::InformerOptions options;
    options.namespace_name = ns;
    options.transform = scaled_job_transform;
    auto informer = std::make_unique<kube::Informer>(client, ebb::cluster::scaled_jobs(), options);
    informer->add_index(kAuthIndex, auth_reference_keys);
    informer->add_index(kTriggerTypeIndex, trigger_types_of);
    informer->add_handlers({
        .on_add = [this](const Object& o) { enqueue_auth_status(auth_reference_keys(o)); },
        .on_update =
            [this](const Object& a, const Object& b) {
              if (auto before = auth_reference_keys(a), after = auth_reference_keys(b);
                  before != after) {
                enqueue_auth_status(before);
                enqueue_auth_status(after);
              }
            },
        .on_delete = [this](const Object& o) { enqueue_auth_status(auth_reference_keys(o)); },
    });
    scaled_jobs_.add(&informer->cache());
    scaled_job_informers_.push_back(std::move(informer));
  }
}

// Once every ScaledJob informer has listed, each auth object is looked at again: the passes
// before that left status.scaledjobs alone.
void OperatorProcess::start_scaled_job_informers() {
  if (scaled_job_informers_.empty()) return;
  for (auto& informer : scaled_job_informers_) informer->start();
  scaled_jobs_synced_thread_ = std::thread([this] {
    const auto stop = [this] { return closing_ || manager_->stopping(); };
    while (!stop() && !scaled_jobs_synced())
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (stop()) return;
    for (const auto& key : trigger_auths_.keys())
      enqueue_auth_status({"TriggerAuthentication/" + key});
    for (const auto& key : cluster_trigger_auths_view_.keys())
      enqueue_auth_status({"ClusterTriggerAuthentication/" + key});
  });
}

bool OperatorProcess::scaled_jobs_synced() const {
  return !scaled_job_informers_.empty() &&
         std::all_of(scaled_job_informers_.begin(), scaled_job_informers_.end(),
                     [](const auto& i) { return i->has_synced(); });
}

bool OperatorProcess::informers_synced() const {
  return std::all_of(informers_.begin(), informers_.end(),
                     [](const auto& i) { return i->has_synced(); });
}

ClusterSnapshot OperatorProcess::snapshot() const {
  ClusterSnapshot s;
  for (const auto& [ns, n] : scaled_objects_.namespace_counts()) s.scaled_objects_by_namespace[ns] = static_cast<int>(n);
  for (const auto& [value, n] : scaled_objects_.index_counts(kTriggerTypeIndex))
    s.triggers_by_type[value.substr(0, value.rfind('#'))] += static_cast<int>(n);
  for (const auto& [ns, n] : scaled_jobs_.namespace_counts())
    s.scaled_jobs_by_namespace[ns] = static_cast<int>(n);
  for (const auto& [value, n] : scaled_jobs_.index_counts(kTriggerTypeIndex))
    s.triggers_by_type[value.substr(0, value.rfind('#'))] += static_cast<int>(n);
  std::set<std::string> paused;
  for (const auto& key : scaled_objects_.indexed_keys(kPausedIndex, "true")) paused.insert(key);
  for (const auto& key : scaled_objects_.keys()) {
    const auto [ns, name] = kube::split_key(key);
    s.paused.emplace_back(ns, name, paused.count(key) > 0);
  }
  for (const auto& [ns, n] : trigger_auths_.namespace_counts())
    s.trigger_authentications_by_namespace[ns] = static_cast<int>(n);
  if (cluster_trigger_auths_ != nullptr)
    s.cluster_trigger_authentications = static_cast<int>(cluster_trigger_auths_->cache().size());
  return s;
}

// ---------------------------------------------------------------------------------------------
// The admission webhook

bool OperatorProcess::start_webhook() {
  if (o_.webhook_port == 0) return true;
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
  }
  if (!tls.cert_file.empty()) {
    tls.wait_for_files = o_.webhook_cert_optional;
    tls.self_signed_hosts = {"localhost", "127.0.0.1", ebb::process::host_name("ebb-operator")};
  } else {
    tls.self_signed_hosts = {"localhost", "127.0.0.1", ebb::process::host_name("ebb-operator")};
    if (!o_.webhook_host.empty()) tls.self_signed_hosts.push_back(o_.webhook_host);
    log_.info("no webhook certificate given: serving a self-signed one");
  }
  options.tls = tls;
  return manager_->serve(
             "webhook", std::move(options),
             [this](const net::ServerRequest& r) { return serve_webhook(r); },
             std::chrono::seconds(2)) != nullptr;
}

bool OperatorProcess::add_cert_rotation() {
  if (!o_.cert_rotation) return true;
  CertificateRotationOptions c;
  c.secret_namespace = o_.cert_secret_namespace;
  if (c.secret_namespace.empty()) {
    const char* env = std::getenv("POD_NAMESPACE");
    c.secret_namespace = env != nullptr && *env != '\0' ? std::string(env) : pod_namespace();
  }
  if (c.secret_namespace.empty()) {
    log_.error("--enable-cert-rotation needs --cert-secret-namespace outside a pod");
    return false;
  }
  c.secret_name = o_.cert_secret_name;
  c.services = o_.cert_services;
  c.cluster_domain = o_.cluster_domain;
  c.apiservice = o_.cert_apiservice;
  c.webhook_configuration = o_.cert_webhook_configuration;
  auto seconds = [](const std::string& text) {
    return std::chrono::duration_cast<std::chrono::seconds>(*parse_duration(text));
  };
  c.ca_validity = seconds(o_.ca_validity);
  c.cert_validity = seconds(o_.cert_validity);
  c.renew_before = seconds(o_.cert_renew_before);
  c.check_interval = *parse_duration(o_.cert_check_interval);
  cert_rotator_ = std::make_unique<CertificateRotator>(manager_->client(), c);
  std::string names;
  for (const auto& n : cert_rotator_->dns_names()) names += (names.empty() ? "" : ",") + n;
  log_.info("certificate rotation enabled", {{"secret", c.secret_namespace + "/" + c.secret_name},
                                             {"dnsNames", names},
                                             {"apiService", c.apiservice},
                                             {"webhookConfiguration", c.webhook_configuration}});
  // One owner: only the leader writes the Secret and the caBundles.
  manager_->add_runnable("cert-rotation", runtime::Manager::RunWhen::leading,
                         [this] { cert_rotator_->start(); });
  manager_->add_stop_step("", [this] { cert_rotator_->stop(); });
  return true;
}

bool OperatorProcess::cache_complete_for(const std::string& ns, bool label_filtered) const {
  if (label_filtered && !o_.label_selector.empty()) return false;
  if (!informers_synced()) return false;
  return o_.namespaces.empty() ||
         std::find(o_.namespaces.begin(), o_.namespaces.end(), ns) != o_.namespaces.end();
}

AdmissionLookups OperatorProcess::admission_lookups() {
  AdmissionLookups lookups;
  // Conflict candidates through the ownership index; an incomplete cache (another namespace, a
  // shard, not synced yet) falls back to listing the namespace.
  auto candidates = [](const kube::CacheView& cache, const std::vector<std::string>& keys) {
    std::vector<Json> out;
    std::set<std::string> seen;
    for (const auto& key : keys)
      for (const auto& object : cache.indexed(kOwnershipIndex, key))
        if (seen.insert(kube::object_key(*object)).second) out.push_back(*object);
    return out;
  };
  lookups.scaled_objects = [this, candidates](const Json& so) -> std::vector<Json> {
    const auto ns = kube::meta_string(so, "namespace");
    if (cache_complete_for(ns, true)) return candidates(scaled_objects_, scaled_object_ownership_keys(so));
    auto list = manager_->client().list_all(ebb::cluster::scaled_objects(), ns);
    if (!list) {
      webhook_log_.warn("cannot list ScaledObjects",
                        {{"namespace", ns}, {"error", list.error().message}});
      return {};
    }
    return list->items;
  };
  lookups.hpas = [this, candidates](const Json& so) -> std::vector<Json> {
    const auto ns = kube::meta_string(so, "namespace");
    if (cache_complete_for(ns, false)) {
      // The HPAs of this object and of the ScaledObjects it could clash with.
      const auto others = cache_complete_for(ns, true)
                              ? candidates(scaled_objects_, scaled_object_ownership_keys(so))
                              : std::vector<Json>{};
      return candidates(hpas_, hpa_keys_for(so, others));
    }
    auto list = manager_->client().list_all(kube::resources::horizontal_pod_autoscalers(), ns);
    if (!list) {
      webhook_log_.warn("cannot list HPAs", {{"namespace", ns}, {"error", list.error().message}});
      return {};
    }
    return list->items;
  };
  lookups.workload = [this](const std::string& api_version, const std::string& kind,
                            const std::string& ns, const std::string& name) -> std::optional<Json> {
    const auto gv = kube::GroupVersion::parse(api_version);
    auto resource = manager_->client().discovery().resource_for(
        kube::GroupVersionKind{gv.group, gv.version, kind});
    if (!resource) return std::nullopt;
    auto object = manager_->client().get(*resource, ns, name);
    if (!object) {
      if (!object.error().not_found())
        webhook_log_.warn(
            "cannot read the scale target",
            {{"namespace", ns}, {"name", name}, {"kind", kind}, {"error", object.error().message}});
      return std::nullopt;
    }
    return *object;
  };
  lookups.limit_ranges = [this](const std::string& ns) -> std::vector<Json> {
    auto list = manager_->client().list_all(limit_ranges(), ns);
    if (!list) return {};
    return list->items;
  };
  return lookups;
}

net::ServerResponse OperatorProcess::serve_webhook(const net::ServerRequest& request) {
  const bool known = request.path == kScaledObjectWebhookPath ||
                     request.path == kScaledJobWebhookPath ||
                     request.path == kTriggerAuthenticationWebhookPath ||
                     request.path == kClusterTriggerAuthenticationWebhookPath;
  if (!known) return net::ServerResponse::text(404, "not found\n");
  if (request.method != "POST")
    return net::ServerResponse::text(405, "method not allowed: use POST\n");
  Json review;
  try {
    review = Json::parse(request.body);
  } catch (const std::exception&) {
    return net::ServerResponse::text(
        400, "the body is not JSON: expected an admission.k8s.io/v1 AdmissionReview\n");
  }
  if (!review.is_object() || review.value("kind", "") != "AdmissionReview" ||
      !review.contains("request") || !review["request"].is_object() ||
      !review["request"].contains("uid") || !review["request"]["uid"].is_string())
    return net::ServerResponse::text(
        400, "expected an admission.k8s.io/v1 AdmissionReview with request.uid\n");

  std::optional<AdmissionOutcome> outcome;
  try {
    outcome = op::review(request.path, review, admission_lookups());
  } catch (const std::exception& e) {
    webhook_log_.error("admission review failed", {{"path", request.path}, {"error", e.what()}});
    return net::ServerResponse::text(500, "internal error\n");
  }
  if (!outcome) return net::ServerResponse::text(404, "not found\n");
  if (request.path == kScaledObjectWebhookPath)
    metrics_->scaled_object_validation(outcome->ns, outcome->action, outcome->allowed,
                                       outcome->reason);
  else if (request.path == kScaledJobWebhookPath && !outcome->allowed)
    metrics_->scaled_job_validation_denied(outcome->ns, outcome->action, outcome->reason);
  const auto& req = review["request"];
  const std::string name = req.value("name", "");
  if (outcome->allowed) {
    webhook_log_.debug("admitted",
                       {{"path", request.path}, {"namespace", outcome->ns}, {"name", name}});
  } else {
    webhook_log_.info("denied", {{"path", request.path},
                                 {"namespace", outcome->ns},
                                 {"name", name},
                                 {"action", outcome->action},
                                 {"reason", outcome->reason}});
  }
  return net::ServerResponse::json(
      200, outcome->review.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

int run_operator(const OperatorOptions& options) {
  return runtime::run_process<OperatorProcess>(options);
}

}  // namespace ebb::op::process
