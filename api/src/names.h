// Kubernetes name rules used by validation.
#pragma once

#include <optional>
#include <string_view>

namespace ebb::api::detail {

// RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', alphanumeric at both ends, <= 253.
bool is_dns_subdomain(std::string_view name);
// RFC 1123 label: lower-case alphanumerics and '-', alphanumeric at both ends, <= 63.
bool is_dns_label(std::string_view name);

inline constexpr std::string_view kDnsSubdomainRule =
    "must be at most 253 characters of lower-case letters, digits, '-' or '.', starting and "
    "ending with a letter or digit";
inline constexpr std::string_view kDnsLabelRule =
    "must be at most 63 characters of lower-case letters, digits or '-', starting and ending "
    "with a letter or digit";

// Go strconv.ParseFloat on the whole string (no surrounding blanks); nullopt when it fails.
std::optional<double> parse_go_float(std::string_view s);

}  // namespace ebb::api::detail
