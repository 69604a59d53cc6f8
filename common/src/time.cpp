#include "ebb/time.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "ebb/strings.h"

namespace ebb {
namespace {

std::tm utc(SystemTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string format_rfc3339(SystemTime t) {
  const std::tm tm = utc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string format_rfc3339_millis(SystemTime t) {
  const std::tm tm = utc(t);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t - std::chrono::floor<std::chrono::seconds>(t)).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

std::optional<SystemTime> parse_rfc3339(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    std::int64_t scale = 100'000'000;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      fraction += std::chrono::nanoseconds((s[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  long offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om))
      return std::nullopt;
    offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(t) + std::chrono::duration_cast<SystemTime::duration>(fraction);
}

Result<std::chrono::nanoseconds, std::string> parse_go_duration(std::string_view text) {
  const auto bad = [&] {
    return unexpected("invalid duration " + quoted(text) + ": expected a number with a unit (ns, us, ms, s, m, h) " +
                      "such as \"300ms\", \"30s\" or \"1h30m\"");
  };
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") return std::chrono::nanoseconds(0);
  if (rest.empty()) return bad();
  long double total = 0;  // nanoseconds
  while (!rest.empty()) {
    std::size_t i = 0;
    bool any_digit = false;
    std::size_t dots = 0;
    while (i < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[i])) || rest[i] == '.')) {
      any_digit = any_digit || rest[i] != '.';
      dots += rest[i] == '.';
      ++i;
    }
    if (!any_digit || dots > 1) return bad();
    const std::string number(rest.substr(0, i));
    rest.remove_prefix(i);
    std::size_t u = 0;
    while (u < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[u])) && rest[u] != '.') ++u;
    const std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    long double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else return bad();
    total += std::strtold(number.c_str(), nullptr) * scale;
  }
  // Go's Duration is an int64 of nanoseconds (about 292 years).
  if (total > 9.2e18L) return unexpected("invalid duration " + quoted(text) + ": out of range");
  const auto ns = std::chrono::nanoseconds(static_cast<std::int64_t>(total));
  return negative ? -ns : ns;
}

}  // namespace ebb
