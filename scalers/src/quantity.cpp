#include "ebb/scalers/quantity.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

namespace ebb::scalers {
namespace {

// Canonical DecimalSI form of digits × 10^exponent (exponent a multiple of 3, digits without
// leading zeros): strip trailing groups of "000" into SI suffixes. With `exponent_form`, the
// DecimalExponent form instead ("2500e-3", "7", "1e3").
std::string canonical(std::string digits, int exponent, bool exponent_form = false) {
  const auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, first);
  while ((exponent_form || exponent < 18) && digits.size() > 3 && digits.ends_with("000")) {
    digits.resize(digits.size() - 3);
    exponent += 3;
  }
  if (exponent_form) return exponent == 0 ? digits : digits + "e" + std::to_string(exponent);
  const char* suffix = "";
  switch (exponent) {
    case -9: suffix = "n"; break;
    case -6: suffix = "u"; break;
    case -3: suffix = "m"; break;
    case 0: suffix = ""; break;
    case 3: suffix = "k"; break;
    case 6: suffix = "M"; break;
    case 9: suffix = "G"; break;
    case 12: suffix = "T"; break;
    case 15: suffix = "P"; break;
    case 18: suffix = "E"; break;
    default: return digits + "e" + std::to_string(exponent);
  }
  return digits + suffix;
}

}  // namespace

std::string milli_quantity(double value) {
  if (!std::isfinite(value) || value < 0) value = 0;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  const std::string text(buf);
  const auto dot = text.find('.');
  const std::string shifted = text.substr(0, dot) + text.substr(dot + 1);
  // apimachinery keeps the caller's string when it is already "canonical enough": at most 18
  // significant digits, no leading zero and not ending in 000 (ParseQuantity's fast path).
  if (shifted.size() <= 18 && shifted[0] != '0' && !shifted.ends_with("000")) return text;
  return canonical(shifted, -3);
}

std::string milli_int_quantity(std::int64_t milli) {
  if (milli < 0) return "-" + canonical(std::to_string(-(milli + 1) + 1ULL), -3);
  return canonical(std::to_string(milli), -3);
}

std::string milli_exponent_quantity(std::int64_t milli) {
  if (milli < 0) return "-" + canonical(std::to_string(-(milli + 1) + 1ULL), -3, true);
  return canonical(std::to_string(milli), -3, true);
}

std::string int_quantity(std::int64_t value) {
  // Negated as unsigned: -INT64_MIN does not fit in int64 (found by fuzz/quantity_fuzz.cpp).
  if (value < 0) return "-" + canonical(std::to_string(-(value + 1) + 1ULL), 0);
  return canonical(std::to_string(value), 0);
}

std::int64_t round_to_int64(double value) {
  if (std::isnan(value)) return 0;
  // 2^63 is exactly representable; every double below it rounds into range.
  if (value >= 9223372036854775808.0) return std::numeric_limits<std::int64_t>::max();
  if (value <= -9223372036854775808.0) return std::numeric_limits<std::int64_t>::min();
  return std::llround(value);
}

bool parse_quantity(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return false;
  const std::string_view suffix(end);
  double scale = 1;
  if (suffix.empty()) scale = 1;
  else if (suffix == "n") scale = 1e-9;
  else if (suffix == "u") scale = 1e-6;
  else if (suffix == "m") scale = 1e-3;
  else if (suffix == "k") scale = 1e3;
  else if (suffix == "M") scale = 1e6;
  else if (suffix == "G") scale = 1e9;
  else if (suffix == "T") scale = 1e12;
  else if (suffix == "P") scale = 1e15;
  else if (suffix == "E") scale = 1e18;
  else if (suffix == "Ki") scale = 1024.0;
  else if (suffix == "Mi") scale = 1024.0 * 1024;
  else if (suffix == "Gi") scale = 1024.0 * 1024 * 1024;
  else if (suffix == "Ti") scale = 1024.0 * 1024 * 1024 * 1024;
  else return false;  // exponent forms ("2500e-3") are consumed by strtod already
  out = number * scale;
  return true;
}

}  // namespace ebb::scalers
