// The one translation unit that includes Asio and OpenSSL (see stream.h for why).
//
// Every blocking call is an asynchronous Asio operation run on the stream's own io_context with
// run_for(): when the deadline passes first, the socket is closed so the pending operation
// completes with operation_aborted, and the call reports a timeout. This gives each operation a
// hard deadline without signals, and works the same for TLS, where socket-level timeouts
// (SO_RCVTIMEO) would leave OpenSSL's state undefined.
#include "ebb/net/stream.h"

#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ebb/strings.h"

namespace ebb::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

std::string format_ms(Timeout t) { return std::to_string(t.count()) + "ms"; }

std::string format_peer(const std::string& host, std::uint16_t port) {
  return join_host_port(host, std::to_string(port));
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Rounds up so that a deadline a fraction of a millisecond away still gets a chance to run.
Timeout remaining(Clock::time_point deadline) {
  return std::chrono::ceil<Timeout>(deadline - Clock::now());
}

std::string describe(const error_code& ec) {
  // A TLS peer that closes without close_notify (most servers do) is an ordinary close for us.
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return "connection closed by peer";
  return ec.message();
}

// ---------------------------------------------------------------------------------------------
// Name resolution with a deadline.
//
// getaddrinfo() cannot be cancelled, and Asio's resolver waits for it when the io_context is
// destroyed, so a hung DNS server would stall the caller far past its deadline. The lookup runs
// on a detached thread instead; on timeout the caller walks away and the thread finishes alone.

struct ResolveState {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  std::vector<tcp::endpoint> endpoints;
  std::string error;
};

void resolve_blocking(const std::string& host, std::uint16_t port, ResolveState& state) noexcept {
  std::vector<tcp::endpoint> endpoints;
  std::string error;
  try {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
    if (rc == EAI_SYSTEM) {
      error = std::system_category().message(errno);
    } else if (rc != 0) {
      error = ::gai_strerror(rc);
    } else {
      for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        tcp::endpoint endpoint;
        std::memcpy(endpoint.data(), ai->ai_addr, ai->ai_addrlen);
        endpoint.resize(ai->ai_addrlen);
        endpoints.push_back(endpoint);
      }
      ::freeaddrinfo(list);
      if (endpoints.empty()) error = "no IPv4 or IPv6 address";
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard lock(state.mutex);
  state.endpoints = std::move(endpoints);
  state.error = std::move(error);
  state.done = true;
  state.finished.notify_all();
}

Result<std::vector<tcp::endpoint>> resolve(const std::string& host, std::uint16_t port,
                                           const std::string& peer, Timeout budget,
                                           Clock::time_point deadline) {
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};

  auto state = std::make_shared<ResolveState>();
  std::thread([state, host, port] { resolve_blocking(host, port, *state); }).detach();
  std::unique_lock lock(state->mutex);
  if (!state->finished.wait_until(lock, deadline, [&] { return state->done; })) {
    return fail("resolve " + peer + ": timed out after " + format_ms(budget), true);
  }
  if (!state->error.empty()) return fail("resolve " + peer + ": " + state->error, true);
  return std::move(state->endpoints);
}

// ---------------------------------------------------------------------------------------------
// TLS contexts.
//
// Loading the system trust store parses every root certificate, which is far more work than a
// handshake, so contexts are shared between connections that use the same certificates. An
// SSL_CTX is safe to share once configured; everything per connection (SNI, verification mode
// and name) is set on the SSL object instead.

using ContextKey = std::tuple<std::string, std::string, std::string, std::string, bool>;
constexpr std::size_t kMaxCachedContexts = 16;

Result<std::shared_ptr<ssl::context>> build_tls_context(const TlsOptions& tls, const std::string& peer) {
  const std::string prefix = "TLS setup for " + peer + ": ";
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  const int minimum = tls.tls13_minimum ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (::SSL_CTX_set_min_proto_version(context->native_handle(), minimum) != 1) {
    return fail(prefix + (tls.tls13_minimum ? "cannot require TLS 1.3" : "cannot require TLS 1.2"));
  }
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  // Without a callback OpenSSL would prompt for a key password on the terminal.
  context->set_password_callback(
      [password = tls.key_password](std::size_t, ssl::context::password_purpose) { return password; });

  error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) return fail(prefix + "loading system CA certificates: " + ec.message());
  if (!tls.ca_pem.empty()) {
    context->add_certificate_authority(asio::buffer(tls.ca_pem), ec);
    if (ec) return fail(prefix + "invalid CA certificate: " + ec.message());
  }
  if (tls.cert_pem.empty() != tls.key_pem.empty()) {
    return fail(prefix + "a client certificate needs both a certificate and a key");
  }
  if (!tls.cert_pem.empty()) {
    context->use_certificate_chain(asio::buffer(tls.cert_pem), ec);
    if (ec) return fail(prefix + "invalid client certificate: " + ec.message());
    context->use_private_key(asio::buffer(tls.key_pem), ssl::context::pem, ec);
    if (ec) return fail(prefix + "invalid client key: " + ec.message());
  }
  return context;
}

Result<std::shared_ptr<ssl::context>> tls_context_for(const TlsOptions& tls, const std::string& peer) {
  static std::mutex mutex;
  static std::map<ContextKey, std::shared_ptr<ssl::context>> cache;
  ContextKey key{tls.ca_pem, tls.cert_pem, tls.key_pem, tls.key_password, tls.tls13_minimum};
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  auto built = build_tls_context(tls, peer);  // outside the lock: it reads the trust store
  if (!built) return built;
  std::lock_guard lock(mutex);
  // Certificates rotate rarely; dropping everything now and then is simpler than LRU and the
  // streams that use an evicted context keep it alive through their shared_ptr.
  if (cache.size() >= kMaxCachedContexts) cache.clear();
  return cache.emplace(std::move(key), std::move(built.value())).first->second;
}

// ---------------------------------------------------------------------------------------------
// The stream.

struct Outcome {
  error_code ec;
  std::size_t bytes = 0;
  bool timed_out = false;
};

// Completion handler for every operation we start; records the result for run().
class Completion {
 public:
  Completion(Outcome& outcome, bool& done) : outcome_(&outcome), done_(&done) {}
  void operator()(const error_code& ec, std::size_t bytes = 0) {
    outcome_->ec = ec;
    outcome_->bytes = bytes;
    *done_ = true;
  }
  void operator()(const error_code& ec, const tcp::endpoint&) { (*this)(ec); }

 private:
  Outcome* outcome_;
  bool* done_;
};

// Layer is tcp::socket or ssl::stream<tcp::socket>; only these two are ever instantiated.
template <class Layer>
class AsioStream final : public Stream {
  static constexpr bool kTls = !std::is_same_v<Layer, tcp::socket>;

 public:
  AsioStream(std::string peer, std::shared_ptr<ssl::context> tls_context)
      : peer_(std::move(peer)), tls_context_(std::move(tls_context)), layer_(make_layer()) {}
  ~AsioStream() override { close(); }
  AsioStream(const AsioStream&) = delete;
  AsioStream& operator=(const AsioStream&) = delete;

  Result<void> connect_tcp(const std::vector<tcp::endpoint>& endpoints, Timeout budget,
                           Clock::time_point deadline) {
    const auto outcome = run(
        [&](Completion done) { asio::async_connect(layer_.lowest_layer(), endpoints, std::move(done)); },
        remaining(deadline));
    if (outcome.timed_out) return failed("connect " + peer_ + ": timed out after " + format_ms(budget));
    if (outcome.ec) return failed("connect " + peer_ + ": " + describe(outcome.ec));
    open_ = true;
    error_code ignored;
    // Requests are small and latency matters more than packet count.
    layer_.lowest_layer().set_option(tcp::no_delay(true), ignored);
    return {};
  }

  Result<void> handshake(const std::string& host, const TlsOptions& tls, Timeout budget,
                         Clock::time_point deadline)
    requires kTls
  {
    const std::string prefix = "TLS handshake with " + peer_ + ": ";
    SSL* ssl = layer_.native_handle();
    const std::string& name = tls.server_name.empty() ? host : tls.server_name;
    const bool name_is_ip = is_ip_literal(name);
    // RFC 6066 allows only host names in SNI; servers reached by IP get none.
    if (!name_is_ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      return failed(prefix + "cannot set server name", false);
    }
    if (tls.insecure_skip_verify) {
      layer_.set_verify_mode(ssl::verify_none);
    } else {
      // OpenSSL's own name check (rather than a verify callback) records a specific reason,
      // "hostname mismatch", that SSL_get_verify_result reports below.
      layer_.set_verify_mode(ssl::verify_peer);
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int set = name_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                                 : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (set != 1) return failed(prefix + "cannot verify server name " + name, false);
    }

    const auto outcome = run(
        [&](Completion done) { layer_.async_handshake(ssl::stream_base::client, std::move(done)); },
        remaining(deadline));
    if (outcome.timed_out) return failed(prefix + "timed out after " + format_ms(budget));
    if (outcome.ec) {
      const long verify_result = SSL_get_verify_result(ssl);
      if (verify_result != X509_V_OK) {
        // Not transient: retrying cannot help until the certificates or the options change.
        return failed(prefix + "certificate verify failed: " +
                          X509_verify_cert_error_string(verify_result),
                      false);
      }
      return failed(prefix + describe(outcome.ec));
    }
    return {};
  }

  Result<void> write_all(std::string_view data, Timeout timeout) override {
    if (!open_) return fail("write to " + peer_ + ": connection is closed", true);
    const auto outcome = run(
        [&](Completion done) { asio::async_write(layer_, asio::buffer(data), std::move(done)); }, timeout);
    if (outcome.timed_out) return failed("write to " + peer_ + ": timed out after " + format_ms(timeout));
    if (outcome.ec) return failed("write to " + peer_ + ": " + describe(outcome.ec));
    return {};
  }

  Result<std::size_t> read_some(char* buffer, std::size_t size, Timeout timeout) override {
    if (!open_) return fail("read from " + peer_ + ": connection is closed", true);
    if (size == 0) return std::size_t{0};  // Asio would complete at once anyway
    const auto outcome = run(
        [&](Completion done) { layer_.async_read_some(asio::buffer(buffer, size), std::move(done)); },
        timeout);
    if (outcome.timed_out) {
      return failed("read from " + peer_ + ": timed out after " + format_ms(timeout));
    }
    if (outcome.ec) {
      peer_closed_ = outcome.ec == asio::error::eof || outcome.ec == ssl::error::stream_truncated;
      return failed("read from " + peer_ + ": " + describe(outcome.ec));
    }
    return outcome.bytes;
  }

  bool peer_closed() const override { return peer_closed_; }

  bool idle_alive() override {
    if (!open_) return false;
    // Between requests nothing may arrive, so readability means a FIN, a reset, or stray bytes;
    // any of them makes the connection unusable. Catching this here avoids sending a request
    // into a connection the server has already given up on (the retry after that is only safe
    // for idempotent requests).
    pollfd poll_fd{};
    poll_fd.fd = layer_.lowest_layer().native_handle();
    poll_fd.events = POLLIN;
    if (::poll(&poll_fd, 1, 0) == 0) return true;
    close();
    return false;
  }

  bool is_open() const override { return open_; }

  void interrupt() override {
    // io_context::stop() is thread-safe; once is enough, and a second stop() could cut short the
    // run() in run() that must let an aborted operation complete.
    if (!interrupted_.exchange(true)) io_.stop();
  }

  void close() override {
    open_ = false;
    error_code ignored;
    // No TLS close_notify: it costs a round trip the peer does not need, and a blocking close
    // could miss the caller's deadline.
    layer_.lowest_layer().close(ignored);
  }

  const std::string& peer() const override { return peer_; }

 private:
  Layer make_layer() {
    if constexpr (kTls) {
      return Layer(io_, *tls_context_);
    } else {
      return Layer(io_);
    }
  }

  // Runs one operation to completion or until `timeout`; see the comment at the top of the file.
  template <class Initiate>
  Outcome run(Initiate&& initiate, Timeout timeout) {
    Outcome outcome;
    if (timeout.count() <= 0) {
      outcome.timed_out = true;
      return outcome;
    }
    bool done = false;
    initiate(Completion(outcome, done));
    io_.restart();
    // An interrupt() before restart() is seen here; one after it makes run_for() return at once.
    if (!interrupted_) io_.run_for(timeout);
    if (!done) {
      outcome.timed_out = !interrupted_;
      error_code ignored;
      layer_.lowest_layer().close(ignored);
      // Lets the aborted operation complete so nothing refers to our locals (it then reports
      // operation_aborted). A loop, as an interrupt() arriving now could stop one run() early.
      while (!done) {
        io_.restart();
        io_.run();
      }
    }
    return outcome;
  }

  // Every failure leaves the stream closed: its state (a half-written request, a TLS record cut in
  // two) is unknown, so the caller must reconnect.
  Unexpected<Error> failed(std::string message, bool transient = true) {
    close();
    return fail(std::move(message), transient);
  }

  std::string peer_;
  std::shared_ptr<ssl::context> tls_context_;  // outlives layer_, which refers to it
  asio::io_context io_{1};
  Layer layer_;
  bool open_ = false;
  bool peer_closed_ = false;
  std::atomic<bool> interrupted_{false};
};

using PlainStream = AsioStream<tcp::socket>;
using TlsStream = AsioStream<ssl::stream<tcp::socket>>;

Result<std::unique_ptr<Stream>> connect_stream(const std::string& host, std::uint16_t port,
                                               const TlsOptions& tls, Timeout timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string peer = format_peer(host, port);
  if (host.empty()) return fail("connect " + peer + ": empty host name");

  auto endpoints = resolve(host, port, peer, timeout, deadline);
  if (!endpoints) return unexpected(endpoints.error());

  if (!tls.enabled) {
    auto stream = std::make_unique<PlainStream>(peer, nullptr);
    if (auto connected = stream->connect_tcp(*endpoints, timeout, deadline); !connected) {
      return unexpected(connected.error());
    }
    return std::unique_ptr<Stream>(std::move(stream));
  }

  auto context = tls_context_for(tls, peer);
  if (!context) return unexpected(context.error());
  auto stream = std::make_unique<TlsStream>(peer, std::move(context.value()));
  if (auto connected = stream->connect_tcp(*endpoints, timeout, deadline); !connected) {
    return unexpected(connected.error());
  }
  if (auto shaken = stream->handshake(host, tls, timeout, deadline); !shaken) {
    return unexpected(shaken.error());
  }
  return std::unique_ptr<Stream>(std::move(stream));
}

}  // namespace

Result<std::unique_ptr<Stream>> Stream::connect(const std::string& host, std::uint16_t port,
                                                const TlsOptions& tls, Timeout timeout) {
  // Asio and OpenSSL report some failures (out of memory, SSL_new failing) by throwing; they
  // must not cross the module boundary.
  try {
    return connect_stream(host, port, tls, timeout);
  } catch (const std::exception& e) {
    return fail("connect " + format_peer(host, port) + ": " + e.what(), true);
  }
}

}  // namespace ebb::net
