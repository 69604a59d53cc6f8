// Plain descriptions of where and how to reach Redis, shared by the parameter parsing (pure)
// and the client (I/O). TLS is net::TlsOptions, from net/'s light public header.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/net/stream.h"
#include "ebb/result.h"

namespace ebb::scalers::redis {

using Timeout = std::chrono::milliseconds;

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;

  std::string str() const;  // "host:port", IPv6 hosts in brackets
  bool operator==(const Endpoint&) const = default;
};

// Parses "host:port" ("[::1]:6379" for IPv6). The port must be 1..65535 and the host non-empty.
// URLs and user info ('/' or '@') are refused, and never quoted: they may hold a password.
Result<Endpoint> parse_endpoint(std::string_view text);

// KEDA's TLS parameters (PEM texts), as given; server_name stays empty (the host is verified).
using Tls = net::TlsOptions;

struct Timeouts {
  Timeout connect{5000};
  Timeout command{3000};
};

enum class Mode { Standalone, Cluster, Sentinel };

// How to reach one logical Redis: a server, a cluster, or a sentinel-managed master.
struct Deployment {
  Mode mode = Mode::Standalone;
  std::vector<Endpoint> addresses;  // standalone: the first is used; cluster: seeds; sentinel: sentinels
  std::string username, password;   // for the data nodes
  std::string sentinel_username, sentinel_password, sentinel_master;
  Tls tls;                          // used for data nodes and sentinels alike
  std::int64_t db = 0;              // ignored in cluster mode (clusters have only db 0)
  Timeouts timeouts;

  // "127.0.0.1:6379", "cluster 127.0.0.1:7000,127.0.0.1:7001", "sentinel 127.0.0.1:26379 master mymaster".
  std::string describe() const;
};

}  // namespace ebb::scalers::redis
