// The operator's own Prometheus families, on the process's shared registry (runtime::Metrics):
// the KEDA operator names of keda-compat §7.1 that apply to the operator. The controller-runtime
// families (controller_runtime_*, workqueue_*) are the runtime::Controller's, keda_build_info
// and leader_election_master_status the runtime::Metrics'. Gauges that describe the cluster
// (resource and trigger counts, paused objects) are computed from the informer caches at scrape
// time, so they never drift and deleted objects leave no series.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>

#include "ebb/runtime/metrics.h"

namespace ebb::op::process {

// The controller's name: the controller/name label of the controller-runtime families.
inline constexpr const char* kControllerName = "scaledobject";

// What the informer caches say at scrape time.
struct ClusterSnapshot {
  std::map<std::string, int> scaled_objects_by_namespace;
  std::map<std::string, int> scaled_jobs_by_namespace;
  std::map<std::string, int> trigger_authentications_by_namespace;
  int cluster_trigger_authentications = 0;
  std::map<std::string, int> triggers_by_type;  // ScaledObjects' and ScaledJobs' (as KEDA)
  std::vector<std::tuple<std::string, std::string, bool>> paused;  // namespace, name, paused
};

class OperatorMetrics {
 public:
  // Registers the families on `metrics`, and a collector that renders `snapshot()` on every
  // scrape.
  OperatorMetrics(runtime::Metrics& metrics, std::function<ClusterSnapshot()> snapshot);

  // A reconcile of this ScaledObject failed (keda_scaled_object_errors_total).
  void reconcile_failed(const std::string& ns, const std::string& name);
  // An AdmissionReview answered on the ScaledObject path (KEDA counts only those).
  void scaled_object_validation(const std::string& ns, const std::string& action, bool allowed,
                                const std::string& reason);
  // KEDA counts a denied ScaledJob under the ScaledObject errors counter (its webhook's
  // verifyTriggers) and never counts ScaledJob reviews in the total.
  void scaled_job_validation_denied(const std::string& ns, const std::string& action,
                                    const std::string& reason);
  void forget_scaled_object(const std::string& ns, const std::string& name);

  // keda_resource_registered_total, keda_trigger_registered_total, keda_scaled_object_paused.
  static std::vector<prometheus::MetricFamily> cluster_families(const ClusterSnapshot& snapshot);

 private:
  prometheus::Family<prometheus::Counter>* so_errors_;
  prometheus::Family<prometheus::Counter>* validations_;
  prometheus::Family<prometheus::Counter>* validation_errors_;
  std::mutex mutex_;  // Family::Add/Remove pairs in forget_scaled_object
};

}  // namespace ebb::op::process
