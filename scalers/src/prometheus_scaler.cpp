// The `prometheus` trigger (keda-compat §6.5, KEDA pkg/scalers/prometheus_scaler.go): the one
// sample of an instant PromQL query, read through /api/v1/query on a kept-alive connection
// shared by every trigger with the same TLS settings (http::Clients).
//
// `namespace` is sent as the `namespace` query parameter, as KEDA does (for a namespace-
// enforcing proxy such as prom-label-proxy or Thanos' tenancy port); it is not a tenant header.
// Multi-tenant servers (Cortex, Mimir, Thanos receive) take their tenant from customHeaders:
// `customHeaders: X-Scope-OrgID=<tenant>`. KEDA has no X-Scope-OrgID of its own either.
//
// Deliberate differences from KEDA (docs/compatibility.md):
// - Every authModes value is applied (http/auth.h): `apiKey` and `oauth` (a client-credentials
//   token, fetched, cached and refreshed) are sent, and `custom` is sent next to bearer or
//   basic. KEDA validates them and sends nothing.
// - A sample value that is not a string is an error. KEDA panics on a number and reads null as
//   -1 without error (metric 0, inactive). A scalar or string result is an error that says so
//   (KEDA: a JSON decoding error).
// - `ca` is trusted whenever given; KEDA uses it only when some authModes value is set. As in
//   KEDA, `tls` or `ca` turn certificate verification on regardless of `unsafeSsl`.
// - The namespace is query-escaped and queryParameters go in key order.
// - Cloud identities (Azure, Google and Amazon Managed Prometheus) are refused when parsed,
//   naming the parameter that asks for them; KEDA signs or authorises the request with the
//   operator's cloud credentials. A podIdentity in the TriggerAuthentication is refused by the
//   auth resolution (api/auth.h), before the scaler sees it.
// - Errors name the server; a non-2xx answer carries the start of Prometheus' error body.
#include <memory>
#include <optional>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "http/auth.h"
#include "http/client.h"
#include "prometheus/query.h"

namespace ebb::scalers {
namespace prometheus {
namespace {

using params::A;
using params::E;
using params::M;

struct Config : http::AuthParams {
  std::string server_address;
  std::string query;
  std::map<std::string, std::string> query_parameters;
  double threshold = 0;
  double activation_threshold = 0;
  std::string namespace_;
  std::map<std::string, std::string> custom_headers;
  bool ignore_null_values = true;
  bool unsafe_ssl = false;
  std::chrono::milliseconds timeout{0};
  // Cloud identities: declared so they are known and documented, refused in check_cloud().
  std::string aws_region, identity_owner, aws_role_arn, aws_access_key_id, aws_secret_access_key;
  std::string cloud, azure_resource_url, gcp_credentials, gcp_credentials_file,
      gcp_application_credentials;
};

const params::Table<Config>& table() {
  static const params::Table<Config> instance = [] {
    params::Table<Config> t;
    const params::Options optional{.optional = true};
    t.add(&Config::server_address, "serverAddress", {M});
    t.add(&Config::query, "query", {M});
    t.add(&Config::query_parameters, "queryParameters", {M}, optional);
    t.add(&Config::threshold, "threshold", {M});
    t.add(&Config::activation_threshold, "activationThreshold", {M}, {.default_value = "0"});
    t.add(&Config::namespace_, "namespace", {M}, optional);
    t.add(&Config::custom_headers, "customHeaders", {M}, optional);
    t.add(&Config::ignore_null_values, "ignoreNullValues", {M}, {.default_value = "true"});
    t.add(&Config::unsafe_ssl, "unsafeSsl", {M}, {.default_value = "false"});
    t.add(&Config::timeout, "timeout", {M}, optional);
    http::add_auth_params(t);
    t.add(&Config::aws_region, "awsRegion", {M, A}, optional);
    t.add(&Config::identity_owner, "identityOwner", {M}, optional);
    t.add(&Config::aws_role_arn, "awsRoleArn", {A}, optional);
    t.add(&Config::aws_access_key_id, "awsAccessKeyID;awsAccessKeyId", {M, A, E}, optional);
    t.add(&Config::aws_secret_access_key, "awsSecretAccessKey", {A, E},
          {.optional = true, .secret = true});
    t.add(&Config::cloud, "cloud", {M}, optional);
    t.add(&Config::azure_resource_url, "azureManagedPrometheusResourceURL", {M}, optional);
    // `credentialsFromEnv` names a container variable holding the JSON key.
    t.add(&Config::gcp_credentials, "credentials", {E}, {.optional = true, .secret = true});
    t.add(&Config::gcp_credentials_file, "credentialsFromEnvFile", {M}, optional);
    t.add(&Config::gcp_application_credentials, "GoogleApplicationCredentials", {A},
          {.optional = true, .secret = true});
    return t;
  }();
  return instance;
}

// What KEDA would authorise with a cloud identity (its §4.7 activation conditions).
void check_cloud(const TriggerContext& ctx, const Config& c, FieldErrors& errors) {
  const auto refuse = [&](std::string path, const std::string& what) {
    errors.push_back({std::move(path), what + " is not supported by Ebb"});
  };
  const std::string aws = "Amazon Managed Prometheus authentication (AWS SigV4)";
  const std::string gcp = "Google Managed Prometheus authentication (GCP credentials)";
  const std::string azure = "Azure Managed Prometheus authentication";
  if (!c.identity_owner.empty() && c.identity_owner != "pod")
    refuse("metadata.identityOwner", "identityOwner " + ebb::quoted(c.identity_owner) +
                                         " asks for " + aws +
                                         " with the operator's credentials, which");
  if (!c.aws_role_arn.empty()) refuse("authParams.awsRoleArn", aws);
  if (!c.aws_access_key_id.empty())
    refuse(params::path_of(ctx, "awsAccessKeyID;awsAccessKeyId", {M, A, E}), aws);
  else if (!c.aws_secret_access_key.empty())
    refuse(params::path_of(ctx, "awsSecretAccessKey", {A, E}), aws);
  if (!c.cloud.empty()) refuse("metadata.cloud", azure);
  if (!c.azure_resource_url.empty()) refuse("metadata.azureManagedPrometheusResourceURL", azure);
  // Checked as written: offline (`ebb validate`) the variable it names may be unknown.
  if (auto it = ctx.metadata.find("credentialsFromEnv");
      it != ctx.metadata.end() && !trim(it->second).empty())
    refuse("metadata.credentialsFromEnv", gcp);
  if (!c.gcp_credentials_file.empty()) refuse("metadata.credentialsFromEnvFile", gcp);
  if (!c.gcp_application_credentials.empty())
    refuse("authParams.GoogleApplicationCredentials", gcp);
}

class PrometheusScaler final : public Scaler {
 public:
  PrometheusScaler(std::shared_ptr<net::HttpClient> client, const Config& c,
                   std::optional<http::Authenticator> auth)
      : client_(std::move(client)),
        query_{c.server_address, c.query, c.namespace_, c.query_parameters},
        headers_(c.custom_headers),
        ignore_null_values_(c.ignore_null_values),
        activation_(c.activation_threshold),
        timeout_(http::effective_timeout(c.timeout)),
        auth_(std::move(auth)),
        where_("prometheus " + net::redact_url(c.server_address) + "/api/v1/query: ") {}

  Result<PollResult> poll() override {
    net::HttpRequest request;
    request.url = query_url(query_, std::chrono::system_clock::now());
    request.timeout = timeout_;
    for (const auto& [name, value] : headers_) request.headers.emplace_back(name, value);
    if (auth_)
      if (auto applied = auth_->apply(request, *client_, timeout_); !applied)
        return fail(where_ + applied.error().message, applied.error().transient);
    auto response = client_->send(request);
    if (!response) return fail(where_ + response.error().message, true);
    if (response->status == 401 && auth_) auth_->unauthorized();
    auto value = read_answer(response->status, response->body, query_.query, ignore_null_values_);
    if (!value) return fail(where_ + value.error().message, value.error().transient);
    return PollResult{*value, *value > activation_};
  }

 private:
  std::shared_ptr<net::HttpClient> client_;
  const Query query_;
  const std::map<std::string, std::string> headers_;
  const bool ignore_null_values_;
  const double activation_;
  const std::chrono::milliseconds timeout_;
  std::optional<http::Authenticator> auth_;
  const std::string where_;
};

// KEDA: `tls` or `ca` replace the transport with one that verifies (unsafeSsl is dropped).
net::TlsOptions tls_of(const Config& c) {
  if (c.has_mode("tls") || !c.ca.empty()) return http::auth_tls(c, net::TlsOptions{});
  net::TlsOptions tls;
  tls.insecure_skip_verify = c.unsafe_ssl;
  return tls;
}

class PrometheusTrigger final : public TriggerConfig {
 public:
  PrometheusTrigger(Config config, MetricSpec spec)
      : config_(std::move(config)), spec_(std::move(spec)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override {
    return "prometheus " + net::redact_url(config_.server_address);
  }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    auto client = pools.get<http::Clients>().get(tls_of(config_));
    return std::unique_ptr<Scaler>(std::make_unique<PrometheusScaler>(
        std::move(client), config_, http::authenticator_for(config_, pools)));
  }

 private:
  Config config_;
  MetricSpec spec_;
};

ParseResult parse(const TriggerContext& ctx) {
  Config c;
  FieldErrors errors = table().parse(ctx, c);
  if (!errors.empty()) return unexpected(std::move(errors));
  errors = http::validate_auth(ctx, c);
  check_cloud(ctx, c, errors);
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec =
      external_metric(ctx, "prometheus", c.threshold, c.activation_threshold, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<PrometheusTrigger>(std::move(c), std::move(spec)));
}

}  // namespace
}  // namespace prometheus

void register_prometheus_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"prometheus"},
                                .keda_name = "prometheusScaler",
                                .summary = "the value of a PromQL query (one sample)",
                                .parse = prometheus::parse}
                   .with_table(prometheus::table()));
}

}  // namespace ebb::scalers
