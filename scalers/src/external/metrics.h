// The pure rules of the external scalers (KEDA pkg/scalers/external_scaler.go and scaler.go):
// what is sent, when TLS is on, how metric names carry the trigger index, and how the values an
// external scaler returns become the one value Ebb serves for the trigger (see
// external_scaler.cpp for why it is relative to the targets).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/scaler.h"
#include "external/client.h"

namespace ebb::scalers::external {

// KEDA's GenerateMetricNameWithIndex: "s<index>-<name>" (not normalised).
std::string metric_name_with_index(std::size_t index, std::string_view name);
// KEDA's RemoveIndexFromMetricName: the name after "s<index>-"; errors "metric name without
// index prefix", "metric name contains incorrect index prefix".
Result<std::string> remove_index_from_metric_name(std::size_t index, std::string_view name);

// KEDA's ScaledObjectRef: the object's name and namespace and every raw metadata entry, except
// that a "<x>FromEnv" key carries the resolved variable under the same key, and is left out when
// the variable is unset or empty. Auth params are never sent.
ScaledObjectRef scaled_object_ref(const TriggerContext& ctx);

// KEDA's rule: TLS iff enableTLS, or a client certificate AND key, or a caCert. unsafeSsl alone
// does not turn it on.
bool use_tls(bool enable_tls, const std::string& ca, const std::string& cert,
             const std::string& key);

// A spec's target: targetSizeFloat when > 0, else targetSize (KEDA's precedence), as the HPA
// target quantity reads it (floats rounded to thousandths).
double spec_target(const MetricSpecEntry& spec);
// A value as KEDA serves it: metricValueFloat when > 0, else metricValue; NaN, infinities and
// negatives are 0; rounded to thousandths (GenerateMetricInMili).
double served_value(const MetricValueEntry& value);

// What the HPA target of an external trigger is in Ebb: every external metric is served as its
// load in percent of its target, so the HPA target is 100.
inline constexpr std::int64_t kLoadTarget = 100;

// One metric an external scaler reported: its name with the index, its target, and the values
// GetMetrics returned for it.
struct MetricReading {
  std::string name;  // "s0-queue-len"
  double target = 0;
  std::vector<MetricValueEntry> values;
};
// The trigger's value: 100 × max over the metrics of (sum of served values / target), the
// number whose HPA arithmetic against a target of 100 equals KEDA's against each metric's own
// target. Errors (never 0): no metric, a target <= 0, a metric without values.
Result<double> load_percent(const std::vector<MetricReading>& readings);

}  // namespace ebb::scalers::external
