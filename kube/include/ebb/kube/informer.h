// An informer: list, then watch from the list's resourceVersion, keeping a local cache indexed
// by namespace and by label, and telling handlers about every change exactly once, in order.
//
// - A dropped or ended watch resumes from the last resourceVersion seen (events or bookmarks).
// - 410 Gone (the version is too old) relists and diffs the fresh list against the cache, so
//   handlers get adds, updates and deletes for what changed while we were away, and nothing
//   twice: an event whose object has the resourceVersion already cached is not delivered.
// - Handlers run on one thread at a time, never concurrently with each other.
// - Resync re-delivers every cached object as an update(old == new) every `resync` period.
// stop() is prompt: it cancels the open watch (net::HttpStreamCancel), so it waits at most for
// a handler that is running or a list request in flight, never for the next event.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ebb/kube/client.h"

namespace ebb::kube {

struct EventHandlers {
  std::function<void(const Object&)> on_add;
  std::function<void(const Object& old_object, const Object& new_object)> on_update;
  std::function<void(const Object&)> on_delete;
};

struct InformerOptions {
  std::string namespace_name;  // "" = all namespaces
  std::string label_selector, field_selector;
  std::int64_t page_size = 500;
  std::chrono::milliseconds resync{0};  // 0 = never
  WatchOptions watch;                   // resource_version/selectors are filled in by the informer
  Backoff backoff{std::chrono::milliseconds(100), 2.0, std::chrono::milliseconds(30'000), 0.5};
};

// The cache: objects by key with namespace and label indexes. Thread-safe.
class ObjectCache {
 public:
  std::optional<Object> get(const std::string& key) const;
  std::vector<Object> list() const;
  std::vector<Object> by_namespace(const std::string& ns) const;
  std::vector<Object> by_label(const std::string& key, const std::string& value) const;
  std::vector<Object> select(const LabelSelector& selector, const std::string& ns = "") const;
  std::size_t size() const;

  // Mutations return the previous object, if any.
  std::optional<Object> upsert(const Object& object);
  std::optional<Object> erase(const std::string& key);
  std::vector<std::string> keys() const;

 private:
  void unindex(const std::string& key, const Object& object);
  mutable std::mutex mutex_;
  std::map<std::string, Object> objects_;
  std::map<std::string, std::set<std::string>> by_namespace_;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> by_label_;
};

class Informer {
 public:
  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void add_handlers(EventHandlers handlers);  // before start()
  void start();
  void stop();  // cancels the watch and waits for the loop thread; final (no restart)
  bool has_synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  const ObjectCache& cache() const { return cache_; }
  std::string last_resource_version() const;
  // Counters for tests and metrics.
  int lists() const { return lists_; }
  int watches() const { return watches_; }

 private:
  void run();
  ApiResult<void> relist();
  void apply(WatchEvent& event);
  void resync_loop();
  void dispatch_add(const Object& o);
  void dispatch_update(const Object& a, const Object& b);
  void dispatch_delete(const Object& o);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopped

  Client& client_;
  Resource resource_;
  InformerOptions options_;
  std::vector<EventHandlers> handlers_;
  ObjectCache cache_;
  std::mutex dispatch_mutex_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  bool synced_ = false;
  std::string resource_version_;
  std::atomic<int> lists_{0}, watches_{0};
  std::shared_ptr<net::HttpStreamCancel> cancel_ = std::make_shared<net::HttpStreamCancel>();
  std::thread thread_, resync_thread_;
};

}  // namespace ebb::kube
