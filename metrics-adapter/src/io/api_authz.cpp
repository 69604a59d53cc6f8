// Authorization of the external metrics API: what a request asks (as kube-apiserver's
// RequestInfo resolver names it) and the SubjectAccessReview authorizer with its answer cache.
#include <atomic>
#include <list>
#include <unordered_map>

#include "ebb/adapter/external_metrics_api.h"
#include "ebb/strings.h"

namespace ebb::adapter {

namespace {

std::vector<std::string> path_parts(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool truthy(std::string_view value) {
  return value == "true" || value == "1" || value == "True" || value == "TRUE";
}

}  // namespace

RequestAttributes request_attributes(const net::ServerRequest& request) {
  RequestAttributes a;
  a.path = request.path;
  a.verb = to_lower(request.method);

  std::vector<std::string> parts = path_parts(request.path);
  // Resource requests are /api/<version>/... and /apis/<group>/<version>/<something>; shorter
  // paths (discovery) and everything else are non-resource requests.
  if (parts.size() < 3 || (parts[0] != "api" && parts[0] != "apis")) return a;
  std::size_t i = 1;
  std::string group;
  if (parts[0] == "apis") {
    if (parts.size() < 4) return a;
    group = parts[i++];
  }
  RequestAttributes r;
  r.path = request.path;
  r.resource_request = true;
  r.group = group;
  r.version = parts[i++];
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());

  if (!rest.empty() && (rest[0] == "watch" || rest[0] == "proxy")) {
    if (rest.size() < 2) return a;  // a bare /watch is no resource
    r.verb = rest[0];
    rest.erase(rest.begin());
  } else if (request.method == "GET" || request.method == "HEAD") {
    r.verb = "get";
  } else if (request.method == "POST") {
    r.verb = "create";
  } else if (request.method == "PUT") {
    r.verb = "update";
  } else if (request.method == "PATCH") {
    r.verb = "patch";
  } else if (request.method == "DELETE") {
    r.verb = "delete";
  } else {
    r.verb = "";
  }

  if (!rest.empty() && rest[0] == "namespaces") {
    if (rest.size() > 1) {
      r.ns = rest[1];
      // namespaces/{ns}/{resource}/...: the resource is what follows, unless it is one of the
      // namespace's own subresources.
      if (rest.size() > 2 && rest[2] != "status" && rest[2] != "finalize")
        rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (!rest.empty()) r.resource = rest[0];
  if (rest.size() >= 2) r.name = rest[1];
  if (r.name.empty() && r.verb == "get")
    r.verb = truthy(request.query_value("watch")) ? "watch" : "list";
  if (r.name.empty() && r.verb == "delete") r.verb = "deletecollection";
  return r;
}

// --- SubjectAccessReviewAuthorizer -------------------------------------------------------------

struct SubjectAccessReviewAuthorizer::Impl {
  kube::Client& client;
  SubjectAccessReviewOptions options;
  std::atomic<std::size_t> sent{0};

  using Clock = std::chrono::steady_clock;
  struct Entry {
    bool allowed;
    Clock::time_point expires;
    std::list<std::string>::iterator order;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Entry> cache;
  std::list<std::string> order;  // oldest first: evicted first when the cache is full

  Impl(kube::Client& c, SubjectAccessReviewOptions o) : client(c), options(o) {}

  std::optional<bool> lookup(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it == cache.end()) return std::nullopt;
    if (Clock::now() >= it->second.expires) {
      order.erase(it->second.order);
      cache.erase(it);
      return std::nullopt;
    }
    return it->second.allowed;
  }

  void store(const std::string& key, bool allowed) {
    const auto ttl = allowed ? options.allowed_ttl : options.denied_ttl;
    if (ttl <= std::chrono::milliseconds::zero() || options.max_entries == 0) return;
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) {
      order.erase(it->second.order);
      cache.erase(it);
    }
    while (cache.size() >= options.max_entries && !order.empty()) {
      cache.erase(order.front());
      order.pop_front();
    }
    order.push_back(key);
    cache.emplace(key, Entry{allowed, Clock::now() + ttl, std::prev(order.end())});
  }
};

SubjectAccessReviewAuthorizer::SubjectAccessReviewAuthorizer(kube::Client& client,
                                                             SubjectAccessReviewOptions options)
    : impl_(std::make_shared<Impl>(client, options)) {}

std::size_t SubjectAccessReviewAuthorizer::reviews_sent() const {
  return impl_->sent.load();
}

Result<bool> SubjectAccessReviewAuthorizer::authorize(const UserInfo& user,
                                                      const RequestAttributes& attributes) {
  // Every field that reaches the review is part of the key, each length-prefixed so that no
  // choice of values makes two different questions one key.
  std::string key;
  append_key_field(key, user.name);
  append_key_field(key, std::to_string(user.groups.size()));
  for (const auto& g : user.groups) append_key_field(key, g);
  append_key_field(key, std::to_string(user.extra.size()));
  for (const auto& [k, values] : user.extra) {
    append_key_field(key, k);
    append_key_field(key, std::to_string(values.size()));
    for (const auto& v : values) append_key_field(key, v);
  }
  append_key_field(key, attributes.resource_request ? "r" : "n");
  append_key_field(key, attributes.verb);
  if (attributes.resource_request) {
    for (const auto* f : {&attributes.group, &attributes.version, &attributes.resource,
                          &attributes.ns, &attributes.name}) {
      append_key_field(key, *f);
    }
  } else {
    append_key_field(key, attributes.path);
  }

  if (auto cached = impl_->lookup(key)) return *cached;

  kube::Object spec = {{"user", user.name}};
  if (!user.groups.empty()) spec["groups"] = user.groups;
  if (!user.extra.empty()) {
    kube::Object extra = kube::Object::object();
    for (const auto& [k, values] : user.extra) extra[k] = values;
    spec["extra"] = extra;
  }
  if (attributes.resource_request) {
    kube::Object ra = {{"verb", attributes.verb},
                       {"group", attributes.group},
                       {"version", attributes.version},
                       {"resource", attributes.resource}};
    if (!attributes.ns.empty()) ra["namespace"] = attributes.ns;
    if (!attributes.name.empty()) ra["name"] = attributes.name;
    spec["resourceAttributes"] = ra;
  } else {
    spec["nonResourceAttributes"] = {{"path", attributes.path}, {"verb", attributes.verb}};
  }
  kube::Object review = {{"apiVersion", "authorization.k8s.io/v1"},
                         {"kind", "SubjectAccessReview"},
                         {"metadata", kube::Object::object()},
                         {"spec", spec}};
  static const kube::Resource kReviews{.group = "authorization.k8s.io",
                                       .version = "v1",
                                       .resource = "subjectaccessreviews",
                                       .kind = "SubjectAccessReview",
                                       .namespaced = false,
                                       .subresources = {}};
  impl_->sent.fetch_add(1);
  auto answer = impl_->client.create(kReviews, review);
  if (!answer) {
    return fail("SubjectAccessReview for user " + ebb::quoted(user.name) +
                    " failed: " + answer.error().message,
                answer.error().transient || answer.error().transport());
  }
  const kube::Object& status =
      answer.value().contains("status") ? answer.value().at("status") : kube::Object();
  if (!status.is_object())
    return fail("SubjectAccessReview for user " + ebb::quoted(user.name) +
                ": no status in the answer");
  const bool allowed = status.value("allowed", false) && !status.value("denied", false);
  impl_->store(key, allowed);
  return allowed;
}

}  // namespace ebb::adapter
