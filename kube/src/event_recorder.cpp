#include "ebb/kube/event_recorder.h"

#include <unistd.h>

#include <random>

#include "ebb/strings.h"
#include "encoding.h"

namespace ebb::kube {

namespace {
Object reference_to(const Object& o) {
  Object ref{{"apiVersion", o.value("apiVersion", "")}, {"kind", o.value("kind", "")},
             {"name", meta_string(o, "name")}};
  for (const char* field : {"namespace", "uid", "resourceVersion"}) {
    if (auto value = meta_string(o, field); !value.empty()) ref[field] = value;
  }
  return ref;
}

std::string random_hex() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) out += hex[rng() % 16];
  return out;
}
}  // namespace

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.cache_size == 0) options_.cache_size = 1;
  // events.k8s.io/v1 requires both (422 without): never send an Event the API refuses.
  if (options_.reporting_controller.empty()) options_.reporting_controller = "ebb";
  if (options_.reporting_instance.empty()) {
    char host[256] = {};
    options_.reporting_instance =
        ::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0' ? host : "ebb";
  }
  options_.reporting_instance = std::string(utf8_prefix(options_.reporting_instance, 128));
}

std::size_t EventRecorder::cached() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

ApiResult<Object> EventRecorder::create(const Object& regarding, const std::string& key, const std::string& type,
                                        const std::string& reason, const std::string& action,
                                        const std::string& note) {
  std::string ns = meta_string(regarding, "namespace");
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects live in default
  Object event{{"apiVersion", "events.k8s.io/v1"},
               {"kind", "Event"},
               {"metadata",
                {{"name", meta_string(regarding, "name") + "." + random_hex()}, {"namespace", ns}}},
               {"eventTime", detail::format_micro_time(std::chrono::system_clock::now())},
               {"reportingController", options_.reporting_controller},
               {"reportingInstance", options_.reporting_instance},
               // events.k8s.io/v1 refuses (422) an action or reason over 128 bytes and a note
               // over 1024: cut them, on a character boundary, rather than lose the Event.
               {"action", std::string(utf8_prefix(action, 128))},
               {"reason", std::string(utf8_prefix(reason, 128))},
               {"note", std::string(utf8_prefix(note, 1024))},
               {"type", type},
               {"regarding", reference_to(regarding)}};
  auto created = client_.create(resources::events(), event);
  if (!created) return created;
  std::lock_guard lock(mutex_);
  if (auto old = cache_.find(key); old != cache_.end()) {
    lru_.erase(old->second.lru);
    cache_.erase(old);
  }
  const auto stored = cache_.emplace(key, Entry{ns, meta_string(*created, "name"), 1, {}}).first;
  lru_.push_front(&stored->first);
  stored->second.lru = lru_.begin();
  while (cache_.size() > options_.cache_size) {
    const auto oldest = cache_.find(*lru_.back());
    lru_.pop_back();
    cache_.erase(oldest);
  }
  return created;
}

ApiResult<Object> EventRecorder::record(const Object& regarding, const std::string& type, const std::string& reason,
                                        const std::string& action, const std::string& note) {
  const Object ref = reference_to(regarding);
  std::string key = ref.value("apiVersion", "") + "|" + ref.value("kind", "") + "|" + ref.value("namespace", "") + "|" +
                    ref.value("name", "") + "|" + ref.value("uid", "") + "|" + type + "|" + reason + "|" + action +
                    "|" + note;
  std::optional<Entry> seen;
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      ++it->second.count;
      seen = it->second;
    }
  }
  if (!seen) return create(regarding, key, type, reason, action, note);
  Object patch{{"series",
                {{"count", seen->count},
                 {"lastObservedTime", detail::format_micro_time(std::chrono::system_clock::now())}}}};
  auto patched = client_.patch(resources::events(), seen->ns, seen->name, PatchType::merge, patch);
  if (!patched && patched.error().not_found()) {
    // The Event expired (events have a TTL) or was deleted: start a new one.
    return create(regarding, key, type, reason, action, note);
  }
  return patched;
}

}  // namespace ebb::kube
