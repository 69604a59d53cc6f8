// Addressing: group/version/kind and group/version/resource, REST paths, object keys, and
// label selectors (parsed, matched, and rendered for the labelSelector query parameter).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/result.h"

namespace ebb::kube {

using Object = nlohmann::json;
// What caches hand out: an immutable object the reader may keep.
using ObjectPtr = std::shared_ptr<const Object>;

struct GroupVersion {
  std::string group, version;
  // "apps/v1" -> {apps, v1}; "v1" -> {"", v1}.
  static GroupVersion parse(std::string_view api_version);
  std::string str() const { return group.empty() ? version : group + "/" + version; }
  bool operator==(const GroupVersion&) const = default;
  auto operator<=>(const GroupVersion&) const = default;
};

struct GroupVersionKind {
  std::string group, version, kind;
  static GroupVersionKind of(const Object& object);  // from apiVersion + kind
  std::string api_version() const { return GroupVersion{group, version}.str(); }
  bool operator==(const GroupVersionKind&) const = default;
};

// A resource resolved far enough to address it: the plural name and whether it is namespaced.
struct Resource {
  std::string group, version, resource;  // resource: plural, lower case ("deployments")
  std::string kind;
  bool namespaced = true;
  std::vector<std::string> subresources;  // "status", "scale", ...

  std::string api_version() const { return GroupVersion{group, version}.str(); }
  bool has_subresource(std::string_view name) const;
  bool operator==(const Resource&) const = default;
};

// Well-known resources, so common calls need no discovery round trip.
namespace resources {
Resource namespaces();
Resource pods();
Resource configmaps();
Resource secrets();
Resource core_events();
Resource events();  // events.k8s.io/v1
Resource leases();  // coordination.k8s.io/v1
Resource deployments();
Resource statefulsets();
Resource jobs();  // batch/v1
Resource horizontal_pod_autoscalers();  // autoscaling/v2
Resource custom_resource_definitions();
}  // namespace resources

// "/api/v1/namespaces/ns/pods/name/status"; cluster-scoped resources ignore `ns`; an empty
// `ns` for a namespaced resource addresses all namespaces (list/watch).
std::string resource_path(const Resource& resource, std::string_view ns, std::string_view name = {},
                          std::string_view subresource = {});
// "namespace/name", or "name" for cluster-scoped objects: the key informers and queues use.
std::string object_key(const Object& object);
std::string object_key(std::string_view ns, std::string_view name);
std::pair<std::string, std::string> split_key(std::string_view key);  // {namespace, name}

// Small metadata accessors that tolerate missing fields.
std::string meta_string(const Object& object, const char* field);  // metadata.<field> as string
std::string resource_version(const Object& object);

// --- label selectors --------------------------------------------------------------------------

struct Requirement {
  enum class Op { equals, not_equals, in, not_in, exists, does_not_exist };
  std::string key;
  Op op = Op::equals;
  std::vector<std::string> values;
  bool matches(const std::map<std::string, std::string>& labels) const;
};

class LabelSelector {
 public:
  LabelSelector() = default;  // matches everything
  // Kubernetes selector syntax: "a=b,c!=d,e in (f,g),h notin (i),j,!k".
  static Result<LabelSelector> parse(std::string_view text);
  // metav1.LabelSelector {matchLabels, matchExpressions}.
  static Result<LabelSelector> from_json(const Object& selector);
  bool matches(const std::map<std::string, std::string>& labels) const;
  bool matches(const Object& object) const;  // by metadata.labels
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // Canonical text for the labelSelector query parameter.
  std::string str() const;

 private:
  std::vector<Requirement> requirements_;
};

std::map<std::string, std::string> labels_of(const Object& object);

}  // namespace ebb::kube
