// What the external metrics API asks the adapter's data plane, and what it gets back. The HTTP
// front end (external_metrics_api.h) turns requests into MetricQuery and answers into an
// ExternalMetricValueList or a Status; the Engine (engine.h) implements MetricsProvider from its
// cache. Kept apart so each side is tested without the other.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ebb/result.h"

namespace ebb::adapter {

// GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}?labelSelector=...
struct MetricQuery {
  std::string ns;
  std::string metric;          // as requested ("s0-redis-orders", "composite-metric"), any case
  std::string label_selector;  // the raw labelSelector query value, decoded
};

// One ExternalMetricValue.
struct MetricSample {
  std::string metric_name;  // echoes the requested name
  std::string quantity;     // Kubernetes quantity string, keda-compat §5.4
  std::chrono::system_clock::time_point timestamp;  // when the value was produced
};

// A failed read. The front end writes a metav1 Status with this code, reason and message.
struct MetricError {
  int code = 500;       // 400 bad selector, 404 unknown object or metric, 500 scaler error,
                        // 503 not ready yet (caches not synced)
  std::string reason;   // "BadRequest", "NotFound", "InternalError", "ServiceUnavailable"
  std::string message;  // names the object, metric and cause; never a credential
};

class MetricsProvider {
 public:
  virtual ~MetricsProvider() = default;
  // Called concurrently from the API server's threads.
  virtual Result<std::vector<MetricSample>, MetricError> external_metric(const MetricQuery& query) = 0;
};

}  // namespace ebb::adapter
