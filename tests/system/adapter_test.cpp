// The real ebb-metrics-adapter process next to the real ebb-operator, against the test API
// server (or a real cluster with EBB_TEST_KUBECONFIG), with real brokers: a redis-server per
// test, the shared RabbitMQ and Kafka mock of tests/servers.sh. Issue 5, "Tests". Every test has
// its own API server or namespace, its own operator (so the hand-off rule, Ready for the current
// generation, is satisfied by the real thing) and its own adapter process(es).
//
// Deadlines here stop a test that would never get there; they are generous on purpose and are
// not speed assertions (activation speed is measured in bench/).
#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "adapter_harness.h"
#include "ebb/cluster/resources.h"
#include "ebb/net/http_client.h"
#include "ebb/strings.h"
#include "external_scaler_server.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace resources = ebb::kube::resources;
namespace test = ebb::test;

namespace {

using SteadyClock = std::chrono::steady_clock;

const auto kScaledObjects = ebb::cluster::scaled_objects();
const auto kDeployments = resources::deployments();
constexpr const char* kIntruder = "system:serviceaccount:kube-system:intruder";
constexpr const char* kLeaseName = "ebb-metrics-adapter.keda.sh";

// An operator and the PKI of the aggregator, per test. The adapter(s) are started by the test.
struct Env {
  Cluster cluster;
  AdapterPki pki;
  OperatorRun op;
  explicit Env(ClusterOptions options = {})
      : cluster(std::move(options)), pki(make_adapter_pki(cluster.dir())), op(cluster) {
    op.require_ready();
  }
};

// Ready=True for the current generation (the hand-off rule's condition) and the metric names.
Object wait_ready_so(Env& env, const std::string& name, std::chrono::milliseconds timeout = 30s) {
  std::optional<Object> so;
  eventually("ScaledObject " + name + " Ready=True for its generation", [&] {
    so = env.cluster.scaled_object(name);
    return is_ready(so);
  }, timeout, &env.op);
  return *so;
}

std::string metric_name_of(const Object& so) {
  const auto names = so["status"].value("externalMetricNames", Object::array());
  if (names.empty()) FAIL("ScaledObject " << so["metadata"].value("name", "") << " has no externalMetricNames");
  return names[0].get<std::string>();
}

std::string lease_holder(Cluster& cluster) {
  auto lease = cluster.get(resources::leases(), kLeaseName);
  if (!lease || !lease->contains("spec")) return "";
  return (*lease)["spec"].value("holderIdentity", "");
}

std::size_t count_lines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// /scale writes the adapter made, as it logs every one: "scaled target" or "cannot scale target".
std::size_t logged_scale_writes(const std::string& log) {
  return count_lines(log, "\"scaled target\"") + count_lines(log, "\"cannot scale target\"");
}

// --- The Kafka mock, as a producer/consumer would set it up (RabbitMQ: rabbit_call, in the
// harness).

rd_kafka_t* kafka_client(rd_kafka_type_t type, const std::map<std::string, std::string>& properties) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : properties)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) FAIL(k << ": " << err);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) FAIL("rd_kafka_new: " << err);
  return rk;
}

void kafka_produce(const std::string& bootstrap, const std::string& topic, const std::vector<int>& counts) {
  rd_kafka_t* rk = kafka_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"linger.ms", "0"}});
  for (std::size_t p = 0; p < counts.size(); ++p) {
    for (int i = 0; i < counts[p]; ++i) {
      const std::string value = "m" + std::to_string(i);
      const auto err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(static_cast<int32_t>(p)),
                                         RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err) FAIL("produce: " << rd_kafka_err2str(err));
    }
  }
  const auto flushed = rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  REQUIRE(flushed == RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Commits offsets for `group` without joining it (a join costs seconds on the mock).
void kafka_commit(const std::string& bootstrap, const std::string& group, const std::string& topic,
                  const std::map<int32_t, int64_t>& offsets) {
  rd_kafka_t* rk = kafka_client(RD_KAFKA_CONSUMER,
                                {{"bootstrap.servers", bootstrap}, {"group.id", group}, {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [p, o] : offsets) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
  const auto err = rd_kafka_commit(rk, list, 0 /* synchronous */);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

void check_status_body(const std::string& what, const ApiResponse& r, int code, const std::string& must_contain = "") {
  INFO(what << ": HTTP " << r.status << " body: " << r.body);
  CHECK(r.status == code);
  auto body = r.json();
  REQUIRE(body);
  CHECK(body->value("kind", "") == "Status");
  CHECK(body->value("apiVersion", "") == "v1");
  CHECK(body->value("status", "") == "Failure");
  CHECK(body->value("code", 0) == code);
  CHECK_FALSE(body->value("message", "").empty());
  if (!must_contain.empty()) CHECK(body->value("message", "").find(must_contain) != std::string::npos);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// (1) Metric reads as the HPA makes them.

TEST_CASE("metric reads over TLS with the front-proxy certificate: redis rabbitmq kafka values and auth errors",
          "[system][adapter]") {
  ClusterOptions options;
  options.access_policy = [](const Object& spec) { return spec.value("user", "") != kIntruder; };
  Env env(options);
  auto& cluster = env.cluster;
  const auto& shared = test::shared_servers();

  // redis: 5 items in a list.
  test::RedisServer redis;
  const std::string list = "orders";
  REQUIRE(redis.cli({"RPUSH", list, "a", "b", "c", "d", "e"}) == "5");
  // rabbitmq: 7 ready messages in a queue of this test.
  const std::string queue = test::unique_name("ebb-sys-queue");
  rabbit_call("PUT", "/queues/%2F/" + queue, R"({"durable":false,"auto_delete":false})");
  for (int i = 0; i < 7; ++i) {
    auto routed = rabbit_call("POST", "/exchanges/%2F/amq.default/publish",
                              Object{{"properties", Object::object()}, {"routing_key", queue}, {"payload", "m"},
                                     {"payload_encoding", "string"}}
                                  .dump());
    REQUIRE(routed.value("routed", false));
  }
  // kafka: messages 5,4,0,0 on partitions 0..3, the group committed 1,1,0,0: lag 4+3 = 7.
  const std::string topic = test::unique_name("ebb-sys-topic");
  const std::string group = test::unique_name("ebb-sys-group");
  kafka_produce(shared.kafka_bootstrap, topic, {5, 4, 0, 0});
  kafka_commit(shared.kafka_bootstrap, group, topic, {{0, 1}, {1, 1}, {2, 0}, {3, 0}});

  for (const char* d : {"redis-app", "rabbit-app", "kafka-app"}) cluster.create_deployment(d, 1);
  cluster.create(kScaledObjects, scaled_object_with("redis-so", "redis-app", "redis",
                                                    redis_trigger_metadata(redis.port(), list), 0, 10, 1, 30));
  cluster.create(kScaledObjects,
                 scaled_object_with("rabbit-so", "rabbit-app", "rabbitmq",
                                    {{"host", "amqp://" + shared.rabbitmq_user + ":" + shared.rabbitmq_password +
                                                  "@127.0.0.1:" + std::to_string(shared.rabbitmq_amqp_port) + "/"},
                                     {"queueName", queue},
                                     {"mode", "QueueLength"},
                                     {"value", "5"}},
                                    0, 10, 1, 30));
  cluster.create(kScaledObjects, scaled_object_with("kafka-so", "kafka-app", "kafka",
                                                    {{"bootstrapServers", shared.kafka_bootstrap},
                                                     {"consumerGroup", group},
                                                     {"topic", topic},
                                                     {"lagThreshold", "10"}},
                                                    0, 10, 1, 30));
  const auto redis_metric = metric_name_of(wait_ready_so(env, "redis-so"));
  const auto rabbit_metric = metric_name_of(wait_ready_so(env, "rabbit-so"));
  const auto kafka_metric = metric_name_of(wait_ready_so(env, "kafka-so"));
  CHECK(redis_metric == "s0-redis-orders");

  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto hpa = hpa_identity(env.pki);

  struct Expect {
    std::string so, metric, value;
  };
  for (const auto& e : {Expect{"redis-so", redis_metric, "5"}, Expect{"rabbit-so", rabbit_metric, "7"},
                        Expect{"kafka-so", kafka_metric, "7"}}) {
    INFO("ScaledObject " << e.so << " metric " << e.metric);
    ApiResponse last;
    eventually_adapter(e.so + " served " + e.value, [&] {
      last = adapter.external_metric(cluster.ns(), e.metric, e.so, hpa);
      UNSCOPED_INFO("last answer: HTTP " << last.status << " " << last.body);
      return served(last) == e.value;
    }, 30s, adapter, &env.op);
    auto body = last.json();
    REQUIRE(body);
    CHECK(body->value("kind", "") == "ExternalMetricValueList");
    CHECK(body->value("apiVersion", "") == "external.metrics.k8s.io/v1beta1");
    REQUIRE((*body)["items"].size() == 1);
    const auto& item = (*body)["items"][0];
    CHECK(item.value("metricName", "") == e.metric);
    CHECK(item.contains("metricLabels"));
    CHECK(std::regex_match(item.value("timestamp", ""), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  }

  // Authentication: no certificate, a certificate of another CA, or one of the requestheader CA
  // whose CN is not an allowed name -> 401, identity headers or not.
  const std::string path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + cluster.ns() + "/" + redis_metric +
                           "?labelSelector=scaledobject.keda.sh%2Fname%3Dredis-so";
  check_status_body("no client certificate", adapter.get(path, ClientIdentity{"", "", kHpaUser, {}}), 401);
  check_status_body("a certificate of an unknown CA",
                    adapter.get(path, ClientIdentity{env.pki.foreign_cert_pem, env.pki.foreign_key_pem, kHpaUser, {}}), 401);
  check_status_body("a requestheader-CA certificate whose CN is not an allowed name",
                    adapter.get(path, ClientIdentity{env.pki.stranger_cert_pem, env.pki.stranger_key_pem, kHpaUser, {}}),
                    401);
  // The front proxy without a user header is no one.
  check_status_body("the front proxy without X-Remote-User",
                    adapter.get(path, ClientIdentity{env.pki.front_proxy_cert_pem, env.pki.front_proxy_key_pem, "", {}}),
                    401);
  // Authorization: the SubjectAccessReview says no -> 403 naming the user.
  check_status_body(
      "a user the SubjectAccessReview denies", adapter.get(path, ClientIdentity{env.pki.front_proxy_cert_pem, env.pki.front_proxy_key_pem, kIntruder, {}}), 403,
      kIntruder);
  // Unknown object, unknown metric -> 404 Status naming what is unknown.
  check_status_body("unknown ScaledObject", adapter.external_metric(cluster.ns(), redis_metric, "no-such-so", hpa), 404,
                    "no-such-so");
  check_status_body("unknown metric", adapter.external_metric(cluster.ns(), "s0-redis-unknown", "redis-so", hpa), 404,
                    "s0-redis-unknown");
  // A read of a ScaledObject in another namespace: not served (--namespace) -> an error, not a value.
  const auto elsewhere = adapter.external_metric("default", redis_metric, "redis-so", hpa);
  CHECK(elsewhere.status >= 400);

  // No secret in the adapter's log: the RabbitMQ password was in the trigger's host.
  CHECK(adapter.log().find(shared.rabbitmq_password) == std::string::npos);
  rabbit_call("DELETE", "/queues/%2F/" + queue);
}

TEST_CASE("a kubernetes-workload metric is served from the adapter's pod informer and follows new pods",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  const auto pod = [&](const std::string& name) {
    cluster.create(resources::pods(), {{"apiVersion", "v1"},
                                       {"kind", "Pod"},
                                       {"metadata", {{"name", name}, {"labels", {{"app", "workers"}}}}},
                                       {"spec", {{"containers", Object::array({{{"name", "c"}, {"image", "busybox"}}})}}}});
  };
  pod("worker-1");
  pod("worker-2");
  cluster.create_deployment("workers-app", 1);
  cluster.create(kScaledObjects, scaled_object_with("workload-so", "workers-app", "kubernetes-workload",
                                                    {{"podSelector", "app=workers"}, {"value", "1"}}, 0, 10, 1, 30));
  const auto metric = metric_name_of(wait_ready_so(env, "workload-so"));
  CHECK(metric == "s0-workload-" + cluster.ns());

  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto hpa = hpa_identity(env.pki);
  for (const std::string expected : {"2", "3"}) {
    if (expected == "3") pod("worker-3");
    ApiResponse last;
    eventually_adapter("workload-so served " + expected, [&] {
      last = adapter.external_metric(cluster.ns(), metric, "workload-so", hpa);
      UNSCOPED_INFO("last answer: HTTP " << last.status << " " << last.body);
      return served(last) == expected;
    }, 30s, adapter, &env.op);
  }
}

// ---------------------------------------------------------------------------------------------
// (2) Activation and deactivation: the 0 <-> 1 work the HPA cannot do.

TEST_CASE("a redis list at 0 replicas: push activates to 1 and drain deactivates after the cooldown",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  cluster.create_deployment("worker", 0);
  // cooldownPeriod 5 s (not 3): far enough above pollingInterval + the 1 s precision of
  // lastActiveTime that a deactivation ignoring the cooldown cannot pass the check below.
  cluster.create(kScaledObjects, scaled_object_with("worker-so", "worker", "redis",
                                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 5));
  wait_ready_so(env, "worker-so");
  // The target as any client sees it (on a real cluster the only view of the writes); the
  // request log, when there is one, also shows writes that change nothing.
  ReplicaSampler worker(cluster, "worker");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  // Polled and inactive: the empty list is served as 0, and nothing is written.
  eventually_adapter("worker-so served 0", [&] {
    return served(adapter.external_metric(cluster.ns(), "s0-redis-jobs", "worker-so", hpa_identity(env.pki))) == "0";
  }, 30s, adapter, &env.op);
  CHECK(seen(worker) == std::vector<int>{0});
  CHECK(logged_scale_writes(adapter.log()) == 0);
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker").empty());

  REQUIRE(redis.cli({"RPUSH", "jobs", "1", "2", "3", "4", "5"}) == "5");
  const auto pushed = SteadyClock::now();
  // 30 s: generous, not a speed assertion (pollingInterval is 1 s; speed is measured in bench/).
  eventually_adapter("worker scaled 0 -> 1 by the adapter", [&] { return cluster.deployment_replicas("worker") == 1; },
                     30s, adapter, &env.op);
  const double activation = seconds_since(pushed);
  CHECK(seen(worker) == std::vector<int>({0, 1}));
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker") == std::vector<int>{1});
  eventually_adapter("KEDAScaleTargetActivated event", [&] {
    return !cluster.events_for("worker-so", "KEDAScaleTargetActivated").empty();
  }, 10s, adapter);
  eventually_adapter("Active=True and lastActiveTime", [&] {
    auto so = cluster.scaled_object("worker-so");
    return so && condition_status(*so, "Active") == "True" && (*so)["status"].contains("lastActiveTime");
  }, 10s, adapter);

  REQUIRE(redis.cli({"DEL", "jobs"}) == "1");
  const auto drained = SteadyClock::now();
  eventually_adapter("worker scaled 1 -> 0 after the cooldown", [&] { return cluster.deployment_replicas("worker") == 0; },
                     30s, adapter, &env.op);
  const double deactivation = seconds_since(drained);
  WARN("activation seen " << activation << " s after the push; deactivation " << deactivation
                          << " s after the drain (cooldownPeriod 5 s, pollingInterval 1 s)");
  // lastActiveTime is stamped by every active poll: the last one may precede the drain by up to
  // one pollingInterval, and it is kept with 1 s precision, so the target stays at 1 for at
  // least cooldown - interval - 1 s = 3 s.
  CHECK(deactivation >= 3.0);
  worker.sync();  // the sampler may see 0 a read after the poll above did
  const auto zero_seen = worker.first_seen(0, drained);
  REQUIRE(zero_seen);
  CHECK(std::chrono::duration<double>(*zero_seen - drained).count() >= 3.0);
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker") == std::vector<int>({1, 0}));
  eventually_adapter("KEDAScaleTargetDeactivated event", [&] {
    return !cluster.events_for("worker-so", "KEDAScaleTargetDeactivated").empty();
  }, 10s, adapter);
  eventually_adapter("Active=False", [&] {
    auto so = cluster.scaled_object("worker-so");
    return so && condition_status(*so, "Active") == "False";
  }, 10s, adapter);
  // 0 -> 1 -> 0 and nothing else, ever; one write each way.
  CHECK(seen(worker) == std::vector<int>({0, 1, 0}));
  CHECK(count_lines(adapter.log(), "\"scaled target\"") == 2);
}

TEST_CASE("external-push: a push activates a target at 0 within a second although pollingInterval is 30",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::ExternalScalerServer scaler;
  scaler.set_metrics({{"queue", 10, 0}});
  scaler.set_value("queue", 0);
  cluster.create_deployment("worker", 0);
  cluster.create(kScaledObjects, scaled_object_with("worker-so", "worker", "external-push",
                                                    {{"scalerAddress", scaler.address()}}, 0, 10, 30, 300));
  wait_ready_so(env, "worker-so");
  ReplicaSampler worker(cluster, "worker", 5ms);
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  eventually_adapter("worker-so served 0", [&] {
    return served(adapter.external_metric(cluster.ns(), "s0-external-push", "worker-so", hpa_identity(env.pki))) == "0";
  }, 60s, adapter, &env.op);
  // The adapter keeps StreamIsActive open for the trigger.
  REQUIRE(scaler.wait_for_streams(1, 30s));
  CHECK(seen(worker) == std::vector<int>{0});
  const auto polls_before = scaler.calls("IsActive");

  scaler.set_active(true);
  scaler.set_value("queue", 25);
  const auto pushed = SteadyClock::now();
  scaler.push(true);
  eventually_adapter("worker scaled 0 -> 1 after the push", [&] { return cluster.deployment_replicas("worker") == 1; },
                     30s, adapter, &env.op);
  worker.sync();
  const auto one = worker.first_seen(1, pushed);
  REQUIRE(one);
  const double delay = std::chrono::duration<double>(*one - pushed).count();
  WARN("activated " << delay << " s after the push (pollingInterval 30 s)");
  CHECK(delay < 1.0);
  CHECK(scaler.calls("IsActive") >= polls_before + 1);
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker") == std::vector<int>{1});
  // What the HPA reads: 25 of target 10, as load in percent.
  CHECK(served(adapter.external_metric(cluster.ns(), "s0-external-push", "worker-so", hpa_identity(env.pki))) == "250");
}

TEST_CASE("idleReplicaCount: activation goes to minReplicaCount and deactivation to idle not 0",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  cluster.create_deployment("idler", 1);
  auto so = scaled_object_with("idler-so", "idler", "redis", redis_trigger_metadata(redis.port(), "jobs"), 2, 10, 1, 3);
  so["spec"]["idleReplicaCount"] = 1;
  cluster.create(kScaledObjects, so);
  wait_ready_so(env, "idler-so");
  ReplicaSampler idler(cluster, "idler");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  eventually_adapter("idler-so served 0", [&] {
    return served(adapter.external_metric(cluster.ns(), "s0-redis-jobs", "idler-so", hpa_identity(env.pki))) == "0";
  }, 30s, adapter, &env.op);

  REQUIRE(redis.cli({"RPUSH", "jobs", "1"}) == "1");
  eventually_adapter("idler scaled idle 1 -> min 2", [&] { return cluster.deployment_replicas("idler") == 2; }, 30s,
                     adapter, &env.op);
  REQUIRE(redis.cli({"DEL", "jobs"}) == "1");
  eventually_adapter("idler back to idle 1", [&] { return cluster.deployment_replicas("idler") == 1; }, 30s, adapter,
                     &env.op);
  // Three more cooldowns' worth of polls: it stays at idle, never goes to 0.
  std::this_thread::sleep_for(4s);
  CHECK(cluster.deployment_replicas("idler") == 1);
  CHECK(seen(idler) == std::vector<int>({1, 2, 1}));
  CHECK(count_lines(adapter.log(), "\"scaled target\"") == 2);
  if (cluster.server()) CHECK(successful_scale_values(cluster, "idler") == std::vector<int>({2, 1}));
}

TEST_CASE("a paused ScaledObject gets no adapter writes and unpausing hands it back", "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  cluster.create_deployment("held", 0);
  cluster.create_deployment("control", 0);
  auto held = scaled_object_with("held-so", "held", "redis", redis_trigger_metadata(redis.port(), "held"), 0, 10, 1, 3);
  held["metadata"]["annotations"] = {{"autoscaling.keda.sh/paused", "true"}};
  cluster.create(kScaledObjects, held);
  cluster.create(kScaledObjects, scaled_object_with("control-so", "control", "redis",
                                                    redis_trigger_metadata(redis.port(), "control"), 0, 10, 1, 3));
  wait_ready_so(env, "control-so");
  eventually("held-so Paused=True", [&] {
    auto so = cluster.scaled_object("held-so");
    return so && condition_status(*so, "Paused") == "True";
  }, 30s, &env.op);

  ReplicaSampler held_target(cluster, "held");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  REQUIRE(redis.cli({"RPUSH", "held", "1", "2"}) == "2");
  REQUIRE(redis.cli({"RPUSH", "control", "1", "2"}) == "2");
  // The control object proves the adapter polls and writes in this namespace.
  eventually_adapter("control scaled 0 -> 1", [&] { return cluster.deployment_replicas("control") == 1; }, 30s,
                     adapter, &env.op);
  // Three more polling intervals for the paused one: nothing written.
  std::this_thread::sleep_for(3s);
  CHECK(cluster.deployment_replicas("held") == 0);
  CHECK(seen(held_target) == std::vector<int>{0});
  // Only the control object's write; none for held-so, not even a failed one.
  CHECK(logged_scale_writes(adapter.log()) == 1);
  if (cluster.server()) CHECK(scale_writes(*cluster.server(), cluster.ns(), "held").empty());

  cluster.modify(kScaledObjects, "held-so", [](Object& o) { o["metadata"]["annotations"].erase("autoscaling.keda.sh/paused"); });
  eventually_adapter("held scaled 0 -> 1 once unpaused", [&] { return cluster.deployment_replicas("held") == 1; }, 30s,
                     adapter, &env.op);
  CHECK(seen(held_target) == std::vector<int>({0, 1}));
}

// ---------------------------------------------------------------------------------------------
// (3) The broker goes away.

TEST_CASE("redis stopped: no deactivation and errors counted and fallback from 0 then recovery",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  // busy: active at 1, no fallback. quiet: at 0 with an empty list and a fallback of 3 replicas.
  cluster.create_deployment("busy", 0);
  cluster.create_deployment("quiet", 0);
  cluster.create(kScaledObjects, scaled_object_with("busy-so", "busy", "redis",
                                                    redis_trigger_metadata(redis.port(), "busy"), 0, 10, 1, 3));
  auto quiet = scaled_object_with("quiet-so", "quiet", "redis", redis_trigger_metadata(redis.port(), "quiet"), 0, 10, 1, 3);
  quiet["spec"]["fallback"] = {{"failureThreshold", 2}, {"replicas", 3}};
  cluster.create(kScaledObjects, quiet);
  wait_ready_so(env, "busy-so");
  wait_ready_so(env, "quiet-so");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto hpa = hpa_identity(env.pki);

  REQUIRE(redis.cli({"RPUSH", "busy", "1", "2", "3"}) == "3");
  eventually_adapter("busy scaled 0 -> 1", [&] { return cluster.deployment_replicas("busy") == 1; }, 30s, adapter,
                     &env.op);
  eventually_adapter("quiet-so served 0", [&] {
    return served(adapter.external_metric(cluster.ns(), "s0-redis-quiet", "quiet-so", hpa)) == "0";
  }, 30s, adapter);
  CHECK(cluster.deployment_replicas("quiet") == 0);
  const std::vector<std::string> busy_labels = {"scaledObject=\"busy-so\"", "namespace=\"" + cluster.ns() + "\""};
  const double errors_before = sample_sum(adapter.metrics(), "keda_scaler_detail_errors_total", busy_labels);

  redis.stop();
  const auto stopped = SteadyClock::now();
  // Fallback: failures > failureThreshold (2) -> the adapter scales the target from 0 to 3,
  // where the HPA cannot act.
  eventually_adapter("quiet scaled 0 -> 3 by the fallback", [&] { return cluster.deployment_replicas("quiet") == 3; },
                     30s, adapter, &env.op);
  eventually_adapter("quiet-so Fallback=True", [&] {
    auto so = cluster.scaled_object("quiet-so");
    return so && condition_status(*so, "Fallback") == "True";
  }, 10s, adapter);
  eventually_adapter("ScaledObjectFallbackActivated event", [&] {
    return !cluster.events_for("quiet-so", "ScaledObjectFallbackActivated").empty();
  }, 10s, adapter);
  // The HPA reads the fallback value: target 5 x replicas 3.
  CHECK(served(adapter.external_metric(cluster.ns(), "s0-redis-quiet", "quiet-so", hpa)) == "15");
  // busy has no fallback: its reads fail with a Status naming the metric, never a 0.
  const auto failing = adapter.external_metric(cluster.ns(), "s0-redis-busy", "busy-so", hpa);
  check_status_body("busy-so without fallback", failing, 500, "s0-redis-busy");
  eventually_adapter("keda_scaler_detail_errors_total grows for busy-so", [&] {
    return sample_sum(adapter.metrics(), "keda_scaler_detail_errors_total", busy_labels) > errors_before;
  }, 10s, adapter);
  // A failed trigger is unknown, not inactive: busy stays at 1 for two cooldowns and more.
  while (seconds_since(stopped) < 7.0) {
    REQUIRE(cluster.deployment_replicas("busy") == 1);
    std::this_thread::sleep_for(200ms);
  }
  CHECK(cluster.deployment_replicas("quiet") == 3);

  // Back (empty: no persistence): fallback ends, and both go to 0 after their cooldown.
  redis.start();
  eventually_adapter("quiet-so Fallback=False", [&] {
    auto so = cluster.scaled_object("quiet-so");
    return so && condition_status(*so, "Fallback") == "False";
  }, 30s, adapter);
  eventually_adapter("ScaledObjectFallbackDeactivated event", [&] {
    return !cluster.events_for("quiet-so", "ScaledObjectFallbackDeactivated").empty();
  }, 10s, adapter);
  eventually_adapter("busy and quiet back to 0", [&] {
    return cluster.deployment_replicas("busy") == 0 && cluster.deployment_replicas("quiet") == 0;
  }, 30s, adapter, &env.op);
  CHECK(served(adapter.external_metric(cluster.ns(), "s0-redis-busy", "busy-so", hpa)) == "0");
}

// ---------------------------------------------------------------------------------------------
// (4) kill -9 and restart; (5) two replicas.

TEST_CASE("adapter kill -9 and restart: reads served again within seconds and the target not flapped",
          "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  cluster.create_deployment("worker", 0);
  cluster.create(kScaledObjects, scaled_object_with("worker-so", "worker", "redis",
                                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 3));
  wait_ready_so(env, "worker-so");
  ReplicaSampler worker(cluster, "worker");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto hpa = hpa_identity(env.pki);
  REQUIRE(redis.cli({"RPUSH", "jobs", "1", "2", "3", "4", "5"}) == "5");
  eventually_adapter("worker scaled 0 -> 1", [&] { return cluster.deployment_replicas("worker") == 1; }, 30s, adapter,
                     &env.op);
  eventually_adapter("a leader holds the lease", [&] { return !lease_holder(cluster).empty(); }, 10s, adapter);
  const std::string old_holder = lease_holder(cluster);
  // Every /scale write the adapter makes is logged, "scaled target" or "cannot scale target",
  // once its answer is back (after the replicas are visible, and after the test server's request
  // log has it); the restarted process appends to the same log.
  eventually_adapter("the 0 -> 1 write logged", [&] { return logged_scale_writes(adapter.log()) >= 1; }, 10s,
                     adapter);
  const std::size_t writes_before = cluster.server() ? scale_writes(*cluster.server(), cluster.ns(), "worker").size() : 0;
  const std::size_t logged_before = logged_scale_writes(adapter.log());
  CHECK(logged_before == 1);

  adapter.kill9();
  const auto killed = SteadyClock::now();
  adapter.restart();
  eventually_adapter("metric reads served again after the restart", [&] {
    return served(adapter.external_metric(cluster.ns(), "s0-redis-jobs", "worker-so", hpa)) == "5";
  }, 30s, adapter);
  const double back = seconds_since(killed);
  // The killed leader did not release the lease: the new process waits out its 4 s duration.
  eventually_adapter("the restarted adapter leads", [&] {
    const auto holder = lease_holder(cluster);
    return !holder.empty() && holder != old_holder;
  }, 30s, adapter);
  const double leading = seconds_since(killed);
  // Three polls of the new leader: still 1, and no /scale write at all since the kill.
  std::this_thread::sleep_for(3s);
  WARN("after kill -9: metric reads answered again " << back << " s after the kill (restart included); the new "
                                                     << "process led after " << leading << " s");
  CHECK(back < 10.0);
  CHECK(cluster.deployment_replicas("worker") == 1);
  // Not flapped: 0 -> 1 before the kill and never anything else.
  CHECK(seen(worker) == std::vector<int>({0, 1}));
  CHECK(logged_scale_writes(adapter.log()) == logged_before);
  if (cluster.server()) {
    const auto writes = scale_writes(*cluster.server(), cluster.ns(), "worker");
    for (std::size_t i = writes_before; i < writes.size(); ++i) CHECK(writes[i].replicas == 1);
    CHECK(writes.size() == writes_before);
  }
}

TEST_CASE("two adapter replicas: both serve reads and only the leader writes /scale", "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  cluster.create_deployment("worker", 0);
  cluster.create(kScaledObjects, scaled_object_with("worker-so", "worker", "redis",
                                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 3));
  wait_ready_so(env, "worker-so");
  ReplicaSampler worker(cluster, "worker");
  AdapterRun first(cluster, env.pki, {}, "adapter-a");
  first.require_ready();
  eventually_adapter("adapter-a leads", [&] { return first.log().find("started leading") != std::string::npos; }, 15s,
                     first);
  AdapterRun second(cluster, env.pki, {}, "adapter-b");
  second.require_ready();
  const auto hpa = hpa_identity(env.pki);

  REQUIRE(redis.cli({"RPUSH", "jobs", "1", "2", "3", "4", "5"}) == "5");
  eventually_adapter("worker scaled 0 -> 1", [&] { return cluster.deployment_replicas("worker") == 1; }, 30s, first,
                     &env.op);
  // Both serve reads; the follower polls too (it may be asked by the aggregator any time).
  for (const AdapterRun* a : {&first, &second}) {
    eventually_adapter("reads served by both replicas", [&] {
      return served(a->external_metric(cluster.ns(), "s0-redis-jobs", "worker-so", hpa)) == "5";
    }, 15s, *a);
  }
  std::this_thread::sleep_for(2s);  // a couple of polls by both
  CHECK(count_lines(first.log(), "\"scaled target\"") == 1);
  CHECK(count_lines(second.log(), "\"scaled target\"") == 0);
  CHECK(logged_scale_writes(second.log()) == 0);  // not even a failed attempt
  CHECK(second.log().find("started leading") == std::string::npos);
  CHECK(seen(worker) == std::vector<int>({0, 1}));
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker") == std::vector<int>{1});

  // The leader dies without releasing the lease; the follower takes over and does the next write.
  first.kill9();
  REQUIRE(redis.cli({"DEL", "jobs"}) == "1");
  eventually_adapter("adapter-b leads", [&] { return second.log().find("started leading") != std::string::npos; }, 30s,
                     second);
  eventually_adapter("worker scaled 1 -> 0 by the new leader", [&] { return cluster.deployment_replicas("worker") == 0; },
                     30s, second, &env.op);
  // Logged once the write's answer is back, after the replicas are visible.
  eventually_adapter("the new leader's write logged",
                     [&] { return count_lines(second.log(), "\"scaled target\"") >= 1; }, 10s, second);
  CHECK(count_lines(second.log(), "\"scaled target\"") == 1);
  CHECK(seen(worker) == std::vector<int>({0, 1, 0}));
  if (cluster.server()) CHECK(successful_scale_values(cluster, "worker") == std::vector<int>({1, 0}));
}

// ---------------------------------------------------------------------------------------------
// (6) 1,000 ScaledObjects on one Redis.

TEST_CASE("1000 ScaledObjects on one redis: polls spread over the interval and few connections",
          "[system][adapter][scale]") {
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  constexpr int kCount = 1000;
  // pollingInterval, seconds: 100 polls a second, which a sanitized build on a busy 2-core machine
  // sustains (the bench measures the release build at 10,000 objects).
  constexpr int kInterval = 10;
  auto client = cluster.new_client({.qps = 1000, .burst = 1000});
  auto create_all = [&](const std::function<bool(int)>& make) {
    std::vector<std::thread> threads;
    std::atomic<int> next{0}, failures{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = next++; i < kCount; i = next++)
          if (!make(i)) ++failures;
      });
    for (auto& t : threads) t.join();
    REQUIRE(failures == 0);
  };
  // Targets at 0 and empty lists: nothing activates, so no /scale traffic competes with polls.
  create_all([&](int i) {
    const std::string name = "app-" + std::to_string(i);
    const Object labels = {{"app", name}};
    return client
        ->create(kDeployments,
                 {{"apiVersion", "apps/v1"},
                  {"kind", "Deployment"},
                  {"metadata", {{"name", name}, {"namespace", cluster.ns()}}},
                  {"spec",
                   {{"replicas", 0},
                    {"selector", {{"matchLabels", labels}}},
                    {"template",
                     {{"metadata", {{"labels", labels}}},
                      {"spec", {{"containers", Object::array({{{"name", "app"}, {"image", "registry.k8s.io/pause:3.9"}}})}}}}}}}})
        .ok();
  });
  const auto created = SteadyClock::now();
  create_all([&](int i) {
    auto so = scaled_object_with("so-" + std::to_string(i), "app-" + std::to_string(i), "redis",
                                 redis_trigger_metadata(redis.port(), "list-" + std::to_string(i)), 0, 10, kInterval, 30);
    so["metadata"]["namespace"] = cluster.ns();
    return client->create(kScaledObjects, so).ok();
  });
  eventually("1000 ScaledObjects Ready", [&] {
    auto all = cluster.list(kScaledObjects);
    return all.size() == kCount && std::all_of(all.begin(), all.end(), [](const Object& o) { return is_ready(o); });
  }, 180s, &env.op);
  const double ready_after = seconds_since(created);

  // Every poll of a redis list trigger is one EVAL naming the list: MONITOR timestamps them.
  const std::string monitor_log = cluster.dir() + "/monitor.log";
  auto monitor = test::Process::start({"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(redis.port()), "monitor"},
                                      monitor_log);
  // The adapter starts with all 1,000 objects already there (the case where they would all
  // poll on one tick without a per-object phase).
  const auto launched = SteadyClock::now();
  AdapterRun adapter(cluster, env.pki, {"--log-level=info"});
  adapter.require_ready(150s);
  const double ready_in = seconds_since(launched);
  // What is measured is the steady state. Each object's first poll also writes its status
  // (Active, triggersActivity), and those writes run on the poll workers: on a real API server
  // that answers a write in ~100 ms on this loaded machine they hold polling back until every
  // object has had its first one. Wait for that, and report how long it took.
  eventually("every ScaledObject polled once (Active written)", [&] {
    auto all = cluster.list(kScaledObjects);
    return all.size() == kCount &&
           std::all_of(all.begin(), all.end(), [](const Object& o) { return condition(o, "Active").has_value(); });
  }, 200s, &env.op);
  const double first_polls_in = seconds_since(launched);
  const auto started = SteadyClock::now();
  const double started_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (cluster.server()) cluster.server()->clear_request_log();
  std::this_thread::sleep_for(std::chrono::seconds(3 * kInterval + 1));
  const auto client_list = redis.cli({"CLIENT", "LIST"});
  // Polls read the targets from the Deployment informer: no request per poll.
  std::size_t target_reads = 0;
  if (cluster.server())
    for (const auto& r : cluster.server()->request_log())
      if (r.user_agent.rfind("ebb-metrics-adapter", 0) == 0 &&
          r.path.find("/deployments/") != std::string::npos)
        ++target_reads;
  monitor.stop();

  struct Poll {
    double t;
    std::string list;
  };
  std::vector<Poll> polls;
  {
    std::ifstream in(monitor_log);
    std::string line;
    const std::regex eval(R"re(^(\d+\.\d+) \[\d+ [0-9.:]+\] "EVAL" ".*" "1" "(list-\d+)"\s*$)re");
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_match(line, m, eval)) polls.push_back({std::stod(m[1]), m[2]});
  }
  REQUIRE(polls.size() > static_cast<std::size_t>(kCount));
  // Steady state: the last full interval before the monitor stopped, [end - 1 - interval, end - 1),
  // and the last two, [end - 1 - 2 * interval, end - 1).
  const double end = polls.back().t;
  const double from = end - 1.0 - kInterval, to = end - 1.0;
  std::map<long, int> buckets;  // 100 ms buckets
  std::set<std::string> lists, lists_two;
  int in_window = 0;
  for (const auto& p : polls) {
    if (p.t >= to) continue;
    if (p.t >= from - kInterval) lists_two.insert(p.list);
    if (p.t < from) continue;
    ++in_window;
    lists.insert(p.list);
    ++buckets[static_cast<long>(std::floor((p.t - from) * 10))];
  }
  int max_bucket = 0;
  for (const auto& [b, n] : buckets) max_bucket = std::max(max_bucket, n);
  // The polls of the measured window only: the log also holds every poll since the adapter
  // started, its first polls included.
  const auto polls_measured =
      std::count_if(polls.begin(), polls.end(), [&](const Poll& p) { return p.t >= started_unix; });
  // The interval before, for the spread check: a stall of a busy machine bunches the starts of
  // one interval, a scheduler that bunches them does it in both.
  std::map<long, int> buckets_before;
  for (const auto& p : polls)
    if (p.t >= from - kInterval && p.t < from)
      ++buckets_before[static_cast<long>(std::floor((p.t - from + kInterval) * 10))];
  int max_bucket_before = 0;
  for (const auto& [b, n] : buckets_before) max_bucket_before = std::max(max_bucket_before, n);
  // The first interval after the start, for the report only.
  std::map<long, int> first_buckets;
  const double first_t = polls.front().t;
  for (const auto& p : polls)
    if (p.t < first_t + kInterval) ++first_buckets[static_cast<long>(std::floor((p.t - first_t) * 10))];
  int first_max = 0;
  for (const auto& [b, n] : first_buckets) first_max = std::max(first_max, n);

  // Connections of the adapter: everything but this test's MONITOR (stopped) and CLIENT LIST.
  int adapter_connections = 0;
  {
    std::istringstream in(client_list);
    std::string line;
    while (std::getline(in, line))
      if (line.find("cmd=monitor") == std::string::npos && line.find("cmd=client") == std::string::npos &&
          line.find("id=") != std::string::npos)
        ++adapter_connections;
  }
  WARN("every object's first poll done " << first_polls_in << " s after the adapter's start");
  WARN("1000 ScaledObjects: Ready "
       << ready_after << " s after the first create; adapter ready (informers synced) " << ready_in
       << " s after its start; " << polls.size() << " polls since its start, " << polls_measured
       << " in the " << seconds_since(started) << " s measured; last full interval: " << in_window
       << " polls of " << lists.size() << " objects (last two intervals: " << lists_two.size()
       << " objects), busiest 100 ms bucket " << max_bucket
       << " (first interval after start: busiest " << first_max << "); adapter "
       << "connections to redis: " << adapter_connections);
  // No object starved: every one polled within two intervals. (Whether all 1,000 fit in one
  // interval depends on the machine: the API server runs in this process on the same cores; the
  // number is reported above.)
  CHECK(lists_two.size() == static_cast<std::size_t>(kCount));
  // Nobody polled more often than its interval asks: each object has at most one slot per
  // interval in the span the polls cover. (Counting polls per window instead would count a late
  // start and the next on-time one twice.)
  const double span = polls.back().t - polls.front().t;
  CHECK(polls.size() <=
        static_cast<std::size_t>(kCount) * (static_cast<std::size_t>(span / kInterval) + 1));
  // Spread: 100 buckets of 100 ms; an even spread puts 1% (10) in each, no bucket may carry 5%
  // in the better of the last two intervals.
  CHECK(std::min(max_bucket, max_bucket_before) <= kCount / 20);
  CHECK(adapter_connections >= 1);
  CHECK(adapter_connections <= 5);
  CHECK(target_reads == 0);
  CHECK(adapter.running());
}

// ---------------------------------------------------------------------------------------------
// (6) Secret hygiene: a password that fails authentication, for many polls, in no output.

TEST_CASE(
    "a canary password that fails authentication appears in no log, Event, status, metric or error",
    "[system][adapter]") {
  Env env;
  auto& cluster = env.cluster;
  const auto& shared = test::shared_servers();
  // Distinctive, and no substring of anything else the stack prints.
  const std::string canary = "EbbCanary7Qx2wr0ngPassw0rd";
  test::RedisServer::Options redis_options;
  redis_options.password = "the-right-password";
  test::RedisServer redis(redis_options);

  // Both reach the scaler through a Secret and a TriggerAuthentication, as users keep them:
  // redis as a password parameter, RabbitMQ inside the host URL's userinfo.
  const std::string rabbit_url = "amqp://" + shared.rabbitmq_user + ":" + canary +
                                 "@127.0.0.1:" + std::to_string(shared.rabbitmq_amqp_port) + "/";
  cluster.create(
      resources::secrets(),
      {{"apiVersion", "v1"},
       {"kind", "Secret"},
       {"metadata", {{"name", "canary-secret"}}},
       {"data",
        {{"password", ebb::base64_encode(canary)}, {"host", ebb::base64_encode(rabbit_url)}}}});
  for (const auto& [name, parameter] :
       {std::pair{"redis-auth", "password"}, std::pair{"rabbit-auth", "host"}}) {
    cluster.create(
        ebb::cluster::trigger_authentications(),
        {{"apiVersion", "keda.sh/v1alpha1"},
         {"kind", "TriggerAuthentication"},
         {"metadata", {{"name", name}}},
         {"spec",
          {{"secretTargetRef",
            Object::array(
                {{{"parameter", parameter}, {"name", "canary-secret"}, {"key", parameter}}})}}}});
  }
  cluster.create_deployment("redis-app", 0);
  cluster.create_deployment("rabbit-app", 1);
  // The redis one has a fallback, so fallback conditions and Events carry the error too.
  auto redis_so = scaled_object_with("redis-so", "redis-app", "redis",
                                     redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 3);
  redis_so["spec"]["triggers"][0]["authenticationRef"] = {{"name", "redis-auth"}};
  redis_so["spec"]["fallback"] = {{"failureThreshold", 1}, {"replicas", 2}};
  cluster.create(kScaledObjects, redis_so);
  auto rabbit_so = scaled_object_with(
      "rabbit-so", "rabbit-app", "rabbitmq",
      {{"queueName", test::unique_name("ebb-canary")}, {"mode", "QueueLength"}, {"value", "5"}}, 0,
      10, 1, 3);
  rabbit_so["spec"]["triggers"][0]["authenticationRef"] = {{"name", "rabbit-auth"}};
  cluster.create(kScaledObjects, rabbit_so);
  const auto redis_metric = metric_name_of(wait_ready_so(env, "redis-so"));
  const auto rabbit_metric = metric_name_of(wait_ready_so(env, "rabbit-so"));

  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto hpa = hpa_identity(env.pki);
  std::vector<std::string> answers;
  // Many failed polls (pollingInterval 1 s): the fallback engages on the redis one, and the
  // errors are counted for both.
  eventually_adapter(
      "redis-app scaled to the fallback's 2",
      [&] { return cluster.deployment_replicas("redis-app") == 2; }, 30s, adapter, &env.op);
  eventually_adapter(
      "errors counted for both ScaledObjects",
      [&] {
        const auto text = adapter.metrics();
        return sample_sum(text, "keda_scaler_detail_errors_total", {"scaledObject=\"redis-so\""}) >=
                   3 &&
               sample_sum(text, "keda_scaler_detail_errors_total",
                          {"scaledObject=\"rabbit-so\""}) >= 3;
      },
      30s, adapter);
  // The canary really was sent, and refused: the test would see a leak if there were one.
  // Redis logs each refused AUTH in its ACL log (reason "auth", user "default").
  const auto acl_log = redis.cli({"ACL", "LOG"});
  INFO("redis ACL LOG: " << acl_log);
  CHECK(acl_log.find("auth") != std::string::npos);
  CHECK(acl_log.find("default") != std::string::npos);
  for (int i = 0; i < 3; ++i) {
    for (const auto& [so, metric] :
         {std::pair{"redis-so", redis_metric}, std::pair{"rabbit-so", rabbit_metric}}) {
      const auto r = adapter.external_metric(cluster.ns(), metric, so, hpa);
      answers.push_back(r.body);
    }
    std::this_thread::sleep_for(1s);
  }
  const auto rabbit_read = adapter.external_metric(cluster.ns(), rabbit_metric, "rabbit-so", hpa);
  check_status_body("rabbit-so read while the password is refused", rabbit_read, 500,
                    rabbit_metric);
  answers.push_back(rabbit_read.body);

  const auto leaks = [&](const std::string& where, const std::string& text) {
    INFO(where << " contains the canary: " << text.substr(0, 4000));
    CHECK(text.find(canary) == std::string::npos);
  };
  leaks("the adapter's log", adapter.log());
  leaks("the operator's log", env.op.log());
  leaks("the adapter's /metrics", adapter.metrics());
  leaks("the operator's /metrics", env.op.metrics());
  for (const auto& body : answers) leaks("a metric read", body);
  for (const char* name : {"redis-so", "rabbit-so"})
    leaks(std::string("ScaledObject ") + name, cluster.scaled_object(name)->dump());
  for (const char* name : {"redis-auth", "rabbit-auth"})
    leaks(std::string("TriggerAuthentication ") + name,
          cluster.get(ebb::cluster::trigger_authentications(), name)->dump());
  for (const char* name : {"keda-hpa-redis-so", "keda-hpa-rabbit-so"}) {
    if (auto h = cluster.hpa(name)) leaks(std::string("HPA ") + name, h->dump());
  }
  std::size_t events = 0;
  for (const auto& e : cluster.list(resources::events())) {
    ++events;
    leaks("an Event", e.dump());
  }
  // The fallback's Event goes through the status writer; its note is checked for the canary too.
  eventually_adapter("a ScaledObjectFallbackActivated event for redis-so", [&] {
    return !cluster.events_for("redis-so", "ScaledObjectFallbackActivated").empty();
  }, 30s, adapter);
  for (const auto& e : cluster.events_for("redis-so", "ScaledObjectFallbackActivated")) leaks("an Event", e.dump());
  CHECK(events > 0);
}
