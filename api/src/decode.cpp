// Manifest decoding: YAML/JSON text -> documents -> typed objects.
#include "ebb/api/decode.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "decode_context.h"
#include "decode_objects.h"
#include "ebb/json.h"
#include "ebb/strings.h"
#include "messages.h"
#include "yaml_json.h"

namespace ebb::api {

using nlohmann::json;

namespace {

bool is_plain_key(std::string_view key) {
  if (key.empty()) return false;
  for (unsigned char c : key)
    if (!std::isalnum(c) && c != '_' && c != '-') return false;
  return true;
}

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (is_plain_key(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += key;
    out += ']';
  }
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::optional<SourcePosition> Document::position_of(std::string_view path) const {
  std::string p(path);
  while (true) {
    if (auto it = source.find(p); it != source.end() && it->second.position.line > 0)
      return it->second.position;
    if (p.empty()) return std::nullopt;
    const auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? std::string() : p.substr(0, cut);
  }
}

namespace {

constexpr std::string_view kKedaGroupPrefix = "keda.sh/";
const std::vector<std::string> kKedaKinds = {
    std::string(kScaledObjectKind), std::string(kTriggerAuthenticationKind),
    std::string(kClusterTriggerAuthenticationKind), std::string(kScaledJobKind)};

void fill_identity(const json& value, Document& doc) {
  if (!value.is_object()) return;
  doc.api_version = json_string(value, {"apiVersion"});
  doc.kind = json_string(value, {"kind"});
  if (auto meta = value.find("metadata"); meta != value.end() && meta->is_object()) {
    doc.name = json_string(*meta, {"name"});
    doc.namespace_ = json_string(*meta, {"namespace"});
  }
}

template <class T, class Read>
void decode_typed(const json& value, detail::DecodeContext& ctx, Document& doc, Read read) {
  T object;
  if (read(value, ctx, object)) doc.object = std::move(object);
}

void decode_keda_kind(const json& value, detail::DecodeContext& ctx, Document& doc) {
  if (doc.api_version != kKedaApiVersion) {
    ctx.error("apiVersion",
              detail::unsupported_value(doc.api_version, {std::string(kKedaApiVersion)}));
    return;
  }
  if (doc.kind == kScaledObjectKind) {
    decode_typed<ScaledObject>(value, ctx, doc, detail::read_scaled_object);
  } else if (doc.kind == kTriggerAuthenticationKind ||
             doc.kind == kClusterTriggerAuthenticationKind) {
    decode_typed<TriggerAuthentication>(value, ctx, doc, detail::read_trigger_authentication);
  } else if (doc.kind == kScaledJobKind) {
    decode_typed<ScaledJob>(value, ctx, doc, detail::read_scaled_job);
  } else {
    auto message = detail::unsupported_value(doc.kind, kKedaKinds);
    if (auto hint = closest_match(doc.kind, kKedaKinds); !hint.empty())
      message += " (did you mean " + ebb::quoted(hint) + "?)";
    ctx.error("kind", std::move(message));
  }
}

void decode_value(const json& value, detail::DecodeContext& ctx, Document& doc) {
  if (!detail::expect_object(value, "", ctx)) return;
  fill_identity(value, doc);
  for (const char* key : {"apiVersion", "kind"}) {
    auto it = value.find(key);
    if (it == value.end() || it->is_null())
      ctx.error(key, detail::required_value());
    else
      detail::expect_string(*it, key, ctx);
  }
  if (!ctx.errors.empty()) return;
  if (doc.api_version.rfind(kKedaGroupPrefix, 0) == 0) {
    decode_keda_kind(value, ctx, doc);
  } else {
    if (doc.api_version.rfind("keda.k8s.io/", 0) == 0)
      ctx.warn("apiVersion",
               "keda.k8s.io is the KEDA v1 API; Ebb reads keda.sh/v1alpha1 objects "
               "only, so this document is ignored");
    doc.object = OtherObject{doc.api_version, doc.kind, doc.name, doc.namespace_, value};
  }
}

SourceMap sub_source(const SourceMap& source, const std::string& prefix) {
  SourceMap out;
  for (auto it = source.lower_bound(prefix); it != source.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    auto rest = it->first.substr(prefix.size());
    if (!rest.empty() && rest.front() == '.')
      rest.erase(0, 1);
    else if (!rest.empty() && rest.front() != '[')
      continue;  // "items[1]" vs "items[10]"
    out.emplace(std::move(rest), it->second);
  }
  return out;
}

Document make_document(const json& value, std::size_t index, std::size_t line, SourceMap source,
                       const DecodeOptions& options) {
  Document doc;
  doc.index = index;
  doc.line = line;
  doc.source = std::move(source);
  detail::DecodeContext ctx;
  ctx.source = &doc.source;
  ctx.strict = options.strict;
  decode_value(value, ctx, doc);
  doc.errors = std::move(ctx.errors);
  doc.warnings = std::move(ctx.warnings);
  if (!doc.errors.empty()) doc.object = std::monostate{};
  return doc;
}

bool is_v1_list(const json& value) {
  return value.is_object() && json_string(value, {"apiVersion"}) == "v1" &&
         json_string(value, {"kind"}) == "List";
}

// A v1 List (what `kubectl get -o yaml` prints for several objects) becomes one document per
// item, all with the List's index.
void append_documents(const json& value, std::size_t index, std::size_t line,
                      const SourceMap& source, const DecodeOptions& options,
                      std::vector<Document>& out) {
  if (!is_v1_list(value) || !value.contains("items") || !value["items"].is_array()) {
    out.push_back(make_document(value, index, line, source, options));
    return;
  }
  const auto& items = value["items"];
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto prefix = index_path("items", i);
    auto doc = make_document(items[i], index, line, sub_source(source, prefix), options);
    doc.list_item = i;
    if (auto pos = source.find(prefix); pos != source.end()) doc.line = pos->second.position.line;
    out.push_back(std::move(doc));
  }
}

Document failed_document(std::size_t index, std::size_t line, FieldErrors errors) {
  Document doc;
  doc.index = index;
  doc.line = line;
  doc.errors = std::move(errors);
  return doc;
}

// Tracks where the JSON parser is, so a repeated key can be reported by its field path.
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.push_back({true, {}, 0, {}});
        break;
      case json::parse_event_t::array_start:
        frames_.push_back({false, {}, 0, {}});
        break;
      case json::parse_event_t::key:
        on_key(parsed.get<std::string>());
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        next_item();
        break;
      case json::parse_event_t::value:
        next_item();
        break;
    }
    return true;
  }
  FieldErrors errors;

 private:
  struct Frame {
    bool object;
    std::string key;
    std::size_t index;
    std::set<std::string> keys;
  };

  void on_key(std::string key) {
    auto& frame = frames_.back();
    frame.key = std::move(key);
    if (!frame.keys.insert(frame.key).second)
      errors.push_back({path(), "duplicate key " + ebb::quoted(frame.key)});
  }
  void next_item() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::string path() const {
    std::string p;
    for (const auto& f : frames_) p = f.object ? child_path(p, f.key) : index_path(p, f.index);
    return p;
  }

  std::vector<Frame> frames_;
};

}  // namespace

std::vector<Document> decode_yaml(std::string_view text, const DecodeOptions& options) {
  std::vector<Document> out;
  std::size_t index = 0;
  for (auto& parsed : detail::parse_yaml_stream(text)) {
    if (!parsed.errors.empty()) {
      auto doc = failed_document(index, parsed.line, std::move(parsed.errors));
      fill_identity(parsed.value, doc);
      doc.source = std::move(parsed.source);
      out.push_back(std::move(doc));
    } else {
      append_documents(parsed.value, index, parsed.line, parsed.source, options, out);
    }
    ++index;
  }
  return out;
}

std::vector<Document> decode_json(std::string_view text, const DecodeOptions& options) {
  DuplicateKeyFinder finder;
  json value;
  try {
    value = json::parse(text, std::ref(finder));
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond double ("1e999"), which is not a
    // parse_error (found by fuzz/manifest_fuzz.cpp: it ended the process).
    std::string message = e.what();
    if (auto cut = message.find("] "); cut != std::string::npos) message.erase(0, cut + 2);
    return {failed_document(0, 0, {{"", "invalid JSON: " + message}})};
  }
  if (!finder.errors.empty()) {
    auto doc = failed_document(0, 0, std::move(finder.errors));
    fill_identity(value, doc);
    return {std::move(doc)};
  }
  std::vector<Document> out;
  append_documents(value, 0, 0, {}, options, out);
  return out;
}

std::vector<Document> decode_manifest(std::string_view text, const DecodeOptions& options) {
  const auto body = trim(text);
  if (!body.empty() && body.front() == '{') return decode_json(text, options);
  return decode_yaml(text, options);
}

namespace {

template <class T, class Read>
Result<T, FieldErrors> decode_one(const json& value, const DecodeOptions& options,
                                  FieldErrors* warnings, const std::vector<std::string>& kinds,
                                  Read read) {
  detail::DecodeContext ctx;
  ctx.strict = options.strict;
  T object;
  bool ok = read(value, ctx, object);
  if (ok && std::find(kinds.begin(), kinds.end(), object.kind) == kinds.end()) {
    ctx.error("kind", detail::unsupported_value(object.kind, kinds));
    ok = false;
  }
  if (ok && object.api_version != kKedaApiVersion) {
    ctx.error("apiVersion",
              detail::unsupported_value(object.api_version, {std::string(kKedaApiVersion)}));
    ok = false;
  }
  if (warnings) *warnings = std::move(ctx.warnings);
  if (!ok) return unexpected(std::move(ctx.errors));
  return object;
}

}  // namespace

Result<ScaledObject, FieldErrors> decode_scaled_object(const json& object,
                                                       const DecodeOptions& options,
                                                       FieldErrors* warnings) {
  return decode_one<ScaledObject>(object, options, warnings, {std::string(kScaledObjectKind)},
                                  detail::read_scaled_object);
}

Result<ScaledJob, FieldErrors> decode_scaled_job(const json& object, const DecodeOptions& options,
                                                 FieldErrors* warnings) {
  return decode_one<ScaledJob>(object, options, warnings, {std::string(kScaledJobKind)},
                               detail::read_scaled_job);
}

Result<TriggerAuthentication, FieldErrors> decode_trigger_authentication(
    const json& object, const DecodeOptions& options, FieldErrors* warnings) {
  return decode_one<TriggerAuthentication>(
      object, options, warnings,
      {std::string(kTriggerAuthenticationKind), std::string(kClusterTriggerAuthenticationKind)},
      detail::read_trigger_authentication);
}

Result<json, FieldErrors> yaml_to_json(std::string_view single_document) {
  auto parsed = detail::parse_yaml_stream(single_document);
  if (parsed.empty()) return json(nullptr);
  if (parsed.size() > 1)
    return unexpected(
        FieldErrors{{"", "expected one YAML document, found " + std::to_string(parsed.size())}});
  if (!parsed.front().errors.empty()) return unexpected(std::move(parsed.front().errors));
  return std::move(parsed.front().value);
}

}  // namespace ebb::api
