#include "decode_context.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "ebb/strings.h"
#include "messages.h"

namespace ebb::api::detail {

using nlohmann::json;

const SourceNode* DecodeContext::node(std::string_view path) const {
  if (!source) return nullptr;
  auto it = source->find(path);
  return it == source->end() ? nullptr : &it->second;
}

namespace {

// How the user wrote a non-string scalar: the YAML text when known ("1.50"), else JSON.
std::string written_as(const json& value, const std::string& path, const DecodeContext& ctx) {
  if (const auto* n = ctx.node(path); n && !n->plain_text.empty()) return n->plain_text;
  return value.dump();
}

bool looks_like_integer(std::string_view s) {
  std::int64_t v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

void type_error(const json& value, const std::string& path, DecodeContext& ctx,
                std::string_view expected, std::string hint = {}) {
  std::string message = "must be " + std::string(expected) + ", got " + describe(value);
  if (!hint.empty()) message += " (" + hint + ")";
  ctx.error(path, std::move(message));
}

}  // namespace

bool expect_string(const json& value, const std::string& path, DecodeContext& ctx) {
  if (value.is_string()) {
    // YAML 1.2 reads a plain `yes` as a string; kubectl's YAML 1.1 parser reads a boolean and
    // the API server would reject the object, so the user should quote it.
    if (const auto* n = ctx.node(path); n && n->yaml11_bool)
      ctx.warn(path, "plain " + value.get<std::string>() +
                         " is a boolean to kubectl (YAML 1.1), which would reject it here; quote "
                         "it: " +
                         ebb::quoted(value.get<std::string>()));
    return true;
  }
  std::string hint;
  if (value.is_number() || value.is_boolean())
    hint = "quote it: " + ebb::quoted(written_as(value, path, ctx));
  type_error(value, path, ctx, "a string", std::move(hint));
  return false;
}

bool expect_bool(const json& value, const std::string& path, DecodeContext& ctx) {
  if (value.is_boolean()) return true;
  std::string hint;
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "true" || s == "false")
      hint = "remove the quotes";
    else if (const auto* n = ctx.node(path); n && n->yaml11_bool)
      hint = "YAML 1.2 reads plain " + s + " as a string: write true or false";
  }
  type_error(value, path, ctx, "a boolean", std::move(hint));
  return false;
}

bool expect_object(const json& value, const std::string& path, DecodeContext& ctx) {
  if (value.is_object()) return true;
  type_error(value, path, ctx, "a map");
  return false;
}

bool expect_array(const json& value, const std::string& path, DecodeContext& ctx) {
  if (value.is_array()) return true;
  type_error(value, path, ctx, "a list");
  return false;
}

bool expect_int(const json& value, const std::string& path, DecodeContext& ctx,
                std::int64_t minimum, std::int64_t maximum, std::int64_t& out) {
  const char* range_name =
      maximum == std::numeric_limits<std::int32_t>::max() ? "a 32-bit integer" : "a 64-bit integer";
  if (value.is_number_integer() && !value.is_number_unsigned()) {
    out = value.get<std::int64_t>();
  } else if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(maximum)) {
      type_error(value, path, ctx, range_name);
      return false;
    }
    out = static_cast<std::int64_t>(u);
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    // 2^63 is exactly representable; anything at or beyond it is out of every range we accept.
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) >= 9223372036854775808.0) {
      type_error(value, path, ctx, "an integer");
      return false;
    }
    out = static_cast<std::int64_t>(d);
  } else {
    std::string hint;
    if (value.is_string() && looks_like_integer(value.get_ref<const std::string&>()))
      hint = "remove the quotes";
    type_error(value, path, ctx, "an integer", std::move(hint));
    return false;
  }
  if (out < minimum || out > maximum) {
    type_error(value, path, ctx, range_name);
    return false;
  }
  return true;
}

bool expect_int32(const json& value, const std::string& path, DecodeContext& ctx,
                  std::int32_t& out) {
  std::int64_t v = 0;
  if (!expect_int(value, path, ctx, std::numeric_limits<std::int32_t>::min(),
                  std::numeric_limits<std::int32_t>::max(), v))
    return false;
  out = static_cast<std::int32_t>(v);
  return true;
}

bool expect_int_or_string(const json& value, const std::string& path, DecodeContext& ctx) {
  if (value.is_string() || value.is_number_integer()) return true;
  type_error(value, path, ctx, "an integer or a string");
  return false;
}

}  // namespace ebb::api::detail
