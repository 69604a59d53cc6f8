#include "kafka/lag.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "ebb/strings.h"

namespace ebb::scalers::kafka {

namespace {

// Lag of a partition whose group has committed nothing, when the policy decides it without
// the high-water mark; nullopt when the high-water mark is needed (earliest, no scale-to-zero).
std::optional<std::int64_t> lag_without_commit(const LagRules& rules) {
  if (rules.offset_reset_policy == OffsetResetPolicy::Latest)
    return rules.scale_to_zero_on_invalid_offset ? 0 : 1;
  if (rules.scale_to_zero_on_invalid_offset) return 0;
  return std::nullopt;
}

// Go's strconv.ParseInt(s, 10, 32): optional sign, decimal digits, int32 range.
std::optional<std::int32_t> parse_int32(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int32_t value = 0;
  const auto* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

constexpr std::int64_t kMaxLimitedPartitions = 100000;

}  // namespace

Result<PartitionLag> partition_lag(const PartitionOffsets& p, const LagRules& rules,
                                   std::string_view consumer_group, PreviousOffsets& previous) {
  if (!p.committed) {
    return fail("error finding offset block for topic " + p.topic + " and partition " +
                std::to_string(p.partition) + " of consumer group " + std::string(consumer_group));
  }
  const std::int64_t committed = *p.committed;
  // Decided before looking at the high-water mark, so scaleToZeroOnInvalidOffset also holds
  // for partitions the newest-offset response left out.
  if (committed == kNoCommittedOffset) {
    if (auto lag = lag_without_commit(rules)) return PartitionLag{*lag, *lag};
  }
  if (!p.latest) return PartitionLag{0, 0};
  const std::int64_t latest = *p.latest;
  if (committed == kNoCommittedOffset) return PartitionLag{latest, latest};  // earliest policy

  const std::int64_t lag = latest - committed;
  if (rules.exclude_persistent_lag) {
    const TopicPartition key{p.topic, p.partition};
    auto it = previous.find(key);
    // A group stuck on the same offset for two polls is not helped by more consumers: keep
    // the lag out of the metric but let it keep the workload active.
    if (it != previous.end() && it->second == committed) return PartitionLag{0, lag};
    previous[key] = committed;
  }
  return PartitionLag{lag, lag};
}

Result<LagTotals> total_lag(const std::vector<PartitionOffsets>& snapshot, const LagRules& rules,
                            std::string_view consumer_group, const PreviousOffsets& previous) {
  LagTotals totals;
  totals.previous = previous;
  for (const auto& p : snapshot) {
    // KEDA iterates the newest-offset response: partitions missing from it are not counted.
    if (!p.latest) continue;
    auto lag = partition_lag(p, rules, consumer_group, totals.previous);
    if (!lag) return unexpected(lag.error());
    totals.total_lag += lag->lag;
    totals.activity_lag += lag->activity_lag;
    totals.partitions += 1;
    if (lag->lag > 0) totals.partitions_with_lag += 1;
  }

  const bool bounded = !rules.allow_idle_consumers || rules.limit_to_partitions_with_lag ||
                       rules.ensure_even_distribution_of_partitions;
  if (bounded) {
    if (rules.ensure_even_distribution_of_partitions) {
      totals.total_lag = next_balancing_factor(totals.total_lag, totals.partitions, rules.lag_threshold) *
                         rules.lag_threshold;
    }
    // More consumers than partitions (or than partitions with lag) would sit idle.
    const std::int64_t bound = rules.limit_to_partitions_with_lag ? totals.partitions_with_lag : totals.partitions;
    if (totals.total_lag / rules.lag_threshold > bound) totals.total_lag = bound * rules.lag_threshold;
  }
  return totals;
}

std::vector<std::int64_t> find_factors(std::int64_t n) {
  std::vector<std::int64_t> factors;
  if (n < 1) return factors;
  for (std::int64_t i = 1; i <= n / i; ++i) {
    if (n % i != 0) continue;
    factors.push_back(i);
    if (i != n / i) factors.push_back(n / i);
  }
  std::sort(factors.begin(), factors.end());
  return factors;
}

std::int64_t next_balancing_factor(std::int64_t total_lag, std::int64_t partitions, std::int64_t lag_threshold) {
  for (const auto factor : find_factors(partitions))
    if (factor * lag_threshold >= total_lag) return factor;
  return partitions;
}

Result<std::vector<std::int32_t>, std::string> parse_partition_limitation(std::string_view text) {
  std::vector<std::int32_t> out;
  // ebb::split trims every element and range end.
  for (const std::string& part : split(text, ',')) {
    if (part.find('-') == std::string_view::npos) {
      auto value = parse_int32(part);
      if (!value) return unexpected("invalid partition limitation: " + std::string(part));
      out.push_back(*value);
      continue;
    }
    const auto bounds = split(part, '-');
    if (bounds.size() != 2) return unexpected("invalid partition limitation range: " + std::string(part));
    const auto first = parse_int32(bounds[0]);
    const auto last = parse_int32(bounds[1]);
    if (!first || !last) return unexpected("invalid partition limitation: " + std::string(part));
    // A typo such as "0-2147483647" must not allocate gigabytes.
    if (static_cast<std::int64_t>(*last) - *first >= kMaxLimitedPartitions)
      return unexpected("invalid partition limitation range: " + std::string(part) + " (more than " +
                        std::to_string(kMaxLimitedPartitions) + " partitions)");
    for (std::int64_t i = *first; i <= *last; ++i) out.push_back(static_cast<std::int32_t>(i));
  }
  return out;
}

}  // namespace ebb::scalers::kafka
