#include "yaml_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "ebb/strings.h"

namespace ebb::api::detail {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxNodes = 1'000'000;  // alias bombs expand exponentially
constexpr int kMaxDepth = 256;
constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool all_of(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!pred(c)) return false;
  return true;
}

int is_octal_digit(int c) {
  return c >= '0' && c <= '7';
}

std::string_view without_sign(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  return s;
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
  s = without_sign(s);
  std::size_t i = 0, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t fraction = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++fraction;
    if (digits == 0 && fraction == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!all_of(s.substr(i), [](int c) { return std::isdigit(c); })) return false;
    return true;
  }
  return i == s.size();
}

json integer_value(std::string_view text, std::string_view digits, int base, bool negative) {
  std::uint64_t magnitude = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return std::strtod(std::string(text).c_str(), nullptr);  // beyond 64 bits: keep the number
  if (!negative) {
    if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(magnitude);
    return magnitude;
  }
  if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return -static_cast<std::int64_t>(magnitude);
  if (magnitude == static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1)
    return std::numeric_limits<std::int64_t>::min();
  return -static_cast<double>(magnitude);
}

std::optional<json> typed_number(std::string_view s) {
  const bool negative = !s.empty() && s.front() == '-';
  const auto unsigned_part = without_sign(s);
  if (all_of(unsigned_part, [](int c) { return std::isdigit(c); }))
    return integer_value(s, unsigned_part, 10, negative);
  if (s.size() > 2 && s.substr(0, 2) == "0o" && all_of(s.substr(2), is_octal_digit))
    return integer_value(s, s.substr(2), 8, false);
  if (s.size() > 2 && s.substr(0, 2) == "0x" &&
      all_of(s.substr(2), [](int c) { return std::isxdigit(c); }))
    return integer_value(s, s.substr(2), 16, false);
  if (is_core_float(s)) return std::strtod(std::string(s).c_str(), nullptr);
  const auto inf = without_sign(s);
  if (inf == ".inf" || inf == ".Inf" || inf == ".INF")
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

SourcePosition position(const YAML::Mark& mark, std::size_t line_offset) {
  if (mark.line < 0) return {};
  return {static_cast<std::size_t>(mark.line) + 1 + line_offset,
          static_cast<std::size_t>(mark.column) + 1};
}

class Converter {
 public:
  Converter(std::size_t line_offset, YamlDocument& out) : line_offset_(line_offset), out_(out) {}

  json convert(const YAML::Node& node, const std::string& path, int depth) {
    if (++nodes_ > kMaxNodes)
      throw Abort{"document too large (over 1000000 nodes after expanding aliases)"};
    if (depth > kMaxDepth) throw Abort{"document nested too deeply (over 256 levels)"};
    switch (node.Type()) {
      case YAML::NodeType::Map:
        return mapping(node, path, depth);
      case YAML::NodeType::Sequence:
        return sequence(node, path, depth);
      case YAML::NodeType::Scalar:
        return scalar(node, path);
      default:
        return nullptr;  // Null and Undefined
    }
  }

  struct Abort {
    std::string message;
  };

 private:
  void remember(const std::string& path, const YAML::Mark& mark) {
    out_.source[path].position = position(mark, line_offset_);
  }

  std::string key_text(const YAML::Node& key, const std::string& path) {
    if (key.IsScalar()) return key.Scalar();
    if (key.IsNull()) return "null";
    error(path, "mapping keys must be strings, got a " + std::string(key.IsMap() ? "map" : "list") +
                    " at line " + std::to_string(position(key.Mark(), line_offset_).line));
    return {};
  }

  void error(const std::string& path, std::string message) {
    out_.errors.push_back({path, std::move(message)});
  }

  json mapping(const YAML::Node& node, const std::string& path, int depth) {
    json object = json::object();
    std::map<std::string, std::size_t> first_line;
    std::vector<YAML::Node> merges;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: the iterator's pair is a temporary proxy, a reference to it would dangle.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<") {
        merges.push_back(value);
        continue;
      }
      auto name = key_text(key, path);
      if (!key.IsScalar() && !key.IsNull()) continue;
      const auto child = child_path(path, name);
      const auto line = position(key.Mark(), line_offset_).line;
      if (auto [seen, inserted] = first_line.emplace(name, line); !inserted) {
        error(child, "duplicate key " + ebb::quoted(name) + " at line " + std::to_string(line) +
                         " (first defined at line " + std::to_string(seen->second) + ")");
        continue;
      }
      remember(child, key.Mark());
      object[name] = convert(value, child, depth + 1);
    }
    for (const auto& merge : merges) apply_merge(object, merge, path, depth);
    return object;
  }

  // `<<: *base` or `<<: [*a, *b]`: keys already present win, earlier sources beat later ones.
  void apply_merge(json& object, const YAML::Node& source, const std::string& path, int depth) {
    std::vector<YAML::Node> maps;
    if (source.IsMap()) maps.push_back(source);
    if (source.IsSequence())
      for (const auto& item : source) maps.push_back(item);
    for (const auto& m : maps) {
      if (!m.IsMap()) {
        error(child_path(path, "<<"), "merge key value must be a map or a list of maps");
        return;
      }
      const json merged = mapping(m, path, depth);
      for (const auto& [k, v] : merged.items())
        if (!object.contains(k)) object[k] = v;
    }
  }

  json sequence(const YAML::Node& node, const std::string& path, int depth) {
    json array = json::array();
    std::size_t i = 0;
    for (const auto& item : node) {
      const auto child = index_path(path, i++);
      remember(child, item.Mark());
      array.push_back(convert(item, child, depth + 1));
    }
    return array;
  }

  json scalar(const YAML::Node& node, const std::string& path) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!") return text;  // quoted, block, or explicitly non-specific: always a string
    if (tag == "?") {
      json value = type_plain_scalar(text);
      if (!value.is_string())
        out_.source[path].plain_text = text;
      else if (is_yaml11_bool(text))
        out_.source[path].yaml11_bool = true;
      return value;
    }
    return tagged(text, tag, path);
  }

  json tagged(const std::string& text, const std::string& tag, const std::string& path) {
    const auto name = tag.rfind(kTagPrefix, 0) == 0 ? tag.substr(kTagPrefix.size()) : "";
    if (name == "str") return text;
    json value = type_plain_scalar(text);
    const bool matches =
        (name == "int" && value.is_number_integer()) || (name == "float" && value.is_number()) ||
        (name == "bool" && value.is_boolean()) || (name == "null" && value.is_null());
    if (matches) {
      out_.source[path].plain_text = text;
      return name == "float" ? json(value.get<double>()) : value;
    }
    if (name.empty()) {
      error(path, "unsupported YAML tag " + ebb::quoted(tag));
    } else {
      error(path, "value " + ebb::quoted(text) + " is not a valid !!" + name);
    }
    return text;
  }

  std::size_t line_offset_;
  YamlDocument& out_;
  std::size_t nodes_ = 0;
};

// A line that separates documents for kubectl: "---" then nothing but blanks or a comment.
bool is_separator(std::string_view line) {
  if (line.substr(0, 3) != "---") return false;
  const auto rest = trim(line.substr(3));
  return rest.empty() || rest.front() == '#';
}

struct Chunk {
  std::string text;
  std::size_t first_line = 0;  // 0-based line of the chunk's first line in the file
};

std::vector<Chunk> split_documents(std::string_view text) {
  std::vector<Chunk> chunks(1);
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    if (is_separator(line)) {
      chunks.push_back({{}, line_number + 1});
    } else {
      chunks.back().text.append(line);
      chunks.back().text.push_back('\n');
    }
    ++line_number;
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return chunks;
}

// yaml-cpp 0.7 never gets past a ',' where a document's root node would start or after it has
// ended (",", "  ,x", "\"x\"\n,"): YAML::LoadAll then makes empty documents forever, allocating
// until the process dies (found by fuzz/manifest_fuzz.cpp). A first pass counts the documents with
// a handler that keeps nothing and stops once there are more than the text could hold (each
// needs a line); the mark is where the parser stands, i.e. the ','.
class DocumentCounter : public YAML::EventHandler {
 public:
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Where yaml-cpp would loop; nullopt when the text is safe to load (or fails with an exception,
// which LoadAll then reports with its own message).
std::optional<YAML::Mark> endless_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  const auto limit = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 2;
  try {
    for (std::size_t documents = 0; parser.HandleNextDocument(counter);) {
      if (++documents > limit) return counter.last;
    }
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

void parse_chunk(const Chunk& chunk, std::vector<YamlDocument>& out) {
  if (const auto mark = endless_documents(chunk.text)) {
    YamlDocument doc;
    doc.line = chunk.first_line + 1;
    const auto where = position(*mark, chunk.first_line);
    doc.errors.push_back({"", "invalid YAML at line " + std::to_string(where.line) + ", column " +
                                  std::to_string(where.column) +
                                  ": ',' outside a flow collection ([...] or {...})"});
    out.push_back(std::move(doc));
    return;
  }
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(chunk.text);
  } catch (const YAML::Exception& e) {
    YamlDocument doc;
    doc.line = chunk.first_line + 1;
    const auto where = position(e.mark, chunk.first_line);
    doc.errors.push_back({"", "invalid YAML at line " + std::to_string(where.line) + ", column " +
                                  std::to_string(where.column) + ": " + e.msg});
    out.push_back(std::move(doc));
    return;
  }
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;  // comments only, or an empty document between separators
    YamlDocument doc;
    doc.line = position(node.Mark(), chunk.first_line).line;
    Converter converter(chunk.first_line, doc);
    try {
      doc.value = converter.convert(node, "", 0);
    } catch (const Converter::Abort& abort) {
      doc.value = nullptr;
      doc.errors.push_back({"", abort.message});
    } catch (const YAML::Exception& e) {
      doc.value = nullptr;
      doc.errors.push_back({"", "invalid YAML: " + e.msg});
    }
    out.push_back(std::move(doc));
  }
}

}  // namespace

json type_plain_scalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (auto number = typed_number(s)) return *number;
  return std::string(s);
}

bool is_yaml11_bool(std::string_view s) {
  static const std::set<std::string_view> kSpellings = {"y",  "Y",   "yes", "Yes", "YES", "n",
                                                        "N",  "no",  "No",  "NO",  "on",  "On",
                                                        "ON", "off", "Off", "OFF"};
  return kSpellings.count(s) > 0;
}

std::vector<YamlDocument> parse_yaml_stream(std::string_view text) {
  std::vector<YamlDocument> out;
  for (const auto& chunk : split_documents(text)) parse_chunk(chunk, out);
  return out;
}

}  // namespace ebb::api::detail
