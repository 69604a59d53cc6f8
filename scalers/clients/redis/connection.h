// One Redis connection over ebb::net::Stream (plain TCP or TLS): handshake (AUTH, SELECT,
// optionally a ROLE check) and pipelined commands with a deadline. Not thread-safe: the pool
// hands a connection to one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ebb/net/stream.h"
#include "ebb/result.h"
#include "redis/resp.h"
#include "redis/types.h"

namespace ebb::scalers::redis {

// Everything that decides what a connection is: two connections with equal options are
// interchangeable, so this (and only this) is the pool key.
struct ServerOptions {
  Endpoint endpoint;
  std::string username;
  std::string password;
  Tls tls;
  std::int64_t db = 0;
  // Sentinel-discovered masters: refuse a server that is not (or no longer) a master, so a
  // stale address after a failover is an error instead of reads from a replica.
  bool require_master = false;

  bool operator==(const ServerOptions&) const = default;
  std::string pool_key() const;  // contains credentials: never print it
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const ServerOptions& options, const Timeouts& timeouts);

  // Sends every command in one write and reads as many replies. Redis error replies are values
  // (Reply::Type::Error); the Result fails only on I/O, timeout or protocol errors, after which
  // the connection is broken and must be discarded.
  Result<std::vector<Reply>> run(std::span<const Command> commands, Timeout timeout);
  Result<Reply> run(const Command& command, Timeout timeout);

  bool broken() const { return broken_ || !stream_ || !stream_->is_open(); }
  const std::string& peer() const { return peer_; }

 private:
  Connection(std::unique_ptr<net::Stream> stream, std::string peer);
  Result<void> handshake(const ServerOptions& options, Timeout timeout);
  Result<std::unique_ptr<Reply>> read_reply(std::chrono::steady_clock::time_point deadline);
  Unexpected<Error> broken_with(std::string cause);

  std::unique_ptr<net::Stream> stream_;
  std::string peer_;
  ReplyParser parser_;
  bool broken_ = false;
};

}  // namespace ebb::scalers::redis
