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
//
// The per-object families (every keda_* family above) grow with the number of ScaledObjects and
// ScaledJobs, so they are not prometheus-cpp series (a label map, a hash node and a metric object
// each, ~4 KB per object): each object keeps one compact entry (its error count, loop latency and
// per-trigger values), rendered at scrape time by a collector (runtime::Metrics::add_collector).
// The apiserver_request_* families have a bounded label space and stay on the registry.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

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
  // One trigger's series of an object: keda_scaler_metrics_value once a value was served,
  // keda_scaler_active always, keda_scaler_metrics_latency_seconds and
  // keda_scaler_detail_errors_total once a query was reported (a composite metric has neither).
  struct Trigger {
    std::string scaler, metric;
    std::size_t index = 0;
    double value = 0, latency = 0, errors = 0;
    bool has_value = false, queried = false, active = false;
  };
  // Everything of one ScaledObject (type="scaledobject") or ScaledJob (type="scaledjob"). The
  // errors series (keda_scaled_object_errors_total or keda_scaled_job_errors_total) exists once
  // counted.
  struct Object {
    double errors = 0;
    std::optional<double> loop_latency;
    std::vector<Trigger> triggers;
  };
  // (namespace, name), looked up by string_view pairs without copying the names.
  struct KeyLess {
    using is_transparent = void;
    using View = std::pair<std::string_view, std::string_view>;
    static View view(const std::pair<std::string, std::string>& k) { return {k.first, k.second}; }
    static View view(const View& k) { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };
  using Objects = std::map<std::pair<std::string, std::string>, Object, KeyLess>;
  // Shared with the collector, which may outlive this object on the metrics server's thread.
  struct State {
    mutable std::mutex mutex;  // observers on poll and API threads, render on the metrics server's
    Objects objects, jobs;
    std::vector<prometheus::MetricFamily> collect() const;
  };
  static Object& entry(Objects& objects, const std::string& ns, const std::string& name);
  static Trigger& trigger(Object& object, const MetricLabels& labels);
  static void record_query(Trigger& t, std::optional<double> value, bool active, bool failed,
                           double seconds);

  std::shared_ptr<State> state_ = std::make_shared<State>();
  // Series of these are never removed, so Family::Add (which locks the family) is all it takes.
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* request_duration_;
};

// "GET" + "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-redis" -> {"LIST", "s0-redis"};
// other paths -> {"GET", ""} (non-resource requests, as kube-apiserver labels them).
std::pair<std::string, std::string> api_request_labels(const std::string& method,
                                                       const std::string& path);

}  // namespace ebb::adapter::process
