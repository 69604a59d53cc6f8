#include "ebb/kube/informer.h"

#include <charconv>
#include <chrono>
#include <optional>
#include <random>
#include <utility>

#include "text_packer.h"

namespace ebb::kube {

// --- ObjectCache ------------------------------------------------------------------------------

namespace {

// The namespace part of a cache key ("ns/name"; a cluster-scoped key has none).
std::string_view namespace_of_key(std::string_view key) {
  const auto slash = key.find('/');
  return slash == std::string_view::npos ? std::string_view() : key.substr(0, slash);
}

}  // namespace

ObjectCache::ObjectCache() : packer_(std::make_unique<detail::TextPacker>()) {}
ObjectCache::~ObjectCache() = default;

Object ObjectCache::unpack(const std::string& packed) const {
  return Object::parse(packer_->unpack(packed));
}

ObjectPtr ObjectCache::parse(const Entry& entry) const {
  if (auto held = entry.parsed.lock()) return held;
  return std::make_shared<const Object>(unpack(entry.text));
}

void ObjectCache::add_index(const std::string& name, IndexFunc func) {
  std::lock_guard lock(mutex_);
  auto& index = indexes_[name];
  for (auto& item : objects_) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& key = item.first;
    Entry& entry = item.second;
    // A second add_index of the same name replaces the first.
    std::erase_if(entry.filed, [&](const Filing& f) {
      if (f.index != &index) return false;
      index.filed.erase(f.at);
      return true;
    });
    file(index, func(unpack(entry.text)), key, entry);
  }
  index.func = std::move(func);
}

void ObjectCache::file(Index& index, std::vector<std::string> values, std::string_view key,
                       Entry& entry) {
  for (auto& value : values) {
    // An index function that names a value twice files the object once.
    auto [at, added] = index.filed.insert(Filed{std::move(value), key});
    if (added) entry.filed.push_back(Filing{&index, at});
  }
}

ObjectPtr ObjectCache::find(const std::string& key) const {
  std::string text;
  std::uint64_t version = 0;
  {
    std::lock_guard lock(mutex_);
    const auto found = objects_.find(key);
    if (found == objects_.end()) return nullptr;
    if (auto held = found->second.parsed.lock()) return held;
    text = found->second.text;
    version = found->second.version;
  }
  // Parsing takes far longer than copying the text: other readers and the informer go on.
  ObjectPtr object = std::make_shared<const Object>(unpack(text));
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found != objects_.end() && found->second.version == version) {
    if (auto held = found->second.parsed.lock()) return held;  // another reader was first
    found->second.parsed = object;
  }
  return object;
}

std::string ObjectCache::resource_version_of(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  return found == objects_.end() ? std::string() : found->second.resource_version;
}

bool ObjectCache::contains(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return objects_.count(key) > 0;
}

std::vector<ObjectPtr> ObjectCache::all() const {
  std::lock_guard lock(mutex_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, entry] : objects_) out.push_back(parse(entry));
  return out;
}

std::vector<ObjectPtr> ObjectCache::in_namespace(const std::string& ns) const {
  std::lock_guard lock(mutex_);
  std::vector<ObjectPtr> out;
  const auto size = namespace_sizes_.find(ns);
  if (size == namespace_sizes_.end()) return out;
  out.reserve(size->second);
  if (ns.empty()) {  // cluster-scoped keys have no slash and no range of their own
    for (const auto& [key, entry] : objects_)
      if (key.find('/') == std::string::npos) out.push_back(parse(entry));
    return out;
  }
  // Keys are "<namespace>/<name>" in a map ordered by key: a namespace's keys are the range that
  // starts with "<namespace>/".
  const std::string prefix = ns + "/";
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it)
    out.push_back(parse(it->second));
  return out;
}

std::vector<std::string> ObjectCache::indexed_keys(const std::string& index, const std::string& value) const {
  std::lock_guard lock(mutex_);
  const auto found = indexes_.find(index);
  if (found == indexes_.end()) return {};
  std::vector<std::string> out;
  const auto [first, last] = found->second.filed.equal_range(std::string_view(value));
  for (auto it = first; it != last; ++it) out.emplace_back(it->key);
  return out;
}

std::vector<ObjectPtr> ObjectCache::indexed(const std::string& index, const std::string& value) const {
  std::vector<ObjectPtr> out;
  for (const auto& key : indexed_keys(index, value))
    if (auto object = find(key)) out.push_back(std::move(object));
  return out;
}

std::map<std::string, std::size_t> ObjectCache::index_counts(const std::string& index) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::size_t> out;
  if (const auto found = indexes_.find(index); found != indexes_.end())
    for (const auto& f : found->second.filed) {  // in value order: each value once, at the end
      if (!out.empty() && std::prev(out.end())->first == f.value)
        ++std::prev(out.end())->second;
      else
        out.emplace_hint(out.end(), f.value, 1);
    }
  return out;
}

std::map<std::string, std::size_t> ObjectCache::namespace_counts() const {
  std::lock_guard lock(mutex_);
  return {namespace_sizes_.begin(), namespace_sizes_.end()};
}

std::optional<Object> ObjectCache::get(const std::string& key) const {
  auto object = find(key);
  if (!object) return std::nullopt;
  return *object;
}

std::vector<Object> ObjectCache::list() const {
  std::vector<Object> out;
  for (const auto& object : all()) out.push_back(*object);
  return out;
}

std::vector<Object> ObjectCache::by_namespace(const std::string& ns) const {
  std::vector<Object> out;
  for (const auto& object : in_namespace(ns)) out.push_back(*object);
  return out;
}

std::vector<Object> ObjectCache::select(const LabelSelector& selector, const std::string& ns) const {
  std::vector<Object> out;
  for (const auto& object : ns.empty() ? all() : in_namespace(ns))
    if (selector.matches(*object)) out.push_back(*object);
  return out;
}

std::size_t ObjectCache::stored_bytes() const {
  std::lock_guard lock(mutex_);
  return stored_bytes_;
}

std::size_t ObjectCache::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::vector<std::string> ObjectCache::keys() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, entry] : objects_) out.push_back(key);
  return out;
}

void ObjectCache::unindex(std::string_view key, Entry& entry) {
  if (auto found = namespace_sizes_.find(namespace_of_key(key)); found != namespace_sizes_.end())
    if (--found->second == 0) namespace_sizes_.erase(found);
  for (const auto& f : entry.filed) f.index->filed.erase(f.at);
  entry.filed.clear();
}

ObjectPtr ObjectCache::upsert(const Object& object) {
  const std::string key = object_key(object);
  Entry entry;
  entry.text = packer_->pack(object.dump(-1, ' ', false, Object::error_handler_t::replace));
  entry.resource_version = resource_version(object);
  std::optional<Entry> replaced;
  {
    std::lock_guard lock(mutex_);
    entry.version = ++upserts_;
    const std::size_t bytes = entry.text.size();
    auto found = objects_.find(key);
    if (found != objects_.end()) {
      unindex(found->first, found->second);
      stored_bytes_ -= found->second.text.size();
      replaced = std::exchange(found->second, std::move(entry));
    } else {
      found = objects_.emplace(key, std::move(entry)).first;
    }
    stored_bytes_ += bytes;
    // Filed after unindex, which dropped the old entry's filings (the same values among them),
    // under the map's own key: the indexes hold views of it.
    const std::string_view stored_key = found->first;
    const std::string_view ns = namespace_of_key(stored_key);
    auto in_ns = namespace_sizes_.find(ns);
    if (in_ns == namespace_sizes_.end()) in_ns = namespace_sizes_.emplace(std::string(ns), 0).first;
    ++in_ns->second;
    for (auto& [name, index] : indexes_) file(index, index.func(object), stored_key, found->second);
  }
  // The previous object is parsed (when no reader holds it) after the lock: readers go on.
  return replaced ? parse(*replaced) : nullptr;
}

ObjectPtr ObjectCache::erase(const std::string& key) {
  std::optional<Entry> removed;
  {
    std::lock_guard lock(mutex_);
    const auto found = objects_.find(key);
    if (found == objects_.end()) return nullptr;
    unindex(found->first, found->second);
    stored_bytes_ -= found->second.text.size();
    removed = std::move(found->second);
    objects_.erase(found);
  }
  return parse(*removed);
}

// --- CacheView --------------------------------------------------------------------------------

ObjectPtr CacheView::find(const std::string& key) const {
  for (const auto* part : parts_)
    if (auto object = part->find(key)) return object;
  return nullptr;
}

std::vector<ObjectPtr> CacheView::all() const {
  std::vector<ObjectPtr> out;
  for (const auto* part : parts_) {
    auto some = part->all();
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::vector<ObjectPtr> CacheView::in_namespace(const std::string& ns) const {
  std::vector<ObjectPtr> out;
  for (const auto* part : parts_) {
    auto some = part->in_namespace(ns);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::vector<ObjectPtr> CacheView::indexed(const std::string& index, const std::string& value) const {
  std::vector<ObjectPtr> out;
  for (const auto* part : parts_) {
    auto some = part->indexed(index, value);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::vector<std::string> CacheView::indexed_keys(const std::string& index, const std::string& value) const {
  std::vector<std::string> out;
  for (const auto* part : parts_) {
    auto some = part->indexed_keys(index, value);
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::map<std::string, std::size_t> CacheView::index_counts(const std::string& index) const {
  std::map<std::string, std::size_t> out;
  for (const auto* part : parts_)
    for (const auto& [value, n] : part->index_counts(index)) out[value] += n;
  return out;
}

std::map<std::string, std::size_t> CacheView::namespace_counts() const {
  std::map<std::string, std::size_t> out;
  for (const auto* part : parts_)
    for (const auto& [ns, n] : part->namespace_counts()) out[ns] += n;
  return out;
}

std::vector<std::string> CacheView::keys() const {
  std::vector<std::string> out;
  for (const auto* part : parts_) {
    auto some = part->keys();
    out.insert(out.end(), some.begin(), some.end());
  }
  return out;
}

std::size_t CacheView::size() const {
  std::size_t n = 0;
  for (const auto* part : parts_) n += part->size();
  return n;
}

void strip_bookkeeping(Object& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return;
  meta->erase("managedFields");
  if (auto annotations = meta->find("annotations"); annotations != meta->end() && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (annotations->empty()) meta->erase(annotations);
  }
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
  auto list = [&]() -> ApiResult<ObjectList> {
    if (!has_synced()) {
      // The first list, as client-go's reflector makes it: resourceVersion=0 lets the API
      // server answer from its watch cache instead of a quorum read of etcd (4x faster for
      // 10,000 ScaledObjects on a 1.26 server), and a process that never saw the objects cannot
      // see them go back in time. The server then ignores limit and answers at once; any
      // failure (a response above the client's size limit among them) falls back to the paged
      // read. A relist (after 410 Gone) is always that consistent read.
      ListOptions cached = list_options;
      cached.resource_version = "0";
      if (auto got = client_.list_all(resource_, options_.namespace_name, cached)) return got;
    }
    return client_.list_all(resource_, options_.namespace_name, list_options);
  }();
  if (!list) return unexpected(list.error());
  std::lock_guard dispatch(dispatch_mutex_);
  std::set<std::string> present;
  for (auto& object : list->items) {
    if (options_.transform) options_.transform(object);
    const std::string key = object_key(object);
    present.insert(key);
    if (cache_.resource_version_of(key) == resource_version(object) && cache_.contains(key)) continue;
    auto previous = cache_.upsert(object);
    if (!previous) {
      dispatch_add(object);
    } else {
      dispatch_update(*previous, object);
    }
  }
  list->items.clear();
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
    if (options_.transform) options_.transform(event.object);
    const std::string key = object_key(event.object);
    if (event.type == WatchEventType::deleted) {
      if (auto previous = cache_.erase(key)) dispatch_delete(event.object);
    } else {
      if (!cache_.contains(key) || cache_.resource_version_of(key) != rv) {
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
  // After a failed or early-ended watch: is the server's history still ours?
  bool probe_owed = false;
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
      probe_owed = false;  // a relist reads the server as it is now
      failures = 0;
    }
    WatchOptions watch = options_.watch;
    watch.resource_version = last_resource_version();
    watch.label_selector = options_.label_selector;
    watch.field_selector = options_.field_selector;
    watch.cancel = cancel_;
    // The history check runs once the watch is open, not before it: only then is it certain
    // which server holds the watch. Asked before, the old server may answer in its last moments
    // and the watch reach its replacement. Asked now, a fresh request reaches the server that
    // holds the address now, or a later one; the events wait unread meanwhile.
    enum class Check { none, passed, went_back, no_answer } check = Check::none;
    if (probe_owed) {
      watch.on_open = [&] {
        const auto went_back = server_went_back();
        check = !went_back ? Check::no_answer : *went_back ? Check::went_back : Check::passed;
        return check == Check::passed;
      };
    }
    ++watches_;
    const auto watch_began = std::chrono::steady_clock::now();
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
    if (check == Check::went_back) {
      need_list = true;
      continue;
    }
    if (check == Check::no_answer) {  // the server is still starting: ask again, not resume
      if (!sleep_for(options_.backoff.delay(failures++, rng))) return;
      continue;
    }
    if (watched) {
      // The server ended the watch: resume at once. At its timeoutSeconds that is routine. Before
      // it, the server ended it for a reason of its own, most often a shutdown (kube-apiserver and
      // the test server close their watches cleanly when they stop), and the resumed watch may
      // reach whatever replaced it: check its history, as after a failed watch. We started timing
      // before the server did, so a watch the server ran to its timeout never looks early.
      // Without a timeout of ours the server picked one (30 to 60 minutes): always check.
      failures = 0;
      probe_owed = watch.timeout.count() <= 0 ||
                   std::chrono::steady_clock::now() - watch_began < watch.timeout;
      continue;
    }
    if (watched.error().gone() || watched.error().too_large_resource_version()) {
      need_list = true;  // our version fell out of the server's window, or is ahead of it
      continue;
    }
    // Connection dropped, 5xx, 429, ...: resume from the last version after a backoff, unless
    // the server came back with less history than we saw.
    if (!sleep_for(options_.backoff.delay(failures++, rng))) return;
    probe_owed = true;
  }
}

// After a failed or early-ended watch the server may be a different one: restarted empty, or on
// an etcd restored from a backup. Its resourceVersions then start below ours, and a watch resumed
// from ours is accepted and stays silent until the server's history passes it (kube-apiserver
// only refuses a too-new version on lists and gets). One cheap list (limit 1, no resourceVersion:
// the server's current version) tells: lower than ours means relist. resourceVersions are opaque by
// contract; this only compares the decimal integers every etcd-backed server hands out, and
// treats anything else as "no evidence" (the watch resumes as before); nullopt when the list
// failed. No selectors: they do not change the version returned, and on servers that page
// through etcd for a selector (before 1.31's list from the watch cache) one that matches nothing
// would make the small list a scan.
std::optional<bool> Informer::server_went_back() {
  const std::string ours = last_resource_version();
  const auto as_number = [](const std::string& rv) -> std::optional<std::uint64_t> {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
    if (rv.empty() || ec != std::errc{} || end != rv.data() + rv.size()) return std::nullopt;
    return n;
  };
  const auto mine = as_number(ours);
  if (!mine) return false;
  auto current = client_.list(resource_, options_.namespace_name, ListOptions{.limit = 1});
  if (!current) return std::nullopt;
  const auto theirs = as_number(current->resource_version);
  return theirs && *theirs < *mine;
}

void Informer::resync_loop() {
  while (sleep_for(options_.resync)) {
    if (!has_synced()) continue;
    std::lock_guard dispatch(dispatch_mutex_);
    for (const auto& object : cache_.all()) dispatch_update(*object, *object);
  }
}

}  // namespace ebb::kube
