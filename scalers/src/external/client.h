// What the external and external-push scalers need of a user's external scaler: the five calls
// of KEDA's externalscaler.proto (README.md here), as plain C++. The implementation
// (scalers/clients/external/) needs gRPC, which only the polling processes link; a scaler gets
// the pool with pools.get<external::Channels>().
//
// One gRPC channel per scalerAddress + TLS settings, shared by every trigger with those settings
// (KEDA's connection pool key, pkg/scalers/external_scaler.go getConnectionPoolKey). gRPC
// reconnects a channel by itself, so a server that was down serves again once it is back.
// Every unary call has a deadline (KEDA's have none). Errors carry gRPC's status in Go's format
// ("rpc error: code = Unavailable desc = ..."), as KEDA reports them; never a key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/result.h"
#include "ebb/strings.h"

namespace ebb::scalers::external {

using Deadline = std::chrono::steady_clock::time_point;

// externalscaler.ScaledObjectRef.
struct ScaledObjectRef {
  std::string name;
  std::string ns;
  std::map<std::string, std::string> scaler_metadata;
  bool operator==(const ScaledObjectRef&) const = default;
};

// externalscaler.MetricSpec.
struct MetricSpecEntry {
  std::string metric_name;
  std::int64_t target_size = 0;  // deprecated in the proto, still honoured
  double target_size_float = 0;
};

// externalscaler.MetricValue.
struct MetricValueEntry {
  std::string metric_name;
  std::int64_t metric_value = 0;  // deprecated in the proto, still honoured
  double metric_value_float = 0;
};

// How to reach one external scaler. `tls` is already decided (KEDA's rule, metrics.h
// use_tls); the PEM texts are contents, not paths.
struct ChannelSettings {
  std::string address;  // a gRPC target: "host:port", "dns:///host:port", "unix:///path"
  bool tls = false;
  bool unsafe_ssl = false;  // TLS without verifying the server's certificate
  std::string ca_pem;       // trusted in addition to the system roots
  std::string cert_pem;     // client certificate, used only together with key_pem
  std::string key_pem;
  // The pool key: every field, length-prefixed.
  std::string key() const {
    std::string out;
    for (std::string_view field :
         {std::string_view(address), std::string_view(tls ? "1" : "0"),
          std::string_view(unsafe_ssl ? "1" : "0"), std::string_view(ca_pem),
          std::string_view(cert_pem), std::string_view(key_pem)})
      append_key_field(out, field);
    return out;
  }
};

// One StreamIsActive call. next() blocks until the server sends the next answer or the stream
// ends; cancel() (from any thread) ends it at once.
class ActiveStream {
 public:
  virtual ~ActiveStream() = default;
  // The next IsActiveResponse.result; nullopt once the stream has ended.
  virtual std::optional<bool> next() = 0;
  // After next() returned nullopt: ok when the server finished the stream with status OK (Go's
  // io.EOF in KEDA), else the call's error.
  virtual Result<void> finish() = 0;
  virtual void cancel() = 0;
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual const std::string& address() const = 0;
  virtual Result<std::vector<MetricSpecEntry>> get_metric_spec(const ScaledObjectRef& ref,
                                                               Deadline deadline) = 0;
  virtual Result<std::vector<MetricValueEntry>> get_metrics(const ScaledObjectRef& ref,
                                                            const std::string& metric_name,
                                                            Deadline deadline) = 0;
  virtual Result<bool> is_active(const ScaledObjectRef& ref, Deadline deadline) = 0;
  // Opens the stream; `max_duration` bounds its life (the caller reopens it), so a peer that
  // vanished without closing the connection is noticed. Never fails here: a failure to open
  // shows as an ended stream whose finish() is the error.
  virtual std::unique_ptr<ActiveStream> stream_is_active(
      const ScaledObjectRef& ref, std::chrono::milliseconds max_duration) = 0;
};

class Channels {
 public:
  virtual ~Channels() = default;
  // The shared channel for these settings, created on first use (no I/O: gRPC connects lazily).
  // An error only for TLS material that cannot be used (a certificate that does not parse).
  virtual Result<std::shared_ptr<Channel>> get(const ChannelSettings& settings) = 0;
  // Live channels, for tests of sharing.
  virtual std::size_t size() const = 0;
};

}  // namespace ebb::scalers::external
