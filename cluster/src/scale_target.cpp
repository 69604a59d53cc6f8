#include "ebb/cluster/scale_target.h"

#include <map>
#include <memory>

#include "ebb/json.h"
#include "ebb/strings.h"

namespace ebb::cluster {

using nlohmann::json;

std::string_view to_string(TargetProblem::Kind kind) {
  switch (kind) {
    case TargetProblem::Kind::not_found: return "not_found";
    case TargetProblem::Kind::not_scalable: return "not_scalable";
    case TargetProblem::Kind::unknown_kind: return "unknown_kind";
    case TargetProblem::Kind::invalid_ref: return "invalid_ref";
    case TargetProblem::Kind::api: return "api";
  }
  return "api";
}

namespace {

constexpr std::string_view kDoesNotExist = "Target resource doesn't exist";
constexpr std::string_view kNoScale = "Target resource doesn't expose /scale subresource";

Unexpected<TargetProblem> problem(TargetProblem::Kind kind, std::string message, bool transient = false) {
  return {TargetProblem{kind, std::move(message), transient}};
}

std::string describe(const kube::Resource& r, std::string_view ns, std::string_view name) {
  return r.kind + " " + std::string(ns) + "/" + std::string(name);
}

}  // namespace

Result<std::pair<ScaleTargetGVKR, kube::Resource>, TargetProblem> resolve_target_resource(
    kube::Client& client, const api::ScaleTargetRef& ref) {
  const auto api_version = ref.api_version_or_default();
  const auto kind = ref.kind_or_default();
  const auto gv = kube::GroupVersion::parse(api_version);
  if (gv.version.empty() || api_version.find('/') != api_version.rfind('/'))
    return problem(TargetProblem::Kind::invalid_ref,
                   "spec.scaleTargetRef.apiVersion: invalid apiVersion " + ebb::quoted(api_version));
  kube::Resource resource;
  if (gv.group == "apps" && gv.version == "v1" && kind == "Deployment") {
    resource = kube::resources::deployments();
  } else if (gv.group == "apps" && gv.version == "v1" && kind == "StatefulSet") {
    resource = kube::resources::statefulsets();
  } else {
    auto found = client.discovery().resource_for(kube::GroupVersionKind{gv.group, gv.version, kind});
    if (!found) {
      const auto& e = found.error();
      if (e.not_found())
        return problem(TargetProblem::Kind::unknown_kind,
                       "the API server does not serve kind " + kind + " in " + api_version + ": " + e.message,
                       /*transient=*/true);  // a CRD may be installed later
      return problem(TargetProblem::Kind::api, "discovery of " + api_version + " " + kind + ": " + e.message,
                     e.transient || e.transport());
    }
    resource = *found;
  }
  ScaleTargetGVKR gvkr{resource.group, resource.version, resource.kind.empty() ? kind : resource.kind,
                       resource.resource};
  return std::pair{std::move(gvkr), std::move(resource)};
}

const kube::CacheView* WorkloadCaches::for_resource(const kube::Resource& resource) const {
  if (resource.group != "apps" || resource.version != "v1") return nullptr;
  if (resource.resource == "deployments") return deployments;
  if (resource.resource == "statefulsets") return statefulsets;
  return nullptr;
}

void workload_transform(json& w) {
  json out = json::object();
  for (const char* k : {"apiVersion", "kind"})
    if (w.contains(k)) out[k] = std::move(w[k]);
  const auto& meta = json_member(w, "metadata");
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "deletionTimestamp"})
    if (meta.contains(k)) out["metadata"][k] = meta[k];
  const auto& spec = json_member(w, "spec");
  for (const char* k : {"replicas", "selector"})
    if (spec.contains(k)) out["spec"][k] = spec[k];
  const auto& containers = json_at(w, {"spec", "template", "spec", "containers"});
  if (containers.is_array()) {
    json kept = json::array();
    for (const auto& c : containers) {
      json k = json::object();
      for (const char* f : {"name", "env", "envFrom"})
        if (c.contains(f)) k[f] = c[f];
      kept.push_back(std::move(k));
    }
    out["spec"]["template"]["spec"]["containers"] = std::move(kept);
  }
  const auto& status = json_member(w, "status");
  for (const char* k : {"replicas", "readyReplicas"})
    if (status.contains(k)) out["status"][k] = status[k];
  w = std::move(out);
}

kube::Scale scale_of(const json& w) {
  kube::Scale s;
  s.replicas = static_cast<std::int32_t>(json_int(w, {"spec", "replicas"}).value_or(1));
  s.status_replicas = static_cast<std::int32_t>(json_int(w, {"status", "replicas"}).value_or(0));
  s.resource_version = json_string(w, {"metadata", "resourceVersion"});
  const auto& labels = json_at(w, {"spec", "selector", "matchLabels"});
  if (labels.is_object()) {
    std::vector<std::string> parts;
    for (auto it = labels.begin(); it != labels.end(); ++it)
      if (it->is_string()) parts.push_back(it.key() + "=" + it->get<std::string>());
    s.selector = join(parts, ",");
  }
  return s;
}

Result<ScaleTarget, TargetProblem> resolve_scale_target(kube::Client& client, const api::ScaledObject& so,
                                                        const WorkloadCaches* workloads) {
  const auto& ref = so.spec.scale_target_ref;
  if (ref.name.empty())
    return problem(TargetProblem::Kind::invalid_ref, "ScaledObject.spec.scaleTargetRef.name is missing");
  auto resolved = resolve_target_resource(client, ref);
  if (!resolved) return unexpected(resolved.error());
  auto& [gvkr, resource] = *resolved;
  const auto& ns = so.metadata.namespace_;
  ScaleTarget target{gvkr, resource, ns, ref.name, {}, nullptr};

  if (const auto* cache = workloads ? workloads->for_resource(resource) : nullptr) {
    target.object = cache->find(kube::object_key(ns, ref.name));
    if (!target.object)
      return problem(TargetProblem::Kind::not_found,
                     std::string(kDoesNotExist) + ": " + describe(resource, ns, ref.name) + " not found", true);
    target.scale = scale_of(*target.object);
    return target;
  }

  // Does the object exist? Tells "missing" from "no /scale" whatever the scale call answers.
  auto object_exists = [&]() -> Result<bool, TargetProblem> {
    auto got = client.get(resource, ns, ref.name);
    if (got) return true;
    if (got.error().not_found()) return false;
    return problem(TargetProblem::Kind::api, "GET " + describe(resource, ns, ref.name) + ": " + got.error().message,
                   got.error().transient || got.error().transport());
  };

  if (!resource.has_subresource("scale")) {
    auto exists = object_exists();
    if (!exists) return unexpected(exists.error());
    if (!*exists)
      return problem(TargetProblem::Kind::not_found,
                     std::string(kDoesNotExist) + ": " + describe(resource, ns, ref.name) + " not found", true);
    return problem(TargetProblem::Kind::not_scalable,
                   std::string(kNoScale) + ": " + resource.resource +
                       (resource.group.empty() ? "" : "." + resource.group) + " has no scale subresource");
  }
  auto scale = client.get_scale(resource, ns, ref.name);
  if (!scale) {
    const auto& e = scale.error();
    if (e.not_found()) {
      auto exists = object_exists();
      if (!exists) return unexpected(exists.error());
      if (*exists)
        return problem(TargetProblem::Kind::not_scalable,
                       std::string(kNoScale) + ": GET " + describe(resource, ns, ref.name) + "/scale: " + e.message);
      return problem(TargetProblem::Kind::not_found,
                     std::string(kDoesNotExist) + ": " + describe(resource, ns, ref.name) + " not found", true);
    }
    return problem(TargetProblem::Kind::api, "GET " + describe(resource, ns, ref.name) + "/scale: " + e.message,
                   e.transient || e.transport());
  }
  target.scale = std::move(*scale);
  return target;
}

// --- pod template environment ----------------------------------------------------------------

namespace {

// Kubelet's $(VAR) expansion: $(NAME) of a defined variable is replaced, $$ becomes $, anything
// else stays as written.
std::string expand(std::string_view in, const api::StringMap& vars) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i];
      continue;
    }
    if (in[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (in[i + 1] == '(') {
      auto close = in.find(')', i + 2);
      if (close != std::string_view::npos) {
        auto name = std::string(in.substr(i + 2, close - i - 2));
        if (auto it = vars.find(name); it != vars.end()) {
          out += it->second;
          i = close;
          continue;
        }
        out += in.substr(i, close - i + 1);
        i = close;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

}  // namespace

Result<nlohmann::json> pod_spec_of(const json& workload) {
  const json* spec = &workload;
  for (const char* key : {"spec", "template", "spec"}) {
    if (!spec->is_object() || !spec->contains(key)) return fail("the scale target has no spec.template.spec (not a pod-template workload)");
    spec = &(*spec)[key];
  }
  return *spec;
}

Result<std::vector<api::ContainerEnv>> resolve_pod_env(const json& pod_spec, const EnvLookups& lookups) {
  std::vector<api::ContainerEnv> out;
  auto containers_it = pod_spec.is_object() ? pod_spec.find("containers") : pod_spec.end();
  if (!pod_spec.is_object() || containers_it == pod_spec.end() || !containers_it->is_array()) return out;
  std::size_t ci = 0;
  for (const auto& container : *containers_it) {
    const auto cpath = "containers[" + std::to_string(ci++) + "]";
    api::ContainerEnv env;
    env.name = json_string(container, {"name"});
    if (auto from = container.find("envFrom"); from != container.end() && from->is_array()) {
      std::size_t fi = 0;
      for (const auto& source : *from) {
        const auto fpath = cpath + ".envFrom[" + std::to_string(fi++) + "]";
        const auto prefix = json_string(source, {"prefix"});
        const bool is_secret = source.contains("secretRef");
        const json& ref = is_secret ? source["secretRef"] : (source.contains("configMapRef") ? source["configMapRef"] : json());
        if (ref.is_null()) continue;
        const auto name = json_string(ref, {"name"});
        const auto& lookup = is_secret ? lookups.secret : lookups.config_map;
        const char* what = is_secret ? "Secret" : "ConfigMap";
        auto data = lookup(name);
        if (!data) return fail(fpath + ": " + what + " " + ebb::quoted(name) + ": " + data.error().message, data.error().transient);
        if (!*data) {
          if (json_bool(ref, {"optional"})) continue;
          return fail(fpath + ": " + what + " " + ebb::quoted(name) + " not found");
        }
        for (const auto& [k, v] : **data) env.env[prefix + k] = v;
      }
    }
    if (auto list = container.find("env"); list != container.end() && list->is_array()) {
      std::size_t ei = 0;
      for (const auto& var : *list) {
        const auto epath = cpath + ".env[" + std::to_string(ei++) + "]";
        const auto name = json_string(var, {"name"});
        if (name.empty()) continue;
        auto value_from = var.find("valueFrom");
        if (value_from == var.end() || !value_from->is_object()) {
          env.env[name] = expand(json_string(var, {"value"}), env.env);
          continue;
        }
        const bool is_secret = value_from->contains("secretKeyRef");
        const bool is_config = value_from->contains("configMapKeyRef");
        if (!is_secret && !is_config) continue;  // fieldRef / resourceFieldRef: not resolvable here
        const json& ref = is_secret ? (*value_from)["secretKeyRef"] : (*value_from)["configMapKeyRef"];
        const auto source = json_string(ref, {"name"});
        const auto key = json_string(ref, {"key"});
        const char* what = is_secret ? "Secret" : "ConfigMap";
        auto data = (is_secret ? lookups.secret : lookups.config_map)(source);
        if (!data) return fail(epath + ": " + what + " " + ebb::quoted(source) + ": " + data.error().message, data.error().transient);
        const bool optional = json_bool(ref, {"optional"});
        if (!*data) {
          if (optional) continue;
          return fail(epath + " (" + name + "): " + what + " " + ebb::quoted(source) + " not found");
        }
        auto it = (*data)->find(key);
        if (it == (*data)->end()) {
          if (optional) continue;
          return fail(epath + " (" + name + "): key " + ebb::quoted(key) + " not found in " + what + " " +
                      ebb::quoted(source));
        }
        env.env[name] = it->second;
      }
    }
    out.push_back(std::move(env));
  }
  return out;
}

EnvLookups client_lookups(kube::Client& client, const std::string& ns) {
  struct Memo {
    std::map<std::string, std::optional<api::StringMap>> secrets, config_maps;
  };
  auto memo = std::make_shared<Memo>();
  auto make = [&client, ns, memo](bool secret) -> ObjectDataLookup {
    return [&client, ns, memo, secret](const std::string& name) -> Result<std::optional<api::StringMap>> {
      auto& cache = secret ? memo->secrets : memo->config_maps;
      if (auto it = cache.find(name); it != cache.end()) return it->second;
      const char* what = secret ? "Secret" : "ConfigMap";
      if (name.empty()) return fail(std::string(what) + " reference without a name");
      auto got = client.get(secret ? kube::resources::secrets() : kube::resources::configmaps(), ns, name);
      if (!got) {
        if (got.error().not_found()) {
          cache[name] = std::nullopt;
          return std::optional<api::StringMap>();
        }
        return fail("reading " + std::string(what) + " " + ns + "/" + name + ": " + got.error().message,
                    got.error().transient || got.error().transport());
      }
      auto data = secret ? api::secret_data(*got) : api::config_map_data(*got);
      if (!data) {
        std::string msg = std::string(what) + " " + ns + "/" + name + " is malformed";
        for (const auto& e : data.error()) msg += "; " + e.path;  // paths only: never a value
        return fail(msg);
      }
      cache[name] = *data;
      return std::optional<api::StringMap>(std::move(*data));
    };
  };
  return EnvLookups{make(true), make(false)};
}

Result<TargetEnvironment> read_target_environment(kube::Client& client, const ScaleTarget& target,
                                                  const std::string& env_source_container_name) {
  kube::ObjectPtr object = target.object;
  if (!object) {
    auto got = client.get(target.resource, target.ns, target.name);
    if (!got)
      return fail("reading scale target " + target.ns + "/" + target.name + ": " + got.error().message,
                  got.error().transient || got.error().transport() || got.error().not_found());
    object = std::make_shared<const kube::Object>(std::move(*got));
  }
  auto pod_spec = pod_spec_of(*object);
  TargetEnvironment out;
  if (!pod_spec) {
    // A scalable kind that is not PodSpecable: no env, which only matters if a trigger asks.
    if (!env_source_container_name.empty()) return fail(pod_spec.error().message);
    return out;
  }
  auto containers = resolve_pod_env(*pod_spec, client_lookups(client, target.ns));
  if (!containers)
    return fail("scale target " + target.ns + "/" + target.name + " env: " + containers.error().message,
                containers.error().transient);
  out.containers = std::move(*containers);
  if (!env_source_container_name.empty()) {
    bool found = false;
    for (const auto& c : out.containers)
      if (c.name == env_source_container_name) {
        out.source_env = c.env;
        found = true;
      }
    if (!found)
      return fail("couldn't find container with name " + env_source_container_name + " on scale target " +
                  target.ns + "/" + target.name);
  } else if (!out.containers.empty()) {
    out.source_env = out.containers.front().env;
  }
  return out;
}

Result<TargetEnvironment> job_template_environment(kube::Client& client, const api::ScaledJob& sj) {
  const auto& ns = sj.metadata.namespace_;
  const auto& ref = sj.spec.job_target_ref;
  TargetEnvironment out;
  const json* pod_spec = nullptr;
  if (ref.is_object())
    if (auto t = ref.find("template"); t != ref.end() && t->is_object())
      if (auto s = t->find("spec"); s != t->end() && s->is_object()) pod_spec = &*s;
  if (!pod_spec) return out;  // the CRD requires a template; without containers there is no env
  auto containers = resolve_pod_env(*pod_spec, client_lookups(client, ns));
  if (!containers)
    return fail("job template of scaledjob " + ns + "/" + sj.metadata.name + " env: " + containers.error().message,
                containers.error().transient);
  out.containers = std::move(*containers);
  const auto& wanted = sj.spec.env_source_container_name;
  if (!wanted.empty()) {
    bool found = false;
    for (const auto& c : out.containers)
      if (c.name == wanted) {
        out.source_env = c.env;
        found = true;
      }
    if (!found) return fail("couldn't find container with name " + wanted + " on job template");
  } else if (!out.containers.empty()) {
    out.source_env = out.containers.front().env;
  }
  return out;
}

}  // namespace ebb::cluster
