// An informer: list, then watch from the list's resourceVersion, keeping a local cache indexed
// by namespace and by label, and telling handlers about every change exactly once, in order.
//
// - The first list asks for resourceVersion=0 (the API server's watch cache, as client-go
//   does), and reads again paged from etcd if that fails; every later list is that paged,
//   consistent read.
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
#include <string_view>
#include <thread>
#include <vector>

#include "ebb/kube/client.h"

namespace ebb::kube {

namespace detail {
class TextPacker;
}

struct EventHandlers {
  std::function<void(const Object&)> on_add;
  std::function<void(const Object& old_object, const Object& new_object)> on_update;
  std::function<void(const Object&)> on_delete;
};

struct InformerOptions {
  std::string namespace_name;  // "" = all namespaces
  // Applied to every object before it is cached and handed to handlers (client-go's
  // SetTransform): drop what the process never reads, so memory follows what is used.
  std::function<void(Object&)> transform;
  std::string label_selector, field_selector;
  std::int64_t page_size = 500;
  std::chrono::milliseconds resync{0};  // 0 = never
  WatchOptions watch;                   // resource_version/selectors are filled in by the informer
  Backoff backoff{std::chrono::milliseconds(100), 2.0, std::chrono::milliseconds(30'000), 0.5};
};

// The values an object is filed under in one index ("namespace/target-kind/target-name", ...).
using IndexFunc = std::function<std::vector<std::string>(const Object&)>;

// The cache: objects by key, with a namespace index and any named indexes (client-go's
// Indexers), so "which objects point at this Deployment" is a lookup, not a scan. Thread-safe.
//
// Memory follows object count, so objects are kept as compact JSON text, zstd-compressed against
// the first object of the cache as a dictionary (detail::TextPacker: a 1.6 KB ScaledObject with
// its status takes ~0.2 KB, against 10 KB as a parsed nlohmann tree), and parsed when read; the
// resourceVersion and the index values are kept beside it, so comparisons and lookups parse
// nothing. Each key is stored once: the namespace and named indexes hold views of it, and an
// object remembers where it is filed by position, not by copies of the values (a copy of a key
// or value in every set took ~0.3 KB an object and cache).
class ObjectCache {
 public:
  ObjectCache();
  ~ObjectCache();
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // Before the first upsert.
  void add_index(const std::string& name, IndexFunc func);

  // Null when absent. The parse a reader still holds is handed out again; else the text is
  // parsed, outside the lock.
  ObjectPtr find(const std::string& key) const;
  std::string resource_version_of(const std::string& key) const;  // "" when absent
  bool contains(const std::string& key) const;
  std::vector<ObjectPtr> all() const;
  std::vector<ObjectPtr> in_namespace(const std::string& ns) const;
  std::vector<ObjectPtr> indexed(const std::string& index, const std::string& value) const;
  std::vector<std::string> indexed_keys(const std::string& index, const std::string& value) const;
  // How many objects each value of an index has (e.g. triggers per type), without reading them.
  std::map<std::string, std::size_t> index_counts(const std::string& index) const;
  std::map<std::string, std::size_t> namespace_counts() const;
  std::size_t size() const;
  std::vector<std::string> keys() const;
  // What the objects' texts take as stored (compressed), in bytes.
  std::size_t stored_bytes() const;

  // Copies, for callers that change what they read.
  std::optional<Object> get(const std::string& key) const;
  std::vector<Object> list() const;
  std::vector<Object> by_namespace(const std::string& ns) const;
  std::vector<Object> select(const LabelSelector& selector, const std::string& ns = "") const;

  // Mutations return the previous object, if any (parsed: callers compare old and new).
  ObjectPtr upsert(const Object& object);
  ObjectPtr erase(const std::string& key);

 private:
  // An index holds one (value, key) pair per object and value, ordered by value and then key,
  // so the keys of a value are one range. Most values belong to a single object (a scale
  // target, an owner), and one node for each pair costs less than a set of keys per value.
  // Keys are views of the objects map's own keys (std::map nodes do not move).
  struct Filed {
    std::string value;
    std::string_view key;
  };
  struct FiledOrder {
    using is_transparent = void;
    bool operator()(const Filed& a, const Filed& b) const {
      const int c = a.value.compare(b.value);
      return c != 0 ? c < 0 : a.key < b.key;
    }
    bool operator()(const Filed& a, std::string_view value) const { return a.value < value; }
    bool operator()(std::string_view value, const Filed& b) const { return value < b.value; }
  };
  using FiledSet = std::set<Filed, FiledOrder>;
  struct Index {
    IndexFunc func;
    FiledSet filed;
  };
  struct Filing {  // where an entry is filed under one value of one index
    Index* index;
    FiledSet::iterator at;
  };
  struct Entry {
    std::string text;  // compact JSON, packed by `packer_`
    std::string resource_version;
    std::vector<Filing> filed;
    std::uint64_t version = 0;  // which upsert wrote it
    // The last parse of `text` while some reader still holds it: handed out again instead of
    // parsing anew (a reconcile reads the same object through several lookups).
    mutable std::weak_ptr<const Object> parsed;
  };
  // The held parse of `entry`, or a parse of its text (under the mutex for an entry in the map).
  ObjectPtr parse(const Entry& entry) const;
  Object unpack(const std::string& packed) const;
  void unindex(std::string_view key, Entry& entry);
  // Files the entry of the map node `key` under `values` of `index`.
  static void file(Index& index, std::vector<std::string> values, std::string_view key,
                   Entry& entry);
  std::unique_ptr<detail::TextPacker> packer_;
  mutable std::mutex mutex_;
  std::size_t stored_bytes_ = 0;
  std::map<std::string, Entry, std::less<>> objects_;
  std::uint64_t upserts_ = 0;
  // Objects per namespace ("" for cluster-scoped keys). A namespace's objects are the range of
  // `objects_` whose keys start with "<namespace>/": no per-object bookkeeping needed.
  std::map<std::string, std::size_t, std::less<>> namespace_sizes_;
  std::map<std::string, Index, std::less<>> indexes_;
};

// Read access over the caches of several informers of one resource whose scopes do not overlap
// (one per watched namespace): what a process with --namespace a,b reads as one cache.
class CacheView {
 public:
  CacheView() = default;
  explicit CacheView(std::vector<const ObjectCache*> parts) : parts_(std::move(parts)) {}
  void add(const ObjectCache* part) { parts_.push_back(part); }

  ObjectPtr find(const std::string& key) const;
  std::vector<ObjectPtr> all() const;
  std::vector<ObjectPtr> in_namespace(const std::string& ns) const;
  std::vector<ObjectPtr> indexed(const std::string& index, const std::string& value) const;
  std::vector<std::string> indexed_keys(const std::string& index, const std::string& value) const;
  std::map<std::string, std::size_t> index_counts(const std::string& index) const;
  std::map<std::string, std::size_t> namespace_counts() const;
  std::size_t size() const;
  std::vector<std::string> keys() const;

 private:
  std::vector<const ObjectCache*> parts_;
};

// Drops what no controller here reads from objects as the API serves them: metadata.managedFields
// and kubectl's last-applied-configuration annotation (often the largest part of an object).
void strip_bookkeeping(Object& object);

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
  // Before start(): indexes of this informer's cache (ObjectCache::add_index).
  void add_index(const std::string& name, IndexFunc func) { cache_.add_index(name, std::move(func)); }
  std::string last_resource_version() const;
  // Counters for tests and metrics.
  int lists() const { return lists_; }
  int watches() const { return watches_; }

 private:
  void run();
  ApiResult<void> relist();
  // After a failed watch: is the server's resourceVersion below ours? nullopt: no answer.
  std::optional<bool> server_went_back();
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
