// rabbitmq::AmqpConnections on rabbitmq-c 0.11 (blocking API). rabbitmq-c connection state is
// not thread-safe, so each connection serialises its users with a mutex; a poll is a single
// passive queue.declare round trip, so the wait is short.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ebb/result.h"
#include "rabbitmq/amqp.h"

namespace ebb::scalers::rabbitmq {

class AmqpClientConnection final : public AmqpConnection {
 public:
  explicit AmqpClientConnection(AmqpSettings settings);
  ~AmqpClientConnection() override;
  AmqpClientConnection(const AmqpClientConnection&) = delete;
  AmqpClientConnection& operator=(const AmqpClientConnection&) = delete;

  Result<std::uint32_t> message_count(const std::string& queue) override;
  const AmqpSettings& settings() const override { return settings_; }
  std::uint64_t connects() const override;

 private:
  struct State;
  Result<void> ensure_open();
  Result<void> open_connection();
  Result<void> open_channel();
  void discard();

  const AmqpSettings settings_;
  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;  // null while disconnected
  std::uint64_t connects_ = 0;
  // A failed connect is remembered briefly, so triggers queued behind it fail at once instead of
  // each waiting for its own timeout against a dead broker.
  std::optional<Error> last_connect_error_;
  std::chrono::steady_clock::time_point last_connect_failure_{};
};

class AmqpPool final : public AmqpConnections {
 public:
  std::shared_ptr<AmqpConnection> get(const AmqpSettings& settings) override;
  std::size_t size() override;

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<AmqpClientConnection>> connections_;
};

}  // namespace ebb::scalers::rabbitmq
