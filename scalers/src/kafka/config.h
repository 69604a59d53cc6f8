// Everything a `kafka` trigger configures (keda-compat §6.1), and its translation into
// librdkafka properties. Shared by the scaler file (which parses and validates it) and the
// client pool (which opens one librdkafka handle per distinct bootstrap + security settings).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/scaler.h"
#include "kafka/lag.h"

namespace ebb::scalers::kafka {

enum class SaslMode { None, Plaintext, ScramSha256, ScramSha512, OAuthBearer, Gssapi };
enum class TokenProvider { Bearer, AwsMskIam };

struct KafkaConfig {
  // Parameters as declared in the table (names follow KEDA's metadata keys).
  std::vector<std::string> bootstrap_servers;
  std::string consumer_group;
  std::string topic;
  std::string partition_limitation_text;
  std::int64_t lag_threshold = 10;
  std::int64_t activation_lag_threshold = 0;
  std::string offset_reset_policy = "latest";
  bool allow_idle_consumers = false;
  bool exclude_persistent_lag = false;
  bool scale_to_zero_on_invalid_offset = false;
  bool limit_to_partitions_with_lag = false;
  bool ensure_even_distribution_of_partitions = false;
  bool full_metadata = true;
  std::string version;
  std::string tls = "disable";
  bool unsafe_ssl = false;
  std::string ca, cert, key, key_password;  // PEM contents, not paths
  std::string sasl;
  std::string username, password;
  std::string sasl_token_provider;
  std::string scopes_text;
  std::string oauth_token_endpoint_uri;
  std::string oauth_extensions_text;
  std::string keytab, realm, kerberos_config, kerberos_service_name;  // contents, not paths
  bool kerberos_disable_fast = false;
  std::string aws_region;
  std::string aws_access_key_id, aws_secret_access_key, aws_role_arn;

  // Derived by validation.
  std::optional<std::vector<std::int32_t>> partition_limitation;  // nullopt: every partition
  std::array<unsigned, 4> kafka_version{1, 0, 0, 0};
  bool enable_tls = false;
  SaslMode sasl_mode = SaslMode::None;
  TokenProvider token_provider = TokenProvider::Bearer;
  std::vector<std::string> scopes;
  std::map<std::string, std::string> oauth_extensions;

  // Files the client writes for GSSAPI before creating the handle (librdkafka takes paths);
  // empty in the pure step.
  std::string keytab_path, kerberos_config_path, password_path;

  LagRules lag_rules() const;
  std::string bootstrap() const;  // "host:port,host:port"
};

// Sarama's ParseKafkaVersion: "0.a.b.c" before 1.0, "a.b.c" after; anything else is an error
// "invalid version `<s>`".
std::optional<std::array<unsigned, 4>> parse_kafka_version(const std::string& text);

// librdkafka properties for the connection and security settings of `config`, in the order
// they are applied. Pure: GSSAPI file paths come from config.*_path. The values include secrets:
// never log them.
std::vector<std::pair<std::string, std::string>> librdkafka_config(const KafkaConfig& config);

// The pure step of the `kafka` trigger (defined in kafka_scaler.cpp): metadata, auth params and
// resolved env -> a validated config, or every problem found, located by field path.
Result<KafkaConfig, FieldErrors> parse_kafka_config(const TriggerContext& ctx);

// Names of properties whose values must never be shown.
bool is_secret_property(const std::string& name);

}  // namespace ebb::scalers::kafka
