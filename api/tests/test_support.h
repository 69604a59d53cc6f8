// Helpers shared by the api tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ebb/api/decode.h"
#include "ebb/api/validate.h"

namespace ebb::api::test {

std::string read_data_file(std::string_view name);

// FieldError::str() of each error, for comparing whole lists in one assertion.
std::vector<std::string> strings(const FieldErrors& errors);

// A ScaledObject manifest named "orders" in "shop" whose spec is `spec_body` (already indented
// by two spaces).
std::string scaled_object_yaml(std::string_view spec_body,
                               std::string_view metadata = "{name: orders, namespace: shop}");

// Decodes exactly one document that must decode cleanly.
ScaledObject decode_one_scaled_object(std::string_view yaml);
TriggerAuthentication decode_one_trigger_authentication(std::string_view yaml);

// Supports every KEDA type except a few, so "unsupported" paths are reachable.
ValidationOptions test_options();

}  // namespace ebb::api::test
