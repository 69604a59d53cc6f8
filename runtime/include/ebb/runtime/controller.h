// A controller as controller-runtime builds one: a work queue of keys (kube::WorkQueue:
// deduplicated, never one key on two workers, per-key backoff), N workers calling a
// Reconciler, and the controller-runtime metrics for it.
//
// - No reconcile runs before every named cache has synced: decisions such as "is there a
//   foreign object for this target" need complete caches.
// - A failed pass (an error, or an exception) is retried with the queue's per-key exponential
//   backoff; a success forgets the key's failures and honours requeue_after.
// - Metrics, with the names, labels and initial series controller-runtime uses:
//   controller_runtime_reconcile_total{controller, result=success|error|requeue_after},
//   controller_runtime_reconcile_errors_total{controller},
//   controller_runtime_reconcile_time_seconds{controller} (histogram),
//   controller_runtime_active_workers{controller}, workqueue_adds_total{name},
//   workqueue_retries_total{name}, workqueue_depth{name} (at scrape time).
// - Logs on logger "controller.<name>": "reconcile failed" (error) and "reconciled" (debug).
//
// start() and stop() happen once each: a stopped controller does not start again (its queue is
// shut down), which is why a process that loses its Lease restarts instead.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ebb/kube/work_queue.h"
#include "ebb/process/log.h"
#include "ebb/runtime/metrics.h"
#include "ebb/runtime/reconciler.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace ebb::runtime {

// A cache the controller waits for, by name (an informer's has_synced, say).
struct CacheSync {
  std::string name;
  std::function<bool()> synced;
};

struct ControllerOptions {
  std::string name;  // the metrics' controller/name label and the logger "controller.<name>"
  int workers = 1;
  std::vector<CacheSync> caches;
  kube::WorkQueueOptions queue;
  std::chrono::milliseconds sync_poll{20};  // how often a waiting worker looks at the caches
  // Called on the worker after each pass (after the queue, the log and the metrics saw it),
  // with the result an exception was turned into, if any.
  std::function<void(const std::string& key, const ReconcileResult& result)> on_result;
};

class Controller {
 public:
  // Registers the metrics on `metrics`; the queue's delay thread starts here.
  Controller(ControllerOptions options, Reconciler& reconciler, Metrics& metrics);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Queues a key (deduplicated); ignored once stopping.
  void enqueue(const std::string& key);
  // Starts the workers; a no-op when already started or stopping.
  void start();
  // No new keys are handed out; workers finish the pass they are in, then this returns.
  void stop();

  bool started() const { return started_; }
  bool caches_synced() const;
  std::size_t depth() const { return queue_->length(); }
  const std::string& name() const { return options_.name; }

 private:
  void work();

  ControllerOptions options_;
  Reconciler& reconciler_;
  process::Logger log_;
  // Shared with the workqueue_depth collector, which may outlive this controller in Metrics.
  std::shared_ptr<kube::WorkQueue> queue_;
  prometheus::Counter *success_, *error_, *requeue_after_, *errors_, *adds_, *retries_;
  prometheus::Histogram* time_;
  prometheus::Gauge* active_workers_gauge_;
  std::atomic<int> active_workers_{0};
  std::atomic<bool> started_{false}, stopping_{false};
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;
};

}  // namespace ebb::runtime
