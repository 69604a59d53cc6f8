// AMQP 0-9-1 access to RabbitMQ for the rabbitmq scaler: the connection settings (pure: parsed
// from the trigger's host URI) and what the scaler needs of a broker, a queue's message count.
//
// One connection per broker identity (host, port, vhost, credentials, TLS settings) is shared by
// every trigger that reaches it. Connection naming: KEDA names each trigger's connection
// "keda-<namespace>-<scaledObject>" (client property connection_name). A shared connection
// serves many ScaledObjects, so Ebb names it after the broker instead: "ebb-<host>:<port>", plus
// "/<vhost>" when the vhost is not "/". The name is deterministic, so operators can find Ebb's
// connections in the management UI.
//
// The implementation (scalers/clients/rabbitmq/) needs rabbitmq-c, which only the polling
// processes link; a scaler gets the connections with pools.get<rabbitmq::AmqpConnections>().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

// One broker connection. Thread-safe: users are serialised.
class AmqpConnection {
 public:
  virtual ~AmqpConnection() = default;
  // Message count of `queue` via a passive queue.declare. A missing queue is an error (the
  // broker closes the channel with 404; the next call opens a new one on the same connection).
  // A broken connection is discarded; the next call reconnects.
  virtual Result<std::uint32_t> message_count(const std::string& queue) = 0;
  virtual const AmqpSettings& settings() const = 0;
  // Times a TCP connection was opened; for tests of sharing and recovery.
  virtual std::uint64_t connects() const = 0;
};

// Connections by AmqpSettings::identity(). Entries live as long as some scaler holds them.
class AmqpConnections {
 public:
  virtual ~AmqpConnections() = default;
  virtual std::shared_ptr<AmqpConnection> get(const AmqpSettings& settings) = 0;
  virtual std::size_t size() = 0;  // live connections; for tests
};

}  // namespace ebb::scalers::rabbitmq
