// Trigger type nats-jetstream (keda-compat §6.11, KEDA pkg/scalers/nats_jetstream_scaler.go):
// the lag of a JetStream consumer, num_pending + num_ack_pending, read from the NATS server's
// monitoring endpoint (GET /jsz?acc=<accountID>&config=true&consumers=true). With a clustered
// server the consumer's leader is looked up through /varz and remembered
// (nats/jetstream.h, Monitor). HTTP goes through the shared http::Clients.
//
// Deliberate differences from KEDA (docs/compatibility.md, "nats-jetstream"):
// - A non-2xx answer is an error naming the URL; KEDA ignores the status and decodes the body.
//   A `null` body (KEDA panics) and a member of the wrong type are errors too.
// - A stream that is not in the answer is `stream "<s>" not found in account "<a>"`. KEDA says
//   `consumer "<c>" not found in stream "<s>"` in that case (its scaler starts with an empty
//   stream) and `stream not found` only after a consumer it had seen disappeared; it also keeps
//   serving the lag of a stream it saw once and that later vanished. Ebb reads every answer on
//   its own.
// - The leader lookup survives a server that does not answer, IPv6 and IP addresses in /varz,
//   and tries routes when advertised URLs do not lead to the leader; KEDA stops at the first
//   error and splits URLs at the first ':'. A remembered leader that stops answering is looked
//   up again in the same query (KEDA gets there by rebuilding the scaler after the error).
// - natsServerMonitoringEndpoint must be host[:port] (KEDA puts any text into the URL's host and
//   fails on every request when it holds a path or blanks).
#include <memory>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "http/client.h"
#include "nats/jetstream.h"

namespace ebb::scalers {

namespace {

using namespace params;

struct NatsConfig {
  std::string account;
  std::string account_id;
  std::string stream;
  std::string consumer;
  std::int64_t lag_threshold = 10;
  std::int64_t activation_lag_threshold = 0;
  bool use_https = false;
  std::string endpoint;
};

const Table<NatsConfig>& table() {
  static const Table<NatsConfig> instance = [] {
    Table<NatsConfig> t;
    t.add(&NatsConfig::account, "account", {A, M}, {.optional = true});
    t.add(&NatsConfig::account_id, "accountID", {A, M}, {.optional = true});
    t.add(&NatsConfig::stream, "stream", {M});
    t.add(&NatsConfig::consumer, "consumer", {M});
    t.add(&NatsConfig::lag_threshold, "lagThreshold", {M}, {.default_value = "10"});
    t.add(&NatsConfig::activation_lag_threshold, "activationLagThreshold", {M},
          {.default_value = "0"});
    t.add(&NatsConfig::use_https, "useHttps", {M}, {.default_value = "false"});
    t.add(&NatsConfig::endpoint, "natsServerMonitoringEndpoint", {A, M});
    return t;
  }();
  return instance;
}

// GET with KEDA's HTTP timeout; only a 2xx body counts.
nats::Fetch fetch_with(std::shared_ptr<net::HttpClient> client) {
  return [client = std::move(client)](const std::string& url) -> Result<std::string> {
    net::HttpRequest request;
    request.url = url;
    request.timeout = http::effective_timeout(std::chrono::milliseconds(0));
    auto response = client->send(request);
    if (!response) return fail("GET " + url + ": " + response.error().message, true);
    if (response->status < 200 || response->status > 299)
      return fail("GET " + url + ": HTTP " + std::to_string(response->status) + ": " +
                      http::excerpt(response->body),
                  true);
    return std::move(response->body);
  };
}

class NatsJetStreamScaler final : public Scaler {
 public:
  NatsJetStreamScaler(std::shared_ptr<net::HttpClient> client, nats::Monitor monitor,
                      std::string where, double activation)
      : fetch_(fetch_with(std::move(client))),
        monitor_(std::move(monitor)),
        where_(std::move(where)),
        activation_(activation) {}

  Result<PollResult> poll() override {
    auto lag = monitor_.lag(fetch_);
    if (!lag) return fail(where_ + ": " + lag.error().message, lag.error().transient);
    const auto value = static_cast<double>(*lag);
    return PollResult{value, value > activation_};
  }

 private:
  nats::Fetch fetch_;
  nats::Monitor monitor_;
  std::string where_;
  double activation_;
};

class NatsJetStreamTrigger final : public TriggerConfig {
 public:
  NatsJetStreamTrigger(MetricSpec spec, nats::Target target, nats::MonitoringEndpoint endpoint)
      : spec_(std::move(spec)), target_(std::move(target)), endpoint_(std::move(endpoint)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override {
    return "nats-jetstream " + endpoint_.scheme + "://" + endpoint_.endpoint;
  }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    // KEDA's client: system roots, no client certificate, no unsafeSsl.
    auto client = pools.get<http::Clients>().get(net::TlsOptions{});
    return std::unique_ptr<Scaler>(std::make_unique<NatsJetStreamScaler>(
        std::move(client), nats::Monitor(target_, endpoint_), endpoint(), spec_.activation_target));
  }

 private:
  MetricSpec spec_;
  nats::Target target_;
  nats::MonitoringEndpoint endpoint_;
};

ParseResult parse(const TriggerContext& ctx) {
  NatsConfig c;
  FieldErrors errors = table().parse(ctx, c);
  if (!errors.empty()) return unexpected(std::move(errors));
  if (c.account.empty() && c.account_id.empty())
    errors.push_back({path_of(ctx, "account", {A, M}), "no account name or id given"});
  auto endpoint = nats::parse_endpoint(c.use_https, c.endpoint);
  if (!endpoint)
    errors.push_back({path_of(ctx, "natsServerMonitoringEndpoint", {A, M}),
                      "must be host or host:port (the monitoring port, e.g. nats.nats:8222), got " +
                          ebb::quoted(c.endpoint)});
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec =
      external_metric(ctx, "nats-jetstream-" + c.stream, static_cast<double>(c.lag_threshold),
                      static_cast<double>(c.activation_lag_threshold), TargetForm::Integer);
  nats::Target target{c.account, c.account_id.empty() ? c.account : c.account_id, c.stream,
                      c.consumer};
  return std::unique_ptr<TriggerConfig>(std::make_unique<NatsJetStreamTrigger>(
      std::move(spec), std::move(target), std::move(*endpoint)));
}

}  // namespace

void register_nats_jetstream_scaler(Registry& registry) {
  registry.add(
      ScalerDefinition{.types = {"nats-jetstream"},
                       .keda_name = "natsJetStreamScaler",
                       .summary = "lag of a JetStream consumer (pending + unacknowledged messages)",
                       .parse = parse}
          .with_table(table()));
}

}  // namespace ebb::scalers
