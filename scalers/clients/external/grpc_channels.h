// external::Channels on gRPC C++ (Debian's 1.51): one grpc::Channel per ChannelSettings key,
// shared by every trigger with those settings and closed when the last one lets go.
//
// Channel options, and why:
// - KEDA's service config (round_robin over every address the name resolves to);
// - reconnect backoff 1 s up to 5 s (gRPC's default grows to 120 s), so a restarted external
//   scaler is used again within seconds, not minutes;
// - TLS: verified TLS with the system roots plus caCert (KEDA: system roots + caCert, minimum
//   TLS 1.2, gRPC's default too); with unsafeSsl, TLS without any check of the server's
//   certificate or name. A client certificate is presented when both PEMs are given.
// RPCs are fail-fast (no wait-for-ready) as in KEDA, but each has the deadline it is given.
// gRPC's own log lines go to the process's JSON log at debug level (the failures they describe
// also fail the call).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "external/client.h"

namespace ebb::scalers::external {

class GrpcChannels final : public Channels {
 public:
  GrpcChannels();
  Result<std::shared_ptr<Channel>> get(const ChannelSettings& settings) override;
  std::size_t size() const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::weak_ptr<Channel>> channels_;
};

// Go's rendering of a gRPC status, as KEDA's messages show it:
// "rpc error: code = Unavailable desc = failed to connect".
std::string go_status_text(int code, const std::string& message);

}  // namespace ebb::scalers::external
