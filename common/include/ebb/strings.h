// Small string helpers used across modules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);  // elements trimmed, empties kept
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Levenshtein distance, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` if it is plausibly a typo of it (distance <= max(2, len/3)).
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// Standard base64 (RFC 4648, with padding), e.g. for HTTP Basic authorization.
std::string base64_encode(std::string_view in);
// Standard alphabet, padding optional (Kubernetes Secret data); nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view in);
// Appends `field` to a pool or cache key with its length in front ("5:hello"), so that no choice
// of values (a password containing the separator, say) makes two different settings one key.
void append_key_field(std::string& key, std::string_view field);
// Go's net.JoinHostPort: "host:port", an IPv6 literal in brackets ("[::1]:6379") so that the
// result parses back unambiguously.
std::string join_host_port(std::string_view host, std::string_view port);
// Go's url.QueryEscape: unreserved bytes stay, space becomes '+', everything else %XX. KEDA
// uses it for query strings and for user input in metric names, so Ebb must match it exactly.
std::string query_escape(std::string_view s);
// Lenient percent-decoding: %XX (hex digits of either case) becomes its byte, and a '%' not
// followed by two hex digits stays as it is (never an error, unlike Go's url.QueryUnescape).
// With `plus_as_space`, '+' becomes ' ' as in form encoding (Go's url.ParseQuery).
std::string percent_decode(std::string_view s, bool plus_as_space = false);
// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence (for API fields with byte limits: a cut character would make the JSON invalid).
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);
// Quotes a value for error messages: "abc" with embedded quotes and control chars escaped.
std::string quoted(std::string_view s);

}  // namespace ebb
