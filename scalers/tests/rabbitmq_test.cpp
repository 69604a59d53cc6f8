// Pure tests of the rabbitmq scaler: parameter tables with exact errors (the metadata, auth and
// OAuth2 cases of KEDA's pkg/scalers/rabbitmq_scaler_test.go), vhost/path resolution, the value
// and activity per mode, regex combination, management URLs, AMQP URIs and metric specs.
#include <catch2/catch.hpp>

#include "builtin.h"
#include "ebb/scalers/quantity.h"
#include "rabbitmq/amqp.h"
#include "rabbitmq/config.h"
#include "rabbitmq/queue_stats.h"

using namespace ebb::scalers;
using namespace ebb::scalers::rabbitmq;

namespace {

using Map = std::map<std::string, std::string>;

const Map kEnv = {{"myHostSecret", "amqp://user:sercet@somehost.com:5236/vhost"},
                  {"myUsernameSecret", "user"},
                  {"myPasswordSecret", "Password"}};

TriggerContext context(Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "rabbitmq";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  ctx.resolved_env = kEnv;
  ctx.scaled_object_namespace = "ns";
  ctx.scaled_object_name = "so";
  return ctx;
}

// Every error of the pure step as "path: message"; empty when the trigger is valid.
std::vector<std::string> errors_of(Map metadata, Map auth = {}) {
  auto parsed = parse_config(context(std::move(metadata), std::move(auth)));
  std::vector<std::string> out;
  if (!parsed)
    for (const auto& e : parsed.error()) out.push_back(e.str());
  return out;
}

using Errors = std::vector<std::string>;
const Errors kOk = {};

const std::string kMissingQueue = "metadata.queueName: missing required parameter \"queueName\" in [triggerMetadata]";
const std::string kMissingHost =
    "metadata.host: missing required parameter \"host\" in [triggerMetadata authParams resolvedEnv]";
const std::string kNotHttp = "metadata.mode: protocol amqp not supported; must be HTTP to use trigger mode ";

struct Case {
  Map metadata;
  Errors errors;
  Map auth = {};
};

}  // namespace

TEST_CASE("rabbitmq: metadata cases of KEDA's test table, with exact errors") {
  const std::vector<Case> cases = {
      {{}, {kMissingQueue, kMissingHost}},
      {{{"queueLength", "10"}, {"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}}, kOk},
      {{{"queueLength", "AA"}, {"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}},
       {"metadata.queueLength: must be a number, got \"AA\""}},
      {{{"queueLength", "AA"}, {"queueName", "sample"}},
       {"metadata.queueLength: must be a number, got \"AA\"", kMissingHost}},
      {{{"queueLength", "10"}, {"hostFromEnv", "myHostSecret"}}, {kMissingQueue}},
      {{{"queueLength", "10"}, {"hostFromEnv", "myHostSecret"}}, {kMissingQueue}, {{"host", "myHostSecret"}}},
      // An explicit protocol does not look at the host's scheme.
      {{{"queueLength", "10"}, {"queueName", "sample"}, {"host", "myHostSecret"}, {"protocol", "http"}}, kOk},
      {{{"queueLength", "10"}, {"queueName", "namespace/name"}, {"hostFromEnv", "myHostSecret"}}, kOk},
      {{{"vhostName", "myVhost"}, {"queueName", "namespace/name"}, {"hostFromEnv", "myHostSecret"}}, kOk},
      {{{"vhostName", ""}, {"queueName", "namespace/name"}, {"hostFromEnv", "myHostSecret"}}, kOk},
      {{{"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}}, kOk, {{"protocol", "http"}}},
      {{{"queueName", "sample"}, {"host", "something://"}}, {"metadata.host: unknown host URL scheme: `something`"}},
      {{{"queueName", "sample"}, {"host", "localhost"}}, {"metadata.host: unknown host URL scheme: ``"}},
      {{{"queueName", "sample"}, {"host", "http://"}}, kOk},
      {{{"queueName", "sample"}, {"host", "https://"}}, kOk},
      {{{"queueLength", "10"}, {"mode", "QueueLength"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.queueLength: queueLength is deprecated; use mode and value"}},
      {{{"queueLength", "10"}, {"value", "20"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.queueLength: queueLength is deprecated; use mode and value"}},
      {{{"queueLength", "10"}, {"mode", "QueueLength"}, {"value", "20"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.queueLength: queueLength is deprecated; use mode and value"}},
      {{{"mode", "QueueLength"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.value: value must be specified"}},
      {{{"value", "20"}, {"queueName", "sample"}, {"host", "https://"}}, {"metadata.mode: mode must be specified"}},
      {{{"mode", "QueueLength"}, {"value", "20"}, {"queueName", "sample"}, {"host", "https://"}}, kOk},
      {{{"mode", "Feelings"}, {"value", "20"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.mode: trigger mode Feelings must be one of QueueLength, MessageRate, DeliverGetRate, "
        "PublishedToDeliveredRatio or ExpectedQueueConsumptionTime"}},
      {{{"mode", "QueueLength"}, {"value", "lots"}, {"queueName", "sample"}, {"host", "https://"}},
       {"metadata.value: must be a number, got \"lots\""}},
      {{{"mode", "QueueLength"}, {"value", "20"}, {"queueName", "sample"}, {"host", "amqps://"}}, kOk},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqps://"}},
       {kNotHttp + "MessageRate"}},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqp://"}},
       {kNotHttp + "MessageRate"}},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}}, kOk},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "https://"}}, kOk},
      {{{"mode", "DeliverGetRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqps://"}},
       {kNotHttp + "DeliverGetRate"}},
      {{{"mode", "DeliverGetRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqp://"}},
       {kNotHttp + "DeliverGetRate"}},
      {{{"mode", "PublishedToDeliveredRatio"}, {"value", "1"}, {"queueName", "sample"}, {"host", "amqp://"}},
       {kNotHttp + "PublishedToDeliveredRatio"}},
      {{{"mode", "ExpectedQueueConsumptionTime"}, {"value", "1"}, {"queueName", "sample"}, {"host", "amqp://"}},
       {kNotHttp + "ExpectedQueueConsumptionTime"}},
      {{{"mode", "DeliverGetRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}}, kOk},
      {{{"mode", "DeliverGetRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "https://"}}, kOk},
      {{{"queueName", "sample"}, {"host", "amqps://"}, {"useRegex", "true"}},
       {"metadata.useRegex: configure useRegex=true only with HTTP protocol"}},
      {{{"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"}}, kOk},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"}},
       kOk},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"timeout", "1000"}},
       kOk},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"timeout", "-10"}},
       {"metadata.timeout: must not be negative, got \"-10\""}},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"timeout", "error"}},
       {"metadata.timeout: must be a duration such as \"500ms\", \"30s\" or \"2m\", or an integer number of "
        "milliseconds, got \"error\""}},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqp://"}, {"timeout", "10"}},
       {"metadata.timeout: AMQP protocol doesn't support custom timeouts"}},
      // KEDA checks the timeout only after explicit mode/value; the default mode skips it.
      {{{"queueName", "sample"}, {"host", "amqp://"}, {"timeout", "10"}}, kOk},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"},
        {"pageSize", "100"}},
       kOk},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"},
        {"pageSize", "-1"}},
       {"metadata.pageSize: pageSize should be 1 or greater"}},
      {{{"mode", "DeliverGetRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"},
        {"useRegex", "true"}, {"pageSize", "0"}},
       {"metadata.pageSize: pageSize should be 1 or greater"}},
      {{{"mode", "MessageRate"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"},
        {"pageSize", "a"}},
       {"metadata.pageSize: must be an integer, got \"a\""}},
      {{{"activationValue", "10"}, {"queueLength", "20"}, {"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}},
       kOk},
      {{{"activationValue", "AA"}, {"queueLength", "10"}, {"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}},
       {"metadata.activationValue: must be a number, got \"AA\""}},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "http://"}, {"useRegex", "true"},
        {"excludeUnacknowledged", "true"}},
       kOk},
      {{{"mode", "QueueLength"}, {"value", "1000"}, {"queueName", "sample"}, {"host", "amqp://"}, {"useRegex", "true"},
        {"excludeUnacknowledged", "true"}},
       {"metadata.useRegex: configure useRegex=true only with HTTP protocol",
        "metadata.excludeUnacknowledged: configure excludeUnacknowledged=true only with HTTP protocol"}},
      {{{"queueName", "sample"}, {"host", "https://"}, {"unsafeSsl", "true"}}, kOk},
      {{{"queueName", "sample"}, {"host", "https://"}, {"unsafeSsl", "random"}},
       {"metadata.unsafeSsl: must be a boolean (true or false), got \"random\""}},
      {{{"queueName", "sample"}, {"host", "https://"}, {"protocol", "mqtt"}},
       {"metadata.protocol: must be one of [auto, amqp, http], got \"mqtt\""}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata, cases[i].auth) == cases[i].errors);
  }
}

TEST_CASE("rabbitmq: TLS, credential and OAuth2 auth parameters") {
  const Map meta = {{"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}};
  const Map http = {{"queueName", "sample"}, {"host", "http://localhost:15672"}, {"protocol", "http"}};
  const Map oauth = {{"oauthTokenURI", "https://oauth.example.com/token"},
                     {"clientID", "my-client"},
                     {"clientSecret", "my-secret"}};
  auto with = [](Map base, const Map& extra) {
    base.insert(extra.begin(), extra.end());
    return base;
  };
  const std::vector<Case> cases = {
      {meta, kOk, {{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}}},
      {meta, kOk, {{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}}},
      {meta, kOk, {{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}, {"keyPassword", "keeyPassword"}}},
      {meta, kOk, {{"tls", "enable"}, {"ca", "caaa"}}},
      {meta, {"authParams.cert: both key and certificate must be provided"}, {{"tls", "enable"}, {"ca", "caaa"}, {"key", "kee"}}},
      {meta, {"authParams.key: both key and certificate must be provided"}, {{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}}},
      {meta, {"authParams.tls: must be one of [enable, disable], got \"yes\""},
       {{"tls", "yes"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "kee"}}},
      {meta, kOk, {{"username", "user"}, {"password", "PASSWORD"}}},
      {meta, {"authParams.password: username and password must be given together"}, {{"username", "user"}}},
      {meta, {"authParams.username: username and password must be given together"}, {{"password", "PASSWORD"}}},
      {meta, kOk, {{"vhostName", "myVhost"}}},
      {meta, kOk, {{"vhostName", ""}}},
      {with(meta, {{"usernameFromEnv", "myUsernameSecret"}, {"passwordFromEnv", "myPasswordSecret"}}), kOk},
      {with(meta, {{"usernameFromEnv", "myUsernameSecret"}}),
       {"authParams.password: username and password must be given together"}},
      {with(meta, {{"passwordFromEnv", "myPasswordSecret"}}),
       {"authParams.username: username and password must be given together"}},
      {with(meta, {{"protocol", "http"}}), kOk, {{"workloadIdentityResource", "rabbitmq-resource-id"}}},
      {with(meta, {{"protocol", "amqp"}}),
       {"authParams.workloadIdentityResource: workload identity is not supported for the AMQP protocol at the moment"},
       {{"workloadIdentityResource", "rabbitmq-resource-id"}}},
      {http, kOk, oauth},
      {with(http, {{"host", "https://localhost:15672"}}), kOk, with(oauth, {{"scopes", "rabbitmq.read,rabbitmq.write"}})},
      {http, kOk, with(oauth, {{"endpointParams", "audience=rabbitmq&resource=api"}})},
      {with(http, {{"host", "https://localhost:15672"}}), kOk, with(oauth, {{"tls", "enable"}, {"ca", "caaa"}})},
      {{{"queueName", "sample"}, {"host", "amqp://localhost:5672"}, {"protocol", "amqp"}},
       {"authParams.clientSecret: OAuth2 authentication is only supported with HTTP protocol, not AMQP"},
       oauth},
      {http,
       {"authParams.clientSecret: OAuth2 authentication cannot be combined with username/password authentication or "
        "Azure Workload Identity"},
       with(oauth, {{"username", "user"}, {"password", "pass"}})},
      {http,
       {"authParams.clientSecret: OAuth2 authentication cannot be combined with username/password authentication or "
        "Azure Workload Identity"},
       with(oauth, {{"workloadIdentityResource", "rabbitmq-resource-id"}})},
      {http,
       {"authParams.oauthTokenURI: OAuth2 requires tokenUrl clientId and clientSecret to be configured in "
        "TriggerAuthentication"},
       {{"clientID", "my-client"}, {"clientSecret", "my-secret"}}},
      {http,
       {"authParams.clientID: OAuth2 requires tokenUrl clientId and clientSecret to be configured in "
        "TriggerAuthentication"},
       {{"oauthTokenURI", "https://oauth.example.com/token"}, {"clientSecret", "my-secret"}}},
      {http,
       {"authParams.clientSecret: OAuth2 requires tokenUrl clientId and clientSecret to be configured in "
        "TriggerAuthentication"},
       {{"oauthTokenURI", "https://oauth.example.com/token"}, {"clientID", "my-client"}}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata, cases[i].auth) == cases[i].errors);
  }
}

TEST_CASE("rabbitmq: secrets never appear in errors") {
  const auto errors = errors_of({{"queueName", "q"}, {"host", "ftp://admin:hunter2@h/"}},
                                {{"username", "u"}, {"key", "PRIVATE"}});
  REQUIRE_FALSE(errors.empty());
  for (const auto& e : errors) {
    CHECK(e.find("hunter2") == std::string::npos);
    CHECK(e.find("PRIVATE") == std::string::npos);
  }
}

TEST_CASE("rabbitmq: a password cut short by an unescaped '/', '?' or '#' is rejected, never echoed") {
  // "user:pa/ss@h": for a URL parser the authority ends at the '/', so the password would be
  // shown as part of the host and path in endpoints and errors. KEDA cannot use such a URL
  // either (Go's url.Parse: invalid port).
  for (const std::string host : {"amqp://user:pa/ss@h:5672/vhost", "amqps://user:pa?ss@h/", "http://user:pa#ss@h:15672/v",
                                 "https://user:p:a/ss@h/"}) {
    INFO(host);
    for (const auto& protocol : {"auto", "amqp", "http"}) {
      const auto errors = errors_of({{"queueName", "q"}, {"host", host}, {"protocol", protocol}});
      REQUIRE(errors.size() == 1);
      CHECK(errors[0] ==
            "metadata.host: the password in the host URL holds an unescaped '/', '?' or '#'; percent-encode it "
            "(e.g. '/' as %2F)");
      CHECK(errors[0].find("ss@") == std::string::npos);
    }
  }
  // An escaped password is fine, and so is a '@' later in the path of an ordinary URL.
  CHECK(errors_of({{"queueName", "q"}, {"hostFromEnv", "myHostSecret"}}) == kOk);
  CHECK(errors_of({{"queueName", "q"}, {"host", "amqp://user:pa%2Fss@h/vhost"}}) == kOk);
  CHECK(errors_of({{"queueName", "q"}, {"host", "http://h:15672/v@host"}}) == kOk);
}

TEST_CASE("rabbitmq: mode and value resolution") {
  auto parsed = parse_config(context({{"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}}));
  REQUIRE(parsed);
  CHECK(parsed->mode == Mode::QueueLength);
  CHECK(parsed->value == 20);
  CHECK(parsed->protocol == Protocol::Amqp);

  parsed = parse_config(context({{"queueName", "s"}, {"queueLength", "7"}, {"host", "https://h"}}));
  REQUIRE(parsed);
  CHECK(parsed->mode == Mode::QueueLength);
  CHECK(parsed->value == 7);
  CHECK(parsed->protocol == Protocol::Http);

  parsed = parse_config(
      context({{"queueName", "s"}, {"mode", "ExpectedQueueConsumptionTime"}, {"value", "2.5"}, {"host", "http://h"}}));
  REQUIRE(parsed);
  CHECK(parsed->mode == Mode::ExpectedQueueConsumptionTime);
  CHECK(parsed->value == 2.5);

  // Explicit protocol wins over the scheme; FromEnv credentials are resolved.
  parsed = parse_config(context({{"queueName", "s"},
                                 {"host", "http://h"},
                                 {"protocol", "amqp"},
                                 {"usernameFromEnv", "myUsernameSecret"},
                                 {"passwordFromEnv", "myPasswordSecret"}}));
  REQUIRE(parsed);
  CHECK(parsed->protocol == Protocol::Amqp);
  CHECK(parsed->username == "user");
  CHECK(parsed->password == "Password");
}

TEST_CASE("rabbitmq: vhost and path from the host URL (KEDA's getVhostAndPathFromURL table)") {
  struct Row {
    std::string raw_path, override_vhost, vhost, path;
  };
  const std::vector<Row> rows = {
      {"myVhost", "", "/myVhost", ""},
      {"%2FmyVhost", "", "/%2FmyVhost", ""},
      {"/", "", "/%2F", ""},
      {"//", "", "/%2F", ""},
      {"/%2F", "", "/%2F", ""},
      {"", "", "/%2F", ""},
      {"sub1/myVhost", "", "/myVhost", "/sub1"},
      {"sub1/", "overridenVhost", "/overridenVhost", "/sub1"},
      {"myVhost", "overridenVhost", "/overridenVhost", ""},
      {"sub1/%2FmyVhost", "", "/%2FmyVhost", "/sub1"},
      {"sub1/", "", "/%2F", "/sub1"},
      {"sub1/", "myVhost", "/myVhost", "/sub1"},
      {"sub1//", "", "/%2F", "/sub1"},
      {"sub1/%2F", "", "/%2F", "/sub1"},
      {"sub1/sub2/myVhost", "", "/myVhost", "/sub1/sub2"},
      {"sub1/sub2/myVhost", "overridenVhost", "/overridenVhost", "/sub1/sub2"},
      {"sub1/sub2/%2FmyVhost", "", "/%2FmyVhost", "/sub1/sub2"},
      {"sub1/sub2/", "", "/%2F", "/sub1/sub2"},
      {"sub1/sub2/", "myVhost", "/myVhost", "/sub1/sub2"},
      {"sub1/myVhost", "overridenVhost", "/overridenVhost", "/sub1"},
      {"sub1/sub2//", "", "/%2F", "/sub1/sub2"},
      {"sub1/sub2/%2F", "", "/%2F", "/sub1/sub2"},
      // A URL path starts with '/'; vhostName is query-escaped ("/" -> "%2F").
      {"/sub1/sub2/vh", "", "/vh", "/sub1/sub2"},
      {"", "/", "/%2F", ""},
      {"", "my vhost", "/my+vhost", ""},
  };
  for (const auto& r : rows) {
    INFO(r.raw_path << " override " << r.override_vhost);
    CHECK(vhost_and_path_from_url(r.raw_path, r.override_vhost) == VhostAndPath{r.vhost, r.path});
  }
}

TEST_CASE("rabbitmq: value and activity per mode") {
  struct Row {
    Mode mode;
    std::int64_t n;
    double p, d, activation, value;
    bool active;
  };
  const std::vector<Row> rows = {
      // QueueLength: n, active iff n > a.
      {Mode::QueueLength, 4, 0, 0, 0, 4, true},
      {Mode::QueueLength, 0, 1.4, 2, 0, 0, false},
      {Mode::QueueLength, 5, 0, 0, 5, 5, false},
      // MessageRate: p, active iff p > a or n > a.
      {Mode::MessageRate, 4, 0, 1.3, 0, 0, true},
      {Mode::MessageRate, 0, 0, 0, 0, 0, false},
      {Mode::MessageRate, 0, 1.4, 0, 0, 1.4, true},
      // DeliverGetRate: d, active iff d > a.
      {Mode::DeliverGetRate, 30, 5, 1, 0, 1, true},
      {Mode::DeliverGetRate, 20, 0, 10, 0, 10, true},
      {Mode::DeliverGetRate, 0, 0, 0, 0, 0, false},
      {Mode::DeliverGetRate, 45, 5.5, 1.5, 2, 1.5, false},
      // PublishedToDeliveredRatio.
      {Mode::PublishedToDeliveredRatio, 10, 4, 2, 0, 2, true},
      {Mode::PublishedToDeliveredRatio, 10, 4, 0, 3, 3, true},  // publishing, nobody consuming
      {Mode::PublishedToDeliveredRatio, 10, 0, 2, 0, 0, false},
      {Mode::PublishedToDeliveredRatio, 10, 1, 2, 1, 0.5, false},
      // ExpectedQueueConsumptionTime (KEDA's vectors, activation 1).
      {Mode::ExpectedQueueConsumptionTime, 0, 0, 0, 1, 0, false},
      {Mode::ExpectedQueueConsumptionTime, 0, 0, 2, 1, 0, false},
      {Mode::ExpectedQueueConsumptionTime, 10, 3, 0, 1, 1, true},
      {Mode::ExpectedQueueConsumptionTime, 10, 3, 2, 1, 5.5, true},
      {Mode::ExpectedQueueConsumptionTime, 4, 0, 2, 1, 1, false},
  };
  for (const auto& r : rows) {
    INFO(to_string(r.mode) << " n=" << r.n << " p=" << r.p << " d=" << r.d << " a=" << r.activation);
    const auto result = evaluate(r.mode, r.n, r.p, r.d, r.activation);
    CHECK(result.value == Approx(r.value));
    CHECK(result.active == r.active);
  }
  // KEDA reports n=10, p=3, d=2 as 5500 milli.
  CHECK(milli_quantity(evaluate(Mode::ExpectedQueueConsumptionTime, 10, 3, 2, 1).value) == "5.500");
}

TEST_CASE("rabbitmq: regex matches combined by sum, avg and max") {
  const std::vector<QueueStats> queues = {{8, 7, 0, 2}, {3, 2, 1.5, 4}};
  auto sum = combine(queues, "sum");
  REQUIRE(sum);
  CHECK(sum->messages == 11);
  CHECK(sum->messages_ready == 9);
  CHECK(sum->publish_rate == 1.5);
  CHECK(sum->deliver_get_rate == 6);

  auto avg = combine(queues, "avg");
  REQUIRE(avg);
  CHECK(avg->messages == 5);  // integer division, as Go's ints
  CHECK(avg->messages_ready == 4);
  CHECK(avg->publish_rate == 0.75);
  CHECK(avg->deliver_get_rate == 3);

  auto max = combine(queues, "max");
  REQUIRE(max);
  CHECK(max->messages == 8);
  CHECK(max->messages_ready == 7);
  CHECK(max->publish_rate == 1.5);
  CHECK(max->deliver_get_rate == 4);

  auto bad = combine(queues, "median");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "operation mode median must be one of sum, avg, max");
  // Nothing matched: zeros, whatever the operation (KEDA never looks at it then).
  auto none = combine({}, "median");
  REQUIRE(none);
  CHECK(none->messages == 0);
}

TEST_CASE("rabbitmq: management API replies") {
  auto one = parse_queue_json(
      R"({"messages": 4, "messages_ready": 3, "messages_unacknowledged": 1,
          "message_stats": {"publish_details": {"rate": 1.4}, "deliver_get_details": {"rate": 0.8}}, "name": "q"})");
  REQUIRE(one);
  CHECK(one->messages == 4);
  CHECK(one->messages_ready == 3);
  CHECK(one->publish_rate == 1.4);
  CHECK(one->deliver_get_rate == 0.8);

  // A queue whose statistics the broker has not collected yet (the first seconds after it was
  // declared, or after a broker restart) has no counts: unknown, not 0 (KEDA reads 0).
  auto fresh = parse_queue_json(R"({"name": "q", "durable": true})");
  REQUIRE_FALSE(fresh);
  CHECK(fresh.error().message ==
        "the management API reports no message count for queue \"q\" yet (statistics not collected yet)");
  CHECK(fresh.error().transient);
  // Rates are absent whenever nothing was published or delivered: those are 0.
  auto idle = parse_queue_json(R"({"messages": 0, "messages_ready": 0})");
  REQUIRE(idle);
  CHECK(idle->publish_rate == 0);
  CHECK(idle->deliver_get_rate == 0);

  CHECK_FALSE(parse_queue_json("<html>"));

  auto list = parse_queue_list_json(
      R"({"items":[{"messages": 4, "messages_ready": 4},{"messages": 2, "messages_ready": 1}], "page_count": 1})");
  REQUIRE(list);
  CHECK(list->size() == 2);
  auto one_fresh = parse_queue_list_json(R"({"items":[{"messages": 4, "messages_ready": 4},{"name": "new"}]})");
  REQUIRE_FALSE(one_fresh);
  CHECK(one_fresh.error().message ==
        "the management API reports no message count for queue \"new\" yet (statistics not collected yet)");
  auto empty = parse_queue_list_json(R"({"items":[]})");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto paged = parse_queue_list_json(R"({"items":[], "filtered_count": 250, "page": 1, "page_count": 3})");
  REQUIRE_FALSE(paged);
  CHECK(paged.error().message == "regex matches more queues than can be recovered at once");
}

TEST_CASE("rabbitmq: management URLs as KEDA builds them") {
  ManagementQuery q;
  q.base_url = "http://127.0.0.1:15672/sub1";
  q.vhost_path = "/%2F";
  q.queue_name = "^evaluate_trials$";
  q.use_regex = true;
  CHECK(q.url() ==
        "http://127.0.0.1:15672/sub1/api/queues/%2F?page=1&use_regex=true&pagination=false&name=%5Eevaluate_trials%24"
        "&page_size=100");
  q.use_regex = false;
  q.queue_name = "namespace/name x";
  CHECK(q.url() == "http://127.0.0.1:15672/sub1/api/queues/%2F/namespace%2Fname+x");
}

TEST_CASE("rabbitmq: AMQP URIs as amqp091-go parses them") {
  auto s = parse_amqp_uri("amqp://user:p%40ss@broker:5673/my%2Fvhost");
  REQUIRE(s);
  CHECK(s->host == "broker");
  CHECK(s->port == 5673);
  CHECK(s->username == "user");
  CHECK(s->password == "p@ss");
  CHECK(s->vhost == "my/vhost");
  CHECK_FALSE(s->tls.enabled);
  CHECK(s->endpoint() == "amqp://broker:5673/my/vhost");
  CHECK(s->connection_name() == "ebb-broker:5673/my/vhost");

  s = parse_amqp_uri("amqps://h");
  REQUIRE(s);
  CHECK(s->port == 5671);
  CHECK(s->tls.enabled);
  CHECK(s->vhost == "/");
  CHECK(s->username == "guest");
  CHECK(s->password == "guest");
  CHECK(s->connection_name() == "ebb-h:5671");

  s = parse_amqp_uri("amqp://");
  REQUIRE(s);
  CHECK(s->host == "localhost");
  CHECK(s->port == 5672);

  s = parse_amqp_uri("amqp://[::1]:5000/%2F");
  REQUIRE(s);
  CHECK(s->host == "::1");
  CHECK(s->port == 5000);
  CHECK(s->vhost == "/");

  auto bad = parse_amqp_uri("http://user:secret@h/");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "AMQP scheme must be either 'amqp://' or 'amqps://'");
  CHECK_FALSE(parse_amqp_uri("amqp://h:99999/"));
}

TEST_CASE("rabbitmq: pool key separates credentials, vhosts and TLS") {
  AmqpSettings a;
  a.host = "h";
  AmqpSettings b = a;
  CHECK(a.identity() == b.identity());
  b.password = "other";
  CHECK(a.identity() != b.identity());
  b = a;
  b.vhost = "v";
  CHECK(a.identity() != b.identity());
  b = a;
  b.tls.enabled = true;
  CHECK(a.identity() != b.identity());
}

TEST_CASE("rabbitmq: metric specs through the registry") {
  Registry registry;
  register_rabbitmq_scaler(registry);

  auto ctx = context({{"queueLength", "10"}, {"queueName", "sample"}, {"hostFromEnv", "myHostSecret"}});
  auto parsed = registry.parse(ctx);
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().name == "s0-rabbitmq-sample");
  CHECK((*parsed)->metric_spec().target == 10);
  CHECK((*parsed)->metric_spec().target_quantity == "10");
  CHECK((*parsed)->metric_spec().target_type == MetricTargetType::AverageValue);
  // The endpoint never shows credentials.
  CHECK((*parsed)->endpoint() == "rabbitmq amqp://somehost.com:5236/vhost");

  ctx = context({{"queueLength", "10"}, {"queueName", "namespace/name"}, {"hostFromEnv", "myHostSecret"}});
  ctx.index = 1;
  parsed = registry.parse(ctx);
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().name == "s1-rabbitmq-namespace-2Fname");

  ctx = context({{"mode", "MessageRate"}, {"value", "1.5"}, {"activationValue", "0.5"}, {"queueName", "q"},
                 {"host", "http://h:15672/"}});
  ctx.metric_type = "Value";
  parsed = registry.parse(ctx);
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().target_quantity == "1.500");
  CHECK((*parsed)->metric_spec().activation_target == 0.5);
  CHECK((*parsed)->metric_spec().target_type == MetricTargetType::Value);

  // Default mode: QueueLength with target 20.
  parsed = registry.parse(context({{"queueName", "q"}, {"host", "amqp://h"}}));
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().target_quantity == "20");

  ctx = context({{"queueName", "q"}, {"host", "amqp://h"}});
  ctx.metric_type = "Utilization";
  CHECK_FALSE(registry.parse(ctx));
}

TEST_CASE(
    "rabbitmq: error messages lose any user:password@, in linear time whatever their length") {
  using ebb::scalers::rabbitmq::anonymize_error;
  CHECK(anonymize_error("dial amqp://guest:s3cret@10.0.0.1:5672/vh: refused") ==
        "dial amqp://user:password@10.0.0.1:5672/vh: refused");
  CHECK(anonymize_error("no credentials here") == "no credentials here");
  // std::regex recursed once per character: a long answer ended the process (SIGSEGV).
  const std::string body(200'000, 'x');
  const std::string masked = anonymize_error("proxy said: " + body + ":pw@host");
  CHECK(masked == "proxy said: user:password@host");
  CHECK(anonymize_error("proxy said: " + body) == "proxy said: " + body);
}
