#include "rabbitmq/amqp_client.h"

#include <arpa/inet.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>

// Debian's rabbitmq-c 0.11 installs its headers at the include root; newer layouts use a
// rabbitmq-c/ directory.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/ssl_socket.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#endif

#include "ebb/strings.h"

namespace ebb::scalers::rabbitmq {

namespace {

constexpr int kFrameMax = 131072;
// No heartbeats: rabbitmq-c only services them inside library calls, and polls can be minutes
// apart, so the broker would close every idle shared connection. Dead connections are found by
// the RPC timeout instead, and then discarded.
constexpr int kHeartbeatSeconds = 0;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

amqp_bytes_t bytes_of(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string string_of(amqp_bytes_t b) {
  return b.bytes ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string();
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Asked for the password of an encrypted key. Without a callback OpenSSL would prompt for it on
// the terminal (and block an `ebb` run from one).
struct KeyPassword {
  const std::string& password;
  bool asked = false;
};
int key_password_callback(char* buf, int size, int /*rwflag*/, void* user) {
  auto* key = static_cast<KeyPassword*>(user);
  key->asked = true;
  if (key->password.empty() || key->password.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, key->password.data(), key->password.size());
  return static_cast<int>(key->password.size());
}

// Records why certificate verification failed (the first reason: later ones follow from it), so
// the error can say more than rabbitmq-c's "SSL connection failed".
int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 1) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl) {
    if (auto* reason = static_cast<std::string*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))); reason && reason->empty())
      *reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  }
  return 0;
}

// Applies CA, client certificate and key given as PEM text (KEDA passes PEM contents, not
// files), so secrets never touch the disk, and sets up verification as Go's crypto/tls does it:
// the chain and the server name (a DNS name, or an IP address against the IP SANs) are checked
// during the handshake, which fails with the reason in `verify_error`.
//
// rabbitmq-c 0.11's own checks stay off: its host name check knows only DNS names, so a broker
// reached by IP address (as in KEDA's amqps://user:pass@10.0.0.5/) failed even with a valid
// certificate, and its peer check runs after the handshake and loses the reason.
Result<void> configure_tls(SSL_CTX* ctx, const net::TlsOptions& tls, std::string* verify_error) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return fail("TLS: cannot require TLS 1.2");
  if (tls.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = is_ip_literal(tls.server_name)
                        ? X509_VERIFY_PARAM_set1_ip_asc(param, tls.server_name.c_str())
                        : X509_VERIFY_PARAM_set1_host(param, tls.server_name.c_str(), tls.server_name.size());
    if (set != 1) return fail("TLS: cannot verify server name " + quoted(tls.server_name));
    SSL_CTX_set_app_data(ctx, verify_error);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
  }
  // System roots are trusted as Go's crypto/tls does; `ca` only adds to them.
  SSL_CTX_set_default_verify_paths(ctx);
  if (!tls.ca_pem.empty()) {
    auto bio = memory_bio(tls.ca_pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, cert);
      X509_free(cert);
      ++added;
    }
    ERR_clear_error();  // the loop ends on a harmless "no start line"
    if (added == 0) return fail("TLS: ca holds no PEM certificate");
  }
  if (!tls.cert_pem.empty()) {
    auto bio = memory_bio(tls.cert_pem);
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!cert) return fail("TLS: cert is not a PEM certificate: " + openssl_error());
    const int ok = SSL_CTX_use_certificate(ctx, cert);
    X509_free(cert);
    if (ok != 1) return fail("TLS: cannot use cert: " + openssl_error());
    // Intermediate certificates after the leaf are sent as the chain.
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
      if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) X509_free(extra);
    ERR_clear_error();
  }
  if (!tls.key_pem.empty()) {
    auto bio = memory_bio(tls.key_pem);
    KeyPassword password{tls.key_password};
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, key_password_callback, &password);
    if (!key && password.asked && tls.key_password.empty()) {
      ERR_clear_error();
      return fail("TLS: key is encrypted and no keyPassword is given");
    }
    if (!key) return fail("TLS: key is not a PEM private key (or keyPassword is wrong): " + openssl_error());
    const int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) return fail("TLS: key does not match cert: " + openssl_error());
  }
  return {};
}

std::string describe_reply(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return "Exception (" + std::to_string(m->reply_code) + ") Reason: \"" + string_of(m->reply_text) + "\"";
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return "Exception (" + std::to_string(m->reply_code) + ") Reason: \"" + string_of(m->reply_text) + "\"";
      }
      return "unexpected server method " + std::to_string(reply.reply.id);
  }
  return "unknown reply";
}

}  // namespace

// ---- connection ----------------------------------------------------------------------------

struct AmqpClientConnection::State {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_channel_t channel = 0;  // 0: no open channel
  amqp_channel_t next_channel = 1;
  std::string verify_error;  // why the TLS handshake rejected the server's certificate
  ~State() {
    if (conn) amqp_destroy_connection(conn);  // also closes the socket
  }
};

AmqpClientConnection::AmqpClientConnection(AmqpSettings settings) : settings_(std::move(settings)) {}

AmqpClientConnection::~AmqpClientConnection() {
  std::lock_guard lock(mutex_);
  if (state_) {
    // Polite close, bounded by the RPC timeout set at connect time.
    if (state_->channel) amqp_channel_close(state_->conn, state_->channel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_->conn, AMQP_REPLY_SUCCESS);
  }
}

std::uint64_t AmqpClientConnection::connects() const {
  std::lock_guard lock(mutex_);
  return connects_;
}

void AmqpClientConnection::discard() { state_.reset(); }

Result<void> AmqpClientConnection::open_connection() {
  auto state = std::make_unique<State>();
  if (!state->conn) return fail("cannot allocate an AMQP connection");
  const auto& s = settings_;
  amqp_socket_t* socket = s.tls.enabled ? amqp_ssl_socket_new(state->conn) : amqp_tcp_socket_new(state->conn);
  if (!socket) return fail("cannot create an AMQP socket");
  if (s.tls.enabled) {
    // rabbitmq-c gives each socket an SSL_CTX of its own, so it can carry this attempt's state.
    auto* ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
    if (auto ok = configure_tls(ctx, s.tls, &state->verify_error); !ok) return ok;
    amqp_ssl_socket_set_verify_peer(socket, 0);  // configure_tls verifies in the handshake
    amqp_ssl_socket_set_verify_hostname(socket, 0);
  }
  timeval tv = to_timeval(s.timeout);
  amqp_set_handshake_timeout(state->conn, &tv);
  amqp_set_rpc_timeout(state->conn, &tv);

  ++connects_;
  ERR_clear_error();
  if (int rc = amqp_socket_open_noblock(socket, s.host.c_str(), s.port, &tv); rc != AMQP_STATUS_OK) {
    // Not transient: retrying cannot help until the certificates or the options change.
    if (!state->verify_error.empty())
      return fail("TLS handshake: certificate verify failed: " + state->verify_error, false);
    std::string what = std::string("connect: ") + amqp_error_string2(rc);
    // The TLS layer's reason, e.g. an alert from a broker that rejected our certificate.
    if (s.tls.enabled && ERR_peek_error() != 0) what += ": " + openssl_error();
    return fail(what, true);
  }

  const std::string name = s.connection_name();
  amqp_table_entry_t entry{};
  entry.key = amqp_cstring_bytes("connection_name");
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = bytes_of(name);
  amqp_table_t properties{1, &entry};
  // RabbitMQ's EXTERNAL takes the user from the certificate and ignores the response, which
  // amqp091-go leaves empty; rabbitmq-c 0.11 cannot send an empty one ("could not allocate
  // memory"), so it carries the URI's user name.
  const amqp_rpc_reply_t reply =
      s.sasl_external
          ? amqp_login_with_properties(state->conn, s.vhost.c_str(), AMQP_DEFAULT_MAX_CHANNELS, kFrameMax,
                                       kHeartbeatSeconds, &properties, AMQP_SASL_METHOD_EXTERNAL, s.username.c_str())
          : amqp_login_with_properties(state->conn, s.vhost.c_str(), AMQP_DEFAULT_MAX_CHANNELS, kFrameMax,
                                       kHeartbeatSeconds, &properties, AMQP_SASL_METHOD_PLAIN, s.username.c_str(),
                                       s.password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    // Refused logins arrive as a connection.close (ACCESS_REFUSED) or as the socket closing.
    // Over TLS 1.3 a broker that rejects our certificate says so only after the handshake, in an
    // alert that reaches us here; OpenSSL's queue has the reason ("alert unknown ca").
    std::string why = describe_reply(reply);
    if (s.tls.enabled && reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && ERR_peek_error() != 0)
      why += ": " + openssl_error();
    return fail("login as " + std::string(s.sasl_external ? "(client certificate)" : quoted(s.username)) +
                    " to vhost " + quoted(s.vhost) + ": " + why,
                reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION);
  }
  state_ = std::move(state);
  return {};
}

Result<void> AmqpClientConnection::open_channel() {
  // A fresh number each time: a closed channel's number may still see late frames.
  amqp_channel_t ch = state_->next_channel;
  state_->next_channel = ch >= AMQP_DEFAULT_MAX_CHANNELS ? 1 : static_cast<amqp_channel_t>(ch + 1);
  amqp_channel_open(state_->conn, ch);
  const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_->conn);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    discard();
    return fail("channel.open: " + describe_reply(reply), true);
  }
  state_->channel = ch;
  return {};
}

Result<void> AmqpClientConnection::ensure_open() {
  if (!state_) {
    if (auto ok = open_connection(); !ok) return ok;
  }
  if (state_->channel == 0) return open_channel();
  return {};
}

Result<std::uint32_t> AmqpClientConnection::message_count(const std::string& queue) {
  const auto started = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!state_ && last_connect_error_ && last_connect_failure_ >= started) return unexpected(*last_connect_error_);
  if (auto ok = ensure_open(); !ok) {
    last_connect_error_ = ok.error();
    last_connect_failure_ = std::chrono::steady_clock::now();
    return unexpected(ok.error());
  }
  last_connect_error_.reset();

  amqp_connection_state_t conn = state_->conn;
  const amqp_channel_t ch = state_->channel;
  const auto* ok = amqp_queue_declare(conn, ch, bytes_of(queue), /*passive=*/1, /*durable=*/0, /*exclusive=*/0,
                                      /*auto_delete=*/0, amqp_empty_table);
  const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL && ok) {
    const std::uint32_t count = ok->message_count;
    amqp_maybe_release_buffers(conn);
    return count;
  }

  const std::string what = "queue.declare " + quoted(queue) + ": " + describe_reply(reply);
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    // The broker closed only this channel (404 NOT_FOUND for a missing queue): acknowledge it
    // and keep the connection for the other triggers; the next call opens a new channel.
    amqp_channel_close_ok_t close_ok{};
    amqp_send_method(conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    state_->channel = 0;
    amqp_maybe_release_buffers(conn);
    return fail(what, true);
  }
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    amqp_connection_close_ok_t close_ok{};
    amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
  }
  discard();  // timeouts and socket errors leave the protocol state unknown
  return fail(what, true);
}

// ---- pool ----------------------------------------------------------------------------------

std::shared_ptr<AmqpConnection> AmqpPool::get(const AmqpSettings& settings) {
  std::lock_guard lock(mutex_);
  std::erase_if(connections_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = connections_[settings.identity()];
  if (auto existing = slot.lock()) return existing;
  auto created = std::make_shared<AmqpClientConnection>(settings);
  slot = created;
  return created;
}

std::size_t AmqpPool::size() {
  std::lock_guard lock(mutex_);
  std::erase_if(connections_, [](const auto& entry) { return entry.second.expired(); });
  return connections_.size();
}

}  // namespace ebb::scalers::rabbitmq
