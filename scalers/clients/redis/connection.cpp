#include "redis/connection.h"

#include "ebb/strings.h"

namespace ebb::scalers::redis {

std::string ServerOptions::pool_key() const {
  std::string key;
  for (std::string_view f : {std::string_view(endpoint.host), std::string_view(username), std::string_view(password),
                             std::string_view(tls.ca_pem), std::string_view(tls.cert_pem), std::string_view(tls.key_pem),
                             std::string_view(tls.key_password), std::string_view(tls.server_name)})
    append_key_field(key, f);
  key += std::to_string(endpoint.port) + '/' + std::to_string(db) + '/' + (tls.enabled ? 'T' : 't') +
         (tls.insecure_skip_verify ? 'I' : 'i') + (require_master ? 'M' : 'm');
  return key;
}

Connection::Connection(std::unique_ptr<net::Stream> stream, std::string peer)
    : stream_(std::move(stream)), peer_(std::move(peer)) {}

Result<std::unique_ptr<Connection>> Connection::open(const ServerOptions& options, const Timeouts& timeouts) {
  auto stream = net::Stream::connect(options.endpoint.host, options.endpoint.port, options.tls, timeouts.connect);
  if (!stream) return unexpected(Error{stream.error().message, true});
  std::unique_ptr<Connection> conn(new Connection(std::move(stream).value(), options.endpoint.str()));
  if (auto ok = conn->handshake(options, timeouts.command); !ok) return unexpected(ok.error());
  return conn;
}

// AUTH, SELECT and ROLE go out in one pipeline so a new connection costs one round trip.
Result<void> Connection::handshake(const ServerOptions& options, Timeout timeout) {
  std::vector<Command> commands;
  if (!options.password.empty() || !options.username.empty()) {
    if (options.username.empty())
      commands.push_back({"AUTH", options.password});
    else
      commands.push_back({"AUTH", options.username, options.password});
  }
  if (options.db != 0) commands.push_back({"SELECT", std::to_string(options.db)});
  if (options.require_master) commands.push_back({"ROLE"});
  if (commands.empty()) return {};
  auto replies = run(commands, timeout);
  if (!replies) return unexpected(replies.error());
  for (std::size_t i = 0; i < replies->size(); ++i) {
    const Reply& r = (*replies)[i];
    const std::string& name = commands[i].front();
    // The server's text never contains the password we sent (it says WRONGPASS/NOAUTH ...).
    if (r.is_error()) {
      broken_ = true;
      const char* what = name == "AUTH" ? "authentication failed" : name == "SELECT" ? "SELECT failed" : "ROLE failed";
      return fail(what + std::string(": ") + r.str);
    }
    if (name == "ROLE") {
      const bool master = r.is_array() && !r.elements.empty() && r.elements[0].str == "master";
      if (!master) {
        broken_ = true;
        return fail("server is not a master (stale sentinel answer?)", true);
      }
    }
  }
  return {};
}

Unexpected<Error> Connection::broken_with(std::string cause) {
  broken_ = true;
  if (stream_) stream_->close();
  return unexpected(Error{std::move(cause), true});
}

Result<std::unique_ptr<Reply>> Connection::read_reply(std::chrono::steady_clock::time_point deadline) {
  char buffer[16 * 1024];
  for (;;) {
    auto parsed = parser_.next();
    if (!parsed) return broken_with(parsed.error().message);
    if (*parsed) return std::move(parsed).value();
    const auto left = std::chrono::duration_cast<Timeout>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return broken_with("timed out waiting for a reply");
    auto n = stream_->read_some(buffer, sizeof buffer, left);
    if (!n) return broken_with(n.error().message);
    parser_.feed(buffer, *n);
  }
}

Result<std::vector<Reply>> Connection::run(std::span<const Command> commands, Timeout timeout) {
  if (broken()) return unexpected(Error{"connection is closed", true});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string wire;
  for (const auto& c : commands) encode_command(c, wire);
  if (auto w = stream_->write_all(wire, timeout); !w) return broken_with(w.error().message);
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto r = read_reply(deadline);
    if (!r) return unexpected(r.error());
    replies.push_back(std::move(**r));
  }
  return replies;
}

Result<Reply> Connection::run(const Command& command, Timeout timeout) {
  auto replies = run(std::span<const Command>(&command, 1), timeout);
  if (!replies) return unexpected(replies.error());
  return std::move(replies->front());
}

}  // namespace ebb::scalers::redis
