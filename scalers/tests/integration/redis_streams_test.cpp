// The redis-streams family against real servers: stream length, pending entries and consumer
// group lag, built with real XADD / XGROUP / XREADGROUP; plus the cluster and sentinel variants.

#include <catch2/catch.hpp>
#include <functional>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "support/support.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

std::string local(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

Result<PollResult> poll(ConnectionPools& pools, const std::string& type, Map metadata) {
  TriggerContext ctx;
  ctx.type = type;
  ctx.metadata = std::move(metadata);
  auto parsed = Registry::builtin().parse(ctx);
  INFO((parsed ? std::string() : parsed.error().front().str()));
  REQUIRE(parsed.ok());
  auto s = parsed.value()->create_scaler(pools);
  REQUIRE(s.ok());
  return s.value()->poll();
}

double value(const Result<PollResult>& r) {
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r->value;
}

// Runs redis-cli commands against one server (-c follows cluster redirects).
struct Cli {
  std::function<std::string(std::vector<std::string>)> run;
  void xadd(const std::string& stream, int n) const {
    for (int i = 0; i < n; ++i) run({"XADD", stream, "*", "n", std::to_string(i)});
  }
};

Cli server_cli(const test::RedisServer& s) {
  return {[&s](std::vector<std::string> args) { return s.cli(args); }};
}

Cli port_cli(std::uint16_t port, bool cluster) {
  return {[port, cluster](std::vector<std::string> args) {
    std::vector<std::string> argv{"redis-cli", "-p", std::to_string(port)};
    if (cluster) argv.push_back("-c");
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::run_command(argv);
    REQUIRE(r.exit_code == 0);
    while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
    return r.out;  // trimmed, like RedisServer::cli
  }};
}

// 10 entries; group g created before them; consumer c read 4 and acknowledged 1:
// length 10, pending 3, lag 6.
void prepare(const Cli& cli, const std::string& stream) {
  cli.run({"XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"});
  cli.xadd(stream, 10);
  auto read = cli.run({"XREADGROUP", "GROUP", "g", "c", "COUNT", "4", "STREAMS", stream, ">"});
  REQUIRE(!read.empty());
  auto range = cli.run({"XRANGE", stream, "-", "+", "COUNT", "1"});
  const auto first_id = range.substr(0, range.find('\n'));
  REQUIRE(cli.run({"XACK", stream, "g", first_id}) == "1");
}

void check_modes(ConnectionPools& pools, const std::string& type, Map connection, const Cli& cli) {
  const auto stream = ebb::test::unique_name("{orders}");
  prepare(cli, stream);
  auto with = [&](Map m) {
    m.insert(connection.begin(), connection.end());
    m["stream"] = stream;
    return m;
  };
  CHECK(value(poll(pools, type, with({}))) == 10);
  CHECK(value(poll(pools, type, with({{"consumerGroup", "g"}}))) == 3);
  CHECK(value(poll(pools, type, with({{"consumerGroup", "g"}, {"lagCount", "5"}}))) == 6);
}

}  // namespace

TEST_CASE("redis-streams: stream length, pending entries and lag modes") {
  test::RedisServer server;
  ConnectionPools pools;
  check_modes(pools, "redis-streams", {{"address", local(server.port())}}, server_cli(server));
}

TEST_CASE("redis-streams: missing stream and missing group") {
  test::RedisServer server;
  ConnectionPools pools;
  const Map conn{{"address", local(server.port())}};
  auto with = [&](Map m) {
    m.insert(conn.begin(), conn.end());
    return m;
  };
  const auto missing = ebb::test::unique_name("nostream");
  CHECK(value(poll(pools, "redis-streams", with({{"stream", missing}}))) == 0);
  CHECK(value(poll(pools, "redis-streams", with({{"stream", missing}, {"consumerGroup", "g"}, {"lagCount", "1"}}))) == 0);
  auto pending = poll(pools, "redis-streams", with({{"stream", missing}, {"consumerGroup", "g"}}));
  REQUIRE_FALSE(pending.ok());  // XPENDING on a missing group: an error, never 0
  CHECK(pending.error().message.find(local(server.port())) != std::string::npos);
  CHECK(pending.error().message.find("NOGROUP") != std::string::npos);

  // A stream without the group: its whole length is lag.
  const auto stream = ebb::test::unique_name("nogroup");
  server_cli(server).xadd(stream, 8);
  CHECK(value(poll(pools, "redis-streams", with({{"stream", stream}, {"consumerGroup", "g"}, {"lagCount", "1"}}))) == 8);
}

TEST_CASE("redis-streams: activationLagCount decides activity in every mode") {
  test::RedisServer server;
  ConnectionPools pools;
  const auto stream = ebb::test::unique_name("act");
  prepare(server_cli(server), stream);
  auto active = [&](Map m) {
    m["address"] = local(server.port());
    m["stream"] = stream;
    auto r = poll(pools, "redis-streams", m);
    REQUIRE(r.ok());
    return r->active;
  };
  CHECK_FALSE(active({{"activationLagCount", "10"}}));
  CHECK(active({{"activationLagCount", "9"}}));
  CHECK_FALSE(active({{"consumerGroup", "g"}, {"activationLagCount", "3"}}));
  CHECK(active({{"consumerGroup", "g"}, {"activationLagCount", "2"}}));
  CHECK_FALSE(active({{"consumerGroup", "g"}, {"lagCount", "1"}, {"activationLagCount", "6"}}));
  CHECK(active({{"consumerGroup", "g"}, {"lagCount", "1"}, {"activationLagCount", "5"}}));
}

TEST_CASE("redis-streams: server down is an error, and it recovers") {
  test::RedisServer server;
  ConnectionPools pools;
  const auto stream = ebb::test::unique_name("down");
  TriggerContext ctx;
  ctx.type = "redis-streams";
  ctx.metadata = {{"address", local(server.port())}, {"stream", stream}};
  auto cfg = Registry::builtin().parse(ctx);
  REQUIRE(cfg.ok());
  auto s = cfg.value()->create_scaler(pools);
  REQUIRE(s.ok());
  CHECK(value(s.value()->poll()) == 0);
  server.stop();
  auto r = s.value()->poll();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(local(server.port())) != std::string::npos);
  server.start();
  server_cli(server).xadd(stream, 2);
  CHECK(value(s.value()->poll()) == 2);
}

TEST_CASE("redis-cluster-streams: all three modes on the shared cluster") {
  const auto& shared = test::shared_servers();
  std::string addresses;
  for (auto p : shared.redis_cluster_ports) addresses += (addresses.empty() ? "" : ",") + local(p);
  ConnectionPools pools;
  check_modes(pools, "redis-cluster-streams", {{"addresses", addresses}},
              port_cli(shared.redis_cluster_ports.front(), true));
}

TEST_CASE("redis-sentinel-streams: all three modes through the shared sentinel") {
  const auto& shared = test::shared_servers();
  ConnectionPools pools;
  check_modes(pools, "redis-sentinel-streams",
              {{"addresses", local(shared.redis_sentinel_port)}, {"sentinelMaster", shared.redis_sentinel_master}},
              port_cli(shared.redis_sentinel_master_port, false));
}
