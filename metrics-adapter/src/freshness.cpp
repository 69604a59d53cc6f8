#include "ebb/adapter/freshness.h"

#include <algorithm>

namespace ebb::adapter {

std::chrono::seconds max_age(const FreshnessPolicy& policy) {
  const auto interval = std::max(policy.polling_interval, std::chrono::seconds(1));
  if (policy.use_cached_metrics) return interval;
  return std::min(interval, std::max(policy.hpa_sync_period, std::chrono::seconds(1)));
}

ReadAction on_hpa_read(std::optional<std::chrono::system_clock::time_point> produced_at,
                       std::chrono::system_clock::time_point now, const FreshnessPolicy& policy) {
  if (!produced_at) return ReadAction::Refresh;
  const auto age = now > *produced_at ? now - *produced_at : std::chrono::system_clock::duration{0};
  return age > max_age(policy) ? ReadAction::Refresh : ReadAction::Serve;
}

}  // namespace ebb::adapter
