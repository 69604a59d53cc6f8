// A small bounded pool of connections per key, for client families whose connections carry one
// request at a time (a SQL session, a beanstalkd socket): triggers that reach the same server
// with the same credentials lease from the same bucket, so N triggers cost at most
// `max_per_key` connections instead of N.
//
// What a pooled connection type `Conn` provides:
//   bool broken() const;  // a failure left it unusable: close instead of returning it
//   bool idle_alive();    // never blocks; false when the server hung up while it sat idle
//   bool timed_out() const;  // for run(): the last failure was a deadline, not an answer
//
// Idle connections are checked before reuse (a restarted server is noticed before the next
// query, not by failing it) and closed after `max_idle`, so buckets of triggers that went away
// do not hold server sessions forever. Connections are closed outside the lock: closing may
// write a goodbye to the server.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers {

template <class Conn>
class BoundedPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    std::size_t max_per_key = 4;
    std::chrono::milliseconds max_idle = std::chrono::minutes(5);
  };

  explicit BoundedPool(Limits limits = {}) : limits_(limits) {}
  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  // A checked-out connection: back to its bucket on destruction, or closed when broken.
  class Lease {
   public:
    Lease(Lease&& o) noexcept
        : pool_(std::exchange(o.pool_, nullptr)),
          key_(std::move(o.key_)),
          conn_(std::move(o.conn_)),
          reused_(o.reused_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_) pool_->release(key_, std::move(conn_));
    }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }
    // True when the connection had served an earlier request: a failure on it may be a stale
    // socket rather than a verdict on the server.
    bool reused() const { return reused_; }

   private:
    friend class BoundedPool;
    Lease(BoundedPool* pool, std::string key, std::unique_ptr<Conn> conn, bool reused)
        : pool_(pool), key_(std::move(key)), conn_(std::move(conn)), reused_(reused) {}
    BoundedPool* pool_;
    std::string key_;
    std::unique_ptr<Conn> conn_;
    bool reused_;
  };

  using Opener = std::function<Result<std::unique_ptr<Conn>>()>;

  // An idle connection of `key`, else a new one from `open` (called without the lock). Waits at
  // most `wait` for a free slot when all of the key's connections are busy.
  Result<Lease> acquire(const std::string& key, std::chrono::milliseconds wait,
                        const Opener& open) {
    std::vector<std::unique_ptr<Conn>> to_close;
    std::unique_lock lock(mutex_);
    expire_idle(to_close);
    Bucket& bucket = buckets_[key];
    ++bucket.waiters;
    const bool got = bucket.available.wait_for(
        lock, wait, [&] { return !bucket.idle.empty() || bucket.total < limits_.max_per_key; });
    --bucket.waiters;
    if (!got) {
      lock.unlock();
      return fail("all " + std::to_string(limits_.max_per_key) +
                      " pooled connections stayed busy for " + std::to_string(wait.count()) + "ms",
                  true);
    }
    while (!bucket.idle.empty()) {
      auto conn = std::move(bucket.idle.back().conn);
      bucket.idle.pop_back();
      if (conn->idle_alive()) return Lease(this, key, std::move(conn), true);
      // The server hung up on it; the others of the same age very likely too.
      to_close.push_back(std::move(conn));
      for (auto& entry : bucket.idle) to_close.push_back(std::move(entry.conn));
      bucket.total -= bucket.idle.size() + 1;
      bucket.idle.clear();
    }
    ++bucket.total;  // reserve the slot, then connect without holding the lock
    lock.unlock();
    to_close.clear();
    auto conn = open();
    if (!conn) {
      release(key, nullptr);
      return unexpected(conn.error());
    }
    return Lease(this, key, std::move(conn).value(), false);
  }

  // Runs `use` (Conn& -> Result<T>) on a connection of `key`, leased as acquire() does, and
  // returns its result. A connection that sat idle and broke on first use was stale (a restarted
  // server whose goodbye had not arrived yet): the key's idle connections are dropped and `use`
  // runs once more on a fresh one, never after a timeout (Conn::timed_out()), which would only
  // wait again.
  template <class Use>
  auto run(const std::string& key, std::chrono::milliseconds wait, const Opener& open, Use&& use)
      -> decltype(use(std::declval<Conn&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = acquire(key, wait, open);
      if (!lease) return unexpected(lease.error());
      auto result = use(**lease);
      if (result || attempt > 0 || !lease->reused() || !(*lease)->broken() || (*lease)->timed_out())
        return result;
      drop_idle(key);
    }
  }

  // Closes every idle connection of `key` (after one turned out dead).
  void drop_idle(const std::string& key) {
    std::vector<std::unique_ptr<Conn>> to_close;
    {
      std::lock_guard lock(mutex_);
      auto it = buckets_.find(key);
      if (it == buckets_.end()) return;
      for (auto& entry : it->second.idle) to_close.push_back(std::move(entry.conn));
      it->second.total -= it->second.idle.size();
      it->second.idle.clear();
      it->second.available.notify_all();
    }
  }

  // Open connections (idle, leased, being opened) of `key`, and in total; for tests.
  std::size_t open_count(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    return it == buckets_.end() ? 0 : it->second.total;
  }
  std::size_t open_count() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [key, bucket] : buckets_) n += bucket.total;
    return n;
  }

 private:
  struct Idle {
    std::unique_ptr<Conn> conn;
    Clock::time_point since;
  };
  struct Bucket {
    std::vector<Idle> idle;  // most recently used last
    std::size_t total = 0;   // idle + leased + being opened; never above max_per_key
    std::size_t waiters = 0;
    std::condition_variable available;
  };

  void release(const std::string& key, std::unique_ptr<Conn> conn) {
    std::unique_ptr<Conn> to_close;
    {
      std::lock_guard lock(mutex_);
      Bucket& bucket = buckets_[key];
      if (conn && !conn->broken()) {
        bucket.idle.push_back({std::move(conn), Clock::now()});
      } else {
        to_close = std::move(conn);
        --bucket.total;
      }
      bucket.available.notify_one();
    }
  }

  // Caller holds the lock. Buckets nobody uses any more are forgotten.
  void expire_idle(std::vector<std::unique_ptr<Conn>>& to_close) {
    const auto cutoff = Clock::now() - limits_.max_idle;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      Bucket& b = it->second;
      std::vector<Idle> kept;
      for (auto& entry : b.idle) {
        if (entry.since < cutoff)
          to_close.push_back(std::move(entry.conn));
        else
          kept.push_back(std::move(entry));
      }
      b.total -= b.idle.size() - kept.size();
      b.idle = std::move(kept);
      if (b.total == 0 && b.waiters == 0)
        it = buckets_.erase(it);
      else
        ++it;
    }
  }

  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace ebb::scalers
