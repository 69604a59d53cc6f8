#include "ebb/kube/client.h"

#include "ebb/strings.h"

namespace ebb::kube {

std::string_view content_type(PatchType type) {
  switch (type) {
    case PatchType::merge: return "application/merge-patch+json";
    case PatchType::json: return "application/json-patch+json";
    case PatchType::strategic_merge: return "application/strategic-merge-patch+json";
    case PatchType::apply: return "application/apply-patch+yaml";  // JSON is YAML
  }
  return "application/json";
}

std::string_view to_string(WatchEventType type) {
  switch (type) {
    case WatchEventType::added: return "ADDED";
    case WatchEventType::modified: return "MODIFIED";
    case WatchEventType::deleted: return "DELETED";
    case WatchEventType::bookmark: return "BOOKMARK";
    case WatchEventType::error: return "ERROR";
  }
  return "?";
}

Result<void> WatchDecoder::feed(std::string_view data, std::vector<WatchEvent>& out) {
  buffer_.append(data);
  std::size_t start = 0;
  Result<void> result;
  while (true) {
    const auto newline = buffer_.find('\n', start);
    if (newline == std::string::npos) break;
    const std::string_view line = trim(std::string_view(buffer_).substr(start, newline - start));
    start = newline + 1;
    if (line.empty()) continue;
    auto parsed = Object::parse(line, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("type") || !parsed["type"].is_string()) {
      result = fail("malformed watch event: " + std::string(line.substr(0, 120)));
      break;
    }
    const std::string type = parsed["type"].get<std::string>();
    WatchEvent event;
    if (type == "ADDED") event.type = WatchEventType::added;
    else if (type == "MODIFIED") event.type = WatchEventType::modified;
    else if (type == "DELETED") event.type = WatchEventType::deleted;
    else if (type == "BOOKMARK") event.type = WatchEventType::bookmark;
    else if (type == "ERROR") event.type = WatchEventType::error;
    else {
      result = fail("unknown watch event type " + ebb::quoted(type));
      break;
    }
    event.object = std::move(parsed["object"]);
    out.push_back(std::move(event));
  }
  buffer_.erase(0, start);
  return result;
}

Client::Client(Config config, RestOptions options)
    : Client(std::make_shared<RestClient>(std::move(config), std::move(options))) {}

Client::Client(std::shared_ptr<RestClient> rest) : rest_(std::move(rest)), discovery_(*rest_) {}

ApiResult<Object> Client::send_json(const RestRequest& request) {
  auto response = rest_->call(request);
  if (!response) return unexpected(response.error());
  if (response->body.empty()) return Object::object();
  auto body = Object::parse(response->body, nullptr, false);
  if (body.is_discarded()) {
    return api_fail(response->status, "", request.method + " " + request.path + ": response is not JSON");
  }
  return body;
}

ApiResult<Object> Client::get(const Resource& resource, std::string_view ns, std::string_view name,
                              std::string_view subresource) {
  return send_json({.method = "GET", .path = resource_path(resource, ns, name, subresource)});
}

ApiResult<ObjectList> Client::list(const Resource& resource, std::string_view ns, const ListOptions& options) {
  RestRequest request{.method = "GET", .path = resource_path(resource, ns)};
  if (!options.label_selector.empty()) request.query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) request.query.emplace_back("fieldSelector", options.field_selector);
  if (options.limit > 0) request.query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) request.query.emplace_back("continue", options.continue_token);
  if (!options.resource_version.empty()) request.query.emplace_back("resourceVersion", options.resource_version);
  if (!options.resource_version_match.empty()) {
    request.query.emplace_back("resourceVersionMatch", options.resource_version_match);
  }
  auto body = send_json(request);
  if (!body) return unexpected(body.error());
  ObjectList list;
  if (const auto meta = body->find("metadata"); meta != body->end() && meta->is_object()) {
    list.resource_version = meta->value("resourceVersion", "");
    list.continue_token = meta->value("continue", "");
  }
  if (const auto items = body->find("items"); items != body->end() && items->is_array()) {
    // Items of a list carry no apiVersion/kind; fill them in so each stands alone in caches.
    for (auto& item : *items) {
      if (item.is_object()) {
        if (!item.contains("apiVersion")) item["apiVersion"] = resource.api_version();
        if (!item.contains("kind") && !resource.kind.empty()) item["kind"] = resource.kind;
      }
      list.items.push_back(std::move(item));
    }
  }
  return list;
}

ApiResult<ObjectList> Client::list_all(const Resource& resource, std::string_view ns, ListOptions options) {
  const ListOptions first = options;
  ObjectList all;
  bool restarted = false;
  while (true) {
    auto page = list(resource, ns, options);
    if (!page) {
      if (page.error().gone() && !options.continue_token.empty() && !restarted) {
        // The continue token outlived its snapshot: start a fresh, consistent list.
        restarted = true;
        options = first;
        all = {};
        continue;
      }
      return unexpected(page.error());
    }
    for (auto& item : page->items) all.items.push_back(std::move(item));
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) return all;
    options.continue_token = page->continue_token;
    // Later pages must come from the first page's snapshot, which the token encodes.
    options.resource_version.clear();
    options.resource_version_match.clear();
  }
}

namespace {
void add_write_query(RestRequest& request, const std::string& field_manager, bool dry_run) {
  if (!field_manager.empty()) request.query.emplace_back("fieldManager", field_manager);
  if (dry_run) request.query.emplace_back("dryRun", "All");
}
}  // namespace

ApiResult<Object> Client::write_object(const std::string& method, const Resource& resource, const Object& object,
                                       std::string_view subresource, const WriteOptions& options) {
  const std::string ns = meta_string(object, "namespace");
  const std::string name = meta_string(object, "name");
  if (resource.namespaced && ns.empty()) {
    return api_fail(0, "Invalid", method + " " + resource.resource + ": metadata.namespace is required");
  }
  if (method != "POST" && name.empty()) {
    return api_fail(0, "Invalid", method + " " + resource.resource + ": metadata.name is required");
  }
  RestRequest request{.method = method,
                      .path = method == "POST" ? resource_path(resource, ns) : resource_path(resource, ns, name, subresource),
                      .body = {}};
  Object body = object;
  if (!body.contains("apiVersion")) body["apiVersion"] = resource.api_version();
  if (!body.contains("kind") && !resource.kind.empty()) body["kind"] = resource.kind;
  request.body = body.dump();
  add_write_query(request, options.field_manager, options.dry_run);
  return send_json(request);
}

ApiResult<Object> Client::create(const Resource& resource, const Object& object, const WriteOptions& options) {
  return write_object("POST", resource, object, {}, options);
}

ApiResult<Object> Client::update(const Resource& resource, const Object& object, const WriteOptions& options) {
  return write_object("PUT", resource, object, {}, options);
}

ApiResult<Object> Client::update_status(const Resource& resource, const Object& object, const WriteOptions& options) {
  return write_object("PUT", resource, object, "status", options);
}

ApiResult<Object> Client::patch(const Resource& resource, std::string_view ns, std::string_view name, PatchType type,
                                const Object& patch, const PatchOptions& options) {
  RestRequest request{.method = "PATCH", .path = resource_path(resource, ns, name, options.subresource),
                      .body = patch.dump(), .content_type = std::string(content_type(type))};
  if (type == PatchType::apply) {
    if (options.field_manager.empty()) {
      return api_fail(0, "Invalid", "PATCH " + request.path + ": server-side apply needs a field manager");
    }
    if (options.force) request.query.emplace_back("force", "true");
  }
  add_write_query(request, options.field_manager, options.dry_run);
  return send_json(request);
}

ApiResult<Object> Client::apply(const Resource& resource, const Object& object, const std::string& field_manager,
                                bool force, std::string_view subresource) {
  Object body = object;
  if (!body.contains("apiVersion")) body["apiVersion"] = resource.api_version();
  if (!body.contains("kind")) body["kind"] = resource.kind;
  PatchOptions options{.field_manager = field_manager, .force = force, .subresource = std::string(subresource)};
  return patch(resource, meta_string(object, "namespace"), meta_string(object, "name"), PatchType::apply, body,
               options);
}

ApiResult<Object> Client::remove(const Resource& resource, std::string_view ns, std::string_view name,
                                 const DeleteOptions& options) {
  Object body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (options.dry_run) body["dryRun"] = Object::array({"All"});
  return send_json({.method = "DELETE", .path = resource_path(resource, ns, name), .body = body.dump()});
}

namespace {
Scale to_scale(Object raw) {
  Scale scale;
  if (const auto spec = raw.find("spec"); spec != raw.end() && spec->is_object()) {
    scale.replicas = spec->value("replicas", 0);
  }
  if (const auto status = raw.find("status"); status != raw.end() && status->is_object()) {
    scale.status_replicas = status->value("replicas", 0);
    scale.selector = status->value("selector", "");
  }
  scale.resource_version = resource_version(raw);
  scale.raw = std::move(raw);
  return scale;
}
}  // namespace

ApiResult<Scale> Client::get_scale(const Resource& resource, std::string_view ns, std::string_view name) {
  auto raw = get(resource, ns, name, "scale");
  if (!raw) return unexpected(raw.error());
  return to_scale(std::move(*raw));
}

ApiResult<Scale> Client::update_scale(const Resource& resource, std::string_view ns, std::string_view name,
                                      std::int32_t replicas, const std::string& resource_version) {
  Object body = {{"apiVersion", "autoscaling/v1"},
                 {"kind", "Scale"},
                 {"metadata", {{"name", name}}},
                 {"spec", {{"replicas", replicas}}}};
  if (resource.namespaced) body["metadata"]["namespace"] = ns;
  if (!resource_version.empty()) body["metadata"]["resourceVersion"] = resource_version;
  auto raw = send_json({.method = "PUT", .path = resource_path(resource, ns, name, "scale"), .body = body.dump()});
  if (!raw) return unexpected(raw.error());
  return to_scale(std::move(*raw));
}

ApiResult<Scale> Client::patch_scale(const Resource& resource, std::string_view ns, std::string_view name,
                                     std::int32_t replicas) {
  auto raw = patch(resource, ns, name, PatchType::merge, {{"spec", {{"replicas", replicas}}}},
                   PatchOptions{.subresource = "scale"});
  if (!raw) return unexpected(raw.error());
  return to_scale(std::move(*raw));
}

ApiResult<void> Client::watch(const Resource& resource, std::string_view ns, const WatchOptions& options,
                              const std::function<bool(WatchEvent&)>& on_event) {
  RestRequest request{.method = "GET", .path = resource_path(resource, ns)};
  request.query.emplace_back("watch", "true");
  if (!options.resource_version.empty()) request.query.emplace_back("resourceVersion", options.resource_version);
  if (!options.label_selector.empty()) request.query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) request.query.emplace_back("fieldSelector", options.field_selector);
  if (options.allow_bookmarks) request.query.emplace_back("allowWatchBookmarks", "true");
  if (options.timeout.count() > 0) request.query.emplace_back("timeoutSeconds", std::to_string(options.timeout.count()));
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  std::optional<ApiError> failure;
  const auto on_data = [&](std::string_view data) {
    events.clear();
    auto decoded = decoder.feed(data, events);
    for (auto& event : events) {
      if (event.type == WatchEventType::error) {
        failure = error_from_response("watch " + request.path, 200, event.object.dump());
        if (failure->code == 200) failure->code = 500;  // an ERROR without a code is still an error
        return false;
      }
      if (!on_event(event)) return false;
    }
    if (!decoded) {
      failure = ApiError{0, "", "watch " + request.path + ": " + decoded.error().message, true};
      return false;
    }
    return true;
  };
  auto streamed =
      rest_->stream(request, options.idle_timeout, on_data, options.cancel, options.on_open);
  if (failure) return unexpected(*failure);
  return streamed;
}

ApiResult<Object> Client::read_modify_write(const Resource& resource, std::string_view ns, std::string_view name,
                                            const std::function<bool(Object&)>& mutate,
                                            const ReadModifyWriteOptions& options) {
  bool first = true;
  return retry_on_conflict<Object>(options.attempts, options.backoff, [&]() -> ApiResult<Object> {
    ApiResult<Object> current = first && options.start_from ? ApiResult<Object>(*options.start_from)
                                                           : get(resource, ns, name);
    first = false;
    if (!current) return current;
    Object desired = *current;
    if (!mutate(desired)) return current;
    // The read resourceVersion stays in metadata: the server rejects the write with 409 if
    // anyone wrote in between.
    desired["metadata"]["resourceVersion"] = resource_version(*current);
    return options.status ? update_status(resource, desired, options.write) : update(resource, desired, options.write);
  });
}

}  // namespace ebb::kube
