#include "go_strconv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "ebb/strings.h"

namespace ebb::scalers {

namespace {

char lower(char c) {
  return static_cast<char>(c | 0x20);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

// strconv's underscoreOK: underscores only between digits (a base prefix counts as a digit).
bool underscores_ok(std::string_view s) {
  char saw = '^';
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (is_digit(s[i]) || (hex && is_hex_digit(s[i]))) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv's special(): [+-]inf, [+-]infinity, nan; the whole text.
bool special(std::string_view s, double& out) {
  if (s.empty()) return false;
  double sign = 1;
  std::string_view rest = s;
  if (s[0] == '+' || s[0] == '-') {
    sign = s[0] == '-' ? -1 : 1;
    rest.remove_prefix(1);
  } else if (rest.size() == 3 && iequals(rest, "nan")) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (iequals(rest, "inf") || iequals(rest, "infinity")) {
    out = sign * std::numeric_limits<double>::infinity();
    return true;
  }
  return false;
}

// strconv's readFloat, for syntax only: true when all of `s` is one number.
bool well_formed(std::string_view s) {
  std::size_t i = 0;
  bool underscores = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  bool saw_dot = false, saw_digits = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
    } else if (is_digit(c) || (hex && is_hex_digit(c))) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits) return false;
  const char exp_char = hex ? 'p' : 'e';
  if (i < s.size() && lower(s[i]) == exp_char) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    for (; i < s.size() && (is_digit(s[i]) || s[i] == '_'); ++i)
      if (s[i] == '_') underscores = true;
  } else if (hex) {
    return false;  // a hex mantissa needs its p exponent
  }
  if (underscores && !underscores_ok(s.substr(0, i))) return false;
  return i == s.size();
}

}  // namespace

GoFloat go_parse_float(std::string_view s) {
  GoFloat r;
  if (special(s, r.value)) return r;
  if (!well_formed(s)) {
    r.error = "invalid syntax";
    return r;
  }
  std::string digits;
  for (char c : s)
    if (c != '_') digits += c;
  errno = 0;
  r.value = std::strtod(digits.c_str(), nullptr);
  // Overflow is an error; underflow rounds to 0 (or a subnormal) as in Go.
  if (std::isinf(r.value)) {
    r.error = "value out of range";
    r.value = 0;
  }
  return r;
}

Result<double, std::string> strconv_parse_float(std::string_view s) {
  auto r = go_parse_float(s);
  if (!r.error.empty())
    return unexpected("strconv.ParseFloat: parsing " + quoted(s) + ": " + r.error);
  return r.value;
}

GoInt go_parse_int(std::string_view s) {
  GoInt r;
  const std::string_view whole = s;
  if (s.empty()) {
    r.error = "invalid syntax";
    return r;
  }
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    r.error = "invalid syntax";
    return r;
  }
  unsigned base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  bool underscores = false, overflow = false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c == '_') {
      underscores = true;
      continue;
    }
    unsigned digit = 0;
    if (is_digit(c))
      digit = static_cast<unsigned>(c - '0');
    else if (lower(c) >= 'a' && lower(c) <= 'z')
      digit = static_cast<unsigned>(lower(c) - 'a' + 10);
    else
      digit = 99;
    if (digit >= base) {
      r.error = "invalid syntax";
      return r;
    }
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / base)
      overflow = true;
    else
      n = n * base + digit;
  }
  if (underscores && !underscores_ok(whole)) {
    r.error = "invalid syntax";
    return r;
  }
  const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
  if (overflow || n > limit) {
    r.error = "value out of range";
    return r;
  }
  r.value = negative ? static_cast<std::int64_t>(0 - n) : static_cast<std::int64_t>(n);
  return r;
}

}  // namespace ebb::scalers
