// The HTTP/1.1 server (see http_server.h). The only translation unit of the server that includes
// Asio, Beast and OpenSSL.
//
// Threads: one poller thread and `threads` workers. The poller owns the listening socket and every
// connection that is waiting for bytes (new connections, and keep-alive connections between
// requests); it hands a connection to the work queue as soon as it becomes readable. A worker
// performs the TLS handshake and serves requests synchronously (Beast's blocking read/write) for as
// long as bytes are already buffered, then gives the connection back to the poller. So idle
// keep-alive connections never occupy a worker, and `threads` bounds the requests being served,
// not the connections open.
//
// Deadlines: blocking reads and writes cannot time out by themselves (SO_RCVTIMEO does not work
// under Asio's synchronous operations, nor under OpenSSL's state machine), so every operation
// records its deadline on the connection and the poller doubles as a watchdog: it shuts the
// socket down when a deadline passes, which makes the blocked call fail at once. shutdown(2) is
// used rather than close(2) so that the descriptor cannot be reused while the worker still holds
// it; connections are closed only by their current owner, under the server mutex.
#include "ebb/net/http_server.h"

#include "openssl_util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "ebb/strings.h"

namespace ebb::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kHeaderLimit = 1u << 20;  // Go's http.DefaultMaxHeaderBytes
// After refusing a request (413), the rest of its body is read and discarded (up to this much)
// so that the client, still writing, sees the answer instead of a connection reset.
constexpr std::size_t kMaxDrainBytes = 64u << 20;

// ---------------------------------------------------------------------------------------------
// OpenSSL helpers.

using namespace detail;

// The first UTF-8 value of every `nid` entry in `name`.
std::vector<std::string> name_entries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  if (!name) return out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n >= 0) {
      out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
      OPENSSL_free(utf8);
    }
  }
  return out;
}

// Every certificate in a PEM bundle; empty when there is none or one is malformed.
std::vector<X509Ptr> parse_certificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(cert);
  const unsigned long last = ERR_peek_last_error();
  // Running out of input is how the loop ends; anything else is a malformed certificate.
  if (last != 0 &&
      !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    certs.clear();
  }
  ERR_clear_error();
  return certs;
}

// ---------------------------------------------------------------------------------------------
// TLS configuration.

struct ClientCaBundle {
  std::string name;
  StorePtr store;
  std::vector<X509Ptr> certs;
};

// The serving certificate and the context built from it. Connections keep the context they were
// accepted with alive through the shared_ptr, so a reload never pulls it from under them.
struct ServingTls {
  std::shared_ptr<ssl::context> context;
  std::string cert_pem;
};

// Identifies a version of the certificate and key files; a change of any field means "re-read".
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

Result<std::string> read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(what + " " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail(what + " " + path + ": read error");
  return out.str();
}

int accept_any_client_certificate(int /*preverified*/, X509_STORE_CTX* /*ctx*/) {
  // Verification happens after the handshake, once per CA bundle; an unverified certificate must
  // not abort the handshake (it is reported with an empty verified_by).
  return 1;
}

// `cert_what` and `key_what` name the sources in errors ("TLS certificate file x.crt").
Result<ServingTls> build_serving_tls(const std::string& cert_pem, const std::string& key_pem,
                                     const std::string& cert_what, const std::string& key_what,
                                     int min_version, const std::vector<ClientCaBundle>& bundles) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, min_version) != 1)
    return fail("TLS: cannot set the minimum version");
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::single_dh_use);
  SSL_CTX_set_options(native,
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // Every handshake is a full one, so the peer's chain is always there to verify (a resumed
  // session carries only the leaf), and no session state outlives a certificate reload.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  // An encrypted key fails to load instead of prompting on a terminal.
  context->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); });

  error_code ec;
  context->use_certificate_chain(asio::buffer(cert_pem), ec);
  if (ec) {
    ERR_clear_error();
    return fail(cert_what + ": not a valid PEM certificate (" + ec.message() + ")");
  }
  context->use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) {
    ERR_clear_error();
    // OpenSSL checks the key against the certificate while loading it.
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      return fail(key_what + " does not match " + cert_what);
    }
    return fail(key_what + ": not a valid unencrypted PEM private key (" + ec.message() + ")");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return fail(key_what + " does not match " + cert_what);
  }
  if (!bundles.empty()) {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, accept_any_client_certificate);
    // The acceptable CA names let clients with several certificates pick the right one.
    for (const auto& bundle : bundles) {
      for (const auto& cert : bundle.certs) SSL_CTX_add_client_CA(native, cert.get());
    }
    ERR_clear_error();  // duplicates across bundles are reported as errors and are harmless
  }
  // certificate_pem() reports what is served: the chain as loaded, normalised.
  std::string served;
  for (const auto& cert : parse_certificates(cert_pem)) {
    BioPtr out(BIO_new(BIO_s_mem()));
    if (out && PEM_write_bio_X509(out.get(), cert.get()) == 1) served += bio_string(out.get());
  }
  return ServingTls{std::move(context), std::move(served)};
}

Result<std::vector<ClientCaBundle>> load_client_ca_bundles(
    const std::vector<std::pair<std::string, std::string>>& bundles) {
  std::vector<ClientCaBundle> out;
  for (const auto& bundle : bundles) {
    // Named, not a structured binding: clang before 16 cannot capture those in a lambda.
    const std::string& name = bundle.first;
    const std::string& pem = bundle.second;
    const std::string what = "client CA bundle " + quoted(name);
    if (name.empty()) return fail("client CA bundle: the name is empty");
    if (std::any_of(out.begin(), out.end(),
                    [&](const ClientCaBundle& b) { return b.name == name; })) {
      return fail(what + ": given twice");
    }
    auto certs = parse_certificates(pem);
    if (certs.empty()) return fail(what + ": no valid PEM certificate");
    StorePtr store(X509_STORE_new());
    if (!store) return fail(what + ": " + openssl_error());
    for (const auto& cert : certs) {
      if (X509_STORE_add_cert(store.get(), cert.get()) != 1) {
        const std::string reason = openssl_error();
        // The same CA twice in one bundle is harmless.
        if (reason.find("already") == std::string::npos) return fail(what + ": " + reason);
      }
    }
    out.push_back(ClientCaBundle{name, std::move(store), std::move(certs)});
  }
  return out;
}

std::optional<PeerCertificate> peer_certificate(SSL* ssl,
                                                const std::vector<ClientCaBundle>& bundles) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (!leaf) return std::nullopt;
  PeerCertificate peer;
  const X509_NAME* subject = X509_get_subject_name(leaf);
  auto common_names = name_entries(subject, NID_commonName);
  if (!common_names.empty()) peer.common_name = std::move(common_names.front());
  peer.organizations = name_entries(subject, NID_organizationName);
  // On the server side the chain holds the intermediates the client sent, without the leaf.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (const auto& bundle : bundles) {
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), bundle.store.get(), leaf, chain) != 1) continue;
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(ctx.get()) == 1) peer.verified_by.push_back(bundle.name);
  }
  ERR_clear_error();
  return peer;
}

// ---------------------------------------------------------------------------------------------
// Small HTTP helpers.

std::string json_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// A body shaped like a Kubernetes metav1.Status, which is what API clients expect on errors.
ServerResponse status_response(int code, std::string_view reason, std::string_view message) {
  return ServerResponse::json(
      code, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
                json_escape(message) + R"(","reason":")" + std::string(reason) + R"(","code":)" +
                std::to_string(code) + "}");
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// Path and query of a request target: origin-form ("/a%20b?x=1"), absolute-form, or "*".
bool parse_target(std::string_view target, ServerRequest& request) {
  if (target == "*") {
    request.path = "*";
    return true;
  }
  boost::urls::url_view url;
  if (!target.empty() && target.front() == '/') {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return false;
    url = *parsed;
  } else {
    auto parsed = boost::urls::parse_absolute_uri(target);
    if (!parsed) return false;
    url = *parsed;
  }
  request.path = url.path();
  if (request.path.empty()) request.path = "/";
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;  // form encoding, as Go's url.ParseQuery and kube clients use it
  for (const auto& param : url.params(opts)) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2", or a bare "?"
    request.query.emplace_back(param.key, param.value);
  }
  return true;
}

struct BindAddress {
  tcp::endpoint endpoint;
  std::string label;  // "127.0.0.1:8443"
};

Result<BindAddress> parse_bind_address(const std::string& address, asio::io_context& io) {
  const std::string what = "bind address " + quoted(address);
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find("]:");
    if (close == std::string::npos) return fail(what + ": expected [ipv6]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    error_code ec;
    if (!asio::ip::make_address(host, ec).is_v6() || ec) {
      return fail(what + ": " + quoted(host) + " is not an IPv6 address");
    }
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) return fail(what + ": expected host:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return fail(what + ": an IPv6 address needs brackets: [addr]:port");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) > 65535) {
    return fail(what + ": invalid port " + quoted(port));
  }
  const auto port_number = static_cast<std::uint16_t>(std::stoul(port));
  if (host.empty()) host = "0.0.0.0";
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    // A host name ("localhost"): its first address.
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
      return fail(what + ": cannot resolve " + quoted(host) + ": " + ec.message());
    ip = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(ip, port_number);
  return BindAddress{endpoint, join_host_port(ip.to_string(), std::to_string(port_number))};
}

std::string millis(std::chrono::milliseconds t) {
  return std::to_string(t.count()) + "ms";
}

// ---------------------------------------------------------------------------------------------
// Connections.

struct Conn {
  std::unique_ptr<tcp::socket> plain;     // plain HTTP
  std::shared_ptr<ssl::context> context;  // TLS: outlives `tls`, which refers to it
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  int fd = -1;
  bool handshaken = false;
  beast::flat_buffer buffer;  // bytes read beyond the last request (pipelining)
  std::string remote;
  std::optional<PeerCertificate> peer;
  // Guarded by Impl::mutex.
  Clock::time_point deadline = Clock::time_point::max();
  bool closed = false;
  bool timed_out = false;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Request and response helpers from the header.

bool PeerCertificate::verified_by_bundle(std::string_view name) const {
  return std::find(verified_by.begin(), verified_by.end(), name) != verified_by.end();
}

std::string ServerRequest::query_value(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return "";
}

std::string ServerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return "";
}

std::vector<std::string> ServerRequest::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) out.push_back(v);
  return out;
}

ServerResponse ServerResponse::json(int status, std::string body) {
  ServerResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

ServerResponse ServerResponse::text(int status, std::string body) {
  ServerResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The server.

struct HttpServer::Impl {
  HttpServerOptions options;
  RequestHandler handler;
  asio::io_context io{1};  // never run: sockets only need it to exist
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::string url;
  std::chrono::milliseconds watchdog_period{};

  // TLS (when options.tls).
  std::vector<ClientCaBundle> bundles;
  int min_version = TLS1_2_VERSION;
  mutable std::mutex tls_mutex;
  ServingTls serving;  // guarded by tls_mutex
  bool placeholder_reported = false;  // wait_for_files: said once
  FileStamp cert_stamp, key_stamp;
  Clock::time_point next_reload_check{};

  std::mutex mutex;
  std::condition_variable work_ready, work_done;
  std::deque<std::shared_ptr<Conn>> queue;           // readable, waiting for a worker
  std::vector<std::shared_ptr<Conn>> waiting;        // owned by the poller until readable
  std::unordered_set<std::shared_ptr<Conn>> active;  // being served by a worker
  bool stopping = false;
  bool poller_exit = false;
  int wake_fd = -1;
  std::atomic<std::size_t> accepted{0};
  std::thread poller;
  std::vector<std::thread> workers;
  std::mutex stop_mutex;
  bool stopped = false;

  Impl(HttpServerOptions o, RequestHandler h) : options(std::move(o)), handler(std::move(h)) {}
  ~Impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void report(const std::string& message) const {
    if (!options.on_error) return;
    try {
      options.on_error(message);
    } catch (...) {  // a logging hook must not take the server down
    }
  }

  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  // Caller holds `mutex`.
  static void close_locked(Conn& c) {
    if (c.closed) return;
    c.closed = true;
    error_code ignored;
    c.socket().close(ignored);
  }

  void close(Conn& c) {
    std::lock_guard lock(mutex);
    close_locked(c);
  }

  void set_deadline(Conn& c, std::chrono::milliseconds timeout) {
    std::lock_guard lock(mutex);
    c.deadline = Clock::now() + timeout;
  }

  void clear_deadline(Conn& c) {
    std::lock_guard lock(mutex);
    c.deadline = Clock::time_point::max();
  }

  bool timed_out(Conn& c) {
    std::lock_guard lock(mutex);
    return c.timed_out;
  }

  // --- TLS material ---------------------------------------------------------------------------

  Result<ServingTls> load_serving_tls(const ServerTls& tls) {
    if (!tls.cert_file.empty() && tls.wait_for_files &&
        !(stamp_of(tls.cert_file).exists && stamp_of(tls.key_file).exists)) {
      if (!placeholder_reported) {
        report("TLS certificate file " + tls.cert_file + " or key file " + tls.key_file +
               " does not exist yet: serving a self-signed certificate until both exist");
        placeholder_reported = true;
      }
      return self_signed_tls(tls);
    }
    if (!tls.cert_file.empty()) {
      auto cert = read_text_file(tls.cert_file, "TLS certificate file");
      if (!cert) return unexpected(cert.error());
      auto key = read_text_file(tls.key_file, "TLS key file");
      if (!key) return unexpected(key.error());
      return build_serving_tls(*cert, *key, "TLS certificate file " + tls.cert_file,
                               "TLS key file " + tls.key_file, min_version, bundles);
    }
    if (!tls.cert_pem.empty()) {
      return build_serving_tls(tls.cert_pem, tls.key_pem, "TLS certificate (PEM text)",
                               "TLS key (PEM text)", min_version, bundles);
    }
    return self_signed_tls(tls);
  }

  Result<ServingTls> self_signed_tls(const ServerTls& tls) {
    auto hosts = tls.self_signed_hosts;
    if (hosts.empty()) hosts = {"localhost", "127.0.0.1"};
    auto generated = make_self_signed_certificate(hosts);
    if (!generated) return unexpected(generated.error());
    return build_serving_tls(generated->first, generated->second, "self-signed certificate",
                             "self-signed key", min_version, bundles);
  }

  Result<void> configure_tls() {
    const ServerTls& tls = *options.tls;
    if (tls.min_version == "1.2") {
      min_version = TLS1_2_VERSION;
    } else if (tls.min_version == "1.3") {
      min_version = TLS1_3_VERSION;
    } else {
      return fail("TLS minimum version " + quoted(tls.min_version) +
                  ": expected \"1.2\" or \"1.3\"");
    }
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      return fail("TLS: a certificate file needs a key file and a key file a certificate file");
    }
    if (tls.cert_file.empty() && tls.cert_pem.empty() != tls.key_pem.empty()) {
      return fail("TLS: a PEM certificate needs a PEM key and a PEM key a PEM certificate");
    }
    auto loaded_bundles = load_client_ca_bundles(tls.client_ca_bundles);
    if (!loaded_bundles) return unexpected(loaded_bundles.error());
    bundles = std::move(loaded_bundles.value());
    if (!tls.cert_file.empty()) {
      cert_stamp = stamp_of(tls.cert_file);
      key_stamp = stamp_of(tls.key_file);
    }
    auto loaded = load_serving_tls(tls);
    if (!loaded) return unexpected(loaded.error());
    serving = std::move(loaded.value());
    next_reload_check = Clock::now() + tls.reload_check_interval;
    return {};
  }

  // On the poller thread, before a connection is set up: re-reads rotated files.
  void maybe_reload() {
    const ServerTls& tls = *options.tls;
    if (tls.cert_file.empty()) return;
    const auto now = Clock::now();
    if (now < next_reload_check) return;
    next_reload_check = now + tls.reload_check_interval;
    const FileStamp cert = stamp_of(tls.cert_file), key = stamp_of(tls.key_file);
    if (cert == cert_stamp && key == key_stamp) return;
    // Remembered even when loading fails, so a bad pair is reported once per change rather than
    // on every check; the next change of either file is tried again.
    cert_stamp = cert;
    key_stamp = key;
    auto loaded = load_serving_tls(tls);
    if (!loaded) {
      report("reloading the TLS certificate failed, still serving the previous one: " +
             loaded.error().message);
      return;
    }
    std::lock_guard lock(tls_mutex);
    serving = std::move(loaded.value());
  }

  std::shared_ptr<ssl::context> current_context() const {
    std::lock_guard lock(tls_mutex);
    return serving.context;
  }

  // --- Poller ---------------------------------------------------------------------------------

  Clock::time_point accept_resume{};

  void accept_ready() {
    for (int i = 0; i < 64; ++i) {
      tcp::socket socket(io);
      error_code ec;
      acceptor.accept(socket, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) return;
      if (ec == asio::error::connection_aborted || ec == asio::error::interrupted) continue;
      if (ec) {
        // Out of descriptors, most likely: pause accepting briefly instead of spinning.
        report("accept on " + url + ": " + ec.message());
        accept_resume = Clock::now() + std::chrono::milliseconds(100);
        return;
      }
      accepted.fetch_add(1, std::memory_order_relaxed);
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Conn>();
      const auto remote = socket.remote_endpoint(ec);
      conn->remote =
          ec ? std::string("unknown")
             : join_host_port(remote.address().to_string(), std::to_string(remote.port()));
      try {
        if (options.tls) {
          maybe_reload();
          conn->context = current_context();
          conn->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket), *conn->context);
        } else {
          conn->plain = std::make_unique<tcp::socket>(std::move(socket));
        }
      } catch (const std::exception& e) {
        report("setting up a connection from " + conn->remote + ": " + e.what());
        continue;
      }
      conn->fd = conn->socket().native_handle();
      std::lock_guard lock(mutex);
      // A client that connects and says nothing is dropped after read_timeout.
      conn->deadline = Clock::now() + options.read_timeout;
      waiting.push_back(std::move(conn));
    }
  }

  void poll_loop() {
    std::vector<pollfd> fds;
    std::vector<std::shared_ptr<Conn>> polled;
    bool listening = true;
    while (true) {
      fds.clear();
      polled.clear();
      fds.push_back(pollfd{wake_fd, POLLIN, 0});
      bool listener_polled = false;
      auto now = Clock::now();
      // Deadlines set later by workers are at least watchdog_period away, so sleeping no longer
      // than that never misses one by more than the time it takes to wake up.
      auto wake_at = now + watchdog_period;
      {
        std::lock_guard lock(mutex);
        if (stopping) {
          if (listening) {
            error_code ignored;
            acceptor.close(ignored);
            listening = false;
          }
          for (auto& c : waiting) close_locked(*c);
          waiting.clear();
        }
        if (poller_exit) return;
        std::erase_if(waiting, [&](const std::shared_ptr<Conn>& c) {
          if (c->deadline > now) return false;
          close_locked(*c);
          return true;
        });
        for (const auto& c : active) {
          if (c->closed) continue;
          if (c->deadline <= now) {
            c->timed_out = true;
            c->deadline = Clock::time_point::max();
            ::shutdown(c->fd, SHUT_RDWR);  // the worker's blocked call fails now
          } else {
            wake_at = std::min(wake_at, c->deadline);
          }
        }
        if (listening) {
          if (now >= accept_resume) {
            fds.push_back(pollfd{acceptor.native_handle(), POLLIN, 0});
            listener_polled = true;
          } else {
            wake_at = std::min(wake_at, accept_resume);
          }
        }
        for (const auto& c : waiting) {
          fds.push_back(pollfd{c->fd, POLLIN, 0});
          polled.push_back(c);
          wake_at = std::min(wake_at, c->deadline);
        }
      }
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count();
      const int n =
          ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait, 0, 60'000)));
      if (n < 0) {
        if (errno != EINTR) {
          report(std::string("poll: ") + std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        continue;
      }
      if (n == 0) continue;
      if (fds[0].revents != 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd, &count, sizeof count);
      }
      std::size_t first = 1;
      if (listener_polled) {
        if (fds[1].revents != 0) accept_ready();
        first = 2;
      }
      bool queued = false;
      {
        std::lock_guard lock(mutex);
        for (std::size_t i = 0; i < polled.size(); ++i) {
          if (fds[first + i].revents == 0) continue;
          auto it = std::find(waiting.begin(), waiting.end(), polled[i]);
          if (it == waiting.end()) continue;  // closed meanwhile (stop)
          waiting.erase(it);
          queue.push_back(polled[i]);
          queued = true;
        }
      }
      if (queued) work_ready.notify_all();
    }
  }

  // --- Workers --------------------------------------------------------------------------------

  void worker_loop() {
    while (true) {
      std::shared_ptr<Conn> conn;
      {
        std::unique_lock lock(mutex);
        work_ready.wait(lock, [&] { return !queue.empty() || stopping; });
        if (queue.empty()) return;
        conn = std::move(queue.front());
        queue.pop_front();
        active.insert(conn);
      }
      try {
        serve(conn);
      } catch (const std::exception& e) {
        report("connection from " + conn->remote + ": " + e.what());
        close(*conn);
      } catch (...) {
        close(*conn);
      }
      {
        std::lock_guard lock(mutex);
        active.erase(conn);
      }
      work_done.notify_all();
    }
  }

  // Bytes of a next request already read from the socket (so poll() would not see them).
  static bool has_buffered(Conn& c) {
    if (c.buffer.size() > 0) return true;
    if (!c.tls) return false;
    SSL* ssl = c.tls->native_handle();
    if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1) return true;
    // Asio feeds OpenSSL through a BIO pair; what it has read from the socket waits there.
    BIO* rbio = SSL_get_rbio(ssl);
    return rbio && BIO_ctrl_pending(rbio) > 0;
  }

  void park(const std::shared_ptr<Conn>& c) {
    {
      std::lock_guard lock(mutex);
      if (stopping || c->closed) {
        close_locked(*c);
        return;
      }
      c->deadline = Clock::now() + options.idle_timeout;
      waiting.push_back(c);
    }
    wake();
  }

  void serve(const std::shared_ptr<Conn>& c) {
    if (c->tls && !c->handshaken) {
      set_deadline(*c, options.read_timeout);
      error_code ec;
      c->tls->handshake(ssl::stream_base::server, ec);
      clear_deadline(*c);
      if (ec) {
        // A connection closed before a single byte (a TCP health check) is not worth a report.
        if (timed_out(*c)) {
          report("TLS handshake with " + c->remote + ": timed out after " +
                 millis(options.read_timeout));
        } else if (ec != asio::error::eof && ec != ssl::error::stream_truncated) {
          report("TLS handshake with " + c->remote + ": " + ec.message());
        }
        ERR_clear_error();
        close(*c);
        return;
      }
      c->handshaken = true;
      if (!bundles.empty()) c->peer = peer_certificate(c->tls->native_handle(), bundles);
      if (!has_buffered(*c)) {
        park(c);
        return;
      }
    }
    if (c->tls) {
      serve_requests(*c->tls, c);
    } else {
      serve_requests(*c->plain, c);
    }
  }

  template <class Stream>
  bool write_response(Stream& stream, Conn& c, http::response<http::string_body>& res, bool head) {
    set_deadline(c, options.write_timeout);
    error_code ec;
    if (head) {
      http::response_serializer<http::string_body> serializer(res);
      http::write_header(stream, serializer, ec);
    } else {
      http::write(stream, res, ec);
    }
    clear_deadline(c);
    return !ec;
  }

  // Answers a request that cannot be read to its end, then closes the connection.
  template <class Stream>
  void refuse(Stream& stream, const std::shared_ptr<Conn>& c, const ServerResponse& response,
              bool drain) {
    http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
    res.set(http::field::content_type, response.content_type);
    res.body() = response.body;
    res.keep_alive(false);
    res.prepare_payload();
    if (write_response(stream, *c, res, false) && drain) {
      // Read what the client is still sending (until it closes, read_timeout passes or too much
      // came), so that closing does not reset the connection before it has read the answer.
      error_code ec;
      c->socket().shutdown(tcp::socket::shutdown_send, ec);
      set_deadline(*c, options.read_timeout);
      char scratch[16384];
      std::size_t total = 0;
      while (total < kMaxDrainBytes) {
        const std::size_t n = stream.read_some(asio::buffer(scratch), ec);
        if (ec) break;
        total += n;
      }
      clear_deadline(*c);
    }
    close(*c);
  }

  ServerResponse call_handler(const ServerRequest& request) {
    try {
      return handler(request);
    } catch (const std::exception& e) {
      report("handler for " + request.method + " " + request.path + " failed: " + e.what());
    } catch (...) {
      report("handler for " + request.method + " " + request.path +
             " failed with a non-standard exception");
    }
    return status_response(500, "InternalError", "internal server error");
  }

  template <class Stream>
  void serve_requests(Stream& stream, const std::shared_ptr<Conn>& c) {
    while (true) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(options.max_body_bytes);
      error_code ec;
      set_deadline(*c, options.read_timeout);
      http::read_header(stream, c->buffer, parser, ec);
      if (!ec && !parser.is_done()) {
        const auto expect = parser.get()[http::field::expect];
        if (iequals(expect, "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          asio::write(stream, asio::buffer(kContinue.data(), kContinue.size()), ec);
        }
        if (!ec) http::read(stream, c->buffer, parser, ec);
      }
      clear_deadline(*c);
      if (ec) {
        if (ec == http::error::body_limit) {
          refuse(stream, c,
                 status_response(413, "RequestEntityTooLarge",
                                 "the request body is larger than " +
                                     std::to_string(options.max_body_bytes) + " bytes"),
                 true);
        } else if (ec == http::error::header_limit) {
          refuse(stream, c,
                 status_response(431, "RequestHeaderFieldsTooLarge",
                                 "the request headers are too large"),
                 false);
        } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message &&
                   !timed_out(*c)) {
          refuse(stream, c,
                 status_response(400, "BadRequest", "malformed HTTP request: " + ec.message()),
                 false);
        } else {
          close(*c);  // the client went away, or the request did not arrive in time
        }
        return;
      }

      auto& req = parser.get();
      ServerRequest request;
      request.method = std::string(req.method_string());
      request.target = std::string(req.target());
      request.remote = c->remote;
      request.peer = c->peer;
      if (!parse_target(request.target, request)) {
        refuse(stream, c, status_response(400, "BadRequest", "malformed request target"), false);
        return;
      }
      for (const auto& field : req)
        request.headers.emplace_back(field.name_string(), field.value());
      request.body = std::move(req.body());

      ServerResponse response = call_handler(request);
      http::response<http::string_body> res;
      res.version(req.version());
      if (!build_response(request, response, res)) {
        ServerResponse error = status_response(500, "InternalError", "internal server error");
        res = {};
        res.version(req.version());
        build_response(request, error, res);
      }
      bool keep = req.keep_alive() && res.keep_alive();
      {
        std::lock_guard lock(mutex);
        keep = keep && !stopping;
      }
      res.keep_alive(keep);
      const bool head = req.method() == http::verb::head;
      if (!write_response(stream, *c, res, head) || !keep) {
        close(*c);
        return;
      }
      if (!has_buffered(*c)) {
        park(c);
        return;
      }
    }
  }

  // False (after a report) when the handler's answer cannot be sent as it is.
  bool build_response(const ServerRequest& request, ServerResponse& response,
                      http::response<http::string_body>& res) {
    const std::string where = " from the handler for " + request.method + " " + request.path;
    if (response.status < 200 || response.status > 599) {
      report("invalid status " + std::to_string(response.status) + where);
      return false;
    }
    res.result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty()) {
      if (!valid_header_value(response.content_type)) {
        report("invalid content type" + where);
        return false;
      }
      res.set(http::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      if (!valid_header_name(name) || !valid_header_value(value)) {
        report("invalid header " + quoted(name) + where);
        return false;
      }
      // Framing is the server's business.
      if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) continue;
      res.insert(name, value);
    }
    const bool no_body = response.status == 204 || response.status == 304;
    res.body() = no_body ? std::string() : std::move(response.body);
    res.prepare_payload();
    return true;
  }

  // --- Start and stop -------------------------------------------------------------------------

  Result<void> listen() {
    auto bind = parse_bind_address(options.bind_address, io);
    if (!bind) return unexpected(bind.error());
    const std::string what = "listen " + bind->label;
    error_code ec;
    acceptor.open(bind->endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && bind->endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(bind->endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) acceptor.non_blocking(true, ec);
    if (ec) return fail(what + ": " + ec.message());
    port = acceptor.local_endpoint(ec).port();
    if (ec) return fail(what + ": " + ec.message());
    auto address = bind->endpoint.address();
    // An unspecified address serves loopback too; url() is for clients on this machine.
    std::string host =
        address.is_unspecified() ? (address.is_v6() ? "::1" : "127.0.0.1") : address.to_string();
    url = std::string(options.tls ? "https://" : "http://") +
          join_host_port(host, std::to_string(port));
    return {};
  }

  Result<void> start() {
    if (!handler) return fail("HTTP server: no request handler");
    if (options.threads == 0) return fail("HTTP server: threads must be at least 1");
    for (auto t : {options.read_timeout, options.idle_timeout, options.write_timeout}) {
      if (t.count() <= 0) return fail("HTTP server: timeouts must be positive");
    }
    watchdog_period =
        std::max(std::chrono::milliseconds(1),
                 std::min({options.read_timeout, options.idle_timeout, options.write_timeout}));
    if (options.tls) {
      if (auto configured = configure_tls(); !configured) return configured;
    }
    if (auto listening = listen(); !listening) return listening;
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) return fail(std::string("HTTP server: eventfd: ") + std::strerror(errno));
    poller = std::thread([this] { poll_loop(); });
    for (std::size_t i = 0; i < options.threads; ++i)
      workers.emplace_back([this] { worker_loop(); });
    return {};
  }

  void stop(std::chrono::milliseconds grace) {
    std::lock_guard stop_lock(stop_mutex);
    if (stopped) return;
    stopped = true;
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_ready.notify_all();
    if (poller.joinable()) wake();
    {
      std::unique_lock lock(mutex);
      work_done.wait_for(lock, grace, [&] { return queue.empty() && active.empty(); });
      // Grace is over: whatever is still open is cut. A handler that is still running keeps its
      // worker until it returns; its answer then fails to send.
      for (auto& c : queue) close_locked(*c);
      queue.clear();
      for (const auto& c : active) {
        if (!c->closed) ::shutdown(c->fd, SHUT_RDWR);
      }
    }
    work_ready.notify_all();
    for (auto& w : workers) {
      if (w.joinable()) w.join();
    }
    {
      std::lock_guard lock(mutex);
      poller_exit = true;
    }
    if (poller.joinable()) {
      wake();
      poller.join();
    }
    std::lock_guard lock(mutex);
    for (auto& c : waiting) close_locked(*c);
    waiting.clear();
    error_code ignored;
    acceptor.close(ignored);
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options,
                                                      RequestHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  try {
    if (auto started = impl->start(); !started) {
      impl->stop(std::chrono::milliseconds(0));
      return unexpected(started.error());
    }
  } catch (const std::exception& e) {
    impl->stop(std::chrono::milliseconds(0));
    return fail(std::string("HTTP server: ") + e.what());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::url() const {
  return impl_->url;
}

std::string HttpServer::certificate_pem() const {
  if (!impl_->options.tls) return "";
  std::lock_guard lock(impl_->tls_mutex);
  return impl_->serving.cert_pem;
}

std::size_t HttpServer::connections_accepted() const {
  return impl_->accepted.load(std::memory_order_relaxed);
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

}  // namespace ebb::net
