#include "beanstalkd/client.h"

#include "ebb/strings.h"

namespace ebb::scalers::beanstalkd {

namespace {

using Clock = std::chrono::steady_clock;

// A stats-tube body is a few hundred bytes; anything announcing more is not beanstalkd.
constexpr std::size_t kMaxBody = 1 << 20;

std::chrono::milliseconds left(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const Server& server,
                                                     std::chrono::milliseconds timeout) {
  auto stream = net::Stream::connect(server.host, server.port, net::TlsOptions{}, timeout);
  if (!stream) return fail("error connecting to beanstalkd: " + stream.error().message, true);
  return std::unique_ptr<Connection>(new Connection(std::move(stream).value()));
}

Unexpected<Error> Connection::broke(const Error& e) {
  broken_ = true;
  timed_out_ = e.message.find("timed out") != std::string::npos;
  return unexpected(Error{e.message, true});
}

Result<void> Connection::fill(Clock::time_point deadline) {
  char chunk[4096];
  auto n = stream_->read_some(chunk, sizeof chunk, left(deadline));
  if (!n) return broke(stream_->peer_closed() ? Error{"EOF", true} : n.error());
  buffer_.append(chunk, *n);
  return {};
}

Result<std::string> Connection::read_line(Clock::time_point deadline) {
  while (true) {
    if (const auto end = buffer_.find("\r\n"); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return line;
    }
    if (buffer_.size() > 4096) return broke(Error{"reply line too long"});
    if (auto ok = fill(deadline); !ok) return unexpected(ok.error());
  }
}

Result<std::string> Connection::read_exact(std::size_t n, Clock::time_point deadline) {
  while (buffer_.size() < n) {
    if (auto ok = fill(deadline); !ok) {
      // A body cut short is Go's io.ErrUnexpectedEOF.
      if (ok.error().message == "EOF") return unexpected(Error{"unexpected EOF", true});
      return unexpected(ok.error());
    }
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

Result<std::optional<TubeStats>> Connection::stats_tube(const std::string& tube,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  timed_out_ = false;
  const auto failed = [&](const std::string& why) {
    // The stream's own text for a timeout counts down the remaining time; ours names the limit.
    return fail(
        "error retrieving stats from beanstalkd: stats-tube: " +
            (timed_out_ ? "no reply within " + std::to_string(timeout.count()) + "ms" : why),
        true);
  };
  if (auto ok = stream_->write_all("stats-tube " + tube + "\r\n", timeout); !ok) {
    broke(ok.error());
    return failed(ok.error().message);
  }
  std::string line;
  do {
    auto read = read_line(deadline);
    if (!read) return failed(read.error().message);
    line = std::move(*read);
  } while (line.starts_with("WATCHING ") || line.starts_with("USING "));  // as go-beanstalk

  const auto space = line.find(' ');
  if (space == std::string::npos) {
    // One-word replies are errors; the connection stays in step.
    if (line == "NOT_FOUND") return std::optional<TubeStats>();
    return failed(reply_error(line));
  }
  if (line.substr(0, space) != "OK") {
    broken_ = true;  // an answer we do not understand: the stream may be out of step
    return failed(reply_error(line));
  }
  const std::string size_text = line.substr(space + 1);
  const bool digits = !size_text.empty() && size_text.size() <= 9 &&
                      size_text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(size_text) > kMaxBody) {
    broken_ = true;
    return failed("strconv.Atoi: parsing " + quoted(size_text) + ": invalid syntax");
  }
  auto body = read_exact(std::stoul(size_text) + 2, deadline);
  if (!body) return failed(body.error().message);
  body->resize(body->size() - 2);  // the CR LF after the body
  auto stats = decode_stats(*body);
  if (!stats) return fail("error decoding stats from beanstalkd: " + stats.error());
  return std::optional<TubeStats>(*stats);
}

Result<std::optional<TubeStats>> Connections::stats_tube(const Server& server,
                                                         const std::string& tube,
                                                         const Timeouts& timeouts) {
  return pool_.run(
      server.str(), timeouts.connect + timeouts.command,
      [&] { return Connection::open(server, timeouts.connect); },
      [&](Connection& connection) { return connection.stats_tube(tube, timeouts.command); });
}

std::size_t Connections::connection_count(const Server& server) const {
  return pool_.open_count(server.str());
}

std::size_t Connections::connection_count() const {
  return pool_.open_count();
}

}  // namespace ebb::scalers::beanstalkd
