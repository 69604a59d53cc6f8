#include "rabbitmq/amqp.h"

#include "ebb/strings.h"
#include "rabbitmq/queue_stats.h"

namespace ebb::scalers::rabbitmq {

std::string AmqpSettings::identity() const {
  std::string out;
  auto add = [&out](const std::string& s) { append_key_field(out, s); };
  add(host);
  add(std::to_string(port));
  add(vhost);
  add(username);
  add(password);
  add(sasl_external ? "external" : "plain");
  add(tls.enabled ? "tls" : "tcp");
  add(tls.insecure_skip_verify ? "insecure" : "verify");
  add(tls.ca_pem);
  add(tls.cert_pem);
  add(tls.key_pem);
  add(tls.key_password);
  add(tls.server_name);
  add(std::to_string(timeout.count()));
  return out;
}

std::string AmqpSettings::endpoint() const {
  return std::string(tls.enabled ? "amqps" : "amqp") + "://" + host + ":" + std::to_string(port) + "/" +
         (vhost == "/" ? "" : vhost);
}

std::string AmqpSettings::connection_name() const {
  return "ebb-" + host + ":" + std::to_string(port) + (vhost == "/" ? "" : "/" + vhost);
}

Result<AmqpSettings> parse_amqp_uri(std::string_view uri) {
  const UrlParts parts = split_url(uri);
  AmqpSettings s;
  if (parts.scheme == "amqps") {
    s.tls.enabled = true;
    s.port = 5671;
  } else if (parts.scheme != "amqp") {
    return fail("AMQP scheme must be either 'amqp://' or 'amqps://'");
  }
  if (parts.has_userinfo) {
    const auto colon = parts.userinfo.find(':');
    s.username = percent_decode(parts.userinfo.substr(0, colon));
    if (colon != std::string::npos) s.password = percent_decode(parts.userinfo.substr(colon + 1));
  }
  std::string_view authority = parts.authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("invalid AMQP URI: unterminated IPv6 address");
    s.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    s.host = percent_decode(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (s.host.empty()) s.host = "localhost";
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) return fail("invalid AMQP URI: bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return fail("invalid AMQP URI: bad port");
    s.port = static_cast<std::uint16_t>(value);
  }
  // amqp091-go: the vhost is the decoded path without its leading '/'; "" and "/" keep "/".
  const std::string path = percent_decode(parts.path);
  if (path.size() > 1) s.vhost = path.substr(1);
  s.tls.server_name = s.host;
  return s;
}

}  // namespace ebb::scalers::rabbitmq
