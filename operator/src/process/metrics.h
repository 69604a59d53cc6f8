// The operator's Prometheus metrics (prometheus-cpp registry, text format served by our own
// HTTP server): controller-runtime names for reconciles and the work queue, client-go's leader
// gauge, and the KEDA operator names of keda-compat §7.1 that apply to the operator. Gauges
// that describe the cluster (resource and trigger counts, paused objects) are computed from the
// informer caches at scrape time, so they never drift and deleted objects leave no series.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace ebb::op::process {

inline constexpr const char* kControllerName = "scaledobject";

// What the informer caches say at scrape time.
struct ClusterSnapshot {
  std::map<std::string, int> scaled_objects_by_namespace;
  std::map<std::string, int> trigger_authentications_by_namespace;
  int cluster_trigger_authentications = 0;
  std::map<std::string, int> triggers_by_type;
  std::vector<std::tuple<std::string, std::string, bool>> paused;  // namespace, name, paused
  std::size_t queue_depth = 0;
  bool leader = false;
};

enum class ReconcileOutcome { success, error, requeue_after };

class OperatorMetrics {
 public:
  OperatorMetrics(const std::string& version, const std::string& git_commit);

  void reconciled(const std::string& ns, const std::string& name, ReconcileOutcome outcome, double seconds);
  void queue_added();
  void queue_retried();
  // An AdmissionReview answered on the ScaledObject path (KEDA counts only those).
  void scaled_object_validation(const std::string& ns, const std::string& action, bool allowed,
                                const std::string& reason);
  void forget_scaled_object(const std::string& ns, const std::string& name);
  void set_active_workers(int n);

  // The text exposition format (version 0.0.4).
  std::string render(const ClusterSnapshot& snapshot) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* reconcile_total_;
  prometheus::Family<prometheus::Counter>* reconcile_errors_;
  prometheus::Histogram* reconcile_time_;
  prometheus::Counter* queue_adds_;
  prometheus::Counter* queue_retries_;
  prometheus::Gauge* active_workers_;
  prometheus::Family<prometheus::Counter>* so_errors_;
  prometheus::Family<prometheus::Counter>* validations_;
  prometheus::Family<prometheus::Counter>* validation_errors_;
  mutable std::mutex mutex_;  // Family::Add/Remove pairs in forget_scaled_object
};

}  // namespace ebb::op::process
