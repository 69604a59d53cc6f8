// What kube-apiserver does with a CRD version's structural OpenAPI v3 schema to the custom
// resources it stores: prune unknown fields, drop nulls the schema does not allow, apply
// `default:` values, then validate. Plain C++ over nlohmann::json, no I/O; errors come back as
// the field causes of a 422 Invalid Status, worded like the real server's.
//
// At the root, `apiVersion`, `kind` and `metadata` are left to the caller (the store checks them).
// Not implemented (see README.md): CEL rules other than the bound-comparison family KEDA uses,
// validation ratcheting, string formats other than date-time, and range checks for
// `format: int32/int64` (kube-apiserver does not check them either).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::testapi {

// One entry of Status.details.causes.
struct FieldCause {
  std::string reason;   // FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
  std::string field;    // "spec.triggers[0].type"
  std::string message;  // "Required value", "Unsupported value: \"x\": supported values: ..."
};

// Removes fields the schema does not know (unless x-kubernetes-preserve-unknown-fields, an
// additionalProperties schema or x-kubernetes-int-or-string keeps them).
void prune_unknown_fields(const nlohmann::json& schema, nlohmann::json& object);

// Non-nullable nulls are replaced by the property's default or removed; missing properties with
// a default get it (then their own sub-properties are defaulted).
void apply_schema_defaults(const nlohmann::json& schema, nlohmann::json& object);

// Every violation of the schema (types, enums, bounds, lengths, patterns, item counts, required,
// list types, the supported x-kubernetes-validations rules).
std::vector<FieldCause> validate_against_schema(const nlohmann::json& schema, const nlohmann::json& object);

// The three steps in kube-apiserver's order: prune, default, validate. `object` is changed by the
// first two even when the third fails.
std::vector<FieldCause> admit_custom_resource(const nlohmann::json& schema, nlohmann::json& object);

// kube's rendering of a value inside "Invalid value: <v>": strings quoted, numbers and booleans
// bare, anything else as JSON.
std::string render_field_value(const nlohmann::json& value);

}  // namespace ebb::testapi
