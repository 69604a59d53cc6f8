// Internal helpers shared by kube/ sources: base64, file reading, RFC 3339 times.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"
#include "ebb/strings.h"

namespace ebb::kube::detail {

using ebb::base64_encode;  // the one in ebb/strings.h, shared with net and the scalers
// Standard alphabet; whitespace ignored, padding optional. nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in);
Result<std::string> read_file(const std::string& path);

// "2024-05-01T10:00:00.123456Z" (Kubernetes MicroTime) and "2024-05-01T10:00:00Z" (Time).
std::string format_micro_time(std::chrono::system_clock::time_point t);
std::string format_time(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace ebb::kube::detail
