// State shared while decoding one object, and the type checks every field goes through.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ebb/api/decode.h"
#include "ebb/result.h"

namespace ebb::api::detail {

struct DecodeContext {
  FieldErrors errors;
  FieldErrors warnings;
  const SourceMap* source = nullptr;  // positions and original scalar text, YAML input only
  bool strict = true;

  void error(std::string path, std::string message) {
    errors.push_back({std::move(path), std::move(message)});
  }
  void warn(std::string path, std::string message) {
    warnings.push_back({std::move(path), std::move(message)});
  }
  const SourceNode* node(std::string_view path) const;
};

// Each check reports a type error at `path` (with a hint on how to fix the YAML) and returns
// false when `value` does not have the expected JSON type.
bool expect_string(const nlohmann::json& value, const std::string& path, DecodeContext& ctx);
bool expect_bool(const nlohmann::json& value, const std::string& path, DecodeContext& ctx);
bool expect_object(const nlohmann::json& value, const std::string& path, DecodeContext& ctx);
bool expect_array(const nlohmann::json& value, const std::string& path, DecodeContext& ctx);
// Integers also accept integral floats (1.0), as Kubernetes' schema validation does.
bool expect_int(const nlohmann::json& value, const std::string& path, DecodeContext& ctx,
                std::int64_t minimum, std::int64_t maximum, std::int64_t& out);
bool expect_int32(const nlohmann::json& value, const std::string& path, DecodeContext& ctx,
                  std::int32_t& out);
// Kubernetes int-or-string (HPA behavior tolerance): integer or string.
bool expect_int_or_string(const nlohmann::json& value, const std::string& path, DecodeContext& ctx);

}  // namespace ebb::api::detail
