// HTTP/1.1 client over ebb::net::Stream.
//
// The response parser is written here rather than taken from Beast: a client needs only the
// response side (status line, headers, Content-Length, chunked, close-delimited bodies), and
// keeping Beast out leaves stream.cpp as the only Asio translation unit.
#include "ebb/net/http_client.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <optional>

#include "ebb/strings.h"

namespace ebb::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;  // status line plus all header lines
constexpr std::size_t kMaxChunkLine = 4 * 1024;     // chunk size plus extensions
constexpr int kMaxInterimResponses = 16;            // 1xx responses skipped before the final one
constexpr std::size_t kReadChunk = 16 * 1024;

std::string format_ms(Timeout t) { return std::to_string(t.count()) + "ms"; }

Timeout remaining(Clock::time_point deadline) {
  return std::chrono::ceil<Timeout>(deadline - Clock::now());
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool is_field_value(std::string_view s) {
  // CR, LF and NUL would let a value end the header early and inject others.
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// True when the comma-separated header value lists `token` (case-insensitively).
bool lists_token(std::string_view value, std::string_view token) {
  for (const auto& item : split(value, ',')) {
    if (iequals(item, token)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Where a request goes, derived from its URL.

struct Target {
  bool https = false;
  std::string host;  // as connected to: IPv6 without brackets
  std::uint16_t port = 0;
  std::string host_header;     // "host" or "host:port", IPv6 in brackets
  std::string origin;          // "scheme://host:port": pool key and the name used in errors
  std::string request_target;  // "/path?query"
  std::optional<std::string> authorization;
};

Result<Target> parse_target(const std::string& url) {
  // The URL is echoed only when it cannot carry credentials: a password containing an unescaped
  // delimiter is exactly what makes a URL unparsable, and redact_url cannot be sure to find it.
  const std::string shown = url.find('@') == std::string::npos ? " " + quoted(url) : "";
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fail("invalid URL" + shown + ": " + parsed.error().message());
  const boost::urls::url_view& u = *parsed;

  Target target;
  const std::string scheme = to_lower(u.scheme());
  if (scheme != "http" && scheme != "https") {
    return fail("invalid URL" + shown + ": scheme must be http or https, not " + quoted(scheme));
  }
  target.https = scheme == "https";
  if (u.host_type() == boost::urls::host_type::ipvfuture) {
    return fail("invalid URL" + shown + ": unsupported IP literal");
  }
  target.host = u.host_address();
  if (target.host.empty()) return fail("invalid URL" + shown + ": no host");

  const std::uint16_t default_port = target.https ? 443 : 80;
  target.port = default_port;
  if (u.has_port() && !u.port().empty()) {
    // Not port_number(): Boost.URL 1.81 truncates values above 65535 instead of rejecting them.
    const std::string_view digits = u.port();
    unsigned long port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      return fail("invalid URL" + shown + ": invalid port " + quoted(digits));
    }
    target.port = static_cast<std::uint16_t>(port);
  }

  const bool ipv6 = u.host_type() == boost::urls::host_type::ipv6;
  const std::string bracketed = ipv6 ? "[" + target.host + "]" : target.host;
  target.host_header = target.port == default_port ? bracketed : bracketed + ":" + std::to_string(target.port);
  target.origin = scheme + "://" + bracketed + ":" + std::to_string(target.port);

  // Boost.URL 1.81 accepts "http://user:pa/ss@host/" as host "user", empty port and the
  // rootless path "pa/ss@host/"; RFC 3986 requires a path after an authority to start with '/'.
  const std::string_view path = u.encoded_path();
  if (!path.empty() && path.front() != '/') return fail("invalid URL" + shown + ": path must start with '/'");
  target.request_target = path.empty() ? "/" : std::string(path);
  if (u.has_query()) target.request_target += "?" + std::string(u.encoded_query());

  if (u.has_userinfo()) {
    target.authorization = "Basic " + base64_encode(u.user() + ":" + u.password());
  }
  return target;
}

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

Result<std::string> serialize(const HttpRequest& request, const Target& target) {
  if (!is_token(request.method)) return fail("invalid HTTP method " + quoted(request.method));
  const auto has = [&](std::string_view name) {
    return std::any_of(request.headers.begin(), request.headers.end(),
                       [&](const auto& header) { return iequals(header.first, name); });
  };
  if (has("Transfer-Encoding")) {
    return fail("invalid request header Transfer-Encoding: the client frames bodies itself");
  }

  std::string wire;
  wire.reserve(256 + request.body.size());
  wire += request.method + " " + target.request_target + " HTTP/1.1\r\n";
  if (!has("Host")) wire += "Host: " + target.host_header + "\r\n";
  if (target.authorization && !has("Authorization")) wire += "Authorization: " + *target.authorization + "\r\n";
  if (!has("User-Agent")) wire += "User-Agent: ebb\r\n";
  for (const auto& [name, value] : request.headers) {
    // Never trust a caller's Content-Length: a wrong one would desynchronise the connection.
    if (iequals(name, "Content-Length")) continue;
    if (!is_token(name)) return fail("invalid request header name " + quoted(name));
    if (!is_field_value(value)) return fail("invalid value for request header " + name);
    wire += name + ": " + value + "\r\n";
  }
  const bool body_expected = request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || body_expected) {
    wire += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  return wire;
}

// ---------------------------------------------------------------------------------------------
// One request/response exchange on one connection.

// Failures carry enough to decide whether a retry on a fresh connection is safe.
struct ExchangeFailure {
  Error error;
  bool nothing_received = false;
};

class Exchange {
 public:
  Exchange(Stream& stream, Clock::time_point deadline, Timeout total, std::size_t max_body)
      : stream_(stream), deadline_(deadline), total_(total), max_body_(max_body) {}

  // On success `reusable` says whether the connection may carry another request.
  Result<HttpResponse, ExchangeFailure> run(const std::string& wire, const std::string& method,
                                            bool& reusable) {
    phase_ = "sending the request";
    if (auto written = write(wire); !written) return unexpected(failure(written.error()));
    phase_ = "waiting for the response";
    auto response = read_response(method, reusable);
    if (!response) return unexpected(failure(response.error()));
    return std::move(response.value());
  }

 private:
  ExchangeFailure failure(const Error& error) const {
    ExchangeFailure result{error, !received_any_};
    if (Clock::now() >= deadline_) {
      result.error = Error{"timed out after " + format_ms(idle_ ? *idle_ : total_) + " " + phase_, true};
    }
    return result;
  }

 public:
  // Streams the body of a response to `on_data` after handing the head to `on_head`. From the
  // body on, each read gets its own deadline of `idle` instead of the request's total.
  Result<void, ExchangeFailure> run_stream(const std::string& wire, const std::string& method, Timeout idle,
                                           const HttpStreamHandlers& handlers) {
    phase_ = "sending the request";
    if (auto written = write(wire); !written) return unexpected(failure(written.error()));
    phase_ = "waiting for the response";
    HttpResponse head;
    int minor_version = 0;
    if (auto read = read_head(head, minor_version); !read) return unexpected(failure(read.error()));
    if (handlers.on_head && !handlers.on_head(head)) return {};
    phase_ = "streaming the response body";
    idle_ = idle;
    const bool no_body = method == "HEAD" || head.status == 204 || head.status == 304 || head.status < 200;
    if (no_body) return {};
    const auto deliver = [&](std::string_view data) { return !handlers.on_data || handlers.on_data(data); };
    Result<bool> streamed = true;
    const std::string transfer_encoding = head.header("Transfer-Encoding");
    if (!transfer_encoding.empty() && iequals(split(transfer_encoding, ',').back(), "chunked")) {
      streamed = stream_chunked(deliver);
    } else if (transfer_encoding.empty() && !head.header("Content-Length").empty()) {
      auto length = content_length(head.headers);
      if (!length) return unexpected(failure(length.error()));
      streamed = stream_exact(*length, deliver);
    } else {
      streamed = stream_until_close(deliver);
    }
    if (!streamed) return unexpected(failure(streamed.error()));
    return {};
  }

 private:
  // Each returns false when the consumer stopped, true at the end of the body.
  template <class F>
  Result<bool> stream_exact(std::size_t n, F& deliver) {
    while (n > 0) {
      if (buffered() == 0) {
        if (auto filled = fill(); !filled) return unexpected(filled.error());
      }
      const std::size_t piece = std::min(n, buffered());
      n -= piece;
      if (!deliver(take(piece))) return false;
    }
    return true;
  }

  template <class F>
  Result<bool> stream_until_close(F& deliver) {
    while (true) {
      if (buffered() > 0 && !deliver(take(buffered()))) return false;
      if (auto filled = fill(); !filled) {
        if (stream_.peer_closed()) return true;
        return unexpected(filled.error());
      }
    }
  }

  template <class F>
  Result<bool> stream_chunked(F& deliver) {
    while (true) {
      auto size = chunk_size();
      if (!size) return unexpected(size.error());
      if (*size == 0) break;
      auto piece = stream_exact(*size, deliver);
      if (!piece || !*piece) return piece;
      auto terminator = line(0, "chunk terminator");
      if (!terminator) return unexpected(terminator.error());
    }
    if (auto trailers = skip_trailers(); !trailers) return unexpected(trailers.error());
    return true;
  }

  Result<void> write(std::string_view data) {
    const Timeout left = remaining(deadline_);
    if (left.count() <= 0) return fail("timed out", true);
    return stream_.write_all(data, left);
  }

  // Appends at least one byte to buffer_.
  Result<void> fill() {
    if (idle_) deadline_ = Clock::now() + *idle_;
    const Timeout left = remaining(deadline_);
    if (left.count() <= 0) return fail("timed out", true);
    // Drop what has been consumed; usually nothing or a partial line is left to move.
    buffer_.erase(0, start_);
    start_ = 0;
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + kReadChunk);
    auto n = stream_.read_some(buffer_.data() + old_size, kReadChunk, left);
    buffer_.resize(old_size + (n ? *n : 0));
    if (!n) return unexpected(n.error());
    received_any_ = true;
    return {};
  }

  std::size_t buffered() const { return buffer_.size() - start_; }

  std::string_view take(std::size_t n) {
    std::string_view out(buffer_.data() + start_, n);
    start_ += n;
    return out;
  }

  // A line without its terminator. Bare LF is accepted as a terminator, as RFC 9112 allows.
  Result<std::string> line(std::size_t max_length, const char* what) {
    std::size_t searched = 0;
    while (true) {
      const std::string_view pending(buffer_.data() + start_, buffered());
      if (const auto lf = pending.find('\n', searched); lf != std::string_view::npos) {
        std::string_view text = take(lf + 1).substr(0, lf);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (text.size() > max_length) break;
        return std::string(text);
      }
      if (pending.size() > max_length + 1) break;
      searched = pending.size();
      if (auto filled = fill(); !filled) return unexpected(filled.error());
    }
    return fail(std::string("malformed response: ") + what + " longer than " + std::to_string(max_length) +
                " bytes");
  }

  Result<void> read_exact(std::size_t n, std::string& out) {
    while (buffered() < n) {
      // Hand the already-buffered part over first so that buffer_ never holds the whole body twice.
      const std::size_t have = buffered();
      out.append(take(have));
      n -= have;
      if (auto filled = fill(); !filled) return unexpected(filled.error());
    }
    out.append(take(n));
    return {};
  }

  Result<void> read_until_close(std::string& out) {
    while (true) {
      out.append(take(buffered()));
      if (out.size() > max_body_) return too_large();
      if (auto filled = fill(); !filled) {
        if (stream_.peer_closed()) return {};
        return filled;
      }
    }
  }

  Unexpected<Error> too_large() const {
    return fail("response body larger than " + std::to_string(max_body_) + " bytes");
  }

  Result<void> read_head(HttpResponse& response, int& minor_version) {
    for (int interim = 0;; ++interim) {
      response.headers.clear();
      std::size_t header_bytes = 0;
      auto status_line = line(kMaxHeaderBytes, "status line");
      if (!status_line) return unexpected(status_line.error());
      phase_ = "reading the response headers";
      header_bytes += status_line->size();
      if (auto parsed = parse_status_line(*status_line, response.status, minor_version); !parsed) {
        return unexpected(parsed.error());
      }
      while (true) {
        auto header_line = line(kMaxHeaderBytes, "header line");
        if (!header_line) return unexpected(header_line.error());
        if (header_line->empty()) break;
        header_bytes += header_line->size();
        if (header_bytes > kMaxHeaderBytes) {
          return fail("malformed response: headers larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
        }
        if (auto added = add_header(*header_line, response.headers); !added) return unexpected(added.error());
      }
      // 1xx responses (100 Continue, 103 Early Hints) precede the real one; 101 would switch
      // protocols and is final.
      if (response.status >= 200 || response.status == 101) break;
      if (interim >= kMaxInterimResponses) return fail("malformed response: too many 1xx responses");
    }
    return {};
  }

  Result<HttpResponse> read_response(const std::string& method, bool& reusable) {
    HttpResponse response;
    int minor_version = 0;
    if (auto head = read_head(response, minor_version); !head) return unexpected(head.error());

    const std::string connection = response.header("Connection");
    bool keep_alive = minor_version >= 1 ? !lists_token(connection, "close") : lists_token(connection, "keep-alive");
    if (response.status == 101) keep_alive = false;

    phase_ = "reading the response body";
    const bool no_body = method == "HEAD" || response.status == 204 || response.status == 304 ||
                         response.status < 200;
    const std::string transfer_encoding = response.header("Transfer-Encoding");
    if (no_body) {
      // Nothing to read.
    } else if (!transfer_encoding.empty()) {
      // RFC 9112 6.3: chunked must be the final coding; otherwise the body runs until close.
      const auto codings = split(transfer_encoding, ',');
      // A message with both framings may be an attack on a proxy in between; read it by
      // Transfer-Encoding as RFC 9112 says, but do not trust the connection afterwards.
      if (!response.header("Content-Length").empty()) keep_alive = false;
      if (iequals(codings.back(), "chunked")) {
        if (auto read = read_chunked(response.body); !read) return unexpected(read.error());
      } else {
        keep_alive = false;
        if (auto read = read_until_close(response.body); !read) return unexpected(read.error());
      }
    } else if (response.header("Content-Length").empty()) {
      keep_alive = false;
      if (auto read = read_until_close(response.body); !read) return unexpected(read.error());
    } else {
      auto length = content_length(response.headers);
      if (!length) return unexpected(length.error());
      if (*length > max_body_) return too_large();
      response.body.reserve(*length);
      if (auto read = read_exact(*length, response.body); !read) return unexpected(read.error());
    }
    // Bytes beyond the response mean the framing is not what we think; do not reuse.
    reusable = keep_alive && buffered() == 0;
    return response;
  }

  static Result<void> parse_status_line(std::string_view text, int& status, int& minor_version) {
    // "HTTP/1.1 200 OK"; the reason phrase is optional and ignored.
    const auto malformed = [&] { return fail("malformed response: bad status line " + quoted(text.substr(0, 64))); };
    if (text.size() < 12 || text.substr(0, 7) != "HTTP/1." || text[8] != ' ') return malformed();
    if (text[7] < '0' || text[7] > '9') return malformed();
    minor_version = text[7] - '0';
    const std::string_view code = text.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return malformed();
    if (text.size() > 12 && text[12] != ' ') return malformed();
    status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status < 100) return malformed();
    return {};
  }

  static Result<void> add_header(std::string_view text, std::vector<std::pair<std::string, std::string>>& headers) {
    if (text.front() == ' ' || text.front() == '\t') {
      // Obsolete line folding continues the previous value.
      if (headers.empty()) return fail("malformed response: continuation line before any header");
      headers.back().second += " ";
      headers.back().second += trim(text);
      return {};
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || !is_token(text.substr(0, colon))) {
      return fail("malformed response: bad header line " + quoted(text.substr(0, 64)));
    }
    headers.emplace_back(std::string(text.substr(0, colon)), std::string(trim(text.substr(colon + 1))));
    return {};
  }

  // Repeated or list-valued Content-Length is accepted only when every value agrees (RFC 9110 8.6);
  // disagreement is the classic request-smuggling shape.
  static Result<std::size_t> content_length(const std::vector<std::pair<std::string, std::string>>& headers) {
    std::optional<std::size_t> length;
    for (const auto& [name, value] : headers) {
      if (!iequals(name, "Content-Length")) continue;
      for (const auto& item : split(value, ',')) {
        std::size_t parsed = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), parsed);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size() || (length && *length != parsed)) {
          return fail("malformed response: bad Content-Length " + quoted(value));
        }
        length = parsed;
      }
    }
    if (!length) return fail("malformed response: bad Content-Length");
    return *length;
  }

  Result<std::size_t> chunk_size() {
    auto size_line = line(kMaxChunkLine, "chunk size line");
    if (!size_line) return unexpected(size_line.error());
    // Extensions after ';' carry nothing we use.
    const std::string_view digits = trim(std::string_view(*size_line).substr(0, size_line->find(';')));
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      return fail("malformed response: bad chunk size " + quoted(digits.substr(0, 32)));
    }
    return size;
  }

  Result<void> read_chunked(std::string& body) {
    while (true) {
      auto chunk = chunk_size();
      if (!chunk) return unexpected(chunk.error());
      const std::size_t size = *chunk;
      if (size == 0) break;
      if (size > max_body_ || body.size() + size > max_body_) return too_large();
      if (auto read = read_exact(size, body); !read) return read;
      auto terminator = line(0, "chunk terminator");
      if (!terminator) return unexpected(terminator.error());
    }
    return skip_trailers();
  }

  Result<void> skip_trailers() {
    // Trailer fields are read to find the end of the message, then dropped: nothing we call
    // relies on them.
    std::size_t trailer_bytes = 0;
    while (true) {
      auto trailer = line(kMaxHeaderBytes, "trailer line");
      if (!trailer) return unexpected(trailer.error());
      if (trailer->empty()) return {};
      trailer_bytes += trailer->size();
      if (trailer_bytes > kMaxHeaderBytes) return fail("malformed response: trailers too large");
    }
  }

  Stream& stream_;
  Clock::time_point deadline_;
  Timeout total_;
  std::size_t max_body_;
  std::string buffer_;
  std::size_t start_ = 0;  // first unconsumed byte of buffer_
  bool received_any_ = false;
  const char* phase_ = "";
  std::optional<Timeout> idle_;  // set while streaming a body
};

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

struct HttpClient::Impl {
  struct IdleConnection {
    std::unique_ptr<Stream> stream;
    Clock::time_point since;
  };

  // A connection checked out of the pool; closed (and uncounted) unless handed back.
  class Lease {
   public:
    Lease(Impl& impl, std::string origin, std::unique_ptr<Stream> stream, bool reused)
        : impl_(&impl), origin_(std::move(origin)), stream_(std::move(stream)), reused_(reused) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (stream_) impl_->discard(std::move(stream_));
    }
    Stream& stream() { return *stream_; }
    bool reused() const { return reused_; }
    void give_back() { impl_->give_back(origin_, std::move(stream_)); }

   private:
    Impl* impl_;
    std::string origin_;
    std::unique_ptr<Stream> stream_;
    bool reused_;
  };

  explicit Impl(HttpClientOptions opts) : options(std::move(opts)), tls(options.tls) { tls.enabled = true; }

  std::unique_ptr<Stream> take_idle(const std::string& origin) {
    std::vector<std::unique_ptr<Stream>> unusable;  // closed after the lock is released
    std::lock_guard lock(mutex);
    auto it = idle.find(origin);
    if (it == idle.end()) return nullptr;
    const auto now = Clock::now();
    std::unique_ptr<Stream> found;
    auto& list = it->second;
    // Most recently used first: it is the least likely to have been closed by the server.
    while (!list.empty() && !found) {
      IdleConnection candidate = std::move(list.back());
      list.pop_back();
      if (now - candidate.since < options.idle_timeout && candidate.stream->idle_alive()) {
        found = std::move(candidate.stream);
      } else {
        unusable.push_back(std::move(candidate.stream));
        --open;
      }
    }
    if (list.empty()) idle.erase(it);
    return found;
  }

  void give_back(const std::string& origin, std::unique_ptr<Stream> stream) {
    std::vector<std::unique_ptr<Stream>> closing;
    std::lock_guard lock(mutex);
    const auto now = Clock::now();
    // Sweep expired connections of every host, so hosts that are no longer asked do not keep
    // sockets open forever.
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      const auto expired = std::partition(list.begin(), list.end(), [&](const IdleConnection& c) {
        return now - c.since < options.idle_timeout;
      });
      for (auto e = expired; e != list.end(); ++e) closing.push_back(std::move(e->stream));
      open -= static_cast<std::size_t>(list.end() - expired);
      list.erase(expired, list.end());
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
    auto& list = idle[origin];
    if (list.size() < options.max_idle_per_host) {
      list.push_back({std::move(stream), now});
    } else {
      closing.push_back(std::move(stream));
      --open;
    }
    if (list.empty()) idle.erase(origin);
  }

  void discard(std::unique_ptr<Stream> stream) {
    stream.reset();
    std::lock_guard lock(mutex);
    --open;
  }

  Result<Lease> acquire(const Target& target, Clock::time_point deadline) {
    if (auto stream = take_idle(target.origin)) return Lease(*this, target.origin, std::move(stream), true);
    const Timeout left = remaining(deadline);
    auto stream = Stream::connect(target.host, target.port, target.https ? tls : TlsOptions{},
                                  std::max(left, Timeout(0)));
    if (!stream) return unexpected(stream.error());
    std::lock_guard lock(mutex);
    ++open;
    return Lease(*this, target.origin, std::move(stream.value()), false);
  }

  // What send() and stream() both need before touching the network: the method checked (before
  // it appears in any message), the URL parsed, the error prefix, and the request on the wire.
  struct Prepared {
    Target target;
    std::string prefix;
    std::string wire;
  };
  Result<Prepared> prepare(const HttpRequest& request) const {
    if (!is_token(request.method)) return fail("invalid HTTP method " + quoted(request.method));
    auto target = parse_target(request.url);
    if (!target) return unexpected(target.error());
    std::string prefix = request.method + " " + target->origin + ": ";
    auto wire = serialize(request, *target);
    if (!wire) return fail(prefix + wire.error().message);
    return Prepared{std::move(target.value()), std::move(prefix), std::move(wire.value())};
  }

  Result<HttpResponse> send(const HttpRequest& request, bool& request_sent) {
    request_sent = false;
    const auto deadline = Clock::now() + request.timeout;
    auto prepared = prepare(request);
    if (!prepared) return unexpected(prepared.error());
    const auto& [target, prefix, wire] = *prepared;

    for (int attempt = 0;; ++attempt) {
      auto lease = acquire(target, deadline);
      if (!lease) return fail(prefix + lease.error().message, lease.error().transient);
      bool reusable = false;
      request_sent = true;
      Exchange exchange(lease->stream(), deadline, request.timeout, options.max_response_bytes);
      auto response = exchange.run(wire, request.method, reusable);
      if (response) {
        if (reusable) lease->give_back();
        return std::move(response.value());
      }
      // A pooled connection can die between our liveness check and the request reaching the
      // server. Nothing came back, so the server may not have seen the request; repeating is
      // safe only when doing it twice means the same as doing it once.
      const bool stale = lease->reused() && response.error().nothing_received;
      if (attempt == 0 && stale && is_idempotent(request.method) && Clock::now() < deadline) continue;
      return fail(prefix + response.error().error.message, response.error().error.transient);
    }
  }

  Result<void> stream(const HttpRequest& request, Timeout idle_timeout, const HttpStreamHandlers& handlers,
                      bool& request_sent) {
    request_sent = false;
    const auto deadline = Clock::now() + request.timeout;
    auto prepared = prepare(request);
    if (!prepared) return unexpected(prepared.error());
    const auto& [target, prefix, wire] = *prepared;
    if (handlers.cancel && handlers.cancel->cancelled()) return fail(prefix + "stream cancelled", false);
    // Always a fresh connection: a pooled one may have died, and a stream that fails after
    // the head cannot be replayed transparently anyway.
    const Timeout left = remaining(deadline);
    auto stream = Stream::connect(target.host, target.port, target.https ? tls : TlsOptions{},
                                  std::max(left, Timeout(0)));
    if (!stream) return fail(prefix + stream.error().message, stream.error().transient);
    {
      std::lock_guard lock(mutex);
      ++open;
    }
    Lease lease(*this, target.origin, std::move(stream.value()), false);  // discarded on return
    // Declared after the lease, so the stream is unregistered before it is destroyed.
    struct Detach {
      HttpStreamCancel* cancel;
      ~Detach() {
        if (cancel != nullptr) cancel->detach();
      }
    } detach{nullptr};
    if (handlers.cancel) {
      if (!handlers.cancel->attach(&lease.stream())) return fail(prefix + "stream cancelled", false);
      detach.cancel = handlers.cancel.get();
    }
    request_sent = true;
    Exchange exchange(lease.stream(), deadline, request.timeout, options.max_response_bytes);
    auto streamed = exchange.run_stream(wire, request.method, idle_timeout, handlers);
    if (!streamed) return fail(prefix + streamed.error().error.message, streamed.error().error.transient);
    return {};
  }

  HttpClientOptions options;
  TlsOptions tls;  // options.tls with enabled set, for https URLs
  mutable std::mutex mutex;
  std::map<std::string, std::vector<IdleConnection>> idle;  // by origin
  std::size_t open = 0;                                     // idle plus leased
};

void HttpStreamCancel::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (active_ != nullptr) active_->interrupt();  // under the lock: detach() waits for it
}

bool HttpStreamCancel::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool HttpStreamCancel::attach(Stream* stream) {
  std::lock_guard lock(mutex_);
  if (cancelled_) return false;
  active_ = stream;
  return true;
}

void HttpStreamCancel::detach() {
  std::lock_guard lock(mutex_);
  active_ = nullptr;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  bool request_sent = false;
  return send(request, request_sent);
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request, bool& request_sent) {
  request_sent = false;
  try {
    return impl_->send(request, request_sent);
  } catch (const std::exception& e) {
    // Only allocation failures should get here; the message must still not leak the URL.
    return fail(std::string("HTTP request failed: ") + e.what(), true);
  }
}

Result<void> HttpClient::stream(const HttpRequest& request, Timeout idle_timeout, const HttpStreamHandlers& handlers,
                               bool* request_sent) {
  bool sent = false;
  Result<void> result;
  try {
    result = impl_->stream(request, idle_timeout, handlers, sent);
  } catch (const std::exception& e) {
    // A handler's exception must not escape as a broken connection in someone else's pool.
    result = fail(std::string("HTTP stream failed: ") + e.what(), true);
  }
  if (request_sent != nullptr) *request_sent = sent;
  return result;
}

std::size_t HttpClient::open_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->open;
}

std::string url_escape_component(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

namespace {

// "user:pa" (from "user:pa/ss@host") rather than "host:8080", "host" or "[::1]:80".
bool looks_like_cut_userinfo(std::string_view authority) {
  if (authority.empty() || authority.front() == '[') return false;
  const auto colon = authority.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view after = authority.substr(colon + 1);
  return !std::all_of(after.begin(), after.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string redact_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::string_view authority = url.substr(authority_start, authority_end - authority_start);

  std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    at += authority_start;
  } else if (looks_like_cut_userinfo(authority)) {
    // "user:pa/ss@host": a password with an unescaped '/', '?' or '#' ends the authority early
    // for a strict parser, yet it is still a password. Treat a later '@' as the end of the
    // userinfo; over-redacting an odd URL beats leaking a password into a log.
    at = url.rfind('@');
    if (at == std::string_view::npos) return std::string(url);
  } else {
    return std::string(url);
  }
  const std::size_t colon = url.find(':', authority_start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  std::string out(url.substr(0, colon + 1));
  out += "xxxxx";
  out += url.substr(at);
  return out;
}

}  // namespace ebb::net
