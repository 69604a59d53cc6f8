#include "ebb/cluster/trigger_inputs.h"

#include <map>
#include <set>

#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/cluster/resources.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"

namespace ebb::cluster {

namespace {


std::string trigger_label(std::size_t index, const std::string& type) {
  return "trigger " + std::to_string(index) + " (" + (type.empty() ? "<no type>" : type) + ")";
}

}  // namespace

Result<TriggerMetric, FieldErrors> parse_trigger(const scalers::TriggerContext& ctx, const scalers::Registry& registry) {
  auto parsed = registry.parse(ctx);
  if (!parsed) return unexpected(std::move(parsed.error()));
  TriggerMetric out;
  out.index = ctx.index;
  out.type = ctx.type;
  out.name = ctx.name;
  out.spec = (*parsed)->metric_spec();
  out.config = std::shared_ptr<const scalers::TriggerConfig>(std::move(*parsed));
  return out;
}

namespace {

// ScaledObject and ScaledJob alike: triggers, namespace and trigger contexts have one shape.
// `env_source` names where `…FromEnv` reads ("scale target", "job template").
template <class Object>
TriggerInputs resolve_inputs(kube::Client& client, const Object& so, const TargetEnvironment* env,
                             const TriggerInputsOptions& options, const std::string& env_source) {
  const auto& registry = options.registry ? *options.registry : scalers::Registry::builtin();
  const auto& so_ns = so.metadata.namespace_;
  TriggerInputs out;

  // One read per auth object and per (namespace, Secret/ConfigMap) for the whole object.
  struct AuthRead {
    std::optional<api::TriggerAuthentication> auth;
    std::string error;
    bool transient = false;
  };
  std::map<std::string, AuthRead> auths;
  std::map<std::string, EnvLookups> lookups;  // by namespace
  auto lookups_for = [&](const std::string& ns) -> EnvLookups& {
    auto it = lookups.find(ns);
    if (it == lookups.end()) it = lookups.emplace(ns, client_lookups(client, ns)).first;
    return it->second;
  };
  auto read_auth = [&](const api::AuthenticationRef& ref) -> const AuthRead& {
    const bool cluster = ref.cluster_scoped();
    const auto kind = ref.kind_or_default();
    const auto key = kind + "/" + ref.name;
    if (auto it = auths.find(key); it != auths.end()) return it->second;
    AuthRead read;
    const auto* cache = cluster ? options.cluster_trigger_authentications : options.trigger_authentications;
    kube::ApiResult<kube::Object> got = unexpected(kube::ApiError{404, "NotFound", "not found"});
    if (cache) {
      if (auto cached = cache->find(cluster ? ref.name : kube::object_key(so_ns, ref.name))) got = kube::Object(*cached);
    } else {
      got = cluster ? client.get(ebb::cluster::cluster_trigger_authentications(), "", ref.name)
                    : client.get(ebb::cluster::trigger_authentications(), so_ns, ref.name);
    }
    if (!got) {
      read.error = got.error().not_found()
                       ? kind + " " + ebb::quoted(ref.name) +
                             (cluster ? std::string(" not found") : " not found in namespace " + ebb::quoted(so_ns))
                       : "reading " + kind + " " + ebb::quoted(ref.name) + ": " + got.error().message;
      // Not found is worth retrying too: the object may be applied after the ScaledObject.
      read.transient = true;
    } else {
      api::DecodeOptions decode_options;
      decode_options.strict = false;
      auto decoded = api::decode_trigger_authentication(*got, decode_options);
      if (!decoded) {
        std::vector<std::string> parts;
        for (const auto& e : decoded.error()) parts.push_back(e.str());
        read.error = kind + " " + ebb::quoted(ref.name) + " is invalid: " + join(parts, "; ");
      } else {
        auto validation = api::validate(*decoded);
        if (!validation.ok()) {
          std::vector<std::string> parts;
          for (const auto& e : validation.errors) parts.push_back(e.str());
          read.error = kind + " " + ebb::quoted(ref.name) + " is invalid: " + join(parts, "; ");
        } else {
          read.auth = std::move(*decoded);
        }
      }
    }
    return auths.emplace(key, std::move(read)).first->second;
  };

  for (std::size_t i = 0; i < so.spec.triggers.size(); ++i) {
    const auto& trigger = so.spec.triggers[i];
    auto ctx = scalers::trigger_context(so, i);
    const auto label = trigger_label(i, trigger.type);
    std::vector<std::string> problems;
    bool transient = false;

    if (env) ctx.resolved_env = env->source_env;
    for (const auto& [key, value] : trigger.metadata) {
      if (key.size() <= 7 || !key.ends_with("FromEnv")) continue;
      const auto var = std::string(trim(value));
      if (!env) {
        problems.push_back("metadata." + key + ": environment variable " + ebb::quoted(var) +
                           " cannot be resolved: the " + env_source + " could not be read");
        transient = true;
      } else if (!ctx.resolved_env.count(var)) {
        problems.push_back("metadata." + key + ": environment variable " + ebb::quoted(var) +
                           " is not set in the " + env_source + "'s container");
      }
    }

    if (trigger.authentication_ref && !trigger.authentication_ref->name.empty()) {
      const auto& ref = *trigger.authentication_ref;
      const auto& read = read_auth(ref);
      if (!read.auth) {
        problems.push_back(read.error);
        transient = transient || read.transient;
      } else {
        const auto& auth = *read.auth;
        const auto source_ns = ref.cluster_scoped() ? options.cluster_object_namespace : so_ns;
        auto& lk = lookups_for(source_ns);
        api::AuthSources sources;
        std::set<std::string> secret_names, config_names;
        for (const auto& r : auth.spec.secret_target_ref) secret_names.insert(r.name);
        if (auth.spec.oauth2 && auth.spec.oauth2->client_secret) secret_names.insert(auth.spec.oauth2->client_secret->name);
        for (const auto& r : auth.spec.config_map_target_ref) config_names.insert(r.name);
        auto load = [&](const std::set<std::string>& names, const ObjectDataLookup& lookup,
                        std::map<std::string, api::StringMap>& into, const char* what) {
          for (const auto& name : names) {
            auto data = lookup(name);
            if (!data) {
              problems.push_back(auth.kind + " " + ebb::quoted(auth.metadata.name) + ": " + data.error().message);
              transient = transient || data.error().transient;
            } else if (*data) {
              into[name] = **data;
            } else {
              // resolve_auth_params names the reference that needs it; say where we looked.
              problems.push_back(auth.kind + " " + ebb::quoted(auth.metadata.name) + ": " + what + " " +
                                 ebb::quoted(name) + " not found in namespace " + ebb::quoted(source_ns));
              transient = true;
            }
          }
        };
        load(secret_names, lk.secret, sources.secrets, "Secret");
        load(config_names, lk.config_map, sources.config_maps, "ConfigMap");
        if (env) sources.containers = env->containers;
        if (problems.empty()) {
          auto params = api::resolve_auth_params(auth.spec, sources);
          if (params) {
            ctx.auth_params = std::move(*params);
          } else {
            for (const auto& e : params.error())
              problems.push_back(auth.kind + " " + ebb::quoted(auth.metadata.name) + ": " + e.str());
          }
        }
        for (const auto& member : api::unresolved_auth_members(auth.spec))
          problems.push_back(auth.kind + " " + ebb::quoted(auth.metadata.name) + ": " + member +
                             " is not supported by Ebb");
      }
    }

    FieldErrors field_errors;
    if (problems.empty()) {
      auto parsed = parse_trigger(ctx, registry);
      if (parsed) {
        out.metrics.push_back(std::move(*parsed));
      } else {
        field_errors = prefixed("spec.triggers[" + std::to_string(i) + "]", std::move(parsed.error()));
        for (const auto& e : field_errors) problems.push_back(e.str());
      }
    }
    if (!problems.empty())
      out.problems.push_back(TriggerProblem{i, trigger.type, label + ": " + join(problems, "; "),
                                            std::move(field_errors), transient});
    out.contexts.push_back(std::move(ctx));
  }
  return out;
}

}  // namespace

TriggerInputs resolve_trigger_inputs(kube::Client& client, const api::ScaledObject& so, const TargetEnvironment* env,
                                     const TriggerInputsOptions& options) {
  return resolve_inputs(client, so, env, options, "scale target");
}

TriggerInputs resolve_trigger_inputs(kube::Client& client, const api::ScaledJob& sj, const TargetEnvironment* env,
                                     const TriggerInputsOptions& options) {
  return resolve_inputs(client, sj, env, options, "job template");
}

}  // namespace ebb::cluster
