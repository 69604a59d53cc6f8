#include "kafka/config.h"

#include <cstdint>
#include <limits>

#include "ebb/strings.h"

namespace ebb::scalers::kafka {

namespace {

// Single-quotes a path for the /bin/sh command librdkafka runs as kinit.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string security_protocol(const KafkaConfig& c) {
  const bool sasl = c.sasl_mode != SaslMode::None;
  if (c.enable_tls) return sasl ? "SASL_SSL" : "SSL";
  return sasl ? "SASL_PLAINTEXT" : "PLAINTEXT";
}

using Properties = std::vector<std::pair<std::string, std::string>>;

void add_tls(const KafkaConfig& c, Properties& out) {
  if (!c.ca.empty()) out.emplace_back("ssl.ca.pem", c.ca);
  if (!c.cert.empty()) out.emplace_back("ssl.certificate.pem", c.cert);
  if (!c.key.empty()) out.emplace_back("ssl.key.pem", c.key);
  if (!c.key_password.empty()) out.emplace_back("ssl.key.password", c.key_password);
  if (c.unsafe_ssl) {
    // KEDA's InsecureSkipVerify skips both the chain and the host name check.
    out.emplace_back("enable.ssl.certificate.verification", "false");
    out.emplace_back("ssl.endpoint.identification.algorithm", "none");
  }
}

void add_gssapi(const KafkaConfig& c, Properties& out) {
  out.emplace_back("sasl.mechanisms", "GSSAPI");
  out.emplace_back("sasl.kerberos.service.name", c.kerberos_service_name.empty() ? "kafka" : c.kerberos_service_name);
  const std::string principal = c.username + "@" + c.realm;
  out.emplace_back("sasl.kerberos.principal", principal);
  // kinit reads the krb5.conf the trigger supplied; the password (when used instead of a
  // keytab) is fed from a 0600 file so it never appears in a command line or a log line.
  std::string env = c.kerberos_config_path.empty() ? "" : "KRB5_CONFIG=" + shell_quote(c.kerberos_config_path) + " ";
  if (!c.keytab_path.empty()) {
    out.emplace_back("sasl.kerberos.keytab", c.keytab_path);
    out.emplace_back("sasl.kerberos.kinit.cmd",
                     env + "kinit -t " + shell_quote(c.keytab_path) + " -k " + shell_quote(principal));
  } else {
    out.emplace_back("sasl.kerberos.kinit.cmd",
                     env + "kinit " + shell_quote(principal) + " < " +
                         shell_quote(c.password_path.empty() ? "/dev/null" : c.password_path));
  }
}

void add_sasl(const KafkaConfig& c, Properties& out) {
  switch (c.sasl_mode) {
    case SaslMode::None:
      return;
    case SaslMode::Plaintext:
      out.emplace_back("sasl.mechanisms", "PLAIN");
      break;
    case SaslMode::ScramSha256:
      out.emplace_back("sasl.mechanisms", "SCRAM-SHA-256");
      break;
    case SaslMode::ScramSha512:
      out.emplace_back("sasl.mechanisms", "SCRAM-SHA-512");
      break;
    case SaslMode::OAuthBearer:
      // The token comes from the client's refresh callback (this librdkafka build has no
      // built-in OIDC), so only the mechanism is configured here.
      out.emplace_back("sasl.mechanisms", "OAUTHBEARER");
      return;
    case SaslMode::Gssapi:
      add_gssapi(c, out);
      return;
  }
  out.emplace_back("sasl.username", c.username);
  out.emplace_back("sasl.password", c.password);
}

// Brokers older than 0.10 do not answer ApiVersionRequest; librdkafka must then be told the
// protocol version, which is what Sarama's `version` means.
void add_version(const KafkaConfig& c, Properties& out) {
  const auto& v = c.kafka_version;
  if (v[0] > 0 || v[1] >= 10) return;
  out.emplace_back("api.version.request", "false");
  out.emplace_back("broker.version.fallback",
                   "0." + std::to_string(v[1]) + "." + std::to_string(v[2]) + "." + std::to_string(v[3]));
}

}  // namespace

LagRules KafkaConfig::lag_rules() const {
  LagRules r;
  r.lag_threshold = lag_threshold;
  r.offset_reset_policy = offset_reset_policy == "earliest" ? OffsetResetPolicy::Earliest : OffsetResetPolicy::Latest;
  r.scale_to_zero_on_invalid_offset = scale_to_zero_on_invalid_offset;
  r.exclude_persistent_lag = exclude_persistent_lag;
  r.allow_idle_consumers = allow_idle_consumers;
  r.limit_to_partitions_with_lag = limit_to_partitions_with_lag;
  r.ensure_even_distribution_of_partitions = ensure_even_distribution_of_partitions;
  return r;
}

std::string KafkaConfig::bootstrap() const { return join(bootstrap_servers, ","); }

std::optional<std::array<unsigned, 4>> parse_kafka_version(const std::string& text) {
  // sarama's forms: "0.a.b.c" before 1.0, "a.b.c" after, each part decimal digits. Read by hand:
  // std::regex matched by recursion, a frame per character, so a version of hundreds of KB in a
  // ScaledObject ended the process that parsed it.
  if (text.size() < 5) return std::nullopt;
  const bool pre = text[0] == '0';
  std::array<unsigned, 4> v{};
  std::size_t part = 0;  // index into v
  std::size_t at = 0;
  if (pre) {
    if (text.compare(0, 2, "0.") != 0) return std::nullopt;
    part = 1;
    at = 2;
  }
  for (;; ++part) {
    if (part > 3) return std::nullopt;
    std::uint64_t value = 0;
    const std::size_t begin = at;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
      value = value * 10 + static_cast<std::uint64_t>(text[at] - '0');
      if (value > std::numeric_limits<unsigned>::max()) return std::nullopt;  // beyond unsigned
    }
    if (at == begin) return std::nullopt;  // an empty part or another character
    v[part] = static_cast<unsigned>(value);
    if (at == text.size()) break;
    if (text[at] != '.') return std::nullopt;
    ++at;
  }
  if (part != (pre ? 3u : 2u)) return std::nullopt;
  return v;
}

std::vector<std::pair<std::string, std::string>> librdkafka_config(const KafkaConfig& c) {
  Properties out;
  out.emplace_back("bootstrap.servers", c.bootstrap());
  out.emplace_back("client.id", "ebb-kafka-scaler");
  // A scaler only reads: asking about a topic must never create it.
  out.emplace_back("allow.auto.create.topics", "false");
  // Polls are seconds apart; a broker that comes back should be found by the next poll.
  out.emplace_back("reconnect.backoff.max.ms", "1000");
  out.emplace_back("security.protocol", security_protocol(c));
  add_version(c, out);
  if (c.enable_tls) add_tls(c, out);
  add_sasl(c, out);
  return out;
}

bool is_secret_property(const std::string& name) {
  return name == "sasl.password" || name == "ssl.key.pem" || name == "ssl.key.password" ||
         name == "sasl.oauthbearer.client.secret";
}

}  // namespace ebb::scalers::kafka
