// The storage and semantics engine of the test API server: resource registry (discovery), object
// storage with kube-apiserver's metadata rules, selectors, paging, subresources, patches and the
// watch event log. Plain C++ (no Asio), so it is unit-tested without sockets and compiles fast.
// Every operation returns a Reply: a 2xx object or a Status body shaped like the real server's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema.h"

namespace ebb::testapi {

using json = nlohmann::json;

struct ResourceInfo {
  std::string group;    // "" for core
  std::string version;  // the served (preferred) version
  std::vector<std::string> versions;  // every served version, preferred first
  std::string plural, singular, kind, list_kind;
  bool namespaced = true;
  std::vector<std::string> verbs{"create", "delete", "deletecollection", "get",
                                 "list",   "patch",  "update",           "watch"};
  std::vector<std::string> short_names, categories;
  bool has_status = false;      // status subresource: main writes ignore .status and vice versa
  bool has_scale = false;       // scale subresource (autoscaling/v1 Scale)
  bool has_generation = false;  // metadata.generation tracks spec changes
  bool custom = false;          // defined by a CRD: list items carry kind/apiVersion, RV required on PUT
  std::string spec_replicas_path = ".spec.replicas";
  std::string status_replicas_path = ".status.replicas";
  std::string label_selector_path;  // for Scale.status.selector; "" = none (deployments use spec.selector)
  bool selector_from_spec = false;  // Scale.status.selector from spec.selector (apps/v1)
  // CRDs: each served version's openAPIV3Schema; objects written through it are pruned,
  // defaulted and validated with it (schema.h). Shared: ResourceInfo is copied per request.
  std::map<std::string, std::shared_ptr<const json>> schemas;

  std::string api_version(const std::string& v) const { return group.empty() ? v : group + "/" + v; }
  // "deployments.apps" or "configmaps": how messages name the resource.
  std::string qualified() const { return group.empty() ? plural : plural + "." + group; }
};

// An HTTP status code and body: the object for 2xx, a Status otherwise.
struct Reply {
  int code = 200;
  json body;
  bool ok() const { return code < 400; }
};

// Builds a Status body the way kube-apiserver shapes them.
Reply status_error(int code, const std::string& reason, const std::string& message,
                   json details = nullptr);
Reply not_found(const ResourceInfo& r, const std::string& name);
Reply bad_request(const std::string& message);
Reply invalid(const ResourceInfo& r, const std::string& name,
              const std::vector<std::pair<std::string, std::string>>& causes /* field, message */);
// The same with each cause's reason given (FieldValueRequired, FieldValueNotSupported, ...).
Reply invalid_fields(const ResourceInfo& r, const std::string& name, const std::vector<FieldCause>& causes);

enum class Sub { Main, Status };

enum class PatchType { Merge, Json, Strategic, Apply };
std::optional<PatchType> patch_type_from_content_type(const std::string& content_type);

struct ListOptions {
  std::string label_selector, field_selector;
  std::int64_t limit = 0;
  std::string continue_token;
};

struct WatchOptions {
  std::string label_selector, field_selector;
  std::optional<std::string> resource_version;  // absent / "0": initial ADDED events for the current state
  bool bookmarks = false;
};

struct StoreOptions {
  // Watch events kept for resuming; a watch from an older resourceVersion gets 410 Gone.
  std::size_t watch_window = 1000;
  bool preregister_keda = false;  // serve keda.sh/v1alpha1 without creating its CRDs
  // Hook for a later issue: kube-system/extension-apiserver-authentication ConfigMap data.
  std::optional<json> extension_apiserver_authentication;
  std::function<std::chrono::system_clock::time_point()> clock;  // for tests; default system_clock
  // Write Deployment/StatefulSet status after each spec change, as kube-controller-manager does.
  bool workload_controllers = true;
};

// A watch: events for one resource (optionally one namespace) filtered by selectors.
class Store;
class Watch {
 public:
  // Waits until events are available, the deadline passes or the watch is closed. Returns the
  // event lines to send (each a {"type","object"} JSON), empty on a deadline. `closed()` is set
  // once nothing more will come (closed by the server, or an ERROR event was produced).
  std::vector<json> next(std::chrono::steady_clock::time_point deadline);
  bool closed() const { return closed_; }
  // A BOOKMARK event at the current resourceVersion (the caller decides when).
  json bookmark();
  const WatchOptions& options() const { return options_; }

 private:
  friend class Store;
  Store* store_ = nullptr;
  ResourceInfo info_;
  std::string version_, ns_;
  WatchOptions options_;
  std::uint64_t cursor_ = 0;  // last event RV delivered
  std::uint64_t close_generation_ = 0;
  std::vector<json> pending_;  // initial events
  bool closed_ = false;
  std::function<bool(const json&)> match_;
};

class Store {
 public:
  explicit Store(StoreOptions options = {});
  ~Store();

  // Registry.
  std::optional<ResourceInfo> find(const std::string& group, const std::string& version,
                                   const std::string& plural) const;
  std::vector<ResourceInfo> resources() const;
  void add_resource(ResourceInfo info);

  std::uint64_t resource_version() const;

  Reply create(const ResourceInfo& r, const std::string& version, const std::string& ns, json obj);
  Reply get(const ResourceInfo& r, const std::string& version, const std::string& ns,
            const std::string& name);
  Reply update(const ResourceInfo& r, const std::string& version, const std::string& ns,
               const std::string& name, json obj, Sub sub = Sub::Main);
  Reply patch(const ResourceInfo& r, const std::string& version, const std::string& ns,
              const std::string& name, PatchType type, const std::string& body, Sub sub = Sub::Main,
              const std::string& field_manager = "", bool force = false);
  Reply remove(const ResourceInfo& r, const std::string& version, const std::string& ns,
               const std::string& name, const json& delete_options = nullptr);
  Reply list(const ResourceInfo& r, const std::string& version, const std::string& ns,
             const ListOptions& options);

  Reply get_scale(const ResourceInfo& r, const std::string& ns, const std::string& name);
  Reply update_scale(const ResourceInfo& r, const std::string& ns, const std::string& name,
                     const json& scale);
  Reply patch_scale(const ResourceInfo& r, const std::string& ns, const std::string& name,
                    PatchType type, const std::string& body);

  // A watch, or the error Reply (bad selector). A too-old resourceVersion yields a watch whose
  // first event is an ERROR with a 410 Expired Status, as the real server sends it.
  std::variant<std::unique_ptr<Watch>, Reply> watch(const ResourceInfo& r, const std::string& version,
                                                     const std::string& ns, WatchOptions options);
  // Ends every open watch (their next() returns with closed()).
  void close_watches();

 private:
  friend class Watch;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Label selector matching (exposed for tests). Returns nullopt + error on a parse failure.
struct LabelRequirement {
  std::string key, op;  // "=", "!=", "in", "notin", "exists", "!"
  std::vector<std::string> values;
};
bool parse_label_selector(const std::string& s, std::vector<LabelRequirement>& out, std::string& error);
bool labels_match(const std::vector<LabelRequirement>& reqs, const json& labels);
// "app=x,tier in (a,b)" from a metav1.LabelSelector object.
std::string label_selector_to_string(const json& selector);

// Every document of a YAML stream as JSON, with the scalar rules server-side apply uses here
// (unquoted true/false/null/numbers typed, quoted scalars strings). Throws on malformed YAML.
std::vector<json> yaml_documents(const std::string& text);

}  // namespace ebb::testapi
