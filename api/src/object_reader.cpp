#include "object_reader.h"

#include <algorithm>
#include <limits>

#include "messages.h"
#include "schema.h"

namespace ebb::api::detail {

using nlohmann::json;

bool ObjectReader::has(std::string_view key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const json* ObjectReader::field(std::string_view key, Presence p) {
  known_.emplace_back(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (p == Presence::Required) ctx_.error(child_path(path_, key), required_value());
    return nullptr;
  }
  return &*it;
}

void ObjectReader::string(std::string_view key, std::string& out, Presence p) {
  const auto* value = field(key, p);
  if (value && expect_string(*value, child_path(path_, key), ctx_)) out = value->get<std::string>();
}

void ObjectReader::string(std::string_view key, std::optional<std::string>& out) {
  const auto* value = field(key, Presence::Optional);
  if (value && expect_string(*value, child_path(path_, key), ctx_)) out = value->get<std::string>();
}

void ObjectReader::boolean(std::string_view key, bool& out) {
  const auto* value = field(key, Presence::Optional);
  if (value && expect_bool(*value, child_path(path_, key), ctx_)) out = value->get<bool>();
}

void ObjectReader::int32(std::string_view key, std::optional<std::int32_t>& out) {
  const auto* value = field(key, Presence::Optional);
  std::int32_t v = 0;
  if (value && expect_int32(*value, child_path(path_, key), ctx_, v)) out = v;
}

void ObjectReader::int32(std::string_view key, std::int32_t& out, Presence p) {
  const auto* value = field(key, p);
  std::int32_t v = 0;
  if (value && expect_int32(*value, child_path(path_, key), ctx_, v)) out = v;
}

void ObjectReader::int64(std::string_view key, std::optional<std::int64_t>& out) {
  const auto* value = field(key, Presence::Optional);
  std::int64_t v = 0;
  if (value &&
      expect_int(*value, child_path(path_, key), ctx_, std::numeric_limits<std::int64_t>::min(),
                 std::numeric_limits<std::int64_t>::max(), v))
    out = v;
}

void ObjectReader::string_map(std::string_view key, std::map<std::string, std::string>& out,
                              Presence p) {
  const auto* value = field(key, p);
  const auto child = child_path(path_, key);
  if (!value || !expect_object(*value, child, ctx_)) return;
  for (const auto& [k, v] : value->items()) {
    if (v.is_null()) {
      // The API server drops it; say so, since the user may have meant an empty string.
      ctx_.warn(child_path(child, k), "null value is dropped (write \"\" for an empty string)");
      continue;
    }
    if (expect_string(v, child_path(child, k), ctx_)) out[k] = v.get<std::string>();
  }
}

void ObjectReader::string_list(std::string_view key, std::vector<std::string>& out) {
  const auto* value = field(key, Presence::Optional);
  const auto child = child_path(path_, key);
  if (!value || !expect_array(*value, child, ctx_)) return;
  for (std::size_t i = 0; i < value->size(); ++i)
    if (expect_string((*value)[i], index_path(child, i), ctx_))
      out.push_back((*value)[i].get<std::string>());
}

void ObjectReader::raw(std::string_view key, std::optional<json>& out, const Schema* schema) {
  const auto* value = field(key, Presence::Optional);
  if (!value) return;
  if (schema) {
    const auto before = ctx_.errors.size();
    check_structure(*value, *schema, child_path(path_, key), ctx_);
    if (ctx_.errors.size() != before) return;
  }
  out = *value;
}

void ObjectReader::raw(std::string_view key, json& out) {
  if (const auto* value = field(key, Presence::Optional)) out = *value;
}

void ObjectReader::finish() {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    auto message = unknown_field(key, known_);
    auto path = child_path(path_, key);
    ctx_.strict ? ctx_.error(std::move(path), std::move(message))
                : ctx_.warn(std::move(path), std::move(message));
  }
}

}  // namespace ebb::api::detail
