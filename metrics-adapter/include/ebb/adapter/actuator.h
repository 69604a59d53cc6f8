// The adapter's writes (ARCHITECTURE.md "Who writes what"): the target's /scale for activation,
// deactivation and fallback, the ScaledObject status fields the adapter owns (conditions Active
// and Fallback, lastActiveTime, health, triggersActivity) and Events on the ScaledObject.
//
// Only the leader writes anything: on a non-leader every write is skipped and reported as
// skipped (all replicas poll and serve reads). The hand-off rule (adapter_may_act) is the
// Engine's business, checked before it asks for anything here.
//
// KubeActuator:
// - read_target: the target of status.scaleTargetGVKR (falls back to resolving
//   spec.scaleTargetRef through discovery when the status has none) -> replicas, and ready
//   replicas from the object's status.readyReplicas when it has one, else the Scale's
//   status.replicas. Deployments and StatefulSets come from the watch-backed caches when the
//   options give them (no request per poll); an object the cache does not hold yet, and every
//   other kind, is read from the API (GET /scale).
// - scale: read-modify-write of the Scale with its resourceVersion, retried on 409 (bounded).
// - update_status: JSON merge patch of the status subresource carrying the read
//   resourceVersion (of the watch-backed ScaledObject when the options give the cache, else of
//   a GET: the caller's object only names it), merged into a fresh read and retried on 409
//   (bounded); skipped when the fields already hold those values; conditions keep
//   lastTransitionTime unless the status changes, and get observedGeneration =
//   metadata.generation.
// - execute(): carries out a Decision in this order: /scale (when decision.scale), then the
//   status (lastActiveTime stamped when the scale succeeded and asks for it), then Events
//   (decision.events, and the scale action's on_success / on_failure). Given a StatusSink, the
//   status and the Events go to it instead of being written on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ebb/adapter/decision.h"
#include "ebb/api/objects.h"
#include "ebb/api/status.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/result.h"

namespace ebb::adapter {

struct TargetState {
  std::int32_t replicas = 0;        // Scale spec.replicas
  std::int32_t ready_replicas = 0;  // for fallback values of Value targets
};

// The adapter-owned status fields to write; unset optionals leave the field alone.
struct StatusUpdate {
  std::optional<Condition> active;
  std::optional<Condition> fallback;
  std::optional<TimePoint> last_active;
  std::optional<std::map<std::string, MetricHealth>> health;  // replaces status.health
  std::optional<std::map<std::string, bool>> triggers_activity;  // replaces status.triggersActivity
  bool empty() const;
};

// Pure: the JSON merge patch ({"status": {...}}) that brings `current_status` to `update`, or
// nullopt when nothing would change. `generation` goes into the conditions' observedGeneration.
std::optional<nlohmann::json> status_patch(const nlohmann::json& current_status, const StatusUpdate& update,
                                           std::int64_t generation, TimePoint now);

// Pure: the status fields ("conditions", "lastActiveTime", "health", "triggersActivity") that
// status_patch would write for `update` on a status whose adapter part reads as `current`, in
// that order; empty when it writes nothing. Never misses one; it may name a field the document
// holds in a shape Ebb would not write (AdapterStatus exact = false), where the patch decides.
std::vector<std::string> status_update_fields(const api::AdapterStatus& current,
                                              const StatusUpdate& update, std::int64_t generation);

// Where execute() hands the status update and the Events when they are not written on the
// calling thread (StatusWriter, status_writer.h). submit() must not wait for the API server.
class StatusSink {
 public:
  virtual ~StatusSink() = default;
  virtual void submit(const api::ScaledObject& so, StatusUpdate update,
                      std::vector<Event> events) = 0;
};

// What a successful Actuator::scale did: wrote /scale, or found the target already at the count
// (the engine decides on a cached read; the write starts from a fresh GET).
enum class ScaleOutcome { written, unchanged };

struct ExecutionReport {
  bool skipped_not_leader = false;
  std::optional<std::int32_t> scaled_to;     // the target is at this count: written or found there
  std::optional<std::string> scale_error;    // /scale failed
  bool status_queued = false;  // status and Events handed to the StatusSink, not written yet
  bool status_written = false;
  std::optional<std::string> status_error;
  std::vector<Event> events_recorded;
};

class Actuator {
 public:
  virtual ~Actuator() = default;
  virtual bool leader() const = 0;
  virtual Result<TargetState> read_target(const api::ScaledObject& so) = 0;
  virtual Result<ScaleOutcome> scale(const api::ScaledObject& so, std::int32_t replicas) = 0;
  virtual Result<void> update_status(const api::ScaledObject& so, const StatusUpdate& update) = 0;
  virtual void record(const api::ScaledObject& so, const Event& event) = 0;

  // `health` is the status.health to write (nullopt: leave it; KEDA writes it only while a
  // valid fallback is configured). With a `sink`, /scale is still written here, and the status
  // update and the Events (the scale's outcome included) go to the sink.
  ExecutionReport execute(const api::ScaledObject& so, const Decision& decision,
                          const std::optional<std::map<std::string, MetricHealth>>& health,
                          TimePoint now, StatusSink* sink = nullptr);
};

struct KubeActuatorOptions {
  std::function<bool()> is_leader;  // null: always the leader (single replica)
  // Watch-backed Deployments and StatefulSets (trimmed by cluster::workload_transform); null:
  // read_target GETs every target.
  const cluster::WorkloadCaches* workloads = nullptr;
  // Watch-backed ScaledObjects: a status patch starts from the cached object (the newest the
  // process has), since a conditions patch carries the whole array and the engine's decoded
  // object keeps only the adapter's own conditions. Null: from a GET before each write.
  const kube::CacheView* scaled_objects = nullptr;
  kube::EventRecorderOptions events{"keda.sh/ebb-metrics-adapter", "", 4096};
  int conflict_retries = 5;
};

class KubeActuator : public Actuator {
 public:
  KubeActuator(kube::Client& client, KubeActuatorOptions options);
  bool leader() const override;
  Result<TargetState> read_target(const api::ScaledObject& so) override;
  Result<ScaleOutcome> scale(const api::ScaledObject& so, std::int32_t replicas) override;
  Result<void> update_status(const api::ScaledObject& so, const StatusUpdate& update) override;
  void record(const api::ScaledObject& so, const Event& event) override;

 private:
  kube::Client& client_;
  KubeActuatorOptions options_;
  kube::EventRecorder recorder_;
};

}  // namespace ebb::adapter
