// YAML stream -> JSON values, typed with the YAML 1.2 core schema (plain scalars only).
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/decode.h"
#include "ebb/result.h"

namespace ebb::api::detail {

struct YamlDocument {
  nlohmann::json value;
  std::size_t line = 0;  // 1-based line of the document's first node
  SourceMap source;      // paths relative to the document root
  FieldErrors errors;    // syntax errors, duplicate keys, unsupported tags
};

// Splits on `---` lines the way kubectl does (a line starting with "---" followed only by
// blanks or a comment), then parses each part; empty documents are dropped.
std::vector<YamlDocument> parse_yaml_stream(std::string_view text);

// The JSON value of a plain scalar under the core schema: null, bool, int, float or string.
nlohmann::json type_plain_scalar(std::string_view text);

// True for the YAML 1.1 boolean spellings that YAML 1.2 reads as strings (yes, no, on, off …).
bool is_yaml11_bool(std::string_view text);

}  // namespace ebb::api::detail
