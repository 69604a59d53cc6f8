#include "schema.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

namespace ebb::testapi {

using json = nlohmann::json;

namespace {

// Root fields the API machinery owns; the schema never prunes, defaults or validates them.
bool root_owned(const std::string& path, const std::string& key) {
  return path.empty() && (key == "apiVersion" || key == "kind" || key == "metadata");
}

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
std::string item(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool flag(const json& schema, const char* key) {
  auto it = schema.find(key);
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

const json* sub(const json& schema, const char* key) {
  auto it = schema.find(key);
  return it == schema.end() ? nullptr : &*it;
}

// The OpenAPI type name of a value, as kube-apiserver reports it. An integral float counts as
// an integer: clients converting YAML (kubectl) send 2.0 as 2.
std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: {
      double d = v.get<double>();
      return std::isfinite(d) && d == std::floor(d) ? "integer" : "number";
    }
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool type_matches(const std::string& want, const std::string& actual) {
  return want == actual || (want == "number" && actual == "integer");
}

std::string render_bound(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return std::to_string(static_cast<std::int64_t>(d));
  return json(d).dump();
}

// Unicode code points, as Go's utf8.RuneCountInString counts them.
std::size_t rune_count(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Patterns are compiled once; an invalid one (Go RE2 syntax ECMAScript rejects) is not enforced.
const std::regex* compiled(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::optional<std::regex>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    std::optional<std::regex> re;
    try {
      re.emplace(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
    }
    it = cache.emplace(pattern, std::move(re)).first;
  }
  return it->second ? &*it->second : nullptr;
}

bool is_date_time(const std::string& s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$)");
  return std::regex_match(s, re);
}

// --- x-kubernetes-validations --------------------------------------------------------------
// CEL is not embedded. The rules understood are the bound comparisons controller-gen emits for
// "A relates to B, or to a constant when B is absent", which is what KEDA's ScaledObject uses:
//   !has(self.A) || self.A <op> (has(self.B) ? self.B : N)
// Whitespace is ignored. Any other rule is not enforced (documented in README.md).
struct BoundRule {
  std::string a, op, b;
  double fallback = 0;
};

std::optional<BoundRule> parse_bound_rule(const std::string& rule) {
  std::string s;
  for (char c : rule)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  static const std::regex re(
      R"(^!has\(self\.([A-Za-z_]\w*)\)\|\|self\.\1(<=|<|>=|>|==|!=)\(has\(self\.([A-Za-z_]\w*)\)\?self\.\3:(-?\d+(?:\.\d+)?)\)$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return std::nullopt;
  return BoundRule{m[1], m[2], m[3], std::stod(m[4])};
}

bool compare(double x, const std::string& op, double y) {
  if (op == "<=") return x <= y;
  if (op == "<") return x < y;
  if (op == ">=") return x >= y;
  if (op == ">") return x > y;
  if (op == "==") return x == y;
  return x != y;
}

bool is_number(const json& v) { return v.is_number(); }

void check_rules(const json& schema, const json& obj, const std::string& path, std::vector<FieldCause>& out) {
  const json* rules = sub(schema, "x-kubernetes-validations");
  if (!rules || !rules->is_array() || !obj.is_object()) return;
  for (const auto& r : *rules) {
    if (!r.is_object() || !r.contains("rule") || !r["rule"].is_string()) continue;
    auto bound = parse_bound_rule(r["rule"].get<std::string>());
    if (!bound) continue;
    auto a = obj.find(bound->a);
    if (a == obj.end()) continue;
    auto b = obj.find(bound->b);
    // A value of the wrong type already failed the schema; CEL would not get to run on it.
    if (!is_number(*a) || (b != obj.end() && !is_number(*b))) continue;
    double rhs = b != obj.end() ? b->get<double>() : bound->fallback;
    if (compare(a->get<double>(), bound->op, rhs)) continue;
    std::string message = r.contains("message") && r["message"].is_string() && !r["message"].get<std::string>().empty()
                              ? r["message"].get<std::string>()
                              : "failed rule: " + r["rule"].get<std::string>();
    std::string field = path;
    if (r.contains("fieldPath") && r["fieldPath"].is_string()) {
      std::string fp = r["fieldPath"];
      if (!fp.empty() && fp.front() == '.') fp.erase(0, 1);
      if (!fp.empty()) field = child(path, fp);
    }
    out.push_back({"FieldValueInvalid", field, "Invalid value: \"object\": " + message});
  }
}

// --- validation ----------------------------------------------------------------------------

void validate(const json& schema, const json& v, const std::string& path, bool root, std::vector<FieldCause>& out);

FieldCause invalid_value(const std::string& path, const json& v, const std::string& why) {
  return {"FieldValueInvalid", path, "Invalid value: " + render_field_value(v) + ": " + path + " in body " + why};
}

void validate_combinators(const json& schema, const json& v, const std::string& path, std::vector<FieldCause>& out) {
  if (const json* all = sub(schema, "allOf"); all && all->is_array())
    for (const auto& s : *all) validate(s, v, path, false, out);
  auto passes = [&](const json& s) {
    std::vector<FieldCause> tmp;
    validate(s, v, path, false, tmp);
    return tmp.empty();
  };
  if (const json* any = sub(schema, "anyOf"); any && any->is_array() && !any->empty()) {
    bool ok = false;
    for (const auto& s : *any) ok = ok || passes(s);
    if (!ok) out.push_back(invalid_value(path, v, "must validate at least one schema (anyOf)"));
  }
  if (const json* one = sub(schema, "oneOf"); one && one->is_array() && !one->empty()) {
    int n = 0;
    for (const auto& s : *one) n += passes(s) ? 1 : 0;
    if (n != 1) out.push_back(invalid_value(path, v, "must validate one and only one schema (oneOf)"));
  }
  if (const json* no = sub(schema, "not"); no && no->is_object() && passes(*no))
    out.push_back(invalid_value(path, v, "must not validate the schema (not)"));
}

void validate_number(const json& schema, const json& v, const std::string& path, std::vector<FieldCause>& out) {
  double d = v.get<double>();
  if (const json* m = sub(schema, "minimum"); m && m->is_number()) {
    double min = m->get<double>();
    if (flag(schema, "exclusiveMinimum") ? !(d > min) : !(d >= min))
      out.push_back(invalid_value(path, v, std::string("should be greater than ") +
                                               (flag(schema, "exclusiveMinimum") ? "" : "or equal to ") + render_bound(min)));
  }
  if (const json* m = sub(schema, "maximum"); m && m->is_number()) {
    double max = m->get<double>();
    if (flag(schema, "exclusiveMaximum") ? !(d < max) : !(d <= max))
      out.push_back(invalid_value(path, v, std::string("should be less than ") +
                                               (flag(schema, "exclusiveMaximum") ? "" : "or equal to ") + render_bound(max)));
  }
  if (const json* m = sub(schema, "multipleOf"); m && m->is_number() && m->get<double>() > 0) {
    double q = d / m->get<double>();
    if (std::fabs(q - std::round(q)) > 1e-9)
      out.push_back(invalid_value(path, v, "should be a multiple of " + render_bound(m->get<double>())));
  }
}

void validate_string(const json& schema, const json& v, const std::string& path, std::vector<FieldCause>& out) {
  const std::string& s = v.get_ref<const std::string&>();
  std::size_t len = rune_count(s);
  if (const json* m = sub(schema, "minLength"); m && m->is_number_integer() && len < m->get<std::size_t>())
    out.push_back(invalid_value(path, v, "should be at least " + std::to_string(m->get<std::size_t>()) + " chars long"));
  if (const json* m = sub(schema, "maxLength"); m && m->is_number_integer() && len > m->get<std::size_t>())
    out.push_back({"FieldValueTooLong", path, "Too long: may not be longer than " + std::to_string(m->get<std::size_t>())});
  if (const json* p = sub(schema, "pattern"); p && p->is_string()) {
    if (const std::regex* re = compiled(p->get<std::string>()); re && !std::regex_search(s, *re))
      out.push_back(invalid_value(path, v, "should match '" + p->get<std::string>() + "'"));
  }
  if (const json* f = sub(schema, "format"); f && f->is_string() && *f == "date-time" && !is_date_time(s))
    out.push_back(invalid_value(path, v, "must be of type date-time: " + render_field_value(v)));
}

void validate_array(const json& schema, const json& v, const std::string& path, std::vector<FieldCause>& out) {
  std::size_t n = v.size();
  if (const json* m = sub(schema, "minItems"); m && m->is_number_integer() && n < m->get<std::size_t>())
    out.push_back(invalid_value(path, json(n), "should have at least " + std::to_string(m->get<std::size_t>()) + " items"));
  if (const json* m = sub(schema, "maxItems"); m && m->is_number_integer() && n > m->get<std::size_t>())
    out.push_back({"FieldValueTooMany", path,
                   "Too many: " + std::to_string(n) + ": must have at most " + std::to_string(m->get<std::size_t>()) + " items"});
  const json* list_type = sub(schema, "x-kubernetes-list-type");
  std::string lt = list_type && list_type->is_string() ? list_type->get<std::string>() : "";
  if (flag(schema, "uniqueItems") || lt == "set") {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < n; ++i)
      if (!seen.insert(v[i].dump()).second)
        out.push_back({"FieldValueDuplicate", item(path, i), "Duplicate value: " + render_field_value(v[i])});
  } else if (lt == "map") {
    const json* keys = sub(schema, "x-kubernetes-list-map-keys");
    std::set<std::string> seen;
    for (std::size_t i = 0; keys && keys->is_array() && i < n; ++i) {
      if (!v[i].is_object()) continue;
      json key = json::object();
      for (const auto& k : *keys)
        if (k.is_string() && v[i].contains(k.get<std::string>())) key[k.get<std::string>()] = v[i][k.get<std::string>()];
      if (!seen.insert(key.dump()).second)
        out.push_back({"FieldValueDuplicate", item(path, i), "Duplicate value: " + key.dump()});
    }
  }
  if (const json* items = sub(schema, "items"); items && items->is_object())
    for (std::size_t i = 0; i < n; ++i) validate(*items, v[i], item(path, i), false, out);
}

void validate_object(const json& schema, const json& v, const std::string& path, bool root, std::vector<FieldCause>& out) {
  if (const json* req = sub(schema, "required"); req && req->is_array())
    for (const auto& k : *req)
      if (k.is_string() && !root_owned(root ? "" : "-", k.get<std::string>()) && !v.contains(k.get<std::string>()))
        out.push_back({"FieldValueRequired", child(path, k.get<std::string>()), "Required value"});
  if (const json* m = sub(schema, "minProperties"); m && m->is_number_integer() && v.size() < m->get<std::size_t>())
    out.push_back(invalid_value(path, json(v.size()), "should have at least " + std::to_string(m->get<std::size_t>()) + " properties"));
  if (const json* m = sub(schema, "maxProperties"); m && m->is_number_integer() && v.size() > m->get<std::size_t>())
    out.push_back({"FieldValueTooMany", path, "Too many: " + std::to_string(v.size()) + ": must have at most " +
                                                  std::to_string(m->get<std::size_t>()) + " items"});
  const json* props = sub(schema, "properties");
  const json* extra = sub(schema, "additionalProperties");
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (root && root_owned("", it.key())) continue;
    if (props && props->is_object() && props->contains(it.key())) {
      validate((*props)[it.key()], it.value(), child(path, it.key()), false, out);
    } else if (extra && extra->is_object()) {
      validate(*extra, it.value(), child(path, it.key()), false, out);
    }
  }
  check_rules(schema, v, path, out);
}

void validate(const json& schema, const json& v, const std::string& path, bool root, std::vector<FieldCause>& out) {
  if (!schema.is_object()) return;
  if (v.is_null() && flag(schema, "nullable")) return;
  const std::string actual = type_of(v);
  const json* type = sub(schema, "type");
  if (type && type->is_string() && !type->get<std::string>().empty() && !type_matches(*type, actual)) {
    out.push_back({"FieldValueTypeInvalid", path,
                   "Invalid value: \"" + actual + "\": " + path + " in body must be of type " + type->get<std::string>() +
                       ": \"" + actual + "\""});
    return;  // nothing else about a value of the wrong type is worth saying
  }
  if (flag(schema, "x-kubernetes-int-or-string") && actual != "integer" && actual != "string" && !sub(schema, "anyOf")) {
    out.push_back({"FieldValueTypeInvalid", path,
                   "Invalid value: \"" + actual + "\": " + path + " in body must be of type integer or string: \"" +
                       actual + "\""});
    return;
  }
  if (v.is_null()) {
    if (!type) return;  // untyped (preserved) values may be null
  }
  if (const json* e = sub(schema, "enum"); e && e->is_array()) {
    bool found = false;
    for (const auto& allowed : *e) found = found || allowed == v;
    if (!found) {
      std::string msg = "Unsupported value: " + render_field_value(v) + ": supported values: ";
      for (std::size_t i = 0; i < e->size(); ++i) msg += (i ? ", " : "") + render_field_value((*e)[i]);
      out.push_back({"FieldValueNotSupported", path, msg});
    }
  }
  if (v.is_number()) validate_number(schema, v, path, out);
  if (v.is_string()) validate_string(schema, v, path, out);
  if (v.is_array()) validate_array(schema, v, path, out);
  if (v.is_object()) validate_object(schema, v, path, root, out);
  validate_combinators(schema, v, path, out);
}

// --- pruning and defaulting ----------------------------------------------------------------

void prune(const json& schema, json& v, const std::string& path) {
  if (!schema.is_object() || flag(schema, "x-kubernetes-int-or-string")) return;
  if (v.is_object()) {
    const json* props = sub(schema, "properties");
    const json* extra = sub(schema, "additionalProperties");
    bool keep = flag(schema, "x-kubernetes-preserve-unknown-fields") || (extra && extra->is_boolean() && extra->get<bool>());
    for (auto it = v.begin(); it != v.end();) {
      if (root_owned(path, it.key())) {
        ++it;
      } else if (props && props->is_object() && props->contains(it.key())) {
        prune((*props)[it.key()], it.value(), child(path, it.key()));
        ++it;
      } else if (extra && extra->is_object()) {
        prune(*extra, it.value(), child(path, it.key()));
        ++it;
      } else if (keep) {
        ++it;
      } else {
        it = v.erase(it);
      }
    }
  } else if (v.is_array()) {
    if (const json* items = sub(schema, "items"); items && items->is_object())
      for (auto& e : v) prune(*items, e, path + "[]");
  }
}

void defaults(const json& schema, json& v, const std::string& path) {
  if (!schema.is_object()) return;
  if (v.is_object()) {
    const json* props = sub(schema, "properties");
    const json* extra = sub(schema, "additionalProperties");
    if (props && props->is_object()) {
      for (auto it = props->begin(); it != props->end(); ++it) {
        if (root_owned(path, it.key()) || !it.value().is_object()) continue;
        const json& prop = it.value();
        auto cur = v.find(it.key());
        bool null_not_allowed = cur != v.end() && cur->is_null() && !flag(prop, "nullable");
        if (cur == v.end() || null_not_allowed) {
          if (prop.contains("default")) v[it.key()] = prop["default"];
          else if (null_not_allowed) v.erase(it.key());
        }
      }
    }
    for (auto it = v.begin(); it != v.end();) {
      if (root_owned(path, it.key())) {
        ++it;
        continue;
      }
      const json* s = props && props->is_object() && props->contains(it.key()) ? &(*props)[it.key()]
                      : extra && extra->is_object()                             ? extra
                                                                                : nullptr;
      if (s && it.value().is_null() && !flag(*s, "nullable") && !s->contains("default")) {
        it = v.erase(it);
        continue;
      }
      if (s) defaults(*s, it.value(), child(path, it.key()));
      ++it;
    }
  } else if (v.is_array()) {
    if (const json* items = sub(schema, "items"); items && items->is_object())
      for (auto& e : v) defaults(*items, e, path + "[]");
  }
}

}  // namespace

std::string render_field_value(const json& value) {
  if (value.is_string()) return json(value.get<std::string>()).dump();
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return std::to_string(static_cast<std::int64_t>(d));
  }
  return value.dump();
}

void prune_unknown_fields(const json& schema, json& object) { prune(schema, object, ""); }

void apply_schema_defaults(const json& schema, json& object) { defaults(schema, object, ""); }

std::vector<FieldCause> validate_against_schema(const json& schema, const json& object) {
  std::vector<FieldCause> out;
  validate(schema, object, "", true, out);
  return out;
}

std::vector<FieldCause> admit_custom_resource(const json& schema, json& object) {
  prune_unknown_fields(schema, object);
  apply_schema_defaults(schema, object);
  return validate_against_schema(schema, object);
}

}  // namespace ebb::testapi
