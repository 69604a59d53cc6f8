#include "redis/pool.h"

#include <algorithm>

#include "ebb/strings.h"

namespace ebb::scalers::redis {

namespace {

// Key for per-deployment state (slot maps, sentinel answers). Includes credentials and TLS, so
// two triggers that reach the same addresses differently never share what one of them learnt.
std::string deployment_key(const Deployment& d) {
  ServerOptions creds;
  creds.username = d.mode == Mode::Sentinel ? d.sentinel_username : d.username;
  creds.password = d.mode == Mode::Sentinel ? d.sentinel_password : d.password;
  creds.tls = d.tls;
  std::vector<std::string> seeds;
  for (const auto& ep : d.addresses) seeds.push_back(ep.str());
  std::sort(seeds.begin(), seeds.end());
  return creds.pool_key() + "|" + join(seeds, ",") + "|" + d.sentinel_master;
}

Unexpected<Error> with_server(const std::string& server, const Error& e) {
  return unexpected(Error{"redis " + server + ": " + e.message, e.transient});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Connection buckets

struct RedisPool::Bucket {
  std::vector<std::unique_ptr<Connection>> idle;
  std::size_t total = 0;  // idle + checked out + being opened; never above the limit
  std::condition_variable available;
};

// A checked-out connection; goes back to its bucket (or is dropped when broken) on destruction.
class RedisPool::Lease {
 public:
  Lease(RedisPool* pool, Bucket* bucket, std::unique_ptr<Connection> conn, bool reused)
      : pool_(pool), bucket_(bucket), conn_(std::move(conn)), reused_(reused) {}
  Lease(Lease&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)), bucket_(o.bucket_), conn_(std::move(o.conn_)), reused_(o.reused_) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (pool_) pool_->release(*bucket_, std::move(conn_));
  }
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }
  bool reused() const { return reused_; }
  Bucket& bucket() const { return *bucket_; }

 private:
  RedisPool* pool_;
  Bucket* bucket_;
  std::unique_ptr<Connection> conn_;
  bool reused_;
};

struct RedisPool::ClusterState {
  std::shared_ptr<const SlotMap> map;
  bool stale = false;
};

struct RedisPool::MasterCacheEntry {
  Endpoint master;
  std::chrono::steady_clock::time_point fetched;
};

RedisPool::RedisPool() = default;

RedisPool::~RedisPool() = default;

RedisPool::Bucket& RedisPool::bucket_for(const std::string& key) {
  auto& slot = buckets_[key];
  if (!slot) slot = std::make_unique<Bucket>();
  return *slot;
}

Result<RedisPool::Lease> RedisPool::acquire(const ServerOptions& server, const Timeouts& timeouts) {
  std::unique_lock lock(mutex_);
  Bucket& bucket = bucket_for(server.pool_key());
  const auto wait = timeouts.connect + timeouts.command;
  if (!bucket.available.wait_for(lock, wait, [&] { return !bucket.idle.empty() || bucket.total < kMaxConnectionsPerServer; }))
    return fail("all " + std::to_string(kMaxConnectionsPerServer) + " pooled connections stayed busy for " +
                    std::to_string(wait.count()) + "ms",
                true);
  if (!bucket.idle.empty()) {
    auto conn = std::move(bucket.idle.back());
    bucket.idle.pop_back();
    return Lease(this, &bucket, std::move(conn), true);
  }
  ++bucket.total;  // reserve the slot, then connect without holding the lock
  lock.unlock();
  auto conn = Connection::open(server, timeouts);
  if (!conn) {
    release(bucket, nullptr);
    return unexpected(conn.error());
  }
  return Lease(this, &bucket, std::move(conn).value(), false);
}

void RedisPool::release(Bucket& bucket, std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    if (conn && !conn->broken())
      bucket.idle.push_back(std::move(conn));
    else
      --bucket.total;
  }
  bucket.available.notify_one();
}

// After one idle connection turned out dead (server restart, idle timeout), the others opened
// at the same time are very likely dead too: drop them rather than fail on each in turn.
void RedisPool::drop_idle(Bucket& bucket) {
  std::vector<std::unique_ptr<Connection>> dead;
  {
    std::lock_guard lock(mutex_);
    dead.swap(bucket.idle);
    bucket.total -= dead.size();
  }
  bucket.available.notify_all();
}

Result<std::vector<Reply>> RedisPool::run_on(const ServerOptions& server, const Timeouts& timeouts,
                                             std::span<const Command> commands) {
  const std::string where = server.endpoint.str();
  for (int attempt = 0;; ++attempt) {
    auto lease = acquire(server, timeouts);
    if (!lease) return with_server(where, lease.error());
    auto replies = (*lease)->run(commands, timeouts.command);
    if (replies) return replies;
    // Our commands are reads, so one retry on a fresh connection is safe when a connection
    // that sat idle in the pool failed: that is a stale socket, not a verdict on the server.
    if (!lease->reused() || attempt > 0) return with_server(where, replies.error());
    drop_idle(lease->bucket());
  }
}

std::size_t RedisPool::connection_count(const ServerOptions& server) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(server.pool_key());
  return it == buckets_.end() ? 0 : it->second->total;
}

std::size_t RedisPool::connection_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [_, bucket] : buckets_) n += bucket->total;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Deployments

ServerOptions RedisPool::data_node(const Deployment& d, const Endpoint& ep, bool require_master) const {
  ServerOptions s;
  s.endpoint = ep;
  s.username = d.username;
  s.password = d.password;
  s.tls = d.tls;
  s.db = d.mode == Mode::Cluster ? 0 : d.db;
  s.require_master = require_master;
  return s;
}

Result<std::vector<Reply>> RedisPool::execute(const Deployment& d, std::string_view routing_key,
                                              std::span<const Command> commands) {
  switch (d.mode) {
    case Mode::Cluster: return execute_cluster(d, routing_key, commands);
    case Mode::Sentinel: return execute_sentinel(d, commands);
    case Mode::Standalone: break;
  }
  if (d.addresses.empty()) return fail("redis: no address configured");
  return run_on(data_node(d, d.addresses.front(), false), d.timeouts, commands);
}

Result<void> RedisPool::ping(const Deployment& d) {
  auto reply = execute(d, "", Command{"PING"});
  if (!reply) return unexpected(reply.error());
  if (reply->is_text() && reply->str == "PONG") return {};
  return fail("redis " + d.describe() + ": PING answered " + (reply->is_error() ? reply->str : "something else"));
}

// ----- cluster

Result<std::vector<Reply>> RedisPool::execute_cluster(const Deployment& d, std::string_view key,
                                                      std::span<const Command> commands) {
  auto map = slot_map(d);
  if (!map) return unexpected(map.error());
  const Endpoint* owner = (*map)->master_for(key_slot(key));
  // A slot nobody serves (cluster being resharded): ask any master, it redirects or says why.
  return run_cluster_from(d, owner ? *owner : (*map)->masters().front(), commands);
}

namespace {
// ASKING applies to the next command only, so each command of a pipeline gets its own.
std::vector<Command> with_asking(std::span<const Command> commands) {
  std::vector<Command> out;
  for (const auto& c : commands) {
    out.push_back({"ASKING"});
    out.push_back(c);
  }
  return out;
}

std::vector<Reply> without_asking(std::vector<Reply> replies) {
  std::vector<Reply> out;
  for (std::size_t i = 1; i < replies.size(); i += 2) out.push_back(std::move(replies[i]));
  return out;
}
}  // namespace

Result<std::vector<Reply>> RedisPool::run_cluster_from(const Deployment& d, const Endpoint& first,
                                                       std::span<const Command> commands) {
  Endpoint target = first;
  bool ask = false;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    std::vector<Command> asking;
    if (ask) asking = with_asking(commands);
    auto replies = run_on(data_node(d, target, false), d.timeouts,
                          ask ? std::span<const Command>(asking) : commands);
    if (!replies) {
      mark_slot_map_stale(d);  // the node may be gone for good: learn the new layout next time
      return unexpected(replies.error());
    }
    std::vector<Reply> out = ask ? without_asking(std::move(replies).value()) : std::move(replies).value();
    std::optional<Redirect> redirect;
    for (const auto& r : out)
      if ((redirect = parse_redirect(r, target))) break;
    if (!redirect) return out;
    if (!redirect->ask) mark_slot_map_stale(d);
    target = redirect->target;
    ask = redirect->ask;
  }
  return fail("redis " + d.describe() + ": more than " + std::to_string(kMaxRedirects) +
                  " MOVED/ASK redirections (cluster resharding?)",
              true);
}

Result<std::shared_ptr<const SlotMap>> RedisPool::slot_map(const Deployment& d) {
  const std::string key = deployment_key(d);
  std::shared_ptr<const SlotMap> current;
  {
    std::lock_guard lock(mutex_);
    auto& state = clusters_[key];
    if (!state) state = std::make_unique<ClusterState>();
    if (state->map && !state->stale) return state->map;
    current = state->map;
  }
  return refresh_slot_map(d, key, std::move(current));
}

// Asks the masters we already know first (the seeds may be gone after a failover), then the seeds.
Result<std::shared_ptr<const SlotMap>> RedisPool::refresh_slot_map(const Deployment& d, const std::string& key,
                                                                   std::shared_ptr<const SlotMap> old) {
  std::vector<Endpoint> candidates;
  if (old) candidates = old->masters();
  for (const auto& seed : d.addresses)
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
  std::vector<std::string> failures;
  const Command cluster_slots{"CLUSTER", "SLOTS"};
  for (const auto& node : candidates) {
    auto reply = run_on(data_node(d, node, false), d.timeouts, std::span<const Command>(&cluster_slots, 1));
    if (!reply) {
      failures.push_back(reply.error().message);
      continue;
    }
    auto map = SlotMap::from_cluster_slots(reply->front(), node);
    if (!map) {
      failures.push_back("redis " + node.str() + ": " + map.error().message);
      continue;
    }
    auto shared = std::make_shared<const SlotMap>(std::move(map).value());
    std::lock_guard lock(mutex_);
    auto& state = clusters_[key];
    state->map = shared;
    state->stale = false;
    return shared;
  }
  return fail("redis " + d.describe() + ": cannot read the cluster slot map: " + join(failures, "; "), true);
}

void RedisPool::mark_slot_map_stale(const Deployment& d) {
  std::lock_guard lock(mutex_);
  if (auto it = clusters_.find(deployment_key(d)); it != clusters_.end()) it->second->stale = true;
}

// ----- sentinel

Result<std::vector<Reply>> RedisPool::execute_sentinel(const Deployment& d, std::span<const Command> commands) {
  auto master = sentinel_master(d);
  if (!master) return unexpected(master.error());
  auto replies = run_on(data_node(d, *master, true), d.timeouts, commands);
  if (!replies) forget_master(d);  // failover in progress or done: ask the sentinels again next time
  return replies;
}

Result<Endpoint> RedisPool::sentinel_master(const Deployment& d) {
  const std::string key = deployment_key(d);
  {
    std::lock_guard lock(mutex_);
    auto it = masters_.find(key);
    if (it != masters_.end() && std::chrono::steady_clock::now() - it->second->fetched < kMasterCacheTtl)
      return it->second->master;
  }
  auto master = ask_sentinels(d);
  if (!master) return master;
  std::lock_guard lock(mutex_);
  auto& entry = masters_[key];
  entry = std::make_unique<MasterCacheEntry>(MasterCacheEntry{*master, std::chrono::steady_clock::now()});
  return master;
}

Result<Endpoint> RedisPool::ask_sentinels(const Deployment& d) {
  const Command ask{"SENTINEL", "get-master-addr-by-name", d.sentinel_master};
  std::vector<std::string> failures;
  for (const auto& sentinel : d.addresses) {
    ServerOptions s;
    s.endpoint = sentinel;
    s.username = d.sentinel_username;
    s.password = d.sentinel_password;
    s.tls = d.tls;
    auto replies = run_on(s, d.timeouts, std::span<const Command>(&ask, 1));
    if (!replies) {
      failures.push_back(replies.error().message);
      continue;
    }
    const Reply& r = replies->front();
    if (r.is_error() || !r.is_array() || r.elements.size() != 2) {
      failures.push_back("sentinel " + sentinel.str() + ": " +
                         (r.is_error() ? r.str : "does not know master \"" + d.sentinel_master + "\""));
      continue;
    }
    auto ep = parse_endpoint(r.elements[0].str + ":" + r.elements[1].str);
    if (!ep) {
      failures.push_back("sentinel " + sentinel.str() + ": bad master address: " + ep.error().message);
      continue;
    }
    return ep;
  }
  return fail("redis " + d.describe() + ": no sentinel gave the master address: " + join(failures, "; "), true);
}

void RedisPool::forget_master(const Deployment& d) {
  std::lock_guard lock(mutex_);
  masters_.erase(deployment_key(d));
}

}  // namespace ebb::scalers::redis
