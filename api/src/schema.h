// A small structural schema for members Ebb keeps as raw JSON (HPA behavior, vault and cloud
// secret stores, List wrappers): enough of OpenAPI v3 to check what the CRD checks. Typed
// members are decoded by ObjectReader instead; both report identical messages.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode_context.h"
#include "ebb/result.h"

namespace ebb::api::detail {

struct Schema;
struct Property;

enum class SchemaType { Object, Array, StringMap, String, Int32, Boolean, IntOrString };

struct Schema {
  SchemaType type = SchemaType::String;
  std::vector<Property> properties;      // Object
  std::vector<std::string> required;     // Object
  std::shared_ptr<const Schema> items;   // Array
  std::optional<std::int64_t> minimum;   // Int32
  std::optional<std::int64_t> maximum;   // Int32
  std::vector<std::string> one_of;       // String
  std::optional<std::size_t> min_items;  // Array
};

struct Property {
  std::string name;
  Schema schema;
};

Schema string_schema(std::vector<std::string> one_of = {});
Schema int32_schema(std::optional<std::int64_t> minimum = {},
                    std::optional<std::int64_t> maximum = {});
Schema bool_schema();
Schema int_or_string_schema();
Schema string_map_schema();
Schema array_schema(Schema items, std::optional<std::size_t> min_items = {});
Schema object_schema(std::vector<Property> properties, std::vector<std::string> required = {});

// Decode-time checks: types, unknown fields, required members (null counts as absent).
void check_structure(const nlohmann::json& value, const Schema& schema, const std::string& path,
                     DecodeContext& ctx);
// Validate-time checks: minimum, maximum, enum, minItems. Assumes check_structure passed.
void check_values(const nlohmann::json& value, const Schema& schema, const std::string& path,
                  FieldErrors& errors);

// The CRD schemas of the raw members.
const Schema& hpa_behavior_schema();
const Schema& hashicorp_vault_schema();
const Schema& azure_key_vault_schema();
const Schema& gcp_secret_manager_schema();
const Schema& aws_secret_manager_schema();

}  // namespace ebb::api::detail
