// A work queue of object keys for level-triggered controllers, with the guarantees
// controllers rely on:
// - a key waiting in the queue is stored once, however often it is added (deduplication);
// - a key is never handed to two workers at once: adding a key that is being processed
//   marks it dirty, and it is queued again only when the worker calls done();
// - add_rate_limited() delays a key by per-key exponential backoff (base * 2^failures, capped)
//   and by an overall token bucket, whichever is longer; forget() resets a key's failures.
// Workers, reconcile results and their metrics are runtime::Controller's (runtime/).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "ebb/kube/rate_limit.h"

namespace ebb::kube {

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{1000 * 1000};
  double qps = 10;  // overall retry rate, as in client-go's default controller limiter
  int burst = 100;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  void add_rate_limited(const std::string& key);
  void forget(const std::string& key);
  int requeues(const std::string& key) const;
  // The delay add_rate_limited() would apply now, consuming a failure (exposed for tests).
  std::chrono::milliseconds next_delay(const std::string& key);

  // Blocks for the next key; nullopt once shut down and drained of nothing more to hand out.
  std::optional<std::string> get();
  void done(const std::string& key);
  void shut_down();
  bool shutting_down() const;
  std::size_t length() const;  // keys ready to be handed out

 private:
  void delay_loop();

  WorkQueueOptions options_;
  TokenBucket bucket_;
  mutable std::mutex mutex_;
  std::condition_variable ready_cv_, delay_cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_, processing_;
  std::map<std::string, int> failures_;
  std::multimap<Clock::time_point, std::string> waiting_;
  bool shutting_down_ = false;
  std::thread delay_thread_;
};

}  // namespace ebb::kube
