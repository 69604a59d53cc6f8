// Time in the forms Kubernetes and Go use, in one place: RFC 3339 timestamps (what the API
// server writes in metadata and status) and Go duration strings (pflag durations, KEDA's
// trigger parameters).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 in UTC, truncated to whole seconds: "2026-01-02T03:04:05Z" (metav1.Time).
std::string format_rfc3339(SystemTime t);
// The same with milliseconds: "2026-01-02T03:04:05.123Z" (log lines).
std::string format_rfc3339_millis(SystemTime t);
std::string now_rfc3339();

// "2026-01-02T03:04:05Z", with an optional fraction and a "Z" or "+hh:mm"/"-hh:mm" offset.
// Anything else (a date without time, a missing zone) is nullopt.
std::optional<SystemTime> parse_rfc3339(std::string_view text);

// Go's time.ParseDuration: an optional sign and one or more decimal numbers with a unit each
// (ns, us, µs, ms, s, m, h), e.g. "300ms", "1.5h", "2h45m", "-1m"; "0" alone needs no unit.
// The message says what was expected and quotes the text.
Result<std::chrono::nanoseconds, std::string> parse_go_duration(std::string_view text);

}  // namespace ebb
