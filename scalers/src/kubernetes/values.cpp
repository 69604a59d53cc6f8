#include "kubernetes/values.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "ebb/strings.h"
#include "go_strconv.h"
#include "go_utf8.h"

namespace ebb::scalers::kubernetes {
namespace {

std::string q(std::string_view s, bool secret) {
  return secret ? std::string("<redacted>") : quoted(s);
}

// --- Go's strconv and fmt scanning --------------------------------------------------------------

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

// strconv.ParseFloat(s, 64) with its NumError text; `shown` is the text the message quotes.
Result<double, std::string> parse_float(std::string_view s, std::string_view shown, bool secret) {
  auto r = go_parse_float(s);
  if (!r.error.empty())
    return unexpected("strconv.ParseFloat: parsing " + q(shown, secret) + ": " + r.error);
  return r.value;
}

// strconv.Atoi for the binary exponent of fmt's "1.5p3" form.
std::optional<long long> go_atoi(std::string_view s) {
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) ++i;
  if (i == s.size()) return std::nullopt;
  long long n = 0;
  for (std::size_t k = i; k < s.size(); ++k) {
    if (!is_digit(s[k])) return std::nullopt;
    if (n > 100000)
      n = 100000;  // far beyond any finite result; ldexp saturates
    else
      n = n * 10 + (s[k] - '0');
  }
  return s[0] == '-' ? -n : n;
}

// A fmt scan state over a string: runes, with Go's accept().
class Scan {
 public:
  explicit Scan(std::string_view s) : s_(s) {}
  // SkipSpace for Sscanf (newlines are not spaces), then notEOF. nullopt when fine.
  std::optional<std::string> start() {
    while (pos_ < s_.size()) {
      const auto [r, n] = go_decode_rune(s_, pos_);
      if (r == '\r' && pos_ + n < s_.size() && s_[pos_ + n] == '\n') {
        pos_ += n;
        continue;
      }
      if (r == '\n') return std::string("unexpected newline");
      if (!go_is_space(r)) break;
      pos_ += n;
    }
    if (pos_ >= s_.size()) return std::string("EOF");
    return std::nullopt;
  }
  bool accept(std::string_view chars) {
    if (pos_ >= s_.size() || chars.find(s_[pos_]) == std::string_view::npos) return false;
    token_ += s_[pos_++];
    return true;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  const std::string& token() const { return token_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  std::string token_;
};

// --- apimachinery quantities ---------------------------------------------------------------------

// math.Pow10, with Go's tables so that results match bit for bit.
double pow10(long long n) {
  static const std::array<double, 32> tab = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23,
                                             1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31};
  static const std::array<double, 10> pos32 = {1e0,   1e32,  1e64,  1e96,  1e128,
                                               1e160, 1e192, 1e224, 1e256, 1e288};
  static const std::array<double, 11> neg32 = {1e-0,   1e-32,  1e-64,  1e-96,  1e-128, 1e-160,
                                               1e-192, 1e-224, 1e-256, 1e-288, 1e-320};
  if (n >= 0 && n <= 308)
    return pos32[static_cast<std::size_t>(n / 32)] * tab[static_cast<std::size_t>(n % 32)];
  if (n < 0 && n >= -323)
    return neg32[static_cast<std::size_t>(-n / 32)] / tab[static_cast<std::size_t>(-n % 32)];
  return n > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

const char* const kErrFormatWrong =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const char* const kErrSuffix = "unable to parse quantity's suffix";
const char* const kErrNumeric = "unable to parse numeric part of quantity";

// A decimal digit string times 2^k, exactly.
std::string times_power_of_two(std::string digits, int k) {
  for (int i = 0; i < k; ++i) {
    int carry = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
      const int d = (*it - '0') * 2 + carry;
      *it = static_cast<char>('0' + d % 10);
      carry = d / 10;
    }
    if (carry) digits.insert(digits.begin(), static_cast<char>('0' + carry));
  }
  return digits;
}

bool digits_greater(const std::string& a, const std::string& b) {  // no leading zeros
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

std::string strip_zeros(std::string s) {
  const auto first = s.find_first_not_of('0');
  return first == std::string::npos ? "0" : s.substr(first);
}

}  // namespace

// --- fmt.Sscanf ----------------------------------------------------------------------------------

Result<double, std::string> scan_float(std::string_view s, bool secret) {
  Scan scan(s);
  if (auto err = scan.start()) return unexpected(*err);
  // floatToken
  if (scan.accept("nN") && scan.accept("aA") && scan.accept("nN"))
    return parse_float(scan.token(), scan.token(), secret);
  scan.accept("+-");
  if (scan.accept("iI") && scan.accept("nN") && scan.accept("fF"))
    return parse_float(scan.token(), scan.token(), secret);
  std::string_view digits = "0123456789_", exp = "eEpP";
  if (scan.accept("0") && scan.accept("xX")) {
    digits = "0123456789aAbBcCdDeEfF_";
    exp = "pP";
  }
  while (scan.accept(digits)) {
  }
  if (scan.accept(".")) {
    while (scan.accept(digits)) {
    }
  }
  if (scan.accept(exp)) {
    scan.accept("+-");
    while (scan.accept("0123456789_")) {
    }
  }
  const std::string& token = scan.token();
  // convertFloat: fmt's own decimal-mantissa-with-binary-exponent form "1.5p3".
  const auto p = token.find('p');
  if (p != std::string::npos && token.find_first_of("xX") == std::string::npos) {
    auto mantissa = parse_float(std::string_view(token).substr(0, p), token, secret);
    if (!mantissa) return mantissa;
    const auto e = go_atoi(std::string_view(token).substr(p + 1));
    if (!e) return unexpected("strconv.Atoi: parsing " + q(token, secret) + ": invalid syntax");
    return std::ldexp(*mantissa, static_cast<int>(std::clamp<long long>(*e, -100000, 100000)));
  }
  return parse_float(token, token, secret);
}

Result<double, std::string> scan_int(std::string_view s, bool secret) {
  Scan scan(s);
  if (auto err = scan.start()) return unexpected(*err);
  scan.accept("+-");
  if (scan.at_end()) return unexpected(std::string("EOF"));
  if (!scan.accept("0123456789")) return unexpected(std::string("expected integer"));
  while (scan.accept("0123456789")) {
  }
  const std::string& token = scan.token();
  errno = 0;
  const long long v = std::strtoll(token.c_str(), nullptr, 10);
  if (errno == ERANGE)
    return unexpected("strconv.ParseInt: parsing " + q(token, secret) + ": value out of range");
  return static_cast<double>(v);
}

// --- resource.ParseQuantity
// ------------------------------------------------------------------------

Result<double, std::string> parse_quantity(std::string_view str) {
  const auto wrong = [] { return unexpected(std::string(kErrFormatWrong)); };
  if (str.empty()) return wrong();
  if (str == "0") return 0.0;

  // parseQuantityString
  bool positive = true;
  std::size_t pos = 0;
  const std::size_t end = str.size();
  std::string_view num, denom, suffix;
  std::size_t numeric_end = end;  // the number before the suffix
  bool done = false;
  if (str[0] == '-') {
    positive = false;
    ++pos;
  } else if (str[0] == '+') {
    ++pos;
  }
  while (pos < end && str[pos] == '0') ++pos;
  if (pos >= end) {
    num = "0";
    done = true;
  }
  if (!done) {
    std::size_t i = pos;
    while (i < end && is_digit(str[i])) ++i;
    num = str.substr(pos, i - pos);
    pos = i;
    if (pos >= end) done = true;
  }
  if (!done) {
    if (num.empty()) num = "0";
    if (str[pos] == '.') {
      ++pos;
      std::size_t i = pos;
      while (i < end && is_digit(str[i])) ++i;
      denom = str.substr(pos, i - pos);
      pos = i;
      if (pos >= end) done = true;
    }
  }
  if (!done) {
    const std::size_t suffix_start = pos;
    numeric_end = pos;
    std::size_t i = pos;
    while (i < end && std::string_view("eEinumkKMGTP").find(str[i]) != std::string_view::npos) ++i;
    pos = i;
    if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
    while (pos < end && is_digit(str[pos])) ++pos;
    if (pos < end) return wrong();
    suffix = str.substr(suffix_start);
  }
  if (num.empty()) num = "0";

  // quantitySuffixer.interpret
  int base = 10;
  long long exponent = 0;
  bool binary = false;
  static const std::array<std::pair<std::string_view, int>, 10> decimal = {{{"", 0},
                                                                            {"n", -9},
                                                                            {"u", -6},
                                                                            {"m", -3},
                                                                            {"k", 3},
                                                                            {"M", 6},
                                                                            {"G", 9},
                                                                            {"T", 12},
                                                                            {"P", 15},
                                                                            {"E", 18}}};
  static const std::array<std::pair<std::string_view, int>, 6> binaries = {
      {{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}}};
  bool found = false;
  for (const auto& [s, e] : decimal)
    if (suffix == s) {
      exponent = e;
      found = true;
    }
  for (const auto& [s, e] : binaries)
    if (suffix == s) {
      base = 2;
      exponent = e;
      binary = true;
      found = true;
    }
  if (!found) {
    if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
      errno = 0;
      const std::string digits(suffix.substr(1));
      char* stop = nullptr;
      const long long parsed = std::strtoll(digits.c_str(), &stop, 10);
      if (errno == ERANGE || *stop != '\0' || digits.empty() || digits == "+" || digits == "-")
        return unexpected(std::string(kErrSuffix));
      exponent =
          static_cast<std::int32_t>(static_cast<std::uint32_t>(parsed));  // int32(parsed) wraps
    } else {
      return unexpected(std::string(kErrSuffix));
    }
  }

  // The int64 fast path: value * mantissa with a decimal scale of at least -9.
  const std::string shifted = std::string(num) + std::string(denom);
  long long precision = 0, scale = 0;
  long long mantissa = 1;
  if (!binary) {
    scale = exponent;
    precision = 18 - static_cast<long long>(num.size() + denom.size());
  } else if (denom.empty()) {
    mantissa = 1LL << exponent;
    precision = 15 - static_cast<long long>(num.size()) -
                static_cast<long long>(static_cast<float>(exponent) * 3 / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= static_cast<long long>(denom.size());
    if (scale >= -9) {
      errno = 0;
      const long long value = std::strtoll(shifted.c_str(), nullptr, 10);
      if (errno == ERANGE) return unexpected(std::string(kErrNumeric));
      long long result = 0;
      if (!__builtin_mul_overflow(value, mantissa, &result)) {
        if (!positive) result = -result;
        return static_cast<double>(result) * (scale == 0 ? 1.0 : pow10(scale));
      }
    }
  }

  // The inf.Dec path: exact digits, the suffix applied, rounded up (away from zero) to a
  // multiple of 10^-9; binary amounts capped at the int64 maximum. inf.Dec refuses a number
  // without digits ("Ei", "+.Pi").
  if (str.substr(0, numeric_end).find_first_of("0123456789") == std::string_view::npos)
    return unexpected(std::string(kErrNumeric));
  std::string digits = strip_zeros(shifted);
  long long dec_scale = static_cast<long long>(denom.size());  // value = digits * 10^-dec_scale
  if (base == 10)
    dec_scale -= exponent;
  else
    digits = times_power_of_two(digits, static_cast<int>(exponent));
  if (digits != "0") {
    if (dec_scale > 9) {
      const auto drop = dec_scale - 9;
      bool nonzero = false;
      if (drop >= static_cast<long long>(digits.size())) {
        digits = "1";
      } else {
        for (std::size_t k = digits.size() - static_cast<std::size_t>(drop); k < digits.size(); ++k)
          nonzero = nonzero || digits[k] != '0';
        digits.resize(digits.size() - static_cast<std::size_t>(drop));
        if (nonzero) {
          int k = static_cast<int>(digits.size()) - 1;
          while (k >= 0 && digits[static_cast<std::size_t>(k)] == '9')
            digits[static_cast<std::size_t>(k--)] = '0';
          if (k < 0)
            digits.insert(digits.begin(), '1');
          else
            ++digits[static_cast<std::size_t>(k)];
        }
        digits = strip_zeros(digits);
      }
    } else if (dec_scale < 9) {
      if (static_cast<long long>(digits.size()) + (9 - dec_scale) > 400) {
        digits = std::string(400, '9');  // beyond any double: infinity, or the binary cap below
      } else {
        digits.append(static_cast<std::size_t>(9 - dec_scale), '0');
      }
    }
    dec_scale = 9;
    if (binary && digits_greater(digits, "9223372036854775807000000000"))
      digits = "9223372036854775807000000000";
  }
  double value = std::strtod(digits.c_str(), nullptr);
  if (digits != "0") value *= pow10(-dec_scale);
  return positive ? value : -value;
}

// --- gjson ---------------------------------------------------------------------------------------

std::optional<std::string> unsupported_json_path(std::string_view path) {
  const auto no = [&](const std::string& what) {
    return "valueLocation " + quoted(path) + " uses " + what +
           ", which Ebb's gjson paths do not support (dotted keys, \\ escapes, * and ? wildcards, "
           "array indexes, # "
           "and #.key are supported)";
  };
  if (path.starts_with("..")) return no("JSON lines (..)");
  if (path.starts_with("!")) return no("a literal (!)");
  bool component_start = true;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      ++i;
      component_start = false;
      continue;
    }
    if (component_start && c == '@') return no("a modifier (@)");
    if (component_start && (c == '[' || c == '{')) return no("a multipath ([...] or {...})");
    if (c == '|') return no("a pipe (|)");
    if (c == '#' && i + 1 < path.size() && (path[i + 1] == '(' || path[i + 1] == '['))
      return no("a query (#(...))");
    component_start = c == '.';
  }
  return std::nullopt;
}

namespace {

struct Component {
  std::string text;
  bool wild = false;
};

std::vector<Component> json_components(std::string_view path) {
  std::vector<Component> out(1);
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (++i < path.size()) out.back().text += path[i];
    } else if (c == '.') {
      out.emplace_back();
    } else {
      if (c == '*' || c == '?') out.back().wild = true;
      out.back().text += c;
    }
  }
  return out;
}

// A JSON value as gjson sees it: numbers keep their text (Float() and Int() read it), objects
// keep every member in order, duplicates included (gjson returns the first).
// (Members are a struct of their own, not std::pair: clang rejects a std::pair holding the type
// being defined, through libstdc++'s default-constructibility checks.)
struct JsonMember;
struct JsonValue {
  enum class Type { Null, False, True, Number, String, Array, Object } type = Type::Null;
  std::string text;                 // Number: the literal; String: the unescaped value
  std::vector<JsonMember> members;  // Object
  std::vector<JsonValue> items;     // Array
};
struct JsonMember {
  std::string key;
  JsonValue value;
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}
  std::optional<JsonValue> document() {
    auto v = value(0);
    skip();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::optional<std::string> string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') return std::nullopt;
    ++pos_;
    std::string out;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          auto hex4 = [&]() -> std::optional<char32_t> {
            if (pos_ + 4 > s_.size()) return std::nullopt;
            char32_t r = 0;
            for (int k = 0; k < 4; ++k) {
              const char h = s_[pos_++];
              if (!is_hex(h)) return std::nullopt;
              r = r * 16 + static_cast<char32_t>(is_digit(h) ? h - '0' : lower(h) - 'a' + 10);
            }
            return r;
          };
          auto r = hex4();
          if (!r) return std::nullopt;
          char32_t cp = *r;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            auto low = hex4();
            if (!low) return std::nullopt;
            cp = (*low >= 0xDC00 && *low <= 0xDFFF)
                     ? 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00)
                     : 0xFFFD;
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::optional<JsonValue> value(int depth) {
    if (depth > 512) return std::nullopt;
    skip();
    if (pos_ >= s_.size()) return std::nullopt;
    JsonValue v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.type = JsonValue::Type::Object;
      skip();
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        skip();
        auto key = string();
        if (!key) return std::nullopt;
        skip();
        if (pos_ >= s_.size() || s_[pos_++] != ':') return std::nullopt;
        auto member = value(depth + 1);
        if (!member) return std::nullopt;
        v.members.push_back(JsonMember{std::move(*key), std::move(*member)});
        skip();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') {
          ++pos_;
          return v;
        }
        return std::nullopt;
      }
    }
    if (c == '[') {
      ++pos_;
      v.type = JsonValue::Type::Array;
      skip();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        auto item = value(depth + 1);
        if (!item) return std::nullopt;
        v.items.push_back(std::move(*item));
        skip();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') {
          ++pos_;
          return v;
        }
        return std::nullopt;
      }
    }
    if (c == '"') {
      auto text = string();
      if (!text) return std::nullopt;
      v.type = JsonValue::Type::String;
      v.text = std::move(*text);
      return v;
    }
    if (literal("true")) return JsonValue{JsonValue::Type::True, {}, {}, {}};
    if (literal("false")) return JsonValue{JsonValue::Type::False, {}, {}, {}};
    if (literal("null")) return JsonValue{JsonValue::Type::Null, {}, {}, {}};
    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const auto start = pos_;
    if (s_[pos_] == '-') ++pos_;
    const auto digits = [&] {
      const auto from = pos_;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '0')
      ++pos_;
    else if (!digits())
      return std::nullopt;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return std::nullopt;
    }
    if (pos_ < s_.size() && lower(s_[pos_]) == 'e') {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return std::nullopt;
    }
    v.type = JsonValue::Type::Number;
    v.text = std::string(s_.substr(start, pos_ - start));
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// gjson.Get: the value at the path, or nullptr when it does not exist. "#" on an array is its
// length; "#.key" collects every element's key into an array (reported by its type only).
const JsonValue* gjson_get(const JsonValue& doc, const std::vector<Component>& parts,
                           JsonValue& scratch) {
  const JsonValue* current = &doc;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& part = parts[i];
    if (current->type == JsonValue::Type::Object) {
      const JsonValue* next = nullptr;
      for (const auto& [key, member] : current->members)
        if (part.wild ? gjson_wildcard_match(key, part.text) : key == part.text) {
          next = &member;
          break;
        }
      if (!next) return nullptr;
      current = next;
    } else if (current->type == JsonValue::Type::Array) {
      if (part.text == "#") {
        scratch = JsonValue{};
        if (i + 1 == parts.size()) {
          scratch.type = JsonValue::Type::Number;
          scratch.text = std::to_string(current->items.size());
        } else {
          scratch.type = JsonValue::Type::Array;
        }
        return &scratch;
      }
      if (part.text.empty() || part.text.find_first_not_of("0123456789") != std::string::npos)
        return nullptr;
      const auto index = std::strtoull(part.text.c_str(), nullptr, 10);
      if (index >= current->items.size()) return nullptr;
      current = &current->items[index];
    } else {
      return nullptr;
    }
  }
  return current;
}

std::string gjson_type(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::Null:
      return "Null";
    case JsonValue::Type::False:
      return "False";
    case JsonValue::Type::True:
      return "True";
    case JsonValue::Type::Number:
      return "Number";
    case JsonValue::Type::String:
      return "String";
    default:
      return "JSON";
  }
}

// Result.Float(): strconv.ParseFloat of the literal, its error ignored (±Inf on overflow).
double gjson_float(const JsonValue& v) {
  const double f = std::strtod(v.text.c_str(), nullptr);
  return f;
}

// Result.Int(): the float when it is a safe integer (truncated), else the literal as an integer
// with int64 wrap-around, else Go's int64(float) (amd64: the minimum for anything out of range).
double gjson_int(const JsonValue& v) {
  const double f = gjson_float(v);
  if (f >= -9007199254740991.0 && f <= 9007199254740991.0)
    return static_cast<double>(static_cast<long long>(f));
  std::string_view t = v.text;
  const bool negative = !t.empty() && t[0] == '-';
  if (negative) t.remove_prefix(1);
  if (!t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos) {
    std::uint64_t n = 0;
    for (const char c : t) n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (negative) n = 0 - n;
    return static_cast<double>(static_cast<std::int64_t>(n));
  }
  if (std::isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0)
    return -9223372036854775808.0;
  return static_cast<double>(static_cast<long long>(f));
}

const char* const kValueTypeError =
    "valueLocation must point to value of type number or a string representing a Quantity, got: '";

Result<double, std::string> quantity_value(std::string_view s) {
  auto v = parse_quantity(s);
  if (!v) return unexpected("error parsing value as quantity: " + v.error());
  return *v;
}

Result<double, std::string> parse_json(std::string_view raw, ValueType type,
                                       std::string_view location) {
  const auto missing = [&] {
    return unexpected("path " + std::string(location) + " not found in json");
  };
  // gjson does not validate: on malformed JSON it reads what it can. Here malformed JSON is
  // always "not found", which is what gjson answers in most such cases.
  auto doc = JsonParser(raw).document();
  if (!doc || !(doc->type == JsonValue::Type::Object || doc->type == JsonValue::Type::Array))
    return missing();
  JsonValue scratch;
  const JsonValue* v = gjson_get(*doc, json_components(location), scratch);
  if (!v) return missing();
  if (v->type == JsonValue::Type::Number)
    return type == ValueType::Int64 ? gjson_int(*v) : gjson_float(*v);
  if (v->type == JsonValue::Type::String && type != ValueType::Int64)
    return quantity_value(v->text);
  return unexpected(kValueTypeError + gjson_type(*v) + "'");
}

// --- yaml.v3 into map[string]any, then GetValueByPath -------------------------------------------

// What yaml.v3 decodes a scalar into, for an interface{} target.
struct Decoded {
  enum class Kind { Nil, Bool, Int, Uint, Float, String, Time } kind = Kind::String;
  double number = 0;
  std::uint64_t unsigned_value = 0;
  bool boolean = false;
  std::string text;
};

// strconv.ParseInt/ParseUint(s, base, 64) for yaml's resolve; base 0 reads the prefix.
std::optional<long double> parse_integer(std::string_view s, int base, bool allow_sign,
                                         bool* negative_out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (!allow_sign) return std::nullopt;
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (base == 0) {
    base = 10;
    if (s.size() >= 2 && s[0] == '0') {
      const char p = lower(s[1]);
      if (p == 'x')
        base = 16, s.remove_prefix(2);
      else if (p == 'o')
        base = 8, s.remove_prefix(2);
      else if (p == 'b')
        base = 2, s.remove_prefix(2);
      else
        base = 8, s.remove_prefix(1);
    }
  }
  if (s.empty()) return std::nullopt;
  long double n = 0;
  for (const char c : s) {
    int d = is_digit(c) ? c - '0' : (is_hex(c) ? lower(c) - 'a' + 10 : 99);
    if (d >= base) return std::nullopt;
    n = n * base + d;
  }
  *negative_out = negative;
  return n;
}

bool yaml_style_float(
    std::string_view s) {  // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const auto digits = [&] {
    const auto start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && lower(s[i]) == 'e') {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// ParseInt(digits, base, 64) (with a sign when `negative`), or ParseUint when it does not fit.
Decoded integer_value(std::string_view digits, int base, bool negative) {
  Decoded d;
  bool ignored = false;
  auto n = parse_integer(digits, base, false, &ignored);
  if (!n) return d;
  const long double value = negative ? -*n : *n;
  if (value >= -9223372036854775808.0L && value <= 9223372036854775807.0L) {
    d.kind = Decoded::Kind::Int;
    d.number = static_cast<double>(static_cast<long long>(value));
  } else if (!negative && value <= 18446744073709551615.0L) {
    d.kind = Decoded::Kind::Uint;
    d.unsigned_value = static_cast<std::uint64_t>(value);
  }
  return d;
}

// yaml.v3's parseTimestamp (time.Parse with its four layouts) and, for messages, what %s of
// the resulting time.Time prints (time zones as KEDA's UTC container sees them).
std::optional<std::string> yaml_timestamp(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i != 4 || i == s.size() || s[i] != '-') return std::nullopt;
  // getnum(value, false): one or two digits.
  const auto num = [&](std::size_t& p, int& out) {
    if (p >= s.size() || !is_digit(s[p])) return false;
    out = s[p++] - '0';
    if (p < s.size() && is_digit(s[p])) out = out * 10 + (s[p++] - '0');
    return true;
  };
  const auto days_in = [](int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
  };
  std::size_t p = 5;
  const int year = std::stoi(std::string(s.substr(0, 4)));
  int month = 0, day = 0;
  if (!num(p, month) || month < 1 || month > 12 || p >= s.size() || s[p++] != '-' || !num(p, day))
    return std::nullopt;
  int hour = 0, minute = 0, second = 0, offset = 0;
  long long nanos = 0;
  bool utc = true;
  if (p < s.size()) {
    const char sep = s[p++];
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    if (!num(p, hour) || hour > 23 || p >= s.size() || s[p++] != ':' || !num(p, minute) ||
        minute > 59 || p >= s.size() || s[p++] != ':' || !num(p, second) || second > 59)
      return std::nullopt;
    if (p + 1 < s.size() && (s[p] == '.' || s[p] == ',') && is_digit(s[p + 1])) {
      ++p;
      std::string digits;
      while (p < s.size() && is_digit(s[p])) digits += s[p++];
      digits = digits.substr(0, 9);
      digits.resize(9, '0');
      nanos = std::stoll(digits);
    }
    if (sep != ' ') {  // Z07:00
      if (p < s.size() && s[p] == 'Z') {
        ++p;
      } else {
        if (p + 6 > s.size() || (s[p] != '+' && s[p] != '-') || s[p + 3] != ':' ||
            !is_digit(s[p + 1]) || !is_digit(s[p + 2]) || !is_digit(s[p + 4]) ||
            !is_digit(s[p + 5]))
          return std::nullopt;
        const int hh = (s[p + 1] - '0') * 10 + (s[p + 2] - '0'),
                  mm = (s[p + 4] - '0') * 10 + (s[p + 5] - '0');
        if (hh > 24 || mm > 60) return std::nullopt;
        offset = (s[p] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
        utc = offset == 0;
        p += 6;
      }
    }
  }
  if (p != s.size() || day < 1 || day > days_in(year, month)) return std::nullopt;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", year, month, day, hour, minute,
                second);
  std::string out = buf;
  if (nanos) {
    std::snprintf(buf, sizeof buf, ".%09lld", nanos);
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  if (utc) return out + " +0000 UTC";
  const int minutes = std::abs(offset) / 60;
  std::snprintf(buf, sizeof buf, "%c%02d%02d", offset < 0 ? '-' : '+', minutes / 60, minutes % 60);
  return out + " " + buf + " " + buf;
}

// yaml.v3 resolve() of a plain scalar.
Decoded resolve_plain(const std::string& in) {
  Decoded d;
  d.text = in;
  static const std::array<std::string_view, 3> trues = {"true", "True", "TRUE"};
  static const std::array<std::string_view, 3> falses = {"false", "False", "FALSE"};
  static const std::array<std::string_view, 5> nulls = {"", "~", "null", "Null", "NULL"};
  for (auto t : trues)
    if (in == t) return Decoded{Decoded::Kind::Bool, 0, 0, true, in};
  for (auto f : falses)
    if (in == f) return Decoded{Decoded::Kind::Bool, 0, 0, false, in};
  for (auto n : nulls)
    if (in == n) return Decoded{Decoded::Kind::Nil, 0, 0, false, in};
  const double inf = std::numeric_limits<double>::infinity();
  if (in == ".nan" || in == ".NaN" || in == ".NAN")
    return Decoded{Decoded::Kind::Float, std::numeric_limits<double>::quiet_NaN(), 0, false, in};
  if (in == ".inf" || in == ".Inf" || in == ".INF" || in == "+.inf" || in == "+.Inf" ||
      in == "+.INF")
    return Decoded{Decoded::Kind::Float, inf, 0, false, in};
  if (in == "-.inf" || in == "-.Inf" || in == "-.INF")
    return Decoded{Decoded::Kind::Float, -inf, 0, false, in};
  const char hint = in[0];
  if (hint == '.') {
    if (auto f = parse_float(in, in, false)) return Decoded{Decoded::Kind::Float, *f, 0, false, in};
    return d;
  }
  if (!(is_digit(hint) || hint == '+' || hint == '-')) return d;
  if (auto time = yaml_timestamp(in)) return Decoded{Decoded::Kind::Time, 0, 0, false, *time};
  std::string plain;
  for (const char c : in)
    if (c != '_') plain += c;
  {
    bool negative = false;
    if (auto n = parse_integer(plain, 0, true, &negative)) {
      const long double value = negative ? -*n : *n;
      if (value >= -9223372036854775808.0L && value <= 9223372036854775807.0L)
        return Decoded{Decoded::Kind::Int, static_cast<double>(static_cast<long long>(value)), 0,
                       false, in};
    }
    if (auto n = parse_integer(plain, 0, false, &negative); n && *n <= 18446744073709551615.0L)
      return Decoded{Decoded::Kind::Uint, 0, static_cast<std::uint64_t>(*n), false, in};
  }
  if (yaml_style_float(plain))
    if (auto f = parse_float(plain, plain, false))
      return Decoded{Decoded::Kind::Float, *f, 0, false, in};
  // Prefixed forms ParseInt(…, 0, 64) refused (out of range): yaml.v3 tries them once more.
  for (const auto& [prefix, base] : {std::pair<std::string_view, int>{"0b", 2}, {"0o", 8}}) {
    Decoded r;
    if (plain.starts_with(prefix))
      r = integer_value(std::string_view(plain).substr(2), base, false);
    else if (plain.starts_with("-" + std::string(prefix)))
      r = integer_value(std::string_view(plain).substr(3), base, true);
    if (r.kind == Decoded::Kind::Int || r.kind == Decoded::Kind::Uint) {
      r.text = in;
      return r;
    }
  }
  return d;
}

Decoded decode_scalar(const YAML::Node& node) {
  if (node.IsNull()) return Decoded{Decoded::Kind::Nil, 0, 0, false, ""};
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (tag == "?") return resolve_plain(text);
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
      tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null")
    return resolve_plain(text);
  return Decoded{Decoded::Kind::String, 0, 0, false, text};  // quoted, block, !!str and other tags
}

std::string go_percent_s(const Decoded& d) {  // fmt's %s of a non-string
  switch (d.kind) {
    case Decoded::Kind::Nil:
      return "%!s(<nil>)";
    case Decoded::Kind::Bool:
      return std::string("%!s(bool=") + (d.boolean ? "true" : "false") + ")";
    case Decoded::Kind::Uint:
      return "%!s(uint64=" + std::to_string(d.unsigned_value) + ")";
    default:
      return d.text;  // strings, and time.Time through its String()
  }
}

// yaml.v3's tag names for the "cannot unmarshal" message of a top level that is not a mapping.
std::string short_tag(const YAML::Node& node) {
  if (node.IsSequence()) return "!!seq";
  switch (decode_scalar(node).kind) {
    case Decoded::Kind::Bool:
      return "!!bool";
    case Decoded::Kind::Int:
    case Decoded::Kind::Uint:
      return "!!int";
    case Decoded::Kind::Float:
      return "!!float";
    default:
      return "!!str";
  }
}

// yaml.v3 refuses a mapping that repeats a key (and then does not decode inside it).
void duplicate_keys(const YAML::Node& node, bool secret, std::vector<std::string>& errors) {
  if (node.IsMap()) {
    std::vector<std::pair<YAML::Node, YAML::Node>> entries;
    for (const auto& entry : node) entries.emplace_back(entry.first, entry.second);
    const auto before = errors.size();
    for (std::size_t i = 0; i < entries.size(); ++i)
      for (std::size_t j = i + 1; j < entries.size(); ++j)
        if (entries[i].first.IsScalar() && entries[j].first.IsScalar() &&
            entries[i].first.Scalar() == entries[j].first.Scalar())
          errors.push_back("line " + std::to_string(entries[j].first.Mark().line + 1) +
                           ": mapping key " + q(entries[j].first.Scalar(), secret) +
                           " already defined at line " +
                           std::to_string(entries[i].first.Mark().line + 1));
    if (errors.size() > before) return;
    for (const auto& [key, value] : entries) duplicate_keys(value, secret, errors);
  } else if (node.IsSequence()) {
    for (const auto& item : node) duplicate_keys(item, secret, errors);
  }
}

Result<double, std::string> parse_yaml(std::string_view raw, ValueType type,
                                       std::string_view location, bool secret) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(raw));
  } catch (const YAML::Exception& e) {
    return unexpected("error parsing YAML: yaml: line " + std::to_string(e.mark.line + 1) + ": " +
                      (secret ? std::string("not valid YAML") : e.msg));
  }
  if (!root.IsNull() && !root.IsMap()) {
    std::string what = short_tag(root);
    if (root.IsScalar()) what += " `" + (secret ? std::string("<redacted>") : root.Scalar()) + "`";
    return unexpected("error parsing YAML: yaml: unmarshal errors:\n  line " +
                      std::to_string(root.Mark().line + 1) + ": cannot unmarshal " + what +
                      " into map[string]interface {}");
  }
  std::vector<std::string> duplicates;
  duplicate_keys(root, secret, duplicates);
  if (!duplicates.empty())
    return unexpected("error parsing YAML: yaml: unmarshal errors:\n  " + join(duplicates, "\n  "));
  const auto missing = [&] {
    return unexpected("path " + std::string(location) + " not found in yaml");
  };
  // GetValueByPath: split on '.', walk maps and lists (by index), stop at the first scalar
  // even when path segments remain; a path that ends on a map or list is not found.
  YAML::Node current = root;
  std::optional<YAML::Node> value;
  std::size_t start = 0;
  while (!value) {
    const auto dot = location.find('.', start);
    const std::string key(location.substr(
        start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    std::optional<YAML::Node> next;
    if (current.IsMap()) {
      for (const auto& entry : current)
        if (entry.first.IsScalar() && entry.first.Scalar() == key) {
          next = entry.second;
          break;
        }
    } else if (current.IsSequence()) {
      if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
          (key == "0" || key[0] != '0')) {
        const auto index = std::strtoull(key.c_str(), nullptr, 10);
        if (index < current.size()) next = current[index];
      }
    }
    if (!next) return missing();
    if (next->IsMap() || next->IsSequence()) {
      if (dot == std::string_view::npos) return missing();  // the path ends on a map or a list
      current = *next;
      start = dot + 1;
    } else {
      value = *next;
    }
  }
  if (!value) return missing();
  const Decoded d = decode_scalar(*value);
  switch (d.kind) {
    case Decoded::Kind::Int:
    case Decoded::Kind::Float:
      return d.number;
    case Decoded::Kind::String: {
      if (type == ValueType::Quantity) return quantity_value(d.text);
      auto f = scan_float(d.text, secret);
      if (!f)
        return unexpected(kValueTypeError + (secret ? std::string("<redacted>") : d.text) + "'");
      return *f;
    }
    default:
      return unexpected(kValueTypeError + (secret ? std::string("<redacted>") : go_percent_s(d)) +
                        "'");
  }
}

}  // namespace

Result<double, std::string> parse_value(std::string_view raw, Format format, ValueType type,
                                        std::string_view location, bool secret) {
  switch (format) {
    case Format::Number:
      switch (type) {
        case ValueType::Float64: {
          auto v = scan_float(raw, secret);
          if (!v) return unexpected("error parsing value as float64: " + v.error());
          return *v;
        }
        case ValueType::Int64: {
          auto v = scan_int(raw, secret);
          if (!v) return unexpected("error parsing value as int64: " + v.error());
          return *v;
        }
        case ValueType::Quantity:
          return quantity_value(raw);
      }
      break;
    case Format::Json:
      return parse_json(raw, type, location);
    case Format::Yaml:
      return parse_yaml(raw, type, location, secret);
  }
  return unexpected(std::string("unsupported format"));
}

}  // namespace ebb::scalers::kubernetes
