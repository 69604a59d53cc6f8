// What the kafka scaler needs of Kafka: partitions, a group's committed offsets and the
// high-water marks, through one handle per distinct bootstrap servers + security settings that
// every trigger with those settings shares. The implementation (scalers/clients/kafka/) needs
// librdkafka, which only the polling processes link; a scaler gets the pool with
// pools.get<kafka::Clients>().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ebb/result.h"
#include "kafka/config.h"
#include "kafka/lag.h"

namespace ebb::scalers::kafka {

using Clock = std::chrono::steady_clock;

// One handle. Every call is bounded by its deadline. Errors name the bootstrap servers and the
// client library's reason, never a credential.
class Client {
 public:
  virtual ~Client() = default;

  // "kafka <bootstrap servers>", for messages.
  virtual const std::string& endpoint() const = 0;

  // Partition ids of each topic, from one metadata request. `topics` empty: every topic.
  virtual Result<std::map<std::string, std::vector<std::int32_t>>> partitions(const std::set<std::string>& topics,
                                                                              Clock::time_point deadline) = 0;
  // Topics for which `group` has committed offsets.
  virtual Result<std::set<std::string>> group_topics(const std::string& group, Clock::time_point deadline) = 0;
  // Committed offsets of `group` for exactly these partitions; kNoCommittedOffset where the
  // group has committed nothing. A partition missing from the answer is missing from the map.
  virtual Result<std::map<TopicPartition, std::int64_t>> committed_offsets(
      const std::string& group, const std::vector<TopicPartition>& partitions, Clock::time_point deadline) = 0;
  // High-water marks (ListOffsets with the "latest" timestamp).
  virtual Result<std::map<TopicPartition, std::int64_t>> high_watermarks(const std::vector<TopicPartition>& partitions,
                                                                         Clock::time_point deadline) = 0;
};

// The shared handles, by connection settings.
class Clients {
 public:
  virtual ~Clients() = default;
  // The shared handle for this config's bootstrap + security settings, opened on first use. A
  // handle lives while some trigger holds it; a failed open is retried on the next call.
  virtual Result<std::shared_ptr<Client>> client(const KafkaConfig& config) = 0;
  // Live handles, for tests of connection sharing.
  virtual std::size_t size() const = 0;
};

}  // namespace ebb::scalers::kafka
