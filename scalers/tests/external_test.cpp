// Pure tests of the external and external-push scalers: KEDA's parsing table, the connection
// pool key, the ScaledObjectRef sent, metric names with their index, the precedence of float
// over integer fields, the served load, and the poll and push logic against an in-memory
// external::Channels (the gRPC side is covered by integration/external_test.cpp).
#include <catch2/catch.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "external/client.h"
#include "external/metrics.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using namespace std::chrono_literals;

namespace {

TriggerContext trigger(std::string type, Map metadata, Map auth = {}, Map env = {}) {
  TriggerContext c;
  c.type = std::move(type);
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  c.resolved_env = std::move(env);
  c.scaled_object_name = "app";
  c.scaled_object_namespace = "shop";
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

std::vector<std::string> strings(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.str());
  return out;
}

const TriggerConfig& ok(const ParseResult& r) {
  INFO((r ? std::string() : errors_of(r).front()));
  REQUIRE(r.ok());
  return *r.value();
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

// --- an in-memory external scaler -------------------------------------------------------------

struct FakeStream final : external::ActiveStream {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<bool> answers;
  bool ended = false, cancelled = false;
  Result<void> outcome{};

  std::optional<bool> next() override {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return !answers.empty() || ended || cancelled; });
    if (cancelled || answers.empty()) return std::nullopt;
    const bool v = answers.front();
    answers.pop_front();
    return v;
  }
  Result<void> finish() override {
    std::lock_guard lock(mutex);
    if (cancelled) return fail("rpc error: code = Canceled desc = Cancelled");
    return outcome;
  }
  void cancel() override {
    std::lock_guard lock(mutex);
    cancelled = true;
    cv.notify_all();
  }
};

struct FakeChannel final : external::Channel {
  std::string address_ = "scaler:6000";
  std::mutex mutex;
  std::vector<external::MetricSpecEntry> specs;
  std::map<std::string, std::vector<external::MetricValueEntry>> values;
  bool active = false;
  std::optional<Error> spec_error, metrics_error, active_error;
  std::vector<std::string> requested;
  std::vector<external::ScaledObjectRef> refs;
  std::vector<std::shared_ptr<FakeStream>> streams;
  std::condition_variable opened;

  const std::string& address() const override { return address_; }
  Result<std::vector<external::MetricSpecEntry>> get_metric_spec(
      const external::ScaledObjectRef& ref, external::Deadline) override {
    std::lock_guard lock(mutex);
    refs.push_back(ref);
    if (spec_error) return unexpected(*spec_error);
    return specs;
  }
  Result<std::vector<external::MetricValueEntry>> get_metrics(const external::ScaledObjectRef&,
                                                              const std::string& name,
                                                              external::Deadline) override {
    std::lock_guard lock(mutex);
    requested.push_back(name);
    if (metrics_error) return unexpected(*metrics_error);
    return values[name];
  }
  Result<bool> is_active(const external::ScaledObjectRef&, external::Deadline) override {
    std::lock_guard lock(mutex);
    if (active_error) return unexpected(*active_error);
    return active;
  }
  std::unique_ptr<external::ActiveStream> stream_is_active(const external::ScaledObjectRef&,
                                                           std::chrono::milliseconds) override {
    auto s = std::make_shared<FakeStream>();
    {
      std::lock_guard lock(mutex);
      streams.push_back(s);
    }
    opened.notify_all();
    struct Handle final : external::ActiveStream {
      std::shared_ptr<FakeStream> s;
      std::optional<bool> next() override { return s->next(); }
      Result<void> finish() override { return s->finish(); }
      void cancel() override { s->cancel(); }
    };
    auto h = std::make_unique<Handle>();
    h->s = s;
    return h;
  }
  std::shared_ptr<FakeStream> wait_stream(std::size_t n) {
    std::unique_lock lock(mutex);
    opened.wait_for(lock, 10s, [&] { return streams.size() >= n; });
    return streams.size() >= n ? streams[n - 1] : nullptr;
  }
};

struct FakeChannels final : external::Channels {
  std::shared_ptr<FakeChannel> channel = std::make_shared<FakeChannel>();
  std::vector<external::ChannelSettings> asked;
  Result<std::shared_ptr<external::Channel>> get(const external::ChannelSettings& s) override {
    asked.push_back(s);
    return std::shared_ptr<external::Channel>(channel);
  }
  std::size_t size() const override { return 1; }
};

struct Fixture {
  std::shared_ptr<FakeChannels> channels = std::make_shared<FakeChannels>();
  ConnectionPools pools;
  Fixture() { pools.provide<external::Channels>(channels); }
  FakeChannel& server() { return *channels->channel; }
  std::unique_ptr<Scaler> scaler(const std::string& type = "external", std::size_t index = 0) {
    auto c = trigger(type, {{"scalerAddress", "scaler:6000"}, {"queue", "orders"}});
    c.index = index;
    auto parsed = parse(c);
    REQUIRE(parsed.ok());
    auto s = parsed.value()->create_scaler(pools);
    REQUIRE(s.ok());
    return std::move(s).value();
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("external: KEDA's TestExternalScalerParseMetadata table") {
  CHECK(errors_of(parse(trigger("external", {}))) ==
        std::vector<std::string>{"metadata.scalerAddress: missing required parameter "
                                 "\"scalerAddress\" in [triggerMetadata]"});
  const auto r = parse(trigger("external-push",
                               {{"scalerAddress", "myservice"},
                                {"test1", "7"},
                                {"test2", "SAMPLE_CREDS"},
                                {"enableTLS", "true"},
                                {"insecureSkipVerify", "true"}},
                               {{"caCert", "CA PEM"}, {"tlsClientCert", "CERT PEM"}}));
  CHECK(ok(r).endpoint() == "external scaler myservice");
  CHECK(errors_of(parse(trigger("external", {{"test1", "1"}, {"test2", "SAMPLE_CREDS"}}))) ==
        std::vector<std::string>{"metadata.scalerAddress: missing required parameter "
                                 "\"scalerAddress\" in [triggerMetadata]"});
  CHECK(errors_of(parse(trigger("external", {{"scalerAddress", "s:1"}, {"enableTLS", "yes"}}))) ==
        std::vector<std::string>{
            "metadata.enableTLS: must be a boolean (true or false), got \"yes\""});
  CHECK(errors_of(parse(trigger("external", {{"scalerAddress", "s:1"}, {"unsafeSsl", "maybe"}}))) ==
        std::vector<std::string>{
            "metadata.unsafeSsl: must be a boolean (true or false), got \"maybe\""});
}

TEST_CASE("external: one HPA metric per trigger, target 100 (load in percent of the targets)") {
  auto c = trigger("external", {{"scalerAddress", "s:1"}});
  c.index = 3;
  const auto parsed = parse(c);
  const auto& spec = ok(parsed).metric_spec();
  CHECK(spec.name == "s3-external");
  CHECK(spec.target == 100);
  CHECK(spec.target_quantity == "100");
  CHECK(spec.target_type == MetricTargetType::AverageValue);
  c.type = "external-push";
  c.metric_type = "Value";
  const auto parsed_push = parse(c);
  const auto& push = ok(parsed_push).metric_spec();
  CHECK(push.name == "s3-external-push");
  CHECK(push.target_type == MetricTargetType::Value);
}

TEST_CASE("external: definitions, KEDA's scaler names, push") {
  const auto* external = Registry::builtin().find("external");
  const auto* push = Registry::builtin().find("external-push");
  REQUIRE(external);
  REQUIRE(push);
  CHECK(external->keda_name == "externalScaler");
  CHECK(push->keda_name == "externalPushScaler");
  CHECK_FALSE(external->push);
  CHECK(push->push);
}

TEST_CASE("external: metadata keys are forwarded, so none is unknown, and ignored TLS settings warn") {
  const auto& registry = Registry::builtin();
  CHECK(registry.warnings(trigger("external", {{"scalerAddress", "s:1"}, {"anything", "x"}}))
            .empty());
  CHECK(strings(registry.warnings(
            trigger("external", {{"scalerAddress", "s:1"}, {"unsafeSsl", "true"}}))) ==
        std::vector<std::string>{
            "metadata.unsafeSsl: unsafeSsl has no effect without enableTLS, caCert or a client "
            "certificate: the connection is plaintext (as in KEDA)"});
  CHECK(
      registry
          .warnings(trigger(
              "external", {{"scalerAddress", "s:1"}, {"unsafeSsl", "true"}, {"enableTLS", "true"}}))
          .empty());
  CHECK(strings(registry.warnings(
            trigger("external", {{"scalerAddress", "s:1"}}, {{"tlsClientCert", "PEM"}}))) ==
        std::vector<std::string>{
            "authParams.tlsClientCert: tlsClientCert and tlsClientKey only work together; this one "
            "is ignored (as KEDA does)"});
  CHECK(strings(registry.warnings(
            trigger("external", {{"scalerAddress", "s:1"}}, {{"tlsClientKey", "PEM"}}))) ==
        std::vector<std::string>{
            "authParams.tlsClientKey: tlsClientCert and tlsClientKey only work together; this one "
            "is ignored (as KEDA does)"});
}

TEST_CASE("external: KEDA's TLS rule and TestGetConnectionPoolKey") {
  CHECK_FALSE(external::use_tls(false, "", "", ""));
  CHECK(external::use_tls(true, "", "", ""));
  CHECK(external::use_tls(false, "CA", "", ""));
  CHECK(external::use_tls(false, "", "C", "K"));
  CHECK_FALSE(external::use_tls(false, "", "C", ""));  // a lone certificate: plaintext, as KEDA

  external::ChannelSettings base{"myservice:6000", true, false, "ca", "cert", "key"};
  auto with = [&](auto change) {
    auto s = base;
    change(s);
    return s.key();
  };
  CHECK(base.key() == with([](auto&) {}));
  CHECK(base.key() != with([](auto& s) { s.tls = false; }));
  CHECK(base.key() != with([](auto& s) { s.ca_pem = "other"; }));
  CHECK(base.key() != with([](auto& s) { s.cert_pem = "other"; }));
  CHECK(base.key() != with([](auto& s) { s.key_pem = "other"; }));
  CHECK(base.key() != with([](auto& s) { s.unsafe_ssl = true; }));
  CHECK(base.key() != with([](auto& s) { s.address = "other:6000"; }));
  // Length-prefixed: no choice of values makes two settings one key.
  CHECK(external::ChannelSettings{"a", false, false, "bc", "", ""}.key() !=
        external::ChannelSettings{"ab", false, false, "c", "", ""}.key());
}

TEST_CASE(
    "external: the ScaledObjectRef carries every metadata entry, FromEnv resolved, no auth "
    "params") {
  auto c = trigger("external",
                   {{"scalerAddress", "s:1"},
                    {"threshold", " 10 "},
                    {"passwordFromEnv", "PW"},
                    {"tokenFromEnv", "MISSING"},
                    {"emptyFromEnv", "EMPTY"}},
                   {{"caCert", "CA"}}, {{"PW", "secret"}, {"EMPTY", ""}});
  const auto ref = external::scaled_object_ref(c);
  CHECK(ref.name == "app");
  CHECK(ref.ns == "shop");
  CHECK(ref.scaler_metadata ==
        Map{{"scalerAddress", "s:1"}, {"threshold", " 10 "}, {"passwordFromEnv", "secret"}});
}

TEST_CASE("external: metric names with the trigger index (KEDA's helpers and their errors)") {
  CHECK(external::metric_name_with_index(0, "queue-len") == "s0-queue-len");
  CHECK(external::metric_name_with_index(12, "a.b") == "s12-a.b");  // not normalised, as KEDA
  CHECK(*external::remove_index_from_metric_name(0, "s0-queue-len") == "queue-len");
  CHECK(*external::remove_index_from_metric_name(1, "s1-a-b-c") == "a-b-c");
  CHECK(external::remove_index_from_metric_name(0, "queue").error().message ==
        "metric name without index prefix");
  CHECK(external::remove_index_from_metric_name(1, "s0-queue").error().message ==
        "metric name contains incorrect index prefix");
}

TEST_CASE("external: float fields win when > 0 (TestConvertMetricSpecResponse and GetMetrics)") {
  CHECK(external::spec_target({"metric-a", 50, 0}) == 50);
  CHECK(external::spec_target({"metric-b", 0, 1.5}) == 1.5);
  CHECK(external::spec_target({"metric-c", 7, 2.5}) == 2.5);
  CHECK(external::spec_target({"metric-d", 7, -1}) == 7);
  CHECK(external::spec_target({"metric-e", 0, 0.0004}) ==
        0);  // thousandths, as the HPA target reads
  CHECK(external::served_value({"m", 3, 0}) == 3);
  CHECK(external::served_value({"m", 3, 2.5}) == 2.5);
  CHECK(external::served_value({"m", -4, 0}) == 0);
  CHECK(external::served_value({"m", 5, -2}) == 5);
  CHECK(external::served_value({"m", 0, 1.23456}) == Approx(1.235));
}

TEST_CASE("external: the load in percent of the targets, and what is an error") {
  using R = external::MetricReading;
  CHECK(*external::load_percent({R{"s0-q", 10, {{"q", 25, 0}}}}) == Approx(250));
  // Values of one metric add up, as the HPA sums the items of an external metric.
  CHECK(*external::load_percent({R{"s0-q", 10, {{"q", 2, 0}, {"q", 3, 0}}}}) == Approx(50));
  // The most loaded metric decides, as the HPA takes the largest proposal.
  CHECK(*external::load_percent({R{"s0-a", 10, {{"a", 5, 0}}}, R{"s0-b", 4, {{"b", 3, 0}}}}) ==
        Approx(75));
  CHECK(*external::load_percent({R{"s0-q", 1.5, {{"q", 0, 0}}}}) == 0);
  CHECK(external::load_percent({}).error().message == "got empty metric spec");
  CHECK(external::load_percent({R{"s0-q", 0, {{"q", 1, 0}}}}).error().message ==
        "metric s0-q has target 0 (GetMetricSpec); an HPA target must be greater than 0");
  CHECK(external::load_percent({R{"s0-q", -2, {{"q", 1, 0}}}}).error().message ==
        "metric s0-q has target -2 (GetMetricSpec); an HPA target must be greater than 0");
  CHECK(external::load_percent({R{"s0-q", 10, {}}}).error().message ==
        "GetMetrics returned no value for metric s0-q");
}

TEST_CASE(
    "external: a poll asks GetMetricSpec, GetMetrics per spec without the index, then IsActive") {
  Fixture f;
  f.server().specs = {{"queue", 10, 0}, {"rate", 0, 2.5}};
  f.server().values["queue"] = {{"queue", 7, 0}};
  f.server().values["rate"] = {{"rate", 0, 2.0}};
  f.server().active = true;
  auto scaler = f.scaler("external", 2);
  auto r = scaler->poll();
  REQUIRE(r.ok());
  CHECK(r->value == Approx(80));  // max(7/10, 2/2.5) = 0.8
  CHECK(r->active);
  CHECK(f.server().requested == std::vector<std::string>{"queue", "rate"});
  REQUIRE(f.server().refs.size() == 1);
  CHECK(f.server().refs.front().name == "app");
  CHECK(f.server().refs.front().scaler_metadata.at("queue") == "orders");
  REQUIRE(f.channels->asked.size() == 1);
  CHECK_FALSE(f.channels->asked.front().tls);

  // Activity is IsActive's answer, whatever the value.
  f.server().active = false;
  auto inactive = scaler->poll();
  REQUIRE(inactive.ok());
  CHECK(inactive->value == Approx(80));
  CHECK_FALSE(inactive->active);
  CHECK(f.channels->asked.size() == 1);  // the channel is taken once
}

TEST_CASE("external: every failed call is an error naming the scaler and the call, never 0") {
  Fixture f;
  f.server().specs = {{"queue", 10, 0}};
  f.server().values["queue"] = {{"queue", 7, 0}};
  auto scaler = f.scaler();

  f.server().spec_error = Error{"rpc error: code = Unavailable desc = connection refused", true};
  CHECK(scaler->poll().error().message ==
        "external scaler scaler:6000: GetMetricSpec: rpc error: code = Unavailable desc = "
        "connection refused");
  f.server().spec_error.reset();

  f.server().metrics_error = Error{"rpc error: code = Internal desc = boom", true};
  CHECK(scaler->poll().error().message ==
        "external scaler scaler:6000: GetMetrics(queue): rpc error: code = Internal desc = boom");
  f.server().metrics_error.reset();

  f.server().active_error =
      Error{"rpc error: code = DeadlineExceeded desc = Deadline Exceeded", true};
  CHECK(scaler->poll().error().message ==
        "external scaler scaler:6000: IsActive: rpc error: code = DeadlineExceeded desc = Deadline "
        "Exceeded");
  f.server().active_error.reset();

  f.server().specs.clear();
  CHECK(scaler->poll().error().message ==
        "external scaler scaler:6000: GetMetricSpec/GetMetrics: got empty metric spec");
  f.server().specs = {{"queue", 10, 0}};
  f.server().values["queue"].clear();
  CHECK(scaler->poll().error().message ==
        "external scaler scaler:6000: GetMetricSpec/GetMetrics: GetMetrics returned no value for "
        "metric s0-queue");
}

TEST_CASE(
    "external-push: `true` on StreamIsActive calls changed(), false does not, stop_watch ends it") {
  Fixture f;
  auto scaler = f.scaler("external-push");
  std::mutex mutex;
  std::condition_variable cv;
  int changes = 0;
  scaler->watch([&] {
    std::lock_guard lock(mutex);
    ++changes;
    cv.notify_all();
  });
  auto stream = f.server().wait_stream(1);
  REQUIRE(stream);
  {
    std::lock_guard lock(stream->mutex);
    stream->answers = {false, true, false, true};
    stream->cv.notify_all();
  }
  {
    std::unique_lock lock(mutex);
    CHECK(cv.wait_for(lock, 5s, [&] { return changes == 2; }));
  }
  scaler->stop_watch();
  {
    std::lock_guard lock(stream->mutex);
    CHECK(stream->cancelled);
  }
  std::lock_guard lock(mutex);
  CHECK(changes == 2);
}

TEST_CASE(
    "external-push: a stream that ends is opened again after the backoff, and the poll never "
    "stops") {
  Fixture f;
  f.server().specs = {{"queue", 10, 0}};
  f.server().values["queue"] = {{"queue", 30, 0}};
  auto scaler = f.scaler("external-push");
  std::atomic<int> changes{0};
  scaler->watch([&] { ++changes; });
  auto first = f.server().wait_stream(1);
  REQUIRE(first);
  const auto broken_at = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(first->mutex);
    first->outcome = fail("rpc error: code = Unavailable desc = the test broke it");
    first->ended = true;
    first->cv.notify_all();
  }
  // The push path is down: polls go on.
  auto r = scaler->poll();
  REQUIRE(r.ok());
  CHECK(r->value == Approx(300));
  // Opened again after KEDA's first backoff (2 s), and it works.
  auto second = f.server().wait_stream(2);
  REQUIRE(second);
  CHECK(std::chrono::steady_clock::now() - broken_at >= 1900ms);
  {
    std::lock_guard lock(second->mutex);
    second->answers = {true};
    second->cv.notify_all();
  }
  for (int i = 0; i < 100 && changes == 0; ++i) std::this_thread::sleep_for(50ms);
  CHECK(changes == 1);
  scaler->stop_watch();
}
