// The adapter's data plane (engine.h) against real components: redis-server for the triggers,
// the in-process test API server with the keda.sh CRDs from crds/, the real PollScheduler and
// KubeActuator. Time that matters to decisions (freshness, cooldown) is driven through
// EngineOptions::now instead of sleeping.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ebb/adapter/actuator.h"
#include "ebb/adapter/engine.h"
#include "ebb/adapter/scheduler.h"
#include "ebb/api/decode.h"
#include "ebb/cluster/resources.h"
#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/strings.h"
#include "ebb/time.h"
#include "support.h"
#include "test_apiserver.h"

namespace {

using namespace std::chrono_literals;
using ebb::adapter::MetricQuery;
using json = nlohmann::json;
namespace fs = std::filesystem;
namespace adapter = ebb::adapter;
namespace kube = ebb::kube;

fs::path source_root() { return ebb::test::source_dir(); }


bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> offset_ms = std::make_shared<std::atomic<std::int64_t>>(0);
  adapter::TimePoint base = adapter::Clock::now();
  std::function<adapter::TimePoint()> fn() const {
    return [o = offset_ms, b = base] { return b + std::chrono::milliseconds(o->load()); };
  }
  void advance(std::chrono::milliseconds d) { *offset_ms += d.count(); }
};

struct CountingObserver : adapter::EngineObserver {
  std::mutex mutex;
  std::vector<std::pair<adapter::MetricLabels, bool>> queries;  // labels, failed
  int errors = 0;
  std::vector<std::string> forgotten;
  void scaler_queried(const adapter::MetricLabels& labels, std::optional<double>, bool, bool failed,
                      double) override {
    std::lock_guard lock(mutex);
    queries.emplace_back(labels, failed);
  }
  void object_error(const std::string&, const std::string&) override {
    std::lock_guard lock(mutex);
    ++errors;
  }
  void forget(const std::string& ns, const std::string& name) override {
    std::lock_guard lock(mutex);
    forgotten.push_back(ns + "/" + name);
  }
  std::size_t queries_of(const std::string& name) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& [labels, failed] : queries)
      if (labels.scaled_object == name) ++n;
    return n;
  }
};

// Calls of one command in redis' INFO commandstats ("cmdstat_eval:calls=3,...").
long command_calls(const ebb::test::RedisServer& redis, const std::string& command) {
  std::istringstream in(redis.cli({"INFO", "commandstats"}));
  std::string line;
  const std::string prefix = "cmdstat_" + command + ":calls=";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  return 0;
}

json redis_trigger(std::uint16_t port, const std::string& list, const std::string& name = "") {
  json t = {{"type", "redis"},
            {"metadata", {{"address", "127.0.0.1:" + std::to_string(port)}, {"listName", list}, {"listLength", "5"}}}};
  if (!name.empty()) t["name"] = name;
  return t;
}

// The test API server with the keda.sh CRDs, a namespace of the test's own, and the engine's
// collaborators. Declared in destruction order: the engine goes before the scheduler.
struct Env {
  ebb::testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  std::string ns;
  ebb::scalers::ConnectionPools pools;
  adapter::PollScheduler scheduler;
  std::unique_ptr<adapter::KubeActuator> actuator;
  CountingObserver observer;
  ManualClock clock;
  // A test's own registry outlives the engine that polls through it.
  std::unique_ptr<ebb::scalers::Registry> registry;
  std::unique_ptr<adapter::Engine> engine;

  Env() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed("test-token");
    client = std::make_unique<kube::Client>(config);
    install_crds();
    ns = ebb::test::unique_name("engine");
    auto created = client->create(kube::resources::namespaces(),
                                  json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    if (!created) FAIL("create namespace: " << created.error().message);
    actuator = std::make_unique<adapter::KubeActuator>(*client, adapter::KubeActuatorOptions{});
  }
  ~Env() {
    engine.reset();
    scheduler.stop();
  }

  void install_crds() {
    for (const auto& entry : fs::directory_iterator(source_root() / "crds")) {
      if (entry.path().extension() != ".yaml") continue;
      const std::string text = ebb::test::read_file(entry.path().string());
      // One document per file, possibly after a leading "---".
      std::string body = text.rfind("---", 0) == 0 ? text.substr(text.find('\n') + 1) : text;
      auto doc = ebb::api::yaml_to_json(body);
      if (!doc) FAIL("cannot parse " << entry.path().filename().string());
      if (doc->value("kind", "") != "CustomResourceDefinition") continue;
      auto created = client->create(kube::resources::custom_resource_definitions(), *doc);
      if (!created) FAIL("install " << entry.path().filename().string() << ": " << created.error().message);
    }
    REQUIRE(eventually([&] {
      auto rest = client->rest().call({.method = "GET", .path = "/apis/keda.sh/v1alpha1"});
      return rest.ok() && rest->body.find("\"scaledobjects\"") != std::string::npos &&
             rest->body.find("\"triggerauthentications\"") != std::string::npos;
    }));
  }

  void start(adapter::EngineOptions options = {}) {
    options.now = clock.fn();
    engine = std::make_unique<adapter::Engine>(
        adapter::EngineDeps{*client, pools, scheduler, *actuator, &observer}, options);
  }

  json create(const kube::Resource& resource, json object) {
    object["metadata"]["namespace"] = ns;
    auto created = client->create(resource, object);
    if (!created) FAIL("create " << resource.resource << ": " << created.error().message);
    return *created;
  }

  void deployment(const std::string& name, int replicas) {
    const json labels = {{"app", name}};
    create(kube::resources::deployments(),
           {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", labels}}},
              {"template",
               {{"metadata", {{"labels", labels}}},
                {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "registry.k8s.io/pause:3.9"}}})}}}}}}}});
  }

  int replicas(const std::string& deployment) {
    auto d = client->get(kube::resources::deployments(), ns, deployment);
    if (!d) FAIL("get deployment: " << d.error().message);
    return (*d)["spec"].value("replicas", -1);
  }

  json scaled_object(const std::string& name, const std::string& target, json triggers, json extra_spec = json::object()) {
    json spec = {{"scaleTargetRef", {{"name", target}}}, {"triggers", std::move(triggers)}};
    spec.update(extra_spec);
    return create(ebb::cluster::scaled_objects(),
                  {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"metadata", {{"name", name}}}, {"spec", spec}});
  }

  json get_so(const std::string& name) {
    auto got = client->get(ebb::cluster::scaled_objects(), ns, name);
    if (!got) FAIL("get ScaledObject: " << got.error().message);
    return *got;
  }

  // What the operator writes once it accepted the object: Ready for the current generation,
  // the target, originalReplicaCount and the metric names. `observed_offset` makes it stale.
  json accept(const std::string& name, const std::vector<std::string>& metric_names, int original_replicas,
              std::int64_t observed_offset = 0) {
    const json so = get_so(name);
    const std::int64_t generation = so["metadata"].value("generation", std::int64_t{1});
    json status = {
        {"conditions", json::array({{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "ScaledObjectReady"},
                                     {"message", "ScaledObject is defined correctly and is ready for scaling"},
                                     {"observedGeneration", generation + observed_offset},
                                     {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})},
        {"originalReplicaCount", original_replicas},
        {"scaleTargetKind", "apps/v1.Deployment"},
        {"scaleTargetGVKR", {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}, {"resource", "deployments"}}},
        {"externalMetricNames", metric_names}};
    kube::PatchOptions options;
    options.subresource = "status";
    auto patched = client->patch(ebb::cluster::scaled_objects(), ns, name, kube::PatchType::merge,
                                 json{{"status", status}}, options);
    if (!patched) FAIL("accept " << name << ": " << patched.error().message);
    return *patched;
  }

  json modify_so(const std::string& name, const std::function<void(json&)>& change) {
    auto written = client->read_modify_write(ebb::cluster::scaled_objects(), ns, name, [&](json& o) {
      change(o);
      return true;
    });
    if (!written) FAIL("update ScaledObject: " << written.error().message);
    return *written;
  }

  ebb::Result<std::vector<adapter::MetricSample>, adapter::MetricError> read(const std::string& metric,
                                                                               const std::string& so) {
    return engine->external_metric(MetricQuery{ns, metric, "scaledobject.keda.sh/name=" + so});
  }

  // Requests that changed something (anything but reads) since the log was last cleared.
  std::vector<ebb::testapi::LoggedRequest> writes() {
    std::vector<ebb::testapi::LoggedRequest> out;
    for (auto& r : server.request_log())
      if (r.method != "GET") out.push_back(r);
    return out;
  }
};

// A ScaledObject name whose scheduled polls sit late in a long interval (after 10 minutes, or in
// the second half of a short one), so a test that counts queries is not disturbed by a scheduled
// poll (the scheduler's phase is a pure function).
std::string late_phase_name(const std::string& ns, const std::string& prefix, std::chrono::seconds interval) {
  for (int i = 0; i < 10000; ++i) {
    const std::string name = prefix + "-" + std::to_string(i);
    if (adapter::stable_phase(ns + "/" + name, interval) > std::min<std::chrono::milliseconds>(600s, interval / 2))
      return name;
  }
  FAIL("no name with a late phase for " << prefix);
  return "";
}

std::string quantity(const ebb::Result<std::vector<adapter::MetricSample>, adapter::MetricError>& r) {
  if (!r) return "error " + std::to_string(r.error().code) + ": " + r.error().message;
  if (r->size() != 1) return "items: " + std::to_string(r->size());
  return r->front().quantity;
}

}  // namespace

TEST_CASE("an HPA read answers the redis list length as a quantity, from the cache while fresh") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  const std::string name = late_phase_name(env.ns, "orders", 3600s);
  env.scaled_object(name, "worker", json::array({redis_trigger(redis.port(), "orders")}), {{"pollingInterval", 3600}});
  const json accepted = env.accept(name, {"s0-redis-orders"}, 1);
  for (int i = 0; i < 7; ++i) redis.cli({"RPUSH", "orders", "job"});
  env.start();
  env.engine->upsert(accepted, false);
  CHECK(env.engine->objects() == 1);
  CHECK(env.engine->active_objects() == 1);

  auto r = env.read("s0-redis-orders", name);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK(r->front().metric_name == "s0-redis-orders");
  CHECK(r->front().quantity == "7");
  CHECK(command_calls(redis, "eval") == 1);

  // Within the HPA sync period the cached value is served, in any case of the metric name.
  std::vector<std::string> push = {"RPUSH", "orders"};
  push.insert(push.end(), 1493, "job");
  redis.cli(push);
  auto cached = env.read("S0-REDIS-ORDERS", name);
  REQUIRE(cached.ok());
  CHECK(cached->front().metric_name == "S0-REDIS-ORDERS");
  CHECK(cached->front().quantity == "7");
  CHECK(command_calls(redis, "eval") == 1);

  // Older than min(pollingInterval, HPA sync period): refreshed.
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "1500");
  CHECK(command_calls(redis, "eval") == 2);

  // Each query was reported with keda-compat §7.1's labels.
  std::lock_guard lock(env.observer.mutex);
  REQUIRE(env.observer.queries.size() == 2);
  const auto& [labels, failed] = env.observer.queries.front();
  CHECK_FALSE(failed);
  CHECK(labels.ns == env.ns);
  CHECK(labels.scaled_object == name);
  CHECK(labels.metric == "s0-redis-orders");
  CHECK(labels.scaler == "redisScaler");
  CHECK(labels.trigger_index == 0);
}

TEST_CASE("with useCachedMetrics a value is served until it is pollingInterval old") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  json trigger = redis_trigger(redis.port(), "orders");
  trigger["useCachedMetrics"] = true;
  const std::string name = late_phase_name(env.ns, "orders", 60s);
  env.scaled_object(name, "worker", json::array({trigger}), {{"pollingInterval", 60}});
  env.start();
  env.engine->upsert(env.accept(name, {"s0-redis-orders"}, 1), false);
  redis.cli({"RPUSH", "orders", "job"});
  CHECK(quantity(env.read("s0-redis-orders", name)) == "1");
  redis.cli({"RPUSH", "orders", "job"});
  env.clock.advance(45s);  // older than the HPA sync period, younger than pollingInterval
  CHECK(quantity(env.read("s0-redis-orders", name)) == "1");
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "2");
}

TEST_CASE("HPA reads with a bad selector, an unknown object or an unknown metric are errors") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  env.scaled_object("orders", "worker", json::array({redis_trigger(redis.port(), "orders")}));
  const json accepted = env.accept("orders", {"s0-redis-orders"}, 1);
  env.start();
  env.engine->upsert(accepted, false);

  auto none = env.engine->external_metric(MetricQuery{env.ns, "s0-redis-orders", ""});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == 400);
  CHECK(none.error().message == "scaledObject name is not specified");

  auto other = env.engine->external_metric(MetricQuery{env.ns, "s0-redis-orders", "app=orders"});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == 400);

  auto malformed = env.engine->external_metric(MetricQuery{env.ns, "s0-redis-orders", "scaledobject.keda.sh/name in (a"});
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.error().code == 400);

  auto unknown_object = env.read("s0-redis-orders", "nope");
  REQUIRE_FALSE(unknown_object.ok());
  CHECK(unknown_object.error().code == 404);
  CHECK_THAT(unknown_object.error().message, Catch::Contains("nope"));

  auto other_namespace = env.engine->external_metric(
      MetricQuery{"default", "s0-redis-orders", "scaledobject.keda.sh/name=orders"});
  REQUIRE_FALSE(other_namespace.ok());
  CHECK(other_namespace.error().code == 404);

  auto unknown_metric = env.read("s0-redis-other", "orders");
  REQUIRE_FALSE(unknown_metric.ok());
  CHECK(unknown_metric.error().code == 404);
  CHECK_THAT(unknown_metric.error().message, Catch::StartsWith("no matching metrics found for s0-redis-other"));

  // No scalingModifiers: composite-metric is just another unknown name.
  auto composite = env.read("composite-metric", "orders");
  REQUIRE_FALSE(composite.ok());
  CHECK(composite.error().code == 404);
}

TEST_CASE("a stopped redis is an error, never 0, and its fallback is served after failureThreshold") {
  Env env;
  ebb::test::RedisServer::Options redis_options;
  redis_options.password = "s3cret-redis-pw";
  ebb::test::RedisServer redis(redis_options);
  env.deployment("worker", 2);
  env.create(kube::resources::secrets(), {{"apiVersion", "v1"},
                                          {"kind", "Secret"},
                                          {"metadata", {{"name", "redis-pw"}}},
                                          {"data", {{"password", ebb::base64_encode("s3cret-redis-pw")}}}});
  env.create(ebb::cluster::trigger_authentications(),
             {{"apiVersion", "keda.sh/v1alpha1"},
              {"kind", "TriggerAuthentication"},
              {"metadata", {{"name", "redis-auth"}}},
              {"spec", {{"secretTargetRef", json::array({{{"parameter", "password"}, {"name", "redis-pw"}, {"key", "password"}}})}}}});
  json trigger = redis_trigger(redis.port(), "orders");
  trigger["authenticationRef"] = {{"name", "redis-auth"}};
  const std::string name = late_phase_name(env.ns, "orders", 3600s);
  env.scaled_object(name, "worker", json::array({trigger}),
                    {{"pollingInterval", 3600}, {"fallback", {{"failureThreshold", 2}, {"replicas", 4}}}});
  const json accepted = env.accept(name, {"s0-redis-orders"}, 2);
  for (int i = 0; i < 3; ++i) redis.cli({"RPUSH", "orders", "job"});
  env.start();
  env.engine->upsert(accepted, false);

  CHECK(quantity(env.read("s0-redis-orders", name)) == "3");

  redis.stop();
  for (int failure = 1; failure <= 2; ++failure) {
    env.clock.advance(16s);
    auto r = env.read("s0-redis-orders", name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 500);
    CHECK_THAT(r.error().message, Catch::StartsWith("metric:s0-redis-orders encountered error"));
    CHECK_THAT(r.error().message, Catch::Contains(name));
    CHECK_THAT(r.error().message, !Catch::Contains("s3cret"));
  }
  // The third failure is more than failureThreshold (2): target 5 x 4 replicas.
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "20");
  // The reads counted health and the refresh polls wrote it; nothing scaled in.
  CHECK(eventually([&] {
    const json so = env.get_so(name);
    const json h = so["status"].value("health", json::object()).value("s0-redis-orders", json::object());
    return h.value("numberOfFailures", 0) == 3 && h.value("status", "") == "Failing";
  }));
  CHECK(env.replicas("worker") == 2);

  redis.start();
  for (int i = 0; i < 2; ++i) redis.cli({"RPUSH", "orders", "job"});
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "2");
  CHECK(eventually([&] {
    const json so = env.get_so(name);
    const json h = so["status"].value("health", json::object()).value("s0-redis-orders", json::object());
    return h.value("numberOfFailures", -1) == 0 && h.value("status", "") == "Happy";
  }));
}

TEST_CASE("a trigger whose scaler cannot be built fails its reads, and fallback covers it") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  json trigger = redis_trigger(redis.port(), "orders");
  trigger["authenticationRef"] = {{"name", "does-not-exist"}};
  const std::string name = late_phase_name(env.ns, "orders", 3600s);
  env.scaled_object(name, "worker", json::array({trigger}),
                    {{"pollingInterval", 3600}, {"fallback", {{"failureThreshold", 1}, {"replicas", 3}}}});
  const json accepted = env.accept(name, {"s0-redis-orders"}, 1);
  env.start();
  env.engine->upsert(accepted, false);

  auto r = env.read("s0-redis-orders", name);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 500);
  CHECK_THAT(r.error().message, Catch::Contains("scaler could not be built"));
  CHECK_THAT(r.error().message, Catch::Contains("does-not-exist"));
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "15");
}

TEST_CASE("a trigger that could not be built is built again once its inputs exist") {
  Env env;
  ebb::test::RedisServer::Options redis_options;
  redis_options.password = "late-pw-789";
  ebb::test::RedisServer redis(redis_options);
  env.deployment("worker", 1);
  redis.cli({"RPUSH", "orders", "job"});
  json trigger = redis_trigger(redis.port(), "orders");
  trigger["authenticationRef"] = {{"name", "late-auth"}};
  const std::string name = late_phase_name(env.ns, "orders", 60s);
  env.scaled_object(name, "worker", json::array({trigger}), {{"pollingInterval", 60}});
  env.start();
  env.engine->upsert(env.accept(name, {"s0-redis-orders"}, 1), false);
  auto missing = env.read("s0-redis-orders", name);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("scaler could not be built"));

  env.create(kube::resources::secrets(), {{"apiVersion", "v1"},
                                          {"kind", "Secret"},
                                          {"metadata", {{"name", "late-pw"}}},
                                          {"data", {{"password", ebb::base64_encode("late-pw-789")}}}});
  env.create(ebb::cluster::trigger_authentications(),
             {{"apiVersion", "keda.sh/v1alpha1"},
              {"kind", "TriggerAuthentication"},
              {"metadata", {{"name", "late-auth"}}},
              {"spec", {{"secretTargetRef", json::array({{{"parameter", "password"}, {"name", "late-pw"}, {"key", "password"}}})}}}});
  // Retried at most once per pollingInterval.
  env.clock.advance(16s);
  CHECK_FALSE(env.read("s0-redis-orders", name).ok());
  env.clock.advance(45s);
  CHECK(quantity(env.read("s0-redis-orders", name)) == "1");
}

TEST_CASE("a generation change rebuilds the object's scalers") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  for (int i = 0; i < 2; ++i) redis.cli({"RPUSH", "alpha", "job"});
  for (int i = 0; i < 9; ++i) redis.cli({"RPUSH", "beta", "job"});
  env.scaled_object("orders", "worker", json::array({redis_trigger(redis.port(), "alpha")}), {{"pollingInterval", 3600}});
  env.start();
  env.engine->upsert(env.accept("orders", {"s0-redis-alpha"}, 1), false);
  CHECK(quantity(env.read("s0-redis-alpha", "orders")) == "2");

  env.modify_so("orders", [](json& o) { o["spec"]["triggers"][0]["metadata"]["listName"] = "beta"; });
  const json changed = env.accept("orders", {"s0-redis-beta"}, 1);
  REQUIRE(changed["metadata"].value("generation", 0) == 2);
  env.engine->upsert(changed, true);
  CHECK(quantity(env.read("s0-redis-beta", "orders")) == "9");
  auto old = env.read("s0-redis-alpha", "orders");
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().code == 404);
  CHECK(env.engine->objects() == 1);
}

TEST_CASE("auth_changed rebuilds the objects that reference that authentication") {
  Env env;
  ebb::test::RedisServer::Options redis_options;
  redis_options.password = "right-pw-123";
  ebb::test::RedisServer redis(redis_options);
  env.deployment("worker", 1);
  for (const auto& [secret, password] : {std::pair{"wrong", "wrong-pw-456"}, std::pair{"right", "right-pw-123"}})
    env.create(kube::resources::secrets(), {{"apiVersion", "v1"},
                                            {"kind", "Secret"},
                                            {"metadata", {{"name", secret}}},
                                            {"data", {{"password", ebb::base64_encode(password)}}}});
  auto auth_from = [](const std::string& secret) {
    return json{{"secretTargetRef", json::array({{{"parameter", "password"}, {"name", secret}, {"key", "password"}}})}};
  };
  env.create(ebb::cluster::trigger_authentications(), {{"apiVersion", "keda.sh/v1alpha1"},
                                         {"kind", "TriggerAuthentication"},
                                         {"metadata", {{"name", "redis-auth"}}},
                                         {"spec", auth_from("wrong")}});
  redis.cli({"RPUSH", "orders", "job"});
  json trigger = redis_trigger(redis.port(), "orders");
  trigger["authenticationRef"] = {{"name", "redis-auth"}, {"kind", "TriggerAuthentication"}};
  env.scaled_object("orders", "worker", json::array({trigger}), {{"pollingInterval", 3600}});
  // The process gives the engine its informers' cache to read the object back from; without
  // one the engine keeps each object as text.
  const bool from_cache = GENERATE(false, true);
  INFO("object read back from " << (from_cache ? "the informer's cache" : "the engine's text"));
  std::unique_ptr<kube::Informer> informer;
  kube::CacheView view;
  adapter::EngineOptions options;
  if (from_cache) {
    kube::InformerOptions informer_options;
    informer_options.namespace_name = env.ns;
    informer = std::make_unique<kube::Informer>(*env.client, ebb::cluster::scaled_objects(),
                                                informer_options);
    view.add(&informer->cache());
    informer->start();
    REQUIRE(informer->wait_for_sync(std::chrono::seconds(10)));
    options.scaled_objects = &view;
  }
  env.start(options);
  const json accepted = env.accept("orders", {"s0-redis-orders"}, 1);
  if (from_cache)
    REQUIRE(eventually([&] {
      auto cached = view.find(env.ns + "/orders");
      return cached && kube::resource_version(*cached) == kube::resource_version(accepted);
    }));
  env.engine->upsert(accepted, false);

  auto wrong = env.read("s0-redis-orders", "orders");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == 500);
  CHECK_THAT(wrong.error().message, !Catch::Contains("wrong-pw-456"));

  auto ta = env.client->get(ebb::cluster::trigger_authentications(), env.ns, "redis-auth");
  REQUIRE(ta.ok());
  (*ta)["spec"] = auth_from("right");
  REQUIRE(env.client->update(ebb::cluster::trigger_authentications(), *ta).ok());

  // Other kinds, names or namespaces do not concern this object: still the old credentials.
  env.engine->auth_changed("ClusterTriggerAuthentication", "", "redis-auth");
  env.engine->auth_changed("TriggerAuthentication", "default", "redis-auth");
  env.engine->auth_changed("TriggerAuthentication", env.ns, "other");
  env.clock.advance(16s);
  CHECK_FALSE(env.read("s0-redis-orders", "orders").ok());

  env.engine->auth_changed("TriggerAuthentication", env.ns, "redis-auth");
  env.clock.advance(16s);
  CHECK(quantity(env.read("s0-redis-orders", "orders")) == "1");
}

TEST_CASE("remove stops the object's polls and drops its cache") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  redis.cli({"RPUSH", "orders", "job"});
  env.scaled_object("orders", "worker", json::array({redis_trigger(redis.port(), "orders")}), {{"pollingInterval", 1}});
  const json accepted = env.accept("orders", {"s0-redis-orders"}, 1);
  env.start();
  env.engine->upsert(accepted, true);
  CHECK(env.engine->active_objects() == 1);
  // Polled at once (added after the informers' sync), then every second.
  REQUIRE(eventually([&] { return env.observer.queries_of("orders") >= 2; }, 5s));
  CHECK(quantity(env.read("s0-redis-orders", "orders")) == "1");

  env.engine->remove(accepted);
  CHECK(env.engine->objects() == 0);
  CHECK(env.engine->active_objects() == 0);
  std::this_thread::sleep_for(300ms);  // a poll that was running when it was removed ends
  const auto queries = env.observer.queries_of("orders");
  const auto evals = command_calls(redis, "eval");
  std::this_thread::sleep_for(2500ms);
  CHECK(env.observer.queries_of("orders") == queries);
  CHECK(command_calls(redis, "eval") == evals);
  auto gone = env.read("s0-redis-orders", "orders");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == 404);
  std::lock_guard lock(env.observer.mutex);
  CHECK(env.observer.forgotten == std::vector<std::string>{env.ns + "/orders"});
}

TEST_CASE("concurrent HPA reads of a stale value share one redis query") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  for (int i = 0; i < 4; ++i) redis.cli({"RPUSH", "orders", "job"});
  const std::string name = late_phase_name(env.ns, "orders", 3600s);
  env.scaled_object(name, "worker", json::array({redis_trigger(redis.port(), "orders")}), {{"pollingInterval", 3600}});
  env.start();
  env.engine->upsert(env.accept(name, {"s0-redis-orders"}, 1), false);
  REQUIRE(quantity(env.read("s0-redis-orders", name)) == "4");

  redis.cli({"CONFIG", "RESETSTAT"});
  redis.cli({"RPUSH", "orders", "job"});
  env.clock.advance(16s);
  // Redis holds every command for a while, so all readers arrive while the one refresh waits.
  REQUIRE(redis.cli({"CLIENT", "PAUSE", "700"}) == "OK");
  constexpr int kReaders = 20;
  std::latch go(kReaders);
  std::vector<std::string> answers(kReaders);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i)
    readers.emplace_back([&, i] {
      go.arrive_and_wait();
      answers[i] = quantity(env.read("s0-redis-orders", name));
    });
  for (auto& t : readers) t.join();
  for (const auto& a : answers) CHECK(a == "5");
  CHECK(command_calls(redis, "eval") == 1);
}

TEST_CASE("activation from 0 and deactivation after the cooldown go through the KubeActuator") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 0);
  const std::string name = late_phase_name(env.ns, "orders", 3600s);
  env.scaled_object(name, "worker", json::array({redis_trigger(redis.port(), "orders")}),
                    {{"pollingInterval", 3600}, {"cooldownPeriod", 300}, {"minReplicaCount", 0}});
  const json accepted = env.accept(name, {"s0-redis-orders"}, 0);
  env.start();
  env.engine->upsert(accepted, false);
  const std::string key = env.ns + "/" + name;

  // Nothing to do yet: empty list, target at 0.
  env.server.clear_request_log();
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 0);

  for (int i = 0; i < 3; ++i) redis.cli({"RPUSH", "orders", "job"});
  env.server.clear_request_log();
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 1);
  bool scale_written = false;
  for (const auto& r : env.writes())
    if ((r.method == "PUT" || r.method == "PATCH") &&
        r.path == "/apis/apps/v1/namespaces/" + env.ns + "/deployments/worker/scale" && r.code == 200)
      scale_written = true;
  CHECK(scale_written);
  const json so = env.get_so(name);
  bool active = false;
  for (const auto& c : so["status"].value("conditions", json::array()))
    if (c.value("type", "") == "Active") active = c.value("status", "") == "True";
  CHECK(active);
  CHECK(so["status"].contains("lastActiveTime"));

  // Drained: within the cooldown it stays, after it the target goes back to 0.
  redis.cli({"DEL", "orders"});
  env.clock.advance(60s);
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 1);
  env.clock.advance(250s);
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 0);
}

// Status writes while active: KEDA stamps lastActiveTime on every active poll; Ebb keeps it in
// memory and writes it when the state changes and every 5 minutes while active, so the
// cooldown still runs from the last active poll.
TEST_CASE(
    "lastActiveTime is written on activation, refreshed every 5 minutes while active, exact on "
    "deactivation") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  // pollingInterval below 5 minutes, so the refresh period is 5 minutes; a late phase keeps the
  // scheduler's own polls (in real time) out of the test's few seconds.
  const std::string name = late_phase_name(env.ns, "busy", 60s);
  env.scaled_object(name, "worker", json::array({redis_trigger(redis.port(), "busy")}),
                    {{"pollingInterval", 60}, {"cooldownPeriod", 300}, {"minReplicaCount", 0}});
  for (int i = 0; i < 3; ++i) redis.cli({"RPUSH", "busy", "job"});
  env.start();
  env.engine->upsert(env.accept(name, {"s0-redis-busy"}, 1), false);
  const std::string key = env.ns + "/" + name;
  auto last_active = [&] {
    return env.get_so(name)["status"].value("lastActiveTime", std::string());
  };
  auto status_writes = [&] {
    int n = 0;
    for (const auto& r : env.writes())
      if (r.method == "PATCH" &&
          r.path.find("/scaledobjects/" + name + "/status") != std::string::npos)
        ++n;
    return n;
  };
  auto now_text = [&] { return ebb::format_rfc3339(env.clock.fn()()); };
  // The informer's copy: the engine learns what it wrote as the informer delivers it.
  auto deliver = [&] { env.engine->upsert(env.get_so(name), false); };

  env.engine->poll(key);  // active: Active=True and lastActiveTime written together
  const std::string first = now_text();
  CHECK(last_active() == first);
  deliver();

  // Active polls within 5 minutes of that write change nothing on the API server.
  env.server.clear_request_log();
  for (int i = 0; i < 9; ++i) {
    env.clock.advance(30s);
    env.engine->poll(key);
  }
  CHECK(status_writes() == 0);
  CHECK(last_active() == first);

  // 300 s after the write: refreshed.
  env.clock.advance(30s);
  env.engine->poll(key);
  CHECK(status_writes() == 1);
  CHECK(last_active() == now_text());
  deliver();

  // Two more active polls (not written), then the queue drains: the status gets the time of the
  // last active poll, which the cooldown runs from.
  env.clock.advance(30s);
  env.engine->poll(key);
  env.clock.advance(30s);
  env.engine->poll(key);
  const std::string last_poll_active = now_text();
  const auto last_active_at = env.clock.fn()();
  redis.cli({"DEL", "busy"});
  env.clock.advance(30s);
  env.engine->poll(key);
  CHECK(last_active() == last_poll_active);
  CHECK(env.replicas("worker") == 1);
  deliver();
  // Cooling down from the last active poll, not from the last write (which was 60 s earlier).
  env.clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(last_active_at + 290s -
                                                                          env.clock.fn()()));
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 1);
  env.clock.advance(15s);
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 0);
}

TEST_CASE(
    "a restarted engine that finds Active=True with an old lastActiveTime waits a full cooldown") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 1);
  const std::string name = late_phase_name(env.ns, "restart", 3600s);
  env.scaled_object(name, "worker", json::array({redis_trigger(redis.port(), "restart")}),
                    {{"pollingInterval", 3600}, {"cooldownPeriod", 300}, {"minReplicaCount", 0}});
  env.accept(name, {"s0-redis-restart"}, 1);
  // What a previous adapter left: active, lastActiveTime written 4 minutes ago (within the
  // refresh period, so the object may have been active until a moment ago).
  const auto now = env.clock.fn()();
  kube::PatchOptions options;
  options.subresource = "status";
  json status = {{"lastActiveTime", ebb::format_rfc3339(now - 240s)},
                 {"conditions", json::array({{{"type", "Ready"},
                                              {"status", "True"},
                                              {"reason", "ScaledObjectReady"},
                                              {"message", "ready"},
                                              {"observedGeneration", 1},
                                              {"lastTransitionTime", "2026-01-01T00:00:00Z"}},
                                             {{"type", "Active"},
                                              {"status", "True"},
                                              {"reason", "ScalerActive"},
                                              {"message", "active"},
                                              {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}};
  auto patched = env.client->patch(ebb::cluster::scaled_objects(), env.ns, name,
                                   kube::PatchType::merge, json{{"status", status}}, options);
  REQUIRE(patched);
  env.start();
  env.engine->upsert(*patched, false);
  const std::string key = env.ns + "/" + name;
  // The list is empty: inactive. 4 minutes + 90 s after the stamp, but only 90 s after the
  // restart: still cooling down.
  env.clock.advance(90s);
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 1);
  env.clock.advance(215s);
  env.engine->poll(key);
  CHECK(env.replicas("worker") == 0);
}

TEST_CASE("until the operator accepted the object the engine neither polls nor writes") {
  Env env;
  ebb::test::RedisServer redis;
  env.deployment("worker", 0);
  for (int i = 0; i < 3; ++i) redis.cli({"RPUSH", "orders", "job"});
  const json created =
      env.scaled_object("orders", "worker", json::array({redis_trigger(redis.port(), "orders")}), {{"pollingInterval", 1}});
  env.start();
  env.server.clear_request_log();

  // No status at all.
  env.engine->upsert(created, true);
  CHECK(env.engine->objects() == 1);
  CHECK(env.engine->active_objects() == 0);
  // Ready, but for an older generation.
  env.engine->upsert(env.accept("orders", {"s0-redis-orders"}, 0, -1), true);
  CHECK(env.engine->active_objects() == 0);
  env.server.clear_request_log();
  std::this_thread::sleep_for(2s);
  CHECK(env.observer.queries_of("orders") == 0);
  CHECK(command_calls(redis, "eval") == 0);
  // Reads are still answered (the HPA only reads metrics of HPAs the operator made) and write nothing.
  CHECK(quantity(env.read("s0-redis-orders", "orders")) == "3");
  CHECK(env.writes().empty());
  CHECK(env.replicas("worker") == 0);

  // Accepted: polled at once, activated.
  env.engine->upsert(env.accept("orders", {"s0-redis-orders"}, 0), true);
  CHECK(env.engine->active_objects() == 1);
  CHECK(eventually([&] { return env.replicas("worker") == 1; }, 5s));

  // Paused: every poll and write stops.
  const json paused = env.modify_so("orders", [](json& o) {
    o["metadata"]["annotations"]["autoscaling.keda.sh/paused"] = "true";
  });
  env.engine->upsert(paused, true);
  CHECK(env.engine->active_objects() == 0);
  std::this_thread::sleep_for(300ms);
  env.server.clear_request_log();
  const auto queries = env.observer.queries_of("orders");
  redis.cli({"DEL", "orders"});
  std::this_thread::sleep_for(2s);
  CHECK(env.observer.queries_of("orders") == queries);
  CHECK(env.writes().empty());

  // Being deleted: the same.
  const json resumed = env.modify_so("orders", [](json& o) { o["metadata"]["annotations"].erase("autoscaling.keda.sh/paused"); });
  env.engine->upsert(resumed, true);
  CHECK(env.engine->active_objects() == 1);
  json deleting = resumed;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  env.engine->upsert(deleting, true);
  CHECK(env.engine->active_objects() == 0);
}

TEST_CASE("the composite metric is the formula over the named triggers' values") {
  Env env;
  ebb::test::RedisServer redis;
  ebb::test::RedisServer stopped;
  stopped.stop();
  env.deployment("worker", 1);
  for (int i = 0; i < 3; ++i) redis.cli({"RPUSH", "la", "job"});
  for (int i = 0; i < 4; ++i) redis.cli({"RPUSH", "lb", "job"});
  const json modifiers = {{"advanced", {{"scalingModifiers", {{"formula", "a + b"}, {"target", "2"}}}}},
                          {"pollingInterval", 3600}};
  env.scaled_object("both", "worker",
                    json::array({redis_trigger(redis.port(), "la", "a"), redis_trigger(redis.port(), "lb", "b")}), modifiers);
  env.scaled_object("broken", "worker",
                    json::array({redis_trigger(redis.port(), "la", "a"), redis_trigger(stopped.port(), "lb", "b")}), modifiers);
  env.start();
  env.engine->upsert(env.accept("both", {"s0-redis-la", "s1-redis-lb"}, 1), false);
  env.engine->upsert(env.accept("broken", {"s0-redis-la", "s1-redis-lb"}, 1), false);

  auto r = env.read("composite-metric", "both");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK(r->front().metric_name == "composite-metric");
  CHECK(r->front().quantity == "7");
  CHECK(quantity(env.read("Composite-Metric", "both")) == "7");
  // The triggers' own metrics are still served by name.
  CHECK(quantity(env.read("s1-redis-lb", "both")) == "4");

  // One input failing and no fallback: an error naming it, never a partial sum.
  auto broken = env.read("composite-metric", "broken");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == 500);
  CHECK_THAT(broken.error().message, Catch::StartsWith("metric:composite-metric encountered error"));
  CHECK_THAT(broken.error().message, Catch::Contains("s1-redis-lb"));

  // With a fallback, past failureThreshold: scalingModifiers.target x fallback.replicas.
  json with_fallback = modifiers;
  with_fallback["fallback"] = {{"failureThreshold", 1}, {"replicas", 3}};
  env.scaled_object("covered", "worker",
                    json::array({redis_trigger(redis.port(), "la", "a"), redis_trigger(stopped.port(), "lb", "b")}),
                    with_fallback);
  env.engine->upsert(env.accept("covered", {"s0-redis-la", "s1-redis-lb"}, 1), false);
  CHECK_FALSE(env.read("composite-metric", "covered").ok());
  env.clock.advance(16s);
  CHECK(quantity(env.read("composite-metric", "covered")) == "6");

  // Named triggers are reported under their names.
  std::lock_guard lock(env.observer.mutex);
  bool named = false;
  for (const auto& [labels, failed] : env.observer.queries)
    if (labels.scaled_object == "both" && labels.metric == "s1-redis-lb") named = labels.scaler == "b" && labels.trigger_index == 1;
  CHECK(named);
}

// --- push (ARCHITECTURE.md decision 6) ---------------------------------------------------------

namespace {

// Trigger types of the test's own, so push is tested without a source: "test-push" (push-capable)
// and "test-poll" (poll only), both served by FakeScaler. The test sets the value and activity
// and calls the `changed` the engine handed to watch().
struct FakeWorld {
  std::mutex mutex;
  std::atomic<double> value{0};
  std::atomic<bool> active{false};
  std::atomic<int> polls{0}, watches{0}, stops{0}, destroyed_unstopped{0};
  std::atomic<int> poll_ms{0};    // how long a poll takes
  std::function<void()> changed;  // of the latest watch()

  void push() {
    std::function<void()> c;
    {
      std::lock_guard lock(mutex);
      c = changed;
    }
    REQUIRE(c);
    c();
  }
};

class FakeScaler final : public ebb::scalers::Scaler {
 public:
  explicit FakeScaler(std::shared_ptr<FakeWorld> world) : world_(std::move(world)) {}
  ~FakeScaler() override {
    if (watching_ && !stopped_) ++world_->destroyed_unstopped;
  }
  ebb::Result<ebb::scalers::PollResult> poll() override {
    ++world_->polls;
    if (const int ms = world_->poll_ms.load(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ebb::scalers::PollResult{world_->value.load(), world_->active.load()};
  }
  void watch(std::function<void()> changed) override {
    ++world_->watches;
    watching_ = true;
    std::lock_guard lock(world_->mutex);
    world_->changed = std::move(changed);
  }
  void stop_watch() override {
    if (stopped_) return;
    stopped_ = true;
    ++world_->stops;
  }

 private:
  std::shared_ptr<FakeWorld> world_;
  bool watching_ = false, stopped_ = false;
};

class FakeTrigger final : public ebb::scalers::TriggerConfig {
 public:
  FakeTrigger(ebb::scalers::MetricSpec spec, std::shared_ptr<FakeWorld> world)
      : spec_(std::move(spec)), world_(std::move(world)) {}
  const ebb::scalers::MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "fake"; }
  ebb::Result<std::unique_ptr<ebb::scalers::Scaler>> create_scaler(ebb::scalers::ConnectionPools&) const override {
    return std::unique_ptr<ebb::scalers::Scaler>(std::make_unique<FakeScaler>(world_));
  }

 private:
  ebb::scalers::MetricSpec spec_;
  std::shared_ptr<FakeWorld> world_;
};

std::unique_ptr<ebb::scalers::Registry> fake_registry(const std::shared_ptr<FakeWorld>& world) {
  auto registry = std::make_unique<ebb::scalers::Registry>();
  for (const bool push : {true, false}) {
    const std::string type = push ? "test-push" : "test-poll";
    registry->add(ebb::scalers::ScalerDefinition{
        .types = {type},
        .keda_name = "fakeScaler",
        .summary = "a value the test sets",
        .push = push,
        .parse = [world, type](const ebb::scalers::TriggerContext& ctx) -> ebb::scalers::ParseResult {
          ebb::scalers::MetricSpec spec;
          spec.name = ebb::scalers::metric_name(ctx.index, type);
          spec.target = 1;
          spec.target_quantity = "1";
          return std::unique_ptr<ebb::scalers::TriggerConfig>(std::make_unique<FakeTrigger>(spec, world));
        }});
  }
  return registry;
}

}  // namespace

TEST_CASE("a push activates an object at 0 replicas within a second, not at its next poll (pollingInterval 30)") {
  Env env;
  auto world = std::make_shared<FakeWorld>();
  env.registry = fake_registry(world);
  env.deployment("worker", 0);
  const std::string name = late_phase_name(env.ns, "pushed", 30s);
  env.scaled_object(name, "worker", json::array({{{"type", "test-push"}, {"metadata", json::object()}}}),
                    {{"pollingInterval", 30}, {"minReplicaCount", 0}});
  const json accepted = env.accept(name, {"s0-test-push"}, 0);
  adapter::EngineOptions options;
  options.registry = env.registry.get();
  env.start(options);
  env.engine->upsert(accepted, true);
  // Watched as soon as it is built; polled once at once (a new object), inactive.
  CHECK(world->watches == 1);
  INFO("polls " << world->polls.load());
  REQUIRE(eventually([&] { return world->polls == 1; }, 5s));
  std::this_thread::sleep_for(200ms);
  CHECK(env.replicas("worker") == 0);

  world->value = 4;
  world->active = true;
  const auto pushed = std::chrono::steady_clock::now();
  world->push();
  REQUIRE(eventually([&] { return env.replicas("worker") == 1; }, 5s));
  const auto delay = std::chrono::steady_clock::now() - pushed;
  INFO("activated " << std::chrono::duration_cast<std::chrono::milliseconds>(delay).count() << " ms after the push");
  CHECK(delay < 1s);
  CHECK(world->polls == 2);  // the push's poll; the scheduled one is 30 s away
  CHECK(quantity(env.read("s0-test-push", name)) == "4");

  // Pushes while a poll is going on or queued do not pile up: at most one more run. The polls
  // take 300 ms, so the burst surely lands while the first of them runs, however slow the build.
  world->poll_ms = 300;
  for (int i = 0; i < 20; ++i) world->push();
  std::this_thread::sleep_for(1500ms);
  CHECK(world->polls >= 3);
  CHECK(world->polls <= 4);
}

TEST_CASE("without pushes (a broken push path) the object is polled as scheduled") {
  Env env;
  auto world = std::make_shared<FakeWorld>();
  env.registry = fake_registry(world);
  env.deployment("worker", 0);
  env.scaled_object("quiet", "worker", json::array({{{"type", "test-push"}, {"metadata", json::object()}}}),
                    {{"pollingInterval", 1}, {"minReplicaCount", 0}});
  const json accepted = env.accept("quiet", {"s0-test-push"}, 0);
  adapter::EngineOptions options;
  options.registry = env.registry.get();
  env.start(options);
  env.engine->upsert(accepted, true);
  REQUIRE(eventually([&] { return world->polls >= 3; }, 6s));
  world->active = true;
  CHECK(eventually([&] { return env.replicas("worker") == 1; }, 3s));
}

TEST_CASE("watch() when a push-capable scaler is built, stop_watch() when the engine drops it") {
  Env env;
  auto world = std::make_shared<FakeWorld>();
  env.registry = fake_registry(world);
  env.deployment("worker", 1);
  const std::string name = late_phase_name(env.ns, "watched", 3600s);
  env.scaled_object(name, "worker",
                    json::array({{{"type", "test-push"}, {"metadata", json::object()}},
                                 {{"type", "test-poll"}, {"metadata", json::object()}}}),
                    {{"pollingInterval", 3600}});
  adapter::EngineOptions options;
  options.registry = env.registry.get();
  env.start(options);
  env.engine->upsert(env.accept(name, {"s0-test-push", "s1-test-poll"}, 1), false);
  CHECK(world->watches == 1);  // only the push-capable trigger
  CHECK(world->stops == 0);

  // A new generation: the old scaler stops watching, the new one watches.
  const json changed = env.modify_so(name, [](json& o) { o["spec"]["cooldownPeriod"] = 60; });
  env.engine->upsert(env.accept(name, {"s0-test-push", "s1-test-poll"}, 1), false);
  CHECK(world->watches == 2);
  CHECK(world->stops == 1);

  // A push for the rebuilt object polls it (after the poll a rebuild runs at once; a poll of
  // the object queries both triggers).
  REQUIRE(eventually([&] { return world->polls == 2; }, 5s));
  world->push();
  CHECK(eventually([&] { return world->polls == 4; }, 5s));

  env.engine->remove(changed);
  CHECK(world->stops == 2);
  // A late push after removal is harmless.
  world->push();
  env.engine.reset();
  CHECK(world->destroyed_unstopped == 0);
}

TEST_CASE("a push for an object the operator has not accepted yet is kept for its first poll") {
  Env env;
  auto world = std::make_shared<FakeWorld>();
  env.registry = fake_registry(world);
  env.deployment("worker", 0);
  const std::string name = late_phase_name(env.ns, "early", 30s);
  const json created = env.scaled_object(name, "worker", json::array({{{"type", "test-push"}, {"metadata", json::object()}}}),
                                         {{"pollingInterval", 30}, {"minReplicaCount", 0}});
  adapter::EngineOptions options;
  options.registry = env.registry.get();
  env.start(options);
  env.engine->upsert(created, false);
  world->active = true;
  world->push();
  std::this_thread::sleep_for(300ms);
  CHECK(world->polls == 0);  // not accepted: never polled
  // Accepted during the initial sync (first run at its phase), but a push is pending: at once.
  env.engine->upsert(env.accept(name, {"s0-test-push"}, 0), false);
  CHECK(eventually([&] { return env.replicas("worker") == 1; }, 3s));
}
