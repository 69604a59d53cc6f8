#include "http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <list>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace ebb::testapi {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Conn {
  int fd = -1;
  std::atomic<bool> dropped{false};
  std::atomic<bool> done{false};
  std::thread thread;
};

// True when the peer has closed its side (recv would return 0); never blocks.
bool peer_gone(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

struct HttpServer::Impl {
  Router& router;
  HttpServerOptions opt;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<asio::ssl::context> ssl;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;  // cached: the acceptor is busy in accept() on another thread
  std::mutex mu;
  std::list<std::shared_ptr<Conn>> conns;

  Impl(Router& r, HttpServerOptions o) : router(r), opt(std::move(o)) {}

  void accept_loop() {
    while (!stopping) {
      tcp::socket sock(ioc);
      beast::error_code ec;
      acceptor.accept(sock, ec);
      if (stopping) break;
      if (ec) continue;
      sock.set_option(tcp::no_delay(true), ec);
      auto c = std::make_shared<Conn>();
      c->fd = sock.native_handle();
      std::lock_guard lock(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
      conns.push_back(c);
      c->thread = std::thread([this, c, s = std::move(sock)]() mutable {
        if (ssl) {
          asio::ssl::stream<tcp::socket> stream(std::move(s), *ssl);
          beast::error_code hec;
          stream.handshake(asio::ssl::stream_base::server, hec);
          if (!hec) serve(stream, *c);
          close(stream.next_layer(), *c);
        } else {
          serve(s, *c);
          close(s, *c);
        }
        c->done = true;
      });
    }
  }

  void close(tcp::socket& s, Conn& c) {
    std::lock_guard lock(mu);  // so drop_connections never shuts down a reused fd
    beast::error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
    c.fd = -1;
  }

  void drop_all(const Conn* except) {
    std::lock_guard lock(mu);
    for (auto& c : conns) {
      if (c.get() == except || c->fd < 0) continue;
      c->dropped = true;
      ::shutdown(c->fd, SHUT_RDWR);
    }
  }

  template <class Stream>
  void serve(Stream& stream, Conn& c) {
    beast::flat_buffer buffer;
    while (!stopping && !c.dropped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      parser.header_limit(1u << 20);
      beast::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      auto& req = parser.get();
      Request in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      for (auto& f : req) {
        std::string name(f.name_string());
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        in.headers[name] = std::string(f.value());
      }
      in.body = req.body();
      Response out = router.handle(in);
      if (out.action == Response::Action::Drop) return;
      if (out.action == Response::Action::Hang) {
        auto until = std::chrono::steady_clock::now() + out.hang;
        while (std::chrono::steady_clock::now() < until && !stopping && !c.dropped && !peer_gone(c.fd))
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return;
      }
      if (out.watch) {
        stream_watch(stream, c, out, req.version());
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::content_type, out.content_type);
      res.set(http::field::cache_control, "no-cache, private");
      for (auto& [k, v] : out.headers) res.set(k, v);
      res.body() = std::move(out.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec) return;
      if (out.drop_others_after) drop_all(&c);
      if (!res.keep_alive()) return;
    }
  }

  template <class Stream>
  void stream_watch(Stream& stream, Conn& c, Response& out, unsigned version) {
    http::response<http::empty_body> res{http::status::ok, version};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-cache, private");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    http::write_header(stream, sr, ec);
    if (ec) return;
    auto& w = *out.watch;
    auto interval = router.options().bookmark_interval;
    auto next_bookmark = std::chrono::steady_clock::now() + interval;
    auto send = [&](const json& e) {
      std::string line = e.dump() + "\n";
      asio::write(stream, http::make_chunk(asio::buffer(line)), ec);
      return !ec;
    };
    while (!stopping && !c.dropped) {
      auto now = std::chrono::steady_clock::now();
      if (now >= out.watch_deadline) break;
      if (w.options().bookmarks && now >= next_bookmark) {
        if (!send(w.bookmark())) return;
        next_bookmark = now + interval;
      }
      // Short slices, so a client that went away is noticed without waiting for an event.
      auto slice = std::min({out.watch_deadline, now + std::chrono::milliseconds(200),
                             w.options().bookmarks ? next_bookmark : out.watch_deadline});
      for (auto& e : w.next(slice))
        if (!send(e)) return;
      if (w.closed() || peer_gone(c.fd)) break;
    }
    if (c.dropped) return;
    asio::write(stream, http::make_chunk_last(), ec);
  }
};

HttpServer::HttpServer(Router& router, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {
  auto& im = *impl_;
  if (im.opt.tls) {
    im.ssl = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    beast::error_code ec;
    im.ssl->use_certificate_chain(asio::buffer(im.opt.cert_pem), ec);
    if (!ec) im.ssl->use_private_key(asio::buffer(im.opt.key_pem), asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("test apiserver: bad TLS certificate or key: " + ec.message());
  }
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(im.opt.host, ec), im.opt.port);
  if (ec) throw std::runtime_error("test apiserver: bad host " + im.opt.host);
  im.acceptor.open(ep.protocol(), ec);
  if (!ec) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(ep, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("test apiserver: listen on " + im.opt.host + ":" + std::to_string(im.opt.port) +
                             ": " + ec.message());
  im.bound_port = im.acceptor.local_endpoint(ec).port();
  im.accept_thread = std::thread([&im] { im.accept_loop(); });
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::drop_connections() { impl_->drop_all(nullptr); }

void HttpServer::stop() {
  auto& im = *impl_;
  if (im.stopping.exchange(true)) return;
  ::shutdown(im.acceptor.native_handle(), SHUT_RDWR);  // wakes the blocking accept
  if (im.accept_thread.joinable()) im.accept_thread.join();
  beast::error_code ec;
  im.acceptor.close(ec);
  im.drop_all(nullptr);
  std::list<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard lock(im.mu);
    conns = im.conns;
  }
  for (auto& c : conns)
    if (c->thread.joinable()) c->thread.join();
  std::lock_guard lock(im.mu);
  im.conns.clear();
}

std::pair<std::string, std::string> make_self_signed_certificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!key || !x) throw std::runtime_error("test apiserver: cannot create a key");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ebb-test-apiserver"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
                            std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext) {
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(x, key, EVP_sha256());
  auto to_string = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
  };
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(x);
  EVP_PKEY_free(key);
  return {to_string(cb), to_string(kb)};
}

}  // namespace ebb::testapi
