// The Kafka scaler's arithmetic (keda-compat §6.1), kept free of I/O so every rule is tested
// with plain vectors: per-partition lag, persistent-lag exclusion, the even-distribution factor
// and the cap by partition count.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::kafka {

// Committed offset of a partition for which the group has committed nothing (Sarama's -1;
// librdkafka reports RD_KAFKA_OFFSET_INVALID, which the client maps to this value).
inline constexpr std::int64_t kNoCommittedOffset = -1;

enum class OffsetResetPolicy { Latest, Earliest };

struct LagRules {
  std::int64_t lag_threshold = 10;  // > 0, validated by the parser
  OffsetResetPolicy offset_reset_policy = OffsetResetPolicy::Latest;
  bool scale_to_zero_on_invalid_offset = false;
  bool exclude_persistent_lag = false;
  bool allow_idle_consumers = false;
  bool limit_to_partitions_with_lag = false;
  bool ensure_even_distribution_of_partitions = false;
};

// One partition as read in one poll.
struct PartitionOffsets {
  std::string topic;
  std::int32_t partition = 0;
  // The group's committed offset; nullopt when the offset response had no block for the
  // partition (an error, as in KEDA), kNoCommittedOffset when nothing was committed.
  std::optional<std::int64_t> committed;
  // The partition's high-water mark; nullopt when the newest-offset response lacked it (the
  // partition then contributes lag 0 and is not counted, as KEDA iterates that response).
  std::optional<std::int64_t> latest;
};

using TopicPartition = std::pair<std::string, std::int32_t>;
// Committed offsets seen by the previous poll, for excludePersistentLag.
using PreviousOffsets = std::map<TopicPartition, std::int64_t>;

struct PartitionLag {
  std::int64_t lag = 0;           // counts towards the metric
  std::int64_t activity_lag = 0;  // counts towards activity (includes persistent lag)
};

// KEDA's getLagForPartition. Updates `previous` the way KEDA does (only when the committed
// offset is valid and the high-water mark is known).
Result<PartitionLag> partition_lag(const PartitionOffsets& p, const LagRules& rules,
                                   std::string_view consumer_group, PreviousOffsets& previous);

struct LagTotals {
  std::int64_t total_lag = 0;     // the metric value, after the factor and the cap
  std::int64_t activity_lag = 0;  // compared with activationLagThreshold
  std::int64_t partitions = 0;    // P: partitions with a known high-water mark
  std::int64_t partitions_with_lag = 0;
  PreviousOffsets previous;       // state for the next poll
};

// KEDA's getTotalLag over one snapshot. Pure: `previous` is the state returned by the last
// successful call (empty at first).
Result<LagTotals> total_lag(const std::vector<PartitionOffsets>& snapshot, const LagRules& rules,
                            std::string_view consumer_group, const PreviousOffsets& previous);

// All divisors of n in increasing order (empty for n < 1).
std::vector<std::int64_t> find_factors(std::int64_t n);
// Smallest divisor f of `partitions` with f * lag_threshold >= total_lag, else `partitions`.
std::int64_t next_balancing_factor(std::int64_t total_lag, std::int64_t partitions,
                                   std::int64_t lag_threshold);

// "1,2,10-12" -> [1 2 10 11 12] with KEDA's messages ("invalid partition limitation: a").
// Elements and range ends are trimmed; a range whose start exceeds its end adds nothing.
Result<std::vector<std::int32_t>, std::string> parse_partition_limitation(std::string_view text);

}  // namespace ebb::scalers::kafka
