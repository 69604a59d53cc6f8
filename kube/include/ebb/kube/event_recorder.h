// Event recorder for events.k8s.io/v1. Each record() writes synchronously; repeats of the same
// (regarding object, type, reason, action, note) within the cache become a patch of the existing
// Event's `series` (count, lastObservedTime) instead of a new object, as client-go's events
// broadcaster does, so a flapping condition does not flood etcd. The cache is bounded (least
// recently used entries are forgotten: their next repeat starts a new Event).
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "ebb/kube/client.h"

namespace ebb::kube {

struct EventRecorderOptions {
  std::string reporting_controller;  // "keda.sh/ebb-operator"; empty: "ebb"
  std::string reporting_instance;    // this process: pod name, say; empty: the host name
  std::size_t cache_size = 4096;
};

class EventRecorder {
 public:
  EventRecorder(Client& client, EventRecorderOptions options);

  // `regarding` is the object (apiVersion, kind, metadata) the event is about; type is
  // "Normal" or "Warning". Returns the Event as written (created or with its series updated).
  ApiResult<Object> record(const Object& regarding, const std::string& type, const std::string& reason,
                           const std::string& action, const std::string& note);

  std::size_t cached() const;

 private:
  // The key (regarding object, type, reason, action and note: a few hundred bytes) is kept once,
  // in the map; the recency list points at the map's keys (std::map nodes do not move).
  using Recency = std::list<const std::string*>;
  struct Entry {
    std::string ns, name;
    int count = 1;
    Recency::iterator lru;
  };
  ApiResult<Object> create(const Object& regarding, const std::string& key, const std::string& type,
                           const std::string& reason, const std::string& action, const std::string& note);

  Client& client_;
  EventRecorderOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> cache_;
  Recency lru_;  // most recent first
};

}  // namespace ebb::kube
