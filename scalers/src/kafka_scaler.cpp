// The `kafka` trigger (keda-compat §6.1): consumer-group lag over one topic, or over every
// topic the group has committed offsets for. Parsing and the lag arithmetic are pure
// (kafka/config.h, kafka/lag.h); poll() reads offsets through the shared kafka::Clients.
#include <algorithm>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "kafka/client.h"
#include "kafka/config.h"
#include "kafka/lag.h"

namespace ebb::scalers {

namespace {

using kafka::KafkaConfig;
using namespace params;

const Table<KafkaConfig>& table() {
  static const auto t =
      Table<KafkaConfig>()
          .add(&KafkaConfig::bootstrap_servers, "bootstrapServers", {M, E})
          .add(&KafkaConfig::consumer_group, "consumerGroup", {M, E})
          .add(&KafkaConfig::topic, "topic", {M, E}, {.optional = true})
          .add(&KafkaConfig::partition_limitation_text, "partitionLimitation", {M}, {.optional = true})
          .add(&KafkaConfig::lag_threshold, "lagThreshold", {M}, {.default_value = "10"})
          .add(&KafkaConfig::activation_lag_threshold, "activationLagThreshold", {M}, {.default_value = "0"})
          .add(&KafkaConfig::offset_reset_policy, "offsetResetPolicy", {M},
               {.default_value = "latest", .one_of = {"latest", "earliest"}})
          .add(&KafkaConfig::allow_idle_consumers, "allowIdleConsumers", {M}, {.default_value = "false"})
          .add(&KafkaConfig::exclude_persistent_lag, "excludePersistentLag", {M}, {.default_value = "false"})
          .add(&KafkaConfig::scale_to_zero_on_invalid_offset, "scaleToZeroOnInvalidOffset", {M},
               {.default_value = "false"})
          .add(&KafkaConfig::limit_to_partitions_with_lag, "limitToPartitionsWithLag", {M}, {.default_value = "false"})
          .add(&KafkaConfig::ensure_even_distribution_of_partitions, "ensureEvenDistributionOfPartitions", {M},
               {.default_value = "false"})
          .add(&KafkaConfig::full_metadata, "fullMetadata", {M}, {.default_value = "true"})
          .add(&KafkaConfig::version, "version", {M}, {.optional = true})
          .add(&KafkaConfig::tls, "tls", {M, A}, {.default_value = "disable", .one_of = {"enable", "disable"}})
          .add(&KafkaConfig::unsafe_ssl, "unsafeSsl", {M}, {.default_value = "false"})
          .add(&KafkaConfig::ca, "ca", {A}, {.optional = true})
          .add(&KafkaConfig::cert, "cert", {A}, {.optional = true})
          .add(&KafkaConfig::key, "key", {A}, {.optional = true, .secret = true})
          .add(&KafkaConfig::key_password, "keyPassword", {A}, {.optional = true, .secret = true})
          .add(&KafkaConfig::sasl, "sasl", {M, A},
               {.optional = true,
                .one_of = {"none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi"}})
          .add(&KafkaConfig::username, "username", {A}, {.optional = true})
          .add(&KafkaConfig::password, "password", {A}, {.optional = true, .secret = true})
          .add(&KafkaConfig::sasl_token_provider, "saslTokenProvider", {M, A},
               {.optional = true, .one_of = {"bearer", "aws_msk_iam"}})
          .add(&KafkaConfig::scopes_text, "scopes", {A}, {.optional = true})
          .add(&KafkaConfig::oauth_token_endpoint_uri, "oauthTokenEndpointUri", {A}, {.optional = true})
          .add(&KafkaConfig::oauth_extensions_text, "oauthExtensions", {A}, {.optional = true})
          .add(&KafkaConfig::keytab, "keytab", {A}, {.optional = true, .secret = true})
          .add(&KafkaConfig::realm, "realm", {A}, {.optional = true})
          .add(&KafkaConfig::kerberos_config, "kerberosConfig", {A}, {.optional = true})
          .add(&KafkaConfig::kerberos_service_name, "kerberosServiceName", {A}, {.optional = true})
          .add(&KafkaConfig::kerberos_disable_fast, "kerberosDisableFAST", {A}, {.default_value = "false"})
          .add(&KafkaConfig::aws_region, "awsRegion", {M, A}, {.optional = true})
          .add(&KafkaConfig::aws_access_key_id, "awsAccessKeyID", {A}, {.optional = true})
          .add(&KafkaConfig::aws_secret_access_key, "awsSecretAccessKey", {A}, {.optional = true, .secret = true})
          .add(&KafkaConfig::aws_role_arn, "awsRoleArn", {A}, {.optional = true});
  return t;
}

// KEDA's Validate, first part: thresholds, partition limitation, option combinations.
void validate_lag_options(const TriggerContext& ctx, KafkaConfig& c, FieldErrors& errors) {
  if (c.lag_threshold <= 0)
    errors.push_back({path_of(ctx, "lagThreshold", {M}), "\"lagThreshold\" must be positive number"});
  if (c.activation_lag_threshold < 0)
    errors.push_back(
        {path_of(ctx, "activationLagThreshold", {M}), "\"activationLagThreshold\" must be a non-negative number"});

  if (!c.partition_limitation_text.empty()) {
    auto parsed = kafka::parse_partition_limitation(c.partition_limitation_text);
    if (!parsed) errors.push_back({path_of(ctx, "partitionLimitation", {M}), parsed.error()});
    // Partition ids only mean something within one topic.
    else if (!c.topic.empty()) c.partition_limitation = std::move(*parsed);
  }

  const auto flag = [&](const char* name) { return path_of(ctx, name, {M}); };
  if (c.allow_idle_consumers && c.limit_to_partitions_with_lag)
    errors.push_back({flag("limitToPartitionsWithLag"),
                      "allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously"});
  if (c.topic.empty() && c.limit_to_partitions_with_lag)
    errors.push_back({flag("limitToPartitionsWithLag"), "topic must be specified when using limitToPartitionsWithLag"});
  if (c.limit_to_partitions_with_lag && c.ensure_even_distribution_of_partitions)
    errors.push_back({flag("ensureEvenDistributionOfPartitions"),
                      "limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously"});
  if (c.topic.empty() && c.ensure_even_distribution_of_partitions)
    errors.push_back({flag("ensureEvenDistributionOfPartitions"),
                      "topic must be specified when using ensureEvenDistributionOfPartitions"});
  if (!c.full_metadata && c.topic.empty())
    errors.push_back({flag("fullMetadata"), "topic must be specified when fullMetadata is false"});
}

void validate_version(const TriggerContext& ctx, KafkaConfig& c, FieldErrors& errors) {
  if (c.version.empty()) return;  // Sarama's V1_0_0_0
  if (auto v = kafka::parse_kafka_version(c.version)) {
    c.kafka_version = *v;
  } else {
    errors.push_back({path_of(ctx, "version", {M}), "error parsing kafka version: invalid version `" + c.version + "`"});
  }
}

void validate_tls(const TriggerContext& ctx, KafkaConfig& c, FieldErrors& errors) {
  c.enable_tls = c.tls == "enable";
  if (!c.enable_tls) return;  // KEDA ignores ca/cert/key unless TLS is enabled
  if (!c.cert.empty() && c.key.empty())
    errors.push_back({path_of(ctx, "key", {A}), "key must be provided with cert"});
  if (!c.key.empty() && c.cert.empty())
    errors.push_back({path_of(ctx, "cert", {A}), "cert must be provided with key"});
}

std::optional<FieldError> validate_user_password(const TriggerContext& ctx, const KafkaConfig& c,
                                                 const std::string& prefix = "") {
  if (c.username.empty()) return FieldError{path_of(ctx, "username", {A}), prefix + "no username given"};
  if (c.password.empty()) return FieldError{path_of(ctx, "password", {A}), prefix + "no password given"};
  return std::nullopt;
}

std::optional<FieldError> validate_oauth(const TriggerContext& ctx, KafkaConfig& c) {
  const std::string prefix = "error parsing OAuth token provider configuration: ";
  c.token_provider = c.sasl_token_provider == "aws_msk_iam" ? kafka::TokenProvider::AwsMskIam
                                                            : kafka::TokenProvider::Bearer;
  if (c.token_provider == kafka::TokenProvider::AwsMskIam) {
    if (!c.enable_tls) return FieldError{path_of(ctx, "tls", {M, A}), prefix + "TLS is required for AWS MSK authentication"};
    if (c.aws_region.empty()) return FieldError{path_of(ctx, "awsRegion", {M, A}), prefix + "no awsRegion given"};
    const bool keys = !c.aws_access_key_id.empty() && !c.aws_secret_access_key.empty();
    if (!keys && c.aws_role_arn.empty())
      return FieldError{path_of(ctx, "awsAccessKeyID", {A}),
                        "error getting AWS authorization: awsAccessKeyID and awsSecretAccessKey, or awsRoleArn, "
                        "must be given"};
    return std::nullopt;
  }
  if (auto err = validate_user_password(ctx, c, prefix)) return err;
  if (c.oauth_token_endpoint_uri.empty())
    return FieldError{path_of(ctx, "oauthTokenEndpointUri", {A}), prefix + "no oauth token endpoint uri given"};
  c.scopes.clear();
  for (std::size_t start = 0;;) {
    const auto comma = c.scopes_text.find(',', start);
    std::string scope = c.scopes_text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    scope.erase(0, scope.find_first_not_of(' '));
    scope.erase(scope.find_last_not_of(' ') + 1);
    if (!scope.empty()) c.scopes.push_back(scope);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  c.oauth_extensions.clear();
  if (!c.oauth_extensions_text.empty()) {
    auto parsed = parse_map(c.oauth_extensions_text, ',');
    const bool each_pair = std::count(c.oauth_extensions_text.begin(), c.oauth_extensions_text.end(), '=') ==
                           std::count(c.oauth_extensions_text.begin(), c.oauth_extensions_text.end(), ',') + 1;
    if (!parsed || !each_pair)
      return FieldError{path_of(ctx, "oauthExtensions", {A}),
                        prefix + "invalid OAuthBearer extension, must be of format key=value"};
    c.oauth_extensions = std::move(*parsed);
  }
  return std::nullopt;
}

std::optional<FieldError> validate_gssapi(const TriggerContext& ctx, const KafkaConfig& c) {
  if (c.username.empty()) return FieldError{path_of(ctx, "username", {A}), "no username given"};
  if (c.password.empty() == c.keytab.empty())
    return FieldError{path_of(ctx, c.password.empty() ? "password" : "keytab", {A}),
                      "exactly one of 'password' or 'keytab' must be provided for GSSAPI authentication"};
  if (c.realm.empty()) return FieldError{path_of(ctx, "realm", {A}), "no realm given"};
  if (c.kerberos_config.empty())
    return FieldError{path_of(ctx, "kerberosConfig", {A}), "no Kerberos configuration file (kerberosConfig) given"};
  return std::nullopt;
}

void validate_sasl(const TriggerContext& ctx, KafkaConfig& c, FieldErrors& errors) {
  using kafka::SaslMode;
  static const std::map<std::string, SaslMode> modes = {
      {"", SaslMode::None},
      {"none", SaslMode::None},
      {"plaintext", SaslMode::Plaintext},
      {"scram_sha256", SaslMode::ScramSha256},
      {"scram_sha512", SaslMode::ScramSha512},
      {"oauthbearer", SaslMode::OAuthBearer},
      {"gssapi", SaslMode::Gssapi},
  };
  const auto mode = modes.find(c.sasl);
  if (mode == modes.end()) return;  // already reported by the enum check
  std::optional<FieldError> error;
  switch (mode->second) {
    case SaslMode::None:
      break;
    case SaslMode::Plaintext:
    case SaslMode::ScramSha256:
    case SaslMode::ScramSha512:
      error = validate_user_password(ctx, c);
      break;
    case SaslMode::OAuthBearer:
      error = validate_oauth(ctx, c);
      break;
    case SaslMode::Gssapi:
      error = validate_gssapi(ctx, c);
      break;
  }
  if (error) errors.push_back(*std::move(error));
  else c.sasl_mode = mode->second;
}

std::string metric_suffix(const KafkaConfig& c) {
  return c.topic.empty() ? "kafka-" + c.consumer_group + "-topics" : "kafka-" + c.topic;
}

// Bounds one poll: metadata, committed offsets and high-water marks share it.
constexpr auto kPollTimeout = std::chrono::seconds(10);

class KafkaScaler final : public Scaler {
 public:
  KafkaScaler(KafkaConfig config, kafka::Clients& pool) : config_(std::move(config)), pool_(pool) {}

  Result<PollResult> poll() override {
    const auto deadline = kafka::Clock::now() + kPollTimeout;
    if (!client_) {
      auto client = pool_.client(config_);
      if (!client) return unexpected(client.error());
      client_ = *client;
    }
    auto snapshot = read_snapshot(deadline);
    if (!snapshot) return unexpected(snapshot.error());
    auto totals = kafka::total_lag(*snapshot, config_.lag_rules(), config_.consumer_group, previous_);
    if (!totals) return fail(client_->endpoint() + ": " + totals.error().message, true);
    previous_ = std::move(totals->previous);
    return PollResult{static_cast<double>(totals->total_lag),
                      totals->activity_lag > config_.activation_lag_threshold};
  }

 private:
  Result<std::set<std::string>> topics(kafka::Clock::time_point deadline) {
    if (!config_.topic.empty()) return std::set<std::string>{config_.topic};
    return client_->group_topics(config_.consumer_group, deadline);
  }

  bool considered(std::int32_t partition) const {
    const auto& only = config_.partition_limitation;
    return !only || std::find(only->begin(), only->end(), partition) != only->end();
  }

  Result<std::vector<kafka::TopicPartition>> partitions(kafka::Clock::time_point deadline) {
    auto names = topics(deadline);
    if (!names) return unexpected(names.error());
    std::vector<kafka::TopicPartition> out;
    if (names->empty()) return out;  // the group has committed nothing anywhere: no lag to report
    auto described = client_->partitions(*names, deadline);
    if (!described) return unexpected(described.error());
    for (const auto& [topic, ids] : *described) {
      const auto before = out.size();
      for (const auto id : ids)
        if (considered(id)) out.emplace_back(topic, id);
      if (out.size() == before)
        return fail(client_->endpoint() + ": expected at least one active partition within the topic '" + topic + "'",
                    true);
    }
    return out;
  }

  Result<std::vector<kafka::PartitionOffsets>> read_snapshot(kafka::Clock::time_point deadline) {
    auto list = partitions(deadline);
    if (!list) return unexpected(list.error());
    std::vector<kafka::PartitionOffsets> snapshot;
    if (list->empty()) return snapshot;
    auto committed = client_->committed_offsets(config_.consumer_group, *list, deadline);
    if (!committed) return unexpected(committed.error());
    auto latest = client_->high_watermarks(*list, deadline);
    if (!latest) return unexpected(latest.error());
    for (const auto& tp : *list) {
      kafka::PartitionOffsets p{tp.first, tp.second, std::nullopt, std::nullopt};
      if (auto it = committed->find(tp); it != committed->end()) p.committed = it->second;
      if (auto it = latest->find(tp); it != latest->end()) p.latest = it->second;
      snapshot.push_back(std::move(p));
    }
    return snapshot;
  }

  KafkaConfig config_;
  kafka::Clients& pool_;
  std::shared_ptr<kafka::Client> client_;
  kafka::PreviousOffsets previous_;
};

class KafkaTrigger final : public TriggerConfig {
 public:
  KafkaTrigger(KafkaConfig config, MetricSpec spec) : config_(std::move(config)), spec_(std::move(spec)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "kafka " + config_.bootstrap(); }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(std::make_unique<KafkaScaler>(config_, pools.get<kafka::Clients>()));
  }

 private:
  KafkaConfig config_;
  MetricSpec spec_;
};

ParseResult parse_kafka(const TriggerContext& ctx) {
  auto config = kafka::parse_kafka_config(ctx);
  if (!config) return unexpected(config.error());
  auto spec = external_metric(ctx, metric_suffix(*config), static_cast<double>(config->lag_threshold),
                              static_cast<double>(config->activation_lag_threshold), TargetForm::Integer);
  return std::unique_ptr<TriggerConfig>(std::make_unique<KafkaTrigger>(*std::move(config), std::move(spec)));
}

}  // namespace

namespace kafka {

Result<KafkaConfig, FieldErrors> parse_kafka_config(const TriggerContext& ctx) {
  KafkaConfig c;
  FieldErrors errors = table().parse(ctx, c);
  // Cross-field rules only make sense on well-typed values.
  if (!errors.empty()) return unexpected(std::move(errors));
  validate_lag_options(ctx, c, errors);
  validate_tls(ctx, c, errors);
  validate_sasl(ctx, c, errors);
  validate_version(ctx, c, errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return c;
}

}  // namespace kafka

void register_kafka_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"kafka"},
                                .keda_name = "kafkaScaler",
                                .summary = "consumer group lag over a topic's partitions",
                                .parse = parse_kafka}
                   .with_table(table()));
}

}  // namespace ebb::scalers
