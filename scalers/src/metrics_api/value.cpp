#include "metrics_api/value.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <regex>

#include <nlohmann/json.hpp>

#include "ebb/strings.h"
#include "go_utf8.h"
#include "metrics_api/exposition.h"
#include "metrics_api/xml.h"

namespace ebb::scalers::metrics_api {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string not_a_quantity(const std::string& location) {
  return "valueLocation " + ebb::quoted(location) +
         " points to a string that is not parseable as a Quantity";
}
std::string wrong_type(const std::string& location, const std::string& type) {
  return "valueLocation " + ebb::quoted(location) +
         " must point to a numeric value or a string parseable as a Quantity, got " + type;
}

Result<double> from_string(const std::string& text, const std::string& location) {
  auto v = parse_quantity(text);
  if (!v) return fail(not_a_quantity(location));
  return *v;
}

// ---------------------------------------------------------------------------------------------
// JSON: the GJSON subset (value.h)

struct Component {
  std::string text;       // unescaped
  bool wildcard = false;  // holds an unescaped '*' or '?'
  bool count = false;     // an unescaped "#"
};

Result<std::vector<Component>, std::string> split_gjson_path(std::string_view path) {
  std::vector<Component> out;
  Component current;
  bool escaped_any = false;
  const auto unsupported = [&](const std::string& what) {
    return unexpected(
        "valueLocation " + ebb::quoted(path) + " uses " + what +
        ", which Ebb's GJSON paths do not support (keys, array indexes, '#', '*', '?' and "
        "'\\' escapes are supported)");
  };
  if (path.empty()) return unsupported("an empty path");
  if (path.front() == '@' || path.front() == '[' || path.front() == '{' || path.front() == '!' ||
      path.starts_with(".."))
    return unsupported(path.front() == '@'      ? "a modifier"
                       : path.starts_with("..") ? "JSON lines"
                                                : "a multipath or literal");
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\' && i + 1 < path.size()) {
      current.text += path[++i];
      escaped_any = true;
      continue;
    }
    if (c == '.') {
      current.count = current.text == "#" && !escaped_any;
      out.push_back(std::move(current));
      current = {};
      escaped_any = false;
      continue;
    }
    if (c == '|') return unsupported("a pipe ('|')");
    if (c == '@' && current.text.empty()) return unsupported("a modifier");
    if (c == '#' && current.text.empty() && i + 1 < path.size() && path[i + 1] == '(')
      return unsupported("a query (\"#(...)\")");
    if (c == '*' || c == '?') current.wildcard = true;
    current.text += c;
  }
  current.count = current.text == "#" && !escaped_any;
  out.push_back(std::move(current));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// GJSON's result: a node of the document, or a number it computed ('#').
struct Found {
  const ordered_json* node = nullptr;  // nullptr: Null
  std::optional<double> count;
  bool collected = false;  // "arr.#.key": an array GJSON builds
};

Found walk_json(const ordered_json& doc, const std::vector<Component>& path) {
  const ordered_json* node = &doc;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const Component& c = path[i];
    if (node->is_array()) {
      if (c.count) {
        if (i + 1 == path.size()) return {nullptr, static_cast<double>(node->size())};
        return {nullptr, std::nullopt, true};
      }
      if (!all_digits(c.text)) return {};
      const auto index = std::strtoull(c.text.c_str(), nullptr, 10);
      if (index >= node->size()) return {};
      node = &(*node)[index];
    } else if (node->is_object()) {
      const ordered_json* next = nullptr;
      for (auto it = node->begin(); it != node->end(); ++it) {
        if (c.wildcard ? gjson_wildcard_match(it.key(), c.text) : it.key() == c.text) {
          next = &it.value();
          break;
        }
      }
      if (!next) return {};
      node = next;
    } else {
      return {};
    }
  }
  return {node};
}

Result<double> json_value(std::string_view body, const std::string& location) {
  auto path = split_gjson_path(location);
  if (!path) return fail(path.error());
  const auto doc = ordered_json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail("the response is not valid JSON");
  const Found found = walk_json(doc, *path);
  if (found.count) return *found.count;
  if (found.collected) return fail(wrong_type(location, "JSON"));
  if (!found.node || found.node->is_null()) return fail(wrong_type(location, "Null"));
  const auto& n = *found.node;
  if (n.is_number()) return n.get<double>();
  if (n.is_string()) return from_string(n.get<std::string>(), location);
  if (n.is_boolean()) return fail(wrong_type(location, n.get<bool>() ? "True" : "False"));
  return fail(wrong_type(location, "JSON"));
}

// ---------------------------------------------------------------------------------------------
// YAML: KEDA's GetValueByPath over yaml.v3's types

// yaml.v3's resolve() for a plain scalar, reduced to what the value check needs.
struct YamlScalar {
  enum Kind { Int, Float, String, Bool, Null, Uint64, Timestamp } kind = String;
  double number = 0;
};

// Go's strconv.ParseInt/ParseUint with base 0, after yaml.v3 removed '_'.
YamlScalar yaml_integer(std::string_view plain, bool& ok) {
  ok = false;
  bool negative = false;
  std::string_view s = plain;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    base = 16, s.remove_prefix(2);
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
    base = 8, s.remove_prefix(2);
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
    base = 2, s.remove_prefix(2);
  else if (s.size() > 1 && s[0] == '0')
    base = 8, s.remove_prefix(1);
  if (s.empty()) return {};
  std::uint64_t magnitude = 0;
  for (char c : s) {
    const int digit = std::isdigit(static_cast<unsigned char>(c))    ? c - '0'
                      : std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10
                                                                      : 99;
    if (digit >= base) return {};
    if (__builtin_mul_overflow(magnitude, static_cast<std::uint64_t>(base), &magnitude) ||
        __builtin_add_overflow(magnitude, static_cast<std::uint64_t>(digit), &magnitude))
      return {};
  }
  ok = true;
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!negative && magnitude <= int64_max) return {YamlScalar::Int, static_cast<double>(magnitude)};
  if (negative && magnitude <= int64_max + 1) return {YamlScalar::Int, -static_cast<double>(magnitude)};
  if (!negative) return {YamlScalar::Uint64, 0};
  ok = false;
  return {};
}

YamlScalar resolve_plain(const std::string& in) {
  static const std::regex timestamp(R"(^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$)");
  static const std::regex yaml_float(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  if (in == "true" || in == "True" || in == "TRUE" || in == "false" || in == "False" ||
      in == "FALSE")
    return {YamlScalar::Bool, 0};
  if (in.empty() || in == "~" || in == "null" || in == "Null" || in == "NULL")
    return {YamlScalar::Null, 0};
  if (in == ".nan" || in == ".NaN" || in == ".NAN") return {YamlScalar::Float, nan};
  if (in == ".inf" || in == ".Inf" || in == ".INF" || in == "+.inf" || in == "+.Inf" ||
      in == "+.INF")
    return {YamlScalar::Float, inf};
  if (in == "-.inf" || in == "-.Inf" || in == "-.INF") return {YamlScalar::Float, -inf};
  const char first = in.front();
  if (first == '.') {
    if (std::regex_match(in, yaml_float))
      return {YamlScalar::Float, std::strtod(in.c_str(), nullptr)};
    return {};
  }
  if (!std::isdigit(static_cast<unsigned char>(first)) && first != '+' && first != '-') return {};
  if (std::regex_match(in, timestamp)) return {YamlScalar::Timestamp, 0};
  std::string plain = in;
  std::erase(plain, '_');
  bool ok = false;
  const YamlScalar integer = yaml_integer(plain, ok);
  if (ok) return integer;
  if (std::regex_match(plain, yaml_float))
    return {YamlScalar::Float, std::strtod(plain.c_str(), nullptr)};
  return {};
}

Result<double> yaml_scalar_value(const YAML::Node& node, const std::string& location) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  // Quoted scalars ("!") and explicit !!str are strings; plain ("?") ones are resolved.
  YamlScalar scalar;
  if (tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float")
    scalar = resolve_plain(text);
  else if (tag == "tag:yaml.org,2002:null")
    scalar = {YamlScalar::Null, 0};
  switch (scalar.kind) {
    case YamlScalar::Int:
    case YamlScalar::Float:
      return scalar.number;
    case YamlScalar::String:
      return from_string(text, location);
    case YamlScalar::Bool:
      return fail(wrong_type(location, "bool"));
    case YamlScalar::Null:
      return fail(wrong_type(location, "<nil>"));
    case YamlScalar::Uint64:
      return fail(wrong_type(location, "uint64"));
    case YamlScalar::Timestamp:
      return fail(wrong_type(location, "time.Time"));
  }
  return fail(wrong_type(location, "<nil>"));
}

Result<double> yaml_value(std::string_view body, const std::string& location) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(body));
  } catch (const YAML::Exception& e) {
    return fail("the response is not valid YAML: " + e.msg + " (line " +
                std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap())
    return fail("the response is not a YAML mapping");
  YAML::Node current = root;
  for (const auto& key : split(location, '.')) {
    if (!current.IsDefined() || current.IsNull())
      return fail("key '" + key + "' not found in path '" + location + "'");
    YAML::Node next;
    bool found = false;
    if (current.IsMap()) {
      for (auto it = current.begin(); it != current.end(); ++it)
        if (it->first.IsScalar() && it->first.Scalar() == key) {
          next = it->second;
          found = true;
          break;
        }
    } else if (current.IsSequence() && all_digits(key)) {
      const auto index = std::strtoull(key.c_str(), nullptr, 10);
      if (index < current.size()) {
        next = current[index];
        found = true;
      }
    }
    if (!found) return fail("key '" + key + "' not found in path '" + location + "'");
    // KEDA returns the first scalar it meets, whatever remains of the path.
    if (next.IsScalar()) return yaml_scalar_value(next, location);
    if (next.IsNull()) return fail(wrong_type(location, "<nil>"));
    current = next;
  }
  return fail("path '" + location + "' does not lead to a value");
}

// ---------------------------------------------------------------------------------------------
// XML: the same walk over the element tree

Result<double> xml_value(std::string_view body, const std::string& location) {
  auto root = parse_xml(body);
  if (!root) return fail("the response is not valid XML: " + root.error().message);
  const auto keys = split(location, '.');
  if (keys.front() != root->name)
    return fail("key '" + keys.front() + "' not found in path '" + location + "'");
  // A level is the elements that share one name: one element, or a list of them.
  std::vector<const XmlElement*> level{&*root};
  for (std::size_t i = 1; i <= keys.size(); ++i) {
    if (level.size() == 1 && level.front()->children.empty())
      return from_string(level.front()->text, location);
    if (i == keys.size()) break;
    const std::string& key = keys[i];
    std::vector<const XmlElement*> next;
    if (level.size() > 1) {
      if (all_digits(key) && std::strtoull(key.c_str(), nullptr, 10) < level.size())
        next.push_back(level[std::strtoull(key.c_str(), nullptr, 10)]);
    } else {
      for (const auto& child : level.front()->children)
        if (child.name == key) next.push_back(&child);
    }
    if (next.empty()) return fail("key '" + key + "' not found in path '" + location + "'");
    level = std::move(next);
  }
  return fail("path '" + location + "' does not lead to a value");
}

}  // namespace

std::optional<double> parse_quantity(std::string_view s) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  const std::size_t start = i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  double value = std::strtod(std::string(s.substr(start, i - start)).c_str(), nullptr);
  const std::string_view suffix = s.substr(i);
  static const std::pair<std::string_view, double> kSuffixes[] = {
      {"", 1},        {"n", 1e-9},    {"u", 1e-6},    {"m", 1e-3},   {"k", 1e3},     {"M", 1e6},
      {"G", 1e9},     {"T", 1e12},    {"P", 1e15},    {"E", 1e18},   {"Ki", 0x1p10}, {"Mi", 0x1p20},
      {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60}};
  bool known = false;
  for (const auto& [name, scale] : kSuffixes)
    if (suffix == name) {
      value *= scale;
      known = true;
    }
  if (!known) {
    // An exponent: e or E, an optional sign, digits.
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return std::nullopt;
    std::string_view exponent = suffix.substr(1);
    bool negative_exponent = false;
    if (exponent.front() == '+' || exponent.front() == '-') {
      negative_exponent = exponent.front() == '-';
      exponent.remove_prefix(1);
    }
    if (!all_digits(exponent) || exponent.size() > 6) return std::nullopt;
    const int e = std::atoi(std::string(exponent).c_str());
    value *= std::pow(10.0, negative_exponent ? -e : e);
  }
  return negative ? -value : value;
}

Result<double> value_from_response(std::string_view body, const std::string& location,
                                   Format format) {
  Result<double> v = 0.0;
  switch (format) {
    case Format::Json:
      v = json_value(body, location);
      break;
    case Format::Yaml:
      v = yaml_value(body, location);
      break;
    case Format::Xml:
      v = xml_value(body, location);
      break;
    case Format::Prometheus:
      v = exposition_value(body, location);
      break;
  }
  if (v && !std::isfinite(*v))
    return fail("valueLocation " + ebb::quoted(location) + " points to " +
                (std::isnan(*v) ? std::string("NaN") : std::string(*v > 0 ? "+Inf" : "-Inf")) +
                ", which is not a usable metric value");
  return v;
}

}  // namespace ebb::scalers::metrics_api
