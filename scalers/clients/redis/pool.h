// RedisPool: the one place that owns Redis connections; the redis::Client a scaler gets with
// pools.get<redis::Client>().
//
// - Connections are keyed by ServerOptions (endpoint + credentials + TLS + db): triggers that
//   reach the same server the same way share at most kMaxConnectionsPerServer connections.
//   A connection is checked out for one command or pipeline and returned; one that failed is
//   discarded, so the next call reconnects (a restarted server is picked up without restarts).
// - Cluster deployments are routed by key slot with a cached slot map (CLUSTER SLOTS), following
//   MOVED (and refreshing the map) and ASK redirections.
// - Sentinel deployments ask the sentinels for the master's address, cache it briefly, and
//   re-discover it after any failure.
// Thread-safe: any number of scalers may call execute() concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"
#include "redis/client.h"
#include "redis/cluster.h"
#include "redis/connection.h"
#include "redis/resp.h"
#include "redis/types.h"

namespace ebb::scalers::redis {

class RedisPool final : public Client {
 public:
  static constexpr std::size_t kMaxConnectionsPerServer = 4;
  static constexpr int kMaxRedirects = 5;
  // A sentinel answer is reused this long, so many triggers on one deployment do not each ask.
  static constexpr std::chrono::milliseconds kMasterCacheTtl{1000};

  RedisPool();
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs `commands` pipelined on the node that serves `routing_key` (all commands must be about
  // that key, or keyless). Errors name the server reached, never credentials.
  Result<std::vector<Reply>> execute(const Deployment& d, std::string_view routing_key,
                                     std::span<const Command> commands) override;
  using Client::execute;

  // PING through the same path a poll takes (sentinel discovery, cluster slot map included), for
  // probes that want to know a deployment is reachable and the credentials are accepted.
  Result<void> ping(const Deployment& d) override;

  // Runs `commands` on exactly this server, on one pooled connection.
  Result<std::vector<Reply>> run_on(const ServerOptions& server, const Timeouts& timeouts,
                                    std::span<const Command> commands);
  // Cluster: runs at `first` and follows redirections from there. Public so tests can start at
  // a node that does not own the key and watch MOVED being followed.
  Result<std::vector<Reply>> run_cluster_from(const Deployment& d, const Endpoint& first,
                                              std::span<const Command> commands);

  // Open connections (idle + checked out + being opened) to `server`, and in total.
  std::size_t connection_count(const ServerOptions& server) const;
  std::size_t connection_count() const override;

 private:
  struct Bucket;
  class Lease;
  struct ClusterState;
  struct MasterCacheEntry;

  Result<Lease> acquire(const ServerOptions& server, const Timeouts& timeouts);
  void release(Bucket& bucket, std::unique_ptr<Connection> conn);
  void drop_idle(Bucket& bucket);
  Bucket& bucket_for(const std::string& key);

  ServerOptions data_node(const Deployment& d, const Endpoint& ep, bool require_master) const;
  Result<std::vector<Reply>> execute_cluster(const Deployment& d, std::string_view key,
                                             std::span<const Command> commands);
  Result<std::vector<Reply>> execute_sentinel(const Deployment& d, std::span<const Command> commands);
  Result<std::shared_ptr<const SlotMap>> slot_map(const Deployment& d);
  Result<std::shared_ptr<const SlotMap>> refresh_slot_map(const Deployment& d, const std::string& key,
                                                          std::shared_ptr<const SlotMap> old);
  void mark_slot_map_stale(const Deployment& d);
  Result<Endpoint> sentinel_master(const Deployment& d);
  Result<Endpoint> ask_sentinels(const Deployment& d);
  void forget_master(const Deployment& d);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Bucket>> buckets_;  // by ServerOptions::pool_key()
  std::map<std::string, std::unique_ptr<ClusterState>> clusters_;
  std::map<std::string, std::unique_ptr<MasterCacheEntry>> masters_;
};

}  // namespace ebb::scalers::redis
