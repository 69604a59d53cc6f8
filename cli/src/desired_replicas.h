// The replica count the HPA (plus Ebb's activation) would choose for one poll round, as
// `ebb probe` reports it. Pure, so it is table-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ebb/scalers/scaler.h"

namespace ebb::cli {

struct TriggerReading {
  scalers::MetricTargetType target_type = scalers::MetricTargetType::AverageValue;
  double target = 0;
  std::optional<double> value;  // nullopt: the poll failed
  bool active = false;
};

struct ReplicaBounds {
  std::int32_t min_replicas = 0;   // spec.minReplicaCount (defaulted)
  std::int32_t max_replicas = 100; // spec.maxReplicaCount (defaulted)
  std::optional<std::int32_t> idle_replicas;  // spec.idleReplicaCount
  std::int32_t current_replicas = 1;          // for Value targets
};

// AverageValue: ceil(value / target); Value: ceil(current × value / target); the largest over
// triggers, clamped to [max(min,1), max]. When no trigger is active and minReplicaCount is 0,
// the object is scaled to idleReplicaCount (or 0). Returns nullopt when any trigger failed:
// the true answer is unknown, and Ebb never reads an error as zero.
std::optional<std::int32_t> desired_replicas(const std::vector<TriggerReading>& readings,
                                             const ReplicaBounds& bounds);

}  // namespace ebb::cli
