#include "ebb/json.h"

namespace ebb {

using Json = nlohmann::json;

const Json& json_member(const Json& object, std::string_view key) {
  static const Json null;
  if (!object.is_object()) return null;
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

const Json& json_at(const Json& object, std::initializer_list<std::string_view> path) {
  const Json* p = &object;
  for (auto key : path) p = &json_member(*p, key);
  return *p;
}

std::string json_string(const Json& object, std::initializer_list<std::string_view> path) {
  const auto& v = json_at(object, path);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> json_int(const Json& object, std::initializer_list<std::string_view> path) {
  const auto& v = json_at(object, path);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

bool json_bool(const Json& object, std::initializer_list<std::string_view> path, bool fallback) {
  const auto& v = json_at(object, path);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

bool json_set(Json& object, std::string_view key, Json value) {
  if (!object.is_object()) object = Json::object();
  auto it = object.find(key);
  if (it != object.end() && *it == value) return false;
  object[std::string(key)] = std::move(value);
  return true;
}

bool json_erase(Json& object, std::string_view key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  if (it == object.end()) return false;
  object.erase(it);
  return true;
}

Json json_subset(const Json& from, std::initializer_list<std::string_view> keys) {
  Json out = Json::object();
  if (!from.is_object()) return out;
  for (auto k : keys)
    if (auto it = from.find(k); it != from.end()) out[std::string(k)] = *it;
  return out;
}

}  // namespace ebb
