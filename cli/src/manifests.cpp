#include "manifests.h"

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"

extern char** environ;

namespace ebb::cli {
namespace {

Result<std::string> read_all(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot read file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Finds a TriggerAuthentication (namespaced, same namespace as the ScaledObject) or a
// ClusterTriggerAuthentication by name among the loaded documents.
const api::TriggerAuthentication* find_auth(const Manifests& manifests, const api::AuthenticationRef& ref,
                                            const std::string& so_namespace) {
  for (const auto& m : manifests.documents) {
    const auto* ta = m.doc.trigger_authentication();
    if (!ta || ta->metadata.name != ref.name) continue;
    if (ref.cluster_scoped() != ta->cluster_scoped()) continue;
    if (!ta->cluster_scoped() && ta->metadata.namespace_ != so_namespace &&
        !(ta->metadata.namespace_.empty() || so_namespace.empty()))
      continue;
    return ta;
  }
  return nullptr;
}

}  // namespace

Manifests load_manifests(const std::vector<std::string>& files) {
  Manifests out;
  for (const auto& file : files) {
    auto text = read_all(file);
    if (!text) {
      out.load_errors.push_back(text.error().message);
      continue;
    }
    for (auto& doc : api::decode_manifest(*text)) out.documents.push_back({file, std::move(doc)});
  }
  return out;
}

Result<std::map<std::string, api::StringMap>> read_secret_files(const std::vector<std::string>& args) {
  std::map<std::string, api::StringMap> out;
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
      return fail("--secret " + ebb::quoted(arg) + ": expected NAME=FILE");
    const auto name = arg.substr(0, eq);
    const auto path = arg.substr(eq + 1);
    auto text = read_all(path);
    if (!text) return fail("--secret " + name + ": " + text.error().message);
    std::istringstream lines(*text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      const auto t = trim(line);
      if (t.empty() || t.front() == '#') continue;
      const auto sep = t.find('=');
      if (sep == std::string_view::npos || sep == 0)
        return fail("--secret " + name + ": " + path + ":" + std::to_string(number) + ": expected KEY=VALUE");
      out[name][std::string(trim(t.substr(0, sep)))] = std::string(t.substr(sep + 1));
    }
  }
  return out;
}

api::StringMap process_environment() {
  api::StringMap env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string secret_env_var(std::string_view secret, std::string_view key) {
  std::string out = "EBB_SECRET_";
  const auto append = [&](std::string_view s) {
    for (unsigned char c : s) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  };
  append(secret);
  out += '_';
  append(key);
  return out;
}

namespace {

// ScaledObject and ScaledJob alike: their triggers and trigger contexts have the same shape.
template <class Object>
std::vector<TriggerInput> object_trigger_inputs(const Object& so, const Manifests& manifests,
                                                const SecretSources& secrets) {
  std::vector<TriggerInput> out;
  const auto& ns = so.metadata.namespace_;
  for (std::size_t i = 0; i < so.spec.triggers.size(); ++i) {
    const auto& trigger = so.spec.triggers[i];
    TriggerInput input;
    input.context = scalers::trigger_context(so, i);
    auto& ctx = input.context;

    // …FromEnv: the ebb process environment stands in for the target container's.
    for (const auto& [key, value] : trigger.metadata) {
      if (key.size() <= 7 || !key.ends_with("FromEnv")) continue;
      const auto var = std::string(trim(value));
      if (auto it = secrets.environment.find(var); it != secrets.environment.end()) {
        ctx.resolved_env[var] = it->second;
      } else {
        input.missing.push_back("environment variable " + var + " (for metadata." + key + ") is not set");
      }
    }

    if (trigger.authentication_ref) {
      const auto& ref = *trigger.authentication_ref;
      const auto* auth = find_auth(manifests, ref, ns);
      if (!auth) {
        input.missing.push_back(ref.kind_or_default() + " " + ebb::quoted(ref.name) + " is not in the given files");
      } else {
        api::AuthSources sources;
        // Secrets and ConfigMaps from the files.
        for (const auto& m : manifests.documents) {
          const auto* other = m.doc.other();
          if (!other) continue;
          if (other->kind == "Secret") {
            if (auto data = api::secret_data(other->raw)) sources.secrets[other->name] = *data;
          } else if (other->kind == "ConfigMap") {
            if (auto data = api::config_map_data(other->raw)) sources.config_maps[other->name] = *data;
          }
        }
        // --secret files, then single EBB_SECRET_* variables, win over manifests.
        for (const auto& [name, values] : secrets.files)
          for (const auto& [k, v] : values) sources.secrets[name][k] = v;
        for (const auto& ref_entry : auth->spec.secret_target_ref) {
          const auto var = secret_env_var(ref_entry.name, ref_entry.key);
          if (auto it = secrets.environment.find(var); it != secrets.environment.end())
            sources.secrets[ref_entry.name][ref_entry.key] = it->second;
        }
        sources.containers.push_back({"", secrets.environment});
        auto params = api::resolve_auth_params(auth->spec, sources);
        if (params) {
          ctx.auth_params = *params;
        } else {
          for (const auto& e : params.error())
            input.missing.push_back(auth->kind + " " + ebb::quoted(auth->metadata.name) + ": " + e.str());
          if (!auth->spec.secret_target_ref.empty())
            input.missing.push_back("secret values can be given with --secret NAME=FILE or EBB_SECRET_<NAME>_<KEY>");
        }
        for (const auto& member : api::unresolved_auth_members(auth->spec))
          input.missing.push_back(auth->kind + " " + ebb::quoted(auth->metadata.name) + ": " + member +
                                  " cannot be resolved without a cluster");
      }
    }
    out.push_back(std::move(input));
  }
  return out;
}

}  // namespace

std::vector<TriggerInput> trigger_inputs(const api::ScaledObject& so, const Manifests& manifests,
                                         const SecretSources& secrets) {
  return object_trigger_inputs(so, manifests, secrets);
}

std::vector<TriggerInput> trigger_inputs(const api::ScaledJob& sj, const Manifests& manifests,
                                         const SecretSources& secrets) {
  return object_trigger_inputs(sj, manifests, secrets);
}

}  // namespace ebb::cli
