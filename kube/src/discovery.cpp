#include "ebb/kube/discovery.h"

#include <algorithm>

#include "ebb/kube/rest.h"

namespace ebb::kube {

std::vector<Resource> parse_resource_list(const Object& list, const GroupVersion& gv) {
  std::vector<Resource> out;
  const auto items = list.find("resources");
  if (!list.is_object() || items == list.end() || !items->is_array()) return out;
  std::vector<std::pair<std::string, std::string>> subresources;  // parent, subresource
  for (const auto& item : *items) {
    if (!item.is_object()) continue;
    const std::string name = item.value("name", "");
    if (name.empty()) continue;
    if (const auto slash = name.find('/'); slash != std::string::npos) {
      subresources.emplace_back(name.substr(0, slash), name.substr(slash + 1));
      continue;
    }
    Resource r;
    // Some resources report their own group/version (e.g. aggregated APIs); default to the list's.
    r.group = item.value("group", gv.group);
    r.version = item.value("version", gv.version);
    if (r.group.empty() && !gv.group.empty()) r.group = gv.group;
    if (r.version.empty()) r.version = gv.version;
    r.resource = name;
    r.kind = item.value("kind", "");
    r.namespaced = item.value("namespaced", false);
    out.push_back(std::move(r));
  }
  for (const auto& [parent, sub] : subresources) {
    for (auto& r : out) {
      if (r.resource == parent) r.subresources.push_back(sub);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_preferred_versions(const Object& group_list) {
  std::map<std::string, std::string> out;
  const auto groups = group_list.find("groups");
  if (!group_list.is_object() || groups == group_list.end() || !groups->is_array()) return out;
  for (const auto& group : *groups) {
    const std::string name = group.value("name", "");
    std::string version;
    if (const auto preferred = group.find("preferredVersion"); preferred != group.end() && preferred->is_object()) {
      version = preferred->value("version", "");
    }
    if (version.empty()) {
      if (const auto versions = group.find("versions"); versions != group.end() && versions->is_array() &&
                                                         !versions->empty()) {
        version = versions->front().value("version", "");
      }
    }
    if (!name.empty() && !version.empty()) out[name] = version;
  }
  return out;
}

ApiResult<std::vector<Resource>> Discovery::group_version(const GroupVersion& gv, bool refresh) {
  {
    std::lock_guard lock(mutex_);
    if (!refresh) {
      if (const auto found = cache_.find(gv); found != cache_.end()) return found->second;
    }
  }
  const std::string path = gv.group.empty() ? "/api/" + gv.version : "/apis/" + gv.group + "/" + gv.version;
  auto response = rest_.call({.method = "GET", .path = path});
  if (!response) return unexpected(response.error());
  const auto body = Object::parse(response->body, nullptr, false);
  if (!body.is_object()) return api_fail(0, "", "GET " + path + ": discovery response is not a JSON object");
  auto parsed = parse_resource_list(body, gv);
  std::lock_guard lock(mutex_);
  cache_[gv] = parsed;
  return parsed;
}

template <class Pred>
ApiResult<Resource> Discovery::find(const GroupVersion& gv, const std::string& what, Pred&& pred) {
  for (const bool refresh : {false, true}) {
    auto list = group_version(gv, refresh);
    if (!list) {
      if (list.error().not_found()) break;  // the group/version itself is unknown
      return unexpected(list.error());
    }
    const auto found = std::find_if(list->begin(), list->end(), pred);
    if (found != list->end()) return *found;
  }
  return api_fail(404, "NotFound", "no resource for " + what + " in " + gv.str() + " (discovery)");
}

ApiResult<Resource> Discovery::resource_for(const GroupVersionKind& gvk) {
  if (gvk.version.empty()) return resource_for(gvk.group, gvk.kind);
  return find(GroupVersion{gvk.group, gvk.version}, "kind " + gvk.kind,
              [&](const Resource& r) { return r.kind == gvk.kind; });
}

ApiResult<Resource> Discovery::resource_named(const GroupVersion& gv, const std::string& resource) {
  return find(gv, "resource " + resource, [&](const Resource& r) { return r.resource == resource; });
}

ApiResult<Resource> Discovery::resource_for(const std::string& group, const std::string& kind) {
  if (group.empty()) return resource_for(GroupVersionKind{"", "v1", kind});
  for (const bool refresh : {false, true}) {
    std::string version;
    {
      std::lock_guard lock(mutex_);
      if (const auto found = preferred_.find(group); found != preferred_.end() && !refresh) version = found->second;
    }
    if (version.empty()) {
      auto response = rest_.call({.method = "GET", .path = "/apis"});
      if (!response) return unexpected(response.error());
      auto preferred = parse_preferred_versions(Object::parse(response->body, nullptr, false));
      std::lock_guard lock(mutex_);
      preferred_ = std::move(preferred);
      if (const auto found = preferred_.find(group); found != preferred_.end()) version = found->second;
    }
    if (!version.empty()) return resource_for(GroupVersionKind{group, version, kind});
  }
  return api_fail(404, "NotFound", "API group " + group + " is not served (discovery)");
}

void Discovery::invalidate() {
  std::lock_guard lock(mutex_);
  cache_.clear();
  preferred_.clear();
}

}  // namespace ebb::kube
