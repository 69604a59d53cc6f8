// One reconcile pass for a ScaledObject (keda-compat §3.2 with Ebb's differences, ARCHITECTURE.md):
//   get -> (deleting: finalize) -> finalizer + name label -> ownership conflicts -> full pause
//   -> validation -> scale target -> trigger inputs and metric specs -> HPA -> status.
// Status is written once per pass (twice when a pause begins: Paused first), through the status
// subresource with the read resourceVersion, and only when an operator-owned field changes, so a
// pass over an unchanged object writes nothing. Events are recorded on transitions only.
#include "ebb/operator/reconciler.h"

#include <set>

#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/status.h"
#include "ebb/api/validate.h"
#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/json.h"
#include "ebb/operator/hpa.h"
#include "ebb/operator/ownership.h"
#include "ebb/operator/status.h"
#include "ebb/process/log.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::op {

using nlohmann::json;
using runtime::ReconcileResult;

namespace {

const process::Logger& reconcile_log() {
  static const process::Logger logger("controller.scaledobject");
  return logger;
}

const kube::Resource& so_resource() {
  static const kube::Resource r = ebb::cluster::scaled_objects();
  return r;
}
const kube::Resource& hpa_resource() {
  static const kube::Resource r = kube::resources::horizontal_pod_autoscalers();
  return r;
}

bool has_finalizer(const json& object) {
  const auto& meta = object.contains("metadata") ? object["metadata"] : json();
  if (!meta.is_object() || !meta.contains("finalizers") || !meta["finalizers"].is_array()) return false;
  for (const auto& f : meta["finalizers"])
    if (f == std::string(api::kFinalizer)) return true;
  return false;
}

std::string join_errors(const FieldErrors& errors) {
  std::vector<std::string> parts;
  for (const auto& e : errors) parts.push_back(e.str());
  return join(parts, "; ");
}

// KEDA's context message for a validation failure, by the first error's field.
std::string validation_context(const FieldErrors& errors) {
  const auto& path = errors.front().path;
  if (path.starts_with("spec.triggers")) return "ScaledObject doesn't have correct triggers specification";
  if (path.find("ReplicaCount") != std::string::npos)
    return "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification";
  if (path.starts_with("spec.scaleTargetRef")) return "ScaledObject doesn't have correct scaleTargetRef specification";
  return "ScaledObject doesn't have correct specification";
}

// HPAActive mirrors the HPA's ScalingActive condition (keda-compat §1.1.4).
std::optional<Condition> hpa_active_condition(const json& hpa) {
  const auto& status = hpa.contains("status") ? hpa["status"] : json();
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) return std::nullopt;
  for (const auto& c : status["conditions"]) {
    if (json_string(c, {"type"}) != "ScalingActive") continue;
    const auto s = json_string(c, {"status"});
    const auto reason = json_string(c, {"reason"});
    const auto message = json_string(c, {"message"});
    if (s == "True") return Condition{std::string(api::kConditionHPAActive), "True", "HPAActive", "HPA is actively scaling"};
    if (reason == "ScalingDisabled") return Condition{std::string(api::kConditionHPAActive), "True", "ScalingDisabled", message};
    return Condition{std::string(api::kConditionHPAActive), "False", reason.empty() ? "HPAMetricsUnavailable" : reason,
                     "HPA is not actively scaling: " + message};
  }
  return std::nullopt;
}

}  // namespace

namespace {

// One reconcile() call.
class Pass {
  using ApiResultList = kube::ApiResult<std::vector<json>>;

 public:
  Pass(kube::Client& client, kube::EventRecorder& events, const ReconcilerOptions& options,
       const ReconcilerCaches& caches, std::string ns, std::string name)
      : client_(client), events_(events), options_(options), caches_(caches), ns_(std::move(ns)), name_(std::move(name)) {}

  ReconcileResult run() {
    // The informer that queued the key holds the object; a GET only without a cache (or for a
    // key the cache no longer has, where "gone" must be confirmed).
    if (auto cached = caches_.scaled_objects ? caches_.scaled_objects->find(kube::object_key(ns_, name_)) : nullptr) {
      object_ = *cached;
      pinned_.push_back(cached);
    } else {
      auto got = client_.get(so_resource(), ns_, name_);
      if (!got) {
        if (got.error().not_found()) return {};
        return error("GET ScaledObject " + ns_ + "/" + name_ + ": " + got.error().message);
      }
      object_ = std::move(*got);
    }
    old_status_ = object_.contains("status") ? object_["status"] : json();
    if (object_["metadata"].contains("generation") && object_["metadata"]["generation"].is_number_integer())
      generation_ = object_["metadata"]["generation"].get<std::int64_t>();

    api::DecodeOptions decode_options;
    decode_options.strict = false;  // a newer CRD may carry fields Ebb does not know
    auto decoded = api::decode_scaled_object(object_, decode_options);
    const bool deleting = object_["metadata"].contains("deletionTimestamp") &&
                          !object_["metadata"]["deletionTimestamp"].is_null();
    if (deleting) return finalize(decoded ? &*decoded : nullptr);
    if (!decoded) {
      // Not decodable: nothing else can be checked. The API server's schema normally prevents it.
      if (auto r = ensure_metadata(); !r.ok()) return r;
      fail_with(std::string(api::kReasonCheckFailed),
                "ScaledObject doesn't have correct specification: " + join_errors(decoded.error()));
      return finish();
    }
    so_ = std::move(*decoded);
    if (auto r = ensure_metadata(); !r.ok()) return r;
    so_.metadata.uid = json_string(object_, {"metadata", "uid"});

    status_.triggers_types = triggers_types(so_);
    status_.authentications_types = authentications_types(so_);

    // Decision 7: the reconciler enforces the webhook's ownership rules itself.
    if (auto r = check_ownership(); !r.ok()) return r;
    if (failure_) return finish();

    auto pause = api::paused_replicas(so_.metadata.annotations);
    if (!pause) {
      fail_with(std::string(api::kReasonCheckFailed), "ScaledObject doesn't have correct pause annotation: " +
                                                     std::string(api::kPausedReplicasAnnotation) + ": " + pause.error());
      return finish();
    }
    if (api::is_paused(so_.metadata.annotations)) return full_pause(*pause);
    handle_directional_pause();

    auto validation = api::validate(so_, scalers::validation_options(registry()));
    if (!validation.ok()) {
      fail_with(std::string(api::kReasonCheckFailed),
                validation_context(validation.errors) + ": " + join_errors(validation.errors));
      return finish();
    }

    if (auto r = resolve_target(); !r.ok() || failure_) return r.ok() ? finish() : r;

    // Trigger inputs: the target's env, auth objects, Secrets, the scalers' pure step.
    std::optional<cluster::TargetEnvironment> env;
    std::string env_error;
    bool env_transient = false;
    {
      auto read = cluster::read_target_environment(client_, *target_, so_.spec.scale_target_ref.env_source_container_name);
      if (read) env = std::move(*read);
      else {
        env_error = read.error().message;
        env_transient = read.error().transient;
      }
    }
    cluster::TriggerInputsOptions trigger_options;
    trigger_options.cluster_object_namespace = options_.cluster_object_namespace;
    trigger_options.registry = &registry();
    trigger_options.trigger_authentications = caches_.trigger_authentications;
    trigger_options.cluster_trigger_authentications = caches_.cluster_trigger_authentications;
    auto inputs = cluster::resolve_trigger_inputs(client_, so_, env ? &*env : nullptr, trigger_options);
    if (!env_error.empty() && !so_.spec.scale_target_ref.env_source_container_name.empty()) {
      fail_with(std::string(api::kReasonCheckFailed),
                "ScaledObject doesn't have correct scaleTargetRef specification: " + env_error, env_transient);
      return finish();
    }
    if (!inputs.ok()) {
      std::vector<std::string> parts;
      bool transient = false;
      for (const auto& p : inputs.problems) {
        parts.push_back(p.message);
        transient = transient || p.transient;
        warnings_.push_back({"KEDAScalerFailed", p.message});
      }
      if (!env_error.empty()) parts.push_back("scale target env: " + env_error);
      fail_with(std::string(api::kReasonCheckFailed),
                "ScaledObject doesn't have correct triggers specification: " + join(parts, "; "), transient || env_transient);
      return finish();
    }

    HpaOptions hpa_options;
    hpa_options.version = options_.version;
    auto desired = build_hpa(so_, target_->gvkr, inputs.metrics, hpa_options);
    if (!desired) {
      fail_with(std::string(api::kReasonCheckFailed),
                "failed to ensure HPA is correctly created for ScaledObject: " + desired.error().message);
      return finish();
    }
    status_.external_metric_names = desired->external_metric_names;
    status_.resource_metric_names = desired->resource_metric_names;
    status_.composite_scaler_name = desired->composite_scaler_name;
    external_metric_names_ = desired->external_metric_names;
    if (auto r = ensure_hpa(*desired); !r.ok() || failure_) return r.ok() ? finish() : r;
    return finish();
  }

 private:
  const scalers::Registry& registry() const {
    return options_.registry ? *options_.registry : scalers::Registry::builtin();
  }

  // --- results -----------------------------------------------------------------------------

  ReconcileResult error(std::string message) {
    ReconcileResult r;
    r.error = std::move(message);
    return r;
  }

  void fail_with(std::string reason, std::string message, bool transient = false) {
    failure_ = ReadyFailure{std::move(reason), std::move(message)};
    failure_transient_ = transient;
  }

  void event(const std::string& type, const std::string& reason, const std::string& note) {
    // Best effort: a lost Event must not fail (and so repeat) the reconcile, but it is logged.
    // The action is the reason, as the adapter's Events have it (events.k8s.io/v1 requires one).
    auto recorded = events_.record(object_, type, reason, reason, note);
    if (!recorded)
      reconcile_log().warn("event not recorded", {{"namespace", ns_},
                                                  {"name", name_},
                                                  {"reason", reason},
                                                  {"error", recorded.error().message}});
  }

  // Writes the operator's status fields onto a fresh read; no write when nothing changed.
  ReconcileResult write_status() {
    kube::ReadModifyWriteOptions rmw;
    rmw.status = true;
    rmw.write.field_manager = options_.field_manager;
    rmw.start_from = std::make_shared<const kube::Object>(object_);
    status_.observed_generation = generation_;
    const auto now = now_rfc3339();
    auto written = client_.read_modify_write(
        so_resource(), ns_, name_,
        [&](kube::Object& fresh) {
          if (!fresh.contains("status") || !fresh["status"].is_object()) fresh["status"] = json::object();
          return apply_operator_status(fresh["status"], status_, now);
        },
        rmw);
    if (!written) {
      if (written.error().not_found()) return {};
      event("Warning", "ScaledObjectUpdateFailed", "failed to update ScaledObject status: " + written.error().message);
      return error("status update of ScaledObject " + ns_ + "/" + name_ + ": " + written.error().message);
    }
    object_ = std::move(*written);
    return {};
  }

  ReconcileResult finish() {
    auto ready = derive_ready(failure_, paused_, old_status_, external_metric_names_);
    status_.conditions.push_back(ready);
    if (!paused_condition_set_) {
      // Initialise Paused=False once (KEDA initialises the set); never flip an existing one here.
      if (!api::get_condition(old_status_, api::kConditionPaused))
        status_.conditions.push_back(Condition{std::string(api::kConditionPaused), "False", "", ""});
    }
    if (hpa_active_) status_.conditions.push_back(*hpa_active_);
    auto written = write_status();
    if (!written.ok()) return written;

    const auto old_ready = api::get_condition(old_status_, api::kConditionReady);
    if (ready.status == "True" && (!old_ready || old_ready->status != "True"))
      event("Normal", "ScaledObjectReady", "ScaledObject is ready for scaling");
    if (failure_ && (!old_ready || old_ready->status != ready.status || old_ready->reason != ready.reason ||
                     old_ready->message != ready.message)) {
      for (const auto& [reason, message] : warnings_) event("Warning", reason, message);
      event("Warning", std::string(api::kReasonCheckFailed), ready.message);
    }
    ReconcileResult r;
    if (failure_ && failure_transient_) r.requeue_after = options_.missing_target_recheck;
    return r;
  }

  // --- metadata ----------------------------------------------------------------------------

  // Finalizer finalizer.keda.sh and label scaledobject.keda.sh/name=<name> (one object update).
  ReconcileResult ensure_metadata() {
    const auto label = std::string(api::kScaledObjectNameLabel);
    auto needs = [&](const json& o) {
      const auto& meta = o["metadata"];
      const bool labelled = meta.contains("labels") && meta["labels"].is_object() && meta["labels"].contains(label) &&
                            meta["labels"][label] == name_;
      return !has_finalizer(o) || !labelled;
    };
    if (!needs(object_)) return {};
    kube::ReadModifyWriteOptions rmw;
    rmw.write.field_manager = options_.field_manager;
    rmw.start_from = std::make_shared<const kube::Object>(object_);
    auto written = client_.read_modify_write(
        so_resource(), ns_, name_,
        [&](kube::Object& fresh) {
          if (!needs(fresh)) return false;
          auto& meta = fresh["metadata"];
          if (!has_finalizer(fresh)) meta["finalizers"].push_back(std::string(api::kFinalizer));
          meta["labels"][label] = name_;
          return true;
        },
        rmw);
    if (!written) {
      if (written.error().not_found()) return {};
      return error("adding finalizer and label to ScaledObject " + ns_ + "/" + name_ + ": " + written.error().message);
    }
    object_ = std::move(*written);
    so_.metadata.labels[label] = name_;
    return {};
  }

  // --- ownership ---------------------------------------------------------------------------

  ApiResultList list_namespace(const kube::Resource& resource) {
    auto listed = client_.list_all(resource, ns_);
    if (!listed) return unexpected(listed.error());
    for (auto& item : listed->items) {  // built-in list items carry no apiVersion/kind
      if (!item.contains("apiVersion")) item["apiVersion"] = resource.api_version();
      if (!item.contains("kind")) item["kind"] = resource.kind;
    }
    return std::move(listed->items);
  }

  // Everything filed under any of `keys` in an ownership index, once each.
  // The parsed objects stay pinned for the pass, so reading one again (read_hpa) is not a
  // second parse of the cached text.
  std::vector<json> lookup(const kube::CacheView& cache, const std::vector<std::string>& keys) {
    std::vector<json> out;
    std::set<std::string> seen;
    for (const auto& key : keys)
      for (auto& object : cache.indexed(kOwnershipIndex, key))
        if (seen.insert(kube::object_key(*object)).second) {
          out.push_back(*object);
          pinned_.push_back(std::move(object));
        }
    return out;
  }

  ReconcileResult check_ownership() {
    ApiResultList others = caches_.scaled_objects
                               ? ApiResultList(lookup(*caches_.scaled_objects, scaled_object_ownership_keys(object_)))
                               : list_namespace(so_resource());
    if (!others) return error("listing ScaledObjects in " + ns_ + ": " + others.error().message);
    ApiResultList hpas = caches_.hpas ? ApiResultList(lookup(*caches_.hpas, hpa_keys_for(object_, *others)))
                                      : list_namespace(hpa_resource());
    if (!hpas) return error("listing HPAs in " + ns_ + ": " + hpas.error().message);
    hpas_ = std::move(*hpas);
    auto conflict = scaled_object_conflict(object_, *others, hpas_, ConflictMode::reconciler);
    if (!conflict) conflict = foreign_hpa_conflict(object_, hpas_);
    if (conflict) fail_with(conflict_condition_reason(conflict->reason), conflict->message);
    return {};
  }

  // --- pause -------------------------------------------------------------------------------

  void set_paused_condition(const Condition& c) {
    status_.conditions.push_back(c);
    paused_condition_set_ = true;
  }

  ReconcileResult full_pause(std::optional<std::int32_t> paused_replicas) {
    paused_ = true;
    const auto old_paused = api::get_condition(old_status_, api::kConditionPaused);
    const Condition paused{std::string(api::kConditionPaused), "True", std::string(api::kReasonPaused), std::string(api::kMessagePaused)};
    // The target is needed for paused-replicas; also records originalReplicaCount before changing it.
    auto target = cluster::resolve_scale_target(client_, so_, &caches_.workloads);
    if (target) {
      status_.target = target->gvkr;
      status_.original_replica_count = target->scale.replicas;
    }
    if (!old_paused || old_paused->status != "True") {
      // Paused first, so the adapter stops before the HPA goes and replicas change.
      OperatorStatus first = status_;
      first.conditions = {paused};
      std::swap(first, status_);
      auto r = write_status();
      std::swap(first, status_);
      if (!r.ok()) return r;
      event("Normal", "ScaledObjectPaused", "ScaledObject is paused");
    }
    set_paused_condition(paused);
    if (auto r = delete_hpas(); !r.ok()) return r;
    status_.paused_replica_count = paused_replicas;
    if (paused_replicas) {
      if (!target) {
        fail_with(std::string(api::kReasonCheckFailed), target.error().message, target.error().transient);
        paused_ = false;  // Ready must show why the paused replica count is not applied
        return finish();
      }
      if (target->scale.replicas != *paused_replicas) {
        auto scaled = client_.update_scale(target->resource, ns_, target->name, *paused_replicas);
        if (!scaled) return error("scaling " + target->gvkr.kind + " " + ns_ + "/" + target->name + " to paused replicas: " +
                                  scaled.error().message);
      }
    }
    return finish();
  }

  void handle_directional_pause() {
    const bool in = api::bool_annotation(so_.metadata.annotations, api::kPausedScaleInAnnotation);
    const bool out = api::bool_annotation(so_.metadata.annotations, api::kPausedScaleOutAnnotation);
    const auto old_paused = api::get_condition(old_status_, api::kConditionPaused);
    const bool was_paused = old_paused && old_paused->status == "True";
    if (in || out) {
      set_paused_condition({std::string(api::kConditionPaused), "True", std::string(api::kReasonPaused), std::string(api::kMessagePaused)});
      if (!was_paused) event("Normal", "ScaledObjectPaused", "ScaledObject is paused");
    } else if (was_paused) {
      set_paused_condition({std::string(api::kConditionPaused), "False", std::string(api::kReasonUnpaused), std::string(api::kMessageUnpaused)});
      event("Normal", "ScaledObjectUnpaused", std::string(api::kMessageUnpaused));
    }
    if (!in && !out && old_status_.is_object() && old_status_.contains("pausedReplicaCount"))
      status_.paused_replica_count = std::optional<std::int32_t>();
  }

  // --- target ------------------------------------------------------------------------------

  ReconcileResult resolve_target() {
    auto target = cluster::resolve_scale_target(client_, so_, &caches_.workloads);
    if (!target) {
      const auto& p = target.error();
      if (p.kind == cluster::TargetProblem::Kind::api && !p.transient) return error(p.message);
      if (p.kind == cluster::TargetProblem::Kind::api) return error(p.message);
      fail_with(std::string(api::kReasonCheckFailed), p.message,
                p.kind == cluster::TargetProblem::Kind::not_found || p.kind == cluster::TargetProblem::Kind::unknown_kind ||
                    p.kind == cluster::TargetProblem::Kind::not_scalable);
      return {};
    }
    target_ = std::move(*target);
    status_.target = target_->gvkr;
    status_.original_replica_count = target_->scale.replicas;
    return {};
  }

  // --- HPA ---------------------------------------------------------------------------------

  // HPAs this object controls under its recorded and its desired name.
  std::vector<std::string> own_hpa_names() {
    std::vector<std::string> names;
    const auto recorded = json_string(old_status_, {"hpaName"});
    if (!recorded.empty()) names.push_back(recorded);
    const auto desired = api::hpa_name(so_);
    if (desired != recorded) names.push_back(desired);
    return names;
  }

  // The HPA from the cache when there is one (absent there: absent), else a GET.
  kube::ApiResult<json> read_hpa(const std::string& hpa_name) {
    if (caches_.hpas) {
      if (auto cached = caches_.hpas->find(kube::object_key(ns_, hpa_name))) return json(*cached);
      return unexpected(kube::ApiError{404, "NotFound", "horizontalpodautoscalers \"" + hpa_name + "\" not found"});
    }
    return client_.get(hpa_resource(), ns_, hpa_name);
  }

  ReconcileResult delete_hpa_if_ours(const std::string& hpa_name) {
    auto live = read_hpa(hpa_name);
    if (!live) {
      if (live.error().not_found()) return {};
      return error("GET HPA " + ns_ + "/" + hpa_name + ": " + live.error().message);
    }
    const auto uid = json_string(object_, {"metadata", "uid"});
    if (uid.empty() || controller_uid(*live) != uid) return {};  // not ours: never delete
    kube::DeleteOptions del;
    del.precondition_uid = json_string(*live, {"metadata", "uid"});
    auto removed = client_.remove(hpa_resource(), ns_, hpa_name, del);
    if (!removed && !removed.error().not_found())
      return error("DELETE HPA " + ns_ + "/" + hpa_name + ": " + removed.error().message);
    return {};
  }

  ReconcileResult delete_hpas() {
    for (const auto& n : own_hpa_names())
      if (auto r = delete_hpa_if_ours(n); !r.ok()) return r;
    return {};
  }

  ReconcileResult ensure_hpa(const DesiredHpa& desired) {
    const auto recorded = json_string(old_status_, {"hpaName"});
    if (!recorded.empty() && recorded != desired.name)
      if (auto r = delete_hpa_if_ours(recorded); !r.ok()) return r;  // renamed
    auto live = read_hpa(desired.name);
    if (!live) {
      if (!live.error().not_found()) return error("GET HPA " + ns_ + "/" + desired.name + ": " + live.error().message);
      kube::WriteOptions write;
      write.field_manager = options_.field_manager;
      auto created = client_.create(hpa_resource(), desired.hpa, write);
      if (created) {
        status_.hpa_name = desired.name;
        return {};
      }
      // Created a moment ago and not in the cache yet (or by someone else): read it.
      if (created.error().code != 409) return error("creating HPA " + ns_ + "/" + desired.name + ": " + created.error().message);
      live = client_.get(hpa_resource(), ns_, desired.name);
      if (!live) return error("GET HPA " + ns_ + "/" + desired.name + ": " + live.error().message);
    }
    const auto uid = json_string(object_, {"metadata", "uid"});
    const auto owner = controller_uid(*live);
    if (owner != uid) {
      // Only an HPA named in advanced.horizontalPodAutoscalerConfig.name with the transfer
      // annotation may be taken over (ownership.h checked the same-target case already).
      const bool transfer = api::transfer_hpa_ownership_requested(so_.metadata.annotations) &&
                            so_.spec.advanced && so_.spec.advanced->horizontal_pod_autoscaler_config &&
                            so_.spec.advanced->horizontal_pod_autoscaler_config->name == desired.name;
      if (!transfer) {
        fail_with("HPANameUsedByOther", "the HPA '" + desired.name + "' already exists and is not managed by this ScaledObject");
        return {};
      }
    }
    hpa_active_ = hpa_active_condition(*live);
    if (hpa_needs_update(desired.hpa, *live)) {
      auto next = desired.hpa;
      next["metadata"]["resourceVersion"] = json_string(*live, {"metadata", "resourceVersion"});
      kube::WriteOptions write;
      write.field_manager = options_.field_manager;
      auto updated = client_.update(hpa_resource(), next, write);
      if (!updated) return error("updating HPA " + ns_ + "/" + desired.name + ": " + updated.error().message);
    }
    status_.hpa_name = desired.name;
    return {};
  }

  // --- deletion ----------------------------------------------------------------------------

  ReconcileResult finalize(const api::ScaledObject* so) {
    if (!has_finalizer(object_)) return {};
    if (so) {
      so_ = *so;
      if (auto r = delete_hpas(); !r.ok()) return r;
      if (so_.spec.advanced && so_.spec.advanced->restore_to_original_replica_count)
        if (auto r = restore_replicas(); !r.ok()) return r;
    } else {
      const auto recorded = json_string(old_status_, {"hpaName"});
      if (!recorded.empty())
        if (auto r = delete_hpa_if_ours(recorded); !r.ok()) return r;
    }
    kube::ReadModifyWriteOptions rmw;
    rmw.write.field_manager = options_.field_manager;
    auto written = client_.read_modify_write(
        so_resource(), ns_, name_,
        [](kube::Object& fresh) {
          if (!has_finalizer(fresh)) return false;
          auto& list = fresh["metadata"]["finalizers"];
          json kept = json::array();
          for (const auto& f : list)
            if (f != std::string(api::kFinalizer)) kept.push_back(f);
          list = std::move(kept);
          return true;
        },
        rmw);
    if (!written && !written.error().not_found())
      return error("removing the finalizer of ScaledObject " + ns_ + "/" + name_ + ": " + written.error().message);
    event("Warning", "ScaledObjectDeleted", "ScaledObject was deleted");
    return {};
  }

  // Scales the target back to status.originalReplicaCount. A target that is gone, or no longer
  // scalable, never blocks deletion; a transient failure is retried.
  ReconcileResult restore_replicas() {
    auto gvkr = cluster::ScaleTargetGVKR::from_json(old_status_.is_object() && old_status_.contains("scaleTargetGVKR")
                                                        ? old_status_["scaleTargetGVKR"]
                                                        : json());
    if (!gvkr || !old_status_.contains("originalReplicaCount") || !old_status_["originalReplicaCount"].is_number_integer())
      return {};
    const auto original = old_status_["originalReplicaCount"].get<std::int32_t>();
    api::ScaleTargetRef ref;
    ref.api_version = gvkr->api_version();
    ref.kind = gvkr->kind;
    ref.name = so_.spec.scale_target_ref.name;
    auto resource = cluster::resolve_target_resource(client_, ref);
    if (!resource) return resource.error().kind == cluster::TargetProblem::Kind::api && resource.error().transient
                              ? error(resource.error().message)
                              : ReconcileResult{};
    const auto& res = resource->second;
    auto scale = client_.get_scale(res, ns_, ref.name);
    if (!scale) {
      if (scale.error().transient || scale.error().transport() || scale.error().code >= 500)
        return error("GET " + ref.name + "/scale: " + scale.error().message);
      return {};  // gone (404) or not scalable: nothing to restore
    }
    if (scale->replicas == original) return {};
    auto updated = client_.update_scale(res, ns_, ref.name, original);
    if (!updated && (updated.error().transient || updated.error().transport() || updated.error().code >= 500 ||
                     updated.error().conflict()))
      return error("restoring " + ref.name + " to " + std::to_string(original) + " replicas: " + updated.error().message);
    return {};
  }

  kube::Client& client_;
  kube::EventRecorder& events_;
  const ReconcilerOptions& options_;
  const ReconcilerCaches& caches_;
  std::string ns_, name_;
  json object_;
  json old_status_;
  std::int64_t generation_ = 0;
  api::ScaledObject so_;
  OperatorStatus status_;
  std::optional<ReadyFailure> failure_;
  bool failure_transient_ = false;
  bool paused_ = false;
  bool paused_condition_set_ = false;
  std::optional<Condition> hpa_active_;
  std::vector<std::pair<std::string, std::string>> warnings_;
  std::vector<std::string> external_metric_names_;
  std::vector<json> hpas_;
  // Cache objects this pass parsed (ObjectCache hands a held parse out again instead of
  // parsing the text anew).
  std::vector<kube::ObjectPtr> pinned_;
  std::optional<cluster::ScaleTarget> target_;
};

}  // namespace

ScaledObjectReconciler::ScaledObjectReconciler(kube::Client& client, kube::EventRecorder& events,
                                               ReconcilerOptions options, ReconcilerCaches caches)
    : client_(client), events_(events), options_(std::move(options)), caches_(caches) {}

ReconcileResult ScaledObjectReconciler::reconcile(const std::string& key) {
  auto [ns, name] = kube::split_key(key);
  if (ns.empty() || name.empty()) return ReconcileResult{.error = "invalid ScaledObject key " + ebb::quoted(key)};
  return Pass(client_, events_, options_, caches_, ns, name).run();
}

std::vector<std::string> auth_reference_keys(const kube::Object& so) {
  std::vector<std::string> keys;
  const auto& triggers = json_at(so, {"spec", "triggers"});
  if (!triggers.is_array()) return keys;
  const auto ns = json_string(so, {"metadata", "namespace"});
  for (const auto& t : triggers) {
    const auto& ref = json_member(t, "authenticationRef");
    const auto name = json_string(ref, {"name"});
    if (name.empty()) continue;
    auto kind = json_string(ref, {"kind"});
    if (kind.empty()) kind = std::string(api::kTriggerAuthenticationKind);
    keys.push_back(kind == api::kClusterTriggerAuthenticationKind ? kind + "/" + name : kind + "/" + ns + "/" + name);
  }
  return keys;
}

std::vector<std::string> ScaledObjectReconciler::keys_referencing(const kube::CacheView& scaled_objects,
                                                                  std::string_view auth_kind, std::string_view ns,
                                                                  std::string_view name) {
  const bool cluster = auth_kind == api::kClusterTriggerAuthenticationKind;
  const std::string key = std::string(auth_kind) + "/" + (cluster ? "" : std::string(ns) + "/") + std::string(name);
  return scaled_objects.indexed_keys(kAuthIndex, key);
}

std::optional<std::string> ScaledObjectReconciler::owner_key(const kube::Object& hpa) {
  const auto& meta = hpa.contains("metadata") ? hpa["metadata"] : json();
  if (!meta.is_object() || !meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) return std::nullopt;
  for (const auto& r : meta["ownerReferences"]) {
    if (!r.is_object() || !r.value("controller", false)) continue;
    if (json_string(r, {"kind"}) != api::kScaledObjectKind) continue;
    if (kube::GroupVersion::parse(json_string(r, {"apiVersion"})).group != "keda.sh") continue;
    return kube::object_key(json_string(meta, {"namespace"}), json_string(r, {"name"}));
  }
  return std::nullopt;
}

}  // namespace ebb::op
