// Message texts shared by decoding and validation, so one kind of problem reads the same
// everywhere. The "Required value" / "Invalid value: …" / "Unsupported value: …" forms are the
// ones kubectl prints for CRD schema violations, which KEDA users already recognise.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::api::detail {

// "integer 5", "string \"abc\"", "boolean true", "number 1.5", "null", "list", "map".
std::string describe(const nlohmann::json& value);
// A value as Kubernetes renders it in "Invalid value: <v>": strings quoted, numbers bare.
std::string render(const nlohmann::json& value);

std::string required_value(std::string_view detail = {});
std::string invalid_value(const nlohmann::json& value, std::string_view detail);
std::string unsupported_value(std::string_view value, const std::vector<std::string>& supported);
std::string unknown_field(std::string_view key, const std::vector<std::string>& known);
std::string minimum_violation(std::int64_t value, std::int64_t minimum);
std::string maximum_violation(std::int64_t value, std::int64_t maximum);

// `"a", "b", "c"` — the list form used in Unsupported value messages.
std::string quoted_list(const std::vector<std::string>& values);

}  // namespace ebb::api::detail
