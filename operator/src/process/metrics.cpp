#include "process/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>


#include "ebb/process/runtime.h"

namespace ebb::op::process {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// controller-runtime's reconcile time buckets.
prometheus::Histogram::BucketBoundaries reconcile_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
          1.25,  1.5,  1.75,  2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5.0,  6.0, 7.0,  8.0, 9.0, 10,  15,  20,  25,
          30,    40,   50,    60};
}

ClientMetric gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

}  // namespace

OperatorMetrics::OperatorMetrics(const std::string& version, const std::string& git_commit)
    : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  reconcile_total_ = &BuildCounter()
                          .Name("controller_runtime_reconcile_total")
                          .Help("Total number of reconciliations per controller")
                          .Register(*registry_);
  reconcile_errors_ = &BuildCounter()
                           .Name("controller_runtime_reconcile_errors_total")
                           .Help("Total number of reconciliation errors per controller")
                           .Register(*registry_);
  reconcile_time_ = &BuildHistogram()
                         .Name("controller_runtime_reconcile_time_seconds")
                         .Help("Length of time per reconciliation per controller")
                         .Register(*registry_)
                         .Add({{"controller", kControllerName}}, reconcile_buckets());
  // Series exist from the start (at 0), as controller-runtime initialises them.
  for (const char* result : {"success", "error", "requeue_after"})
    reconcile_total_->Add({{"controller", kControllerName}, {"result", result}});
  reconcile_errors_->Add({{"controller", kControllerName}});
  queue_adds_ = &BuildCounter()
                     .Name("workqueue_adds_total")
                     .Help("Total number of adds handled by workqueue")
                     .Register(*registry_)
                     .Add({{"name", kControllerName}});
  queue_retries_ = &BuildCounter()
                        .Name("workqueue_retries_total")
                        .Help("Total number of retries handled by workqueue")
                        .Register(*registry_)
                        .Add({{"name", kControllerName}});
  active_workers_ = &BuildGauge()
                         .Name("controller_runtime_active_workers")
                         .Help("Number of currently used workers per controller")
                         .Register(*registry_)
                         .Add({{"controller", kControllerName}});
  BuildGauge()
      .Name("keda_build_info")
      .Help("Build information: version, commit, compiler (in goversion) and platform")
      .Register(*registry_)
      .Add({{"version", version},
            {"git_commit", git_commit},
            {"goversion", std::string("g++ ") + __VERSION__},
            {"goos", "linux"},
            {"goarch", ebb::process::machine_arch()}})
      .Set(1);
  so_errors_ = &BuildCounter()
                    .Name("keda_scaled_object_errors_total")
                    .Help("Number of ScaledObject reconcile errors")
                    .Register(*registry_);
  validations_ = &BuildCounter()
                      .Name("keda_webhook_scaled_object_validations_total")
                      .Help("Number of ScaledObject admission reviews")
                      .Register(*registry_);
  validation_errors_ = &BuildCounter()
                            .Name("keda_webhook_scaled_object_validation_errors_total")
                            .Help("Number of ScaledObject admission reviews denied, by reason")
                            .Register(*registry_);
}

void OperatorMetrics::reconciled(const std::string& ns, const std::string& name, ReconcileOutcome outcome,
                                 double seconds) {
  const char* result = outcome == ReconcileOutcome::success ? "success"
                       : outcome == ReconcileOutcome::error ? "error"
                                                            : "requeue_after";
  std::lock_guard lock(mutex_);
  reconcile_total_->Add({{"controller", kControllerName}, {"result", result}}).Increment();
  reconcile_time_->Observe(seconds);
  if (outcome == ReconcileOutcome::error) {
    reconcile_errors_->Add({{"controller", kControllerName}}).Increment();
    so_errors_->Add({{"namespace", ns}, {"scaledObject", name}}).Increment();
  }
}

void OperatorMetrics::queue_added() { queue_adds_->Increment(); }
void OperatorMetrics::queue_retried() { queue_retries_->Increment(); }
void OperatorMetrics::set_active_workers(int n) { active_workers_->Set(n); }

void OperatorMetrics::scaled_object_validation(const std::string& ns, const std::string& action, bool allowed,
                                               const std::string& reason) {
  std::lock_guard lock(mutex_);
  validations_->Add({{"namespace", ns}, {"action", action}}).Increment();
  if (!allowed) validation_errors_->Add({{"namespace", ns}, {"action", action}, {"reason", reason}}).Increment();
}

void OperatorMetrics::forget_scaled_object(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  prometheus::Labels labels{{"namespace", ns}, {"scaledObject", name}};
  if (so_errors_->Has(labels)) so_errors_->Remove(&so_errors_->Add(labels));
}

std::string OperatorMetrics::render(const ClusterSnapshot& s) const {
  std::vector<MetricFamily> families;
  {
    std::lock_guard lock(mutex_);
    families = registry_->Collect();
  }

  MetricFamily depth{"workqueue_depth", "Current depth of workqueue", MetricType::Gauge, {}};
  depth.metric.push_back(gauge({{"name", kControllerName}}, static_cast<double>(s.queue_depth)));
  families.push_back(std::move(depth));

  MetricFamily leader{"leader_election_master_status",
                      "1 while this process leads (or runs without leader election), else 0",
                      MetricType::Gauge,
                      {}};
  leader.metric.push_back(gauge({{"name", "ebb-operator"}}, s.leader ? 1 : 0));
  families.push_back(std::move(leader));

  // KEDA reports an empty namespace as "default".
  auto ns_label = [](const std::string& ns) { return ns.empty() ? std::string("default") : ns; };
  MetricFamily resources{"keda_resource_registered_total", "Number of KEDA custom resources per type and namespace",
                         MetricType::Gauge, {}};
  for (const auto& [ns, n] : s.scaled_objects_by_namespace)
    resources.metric.push_back(gauge({{"namespace", ns_label(ns)}, {"type", "scaled_object"}}, n));
  for (const auto& [ns, n] : s.trigger_authentications_by_namespace)
    resources.metric.push_back(gauge({{"namespace", ns_label(ns)}, {"type", "trigger_authentication"}}, n));
  if (s.cluster_trigger_authentications > 0)
    resources.metric.push_back(
        gauge({{"namespace", "default"}, {"type", "cluster_trigger_authentication"}}, s.cluster_trigger_authentications));
  families.push_back(std::move(resources));

  MetricFamily triggers{"keda_trigger_registered_total", "Number of triggers per trigger type", MetricType::Gauge, {}};
  for (const auto& [type, n] : s.triggers_by_type) triggers.metric.push_back(gauge({{"type", type}}, n));
  families.push_back(std::move(triggers));

  MetricFamily paused{"keda_scaled_object_paused", "1 when the ScaledObject is paused, else 0", MetricType::Gauge, {}};
  for (const auto& [ns, name, is_paused] : s.paused)
    paused.metric.push_back(gauge({{"namespace", ns}, {"scaledObject", name}}, is_paused ? 1 : 0));
  families.push_back(std::move(paused));

  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ebb::op::process
