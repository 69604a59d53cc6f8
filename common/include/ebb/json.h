// Tolerant read access to JSON objects as the API server serves them: a missing member, a
// member of another type or a non-object along the path reads as absent, never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ebb {

// object[key], or a null value when `object` is not an object or has no such member.
const nlohmann::json& json_member(const nlohmann::json& object, std::string_view key);
// object[k0][k1]..., or null as above: json_at(so, {"metadata", "name"}).
const nlohmann::json& json_at(const nlohmann::json& object, std::initializer_list<std::string_view> path);

// The member as a string / integer / bool when it has that type.
std::string json_string(const nlohmann::json& object, std::initializer_list<std::string_view> path);
std::optional<std::int64_t> json_int(const nlohmann::json& object, std::initializer_list<std::string_view> path);
bool json_bool(const nlohmann::json& object, std::initializer_list<std::string_view> path, bool fallback = false);

// The members of `from` named in `keys` (those it has), as a new object; {} when `from` is not
// an object. For trimming cached objects to what a process reads.
nlohmann::json json_subset(const nlohmann::json& from,
                           std::initializer_list<std::string_view> keys);

// Sets object[key] = value unless it already holds exactly that; whether anything changed.
bool json_set(nlohmann::json& object, std::string_view key, nlohmann::json value);
// Removes object[key]; whether it was there.
bool json_erase(nlohmann::json& object, std::string_view key);

}  // namespace ebb
