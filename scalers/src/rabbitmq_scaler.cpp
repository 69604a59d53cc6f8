// The `rabbitmq` trigger (keda-compat §6.2, KEDA pkg/scalers/rabbitmq_scaler.go).
//
// AMQP protocol: a passive queue.declare on a connection shared by every trigger that reaches
// the same broker identity (rabbitmq/amqp.h). HTTP protocol: the management API through
// an HTTP client shared per TLS configuration (rabbitmq/management_client.h).
//
// Deliberate choices where KEDA's behaviour is accidental:
// - TLS on AMQP follows the URI scheme (amqps), as amqp091-go does; `tls: enable` only adds the
//   CA, client certificate and unsafeSsl to it.
// - `timeout` with the AMQP protocol is rejected only when mode/value/queueLength are given,
//   because KEDA checks it after returning early for the default mode; copying that keeps every
//   object KEDA accepts valid.
// - OAuth2 and Azure Workload Identity parameters are parsed and validated like KEDA, but
//   fetching their tokens is not implemented yet: such triggers report an error on poll.

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "http/auth.h"
#include "http/client.h"
#include "rabbitmq/amqp.h"
#include "rabbitmq/config.h"
#include "rabbitmq/management_client.h"
#include "tls_params.h"

namespace ebb::scalers {

namespace rabbitmq {
namespace {

using params::A;
using params::E;
using params::M;

const params::Table<Config>& table() {
  static const auto t =
      params::Table<Config>()
          .add(&Config::queue_name, "queueName", {M})
          .add(&Config::mode_text, "mode", {M}, {.optional = true})
          .add(&Config::queue_length, "queueLength", {M}, {.optional = true})
          .add(&Config::value, "value", {M}, {.optional = true})
          .add(&Config::activation_value, "activationValue", {M}, {.optional = true})
          .add(&Config::host, "host", {M, A, E}, {.secret = true})
          .add(&Config::protocol_text, "protocol", {M, A}, {.default_value = "auto", .one_of = {"auto", "amqp", "http"}})
          .add(&Config::vhost_name, "vhostName", {M, A}, {.optional = true})
          .add(&Config::use_regex, "useRegex", {M}, {.optional = true})
          .add(&Config::exclude_unacknowledged, "excludeUnacknowledged", {M}, {.optional = true})
          .add(&Config::page_size, "pageSize", {M}, {.default_value = "100"})
          .add(&Config::operation, "operation", {M}, {.default_value = "sum"})
          .add(&Config::timeout, "timeout", {M}, {.optional = true})
          .add(&Config::unsafe_ssl, "unsafeSsl", {M}, {.optional = true})
          .add(&Config::username, "username", {A, E}, {.optional = true})
          .add(&Config::password, "password", {A, E}, {.optional = true, .secret = true})
          .add(&Config::tls, "tls", {A}, {.default_value = "disable", .one_of = {"enable", "disable"}})
          .add(&Config::ca, "ca", {A}, {.optional = true})
          .add(&Config::cert, "cert", {A}, {.optional = true})
          .add(&Config::key, "key", {A}, {.optional = true, .secret = true})
          .add(&Config::key_password, "keyPassword", {A}, {.optional = true, .secret = true})
          .add(&Config::workload_identity_resource, "workloadIdentityResource", {A}, {.optional = true})
          .add(&Config::oauth_token_uri, "oauthTokenURI", {A}, {.optional = true})
          .add(&Config::scopes, "scopes;scope", {A}, {.optional = true})
          .add(&Config::client_id, "clientID", {A}, {.optional = true})
          .add(&Config::client_secret, "clientSecret", {A}, {.optional = true, .secret = true})
          .add(&Config::endpoint_params, "endpointParams", {A}, {.optional = true});
  return t;
}

using params::path_of;

void check_pairs(const TriggerContext& ctx, const Config& c, FieldErrors& errors) {
  if (c.cert.empty() != c.key.empty())
    errors.push_back({path_of(ctx, c.cert.empty() ? "cert" : "key", {A}), "both key and certificate must be provided"});
  if (c.username.empty() != c.password.empty())
    errors.push_back({path_of(ctx, c.username.empty() ? "username" : "password", {A, E}),
                      "username and password must be given together"});
  if (c.page_size < 1) errors.push_back({path_of(ctx, "pageSize", {M}), "pageSize should be 1 or greater"});
}

// A URL whose password ends its authority early would show that password in endpoints and
// errors; KEDA cannot use it either (Go: "invalid port"), so it is refused here, unquoted.
void check_host_url(const TriggerContext& ctx, const Config& c, FieldErrors& errors) {
  if (split_url(c.host).userinfo_cut)
    errors.push_back({path_of(ctx, "host", {M, A, E}),
                      "the password in the host URL holds an unescaped '/', '?' or '#'; percent-encode it (e.g. '/' "
                      "as %2F)"});
}

// `auto` follows the host URL's scheme. Returns false when the protocol stays unknown.
bool resolve_protocol(const TriggerContext& ctx, Config& c, FieldErrors& errors) {
  if (c.protocol_text == "amqp") c.protocol = Protocol::Amqp;
  if (c.protocol_text == "http") c.protocol = Protocol::Http;
  if (c.protocol_text != "auto") return true;
  // Only the scheme is quoted: the host may carry a password.
  const std::string scheme = split_url(c.host).scheme;
  if (scheme == "amqp" || scheme == "amqps") {
    c.protocol = Protocol::Amqp;
  } else if (scheme == "http" || scheme == "https") {
    c.protocol = Protocol::Http;
  } else {
    errors.push_back({path_of(ctx, "host", {M, A, E}), "unknown host URL scheme: `" + scheme + "`"});
    return false;
  }
  return true;
}

void check_auth_methods(const TriggerContext& ctx, const Config& c, FieldErrors& errors) {
  if (c.protocol == Protocol::Amqp && !c.workload_identity_resource.empty())
    errors.push_back({"authParams.workloadIdentityResource",
                      "workload identity is not supported for the AMQP protocol at the moment"});
  const bool any_oauth = !c.oauth_token_uri.empty() || !c.client_id.empty() || !c.client_secret.empty();
  if (!any_oauth) return;
  const std::string oauth_path = path_of(ctx, c.oauth_token_uri.empty() ? "oauthTokenURI"
                                                : c.client_id.empty() ? "clientID"
                                                                      : "clientSecret",
                                         {A});
  if (!c.has_oauth2())
    errors.push_back({oauth_path,
                      "OAuth2 requires tokenUrl clientId and clientSecret to be configured in TriggerAuthentication"});
  else if (c.protocol == Protocol::Amqp)
    errors.push_back({oauth_path, "OAuth2 authentication is only supported with HTTP protocol, not AMQP"});
  else if ((!c.username.empty() && !c.password.empty()) || !c.workload_identity_resource.empty())
    errors.push_back({oauth_path,
                      "OAuth2 authentication cannot be combined with username/password authentication or Azure "
                      "Workload Identity"});
}

void check_http_only_features(const Config& c, FieldErrors& errors) {
  if (c.protocol == Protocol::Http) return;
  if (c.use_regex) errors.push_back({"metadata.useRegex", "configure useRegex=true only with HTTP protocol"});
  if (c.exclude_unacknowledged)
    errors.push_back(
        {"metadata.excludeUnacknowledged", "configure excludeUnacknowledged=true only with HTTP protocol"});
}

std::optional<Mode> mode_from(std::string_view text) {
  for (Mode m : {Mode::QueueLength, Mode::MessageRate, Mode::DeliverGetRate, Mode::PublishedToDeliveredRatio,
                 Mode::ExpectedQueueConsumptionTime})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

// KEDA's validateTrigger. Zero counts as "not given" for queueLength and value, as in KEDA.
void resolve_mode(Config& c, bool protocol_known, FieldErrors& errors) {
  const Config& in = c;  // each branch reads what was written before it sets mode and value
  const bool has_mode = !in.mode_text.empty() && in.mode_text != "Unknown";
  if (in.queue_length == 0 && !has_mode && in.value == 0) {
    c.mode = Mode::QueueLength;
    c.value = 20;
    return;
  }
  if (in.queue_length != 0 && (has_mode || in.value != 0)) {
    errors.push_back({"metadata.queueLength", "queueLength is deprecated; use mode and value"});
    return;
  }
  if (in.queue_length != 0) {
    c.mode = Mode::QueueLength;
    c.value = in.queue_length;
    return;
  }
  if (!has_mode) {
    errors.push_back({"metadata.mode", "mode must be specified"});
    return;
  }
  if (in.value == 0) {
    errors.push_back({"metadata.value", "value must be specified"});
    return;
  }
  const auto mode = mode_from(in.mode_text);
  if (!mode) {
    errors.push_back({"metadata.mode", "trigger mode " + in.mode_text +
                                           " must be one of QueueLength, MessageRate, DeliverGetRate, "
                                           "PublishedToDeliveredRatio or ExpectedQueueConsumptionTime"});
    return;
  }
  c.mode = *mode;
  if (!protocol_known) return;
  if (c.mode != Mode::QueueLength && c.protocol != Protocol::Http) {
    errors.push_back({"metadata.mode", "protocol amqp not supported; must be HTTP to use trigger mode " +
                                           std::string(to_string(c.mode))});
    return;
  }
  if (c.protocol == Protocol::Amqp && c.timeout.count() != 0)
    errors.push_back({"metadata.timeout", "AMQP protocol doesn't support custom timeouts"});
}

}  // namespace

Result<Config, FieldErrors> parse_config(const TriggerContext& ctx) {
  Config c;
  FieldErrors errors = table().parse(ctx, c);
  if (!errors.empty()) return unexpected(std::move(errors));
  check_pairs(ctx, c, errors);
  check_host_url(ctx, c, errors);
  const bool protocol_known = resolve_protocol(ctx, c, errors);
  if (protocol_known) {
    check_auth_methods(ctx, c, errors);
    check_http_only_features(c, errors);
  }
  resolve_mode(c, protocol_known, errors);
  if (!errors.empty()) return unexpected(std::move(errors));
  return c;
}

namespace {

Unexpected<Error> poll_error(const std::string& endpoint, const Error& cause) {
  return fail(anonymize_error("error inspecting RabbitMQ: " + endpoint + ": " + cause.message),
              cause.transient);
}

class AmqpQueueScaler final : public Scaler {
 public:
  AmqpQueueScaler(std::shared_ptr<AmqpConnection> connection, Config config)
      : connection_(std::move(connection)), config_(std::move(config)) {}

  Result<PollResult> poll() override {
    auto count = connection_->message_count(config_.queue_name);
    if (!count) return poll_error(connection_->settings().endpoint(), count.error());
    // Passive declare reports ready messages only, and no rates (KEDA: both rates 0).
    return evaluate(config_.mode, static_cast<std::int64_t>(*count), 0, 0, config_.activation_value);
  }

 private:
  std::shared_ptr<AmqpConnection> connection_;
  Config config_;
};

class ManagementApiScaler final : public Scaler {
 public:
  ManagementApiScaler(std::shared_ptr<net::HttpClient> client, ManagementQuery query, Config config,
                      std::optional<http::Authenticator> oauth)
      : client_(std::move(client)), query_(std::move(query)), config_(std::move(config)), oauth_(std::move(oauth)) {}

  Result<PollResult> poll() override {
    if (!config_.workload_identity_resource.empty())
      return poll_error(query_.base_url, Error{"Azure Workload Identity is not supported by Ebb", false});
    auto stats = fetch_queue_stats(*client_, query_, oauth_ ? &*oauth_ : nullptr);
    if (!stats) return poll_error(query_.base_url, stats.error());
    const auto messages = config_.exclude_unacknowledged ? stats->messages_ready : stats->messages;
    return evaluate(config_.mode, messages, stats->publish_rate, stats->deliver_get_rate, config_.activation_value);
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
  ManagementQuery query_;
  Config config_;
  std::optional<http::Authenticator> oauth_;  // OAuth2 client credentials instead of Basic auth
};

// KEDA's rabbitmq OAuth2 (client credentials from the TriggerAuthentication) as the shared
// authenticator's oauth mode.
std::optional<http::Authenticator> oauth_for(const Config& c, ConnectionPools& pools) {
  if (!c.has_oauth2()) return std::nullopt;
  http::AuthParams a;
  a.auth_modes = {"oauth"};
  a.oauth_token_uri = c.oauth_token_uri;
  a.client_id = c.client_id;
  a.client_secret = c.client_secret;
  a.scopes = c.scopes;
  a.endpoint_params = c.endpoint_params;
  return http::authenticator_for(a, pools);
}

// The management API honours unsafeSsl always, the PEM files only with `tls: enable` (KEDA).
net::TlsOptions tls_from(const Config& c) {
  net::TlsOptions tls;
  if (c.tls == "enable")
    apply_tls_params(c, tls);
  else
    tls.insecure_skip_verify = c.unsafe_ssl;
  return tls;
}

Result<AmqpSettings> amqp_settings(const Config& c) {
  auto parsed = parse_amqp_uri(c.host);
  if (!parsed) return unexpected(parsed.error());
  AmqpSettings s = std::move(*parsed);
  if (!c.vhost_name.empty()) s.vhost = c.vhost_name;
  if (!c.username.empty() && !c.password.empty()) {
    s.username = c.username;
    s.password = c.password;
  }
  // KEDA applies its TLS config (and so unsafeSsl) to AMQP only with `tls: enable`.
  if (s.tls.enabled && c.tls == "enable") apply_tls_params(c, s.tls);
  // A client certificate without any password identifies the user: SASL EXTERNAL.
  const UrlParts url = split_url(c.host);
  const bool uri_has_password = url.has_userinfo && url.userinfo.find(':') != std::string::npos;
  s.sasl_external = c.tls == "enable" && c.username.empty() && c.password.empty() && !c.cert.empty() &&
                    !c.key.empty() && !uri_has_password;
  return s;
}

ManagementQuery management_query(const Config& c) {
  const UrlParts url = split_url(c.host);
  const VhostAndPath vp = vhost_and_path_from_url(url.path, c.vhost_name);
  ManagementQuery q;
  q.base_url = url.scheme + "://" + url.authority + vp.path;
  q.vhost_path = vp.vhost_path;
  q.queue_name = c.queue_name;
  q.use_regex = c.use_regex;
  q.page_size = c.page_size;
  q.operation = c.operation;
  q.timeout = http::effective_timeout(c.timeout);
  if (!c.username.empty() && !c.password.empty()) {
    q.username = c.username;
    q.password = c.password;
    q.has_credentials = true;
  } else if (url.has_userinfo) {
    const auto colon = url.userinfo.find(':');
    q.username = percent_decode(url.userinfo.substr(0, colon));
    if (colon != std::string::npos) q.password = percent_decode(url.userinfo.substr(colon + 1));
    q.has_credentials = true;
  }
  return q;
}

class RabbitTrigger final : public TriggerConfig {
 public:
  RabbitTrigger(Config config, MetricSpec spec) : config_(std::move(config)), spec_(std::move(spec)) {}

  const MetricSpec& metric_spec() const override { return spec_; }

  std::string endpoint() const override {
    const UrlParts url = split_url(config_.host);
    return "rabbitmq " + url.scheme + "://" + url.authority + url.path;
  }

  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    if (config_.protocol == Protocol::Http) {
      auto client = pools.get<http::Clients>().get(tls_from(config_));
      return std::unique_ptr<Scaler>(std::make_unique<ManagementApiScaler>(std::move(client), management_query(config_),
                                                                           config_, oauth_for(config_, pools)));
    }
    auto settings = amqp_settings(config_);
    if (!settings) return fail("error parsing RabbitMQ connection string: " + settings.error().message);
    auto connection = pools.get<AmqpConnections>().get(*settings);
    return std::unique_ptr<Scaler>(std::make_unique<AmqpQueueScaler>(std::move(connection), config_));
  }

 private:
  Config config_;
  MetricSpec spec_;
};

ParseResult parse(const TriggerContext& ctx) {
  auto config = parse_config(ctx);
  if (!config) return unexpected(config.error());
  auto spec = external_metric(ctx, "rabbitmq-" + query_escape(config->queue_name), config->value,
                              config->activation_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(std::make_unique<RabbitTrigger>(std::move(*config), std::move(spec)));
}

}  // namespace
}  // namespace rabbitmq

void register_rabbitmq_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"rabbitmq"},
                                .keda_name = "rabbitMQScaler",
                                .summary = "messages in a queue, or its message rate (AMQP or the management API)",
                                .parse = rabbitmq::parse}
                   .with_table(rabbitmq::table()));
}

}  // namespace ebb::scalers
