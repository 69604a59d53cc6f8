// The part of the beanstalkd protocol the beanstalkd trigger speaks (pure, so it is tested
// without a server): `stats-tube <tube>`'s reply decoded as go-beanstalk and mapstructure
// decode it in KEDA, and the checks Ebb makes on `server` and `tube` when a trigger is parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers::beanstalkd {

struct Server {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // "host:port", IPv6 in brackets
};

// `server` is host:port, as net.Dial("tcp", …) takes it; there is no default port. The message
// says what is wrong without quoting a URL's user info.
Result<Server, std::string> parse_server(std::string_view text);

// beanstalkd's rule for names: 1 to 200 bytes of letters, digits and - + / ; . $ _ ( ), not
// starting with '-'. Anything else makes the server answer BAD_FORMAT (or, with a space or a
// line break, breaks the command). Empty when the name is fine.
std::optional<std::string> tube_name_problem(std::string_view tube);

// The six counters KEDA decodes (missing keys are 0).
struct TubeStats {
  std::int64_t total_jobs = 0;
  std::int64_t jobs_ready = 0;
  std::int64_t jobs_reserved = 0;
  std::int64_t jobs_urgent = 0;
  std::int64_t jobs_buried = 0;
  std::int64_t jobs_delayed = 0;
};

// The YAML body of an OK reply: go-beanstalk's parseDict ("---\n", then "key: value" lines)
// and mapstructure's weak decoding (strconv.ParseInt(v, 0, 64), "" is 0). Errors as
// mapstructure words them, e.g.
//   cannot parse 'current-jobs-ready' as int: strconv.ParseInt: parsing "abc": invalid syntax
Result<TubeStats, std::string> decode_stats(std::string_view body);

// The text go-beanstalk gives a one-word error reply: NOT_FOUND -> "not found", BAD_FORMAT ->
// "bad command format", ..., anything else "unknown response: <line>".
std::string reply_error(std::string_view line);

// KEDA's metric value: ready + reserved (+ delayed with includeDelayed).
double jobs(const TubeStats& stats, bool include_delayed);

}  // namespace ebb::scalers::beanstalkd
