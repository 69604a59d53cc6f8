#include "ebb/api/auth.h"

#include "decode_context.h"
#include "ebb/api/decode.h"
#include "ebb/strings.h"
#include "object_reader.h"

namespace ebb::api {

using nlohmann::json;

namespace {

// Go url.Values.Encode: keys sorted (std::map already is), k=v joined by '&'.
std::string encode_query(const StringMap& values) {
  std::string out;
  for (const auto& [k, v] : values)
    out += (out.empty() ? "" : "&") + query_escape(k) + "=" + query_escape(v);
  return out;
}

class Resolver {
 public:
  explicit Resolver(const AuthSources& sources) : sources_(sources) {}

  void env(const std::vector<EnvTargetRef>& refs) {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const auto path = index_path("spec.env", i);
      const auto& ref = refs[i];
      const ContainerEnv* container = find_container(ref.container_name, path);
      if (!container) continue;
      auto it = container->env.find(ref.name);
      if (it == container->env.end()) {
        errors_.push_back({path + ".name", "environment variable " + ebb::quoted(ref.name) +
                                               " not found in container " +
                                               ebb::quoted(container->name)});
        continue;
      }
      params_[ref.parameter] = it->second;
    }
  }

  void refs(const std::vector<SecretTargetRef>& refs, const std::string& member,
            const std::map<std::string, StringMap>& store, const std::string& what) {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const auto path = index_path("spec." + member, i);
      if (auto value = lookup(store, what, refs[i].name, refs[i].key, path))
        params_[refs[i].parameter] = *value;
    }
  }

  void oauth2(const OAuth2& oauth) {
    std::string secret;
    if (oauth.client_secret) {
      const auto path = std::string("spec.oauth2.clientSecret.valueFrom.secretKeyRef");
      auto value = lookup(sources_.secrets, "Secret", oauth.client_secret->name,
                          oauth.client_secret->key, path);
      if (!value) return;
      secret = *value;
    }
    params_["oauthTokenURI"] = oauth.token_url;
    params_["clientID"] = oauth.client_id;
    params_["clientSecret"] = secret;
    if (!oauth.scopes.empty()) params_["scopes"] = join(oauth.scopes, ",");
    if (!oauth.token_url_params.empty())
      params_["endpointParams"] = encode_query(oauth.token_url_params);
  }

  Result<StringMap, FieldErrors> result() {
    if (!errors_.empty()) return unexpected(std::move(errors_));
    return std::move(params_);
  }

 private:
  const ContainerEnv* find_container(const std::string& name, const std::string& path) {
    if (sources_.containers.empty()) {
      errors_.push_back({path, "the scale target has no containers to read the environment of"});
      return nullptr;
    }
    if (name.empty()) return &sources_.containers.front();
    for (const auto& c : sources_.containers)
      if (c.name == name) return &c;
    errors_.push_back({path + ".containerName",
                       "container " + ebb::quoted(name) + " not found in the scale target"});
    return nullptr;
  }

  // Messages name the object and the key; never the value.
  std::optional<std::string> lookup(const std::map<std::string, StringMap>& store,
                                    const std::string& what, const std::string& name,
                                    const std::string& key, const std::string& path) {
    auto object = store.find(name);
    if (object == store.end()) {
      errors_.push_back({path + ".name", what + " " + ebb::quoted(name) + " not found"});
      return std::nullopt;
    }
    auto value = object->second.find(key);
    if (value == object->second.end()) {
      errors_.push_back({path + ".key", "key " + ebb::quoted(key) + " not found in " + what + " " +
                                            ebb::quoted(name)});
      return std::nullopt;
    }
    return value->second;
  }

  const AuthSources& sources_;
  StringMap params_;
  FieldErrors errors_;
};

}  // namespace

Result<StringMap, FieldErrors> resolve_auth_params(const TriggerAuthenticationSpec& spec,
                                                   const AuthSources& sources) {
  // With filePath KEDA returns the file's content and nothing else, so no portable member counts.
  if (!spec.file_path.empty()) return StringMap{};
  Resolver resolver(sources);
  resolver.env(spec.env);
  resolver.refs(spec.config_map_target_ref, "configMapTargetRef", sources.config_maps, "ConfigMap");
  resolver.refs(spec.secret_target_ref, "secretTargetRef", sources.secrets, "Secret");
  if (spec.oauth2) resolver.oauth2(*spec.oauth2);
  return resolver.result();
}

std::vector<std::string> unresolved_auth_members(const TriggerAuthenticationSpec& spec) {
  std::vector<std::string> out;
  if (spec.pod_identity && spec.pod_identity->provider != "none") out.push_back("podIdentity");
  if (!spec.file_path.empty()) out.push_back("filePath");
  if (spec.hashicorp_vault) out.push_back("hashiCorpVault");
  if (spec.azure_key_vault) out.push_back("azureKeyVault");
  if (spec.gcp_secret_manager) out.push_back("gcpSecretManager");
  if (spec.aws_secret_manager) out.push_back("awsSecretManager");
  if (!spec.bound_service_account_token.empty()) out.push_back("boundServiceAccountToken");
  return out;
}

// ---------------------------------------------------------------------------------------------
// Secrets and ConfigMaps

namespace {

Result<StringMap, FieldErrors> read_data(const json& object, bool base64_data,
                                         const char* overlay) {
  detail::DecodeContext ctx;
  if (!detail::expect_object(object, "", ctx)) return unexpected(std::move(ctx.errors));
  StringMap encoded, plain;
  detail::ObjectReader reader(object, "", ctx);
  reader.string_map("data", encoded);
  if (overlay) reader.string_map(overlay, plain);
  StringMap out;
  for (const auto& [key, value] : encoded) {
    if (!base64_data) {
      out[key] = value;
    } else if (auto decoded = base64_decode(value)) {
      out[key] = std::move(*decoded);
    } else {
      ctx.error(child_path("data", key), "is not valid base64");
    }
  }
  for (const auto& [key, value] : plain) out[key] = value;
  if (!ctx.errors.empty()) return unexpected(std::move(ctx.errors));
  return out;
}

}  // namespace

Result<StringMap, FieldErrors> secret_data(const json& secret) {
  return read_data(secret, true, "stringData");
}

Result<StringMap, FieldErrors> config_map_data(const json& config_map) {
  return read_data(config_map, false, nullptr);
}

}  // namespace ebb::api
