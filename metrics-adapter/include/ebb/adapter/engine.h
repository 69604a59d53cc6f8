// The adapter's data plane: one runtime per ScaledObject, fed by the informers, polled by the
// PollScheduler, answering the HPA from its cache (MetricsProvider), deciding with decide() and
// acting through the Actuator.
//
// Per object (key "namespace/name"):
// - Built when first seen and rebuilt when metadata.generation changes or a referenced
//   (Cluster)TriggerAuthentication changes (auth_changed): cluster::resolve_trigger_inputs +
//   each external trigger's TriggerConfig::create_scaler(pools). A trigger whose inputs or
//   scaler cannot be built stays in the runtime as a failed trigger (its error is the poll
//   error: "scaler could not be built: ..."), so fallback covers it and it is never read as 0.
//   Scalers are closed (destroyed) when the object is rebuilt or removed.
// - The hand-off rule (ebb/api/status.h adapter_may_act): while it is false the object is
//   not polled by the scheduler and nothing is written; HPA reads still get served values when a
//   scaler exists (the HPA only reads metrics of HPAs the operator made). Deletion or pause stops
//   every write at once.
// - Scheduled at spec.pollingInterval (stable phase; FirstRun::Now for objects added after the
//   initial sync and for rebuilds). A poll: every external trigger queried (bounded by
//   poll_timeout), the cache updated, status.health counted (keda-compat §4.8), the target's
//   replicas read, decide(), Actuator::execute(). With a StatusWriter the poll writes /scale
//   itself and hands the status and the Events to the writer, so a slow or hanging API server
//   never holds polling back; what it hands over counts as written (the writer retries transient
//   failures until the newest state is in), and what is pending for an object is dropped when
//   the hand-off rule turns false or the object goes.
// - Push (ARCHITECTURE.md decision 6): the scalers of push-capable trigger types
//   (ScalerDefinition::push) are watched from the moment they are built (Scaler::watch) until
//   the engine drops them (Scaler::stop_watch, when the object is rebuilt or removed). When one
//   says its source changed, the object's poll runs at once (PollScheduler::run_now), so an
//   object at 0 replicas is activated within a poll's time instead of at its next interval; a
//   push for an object that is not scheduled yet makes its first run immediate. Polling goes on
//   as scheduled regardless, so a broken push path only costs latency.
// - HPA reads: answered from the cache under the freshness rule (freshness.h); a Refresh runs
//   one poll of the object, shared by every concurrent reader and the scheduler (single flight);
//   a read waits for it at most poll_timeout, then answers from what is cached or errors. Every
//   read that needed a refresh counts health like a poll does. Fallback values and the composite
//   metric per decision.h. Errors name the object, the metric and the cause (never a secret).
// - Removed objects: unscheduled, cache and scalers dropped, observer told to forget them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ebb/adapter/actuator.h"
#include "ebb/adapter/decision.h"
#include "ebb/adapter/freshness.h"
#include "ebb/adapter/provider.h"
#include "ebb/adapter/scheduler.h"
#include "ebb/kube/client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"

namespace ebb::adapter {

// Labels of keda-compat §7.1's label set L for one metric of one object.
struct MetricLabels {
  std::string ns, scaled_object, metric;
  std::string scaler;  // trigger name, else KEDA's scaler name (scalers::Registry::keda_name)
  std::size_t trigger_index = 0;
};

// What the engine reports for Prometheus and logs; the process implements it. Called from
// worker threads concurrently. Default: nothing.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // One scaler query (poll or refresh): value served (after fallback) when any, activity,
  // whether it failed, and how long it took.
  virtual void scaler_queried(const MetricLabels& /*labels*/, std::optional<double> /*value*/, bool /*active*/,
                              bool /*failed*/, double /*seconds*/) {}
  virtual void composite(const MetricLabels& /*labels*/, double /*value*/, bool /*active*/) {}
  virtual void scale_loop_lag(const std::string& /*ns*/, const std::string& /*name*/, double /*seconds*/) {}
  virtual void object_error(const std::string& /*ns*/, const std::string& /*name*/) {}
  virtual void forget(const std::string& /*ns*/, const std::string& /*name*/) {}
};

struct EngineOptions {
  std::chrono::seconds hpa_sync_period = kDefaultHpaSyncPeriod;
  std::chrono::milliseconds poll_timeout{std::chrono::seconds(10)};
  std::string cluster_object_namespace = "keda";
  // How each trigger type is parsed, built and labelled; null: scalers::Registry::builtin().
  const scalers::Registry* registry = nullptr;
  // Watch-backed caches of the process (null: read through the client): the scale targets and
  // their pod templates, and the (Cluster)TriggerAuthentications, so building an object's
  // triggers reads no more than the Secrets and ConfigMaps it names.
  const cluster::WorkloadCaches* workloads = nullptr;
  const kube::CacheView* trigger_authentications = nullptr;
  const kube::CacheView* cluster_trigger_authentications = nullptr;
  // The informers' cache of the ScaledObjects the engine is fed from: a rebuild for an auth
  // change reads the object there. Null: the engine keeps each object as text for that.
  const kube::CacheView* scaled_objects = nullptr;
  // Tests and benches: the wall clock the decision and the freshness rule use.
  std::function<TimePoint()> now = [] { return Clock::now(); };
};

class StatusWriter;

struct EngineDeps {
  kube::Client& client;             // resolving trigger inputs (TA, Secrets, ConfigMaps, target env)
  scalers::ConnectionPools& pools;  // shared by every scaler
  PollScheduler& scheduler;
  Actuator& actuator;
  EngineObserver* observer = nullptr;
  // Status and Event writes off the poll workers (status_writer.h); null: written by the poll.
  StatusWriter* status_writer = nullptr;
};

class Engine : public MetricsProvider {
 public:
  Engine(EngineDeps deps, EngineOptions options = {});
  ~Engine() override;  // unschedules everything
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Informer events (called on informer threads). `after_sync`: the informers finished their
  // initial list, so a new object is polled at once instead of at its phase.
  void upsert(const kube::Object& scaled_object, bool after_sync);
  void remove(const kube::Object& scaled_object);
  // kind "TriggerAuthentication" (ns set) or "ClusterTriggerAuthentication" (ns ""): rebuild
  // every object whose triggers reference it.
  void auth_changed(const std::string& kind, const std::string& ns, const std::string& name);

  Result<std::vector<MetricSample>, MetricError> external_metric(const MetricQuery& query) override;

  // One poll of the object now, shared with a poll already running for it; waits for it.
  void poll(const std::string& key);

  std::size_t objects() const;
  // Objects that pass the hand-off rule and are being polled.
  std::size_t active_objects() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ebb::adapter
