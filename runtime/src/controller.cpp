#include "ebb/runtime/controller.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <algorithm>

#include "ebb/kube/resource.h"

namespace ebb::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// controller-runtime's reconcile time buckets.
prometheus::Histogram::BucketBoundaries reconcile_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5.0,
          6.0,   7.0,  8.0,   9.0,  10,   15,   20,   25,   30,  40,   50,  60};
}

}  // namespace

Controller::Controller(ControllerOptions options, Reconciler& reconciler, Metrics& metrics)
    : options_(std::move(options)),
      reconciler_(reconciler),
      log_("controller." + options_.name),
      queue_(std::make_shared<kube::WorkQueue>(options_.queue)) {
  using namespace prometheus;
  auto& registry = metrics.registry();
  const std::string& name = options_.name;
  auto& total = BuildCounter()
                    .Name("controller_runtime_reconcile_total")
                    .Help("Total number of reconciliations per controller")
                    .Register(registry);
  // Series exist from the start (at 0), as controller-runtime initialises them.
  success_ = &total.Add({{"controller", name}, {"result", "success"}});
  error_ = &total.Add({{"controller", name}, {"result", "error"}});
  requeue_after_ = &total.Add({{"controller", name}, {"result", "requeue_after"}});
  errors_ = &BuildCounter()
                 .Name("controller_runtime_reconcile_errors_total")
                 .Help("Total number of reconciliation errors per controller")
                 .Register(registry)
                 .Add({{"controller", name}});
  time_ = &BuildHistogram()
               .Name("controller_runtime_reconcile_time_seconds")
               .Help("Length of time per reconciliation per controller")
               .Register(registry)
               .Add({{"controller", name}}, reconcile_buckets());
  adds_ = &BuildCounter()
               .Name("workqueue_adds_total")
               .Help("Total number of adds handled by workqueue")
               .Register(registry)
               .Add({{"name", name}});
  retries_ = &BuildCounter()
                  .Name("workqueue_retries_total")
                  .Help("Total number of retries handled by workqueue")
                  .Register(registry)
                  .Add({{"name", name}});
  active_workers_gauge_ = &BuildGauge()
                               .Name("controller_runtime_active_workers")
                               .Help("Number of currently used workers per controller")
                               .Register(registry)
                               .Add({{"controller", name}});
  std::weak_ptr<kube::WorkQueue> queue = queue_;
  metrics.add_collector([queue, name] {
    std::vector<MetricFamily> families;
    if (auto q = queue.lock()) {
      MetricFamily depth{"workqueue_depth", "Current depth of workqueue", MetricType::Gauge, {}};
      depth.metric.push_back(gauge_sample({{"name", name}}, static_cast<double>(q->length())));
      families.push_back(std::move(depth));
    }
    return families;
  });
}

Controller::~Controller() {
  stop();
}

void Controller::enqueue(const std::string& key) {
  if (stopping_) return;
  queue_->add(key);
  adds_->Increment();
}

bool Controller::caches_synced() const {
  return std::all_of(options_.caches.begin(), options_.caches.end(),
                     [](const CacheSync& cache) { return !cache.synced || cache.synced(); });
}

void Controller::start() {
  std::lock_guard lock(workers_mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < std::max(options_.workers, 1); ++i) workers_.emplace_back([this] { work(); });
}

void Controller::stop() {
  stopping_ = true;
  queue_->shut_down();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(workers_mutex_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

void Controller::work() {
  while (!stopping_ && !caches_synced()) std::this_thread::sleep_for(options_.sync_poll);
  while (auto key = queue_->get()) {
    if (stopping_) {
      queue_->done(*key);
      break;
    }
    active_workers_gauge_->Set(++active_workers_);
    const auto started = Clock::now();
    ReconcileResult result;
    try {
      result = reconciler_.reconcile(*key);
    } catch (const std::exception& e) {
      result.error = std::string("reconcile failed unexpectedly: ") + e.what();
    } catch (...) {
      result.error = "reconcile failed unexpectedly";
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    const auto [ns, name] = kube::split_key(*key);
    prometheus::Counter* outcome = success_;
    if (!result.ok()) {
      outcome = error_;
      queue_->add_rate_limited(*key);
      retries_->Increment();
      log_.error("reconcile failed", {{"namespace", ns},
                                      {"name", name},
                                      {"error", result.error},
                                      {"retries", queue_->requeues(*key)},
                                      {"seconds", seconds}});
    } else {
      queue_->forget(*key);
      if (result.requeue_after && result.requeue_after->count() > 0) {
        outcome = requeue_after_;
        queue_->add_after(*key, *result.requeue_after);
      }
      log_.debug("reconciled",
                 {{"namespace", ns},
                  {"name", name},
                  {"seconds", seconds},
                  {"requeueAfterMs", result.requeue_after ? result.requeue_after->count() : 0}});
    }
    outcome->Increment();
    time_->Observe(seconds);
    if (!result.ok()) errors_->Increment();
    if (options_.on_result) options_.on_result(*key, result);
    queue_->done(*key);
    active_workers_gauge_->Set(--active_workers_);
  }
}

}  // namespace ebb::runtime
