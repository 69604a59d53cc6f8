#include "ebb/kube/informer.h"

#include <random>

namespace ebb::kube {

// --- ObjectCache ------------------------------------------------------------------------------

std::optional<Object> ObjectCache::get(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

std::vector<Object> ObjectCache::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Object> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<Object> ObjectCache::by_namespace(const std::string& ns) const {
  std::lock_guard lock(mutex_);
  std::vector<Object> out;
  if (const auto found = by_namespace_.find(ns); found != by_namespace_.end()) {
    for (const auto& key : found->second) out.push_back(objects_.at(key));
  }
  return out;
}

std::vector<Object> ObjectCache::by_label(const std::string& key, const std::string& value) const {
  std::lock_guard lock(mutex_);
  std::vector<Object> out;
  if (const auto found = by_label_.find({key, value}); found != by_label_.end()) {
    for (const auto& k : found->second) out.push_back(objects_.at(k));
  }
  return out;
}

std::vector<Object> ObjectCache::select(const LabelSelector& selector, const std::string& ns) const {
  std::vector<Object> candidates = ns.empty() ? list() : by_namespace(ns);
  std::vector<Object> out;
  for (auto& object : candidates) {
    if (selector.matches(object)) out.push_back(std::move(object));
  }
  return out;
}

std::size_t ObjectCache::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::vector<std::string> ObjectCache::keys() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

void ObjectCache::unindex(const std::string& key, const Object& object) {
  const std::string ns = meta_string(object, "namespace");
  if (auto found = by_namespace_.find(ns); found != by_namespace_.end()) {
    found->second.erase(key);
    if (found->second.empty()) by_namespace_.erase(found);
  }
  for (const auto& label : labels_of(object)) {
    if (auto found = by_label_.find(label); found != by_label_.end()) {
      found->second.erase(key);
      if (found->second.empty()) by_label_.erase(found);
    }
  }
}

std::optional<Object> ObjectCache::upsert(const Object& object) {
  const std::string key = object_key(object);
  std::lock_guard lock(mutex_);
  std::optional<Object> previous;
  if (auto found = objects_.find(key); found != objects_.end()) {
    previous = std::move(found->second);
    unindex(key, *previous);
  }
  objects_[key] = object;
  by_namespace_[meta_string(object, "namespace")].insert(key);
  for (const auto& label : labels_of(object)) by_label_[label].insert(key);
  return previous;
}

std::optional<Object> ObjectCache::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found == objects_.end()) return std::nullopt;
  std::optional<Object> previous = std::move(found->second);
  objects_.erase(found);
  unindex(key, *previous);
  return previous;
}

// --- Informer ---------------------------------------------------------------------------------

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client), resource_(std::move(resource)), options_(std::move(options)) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  thread_ = std::thread([this] { run(); });
  if (options_.resync.count() > 0) resync_thread_ = std::thread([this] { resync_loop(); });
}

void Informer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  cancel_->cancel();  // ends a watch waiting for data; run() then sees stopping_
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::has_synced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return synced_ || stopping_; }) && synced_;
}

std::string Informer::last_resource_version() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

bool Informer::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

void Informer::dispatch_add(const Object& o) {
  for (const auto& h : handlers_) {
    if (h.on_add) h.on_add(o);
  }
}
void Informer::dispatch_update(const Object& a, const Object& b) {
  for (const auto& h : handlers_) {
    if (h.on_update) h.on_update(a, b);
  }
}
void Informer::dispatch_delete(const Object& o) {
  for (const auto& h : handlers_) {
    if (h.on_delete) h.on_delete(o);
  }
}

ApiResult<void> Informer::relist() {
  ++lists_;
  ListOptions list_options{.label_selector = options_.label_selector,
                           .field_selector = options_.field_selector,
                           .limit = options_.page_size};
  auto list = client_.list_all(resource_, options_.namespace_name, list_options);
  if (!list) return unexpected(list.error());
  std::lock_guard dispatch(dispatch_mutex_);
  std::set<std::string> present;
  for (const auto& object : list->items) {
    present.insert(object_key(object));
    auto previous = cache_.upsert(object);
    if (!previous) {
      dispatch_add(object);
    } else if (resource_version(*previous) != resource_version(object)) {
      dispatch_update(*previous, object);
    }
  }
  for (const auto& key : cache_.keys()) {
    if (present.count(key) == 0) {
      if (auto gone = cache_.erase(key)) dispatch_delete(*gone);
    }
  }
  std::lock_guard lock(mutex_);
  resource_version_ = list->resource_version;
  synced_ = true;
  cv_.notify_all();
  return {};
}

void Informer::apply(WatchEvent& event) {
  const std::string rv = resource_version(event.object);
  if (event.type != WatchEventType::bookmark) {
    std::lock_guard dispatch(dispatch_mutex_);
    const std::string key = object_key(event.object);
    if (event.type == WatchEventType::deleted) {
      if (auto previous = cache_.erase(key)) dispatch_delete(event.object);
    } else {
      const auto cached = cache_.get(key);
      if (!cached || resource_version(*cached) != rv) {
        auto previous = cache_.upsert(event.object);
        if (previous) dispatch_update(*previous, event.object);
        else dispatch_add(event.object);
      }
    }
  }
  if (!rv.empty()) {
    std::lock_guard lock(mutex_);
    resource_version_ = rv;
  }
}

void Informer::run() {
  std::mt19937_64 rng(std::random_device{}());
  bool need_list = true;
  int failures = 0;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (need_list) {
      if (auto listed = relist(); !listed) {
        if (!sleep_for(options_.backoff.delay(failures++, rng))) return;
        continue;
      }
      need_list = false;
      failures = 0;
    }
    WatchOptions watch = options_.watch;
    watch.resource_version = last_resource_version();
    watch.label_selector = options_.label_selector;
    watch.field_selector = options_.field_selector;
    watch.cancel = cancel_;
    ++watches_;
    bool stopped = false;
    auto watched = client_.watch(resource_, options_.namespace_name, watch, [&](WatchEvent& event) {
      apply(event);
      std::lock_guard lock(mutex_);
      stopped = stopping_;
      return !stopped;
    });
    if (stopped) return;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // the watch was cancelled by stop()
    }
    if (watched) {
      failures = 0;  // the server ended the watch (timeoutSeconds): resume at once
      continue;
    }
    if (watched.error().gone()) {
      need_list = true;  // our version fell out of the server's window
      continue;
    }
    // Connection dropped, 5xx, 429, ...: resume from the last version after a backoff.
    if (!sleep_for(options_.backoff.delay(failures++, rng))) return;
  }
}

void Informer::resync_loop() {
  while (sleep_for(options_.resync)) {
    if (!has_synced()) continue;
    std::lock_guard dispatch(dispatch_mutex_);
    for (const auto& object : cache_.list()) dispatch_update(object, object);
  }
}

}  // namespace ebb::kube
