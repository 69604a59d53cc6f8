// Pure tests of the `kafka` trigger: KEDA's metadata and auth tables (keda-compat §6.1) with
// exact messages, metric names and targets, the lag arithmetic over plain vectors, the
// librdkafka properties produced for each security mode, and that librdkafka accepts them.
#include <catch2/catch.hpp>

#include "ebb/scalers/registry.h"
#include "kafka/kafka_client.h"
#include "kafka/config.h"
#include "kafka/lag.h"

using namespace ebb::scalers;
using namespace ebb::scalers::kafka;

namespace {

using Map = std::map<std::string, std::string>;

TriggerContext ctx(Map metadata, Map auth = {}, std::size_t index = 0) {
  TriggerContext c;
  c.index = index;
  c.type = "kafka";
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  return c;
}

// "" when parsing succeeds, else the first error as "path: message".
std::string first_error(const Map& metadata, const Map& auth = {}) {
  auto parsed = parse_kafka_config(ctx(metadata, auth));
  return parsed ? "" : parsed.error().front().str();
}

KafkaConfig parsed(const Map& metadata, const Map& auth = {}) {
  auto result = parse_kafka_config(ctx(metadata, auth));
  if (!result) FAIL(result.error().front().str());
  return result.value();
}

Map with(Map base, const Map& extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

const Map kValidMetadata = {{"bootstrapServers", "broker1:9092,broker2:9092"},
                            {"consumerGroup", "my-group"},
                            {"topic", "my-topic"},
                            {"allowIdleConsumers", "false"}};
// KEDA's auth-in-metadata table: everything but the auth params.
const Map kMeta = {{"bootstrapServers", "foobar:9092"},
                   {"consumerGroup", "my-group"},
                   {"topic", "my-topic"},
                   {"allowIdleConsumers", "true"},
                   {"version", "1.0.0"}};

const char* const kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUA2OaaeKunFh3/Ur1FS43ejVJtH4wCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIZWJiLXRlc3QwIBcNMjYxMTI2MTYwNzQ4WhgPMjEyNjExMDIx
NjA3NDhaMBMxETAPBgNVBAMMCGViYi10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAE9eK3NBeRKbZ94WYzEdUszNxXFvDEnc/6+peAX9cYRdxELIn6/ecXmA3z
TxxDS5S5hm8Y1PAND1DpWk6W7EQL1qNTMFEwHQYDVR0OBBYEFJQF1FG+w7TshYzl
B0fvDYIwOpSTMB8GA1UdIwQYMBaAFJQF1FG+w7TshYzlB0fvDYIwOpSTMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgE1ayEVfNDZz7uugaPMO0wWmc
pS/M/EjcastFYVeLO0ECIQCP+r00Pk/yZsLBdtrx2F9Re6Tt6SQbQMYeLo0Dscya
7g==
-----END CERTIFICATE-----
)";
// A throwaway key for the self-signed certificate above (test data only).
const char* const kKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg++9E/OHNl+7jG8Ft
oKdA2AGsn44YI6I3eJyKgxQKMMqhRANCAAT14rc0F5Eptn3hZjMR1SzM3FcW8MSd
z/r6l4Bf1xhF3EQsifr95xeYDfNPHENLlLmGbxjU8A0PUOlaTpbsRAvW
-----END PRIVATE KEY-----
)";
// The same key encrypted with the password "keypass".
const char* const kEncryptedKeyPem = R"(-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,912A4916FE8D3E2925366D587D7DF067

Sr1E70TXmWH5cDtThH7XfrgpmupW8QsIqm+pXnELE9CXWC7ln23sQh6cr35+iCZM
OKNcdkSySJVLbJUMLIrvHhn9ZyDykqfTBfqfqQbxgMnCFR/H+nWHZj49lOdLCTUi
eKBpBxelM2nIN8ADXUkihF31ReidMFS7FjSenoYBHiM=
-----END EC PRIVATE KEY-----
)";

}  // namespace

// --- metadata (KEDA's parseKafkaMetadataTestDataset) ----------------------------------------

TEST_CASE("kafka: metadata table") {
  struct Case {
    Map metadata;
    std::string error;  // "" = success
  };
  const Map base = {{"bootstrapServers", "foobar:9092"}, {"consumerGroup", "my-group"}};
  const Map topic = with(base, {{"topic", "my-topic"}});
  const std::vector<Case> cases = {
      {{}, "metadata.bootstrapServers: missing required parameter \"bootstrapServers\" in [triggerMetadata resolvedEnv]"},
      {{{"bootstrapServers", "foobar:9092"}},
       "metadata.consumerGroup: missing required parameter \"consumerGroup\" in [triggerMetadata resolvedEnv]"},
      {base, ""},
      {with(base, {{"partitionLimitation", "1,2,3,4,5,6"}}), ""},
      {with(base, {{"partitionLimitation", "           "}}), ""},
      {with(base, {{"partitionLimitation", ""}}), ""},
      {with(topic, {{"version", "1.2.3.4"}}), "metadata.version: error parsing kafka version: invalid version `1.2.3.4`"},
      {with(topic, {{"lagThreshold", "-1"}}), "metadata.lagThreshold: \"lagThreshold\" must be positive number"},
      {with(topic, {{"lagThreshold", "0"}}), "metadata.lagThreshold: \"lagThreshold\" must be positive number"},
      {with(topic, {{"lagThreshold", "1000000"}, {"activationLagThreshold", "0"}}), ""},
      {with(topic, {{"lagThreshold", "10"}, {"activationLagThreshold", "AA"}}),
       "metadata.activationLagThreshold: must be an integer, got \"AA\""},
      {with(topic, {{"activationLagThreshold", "-1"}}),
       "metadata.activationLagThreshold: \"activationLagThreshold\" must be a non-negative number"},
      {with(topic, {{"lagThreshold", "10"}, {"activationLagThreshold", "0"}}), ""},
      {topic, ""},
      {with(topic, {{"partitionLimitation", "1,2,3,4"}}), ""},
      {with(topic, {{"partitionLimitation", "1-4"}}), ""},
      {with(topic, {{"partitionLimitation", "1-4,8,10-12"}}), ""},
      {with(topic, {{"partitionLimitation", "a,b,c,d"}}), "metadata.partitionLimitation: invalid partition limitation: a"},
      {with(topic, {{"bootstrapServers", "foo:9092,bar:9092"}}), ""},
      {with(topic, {{"offsetResetPolicy", "latest"}}), ""},
      {with(topic, {{"offsetResetPolicy", "foo"}}),
       "metadata.offsetResetPolicy: must be one of [latest, earliest], got \"foo\""},
      {with(topic, {{"offsetResetPolicy", "earliest"}}), ""},
      {with(topic, {{"allowIdleConsumers", "notvalid"}}),
       "metadata.allowIdleConsumers: must be a boolean (true or false), got \"notvalid\""},
      {with(topic, {{"allowIdleConsumers", "true"}}), ""},
      {with(topic, {{"excludePersistentLag", "notvalid"}}),
       "metadata.excludePersistentLag: must be a boolean (true or false), got \"notvalid\""},
      {with(topic, {{"excludePersistentLag", "true"}}), ""},
      {with(topic, {{"allowIdleConsumers", "true"}, {"version", "1.0.0"}}), ""},
      {with(topic, {{"limitToPartitionsWithLag", "true"}}), ""},
      {with(topic, {{"limitToPartitionsWithLag", "notvalid"}}),
       "metadata.limitToPartitionsWithLag: must be a boolean (true or false), got \"notvalid\""},
      {with(topic, {{"allowIdleConsumers", "true"}, {"limitToPartitionsWithLag", "true"}}),
       "metadata.limitToPartitionsWithLag: allowIdleConsumers and limitToPartitionsWithLag cannot be set "
       "simultaneously"},
      {with(topic, {{"allowIdleConsumers", "true"}, {"limitToPartitionsWithLag", "false"}}), ""},
      {with(base, {{"limitToPartitionsWithLag", "true"}}),
       "metadata.limitToPartitionsWithLag: topic must be specified when using limitToPartitionsWithLag"},
      {with(topic, {{"ensureEvenDistributionOfPartitions", "true"}}), ""},
      {with(topic, {{"ensureEvenDistributionOfPartitions", "true"}, {"limitToPartitionsWithLag", "true"}}),
       "metadata.ensureEvenDistributionOfPartitions: limitToPartitionsWithLag and ensureEvenDistributionOfPartitions "
       "cannot be set simultaneously"},
      {with(base, {{"ensureEvenDistributionOfPartitions", "true"}}),
       "metadata.ensureEvenDistributionOfPartitions: topic must be specified when using "
       "ensureEvenDistributionOfPartitions"},
      {with(topic, {{"fullMetadata", "true"}}), ""},
      {with(base, {{"fullMetadata", "true"}}), ""},
      {with(topic, {{"fullMetadata", "false"}}), ""},
      {with(base, {{"fullMetadata", "false"}}), "metadata.fullMetadata: topic must be specified when fullMetadata is false"},
      {with(topic, {{"fullMetadata", "notabool"}}),
       "metadata.fullMetadata: must be a boolean (true or false), got \"notabool\""},
      {with(topic, {{"scaleToZeroOnInvalidOffset", "nope"}}),
       "metadata.scaleToZeroOnInvalidOffset: must be a boolean (true or false), got \"nope\""},
      {with(topic, {{"version", "0.10.2.1"}}), ""},
      {with(topic, {{"version", "2.8"}}), "metadata.version: error parsing kafka version: invalid version `2.8`"},
  };
  // As in KEDA, every case holds with and without SASL credentials in the auth params.
  const std::vector<Map> auths = {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}}, {}};
  for (const auto& auth : auths) {
    for (const auto& c : cases) {
      INFO("metadata case expecting: " << (c.error.empty() ? "success" : c.error));
      CHECK(first_error(c.metadata, auth) == c.error);
    }
  }
}

TEST_CASE("kafka: parsed metadata values and defaults") {
  const auto c = parsed({{"bootstrapServers", " foo:9092 , bar:9092 "}, {"consumerGroup", "my-group"}, {"topic", "t"}});
  CHECK(c.bootstrap_servers == std::vector<std::string>{"foo:9092", "bar:9092"});
  CHECK(c.lag_threshold == 10);
  CHECK(c.activation_lag_threshold == 0);
  CHECK(c.offset_reset_policy == "latest");
  CHECK_FALSE(c.allow_idle_consumers);
  CHECK(c.full_metadata);
  CHECK_FALSE(c.partition_limitation.has_value());
  CHECK(c.kafka_version == std::array<unsigned, 4>{1, 0, 0, 0});
  CHECK_FALSE(c.enable_tls);
  CHECK(c.sasl_mode == SaslMode::None);

  CHECK(parsed(with(kValidMetadata, {{"partitionLimitation", "1-4,8,10-12"}})).partition_limitation ==
        std::vector<std::int32_t>{1, 2, 3, 4, 8, 10, 11, 12});
  // Without a topic the limitation is ignored.
  CHECK_FALSE(parsed({{"bootstrapServers", "b:1"}, {"consumerGroup", "g"}, {"partitionLimitation", "1,2"}})
                  .partition_limitation.has_value());
  CHECK(parsed(with(kValidMetadata, {{"version", "0.10.2.1"}})).kafka_version == std::array<unsigned, 4>{0, 10, 2, 1});
  CHECK(parsed(with(kValidMetadata, {{"version", "2.8.1"}})).kafka_version == std::array<unsigned, 4>{2, 8, 1, 0});
}

TEST_CASE("kafka: bootstrapServers, consumerGroup and topic from the scale target's env") {
  TriggerContext c = ctx({{"bootstrapServersFromEnv", "BROKERS"}, {"consumerGroupFromEnv", "GROUP"}, {"topicFromEnv", "TOPIC"}});
  c.resolved_env = {{"BROKERS", "a:1,b:2"}, {"GROUP", "g"}, {"TOPIC", "t"}};
  auto config = parse_kafka_config(c);
  REQUIRE(config);
  CHECK(config->bootstrap_servers == std::vector<std::string>{"a:1", "b:2"});
  CHECK(config->consumer_group == "g");
  CHECK(config->topic == "t");
}

// --- auth params (KEDA's parseKafkaAuthParamsTestDataset and the in-ScaledObject table) ------

TEST_CASE("kafka: auth params in the TriggerAuthentication") {
  struct Case {
    Map auth;
    std::string error;
    bool tls = false;
  };
  const std::string oauth = "authParams.username: error parsing OAuth token provider configuration: ";
  const std::vector<Case> cases = {
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}}, ""},
      {{{"sasl", "scram_sha256"}, {"username", "admin"}, {"password", "admin"}}, ""},
      {{{"sasl", "scram_sha512"}, {"username", "admin"}, {"password", "admin"}}, ""},
      {{{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}}, "", true},
      {{{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}}, "", true},
      {{{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}, {"keyPassword", "keeyPassword"}}, "", true},
      {{{"tls", "enable"}, {"ca", "caaa"}}, "", true},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}, {"tls", "enable"}, {"ca", "caaa"},
        {"cert", "ceert"}, {"key", "keey"}},
       "",
       true},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}, {"tls", "disable"}}, ""},
      {{{"sasl", "oauthbearer"}, {"username", "admin"}, {"password", "admin"}, {"scopes", "scope"},
        {"oauthTokenEndpointUri", "https://website.com"}, {"tls", "disable"}},
       ""},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"password", "admin"}, {"kerberosConfig", "<config>"}, {"realm", "tst.com"}},
       ""},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"},
        {"realm", "tst.com"}},
       ""},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"password", "admin"}, {"kerberosConfig", "<config>"}, {"realm", "tst.com"},
        {"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "",
       true},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"},
        {"realm", "tst.com"}, {"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "",
       true},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"},
        {"realm", "tst.com"}, {"kerberosServiceName", "srckafka"}},
       ""},
      {{{"sasl", "foo"}, {"username", "admin"}, {"password", "admin"}, {"scopes", "scope"},
        {"oauthTokenEndpointUri", "https://website.com"}, {"tls", "disable"}},
       "authParams.sasl: must be one of [none, plaintext, scram_sha256, scram_sha512, oauthbearer, gssapi], got \"foo\""},
      {{{"sasl", "oauthbearer"}, {"username", "admin"}, {"password", "admin"},
        {"oauthTokenEndpointUri", "https://website.com"}, {"tls", "disable"}},
       ""},
      {{{"sasl", "oauthbearer"}, {"username", "admin"}, {"password", "admin"}, {"scopes", "scope"},
        {"oauthTokenEndpointUri", ""}, {"tls", "disable"}},
       "authParams.oauthTokenEndpointUri: error parsing OAuth token provider configuration: no oauth token endpoint uri "
       "given"},
      {{{"sasl", "foo"}, {"username", "admin"}, {"password", "admin"}},
       "authParams.sasl: must be one of [none, plaintext, scram_sha256, scram_sha512, oauthbearer, gssapi], got \"foo\""},
      {{{"sasl", "plaintext"}, {"password", "admin"}}, "authParams.username: no username given"},
      {{{"sasl", "plaintext"}, {"username", "admin"}}, "authParams.password: no password given"},
      {{{"tls", "enable"}, {"ca", "caaa"}, {"key", "keey"}}, "authParams.cert: cert must be provided with key"},
      {{{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}}, "authParams.key: key must be provided with cert"},
      {{{"tls", "yes"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "authParams.tls: must be one of [enable, disable], got \"yes\""},
      {{{"sasl", "foo"}, {"username", "admin"}, {"password", "admin"}, {"tls", "enable"}, {"ca", "caaa"},
        {"cert", "ceert"}, {"key", "keey"}},
       "authParams.sasl: must be one of [none, plaintext, scram_sha256, scram_sha512, oauthbearer, gssapi], got \"foo\""},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}, {"tls", "foo"}, {"ca", "caaa"},
        {"cert", "ceert"}, {"key", "keey"}},
       "authParams.tls: must be one of [enable, disable], got \"foo\""},
      {{{"sasl", "plaintext"}, {"password", "admin"}, {"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "authParams.username: no username given"},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "authParams.password: no password given"},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}, {"tls", "enable"}, {"ca", "caaa"}, {"key", "keey"}},
       "authParams.cert: cert must be provided with key"},
      {{{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}, {"tls", "enable"}, {"ca", "caaa"},
        {"cert", "ceert"}},
       "authParams.key: key must be provided with cert"},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"kerberosConfig", "<config>"}, {"realm", "tst.com"}},
       "authParams.password: exactly one of 'password' or 'keytab' must be provided for GSSAPI authentication"},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"password", "admin"}, {"keytab", "/path/to/keytab"},
        {"kerberosConfig", "<config>"}, {"realm", "tst.com"}},
       "authParams.keytab: exactly one of 'password' or 'keytab' must be provided for GSSAPI authentication"},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"password", "admin"}, {"kerberosConfig", "<config>"}, {"tls", "enable"},
        {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "authParams.realm: no realm given"},
      {{{"sasl", "gssapi"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"}, {"realm", "tst.com"},
        {"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       "authParams.username: no username given"},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"realm", "tst.com"}},
       "authParams.kerberosConfig: no Kerberos configuration file (kerberosConfig) given"},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"},
        {"realm", "tst.com"}, {"kerberosDisableFAST", "true"}},
       ""},
      {{{"sasl", "gssapi"}, {"username", "admin"}, {"keytab", "/path/to/keytab"}, {"kerberosConfig", "<config>"},
        {"realm", "tst.com"}, {"kerberosDisableFAST", "notabool"}},
       "authParams.kerberosDisableFAST: must be a boolean (true or false), got \"notabool\""},
      {{{"sasl", "none"}}, ""},
      {{{"sasl", "plaintext\n"}, {"username", "admin"}, {"password", "admin"}}, ""},
      {{{"sasl", "scram_sha512 "}, {"username", "admin"}, {"password", "admin"}}, ""},
  };
  (void)oauth;
  for (const auto& c : cases) {
    INFO("auth case expecting: " << (c.error.empty() ? "success" : c.error));
    CHECK(first_error(kValidMetadata, c.auth) == c.error);
    if (c.error.empty()) {
      const auto config = parsed(kValidMetadata, c.auth);
      CHECK(config.enable_tls == c.tls);
      if (config.enable_tls) {
        CHECK(config.ca == (c.auth.contains("ca") ? c.auth.at("ca") : ""));
        CHECK(config.cert == (c.auth.contains("cert") ? c.auth.at("cert") : ""));
      }
    }
  }
}

TEST_CASE("kafka: sasl and tls in the trigger metadata take precedence over auth params") {
  const auto sasl = parsed(with(kMeta, {{"sasl", "scram_sha512"}}),
                           {{"sasl", "plaintext"}, {"username", "admin"}, {"password", "admin"}});
  CHECK(sasl.sasl_mode == SaslMode::ScramSha512);
  const auto tls = parsed(with(kMeta, {{"tls", "enable"}}), {{"tls", "disable"}, {"ca", "caaa"}});
  CHECK(tls.enable_tls);
  CHECK(parsed(with(kMeta, {{"tls", "enable"}, {"unsafeSsl", "true"}}), {{"ca", "caaa"}}).unsafe_ssl);
  // GSSAPI with TLS disabled ignores cert and key, as KEDA does.
  CHECK(first_error(with(kMeta, {{"sasl", "gssapi"}, {"tls", "disable"}}),
                    {{"username", "admin"}, {"password", "admin"}, {"kerberosConfig", "<config>"}, {"realm", "test.com"},
                     {"ca", "caaa"}, {"cert", "ceert"}}) == "");
  CHECK(first_error(with(kMeta, {{"sasl", "plaintext"}}), {{"password", "admin"}}) ==
        "authParams.username: no username given");
  CHECK(first_error(with(kMeta, {{"tls", "random"}}), {}) ==
        "metadata.tls: must be one of [enable, disable], got \"random\"");
}

TEST_CASE("kafka: OAuth bearer parameters") {
  const Map bearer = {{"sasl", "oauthbearer"}, {"username", "admin"}, {"password", "admin"},
                      {"oauthTokenEndpointUri", "https://website.com"}, {"tls", "disable"}};
  auto c = parsed(kValidMetadata, with(bearer, {{"scopes", "scope1, scope2"}, {"saslTokenProvider", "bearer"}}));
  CHECK(c.sasl_mode == SaslMode::OAuthBearer);
  CHECK(c.token_provider == TokenProvider::Bearer);
  CHECK(c.scopes == std::vector<std::string>{"scope1", "scope2"});
  c = parsed(kValidMetadata, with(bearer, {{"oauthExtensions", "extension_foo=bar,extension_baz=baz"}}));
  CHECK(c.oauth_extensions == Map{{"extension_foo", "bar"}, {"extension_baz", "baz"}});
  CHECK(first_error(kValidMetadata, with(bearer, {{"oauthExtensions", "extension_foo=bar,extension_bazbaz"}})) ==
        "authParams.oauthExtensions: error parsing OAuth token provider configuration: invalid OAuthBearer extension, "
        "must be of format key=value");
  CHECK(first_error(kValidMetadata, with(bearer, {{"password", ""}})) ==
        "authParams.password: error parsing OAuth token provider configuration: no password given");

  const Map msk = {{"sasl", "oauthbearer"}, {"saslTokenProvider", "aws_msk_iam"}};
  CHECK(first_error(with(kValidMetadata, {{"awsRegion", "eu-west-1"}}),
                    with(msk, {{"tls", "enable"}, {"awsAccessKeyID", "none"}, {"awsSecretAccessKey", "none"}})) == "");
  CHECK(first_error(with(kValidMetadata, {{"awsRegion", "eu-west-1"}}),
                    with(msk, {{"tls", "enable"}, {"awsRoleArn", "none"}})) == "");
  CHECK(first_error(kValidMetadata, with(msk, {{"tls", "disable"}})) ==
        "authParams.tls: error parsing OAuth token provider configuration: TLS is required for AWS MSK authentication");
  CHECK(first_error(kValidMetadata, with(msk, {{"tls", "enable"}})) ==
        "metadata.awsRegion: error parsing OAuth token provider configuration: no awsRegion given");
  CHECK_FALSE(first_error(with(kValidMetadata, {{"awsRegion", "eu-west-1"}}), with(msk, {{"tls", "enable"}})).empty());
  CHECK(first_error(kValidMetadata, with(msk, {{"saslTokenProvider", "other"}})) ==
        "authParams.saslTokenProvider: must be one of [bearer, aws_msk_iam], got \"other\"");
}

TEST_CASE("kafka: secret values never appear in parse errors") {
  auto parsed_result = parse_kafka_config(
      ctx(with(kValidMetadata, {{"lagThreshold", "0"}}), {{"sasl", "plaintext"}, {"username", "u"}, {"password", "hunter2-secret"}}));
  REQUIRE_FALSE(parsed_result);
  for (const auto& e : parsed_result.error()) CHECK(e.str().find("hunter2-secret") == std::string::npos);
}

// --- metric spec --------------------------------------------------------------------------

TEST_CASE("kafka: metric names and target") {
  auto topic = Registry::builtin().parse(ctx(with(kValidMetadata, {{"lagThreshold", "1000"}}), {}, 0));
  REQUIRE(topic);
  CHECK(topic.value()->metric_spec().name == "s0-kafka-my-topic");
  CHECK(topic.value()->metric_spec().target_quantity == "1k");
  CHECK(topic.value()->metric_spec().target == 1000);
  CHECK(topic.value()->metric_spec().target_type == MetricTargetType::AverageValue);
  CHECK(topic.value()->endpoint() == "kafka broker1:9092,broker2:9092");

  auto index1 = Registry::builtin().parse(ctx(kValidMetadata, {}, 1));
  REQUIRE(index1);
  CHECK(index1.value()->metric_spec().name == "s1-kafka-my-topic");

  auto group = Registry::builtin().parse(ctx({{"bootstrapServers", "foobar:9092"}, {"consumerGroup", "my-group"}}, {}, 1));
  REQUIRE(group);
  CHECK(group.value()->metric_spec().name == "s1-kafka-my-group-topics");
  CHECK(group.value()->metric_spec().target_quantity == "10");

  auto dotted = Registry::builtin().parse(ctx(with(kValidMetadata, {{"topic", "orders.v1"}, {"activationLagThreshold", "5"}})));
  REQUIRE(dotted);
  CHECK(dotted.value()->metric_spec().name == "s0-kafka-orders-v1");
  CHECK(dotted.value()->metric_spec().activation_target == 5);

  auto value_type = ctx(kValidMetadata);
  value_type.metric_type = "Value";
  auto v = Registry::builtin().parse(value_type);
  REQUIRE(v);
  CHECK(v.value()->metric_spec().target_type == MetricTargetType::Value);
}

// --- arithmetic ---------------------------------------------------------------------------

TEST_CASE("kafka: find_factors and the balancing factor") {
  CHECK(find_factors(10) == std::vector<std::int64_t>{1, 2, 5, 10});
  CHECK(find_factors(1) == std::vector<std::int64_t>{1});
  CHECK(find_factors(16) == std::vector<std::int64_t>{1, 2, 4, 8, 16});
  CHECK(find_factors(0).empty());
  CHECK(next_balancing_factor(10, 100, 10) == 1);
  CHECK(next_balancing_factor(20, 100, 10) == 2);
  CHECK(next_balancing_factor(40, 100, 10) == 4);
  CHECK(next_balancing_factor(50, 100, 10) == 5);
  CHECK(next_balancing_factor(99, 100, 10) == 10);
  CHECK(next_balancing_factor(100, 100, 10) == 10);
  CHECK(next_balancing_factor(101, 100, 10) == 20);
  CHECK(next_balancing_factor(5000, 100, 10) == 100);
}

TEST_CASE("kafka: partition limitation parsing") {
  struct Case {
    std::string input;
    std::vector<std::int32_t> expected;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"1", {1}, ""},
      {"1,2,3,4", {1, 2, 3, 4}, ""},
      {" 1 , 2 , 3 ", {1, 2, 3}, ""},
      {"1-4", {1, 2, 3, 4}, ""},
      {"3-3", {3}, ""},
      {" 1 - 4 ", {1, 2, 3, 4}, ""},
      {"1-4,8,10-12", {1, 2, 3, 4, 8, 10, 11, 12}, ""},
      {"a,b,c", {}, "invalid partition limitation: a"},
      {"1-2-3", {}, "invalid partition limitation range: 1-2-3"},
      {"a-3", {}, "invalid partition limitation: a-3"},
      {"1-b", {}, "invalid partition limitation: 1-b"},
      {"4-1", {}, ""},
      {"2147483648", {}, "invalid partition limitation: 2147483648"},
      {"0-2147483647", {}, "invalid partition limitation range: 0-2147483647 (more than 100000 partitions)"},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    auto r = parse_partition_limitation(c.input);
    if (c.error.empty()) {
      REQUIRE(r);
      CHECK(r.value() == c.expected);
    } else {
      REQUIRE_FALSE(r);
      CHECK(r.error() == c.error);
    }
  }
}

namespace {
PartitionOffsets po(std::int32_t partition, std::optional<std::int64_t> committed, std::optional<std::int64_t> latest,
                    std::string topic = "t") {
  return {std::move(topic), partition, committed, latest};
}
}  // namespace

TEST_CASE("kafka: lag of one partition") {
  struct Case {
    const char* name;
    PartitionOffsets p;
    OffsetResetPolicy policy;
    bool scale_to_zero;
    std::int64_t lag, activity;
  };
  const auto L = OffsetResetPolicy::Latest;
  const auto E = OffsetResetPolicy::Earliest;
  const std::vector<Case> cases = {
      {"committed, latest known", po(0, 100, 150), E, false, 50, 50},
      {"nothing committed, latest policy", po(0, -1, 150), L, false, 1, 1},
      {"nothing committed, latest policy, scale to zero", po(0, -1, 150), L, true, 0, 0},
      {"nothing committed, earliest policy", po(0, -1, 150), E, false, 150, 150},
      {"nothing committed, earliest policy, scale to zero", po(0, -1, 150), E, true, 0, 0},
      {"nothing committed, earliest, scale to zero, latest missing", po(0, -1, std::nullopt), E, true, 0, 0},
      {"nothing committed, earliest, latest missing", po(0, -1, std::nullopt), E, false, 0, 0},
      {"nothing committed, latest policy, latest missing", po(0, -1, std::nullopt), L, false, 1, 1},
      {"committed, latest missing", po(0, 100, std::nullopt), E, false, 0, 0},
      {"caught up", po(0, 150, 150), L, false, 0, 0},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    LagRules rules;
    rules.offset_reset_policy = c.policy;
    rules.scale_to_zero_on_invalid_offset = c.scale_to_zero;
    PreviousOffsets previous;
    auto lag = partition_lag(c.p, rules, "g", previous);
    REQUIRE(lag);
    CHECK(lag->lag == c.lag);
    CHECK(lag->activity_lag == c.activity);
  }
  PreviousOffsets previous;
  auto missing = partition_lag(po(3, std::nullopt, 10), LagRules{}, "g", previous);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "error finding offset block for topic t and partition 3 of consumer group g");
}

TEST_CASE("kafka: total lag, factor and caps") {
  struct Case {
    const char* name;
    std::vector<PartitionOffsets> snapshot;
    LagRules rules;
    std::int64_t total, activity, partitions, with_lag;
  };
  auto rules = [](std::int64_t threshold, bool idle, bool limit, bool even) {
    LagRules r;
    r.lag_threshold = threshold;
    r.allow_idle_consumers = idle;
    r.limit_to_partitions_with_lag = limit;
    r.ensure_even_distribution_of_partitions = even;
    return r;
  };
  const std::vector<PartitionOffsets> three = {po(0, 0, 40), po(1, 10, 50), po(2, 20, 20)};  // lags 40, 40, 0
  const std::vector<Case> cases = {
      {"sum below the cap", three, rules(100, false, false, false), 80, 80, 3, 2},
      {"capped at partitions x threshold", three, rules(10, false, false, false), 30, 80, 3, 2},
      {"idle consumers allowed: no cap", three, rules(10, true, false, false), 80, 80, 3, 2},
      {"capped at partitions with lag", three, rules(10, false, true, false), 20, 80, 3, 2},
      {"even distribution rounds up to a divisor", three, rules(30, false, false, true), 90, 80, 3, 2},
      {"even distribution with small lag", {po(0, 0, 5), po(1, 0, 0), po(2, 0, 0), po(3, 0, 0)},
       rules(10, false, false, true), 10, 5, 4, 1},
      {"even distribution with 0 lag still reports one consumer's worth", {po(0, 0, 0), po(1, 0, 0)},
       rules(10, false, false, true), 10, 0, 2, 0},
      {"missing high-water marks are not counted", {po(0, 0, 100), po(1, 0, std::nullopt)},
       rules(10, false, false, false), 10, 100, 1, 1},
      {"no partitions", {}, rules(10, false, false, false), 0, 0, 0, 0},
      {"two topics", {po(0, 0, 5, "a"), po(0, 0, 7, "b")}, rules(10, false, false, false), 12, 12, 2, 2},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto totals = total_lag(c.snapshot, c.rules, "g", {});
    REQUIRE(totals);
    CHECK(totals->total_lag == c.total);
    CHECK(totals->activity_lag == c.activity);
    CHECK(totals->partitions == c.partitions);
    CHECK(totals->partitions_with_lag == c.with_lag);
  }
  auto missing = total_lag({po(0, 0, 5), po(1, std::nullopt, 5)}, LagRules{}, "g", {});
  CHECK_FALSE(missing);
}

TEST_CASE("kafka: excludePersistentLag remembers committed offsets between polls") {
  LagRules rules;
  rules.lag_threshold = 1000;
  rules.exclude_persistent_lag = true;
  const std::vector<PartitionOffsets> first = {po(0, 10, 50), po(1, 0, 30)};
  auto poll1 = total_lag(first, rules, "g", {});
  REQUIRE(poll1);
  CHECK(poll1->total_lag == 70);  // first observation counts normally
  CHECK(poll1->activity_lag == 70);

  // Partition 0 is stuck at 10, partition 1 moved on.
  const std::vector<PartitionOffsets> second = {po(0, 10, 60), po(1, 5, 30)};
  auto poll2 = total_lag(second, rules, "g", poll1->previous);
  REQUIRE(poll2);
  CHECK(poll2->total_lag == 25);     // 0 for the stuck partition
  CHECK(poll2->activity_lag == 75);  // its real lag still counts for activity
  CHECK(poll2->partitions_with_lag == 1);

  // Without the option the same polls count everything.
  rules.exclude_persistent_lag = false;
  auto plain = total_lag(second, rules, "g", poll1->previous);
  REQUIRE(plain);
  CHECK(plain->total_lag == 75);
  CHECK(plain->previous == poll1->previous);
}

// --- librdkafka configuration -------------------------------------------------------------

namespace {
using Properties = std::vector<std::pair<std::string, std::string>>;
std::map<std::string, std::string> as_map(const Properties& p) { return {p.begin(), p.end()}; }
}  // namespace

TEST_CASE("kafka: librdkafka properties for each security mode") {
  auto config = [](const Map& metadata, const Map& auth) { return as_map(librdkafka_config(parsed(metadata, auth))); };

  auto plain = config(kValidMetadata, {});
  CHECK(plain.at("bootstrap.servers") == "broker1:9092,broker2:9092");
  CHECK(plain.at("security.protocol") == "PLAINTEXT");
  CHECK(plain.at("allow.auto.create.topics") == "false");
  CHECK_FALSE(plain.contains("sasl.mechanisms"));
  CHECK_FALSE(plain.contains("api.version.request"));

  auto sasl = config(kValidMetadata, {{"sasl", "plaintext"}, {"username", "admin"}, {"password", "s3cret"}});
  CHECK(sasl.at("security.protocol") == "SASL_PLAINTEXT");
  CHECK(sasl.at("sasl.mechanisms") == "PLAIN");
  CHECK(sasl.at("sasl.username") == "admin");
  CHECK(sasl.at("sasl.password") == "s3cret");

  CHECK(config(kValidMetadata, {{"sasl", "scram_sha256"}, {"username", "a"}, {"password", "b"}}).at("sasl.mechanisms") ==
        "SCRAM-SHA-256");
  auto scram512 = config(kValidMetadata, {{"sasl", "scram_sha512"}, {"username", "a"}, {"password", "b"}, {"tls", "enable"}});
  CHECK(scram512.at("sasl.mechanisms") == "SCRAM-SHA-512");
  CHECK(scram512.at("security.protocol") == "SASL_SSL");

  auto tls = config(with(kValidMetadata, {{"unsafeSsl", "true"}}),
                    {{"tls", "enable"}, {"ca", "CA"}, {"cert", "CERT"}, {"key", "KEY"}, {"keyPassword", "PW"}});
  CHECK(tls.at("security.protocol") == "SSL");
  CHECK(tls.at("ssl.ca.pem") == "CA");
  CHECK(tls.at("ssl.certificate.pem") == "CERT");
  CHECK(tls.at("ssl.key.pem") == "KEY");
  CHECK(tls.at("ssl.key.password") == "PW");
  CHECK(tls.at("enable.ssl.certificate.verification") == "false");
  CHECK(tls.at("ssl.endpoint.identification.algorithm") == "none");

  auto ca_only = config(kValidMetadata, {{"tls", "enable"}, {"ca", "CA"}});
  CHECK(ca_only.at("ssl.ca.pem") == "CA");
  CHECK_FALSE(ca_only.contains("ssl.certificate.pem"));
  CHECK_FALSE(ca_only.contains("enable.ssl.certificate.verification"));

  // TLS disabled: PEMs given anyway are not used (KEDA ignores them too).
  CHECK_FALSE(config(kValidMetadata, {{"tls", "disable"}, {"ca", "CA"}}).contains("ssl.ca.pem"));

  auto oauth = config(kValidMetadata, {{"sasl", "oauthbearer"}, {"username", "id"}, {"password", "secret"},
                                       {"oauthTokenEndpointUri", "https://idp/token"}});
  CHECK(oauth.at("security.protocol") == "SASL_PLAINTEXT");
  CHECK(oauth.at("sasl.mechanisms") == "OAUTHBEARER");
  CHECK_FALSE(oauth.contains("sasl.password"));

  auto gssapi = config(kValidMetadata, {{"sasl", "gssapi"}, {"username", "svc"}, {"keytab", "KT"}, {"realm", "EX.COM"},
                                        {"kerberosConfig", "[libdefaults]"}, {"kerberosServiceName", "srckafka"}});
  CHECK(gssapi.at("sasl.mechanisms") == "GSSAPI");
  CHECK(gssapi.at("sasl.kerberos.service.name") == "srckafka");
  CHECK(gssapi.at("sasl.kerberos.principal") == "svc@EX.COM");
  CHECK(config(kValidMetadata, {{"sasl", "gssapi"}, {"username", "svc"}, {"password", "pw"}, {"realm", "EX.COM"},
                                {"kerberosConfig", "[libdefaults]"}})
            .at("sasl.kerberos.service.name") == "kafka");

  auto old = config(with(kValidMetadata, {{"version", "0.9.0.1"}}), {});
  CHECK(old.at("api.version.request") == "false");
  CHECK(old.at("broker.version.fallback") == "0.9.0.1");
}

TEST_CASE("kafka: GSSAPI secrets stay out of the kinit command") {
  auto c = parsed(kValidMetadata, {{"sasl", "gssapi"}, {"username", "svc"}, {"password", "pw-secret"}, {"realm", "EX.COM"},
                                   {"kerberosConfig", "[libdefaults]"}});
  c.kerberos_config_path = "/run/x/krb5.conf";
  c.password_path = "/run/x/password";
  const auto props = as_map(librdkafka_config(c));
  CHECK(props.at("sasl.kerberos.kinit.cmd") == "KRB5_CONFIG='/run/x/krb5.conf' kinit 'svc@EX.COM' < '/run/x/password'");
  for (const auto& [name, value] : props) CHECK(value.find("pw-secret") == std::string::npos);
}

TEST_CASE("kafka: librdkafka accepts every produced configuration") {
  struct Case {
    const char* name;
    Map metadata;
    Map auth;
  };
  const std::vector<Case> cases = {
      {"plaintext", kValidMetadata, {}},
      {"sasl plain", kValidMetadata, {{"sasl", "plaintext"}, {"username", "a"}, {"password", "b"}}},
      {"sasl scram-sha-256", kValidMetadata, {{"sasl", "scram_sha256"}, {"username", "a"}, {"password", "b"}}},
      {"sasl scram-sha-512 over tls", kValidMetadata,
       {{"sasl", "scram_sha512"}, {"username", "a"}, {"password", "b"}, {"tls", "enable"}, {"ca", kCaPem}}},
      {"tls ca only", kValidMetadata, {{"tls", "enable"}, {"ca", kCaPem}}},
      {"tls client certificate", kValidMetadata, {{"tls", "enable"}, {"ca", kCaPem}, {"cert", kCaPem}, {"key", kKeyPem}}},
      {"tls encrypted key", kValidMetadata,
       {{"tls", "enable"}, {"cert", kCaPem}, {"key", kEncryptedKeyPem}, {"keyPassword", "keypass"}}},
      {"tls unsafe", with(kValidMetadata, {{"unsafeSsl", "true"}}), {{"tls", "enable"}}},
      {"oauthbearer", kValidMetadata,
       {{"sasl", "oauthbearer"}, {"username", "a"}, {"password", "b"}, {"oauthTokenEndpointUri", "https://idp/token"}}},
      {"gssapi keytab", kValidMetadata,
       {{"sasl", "gssapi"}, {"username", "a"}, {"keytab", "KT"}, {"realm", "R"}, {"kerberosConfig", "[libdefaults]"}}},
      {"gssapi password", kValidMetadata,
       {{"sasl", "gssapi"}, {"username", "a"}, {"password", "pw"}, {"realm", "R"}, {"kerberosConfig", "[libdefaults]"}}},
      {"old broker version", with(kValidMetadata, {{"version", "0.9.0.1"}}), {}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto accepted = librdkafka_accepts(parsed(c.metadata, c.auth));
    CHECK(accepted.ok());
    if (!accepted) FAIL_CHECK(accepted.error().message);
  }
}

TEST_CASE("kafka: a configuration librdkafka rejects is an error without secrets") {
  auto bad_key = parsed(kValidMetadata, {{"tls", "enable"}, {"cert", kCaPem}, {"key", "not-a-key-but-secret"}});
  auto rejected = librdkafka_accepts(bad_key);
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().message.find("not-a-key-but-secret") == std::string::npos);

  auto wrong_password =
      parsed(kValidMetadata, {{"tls", "enable"}, {"cert", kCaPem}, {"key", kEncryptedKeyPem}, {"keyPassword", "wrong-pw"}});
  auto refused = librdkafka_accepts(wrong_password);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("wrong-pw") == std::string::npos);
}

TEST_CASE("kafka: pool key separates credentials and shares identical settings") {
  const auto a = parsed(kValidMetadata, {{"sasl", "plaintext"}, {"username", "a"}, {"password", "one"}});
  const auto b = parsed(with(kValidMetadata, {{"topic", "other"}, {"consumerGroup", "g2"}}),
                        {{"sasl", "plaintext"}, {"username", "a"}, {"password", "one"}});
  const auto c = parsed(kValidMetadata, {{"sasl", "plaintext"}, {"username", "a"}, {"password", "two"}});
  CHECK(pool_key(a) == pool_key(b));
  CHECK(pool_key(a) != pool_key(c));
}

TEST_CASE("kafka: versions are read in linear time, whatever their length") {
  using ebb::scalers::kafka::parse_kafka_version;
  CHECK(parse_kafka_version("0.10.2.1") == std::array<unsigned, 4>{0, 10, 2, 1});
  CHECK(parse_kafka_version("3.6.0") == std::array<unsigned, 4>{3, 6, 0, 0});
  CHECK(parse_kafka_version("1.0.4294967295") == std::array<unsigned, 4>{1, 0, 4294967295u, 0});
  for (const char* bad : {"1.0.4294967296", "1.2.3.4", "2.8", "0.10.2", "1..0.0", "1.0.0.", "1.0.x",
                          "1. 0.0", "01.0.0", "0x.1.2.3"})
    CHECK_FALSE(parse_kafka_version(bad));
  // std::regex recursed once per character: this ended the process (SIGSEGV).
  CHECK_FALSE(parse_kafka_version("1.0." + std::string(300'000, '1')));
  CHECK_FALSE(parse_kafka_version(std::string(300'000, '1') + ".0.0"));
}
