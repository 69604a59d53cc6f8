// Decoding manifests into keda.sh/v1alpha1 objects.
//
// Input is YAML (any number of `---` separated documents, split as kubectl splits them) or JSON.
// YAML is typed with the YAML 1.2 core schema, for PLAIN scalars only: 5 is an integer, true a
// boolean, ~ and null are null; a quoted "5" stays a string. Duplicate mapping keys are errors
// (kubectl rejects them too). Merge keys (<<) are honoured because kubectl honours them.
//
// Decoding checks the structure Kubernetes' strict field validation checks before any value
// rule: JSON types, unknown fields (with a "did you mean" hint), required members. Nulls in maps
// are dropped, as the API server prunes them. Value rules (minimums, enums, KEDA's own checks)
// are validate()'s job, so they also apply to objects built in code.
//
// Error paths name fields the way Kubernetes does: "spec.triggers[1].metadata.lagThreshold";
// keys that contain '.' or '/' are written in brackets: "metadata.annotations[a.b/c]".
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"
#include "ebb/result.h"

namespace ebb::api {

struct DecodeOptions {
  // Unknown fields are errors (kubectl's strict field validation). Turn off for objects read
  // from an API server whose CRD may be newer than Ebb: they become warnings and stay in `raw`.
  bool strict = true;
};

// Where a node sits in the YAML text (1-based). JSON input has no positions.
struct SourcePosition {
  std::size_t line = 0;
  std::size_t column = 0;
};

struct SourceNode {
  SourcePosition position;
  std::string plain_text;    // original text of a plain scalar that is not a string ("5", "1.50")
  bool yaml11_bool = false;  // plain yes/no/on/off/y/n: a string in YAML 1.2, a bool to kubectl
};
using SourceMap = std::map<std::string, SourceNode, std::less<>>;

// A document that is neither ScaledObject, ScaledJob nor (Cluster)TriggerAuthentication: Secrets and
// ConfigMaps the CLI can feed to resolve_auth_params(), anything else it ignores.
struct OtherObject {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string namespace_;
  nlohmann::json raw;
};

struct Document {
  std::size_t index = 0;  // 0-based among the non-empty documents of the file
  std::size_t line = 0;   // 1-based line where the document starts (0 for JSON input)
  std::optional<std::size_t> list_item;  // position in a v1 List's items, when expanded from one
  std::string api_version;
  std::string kind;
  std::string name;
  std::string namespace_;
  // monostate when `errors` is not empty.
  std::variant<std::monostate, ScaledObject, TriggerAuthentication, OtherObject, ScaledJob> object;
  FieldErrors errors;  // paths relative to the object (for List items: to the item)
  FieldErrors warnings;
  SourceMap source;  // paths relative to the object, like `errors`

  bool ok() const { return errors.empty(); }
  const ScaledObject* scaled_object() const { return std::get_if<ScaledObject>(&object); }
  const ScaledJob* scaled_job() const { return std::get_if<ScaledJob>(&object); }
  const TriggerAuthentication* trigger_authentication() const {
    return std::get_if<TriggerAuthentication>(&object);
  }
  const OtherObject* other() const { return std::get_if<OtherObject>(&object); }
  // Position of `path`, or of its nearest ancestor that has one (a missing field has none).
  std::optional<SourcePosition> position_of(std::string_view path) const;
};

// Every non-empty document of a YAML stream. Never fails as a whole: a syntax error is reported
// on the document that contains it, and the others still decode.
std::vector<Document> decode_yaml(std::string_view text, const DecodeOptions& options = {});
// One JSON value (an object, or a v1 List whose items are expanded).
std::vector<Document> decode_json(std::string_view text, const DecodeOptions& options = {});
// JSON when the text starts with '{', else YAML.
std::vector<Document> decode_manifest(std::string_view text, const DecodeOptions& options = {});

// One already-parsed object, e.g. from an API server response. `warnings` may be null.
Result<ScaledObject, FieldErrors> decode_scaled_object(const nlohmann::json& object,
                                                       const DecodeOptions& options = {},
                                                       FieldErrors* warnings = nullptr);
Result<ScaledJob, FieldErrors> decode_scaled_job(const nlohmann::json& object,
                                                 const DecodeOptions& options = {},
                                                 FieldErrors* warnings = nullptr);
Result<TriggerAuthentication, FieldErrors> decode_trigger_authentication(
    const nlohmann::json& object, const DecodeOptions& options = {},
    FieldErrors* warnings = nullptr);

// YAML text -> JSON value with the typing described above, for documents of any kind.
Result<nlohmann::json, FieldErrors> yaml_to_json(std::string_view single_document);

// Field path helpers shared by every error producer, so paths look the same everywhere.
std::string child_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);

}  // namespace ebb::api
