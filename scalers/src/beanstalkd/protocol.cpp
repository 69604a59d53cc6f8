#include "beanstalkd/protocol.h"

#include <map>
#include <vector>

#include "ebb/strings.h"
#include "go_strconv.h"

namespace ebb::scalers::beanstalkd {

std::string Server::str() const {
  return join_host_port(host, std::to_string(port));
}

Result<Server, std::string> parse_server(std::string_view text) {
  if (text.find('/') != std::string_view::npos || text.find('@') != std::string_view::npos)
    return unexpected(std::string("must be host:port (e.g. beanstalkd:11300), not a URL"));
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return unexpected("must be host:port (e.g. beanstalkd:11300), got " + quoted(text));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return unexpected("missing port in address " + quoted(text) +
                        "; beanstalkd's is usually 11300 (host:11300)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return unexpected("too many colons in address " + quoted(text) +
                        "; write an IPv6 address as [addr]:port");
  }
  if (host.empty()) return unexpected("missing host in address " + quoted(text));
  const auto number = go_parse_int(port);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos ||
      !number.error.empty() || number.value < 1 || number.value > 65535)
    return unexpected("the port must be a number from 1 to 65535, got " + quoted(port));
  return Server{std::string(host), static_cast<std::uint16_t>(number.value)};
}

std::optional<std::string> tube_name_problem(std::string_view tube) {
  if (tube.size() > 200)
    return "a tube name has at most 200 bytes, this one has " + std::to_string(tube.size());
  if (tube.front() == '-') return std::string("a tube name must not start with '-'");
  for (char c : tube) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-+/;.$_()").find(c) != std::string_view::npos;
    if (!ok)
      return "beanstalkd does not allow " + quoted(std::string(1, c)) +
             " in a tube name (letters, digits and - + / ; . $ _ ( ) only)";
  }
  return std::nullopt;
}

Result<TubeStats, std::string> decode_stats(std::string_view body) {
  if (body.starts_with("---\n")) body.remove_prefix(4);
  std::map<std::string, std::string, std::less<>> dict;
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto nl = body.find('\n', start);
    const std::string_view line =
        body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? body.size() + 1 : nl + 1;
    const auto sep = line.find(": ");
    if (sep == std::string_view::npos) continue;
    dict[std::string(line.substr(0, sep))] = std::string(line.substr(sep + 2));
  }
  TubeStats stats;
  const std::pair<const char*, std::int64_t*> fields[] = {
      {"total-jobs", &stats.total_jobs},
      {"current-jobs-ready", &stats.jobs_ready},
      {"current-jobs-reserved", &stats.jobs_reserved},
      {"current-jobs-urgent", &stats.jobs_urgent},
      {"current-jobs-buried", &stats.jobs_buried},
      {"current-jobs-delayed", &stats.jobs_delayed}};
  std::vector<std::string> errors;
  for (const auto& [key, field] : fields) {
    auto it = dict.find(key);
    if (it == dict.end()) continue;
    const std::string text = it->second.empty() ? "0" : it->second;
    const GoInt n = go_parse_int(text);
    if (n.error.empty())
      *field = n.value;
    else
      errors.push_back(std::string("cannot parse '") + key +
                       "' as int: strconv.ParseInt: parsing " + quoted(text) + ": " + n.error);
  }
  if (!errors.empty()) return unexpected(join(errors, "; "));
  return stats;
}

std::string reply_error(std::string_view line) {
  static const std::map<std::string_view, std::string_view> known = {
      {"NOT_FOUND", "not found"},
      {"BAD_FORMAT", "bad command format"},
      {"INTERNAL_ERROR", "internal error"},
      {"OUT_OF_MEMORY", "server is out of memory"},
      {"UNKNOWN_COMMAND", "unknown command"},
      {"BURIED", "buried"},
      {"EXPECTED_CRLF", "expected CR LF"},
      {"JOB_TOO_BIG", "job too big"},
      {"DEADLINE_SOON", "deadline soon"},
      {"TIMED_OUT", "timeout"},
      {"NOT_IGNORED", "not ignored"},
      {"DRAINING", "draining"}};
  if (auto it = known.find(line); it != known.end()) return std::string(it->second);
  std::string shown(line.substr(0, 100));
  return "unknown response: " + shown;
}

double jobs(const TubeStats& stats, bool include_delayed) {
  return static_cast<double>(stats.jobs_ready + stats.jobs_reserved +
                             (include_delayed ? stats.jobs_delayed : 0));
}

}  // namespace ebb::scalers::beanstalkd
