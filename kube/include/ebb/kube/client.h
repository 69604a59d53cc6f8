// Typed operations on Kubernetes objects (as JSON): get, list with paging, create, update,
// patch (merge, JSON patch, strategic merge, server-side apply), delete with preconditions,
// status and scale subresources, watch, and the read-modify-write helper for optimistic
// concurrency. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ebb/kube/discovery.h"
#include "ebb/kube/errors.h"
#include "ebb/kube/resource.h"
#include "ebb/kube/rest.h"

namespace ebb::kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t limit = 0;  // 0 = no paging
  std::string continue_token;
  std::string resource_version;        // "" = most recent (quorum read); "0" = any cached
  std::string resource_version_match;  // "NotOlderThan" / "Exact"
};

struct ObjectList {
  std::vector<Object> items;
  std::string resource_version;  // of the list: where a watch continues from
  std::string continue_token;    // non-empty when more pages follow
};

struct WriteOptions {
  std::string field_manager;
  bool dry_run = false;
};

enum class PatchType { merge, json, strategic_merge, apply };
std::string_view content_type(PatchType type);

struct PatchOptions {
  std::string field_manager;  // required for apply
  bool force = false;         // apply: take ownership of conflicting fields
  std::string subresource;    // "status", "scale" or empty
  bool dry_run = false;
};

struct DeleteOptions {
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;  // "Foreground", "Background", "Orphan" or empty (server default)
  std::optional<std::int64_t> grace_period_seconds;
  bool dry_run = false;
};

// autoscaling/v1 Scale, the view of /scale every scalable resource serves.
struct Scale {
  std::int32_t replicas = 0;         // spec.replicas
  std::int32_t status_replicas = 0;  // status.replicas
  std::string selector;              // status.selector (label selector text)
  std::string resource_version;
  Object raw;
};

enum class WatchEventType { added, modified, deleted, bookmark, error };
struct WatchEvent {
  WatchEventType type = WatchEventType::added;
  Object object;
};
std::string_view to_string(WatchEventType type);

struct WatchOptions {
  std::string resource_version;  // start after this version; "" = from now (with synthetic ADDs)
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // Server-side watch length. The watch loop reconnects from the last resourceVersion after it,
  // which also bounds how long a stop request can go unnoticed on a quiet stream.
  std::chrono::seconds timeout{60};
  // No bytes for this long (servers send bookmarks about once a minute) = a dead connection.
  std::chrono::seconds idle_timeout{90};
  // Optional: cancel() from another thread ends the watch at once (with an error).
  std::shared_ptr<net::HttpStreamCancel> cancel;
  // Optional: called once the server has accepted the watch (a 2xx head), before any event is
  // read. Returning false ends the watch there, as a success.
  std::function<bool()> on_open;
};

// Incremental decoder for the newline-delimited JSON stream of a watch: feed it bytes in any
// pieces, get whole events out. Pure.
class WatchDecoder {
 public:
  // Appends decoded events; an error for a line that is not a watch event.
  Result<void> feed(std::string_view data, std::vector<WatchEvent>& out);
  std::size_t pending_bytes() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

struct ReadModifyWriteOptions {
  int attempts = 5;     // total tries; each 409 Conflict refetches and mutates again
  bool status = false;  // write through the status subresource
  WriteOptions write;
  Backoff backoff{std::chrono::milliseconds(10), 2.0, std::chrono::milliseconds(1000), 0.5};
  // The object as a watch-backed cache holds it: the first attempt starts from it instead of a
  // GET (its resourceVersion still guards the write; only a 409 costs a read).
  ObjectPtr start_from;
};

class Client {
 public:
  explicit Client(Config config, RestOptions options = {});
  explicit Client(std::shared_ptr<RestClient> rest);

  RestClient& rest() { return *rest_; }
  Discovery& discovery() { return discovery_; }
  const std::string& default_namespace() const { return rest_->config().namespace_name; }

  ApiResult<Object> get(const Resource& resource, std::string_view ns, std::string_view name,
                        std::string_view subresource = {});
  ApiResult<ObjectList> list(const Resource& resource, std::string_view ns, const ListOptions& options = {});
  // Follows continue tokens. A 410 on a later page (the snapshot expired) restarts the list
  // from the first page, once.
  ApiResult<ObjectList> list_all(const Resource& resource, std::string_view ns, ListOptions options = {});

  // Namespace and name come from the object's metadata.
  ApiResult<Object> create(const Resource& resource, const Object& object, const WriteOptions& options = {});
  ApiResult<Object> update(const Resource& resource, const Object& object, const WriteOptions& options = {});
  ApiResult<Object> update_status(const Resource& resource, const Object& object, const WriteOptions& options = {});
  ApiResult<Object> patch(const Resource& resource, std::string_view ns, std::string_view name, PatchType type,
                          const Object& patch, const PatchOptions& options = {});
  // Server-side apply of a (partial) object; metadata.name/namespace, apiVersion and kind set.
  ApiResult<Object> apply(const Resource& resource, const Object& object, const std::string& field_manager,
                          bool force = false, std::string_view subresource = {});
  // The server answers with the object (still terminating, with finalizers) or a Status.
  ApiResult<Object> remove(const Resource& resource, std::string_view ns, std::string_view name,
                           const DeleteOptions& options = {});

  ApiResult<Scale> get_scale(const Resource& resource, std::string_view ns, std::string_view name);
  // Writes spec.replicas; with a resource_version the write fails with 409 if the object moved.
  ApiResult<Scale> update_scale(const Resource& resource, std::string_view ns, std::string_view name,
                                std::int32_t replicas, const std::string& resource_version = "");
  ApiResult<Scale> patch_scale(const Resource& resource, std::string_view ns, std::string_view name,
                               std::int32_t replicas);

  // One watch request: calls on_event for each event until the server ends the stream (ok),
  // on_event returns false (ok), or the connection fails (transport ApiError). An ERROR event
  // carrying a Status becomes that ApiError (410 Gone = the resourceVersion is too old).
  ApiResult<void> watch(const Resource& resource, std::string_view ns, const WatchOptions& options,
                        const std::function<bool(WatchEvent&)>& on_event);

  // Optimistic concurrency: get, mutate, update with the read resourceVersion; on 409 Conflict
  // start again from a fresh read. `mutate` returns false when the object needs no change (no
  // write is made). Other errors end the loop.
  ApiResult<Object> read_modify_write(const Resource& resource, std::string_view ns, std::string_view name,
                                      const std::function<bool(Object&)>& mutate,
                                      const ReadModifyWriteOptions& options = {});

 private:
  ApiResult<Object> send_json(const RestRequest& request);
  ApiResult<Object> write_object(const std::string& method, const Resource& resource, const Object& object,
                                 std::string_view subresource, const WriteOptions& options);

  std::shared_ptr<RestClient> rest_;
  Discovery discovery_;
};

// Retries `attempt` while it fails with 409 Conflict, up to `attempts` tries, sleeping a
// jittered backoff in between.
template <class T>
ApiResult<T> retry_on_conflict(int attempts, const Backoff& backoff, const std::function<ApiResult<T>()>& attempt);

}  // namespace ebb::kube

#include <random>
#include <thread>

namespace ebb::kube {
template <class T>
ApiResult<T> retry_on_conflict(int attempts, const Backoff& backoff, const std::function<ApiResult<T>()>& attempt) {
  std::mt19937_64 rng(std::random_device{}());
  for (int i = 0;; ++i) {
    auto result = attempt();
    if (result.ok() || !result.error().conflict() || i + 1 >= attempts) return result;
    std::this_thread::sleep_for(backoff.delay(i, rng));
  }
}
}  // namespace ebb::kube
