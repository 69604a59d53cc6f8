// What the redis scalers need of Redis: commands run on the node that serves a key, over
// connections shared by every trigger that reaches the same deployment with the same
// credentials. The implementation (RedisPool, scalers/clients/redis/) needs hiredis, which only
// the polling processes link; a scaler gets it with pools.get<redis::Client>().
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "ebb/result.h"
#include "redis/resp.h"
#include "redis/types.h"

namespace ebb::scalers::redis {

class Client {
 public:
  virtual ~Client() = default;

  // Runs `commands` pipelined on the node that serves `routing_key` (all commands must be about
  // that key, or keyless): the standalone server, the cluster node owning the key's slot
  // (following MOVED and ASK), or the master the sentinels name. Errors name the server
  // reached, never credentials.
  virtual Result<std::vector<Reply>> execute(const Deployment& d, std::string_view routing_key,
                                             std::span<const Command> commands) = 0;
  Result<Reply> execute(const Deployment& d, std::string_view routing_key, const Command& command) {
    auto replies = execute(d, routing_key, std::span<const Command>(&command, 1));
    if (!replies) return unexpected(replies.error());
    return std::move(replies->front());
  }

  // PING through the same path a poll takes, for probes that want to know a deployment is
  // reachable and the credentials are accepted.
  virtual Result<void> ping(const Deployment& d) = 0;

  // Open connections, in total (for tests and metrics).
  virtual std::size_t connection_count() const = 0;
};

}  // namespace ebb::scalers::redis
