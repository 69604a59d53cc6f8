#include "names.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace ebb::api::detail {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_rfc1123(std::string_view name, std::size_t max_length, bool allow_dot) {
  if (name.empty() || name.size() > max_length) return false;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return false;
  for (char c : name)
    if (!is_lower_alnum(c) && c != '-' && !(allow_dot && c == '.')) return false;
  return true;
}

}  // namespace

bool is_dns_subdomain(std::string_view name) {
  return is_rfc1123(name, 253, true);
}
bool is_dns_label(std::string_view name) {
  return is_rfc1123(name, 63, false);
}

std::optional<double> parse_go_float(std::string_view s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) return std::nullopt;
  return value;
}

}  // namespace ebb::api::detail
