#include "schema.h"

#include <algorithm>

#include "ebb/api/decode.h"
#include "messages.h"

namespace ebb::api::detail {

using nlohmann::json;

Schema string_schema(std::vector<std::string> one_of) {
  Schema s;
  s.type = SchemaType::String;
  s.one_of = std::move(one_of);
  return s;
}

Schema int32_schema(std::optional<std::int64_t> minimum, std::optional<std::int64_t> maximum) {
  Schema s;
  s.type = SchemaType::Int32;
  s.minimum = minimum;
  s.maximum = maximum;
  return s;
}

Schema bool_schema() {
  Schema s;
  s.type = SchemaType::Boolean;
  return s;
}

Schema int_or_string_schema() {
  Schema s;
  s.type = SchemaType::IntOrString;
  return s;
}

Schema string_map_schema() {
  Schema s;
  s.type = SchemaType::StringMap;
  return s;
}

Schema array_schema(Schema items, std::optional<std::size_t> min_items) {
  Schema s;
  s.type = SchemaType::Array;
  s.items = std::make_shared<const Schema>(std::move(items));
  s.min_items = min_items;
  return s;
}

Schema object_schema(std::vector<Property> properties, std::vector<std::string> required) {
  Schema s;
  s.type = SchemaType::Object;
  s.properties = std::move(properties);
  s.required = std::move(required);
  return s;
}

namespace {

const Property* find_property(const Schema& schema, std::string_view name) {
  for (const auto& p : schema.properties)
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> property_names(const Schema& schema) {
  std::vector<std::string> names;
  for (const auto& p : schema.properties) names.push_back(p.name);
  return names;
}

void check_object_structure(const json& value, const Schema& schema, const std::string& path,
                            DecodeContext& ctx) {
  for (const auto& [key, member] : value.items()) {
    const auto member_path = child_path(path, key);
    const auto* property = find_property(schema, key);
    if (!property) {
      auto message = unknown_field(key, property_names(schema));
      ctx.strict ? ctx.error(member_path, message) : ctx.warn(member_path, message);
      continue;
    }
    if (!member.is_null()) check_structure(member, property->schema, member_path, ctx);
  }
  for (const auto& name : schema.required) {
    auto it = value.find(name);
    if (it == value.end() || it->is_null()) ctx.error(child_path(path, name), required_value());
  }
}

}  // namespace

void check_structure(const json& value, const Schema& schema, const std::string& path,
                     DecodeContext& ctx) {
  switch (schema.type) {
    case SchemaType::Object:
      if (expect_object(value, path, ctx)) check_object_structure(value, schema, path, ctx);
      break;
    case SchemaType::Array:
      if (expect_array(value, path, ctx))
        for (std::size_t i = 0; i < value.size(); ++i)
          check_structure(value[i], *schema.items, index_path(path, i), ctx);
      break;
    case SchemaType::StringMap:
      if (expect_object(value, path, ctx))
        for (const auto& [key, member] : value.items())
          if (!member.is_null()) expect_string(member, child_path(path, key), ctx);
      break;
    case SchemaType::String:
      expect_string(value, path, ctx);
      break;
    case SchemaType::Boolean:
      expect_bool(value, path, ctx);
      break;
    case SchemaType::IntOrString:
      expect_int_or_string(value, path, ctx);
      break;
    case SchemaType::Int32: {
      std::int32_t ignored = 0;
      expect_int32(value, path, ctx, ignored);
      break;
    }
  }
}

void check_values(const json& value, const Schema& schema, const std::string& path,
                  FieldErrors& errors) {
  switch (schema.type) {
    case SchemaType::Object:
      if (!value.is_object()) return;
      for (const auto& property : schema.properties) {
        auto it = value.find(property.name);
        if (it != value.end() && !it->is_null())
          check_values(*it, property.schema, child_path(path, property.name), errors);
      }
      return;
    case SchemaType::Array:
      if (!value.is_array()) return;
      if (schema.min_items && value.size() < *schema.min_items)
        errors.push_back({path, invalid_value(value.size(), "must have at least " +
                                                                std::to_string(*schema.min_items) +
                                                                " item(s)")});
      for (std::size_t i = 0; i < value.size(); ++i)
        check_values(value[i], *schema.items, index_path(path, i), errors);
      return;
    case SchemaType::String:
      if (value.is_string() && !schema.one_of.empty()) {
        const auto& s = value.get_ref<const std::string&>();
        if (std::find(schema.one_of.begin(), schema.one_of.end(), s) == schema.one_of.end())
          errors.push_back({path, unsupported_value(s, schema.one_of)});
      }
      return;
    case SchemaType::Int32:
      if (!value.is_number()) return;
      if (schema.minimum && value.get<double>() < static_cast<double>(*schema.minimum))
        errors.push_back({path, minimum_violation(value.get<std::int64_t>(), *schema.minimum)});
      if (schema.maximum && value.get<double>() > static_cast<double>(*schema.maximum))
        errors.push_back({path, maximum_violation(value.get<std::int64_t>(), *schema.maximum)});
      return;
    case SchemaType::StringMap:
    case SchemaType::Boolean:
    case SchemaType::IntOrString:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// CRD schemas (keda.sh_scaledobjects.yaml / keda.sh_triggerauthentications.yaml)

namespace {

Schema hpa_scaling_rules_schema() {
  // The upstream HPA fields; the 0..3600 window is KEDA's CRD patch (keda-compat §1.1.6). The
  // policy and selectPolicy values are not in the CRD, but the HPA API rejects anything else
  // when the operator creates the HPA, so they are checked here where the user can see it.
  auto policy = object_schema({{"type", string_schema({"Pods", "Percent"})},
                               {"value", int32_schema(1)},
                               {"periodSeconds", int32_schema(1, 1800)}},
                              {"periodSeconds", "type", "value"});
  return object_schema({{"policies", array_schema(std::move(policy))},
                        {"selectPolicy", string_schema({"Max", "Min", "Disabled"})},
                        {"stabilizationWindowSeconds", int32_schema(0, 3600)},
                        {"tolerance", int_or_string_schema()}});
}

Schema secret_key_ref_holder() {
  // {valueFrom: {secretKeyRef: {name, key}}}, every level required.
  auto ref = object_schema({{"key", string_schema()}, {"name", string_schema()}}, {"key", "name"});
  auto value_from = object_schema({{"secretKeyRef", std::move(ref)}}, {"secretKeyRef"});
  return object_schema({{"valueFrom", std::move(value_from)}}, {"valueFrom"});
}

Schema pod_identity_schema() {
  return object_schema(
      {{"externalID", string_schema()},
       {"identityAuthorityHost", string_schema()},
       {"identityId", string_schema()},
       {"identityOwner", string_schema({"keda", "workload"})},
       {"identityTenantId", string_schema()},
       {"provider", string_schema({"azure-workload", "gcp", "aws", "aws-eks", "none"})},
       {"roleArn", string_schema()}},
      {"provider"});
}

}  // namespace

const Schema& hpa_behavior_schema() {
  static const Schema schema = object_schema(
      {{"scaleDown", hpa_scaling_rules_schema()}, {"scaleUp", hpa_scaling_rules_schema()}});
  return schema;
}

const Schema& hashicorp_vault_schema() {
  static const Schema schema = [] {
    auto pki = object_schema({{"altNames", string_schema()},
                              {"commonName", string_schema()},
                              {"format", string_schema()},
                              {"ipSans", string_schema()},
                              {"otherSans", string_schema()},
                              {"ttl", string_schema()},
                              {"uriSans", string_schema()}});
    auto secret = object_schema({{"key", string_schema()},
                                 {"parameter", string_schema()},
                                 {"path", string_schema()},
                                 {"pkiData", std::move(pki)},
                                 {"type", string_schema({"", "secretV2", "secret", "pki"})}},
                                {"key", "parameter", "path"});
    auto credential = object_schema({{"serviceAccount", string_schema()},
                                     {"serviceAccountName", string_schema()},
                                     {"token", string_schema()}});
    return object_schema({{"address", string_schema()},
                          {"authentication", string_schema({"token", "kubernetes"})},
                          {"credential", std::move(credential)},
                          {"mount", string_schema()},
                          {"namespace", string_schema()},
                          {"role", string_schema()},
                          {"secrets", array_schema(std::move(secret), 1)}},
                         {"address", "authentication", "secrets"});
  }();
  return schema;
}

const Schema& azure_key_vault_schema() {
  static const Schema schema = [] {
    auto cloud = object_schema({{"activeDirectoryEndpoint", string_schema()},
                                {"keyVaultResourceURL", string_schema()},
                                {"type", string_schema()}},
                               {"type"});
    auto credentials = object_schema({{"clientId", string_schema()},
                                      {"clientSecret", secret_key_ref_holder()},
                                      {"tenantId", string_schema()}},
                                     {"clientId", "clientSecret", "tenantId"});
    auto secret = object_schema(
        {{"name", string_schema()}, {"parameter", string_schema()}, {"version", string_schema()}},
        {"name", "parameter"});
    return object_schema({{"cloud", std::move(cloud)},
                          {"credentials", std::move(credentials)},
                          {"podIdentity", pod_identity_schema()},
                          {"secrets", array_schema(std::move(secret), 1)},
                          {"vaultUri", string_schema()}},
                         {"secrets", "vaultUri"});
  }();
  return schema;
}

const Schema& gcp_secret_manager_schema() {
  static const Schema schema = [] {
    auto credentials = object_schema({{"clientSecret", secret_key_ref_holder()}}, {"clientSecret"});
    auto secret = object_schema(
        {{"id", string_schema()}, {"parameter", string_schema()}, {"version", string_schema()}},
        {"id", "parameter"});
    return object_schema({{"credentials", std::move(credentials)},
                          {"podIdentity", pod_identity_schema()},
                          {"secrets", array_schema(std::move(secret), 1)}},
                         {"secrets"});
  }();
  return schema;
}

const Schema& aws_secret_manager_schema() {
  static const Schema schema = [] {
    auto credentials = object_schema({{"accessKey", secret_key_ref_holder()},
                                      {"accessSecretKey", secret_key_ref_holder()},
                                      {"accessToken", secret_key_ref_holder()}},
                                     {"accessKey", "accessSecretKey"});
    auto secret = object_schema({{"name", string_schema()},
                                 {"parameter", string_schema()},
                                 {"secretKey", string_schema()},
                                 {"versionId", string_schema()},
                                 {"versionStage", string_schema()}},
                                {"name", "parameter"});
    return object_schema({{"credentials", std::move(credentials)},
                          {"podIdentity", pod_identity_schema()},
                          {"region", string_schema()},
                          {"secrets", array_schema(std::move(secret), 1)}},
                         {"secrets"});
  }();
  return schema;
}

}  // namespace ebb::api::detail
