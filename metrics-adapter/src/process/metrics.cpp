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
  metrics.add_collector([state = state_] { return state->collect(); });
}

std::vector<prometheus::MetricFamily> AdapterMetrics::State::collect() const {
  using prometheus::ClientMetric;
  using prometheus::MetricFamily;
  using prometheus::MetricType;
  MetricFamily value{"keda_scaler_metrics_value",
                     "The current value of each scaler's metric (after fallback), as the HPA is "
                     "served it",
                     MetricType::Gauge,
                     {}};
  MetricFamily latency{"keda_scaler_metrics_latency_seconds",
                       "Duration of the last query of each scaler, in seconds",
                       MetricType::Gauge,
                       {}};
  MetricFamily active{
      "keda_scaler_active", "1 when the scaler is active, else 0", MetricType::Gauge, {}};
  MetricFamily scaler_errors{
      "keda_scaler_detail_errors_total", "Number of scaler query errors", MetricType::Counter, {}};
  MetricFamily object_errors{
      "keda_scaled_object_errors_total",
      "Number of ScaledObject errors (failed polls, scalers or target reads)",
      MetricType::Counter,
      {}};
  MetricFamily job_errors{
      "keda_scaled_job_errors_total",
      "Number of ScaledJob errors (polls with a failed trigger, invalid objects)",
      MetricType::Counter,
      {}};
  MetricFamily loop_latency{"keda_internal_scale_loop_latency_seconds",
                            "Lag between the planned and the actual start of a poll, in seconds",
                            MetricType::Gauge,
                            {}};
  // Labels in name order, as the text format writes them (and prometheus-cpp sorts them).
  auto sample = [](MetricFamily& family, const std::vector<ClientMetric::Label>& labels, double v) {
    ClientMetric& m = family.metric.emplace_back();
    m.label = labels;
    if (family.type == MetricType::Counter) {
      m.counter.value = v;
    } else {
      m.gauge.value = v;
    }
  };
  std::lock_guard lock(mutex);
  // Each family's vector at its final size: one allocation per family per scrape.
  std::size_t triggers = 0, values = 0, queried = 0, loops = 0, object_count = 0, job_count = 0;
  for (const auto* objects : {&this->objects, &jobs}) {
    for (const auto& [key, object] : *objects) {
      triggers += object.triggers.size();
      for (const Trigger& t : object.triggers) {
        values += t.has_value ? 1 : 0;
        queried += t.queried ? 1 : 0;
      }
      loops += object.loop_latency ? 1 : 0;
      (objects == &jobs ? job_count : object_count) += object.errors > 0 ? 1 : 0;
    }
  }
  value.metric.reserve(values);
  latency.metric.reserve(queried);
  active.metric.reserve(triggers);
  scaler_errors.metric.reserve(queried);
  object_errors.metric.reserve(object_count);
  job_errors.metric.reserve(job_count);
  loop_latency.metric.reserve(loops);
  std::vector<ClientMetric::Label> labels;
  for (const auto* objects : {&this->objects, &jobs}) {
    const bool job = objects == &jobs;
    for (const auto& [key, object] : *objects) {
      const auto& [ns, name] = key;
      for (const Trigger& t : object.triggers) {
        labels = {{"metric", t.metric},
                  {"namespace", ns},
                  {"scaledObject", name},
                  {"scaler", t.scaler},
                  {"triggerIndex", std::to_string(t.index)},
                  {"type", job ? kJobType : kType}};
        if (t.has_value) sample(value, labels, t.value);
        if (t.queried) sample(latency, labels, t.latency);
        sample(active, labels, t.active ? 1 : 0);
        if (t.queried) sample(scaler_errors, labels, t.errors);
      }
      if (object.loop_latency) {
        sample(loop_latency,
               {{"namespace", ns}, {"resource", name}, {"type", job ? kJobType : kType}},
               *object.loop_latency);
      }
      if (object.errors > 0) {
        sample(job ? job_errors : object_errors,
               {{"namespace", ns}, {job ? "scaledJob" : "scaledObject", name}}, object.errors);
      }
    }
  }
  // The registry leaves out a family without series; so does this.
  std::vector<MetricFamily> out;
  for (auto* family :
       {&value, &latency, &active, &scaler_errors, &object_errors, &job_errors, &loop_latency}) {
    if (!family->metric.empty()) out.push_back(std::move(*family));
  }
  return out;
}

AdapterMetrics::Object& AdapterMetrics::entry(Objects& objects, const std::string& ns,
                                              const std::string& name) {
  auto it = objects.find(KeyLess::View{ns, name});
  if (it == objects.end()) it = objects.emplace(std::pair{ns, name}, Object{}).first;
  return it->second;
}

AdapterMetrics::Trigger& AdapterMetrics::trigger(Object& object, const MetricLabels& l) {
  for (Trigger& t : object.triggers) {
    if (t.index == l.trigger_index && t.metric == l.metric && t.scaler == l.scaler) return t;
  }
  Trigger& t = object.triggers.emplace_back();
  t.scaler = l.scaler;
  t.metric = l.metric;
  t.index = l.trigger_index;
  return t;
}

// Called with the state's mutex held.
void AdapterMetrics::record_query(Trigger& t, std::optional<double> value, bool active, bool failed,
                                  double seconds) {
  if (value) {
    t.value = *value;
    t.has_value = true;
  }
  t.latency = seconds;
  t.active = active;
  t.queried = true;  // the errors series exists from the first query, at 0
  if (failed) t.errors += 1;
}

void AdapterMetrics::scaler_queried(const MetricLabels& l, std::optional<double> value, bool active,
                                    bool failed, double seconds) {
  std::lock_guard lock(state_->mutex);
  record_query(trigger(entry(state_->objects, l.ns, l.scaled_object), l), value, active, failed,
               seconds);
}

void AdapterMetrics::job_trigger_polled(const MetricLabels& l, std::optional<double> value,
                                        bool active, bool failed, double seconds) {
  std::lock_guard lock(state_->mutex);
  record_query(trigger(entry(state_->jobs, l.ns, l.scaled_object), l), value, active, failed,
               seconds);
}

void AdapterMetrics::job_poll_lag(const std::string& ns, const std::string& name, double seconds) {
  std::lock_guard lock(state_->mutex);
  entry(state_->jobs, ns, name).loop_latency = seconds;
}

void AdapterMetrics::forget_scaled_job(const std::string& ns, const std::string& name,
                                       bool removed) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->jobs.find(KeyLess::View{ns, name});
  if (it == state_->jobs.end()) return;
  Object& job = it->second;
  // Triggers changed: the scaler series go; the loop latency and the errors counter stay.
  std::vector<Trigger>().swap(job.triggers);
  if (removed || (job.errors == 0 && !job.loop_latency)) state_->jobs.erase(it);
}

void AdapterMetrics::composite(const MetricLabels& l, double value, bool active) {
  std::lock_guard lock(state_->mutex);
  Trigger& t = trigger(entry(state_->objects, l.ns, l.scaled_object), l);
  t.value = value;
  t.has_value = true;
  t.active = active;
}

void AdapterMetrics::scale_loop_lag(const std::string& ns, const std::string& name,
                                    double seconds) {
  std::lock_guard lock(state_->mutex);
  entry(state_->objects, ns, name).loop_latency = seconds;
}

void AdapterMetrics::object_error(const std::string& ns, const std::string& name) {
  std::lock_guard lock(state_->mutex);
  entry(state_->objects, ns, name).errors += 1;
}

void AdapterMetrics::scaled_job_error(const std::string& ns, const std::string& name) {
  std::lock_guard lock(state_->mutex);
  entry(state_->jobs, ns, name).errors += 1;
}

void AdapterMetrics::forget(const std::string& ns, const std::string& name) {
  std::lock_guard lock(state_->mutex);
  if (auto it = state_->objects.find(KeyLess::View{ns, name}); it != state_->objects.end()) {
    state_->objects.erase(it);
  }
}

void AdapterMetrics::api_request(const std::string& method, const std::string& path, int status,
                                 double seconds) {
  auto [verb, resource] = api_request_labels(method, path);
  // Unauthenticated or unauthorized callers could otherwise mint a series per path they try.
  if (status == 401 || status == 403) resource.clear();
  requests_->Add({{"verb", verb}, {"resource", resource}, {"code", std::to_string(status)}})
      .Increment();
  request_duration_->Add({{"verb", verb}, {"resource", resource}}, request_buckets())
      .Observe(seconds);
}

}  // namespace ebb::adapter::process
