#include "process/metrics.h"

#include <vector>

#include "ebb/strings.h"

namespace ebb::adapter::process {
namespace {

constexpr const char* kType = "scaledobject";
constexpr const char* kJobType = "scaledjob";
constexpr const char* kMetricsPrefix = "/apis/external.metrics.k8s.io/v1beta1/namespaces/";

// kube-apiserver's request duration buckets (the low end; metric reads are answered from a cache).
prometheus::Histogram::BucketBoundaries request_buckets() {
  return {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
          3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60};
}

}  // namespace

std::pair<std::string, std::string> api_request_labels(const std::string& method,
                                                       const std::string& path) {
  std::string verb = to_lower(method) == "head" ? "GET" : method;
  for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string prefix = kMetricsPrefix;
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0) {
    // namespaces/{ns}/{metric}: a list of the metric's values (the resource is the metric).
    const std::string rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash != std::string::npos && slash > 0 && slash + 1 < rest.size() &&
        rest.find('/', slash + 1) == std::string::npos) {
      return {verb == "GET" ? "LIST" : verb, to_lower(rest.substr(slash + 1))};
    }
  }
  return {verb, ""};
}

AdapterMetrics::AdapterMetrics(runtime::Metrics& metrics) {
  using namespace prometheus;
  auto& registry = metrics.registry();
  value_ = &BuildGauge()
                .Name("keda_scaler_metrics_value")
                .Help(
                    "The current value of each scaler's metric (after fallback), as the HPA is "
                    "served it")
                .Register(registry);
  latency_ = &BuildGauge()
                  .Name("keda_scaler_metrics_latency_seconds")
                  .Help("Duration of the last query of each scaler, in seconds")
                  .Register(registry);
  active_ = &BuildGauge()
                 .Name("keda_scaler_active")
                 .Help("1 when the scaler is active, else 0")
                 .Register(registry);
  scaler_errors_ = &BuildCounter()
                        .Name("keda_scaler_detail_errors_total")
                        .Help("Number of scaler query errors")
                        .Register(registry);
  object_errors_ =
      &BuildCounter()
           .Name("keda_scaled_object_errors_total")
           .Help("Number of ScaledObject errors (failed polls, scalers or target reads)")
           .Register(registry);
  job_errors_ = &BuildCounter()
                     .Name("keda_scaled_job_errors_total")
                     .Help("Number of ScaledJob errors (polls with a failed trigger, invalid objects)")
                     .Register(registry);
  loop_latency_ = &BuildGauge()
                       .Name("keda_internal_scale_loop_latency_seconds")
                       .Help("Lag between the planned and the actual start of a poll, in seconds")
                       .Register(registry);
  requests_ =
      &BuildCounter()
           .Name("apiserver_request_total")
           .Help("Requests to the external metrics API by verb, resource and HTTP status code")
           .Register(registry);
  request_duration_ =
      &BuildHistogram()
           .Name("apiserver_request_duration_seconds")
           .Help("Response latency of the external metrics API by verb and resource")
           .Register(registry);
}

AdapterMetrics::Labels AdapterMetrics::scaler_labels(const MetricLabels& l,
                                                     const char* type) const {
  return {{"namespace", l.ns},
          {"metric", l.metric},
          {"scaledObject", l.scaled_object},
          {"scaler", l.scaler},
          {"triggerIndex", std::to_string(l.trigger_index)},
          {"type", type}};
}

// Called with mutex_ held.
void AdapterMetrics::record_query(const Labels& labels, std::optional<double> value, bool active,
                                  bool failed, double seconds) {
  if (value) value_->Add(labels).Set(*value);
  latency_->Add(labels).Set(seconds);
  active_->Add(labels).Set(active ? 1 : 0);
  auto& errors = scaler_errors_->Add(labels);  // the series exists from the first query, at 0
  if (failed) errors.Increment();
}

// Called with mutex_ held.
void AdapterMetrics::remove_series(const std::set<Labels>& series) {
  for (const auto& labels : series) {
    if (value_->Has(labels)) value_->Remove(&value_->Add(labels));
    if (latency_->Has(labels)) latency_->Remove(&latency_->Add(labels));
    if (active_->Has(labels)) active_->Remove(&active_->Add(labels));
    if (scaler_errors_->Has(labels)) scaler_errors_->Remove(&scaler_errors_->Add(labels));
  }
}

void AdapterMetrics::scaler_queried(const MetricLabels& l, std::optional<double> value, bool active,
                                    bool failed, double seconds) {
  const Labels labels = scaler_labels(l, kType);
  std::lock_guard lock(mutex_);
  series_[{l.ns, l.scaled_object}].insert(labels);
  record_query(labels, value, active, failed, seconds);
}

void AdapterMetrics::job_trigger_polled(const MetricLabels& l, std::optional<double> value,
                                        bool active, bool failed, double seconds) {
  const Labels labels = scaler_labels(l, kJobType);
  std::lock_guard lock(mutex_);
  job_series_[{l.ns, l.scaled_object}].insert(labels);
  record_query(labels, value, active, failed, seconds);
}

void AdapterMetrics::job_poll_lag(const std::string& ns, const std::string& name, double seconds) {
  std::lock_guard lock(mutex_);
  loop_latency_->Add({{"namespace", ns}, {"type", kJobType}, {"resource", name}}).Set(seconds);
}

void AdapterMetrics::forget_scaled_job(const std::string& ns, const std::string& name,
                                       bool removed) {
  std::lock_guard lock(mutex_);
  if (auto it = job_series_.find({ns, name}); it != job_series_.end()) {
    remove_series(it->second);
    job_series_.erase(it);
  }
  if (!removed) return;
  const Labels loop{{"namespace", ns}, {"type", kJobType}, {"resource", name}};
  if (loop_latency_->Has(loop)) loop_latency_->Remove(&loop_latency_->Add(loop));
  const Labels errors{{"namespace", ns}, {"scaledJob", name}};
  if (job_errors_->Has(errors)) job_errors_->Remove(&job_errors_->Add(errors));
}

void AdapterMetrics::composite(const MetricLabels& l, double value, bool active) {
  const Labels labels = scaler_labels(l, kType);
  std::lock_guard lock(mutex_);
  series_[{l.ns, l.scaled_object}].insert(labels);
  value_->Add(labels).Set(value);
  active_->Add(labels).Set(active ? 1 : 0);
}

void AdapterMetrics::scale_loop_lag(const std::string& ns, const std::string& name,
                                    double seconds) {
  std::lock_guard lock(mutex_);
  loop_latency_->Add({{"namespace", ns}, {"type", kType}, {"resource", name}}).Set(seconds);
}

void AdapterMetrics::object_error(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  object_errors_->Add({{"namespace", ns}, {"scaledObject", name}}).Increment();
}

void AdapterMetrics::scaled_job_error(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  job_errors_->Add({{"namespace", ns}, {"scaledJob", name}}).Increment();
}

void AdapterMetrics::forget(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = series_.find({ns, name});
  if (it != series_.end()) {
    remove_series(it->second);
    series_.erase(it);
  }
  const Labels object{{"namespace", ns}, {"scaledObject", name}};
  if (object_errors_->Has(object)) object_errors_->Remove(&object_errors_->Add(object));
  const Labels loop{{"namespace", ns}, {"type", kType}, {"resource", name}};
  if (loop_latency_->Has(loop)) loop_latency_->Remove(&loop_latency_->Add(loop));
}

void AdapterMetrics::api_request(const std::string& method, const std::string& path, int status,
                                 double seconds) {
  auto [verb, resource] = api_request_labels(method, path);
  // Unauthenticated or unauthorized callers could otherwise mint a series per path they try.
  if (status == 401 || status == 403) resource.clear();
  std::lock_guard lock(mutex_);
  requests_->Add({{"verb", verb}, {"resource", resource}, {"code", std::to_string(status)}})
      .Increment();
  request_duration_->Add({{"verb", verb}, {"resource", resource}}, request_buckets())
      .Observe(seconds);
}

}  // namespace ebb::adapter::process
