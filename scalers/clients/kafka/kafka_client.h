// kafka::Clients on librdkafka: one handle per distinct bootstrap servers + security settings,
// shared by every trigger with that key (ConnectionPools owns the single KafkaPool). A producer-type handle is enough: it answers metadata, the admin API's
// ListConsumerGroupOffsets and ListOffsets (high-water marks) without joining any group.
//
// librdkafka reconnects by itself, so a handle whose brokers were all down serves again once
// they are back; nothing is recreated. Every call is bounded by the deadline it is given.
// Errors name the bootstrap servers and librdkafka's reason, never a credential.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ebb/result.h"
#include "kafka/client.h"
#include "kafka/config.h"
#include "kafka/lag.h"

namespace ebb::scalers::kafka {

class KafkaClient final : public Client {
 public:
  // Creates the handle (no I/O happens until the first request).
  static Result<std::shared_ptr<KafkaClient>> open(const KafkaConfig& config);
  ~KafkaClient();
  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;

  // "kafka <bootstrap servers>", for messages.
  const std::string& endpoint() const override { return endpoint_; }

  // Partition ids of each topic, from one metadata request. `topics` empty: every topic.
  Result<std::map<std::string, std::vector<std::int32_t>>> partitions(const std::set<std::string>& topics,
                                                                      Clock::time_point deadline) override;
  // Topics for which `group` has committed offsets (ListConsumerGroupOffsets without a
  // partition list). A real broker answers this; the librdkafka 2.0.2 mock answers nothing.
  Result<std::set<std::string>> group_topics(const std::string& group, Clock::time_point deadline) override;
  // Committed offsets of `group` for exactly these partitions; kNoCommittedOffset where the
  // group has committed nothing. A partition missing from the answer is missing from the map.
  Result<std::map<TopicPartition, std::int64_t>> committed_offsets(const std::string& group,
                                                                   const std::vector<TopicPartition>& partitions,
                                                                   Clock::time_point deadline) override;
  // High-water marks, batched per leader (ListOffsets with the "latest" timestamp).
  Result<std::map<TopicPartition, std::int64_t>> high_watermarks(const std::vector<TopicPartition>& partitions,
                                                                 Clock::time_point deadline) override;

 private:
  struct Handle;
  KafkaClient(std::string endpoint, std::unique_ptr<Handle> handle);
  Unexpected<Error> failure(const std::string& what, const std::string& reason) const;

  std::string endpoint_;
  std::unique_ptr<Handle> handle_;
};

class KafkaPool final : public Clients {
 public:
  // The shared client for this config's bootstrap + security settings, opened on first use.
  // A client lives while some trigger holds it; a failed open is retried on the next call.
  Result<std::shared_ptr<Client>> client(const KafkaConfig& config) override;
  // Number of live clients, for tests of connection sharing.
  std::size_t size() const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::weak_ptr<KafkaClient>> clients_;
};

// Key of the pool: every setting that changes the connection (secrets included; the key is
// only compared, never shown).
std::string pool_key(const KafkaConfig& config);

// Whether librdkafka accepts the properties librdkafka_config() produces for `config`: every
// rd_kafka_conf_set succeeds and rd_kafka_new creates a handle (without bootstrap servers, so
// nothing connects). The error names the property, never its value.
Result<void> librdkafka_accepts(const KafkaConfig& config);

}  // namespace ebb::scalers::kafka
