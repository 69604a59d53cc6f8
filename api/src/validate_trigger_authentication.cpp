// (Cluster)TriggerAuthentication validation: KEDA's admission checks (keda-compat §1.2), the CRD
// value rules of the raw secret-store members, and the members' required fields.
#include <algorithm>
#include <map>

#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/strings.h"
#include "messages.h"
#include "names.h"
#include "schema.h"

namespace ebb::api {

using detail::invalid_value;
using detail::required_value;
using detail::unsupported_value;

namespace {

const std::vector<std::string> kProviders = {"azure-workload", "gcp", "aws", "aws-eks", "none"};
const std::vector<std::string> kIdentityOwners = {"keda", "workload"};
const std::vector<std::string> kOAuth2Types = {std::string(kOAuth2ClientCredentials)};

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

bool set_and_empty(const std::optional<std::string>& v) {
  return v && v->empty();
}
bool set_and_non_empty(const std::optional<std::string>& v) {
  return v && !v->empty();
}

// Go url.Parse + the webhook's test: a scheme of http or https and a non-empty host.
bool is_absolute_http_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const auto scheme = to_lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  auto authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return !authority.empty() && authority.find(' ') == std::string_view::npos;
}

class TriggerAuthenticationValidator {
 public:
  explicit TriggerAuthenticationValidator(const TriggerAuthentication& ta)
      : ta_(ta), spec_(ta.spec) {}

  ValidationResult run() {
    check_name();
    check_file_path();
    check_target_refs("spec.secretTargetRef", spec_.secret_target_ref);
    check_target_refs("spec.configMapTargetRef", spec_.config_map_target_ref);
    check_env();
    check_bound_tokens();
    check_pod_identity();
    check_oauth2();
    check_secret_stores();
    check_parameter_overrides();
    return std::move(result_);
  }

 private:
  void error(std::string path, std::string message) { result_.error(std::move(path), std::move(message)); }
  void warn(std::string path, std::string message) { result_.warn(std::move(path), std::move(message)); }
  void non_empty(const std::string& path, const std::string& value) {
    if (value.empty()) error(path, invalid_value(value, "must not be empty"));
  }

  void check_name() {
    const auto& meta = ta_.metadata;
    if (meta.name.empty() && meta.generate_name.empty())
      error("metadata.name", required_value("name or generateName is required"));
    else if (!meta.name.empty() && !detail::is_dns_subdomain(meta.name))
      error("metadata.name", invalid_value(meta.name, detail::kDnsSubdomainRule));
  }

  bool has_other_members() const {
    return !spec_.secret_target_ref.empty() || !spec_.config_map_target_ref.empty() ||
           !spec_.env.empty() || !spec_.bound_service_account_token.empty() || spec_.oauth2 ||
           spec_.hashicorp_vault || spec_.azure_key_vault || spec_.gcp_secret_manager ||
           spec_.aws_secret_manager;
  }

  void check_file_path() {
    const auto& path = spec_.file_path;
    if (path.empty()) return;
    if (!ta_.cluster_scoped()) {
      // KEDA accepts the object but fails every ScaledObject that references it.
      error("spec.filePath",
            "Forbidden: filePath is only supported for "
            "ClusterTriggerAuthentication");
      return;
    }
    if (path.front() == '/') error("spec.filePath", invalid_value(path, "must be a relative path"));
    const auto segments = split(path, '/');
    if (std::find(segments.begin(), segments.end(), "..") != segments.end())
      error("spec.filePath", invalid_value(path, "must not contain '..'"));
    if (has_other_members())
      warn("spec.filePath", "filePath is set, so every other member of the spec is ignored");
  }

  void check_target_refs(const std::string& path, const std::vector<SecretTargetRef>& refs) {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      const auto item = index_path(path, i);
      non_empty(item + ".parameter", refs[i].parameter);
      non_empty(item + ".name", refs[i].name);
      non_empty(item + ".key", refs[i].key);
    }
  }

  void check_env() {
    for (std::size_t i = 0; i < spec_.env.size(); ++i) {
      const auto item = index_path("spec.env", i);
      non_empty(item + ".parameter", spec_.env[i].parameter);
      non_empty(item + ".name", spec_.env[i].name);
    }
  }

  void check_bound_tokens() {
    const auto& tokens = spec_.bound_service_account_token;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const auto item = index_path("spec.boundServiceAccountToken", i);
      non_empty(item + ".parameter", tokens[i].parameter);
      non_empty(item + ".serviceAccountName", tokens[i].service_account_name);
    }
  }

  void check_pod_identity() {
    if (!spec_.pod_identity) return;
    const auto& id = *spec_.pod_identity;
    const std::string path = "spec.podIdentity";
    if (!contains(kProviders, id.provider))
      error(path + ".provider", unsupported_value(id.provider, kProviders));
    if (id.identity_owner && !contains(kIdentityOwners, *id.identity_owner))
      error(path + ".identityOwner", unsupported_value(*id.identity_owner, kIdentityOwners));
    if (id.provider == "aws-eks")
      warn(path + ".provider",
           "aws-eks is deprecated in KEDA (removal planned for v3); use aws "
           "with identityOwner: workload");
    if (id.provider == "azure-workload") check_azure_workload(id, path);
    if (id.provider == "aws") check_aws(id, path);
  }

  void check_azure_workload(const PodIdentity& id, const std::string& path) {
    if (set_and_empty(id.identity_id))
      error(path + ".identityId", invalid_value("", "must not be empty when set"));
    if (set_and_non_empty(id.identity_authority_host)) {
      if (!set_and_non_empty(id.identity_tenant_id))
        error(path + ".identityTenantId",
              required_value("identityAuthorityHost is set, so identityTenantId must be too"));
    } else if (set_and_empty(id.identity_tenant_id)) {
      error(path + ".identityTenantId", invalid_value("", "must not be empty when set"));
    }
  }

  void check_aws(const PodIdentity& id, const std::string& path) {
    if (set_and_non_empty(id.role_arn) && id.workload_identity_owner())
      error(path + ".roleArn",
            "Forbidden: roleArn cannot be set when identityOwner is workload (the workload's "
            "own role is used)");
    if (set_and_non_empty(id.external_id) && !set_and_non_empty(id.role_arn))
      error(path + ".externalID", "Forbidden: externalID requires roleArn to be set");
  }

  void check_oauth2() {
    if (!spec_.oauth2) return;
    const auto& oauth = *spec_.oauth2;
    const std::string path = "spec.oauth2";
    if (!contains(kOAuth2Types, oauth.type))
      error(path + ".type", unsupported_value(oauth.type, kOAuth2Types));
    if (oauth.client_id.empty()) error(path + ".clientId", required_value());
    if (oauth.token_url.empty())
      error(path + ".tokenUrl", required_value());
    else if (!is_absolute_http_url(oauth.token_url))
      error(path + ".tokenUrl", invalid_value(oauth.token_url,
                                              "must be an absolute http or "
                                              "https URL"));
    if (oauth.client_secret) {
      const auto ref_path = path + ".clientSecret.valueFrom.secretKeyRef";
      non_empty(ref_path + ".name", oauth.client_secret->name);
      non_empty(ref_path + ".key", oauth.client_secret->key);
    }
  }

  void check_secret_stores() {
    const auto check = [&](const std::optional<nlohmann::json>& member, const char* path,
                           const detail::Schema& schema) {
      if (member) detail::check_values(*member, schema, path, result_.errors);
    };
    check(spec_.hashicorp_vault, "spec.hashiCorpVault", detail::hashicorp_vault_schema());
    check(spec_.azure_key_vault, "spec.azureKeyVault", detail::azure_key_vault_schema());
    check(spec_.gcp_secret_manager, "spec.gcpSecretManager", detail::gcp_secret_manager_schema());
    check(spec_.aws_secret_manager, "spec.awsSecretManager", detail::aws_secret_manager_schema());
  }

  // KEDA resolves env, then config maps, then secrets, then bound tokens; a later member with the
  // same parameter silently replaces an earlier one, which is rarely what the author meant.
  void check_parameter_overrides() {
    std::map<std::string, std::string> first;
    const auto visit = [&](const std::string& parameter, const std::string& path) {
      if (parameter.empty()) return;
      if (auto [it, inserted] = first.emplace(parameter, path); !inserted)
        warn(path, "parameter " + ebb::quoted(parameter) + " is also set by " + it->second +
                       "; this member is resolved later and wins");
    };
    for (std::size_t i = 0; i < spec_.env.size(); ++i)
      visit(spec_.env[i].parameter, index_path("spec.env", i) + ".parameter");
    for (std::size_t i = 0; i < spec_.config_map_target_ref.size(); ++i)
      visit(spec_.config_map_target_ref[i].parameter,
            index_path("spec.configMapTargetRef", i) + ".parameter");
    for (std::size_t i = 0; i < spec_.secret_target_ref.size(); ++i)
      visit(spec_.secret_target_ref[i].parameter,
            index_path("spec.secretTargetRef", i) + ".parameter");
    for (std::size_t i = 0; i < spec_.bound_service_account_token.size(); ++i)
      visit(spec_.bound_service_account_token[i].parameter,
            index_path("spec.boundServiceAccountToken", i) + ".parameter");
  }

  const TriggerAuthentication& ta_;
  const TriggerAuthenticationSpec& spec_;
  ValidationResult result_;
};

}  // namespace

ValidationResult validate(const TriggerAuthentication& auth) {
  return TriggerAuthenticationValidator(auth).run();
}

}  // namespace ebb::api
