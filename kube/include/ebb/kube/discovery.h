// REST mapping through discovery: kind -> resource (plural, namespaced, subresources), so a
// scale target of any kind with a /scale subresource can be addressed. Results are cached per
// group/version; a miss refetches that group/version once (a CRD may have appeared since), and
// a kind without a version resolves through the group's preferred version from /apis.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ebb/kube/errors.h"
#include "ebb/kube/resource.h"

namespace ebb::kube {

class RestClient;

// Pure: the resources of one APIResourceList (the body of /api/v1 or /apis/<g>/<v>).
std::vector<Resource> parse_resource_list(const Object& list, const GroupVersion& gv);
// Pure: group -> preferred version from an APIGroupList (/apis); core "" -> v1 from /api.
std::map<std::string, std::string> parse_preferred_versions(const Object& group_list);

class Discovery {
 public:
  explicit Discovery(RestClient& rest) : rest_(rest) {}

  ApiResult<Resource> resource_for(const GroupVersionKind& gvk);
  // Version chosen by the server's preferred version for the group.
  ApiResult<Resource> resource_for(const std::string& group, const std::string& kind);
  // By plural name ("deployments") within a group/version.
  ApiResult<Resource> resource_named(const GroupVersion& gv, const std::string& resource);
  // For an object: by its apiVersion and kind.
  ApiResult<Resource> resource_of(const Object& object) { return resource_for(GroupVersionKind::of(object)); }

  void invalidate();

 private:
  ApiResult<std::vector<Resource>> group_version(const GroupVersion& gv, bool refresh);
  template <class Pred>
  ApiResult<Resource> find(const GroupVersion& gv, const std::string& what, Pred&& pred);

  RestClient& rest_;
  std::mutex mutex_;
  std::map<GroupVersion, std::vector<Resource>> cache_;
  std::map<std::string, std::string> preferred_;  // group -> version
};

}  // namespace ebb::kube
