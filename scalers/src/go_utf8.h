// Go's reading of text rune by rune (unicode/utf8, unicode.IsSpace), where a KEDA scaler's
// behaviour depends on it: robfig/cron's strings.Fields, fmt's scanning, pgx's quoting of
// connection parameters. One home so that every scaler decodes invalid UTF-8 as Go does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace ebb::scalers {

// utf8.DecodeRuneInString(s[i:]): {rune, bytes}. Anything that is not the shortest encoding
// of a valid rune (a stray continuation byte, an overlong form, a surrogate, a truncated
// sequence) is {U+FFFD, 1}. `i` must be below s.size().
std::pair<char32_t, std::size_t> go_decode_rune(std::string_view s, std::size_t i);

// unicode.IsSpace (the same runes as fmt's space table): \t \n \v \f \r, space, U+0085, U+00A0,
// U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
bool go_is_space(char32_t r);

// Appends the UTF-8 bytes of `cp` (at most U+10FFFF), as given: a surrogate is written as its
// three bytes, not replaced. Callers that need Go's utf8.AppendRune replace surrogates with
// U+FFFD first.
void append_utf8(std::string& out, char32_t cp);

// tidwall/match, the matcher of GJSON's wildcard path components (metrics-api's valueLocation,
// kubernetes-resource's): '*' any run of bytes, '?' any one rune. Iterative, backtracking only to
// the last '*': the recursive form took exponential time on patterns with many '*' (a poll that
// never returned; found by fuzz/metrics_value_fuzz.cpp).
bool gjson_wildcard_match(std::string_view str, std::string_view pattern);

}  // namespace ebb::scalers
