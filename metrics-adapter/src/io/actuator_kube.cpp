// KubeActuator: the adapter's writes through the Kubernetes API (ARCHITECTURE.md "Who writes
// what"): /scale of the target, the adapter-owned ScaledObject status fields, Events. Every write
// uses optimistic concurrency and is retried on 409 from a fresh read, a bounded number of times.
#include <random>
#include <thread>

#include "ebb/adapter/actuator.h"
#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/json.h"
#include "ebb/process/log.h"

namespace ebb::adapter {

using nlohmann::json;

namespace {

const process::Logger& log() {
  static const process::Logger logger("adapter.actuator");
  return logger;
}

// Between conflict retries: short, jittered (the other writer is usually done within milliseconds).
const kube::Backoff kConflictBackoff{std::chrono::milliseconds(10), 2.0, std::chrono::milliseconds(500), 0.5};

void conflict_pause(int attempt) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::this_thread::sleep_for(kConflictBackoff.delay(attempt, rng));
}

std::string so_key(const api::ScaledObject& so) { return so.metadata.namespace_ + "/" + so.metadata.name; }

// The scale target of `so`: the resource from status.scaleTargetGVKR (what the operator
// resolved), else spec.scaleTargetRef resolved through discovery.
struct Target {
  kube::Resource resource;
  std::string ns, name;
  std::string description;  // "apps/v1.Deployment shop/orders", for messages
};

Result<Target> target_of(kube::Client& client, const api::ScaledObject& so) {
  const auto& ref = so.spec.scale_target_ref;
  if (ref.name.empty())
    return fail("ScaledObject " + so_key(so) + ": spec.scaleTargetRef.name is missing");
  Target t;
  t.ns = so.metadata.namespace_;
  t.name = ref.name;
  std::optional<cluster::ScaleTargetGVKR> gvkr = api::adapter_status_of(so)->scale_target_gvkr;
  if (gvkr) {
    t.resource = kube::Resource{gvkr->group, gvkr->version, gvkr->resource, gvkr->kind, true, {"scale"}};
  } else {
    auto resolved = cluster::resolve_target_resource(client, ref);
    if (!resolved)
      return fail("scale target of ScaledObject " + so_key(so) + ": " + resolved.error().message,
                  resolved.error().transient);
    gvkr = resolved->first;
    t.resource = resolved->second;
  }
  t.description = gvkr->kind_string() + " " + t.ns + "/" + t.name;
  return t;
}

Error api_error(const std::string& what, const kube::ApiError& e) {
  return Error{what + ": " + e.message, e.transient || e.transport() || e.too_many_requests() || e.code >= 500};
}

Error missing_target(const Target& t) {
  // KEDA's wording first (keda-compat §7.2), then which object.
  return Error{"Target resource doesn't exist: " + t.description + " not found", true};
}

// GET /scale, telling "the target is gone" from "it serves no /scale".
kube::ApiResult<kube::Scale> read_scale(kube::Client& client, const Target& t) {
  return client.get_scale(t.resource, t.ns, t.name);
}

Error scale_read_error(kube::Client& client, const Target& t, const kube::ApiError& e) {
  if (!e.not_found()) return api_error("GET /scale of " + t.description, e);
  auto object = client.get(t.resource, t.ns, t.name);
  if (!object && object.error().not_found()) return missing_target(t);
  if (object)
    return Error{"Target resource doesn't expose /scale subresource: " + t.description + ": " + e.message, false};
  return api_error("GET " + t.description, object.error());
}

}  // namespace

KubeActuator::KubeActuator(kube::Client& client, KubeActuatorOptions options)
    : client_(client), options_(std::move(options)), recorder_(client, options_.events) {
  if (options_.conflict_retries < 0) options_.conflict_retries = 0;
}

bool KubeActuator::leader() const { return !options_.is_leader || options_.is_leader(); }

// Both counts of an apps/v1 workload (Deployment, StatefulSet, ReplicaSet), from the object
// itself, as its /scale would answer them: spec.replicas, and the ready pods from
// status.readyReplicas. Both are omitted when 0 (omitempty), and a workload at 0 has no status
// counts at all: that is the steady state of every idle target, so it must not need a /scale
// read. nullopt only without spec.replicas (the API server always defaults it).
namespace {
std::optional<TargetState> workload_state(const json& object) {
  const json& replicas = json_member(json_member(object, "spec"), "replicas");
  if (!replicas.is_number_integer()) return std::nullopt;
  TargetState state;
  state.replicas = replicas.get<std::int32_t>();
  const json& ready = json_member(json_member(object, "status"), "readyReplicas");
  state.ready_replicas = ready.is_number_integer() ? ready.get<std::int32_t>() : 0;
  return state;
}
}  // namespace

// The engine reads the target on every poll: 10,000 objects at 30 s would put 333 GETs a second
// on the API server. Deployments and StatefulSets are therefore read from the process's
// watch-backed caches. A target the cache does not hold (just created, or really gone) and
// every other kind cost a request: the object for apps/v1 kinds, which carries both counts,
// else /scale, where status.replicas stands in for the ready pods.
Result<TargetState> KubeActuator::read_target(const api::ScaledObject& so) {
  auto target = target_of(client_, so);
  if (!target) return unexpected(target.error());
  const auto& t = *target;

  if (const auto* cache =
          options_.workloads ? options_.workloads->for_resource(t.resource) : nullptr) {
    if (auto object = cache->find(kube::object_key(t.ns, t.name)))
      if (auto state = workload_state(*object)) return *state;
  }
  if (t.resource.group == "apps") {
    auto object = client_.get(t.resource, t.ns, t.name);
    if (!object) {
      if (object.error().not_found()) return unexpected(missing_target(t));
      return unexpected(api_error("GET " + t.description, object.error()));
    }
    if (auto state = workload_state(*object)) return *state;
  }

  auto scale = read_scale(client_, t);
  if (!scale) return unexpected(scale_read_error(client_, t, scale.error()));
  TargetState state;
  state.replicas = scale->replicas;
  state.ready_replicas = scale->status_replicas;
  return state;
}

Result<ScaleOutcome> KubeActuator::scale(const api::ScaledObject& so, std::int32_t replicas) {
  if (!leader()) return fail("not the leader: /scale of ScaledObject " + so_key(so) + "'s target not written");
  if (replicas < 0) return fail("ScaledObject " + so_key(so) + ": refusing to scale to " + std::to_string(replicas));
  auto target = target_of(client_, so);
  if (!target) return unexpected(target.error());
  const auto& t = *target;

  for (int attempt = 0;; ++attempt) {
    auto current = read_scale(client_, t);
    if (!current) return unexpected(scale_read_error(client_, t, current.error()));
    if (current->replicas == replicas) return ScaleOutcome::unchanged;
    auto written = client_.update_scale(t.resource, t.ns, t.name, replicas, current->resource_version);
    if (written) return ScaleOutcome::written;
    const auto& e = written.error();
    if (e.conflict() && attempt < options_.conflict_retries) {
      conflict_pause(attempt);
      continue;
    }
    if (e.not_found()) return unexpected(missing_target(t));
    return unexpected(api_error("PUT /scale of " + t.description + " (spec.replicas " + std::to_string(replicas) + ")", e));
  }
}

Result<void> KubeActuator::update_status(const api::ScaledObject& so, const StatusUpdate& update) {
  if (update.empty()) return {};
  if (!leader()) return fail("not the leader: status of ScaledObject " + so_key(so) + " not written");
  const auto& ns = so.metadata.namespace_;
  const auto& name = so.metadata.name;
  if (name.empty()) return fail("ScaledObject without a name: status not written");

  // A conditions patch carries the whole array, so its base must be the whole status as the
  // API server holds it, never the caller's object (the engine's decoded copy keeps only the
  // adapter's own conditions). The first try works from the informer's copy, or from a GET
  // without a cache or when the cache does not hold the object; a 409 means someone wrote
  // since, so the next tries start from a fresh GET.
  json status;
  std::string resource_version;
  std::int64_t generation = 0;
  auto take = [&](const json& object) {
    status = json_member(object, "status");
    resource_version = kube::resource_version(object);
    const json& g = json_member(json_member(object, "metadata"), "generation");
    generation = g.is_number_integer() ? g.get<std::int64_t>() : 0;
  };
  if (options_.scaled_objects)
    if (auto cached = options_.scaled_objects->find(ns + "/" + name)) {
      take(*cached);
      // The decision was made for the caller's generation: the conditions claim that one, even
      // when the cache already holds a newer spec (a fresh read after a 409 takes its own).
      if (so.metadata.generation) generation = *so.metadata.generation;
    }
  bool read = resource_version.empty();
  for (int attempt = 0;; ++attempt) {
    if (read) {
      auto fresh = client_.get(ebb::cluster::scaled_objects(), ns, name);
      if (!fresh) {
        if (fresh.error().not_found()) return fail("ScaledObject " + so_key(so) + " no longer exists: status not written");
        return unexpected(api_error("GET ScaledObject " + so_key(so), fresh.error()));
      }
      take(*fresh);
    }
    auto patch = status_patch(status, update, generation, Clock::now());
    if (!patch) return {};  // the fields already hold these values
    (*patch)["metadata"] = {{"resourceVersion", resource_version}};
    auto written = client_.patch(ebb::cluster::scaled_objects(), ns, name, kube::PatchType::merge, *patch,
                                 kube::PatchOptions{.subresource = "status"});
    if (written) return {};
    const auto& e = written.error();
    if (e.conflict() && attempt < options_.conflict_retries) {
      if (attempt > 0) conflict_pause(attempt - 1);  // the first retry re-reads at once
      read = true;
      continue;
    }
    if (e.not_found()) return fail("ScaledObject " + so_key(so) + " no longer exists: status not written");
    auto error = api_error("PATCH status of ScaledObject " + so_key(so), e);
    // Conflicts that outlasted the retries here pass: a later write from a fresh read succeeds.
    if (e.conflict()) error.transient = true;
    return unexpected(std::move(error));
  }
}

void KubeActuator::record(const api::ScaledObject& so, const Event& event) {
  if (!leader()) return;
  json regarding = {{"apiVersion", so.api_version},
                    {"kind", so.kind},
                    {"metadata", {{"name", so.metadata.name}, {"namespace", so.metadata.namespace_}}}};
  if (!so.metadata.uid.empty()) regarding["metadata"]["uid"] = so.metadata.uid;
  // Scale-handler events carry the reason as their action (keda-compat §7.2).
  auto recorded = recorder_.record(regarding, event.type, event.reason, event.reason, event.message);
  if (!recorded)
    log().warn("event not recorded", {{"namespace", so.metadata.namespace_},
                                      {"name", so.metadata.name},
                                      {"reason", event.reason},
                                      {"error", recorded.error().message}});
}

}  // namespace ebb::adapter
