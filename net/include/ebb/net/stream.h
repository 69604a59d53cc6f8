// Blocking byte streams (TCP, or TLS over TCP) with a deadline on every operation.
//
// This is the only place that includes Asio and OpenSSL; everything above it (the Redis client,
// the HTTP client) talks to this plain interface, so the heavy headers compile once.
// A failed or timed-out operation closes the stream: the caller reconnects.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::net {

using Timeout = std::chrono::milliseconds;

struct TlsOptions {
  bool enabled = false;
  bool insecure_skip_verify = false;  // KEDA's unsafeSsl
  std::string ca_pem;                 // extra trusted CA (PEM text); system roots are always trusted
  std::string cert_pem;               // client certificate (PEM text), with key_pem
  std::string key_pem;
  std::string key_password;           // for an encrypted key_pem
  std::string server_name;            // SNI and verified name; defaults to the host
  bool tls13_minimum = false;         // refuse TLS 1.2 (KEDA_HTTP_MIN_TLS_VERSION=TLS13); never below 1.2

  bool operator==(const TlsOptions&) const = default;
};

class Stream {
 public:
  // Resolves `host`, connects, and performs the TLS handshake when tls.enabled.
  // Errors name host:port and the cause, e.g. "connect 127.0.0.1:6379: Connection refused".
  static Result<std::unique_ptr<Stream>> connect(const std::string& host, std::uint16_t port,
                                                 const TlsOptions& tls, Timeout timeout);

  virtual ~Stream() = default;
  virtual Result<void> write_all(std::string_view data, Timeout timeout) = 0;
  // Reads at least one byte; an orderly close by the peer is an error ("connection closed by peer").
  virtual Result<std::size_t> read_some(char* buffer, std::size_t size, Timeout timeout) = 0;
  // True once a read failed because the peer closed the connection in order (FIN or TLS
  // close_notify), as opposed to a reset or timeout. Protocols whose messages end at connection
  // close (HTTP/1.0 bodies without Content-Length) need this distinction.
  virtual bool peer_closed() const { return false; }
  // For a connection that sat idle in a pool: false when the peer has closed it (or sent bytes
  // nobody asked for) in the meantime, so it must not be reused. Never blocks.
  virtual bool idle_alive() { return is_open(); }
  virtual bool is_open() const = 0;
  // The one call that is safe from another thread: the operation running now, and every later
  // one, fails at once (the stream closes, as after a timeout). Ends a read that would otherwise
  // wait out its deadline, e.g. a quiet watch being stopped. Idempotent.
  virtual void interrupt() {}
  virtual void close() = 0;
  virtual const std::string& peer() const = 0;  // "host:port", for messages
};

}  // namespace ebb::net
