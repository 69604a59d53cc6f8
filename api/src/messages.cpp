#include "messages.h"

#include "ebb/strings.h"

namespace ebb::api::detail {

using nlohmann::json;

std::string render(const json& value) {
  if (value.is_string()) return ebb::quoted(value.get_ref<const std::string&>());
  if (value.is_object()) return "\"object\"";
  if (value.is_array()) return "\"array\"";
  return value.dump();
}

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return "string " + render(value);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + value.dump();
    case json::value_t::number_float:
      return "number " + value.dump();
    case json::value_t::boolean:
      return "boolean " + value.dump();
    case json::value_t::null:
      return "null";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "map";
    default:
      return "unsupported value";
  }
}

std::string required_value(std::string_view detail) {
  return detail.empty() ? "Required value" : "Required value: " + std::string(detail);
}

std::string invalid_value(const json& value, std::string_view detail) {
  return "Invalid value: " + render(value) + ": " + std::string(detail);
}

std::string quoted_list(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + ebb::quoted(v);
  return out;
}

std::string unsupported_value(std::string_view value, const std::vector<std::string>& supported) {
  return "Unsupported value: " + ebb::quoted(value) +
         ": supported values: " + quoted_list(supported);
}

std::string unknown_field(std::string_view key, const std::vector<std::string>& known) {
  std::string out = "unknown field " + ebb::quoted(key);
  if (auto hint = closest_match(key, known); !hint.empty())
    out += " (did you mean " + ebb::quoted(hint) + "?)";
  return out;
}

std::string minimum_violation(std::int64_t value, std::int64_t minimum) {
  return invalid_value(value, "must be greater than or equal to " + std::to_string(minimum));
}

std::string maximum_violation(std::int64_t value, std::int64_t maximum) {
  return invalid_value(value, "must be less than or equal to " + std::to_string(maximum));
}

}  // namespace ebb::api::detail
