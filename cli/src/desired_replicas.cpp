#include "desired_replicas.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ebb::cli {

std::optional<std::int32_t> desired_replicas(const std::vector<TriggerReading>& readings,
                                             const ReplicaBounds& bounds) {
  bool any_active = false;
  double wanted = 0;
  for (const auto& r : readings) {
    if (!r.value) return std::nullopt;
    any_active = any_active || r.active;
    if (r.target <= 0) continue;  // rejected at parse time; never divide by zero
    const double ratio = *r.value / r.target;
    const double replicas = r.target_type == scalers::MetricTargetType::AverageValue
                                ? std::ceil(ratio)
                                : std::ceil(bounds.current_replicas * ratio);
    wanted = std::max(wanted, replicas);
  }
  if (!any_active && bounds.min_replicas == 0) return bounds.idle_replicas.value_or(0);
  // The HPA's minReplicas is at least 1 (KEDA maps minReplicaCount 0 to HPA min 1).
  const double lower = std::max<std::int32_t>(bounds.min_replicas, 1);
  const double upper = std::max<double>(bounds.max_replicas, lower);
  wanted = std::clamp(wanted, lower, upper);
  return static_cast<std::int32_t>(wanted);
}

}  // namespace ebb::cli
