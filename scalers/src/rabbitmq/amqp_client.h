// AMQP 0-9-1 access to RabbitMQ for the rabbitmq scaler, on rabbitmq-c 0.11 (blocking API).
//
// One AmqpConnection per broker identity (host, port, vhost, credentials, TLS settings) is
// shared by every trigger that reaches it, through AmqpPool. rabbitmq-c connection state is not
// thread-safe, so each connection serialises its users with a mutex; a poll is a single passive
// queue.declare round trip, so the wait is short.
//
// Connection naming: KEDA names each trigger's connection "keda-<namespace>-<scaledObject>"
// (client property connection_name). A shared connection serves many ScaledObjects, so Ebb
// names it after the broker instead: "ebb-<host>:<port>", plus "/<vhost>" when the vhost is not
// "/". The name is deterministic, so operators can find Ebb's connections in the management UI.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ebb/net/stream.h"
#include "ebb/result.h"

namespace ebb::scalers::rabbitmq {

struct AmqpSettings {
  std::string host;
  std::uint16_t port = 5672;
  std::string vhost = "/";
  std::string username = "guest";
  std::string password = "guest";
  bool sasl_external = false;  // TLS client certificate identifies the user (SASL EXTERNAL)
  // tls.enabled for amqps; PEM texts as KEDA's TriggerAuthentication carries them; the
  // verified server_name is the host.
  net::TlsOptions tls;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // connect, handshake, each RPC

  // Everything that makes two connections interchangeable; the pool key.
  std::string identity() const;
  // "amqp://host:port/vhost" (or amqps), never credentials; for messages.
  std::string endpoint() const;
  std::string connection_name() const;
};

// Parses an amqp(s):// URI as amqp091-go's ParseURI does: default ports 5672/5671, default
// user guest/guest, host "localhost" when empty, vhost from the path ("" and "/" mean "/").
// Errors never quote the URI (it may hold a password).
Result<AmqpSettings> parse_amqp_uri(std::string_view uri);

class AmqpConnection {
 public:
  explicit AmqpConnection(AmqpSettings settings);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // Message count of `queue` via a passive queue.declare. A missing queue is an error (the
  // broker closes the channel with 404; the next call opens a new one on the same connection).
  // A broken connection is discarded; the next call reconnects.
  Result<std::uint32_t> message_count(const std::string& queue);

  const AmqpSettings& settings() const { return settings_; }
  // Times a TCP connection was opened; for tests of sharing and recovery.
  std::uint64_t connects() const;

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

// Connections by AmqpSettings::identity(). Entries live as long as some scaler holds them.
class AmqpPool {
 public:
  std::shared_ptr<AmqpConnection> get(const AmqpSettings& settings);
  std::size_t size();  // live connections; for tests

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<AmqpConnection>> connections_;
};

}  // namespace ebb::scalers::rabbitmq
