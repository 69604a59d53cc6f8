// Reads one JSON object into a typed struct while checking its structure: every accessor names
// a field it knows, so finish() can report the fields nobody asked for as unknown (with a
// "did you mean" among the known ones). Nulls count as absent, as the API server prunes them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode_context.h"
#include "ebb/api/decode.h"

namespace ebb::api::detail {

struct Schema;

enum class Presence { Optional, Required };

class ObjectReader {
 public:
  // `object` must be a JSON object (callers check with expect_object first).
  ObjectReader(const nlohmann::json& object, std::string path, DecodeContext& ctx)
      : object_(object), path_(std::move(path)), ctx_(ctx) {}

  const std::string& path() const { return path_; }
  DecodeContext& context() { return ctx_; }
  bool has(std::string_view key) const;

  void string(std::string_view key, std::string& out, Presence p = Presence::Optional);
  void string(std::string_view key, std::optional<std::string>& out);
  void boolean(std::string_view key, bool& out);
  void int32(std::string_view key, std::optional<std::int32_t>& out);
  void int32(std::string_view key, std::int32_t& out, Presence p);
  void int64(std::string_view key, std::optional<std::int64_t>& out);
  void string_map(std::string_view key, std::map<std::string, std::string>& out,
                  Presence p = Presence::Optional);
  void string_list(std::string_view key, std::vector<std::string>& out);
  // Keeps the member as JSON; with a schema its structure is checked first.
  void raw(std::string_view key, std::optional<nlohmann::json>& out,
           const Schema* schema = nullptr);
  void raw(std::string_view key, nlohmann::json& out);

  // Nested object: read(ObjectReader&) fills the target; returns whether the member was present
  // and a map.
  template <class F>
  bool object(std::string_view key, Presence p, F&& read) {
    const auto* value = field(key, p);
    const auto child = child_path(path_, key);
    if (!value || !expect_object(*value, child, ctx_)) return false;
    ObjectReader reader(*value, child, ctx_);
    read(reader);
    reader.finish();
    return true;
  }

  // List of objects: read(ObjectReader&, index) per item.
  template <class F>
  void objects(std::string_view key, Presence p, F&& read) {
    const auto* value = field(key, p);
    const auto child = child_path(path_, key);
    if (!value || !expect_array(*value, child, ctx_)) return;
    for (std::size_t i = 0; i < value->size(); ++i) {
      const auto item_path = index_path(child, i);
      if (!expect_object((*value)[i], item_path, ctx_)) continue;
      ObjectReader reader((*value)[i], item_path, ctx_);
      read(reader, i);
      reader.finish();
    }
  }

  // Reports the members no accessor asked for (errors when strict, else warnings).
  void finish();

 private:
  const nlohmann::json* field(std::string_view key, Presence p);

  const nlohmann::json& object_;
  std::string path_;
  DecodeContext& ctx_;
  std::vector<std::string> known_;
};

}  // namespace ebb::api::detail
