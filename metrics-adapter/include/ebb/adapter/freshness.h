// When an HPA read is answered from the metric cache and when it refreshes the value first
// (keda-compat §5.6, ARCHITECTURE.md decision 3). Pure; the cache applies it under its lock and
// runs at most one refresh per (object, metric) at a time, which concurrent reads (and the
// scheduled poll) share.
//
// The rule (metrics-adapter/README.md):
//   max_age = pollingInterval                         with useCachedMetrics: true
//           = min(pollingInterval, HPA sync period)   otherwise (sync period default 15 s)
//   no value yet, or now - produced_at > max_age  -> Refresh, then answer with the new value
//   otherwise                                     -> Serve the cached value (or cached error)
// A timestamp in the future (clock step) counts as age 0.
#pragma once

#include <chrono>
#include <optional>

namespace ebb::adapter {

inline constexpr std::chrono::seconds kDefaultHpaSyncPeriod{15};

struct FreshnessPolicy {
  std::chrono::seconds polling_interval{30};
  bool use_cached_metrics = false;  // any trigger producing the metric sets it
  std::chrono::seconds hpa_sync_period = kDefaultHpaSyncPeriod;
};

enum class ReadAction { Serve, Refresh };

// How old a cached value may be when the HPA reads it.
std::chrono::seconds max_age(const FreshnessPolicy& policy);

// `produced_at`: when the cached value (or error) was produced; nullopt when there is none.
// For the composite metric pass the oldest of its inputs.
ReadAction on_hpa_read(std::optional<std::chrono::system_clock::time_point> produced_at,
                       std::chrono::system_clock::time_point now, const FreshnessPolicy& policy);

}  // namespace ebb::adapter
