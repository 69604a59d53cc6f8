#include "process/metrics.h"

namespace ebb::op::process {

using prometheus::MetricFamily;
using prometheus::MetricType;
using runtime::gauge_sample;

OperatorMetrics::OperatorMetrics(runtime::Metrics& metrics,
                                 std::function<ClusterSnapshot()> snapshot) {
  using namespace prometheus;
  auto& registry = metrics.registry();
  so_errors_ = &BuildCounter()
                    .Name("keda_scaled_object_errors_total")
                    .Help("Number of ScaledObject reconcile errors")
                    .Register(registry);
  validations_ = &BuildCounter()
                      .Name("keda_webhook_scaled_object_validations_total")
                      .Help("Number of ScaledObject admission reviews")
                      .Register(registry);
  validation_errors_ = &BuildCounter()
                            .Name("keda_webhook_scaled_object_validation_errors_total")
                            .Help("Number of ScaledObject admission reviews denied, by reason")
                            .Register(registry);
  metrics.add_collector([snapshot = std::move(snapshot)] { return cluster_families(snapshot()); });
}

void OperatorMetrics::reconcile_failed(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  so_errors_->Add({{"namespace", ns}, {"scaledObject", name}}).Increment();
}

void OperatorMetrics::scaled_object_validation(const std::string& ns, const std::string& action,
                                               bool allowed, const std::string& reason) {
  std::lock_guard lock(mutex_);
  validations_->Add({{"namespace", ns}, {"action", action}}).Increment();
  if (!allowed)
    validation_errors_->Add({{"namespace", ns}, {"action", action}, {"reason", reason}})
        .Increment();
}

void OperatorMetrics::scaled_job_validation_denied(const std::string& ns, const std::string& action,
                                                   const std::string& reason) {
  std::lock_guard lock(mutex_);
  validation_errors_->Add({{"namespace", ns}, {"action", action}, {"reason", reason}}).Increment();
}

void OperatorMetrics::forget_scaled_object(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  prometheus::Labels labels{{"namespace", ns}, {"scaledObject", name}};
  if (so_errors_->Has(labels)) so_errors_->Remove(&so_errors_->Add(labels));
}

std::vector<MetricFamily> OperatorMetrics::cluster_families(const ClusterSnapshot& s) {
  std::vector<MetricFamily> families;
  // KEDA reports an empty namespace as "default".
  auto ns_label = [](const std::string& ns) { return ns.empty() ? std::string("default") : ns; };
  MetricFamily resources{"keda_resource_registered_total",
                         "Number of KEDA custom resources per type and namespace",
                         MetricType::Gauge,
                         {}};
  for (const auto& [ns, n] : s.scaled_objects_by_namespace)
    resources.metric.push_back(
        gauge_sample({{"namespace", ns_label(ns)}, {"type", "scaled_object"}}, n));
  for (const auto& [ns, n] : s.scaled_jobs_by_namespace)
    resources.metric.push_back(
        gauge_sample({{"namespace", ns_label(ns)}, {"type", "scaled_job"}}, n));
  for (const auto& [ns, n] : s.trigger_authentications_by_namespace)
    resources.metric.push_back(
        gauge_sample({{"namespace", ns_label(ns)}, {"type", "trigger_authentication"}}, n));
  if (s.cluster_trigger_authentications > 0)
    resources.metric.push_back(
        gauge_sample({{"namespace", "default"}, {"type", "cluster_trigger_authentication"}},
                     s.cluster_trigger_authentications));
  families.push_back(std::move(resources));

  MetricFamily triggers{"keda_trigger_registered_total",
                        "Number of triggers per trigger type",
                        MetricType::Gauge,
                        {}};
  for (const auto& [type, n] : s.triggers_by_type)
    triggers.metric.push_back(gauge_sample({{"type", type}}, n));
  families.push_back(std::move(triggers));

  MetricFamily paused{"keda_scaled_object_paused",
                      "1 when the ScaledObject is paused, else 0",
                      MetricType::Gauge,
                      {}};
  for (const auto& [ns, name, is_paused] : s.paused)
    paused.metric.push_back(
        gauge_sample({{"namespace", ns}, {"scaledObject", name}}, is_paused ? 1 : 0));
  families.push_back(std::move(paused));
  return families;
}

}  // namespace ebb::op::process
