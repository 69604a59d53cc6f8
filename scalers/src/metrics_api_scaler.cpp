// The `metrics-api` trigger (keda-compat §6.6, KEDA pkg/scalers/metrics_api_scaler.go): a
// number read from an HTTP endpoint the user runs, as JSON (a GJSON path), YAML, XML or the
// Prometheus text format (metrics_api/value.h says which paths each format supports), over a
// kept-alive connection shared per TLS configuration (http::Clients). With
// aggregateFromKubeServiceEndpoints, the URL names a Service: every ready endpoint of its
// EndpointSlices (read from kubernetes::Objects, the adapter's informer cache) is asked, at
// most 5 at a time, and the answers are combined; endpoints that fail are left out, all failing
// is an error.
//
// Deliberate differences from KEDA (docs/compatibility.md):
// - Every authModes value is applied (http/auth.h): `custom` headers and `oauth` (a client-
//   credentials token, cached per credential, fetched again after a 401) are sent; KEDA
//   validates them and sends nothing. `ca` is trusted without `tls` mode too.
// - `format: xml` reads a dotted path of element names (KEDA's always fails: Go cannot decode
//   XML into a map).
// - JSON bodies must be valid JSON; GJSON queries, modifiers and pipes are refused, not guessed.
// - Prometheus selectors apply !=, =~ and !~ (KEDA compares every matcher as equality).
// - A NaN or infinite value is an error in every format (KEDA passes it on).
// - Aggregation: the Service URL's host is split without its port (KEDA reads "svc.ns:8080" as
//   namespace "ns:8080" and finds nothing); IPv6 addresses are bracketed; errors keep their
//   cause (KEDA: "failed to get kubernetes endpoints urls from configured service URL") and name
//   the endpoint.
// - The apiKey query parameter is appended to the URL as written (KEDA re-encodes and sorts the
//   whole query string).
// - Error messages name the URL (scheme, host and path; never the query, which may hold an API
//   key) where KEDA gives the path only.
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/kubernetes.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "http/auth.h"
#include "http/client.h"
#include "metrics_api/endpoints.h"
#include "metrics_api/value.h"

namespace ebb::scalers {
namespace metrics_api {
namespace {

using params::M;

constexpr std::size_t kConcurrentEndpoints = 5;  // KEDA's semaphore

struct Config : http::AuthParams {
  std::optional<double> target_value;
  double activation_target_value = 0;
  std::string url;
  std::string format = "json";
  std::string value_location;
  bool unsafe_ssl = false;
  bool aggregate = false;
  std::string aggregation_type = "average";
  std::chrono::milliseconds timeout{0};
};

const params::Table<Config>& table() {
  static const params::Table<Config> instance = [] {
    params::Table<Config> t;
    t.add(&Config::target_value, "targetValue", {M}, {.optional = true});
    t.add(&Config::activation_target_value, "activationTargetValue", {M}, {.default_value = "0"});
    t.add(&Config::url, "url", {M});
    t.add(&Config::format, "format", {M},
          {.default_value = "json", .one_of = {"prometheus", "json", "xml", "yaml"}});
    t.add(&Config::value_location, "valueLocation", {M});
    t.add(&Config::unsafe_ssl, "unsafeSsl", {M}, {.default_value = "false"});
    t.add(&Config::aggregate, "aggregateFromKubeServiceEndpoints", {M}, {.default_value = "false"});
    t.add(&Config::aggregation_type, "aggregationType", {M},
          {.default_value = "average", .one_of = {"average", "sum", "max", "min"}});
    t.add(&Config::timeout, "timeout", {M}, {.optional = true});
    http::add_auth_params(t);
    return t;
  }();
  return instance;
}

Format format_of(const std::string& f) {
  if (f == "yaml") return Format::Yaml;
  if (f == "xml") return Format::Xml;
  if (f == "prometheus") return Format::Prometheus;
  return Format::Json;
}

// scheme://host[:port]/path: the query may carry an apiKey.
std::string shown_url(const std::string& url) {
  const std::string redacted = net::redact_url(url);
  return redacted.substr(0, redacted.find_first_of("?#"));
}

class MetricsApiScaler final : public Scaler {
 public:
  MetricsApiScaler(std::shared_ptr<net::HttpClient> client, const Config& c,
                   std::optional<http::Authenticator> auth, kubernetes::Objects* objects)
      : client_(std::move(client)),
        config_(c),
        timeout_(http::effective_timeout(c.timeout)),
        auth_(std::move(auth)),
        objects_(objects) {}

  Result<PollResult> poll() override {
    auto value = config_.aggregate ? aggregated() : fetch(config_.url);
    if (!value)
      return fail("error requesting metrics endpoint: " + value.error().message,
                  value.error().transient);
    return PollResult{*value, *value > config_.activation_target_value};
  }

 private:
  Result<double> fetch(const std::string& url) {
    net::HttpRequest request;
    request.url = url;
    request.timeout = timeout_;
    if (auth_)
      if (auto applied = auth_->apply(request, *client_, timeout_); !applied)
        return fail(shown_url(url) + ": " + applied.error().message, applied.error().transient);
    auto response = client_->send(request);
    if (!response) return fail(response.error().message, true);
    if (response->status == 401 && auth_) auth_->unauthorized();
    if (response->status != 200)
      return fail(shown_url(url) + ": api returned " + std::to_string(response->status),
                  response->status >= 500 || response->status == 429 || response->status == 401);
    auto value =
        value_from_response(response->body, config_.value_location, format_of(config_.format));
    if (!value) return fail(shown_url(url) + ": " + value.error().message);
    return value;
  }

  Result<double> aggregated() {
    auto service = parse_service_url(config_.url);
    if (!service)
      return fail("failed to get kubernetes endpoints urls from configured service URL: " +
                  service.error().message);
    auto slices =
        objects_->list(kubernetes::kEndpointSlices, service->namespace_, slice_selector(*service));
    if (!slices)
      return fail("failed to get kubernetes endpoints urls from configured service URL: " +
                      slices.error().message,
                  true);
    const auto urls = endpoint_urls(*service, *slices);
    if (urls.empty())
      return fail("no endpoints URLs were given for the service name (service " +
                      service->namespace_ + "/" + service->service + " has no ready endpoint)",
                  true);

    std::vector<std::optional<Result<double>>> results(urls.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < urls.size(); i = next++) results[i].emplace(fetch(urls[i]));
    };
    std::vector<std::thread> workers;
    for (std::size_t w = 1; w < std::min(kConcurrentEndpoints, urls.size()); ++w)
      workers.emplace_back(work);
    work();
    for (auto& t : workers) t.join();

    std::vector<double> values;
    std::string first_error;
    for (const auto& slot : results) {
      const Result<double>& r = *slot;
      if (r)
        values.push_back(*r);
      else if (first_error.empty())
        first_error = r.error().message;
    }
    if (values.empty())
      return fail("could not get any metric successfully from the " + std::to_string(urls.size()) +
                      " provided endpoints (first error: " + first_error + ")",
                  true);
    return aggregate(values, config_.aggregation_type);
  }

  std::shared_ptr<net::HttpClient> client_;
  const Config config_;
  const std::chrono::milliseconds timeout_;
  std::optional<http::Authenticator> auth_;
  kubernetes::Objects* objects_;  // aggregation only
};

class MetricsApiTrigger final : public TriggerConfig {
 public:
  MetricsApiTrigger(Config config, MetricSpec spec)
      : config_(std::move(config)), spec_(std::move(spec)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "metrics-api " + shown_url(config_.url); }

  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    kubernetes::Objects* objects = nullptr;
    if (config_.aggregate) {
      // The adapter (informers) and `ebb probe` (GETs, or an error without a kubeconfig) provide one.
      try {
        objects = &pools.get<kubernetes::Objects>();
      } catch (const std::logic_error&) {
        return fail(
            "aggregateFromKubeServiceEndpoints reads the Service's EndpointSlices, and this "
            "process has no "
            "view of the cluster (ebb probe cannot aggregate; point url at one endpoint to probe "
            "it)");
      }
    }
    net::TlsOptions base;
    base.insecure_skip_verify = config_.unsafe_ssl;
    auto client = pools.get<http::Clients>().get(http::auth_tls(config_, base));
    return std::unique_ptr<Scaler>(std::make_unique<MetricsApiScaler>(
        std::move(client), config_, http::authenticator_for(config_, pools), objects));
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
  // KEDA: a target is needed unless scalingModifiers combine the triggers; 0 counts as none.
  if (!ctx.as_metric_source && c.target_value.value_or(0) == 0)
    errors.push_back({"metadata.targetValue", "no targetValue given in metadata"});
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, "metric-api-" + c.value_location, c.target_value.value_or(0),
                              c.activation_target_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<MetricsApiTrigger>(std::move(c), std::move(spec)));
}

}  // namespace
}  // namespace metrics_api

void register_metrics_api_scaler(Registry& registry) {
  registry.add(ScalerDefinition{
      .types = {"metrics-api"},
      .keda_name = "metricsAPIScaler",
      .summary = "a number read from an HTTP endpoint (JSON, YAML, XML or Prometheus text)",
      .parse = metrics_api::parse}
                   .with_table(metrics_api::table()));
}

}  // namespace ebb::scalers
