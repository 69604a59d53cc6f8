// The adapter's own Prometheus families, on the process's shared registry (runtime::Metrics,
// which also reports keda_build_info and leader_election_master_status{name}, and is served as
// text on --metrics-bind-address by the runtime::Manager):
// - keda-compat §7.1 names and labels for the adapter's work, so KEDA dashboards keep working:
//   keda_scaler_metrics_value, keda_scaler_metrics_latency_seconds, keda_scaler_active,
//   keda_scaler_detail_errors_total (label set L = namespace, metric, scaledObject, scaler,
//   triggerIndex, type="scaledobject"), keda_scaled_object_errors_total{namespace, scaledObject},
//   keda_internal_scale_loop_latency_seconds{namespace, type, resource},
//   keda_scaled_job_errors_total{namespace, scaledJob}.
//   forget() drops every series of one ScaledObject (KEDA deletes them on each reconcile; here
//   the engine calls it when an object is rebuilt away or removed).
// - The same scaler series and loop latency for ScaledJobs, with type="scaledjob" and the
//   ScaledJob's name in the scaledObject label (as KEDA labels them), from the job loop.
// - apiserver_request_total{verb, resource, code} and apiserver_request_duration_seconds{verb,
//   resource} for the external metrics API, as an aggregated API server reports them.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "ebb/adapter/engine.h"
#include "ebb/runtime/metrics.h"

namespace ebb::adapter::process {

class AdapterMetrics : public EngineObserver {
 public:
  // Registers the families on `metrics`.
  explicit AdapterMetrics(runtime::Metrics& metrics);

  // EngineObserver (called from poll and API threads concurrently).
  void scaler_queried(const MetricLabels& labels, std::optional<double> value, bool active,
                      bool failed, double seconds) override;
  void composite(const MetricLabels& labels, double value, bool active) override;
  void scale_loop_lag(const std::string& ns, const std::string& name, double seconds) override;
  void object_error(const std::string& ns, const std::string& name) override;
  void forget(const std::string& ns, const std::string& name) override;

  // keda_scaled_job_errors_total{namespace, scaledJob}: one poll of a ScaledJob met an error.
  void scaled_job_error(const std::string& ns, const std::string& name);
  // JobLoopOptions::on_trigger_polled, on_poll_lag and on_forget: the scaler series with
  // type="scaledjob". forget_scaled_job drops them (and, once removed, the errors counter too).
  void job_trigger_polled(const MetricLabels& labels, std::optional<double> value, bool active,
                          bool failed, double seconds);
  void job_poll_lag(const std::string& ns, const std::string& name, double seconds);
  void forget_scaled_job(const std::string& ns, const std::string& name, bool removed);

  // One answered request of the external metrics API (ExternalMetricsApiOptions::on_request).
  void api_request(const std::string& method, const std::string& path, int status, double seconds);

 private:
  using Labels = std::map<std::string, std::string>;
  Labels scaler_labels(const MetricLabels& labels, const char* type) const;
  void record_query(const Labels& labels, std::optional<double> value, bool active, bool failed,
                    double seconds);
  void remove_series(const std::set<Labels>& series);

  prometheus::Family<prometheus::Gauge>* value_;
  prometheus::Family<prometheus::Gauge>* latency_;
  prometheus::Family<prometheus::Gauge>* active_;
  prometheus::Family<prometheus::Counter>* scaler_errors_;
  prometheus::Family<prometheus::Counter>* object_errors_;
  prometheus::Family<prometheus::Counter>* job_errors_;
  prometheus::Family<prometheus::Gauge>* loop_latency_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_duration_;
  // Family::Add hands out references that Family::Remove invalidates: every Add-then-use and
  // every Remove happens under this lock.
  std::mutex mutex_;
  // Label sets of L-labelled series per (namespace, scaledObject), for forget(), and per
  // (namespace, scaledJob), for forget_scaled_job().
  std::map<std::pair<std::string, std::string>, std::set<Labels>> series_, job_series_;
};

// "GET" + "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-redis" -> {"LIST", "s0-redis"};
// other paths -> {"GET", ""} (non-resource requests, as kube-apiserver labels them).
std::pair<std::string, std::string> api_request_labels(const std::string& method,
                                                       const std::string& path);

}  // namespace ebb::adapter::process
