// The ScaledJob loop (issue 15): where the scaler connections already live, one runtime per
// ScaledJob, polled by the PollScheduler every pollingInterval, deciding with decide_jobs()
// (job_decision.h) and writing through the Kubernetes API.
//
// Per ScaledJob (key "namespace/name", scheduled as "scaledjob/namespace/name"):
// - Built when first seen and rebuilt when metadata.generation changes or a referenced
//   (Cluster)TriggerAuthentication changes: the job template's env, the trigger inputs
//   (cluster::resolve_trigger_inputs) and one scaler per external trigger from the shared
//   ConnectionPools. A trigger that cannot be built is a failed trigger on every poll (never an
//   empty queue). An object that does not decode or validate (api::validate) is not polled; its
//   Ready condition says why (ScaledJobCheckFailed).
// - A poll, only on the leader and only once the Job and Pod informers have listed (an unsynced
//   cache would count no running Jobs and create too many): every trigger queried within
//   poll_timeout, the ScaledJob's Jobs counted from the Job informer's index (running, and
//   pending from the Pod informer's index; Jobs this process created that the informer has not
//   delivered yet count as running and pending, so a quick next poll does not create them
//   again), decide_jobs(), the Jobs created (KEDA's
//   job_manifest), finished Jobs beyond the history limits deleted (background propagation),
//   status written (Ready, Active, lastActiveTime, triggersActivity, externalMetricNames), Events.
// - autoscaling.keda.sh/paused: no poll; Paused=True/ScaledJobPaused (and False/ScaledJobUnpaused
//   when the annotation goes), with KEDA's events.
// - A new generation, or the first poll after a start (KEDA's reconcile on start), with rollout
//   strategy other than "gradual": the Jobs whose scaledjob.keda.sh/generation annotation
//   differs are deleted first (propagation per rollout.propagationPolicy), with
//   ScaledJobRolloutCleanup{Started,Completed,Failed} events; after a failed delete the next
//   poll tries again.
// Nothing here scans all Jobs or Pods: both informers watch only objects labelled
// scaledjob.keda.sh/name and are read through their indexes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/adapter/engine.h"
#include "ebb/adapter/scheduler.h"
#include "ebb/kube/client.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/kube/informer.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"

namespace ebb::adapter {

// Informer indexes the loop reads: Jobs by "<ns>/<scaledjob name>" (their
// scaledjob.keda.sh/name label), Pods by "<ns>/<job name>" (their job-name label).
inline constexpr const char* kJobsByScaledJobIndex = "scaledjob";
inline constexpr const char* kPodsByJobIndex = "job";
std::vector<std::string> jobs_by_scaled_job(const kube::Object& job);
std::vector<std::string> pods_by_job(const kube::Object& pod);
// Informer transforms: what the loop reads of a Job (name, labels, annotations, status
// conditions and completionTime) and of a Pod (name, labels, phase, conditions).
void job_transform(kube::Object& job);
void pod_transform(kube::Object& pod);
// The label selector both informers use.
inline constexpr const char* kScaledJobSelector = "scaledjob.keda.sh/name";

struct JobLoopOptions {
  std::chrono::milliseconds poll_timeout{std::chrono::seconds(10)};
  std::string cluster_object_namespace = "keda";
  std::string version = "dev";                  // app.kubernetes.io/version on created Jobs
  const scalers::Registry* registry = nullptr;  // null: scalers::Registry::builtin()
  std::function<bool()> is_leader;              // null: always
  std::function<bool()> caches_synced;          // null: always
  kube::EventRecorderOptions events{"keda.sh/ebb-metrics-adapter", "", 4096};
  // keda_scaled_job_errors_total: one call per poll that met an error.
  std::function<void(const std::string& ns, const std::string& name)> on_error;
  // KEDA's scaler series for ScaledJobs (type="scaledjob"): one call per trigger queried in a
  // poll (labels.scaled_object is the ScaledJob's name), with the value when it succeeded.
  std::function<void(const MetricLabels& labels, std::optional<double> value, bool active,
                     bool failed, double seconds)>
      on_trigger_polled;
  // The poll started this late (keda_internal_scale_loop_latency_seconds, type="scaledjob").
  std::function<void(const std::string& ns, const std::string& name, double seconds)> on_poll_lag;
  // Drop the series of a ScaledJob: its triggers changed (removed == false) or it is gone.
  std::function<void(const std::string& ns, const std::string& name, bool removed)> on_forget;
};

struct JobLoopDeps {
  kube::Client& client;
  scalers::ConnectionPools& pools;
  PollScheduler& scheduler;
  const kube::CacheView& jobs;  // indexed by kJobsByScaledJobIndex
  const kube::CacheView& pods;  // indexed by kPodsByJobIndex
};

class JobLoop {
 public:
  JobLoop(JobLoopDeps deps, JobLoopOptions options = {});
  ~JobLoop();  // unschedules everything
  JobLoop(const JobLoop&) = delete;
  JobLoop& operator=(const JobLoop&) = delete;

  void upsert(const kube::Object& scaled_job, bool after_sync);
  void remove(const kube::Object& scaled_job);
  void auth_changed(const std::string& kind, const std::string& ns, const std::string& name);
  // One poll of "ns/name" now (waits for a poll already running).
  void poll(const std::string& key);
  std::size_t objects() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ebb::adapter
