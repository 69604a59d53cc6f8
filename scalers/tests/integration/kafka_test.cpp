// The `kafka` scaler against real Kafka-protocol brokers: the shared librdkafka mock broker
// process from tests/servers.sh (exact lag values, caps, activation, offset-reset rules,
// partition limitation, persistent lag, connection sharing), a mock broker process of the
// test's own (stopped mid-test: error, not 0), and an in-process mock cluster whose broker is
// taken down and brought back on the same ports (error while down, recovery after, with the
// same pooled handle).
//
// The mock (librdkafka 2.0.2) cannot answer ListConsumerGroupOffsets without a partition list,
// so a trigger without `topic` ("every topic the group committed to") is not tested here.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "kafka/kafka_client.h"
#include "support/support.h"

using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

constexpr int kTimeoutMs = 10000;

std::string shared_bootstrap() { return ebb::test::shared_servers().kafka_bootstrap; }

rd_kafka_t* new_client(rd_kafka_type_t type, const Map& properties) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : properties)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(k + ": " + err);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  return rk;
}

// Produces counts[p] messages to partition p (the topic is auto-created with 4 partitions, or
// exists already).
void produce(const std::string& bootstrap, const std::string& topic, const std::vector<int>& counts) {
  rd_kafka_t* rk = new_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"linger.ms", "0"}});
  for (std::size_t p = 0; p < counts.size(); ++p) {
    for (int i = 0; i < counts[p]; ++i) {
      const std::string value = "m" + std::to_string(i);
      const auto err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(static_cast<int32_t>(p)),
                                         RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
    }
  }
  const auto flushed = rd_kafka_flush(rk, kTimeoutMs);
  rd_kafka_destroy(rk);
  REQUIRE(flushed == RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Commits explicit offsets for `group` without joining it (a join costs seconds on the mock).
void commit(const std::string& bootstrap, const std::string& group, const std::string& topic,
            const std::map<int32_t, int64_t>& offsets) {
  rd_kafka_t* rk = new_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                  {"group.id", group},
                                                  {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const auto& [p, o] : offsets) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
  const auto err = rd_kafka_commit(rk, list, 0 /* synchronous */);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
}

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger trigger(ConnectionPools& pools, Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "kafka";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  if (!parsed) FAIL(parsed.error().front().str());
  auto scaler = parsed.value()->create_scaler(pools);
  REQUIRE(scaler);
  return {std::move(parsed.value()), std::move(scaler.value())};
}

PollResult poll_ok(Trigger& t) {
  auto r = t.scaler->poll();
  if (!r) FAIL(r.error().message);
  return r.value();
}

// A topic with messages [10, 6, 4, 0] on partitions 0..3 and a group that committed 4 on
// partition 0 and 6 on partition 1 (nothing on 2 and 3): real lags 6, 0, -, -.
struct Scenario {
  std::string bootstrap = shared_bootstrap();
  std::string topic = ebb::test::unique_name("ebb-kafka");
  std::string group = ebb::test::unique_name("ebb-group");
  Scenario() {
    produce(bootstrap, topic, {10, 6, 4, 0});
    commit(bootstrap, group, topic, {{0, 4}, {1, 6}});
  }
  Map metadata(Map extra = {}) const {
    Map m = {{"bootstrapServers", bootstrap}, {"consumerGroup", group}, {"topic", topic}, {"lagThreshold", "1000"}};
    for (const auto& [k, v] : extra) m[k] = v;
    return m;
  }
};

}  // namespace

TEST_CASE("kafka: exact lag and the rules for partitions without a committed offset") {
  Scenario s;
  ConnectionPools pools;
  struct Case {
    Map extra;
    double value;
  };
  const std::vector<Case> cases = {
      {{}, 8},                                                                        // 6 + 0 + 1 + 1
      {{{"offsetResetPolicy", "earliest"}}, 10},                                      // 6 + 0 + 4 + 0
      {{{"scaleToZeroOnInvalidOffset", "true"}}, 6},                                  // 6 + 0 + 0 + 0
      {{{"offsetResetPolicy", "earliest"}, {"scaleToZeroOnInvalidOffset", "true"}}, 6},
  };
  for (const auto& c : cases) {
    INFO("offsetResetPolicy/scaleToZero: " << (c.extra.empty() ? "defaults" : c.extra.begin()->first));
    auto t = trigger(pools, s.metadata(c.extra));
    const auto r = poll_ok(t);
    CHECK(r.value == c.value);
    CHECK(r.active);
  }
  // Every trigger above reached the same brokers with the same settings: one shared handle.
  CHECK(pools.get<kafka::Clients>().size() <= 1);
}

TEST_CASE("kafka: cap by partitions, idle consumers, partitions with lag, even distribution") {
  Scenario s;
  ConnectionPools pools;
  struct Case {
    Map extra;
    double value;
  };
  const std::vector<Case> cases = {
      {{{"lagThreshold", "1"}}, 4},                                                // 8 capped at P=4 partitions
      {{{"lagThreshold", "1"}, {"allowIdleConsumers", "true"}}, 8},                // no cap
      {{{"lagThreshold", "1"}, {"limitToPartitionsWithLag", "true"}}, 3},          // partitions 0, 2, 3 lag
      {{{"lagThreshold", "3"}, {"ensureEvenDistributionOfPartitions", "true"}}, 12},  // 8 -> factor 4 of P=4
      {{{"lagThreshold", "5"}, {"ensureEvenDistributionOfPartitions", "true"}}, 10},  // 8 -> factor 2
  };
  for (const auto& c : cases) {
    auto t = trigger(pools, s.metadata(c.extra));
    CHECK(poll_ok(t).value == c.value);
  }
}

TEST_CASE("kafka: activation threshold is strictly greater") {
  Scenario s;
  ConnectionPools pools;
  auto at8 = trigger(pools, s.metadata({{"activationLagThreshold", "8"}}));
  auto r = poll_ok(at8);
  CHECK(r.value == 8);
  CHECK_FALSE(r.active);
  auto at7 = trigger(pools, s.metadata({{"activationLagThreshold", "7"}}));
  CHECK(poll_ok(at7).active);
}

TEST_CASE("kafka: partitionLimitation restricts the partitions read") {
  Scenario s;
  ConnectionPools pools;
  auto some = trigger(pools, s.metadata({{"partitionLimitation", "0,2"}}));
  CHECK(poll_ok(some).value == 7);  // 6 + 1
  auto caught_up = trigger(pools, s.metadata({{"partitionLimitation", "1"}}));
  const auto r = poll_ok(caught_up);
  CHECK(r.value == 0);
  CHECK_FALSE(r.active);
  auto range = trigger(pools, s.metadata({{"partitionLimitation", "0-1,3"}}));
  CHECK(poll_ok(range).value == 7);  // 6 + 0 + 1
  auto none = trigger(pools, s.metadata({{"partitionLimitation", "7-9"}}));
  auto err = none.scaler->poll();
  REQUIRE_FALSE(err);
  CHECK_THAT(err.error().message, Catch::Contains("expected at least one active partition within the topic"));
}

TEST_CASE("kafka: excludePersistentLag across polls") {
  Scenario s;
  ConnectionPools pools;
  auto t = trigger(pools, s.metadata({{"excludePersistentLag", "true"}, {"scaleToZeroOnInvalidOffset", "true"}}));
  auto first = poll_ok(t);
  CHECK(first.value == 6);  // first observation counts
  CHECK(first.active);
  auto second = poll_ok(t);
  CHECK(second.value == 0);  // partition 0 stuck at offset 4
  CHECK(second.active);      // but its lag keeps the workload active
  commit(s.bootstrap, s.group, s.topic, {{0, 8}});
  auto third = poll_ok(t);
  CHECK(third.value == 2);
  CHECK(third.active);
}

TEST_CASE("kafka: a group that committed nothing") {
  Scenario s;
  ConnectionPools pools;
  auto t = trigger(pools, s.metadata({{"consumerGroup", ebb::test::unique_name("fresh")}}));
  CHECK(poll_ok(t).value == 4);  // one per partition under the latest policy
  auto earliest = trigger(pools, s.metadata({{"consumerGroup", ebb::test::unique_name("fresh")}, {"offsetResetPolicy", "earliest"}}));
  CHECK(poll_ok(earliest).value == 20);
}

TEST_CASE("kafka: triggers share one handle per brokers + credentials") {
  Scenario s;
  ConnectionPools pools;
  auto a = trigger(pools, s.metadata());
  auto b = trigger(pools, s.metadata({{"consumerGroup", ebb::test::unique_name("other")}}));
  poll_ok(a);
  poll_ok(b);
  CHECK(pools.get<kafka::Clients>().size() == 1);
  auto c = trigger(pools, s.metadata({{"version", "2.0.0"}, {"unsafeSsl", "true"}}), {});
  poll_ok(c);
  CHECK(pools.get<kafka::Clients>().size() == 1);  // neither changes the connection settings
}

TEST_CASE("kafka: unreachable brokers are an error naming them, never 0 or a password") {
  ConnectionPools pools;
  const std::string bootstrap = "127.0.0.1:" + std::to_string(ebb::test::free_port());
  auto t = trigger(pools, {{"bootstrapServers", bootstrap}, {"consumerGroup", "g"}, {"topic", "t"}, {"sasl", "plaintext"}},
                   {{"username", "user"}, {"password", "pw-not-in-errors"}});
  const auto start = std::chrono::steady_clock::now();
  auto r = t.scaler->poll();
  REQUIRE_FALSE(r);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
  CHECK_THAT(r.error().message, Catch::Contains(bootstrap));
  CHECK_THAT(r.error().message, !Catch::Contains("pw-not-in-errors"));
  CHECK(r.error().transient);
}

TEST_CASE("kafka: a broker process that stops gives errors, not 0") {
  ebb::test::TempDir dir("ebb-kafka");
  const std::string bin = [] {
    // The mock broker program is built next to this test executable.
    char self[4096];
    const auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    std::string path(self, static_cast<std::size_t>(n));
    return path.substr(0, path.rfind('/')) + "/kafka_mock_server";
  }();
  const std::string file = dir.path() + "/bootstrap";
  auto server = ebb::test::Process::start({bin, "1", file, "stops:2"}, dir.path() + "/kafka.log");
  std::string bootstrap;
  for (int i = 0; i < 100 && bootstrap.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::access(file.c_str(), R_OK) == 0) bootstrap = ebb::test::read_file(file);
  }
  REQUIRE_FALSE(bootstrap.empty());
  bootstrap.erase(bootstrap.find_last_not_of("\n") + 1);

  produce(bootstrap, "stops", {3, 1});
  commit(bootstrap, "g", "stops", {{0, 1}});
  ConnectionPools pools;
  auto t = trigger(pools, {{"bootstrapServers", bootstrap}, {"consumerGroup", "g"}, {"topic", "stops"}, {"lagThreshold", "100"}});
  CHECK(poll_ok(t).value == 3);  // 2 + 1 (partition 1: nothing committed, latest policy)

  server.stop();
  for (int i = 0; i < 2; ++i) {  // every poll while it is gone fails, within the poll timeout
    const auto start = std::chrono::steady_clock::now();
    auto r = t.scaler->poll();
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(bootstrap));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
  }
}

// The mock broker process cannot be restarted on the same ports, so recovery uses a mock
// cluster in this process: its broker is taken down (connections closed and refused) and
// brought back on the same port, while the scaler keeps its pooled handle throughout.
TEST_CASE("kafka: brokers down then back: errors, then recovery without recreating anything") {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(owner);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, 1);
  REQUIRE(cluster);
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  REQUIRE(rd_kafka_mock_topic_create(cluster, "recovers", 2, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  produce(bootstrap, "recovers", {5, 5});
  commit(bootstrap, "g", "recovers", {{0, 5}, {1, 2}});

  {
    ConnectionPools pools;
    auto t = trigger(pools, {{"bootstrapServers", bootstrap}, {"consumerGroup", "g"}, {"topic", "recovers"}, {"lagThreshold", "100"}});
    CHECK(poll_ok(t).value == 3);

    REQUIRE(rd_kafka_mock_broker_set_down(cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    auto down = t.scaler->poll();
    REQUIRE_FALSE(down);
    CHECK_THAT(down.error().message, Catch::Contains(bootstrap));

    REQUIRE(rd_kafka_mock_broker_set_up(cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    std::optional<PollResult> recovered;
    for (int i = 0; i < 5 && !recovered; ++i) {  // librdkafka reconnects with a backoff of <= 1 s
      if (auto r = t.scaler->poll()) recovered = r.value();
      else std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    REQUIRE(recovered);
    CHECK(recovered->value == 3);
    CHECK(pools.get<kafka::Clients>().size() == 1);
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
}

TEST_CASE("kafka: the shared mock broker is running (fails loudly when not)") {
  REQUIRE_NOTHROW(shared_bootstrap());
  CHECK_FALSE(shared_bootstrap().empty());
}
