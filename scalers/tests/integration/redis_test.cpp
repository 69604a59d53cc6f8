// The redis, redis-cluster and redis-sentinel list scalers against real servers: a redis-server
// per test (stopped and restarted to check errors and recovery, with a password or TLS), and the
// shared cluster and sentinel group from tests/servers.sh.

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "redis/pool.h"
#include "support/support.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

std::string local(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::unique_ptr<TriggerConfig> config(const std::string& type, Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = type;
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  INFO((parsed ? std::string() : parsed.error().front().str()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

std::unique_ptr<Scaler> scaler(ConnectionPools& pools, const TriggerConfig& cfg) {
  auto s = cfg.create_scaler(pools);
  REQUIRE(s.ok());
  return std::move(s).value();
}

PollResult poll_ok(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

std::vector<std::string> numbered(const std::string& cmd, const std::string& key, int n, bool scored = false,
                                  bool hashed = false) {
  std::vector<std::string> args{cmd, key};
  for (int i = 0; i < n; ++i) {
    if (scored) args.push_back(std::to_string(i));
    args.push_back("m" + std::to_string(i));
    if (hashed) args.push_back("v");
  }
  return args;
}

std::string cluster_cli(std::uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv{"redis-cli", "-c", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv);
  REQUIRE(r.exit_code == 0);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r.out;
}

}  // namespace

TEST_CASE("redis: a list of 12 with listLength 5 reads 12 and asks for 3 replicas") {
  test::RedisServer server;
  const auto key = ebb::test::unique_name("jobs");
  server.cli(numbered("RPUSH", key, 12));
  ConnectionPools pools;
  auto cfg = config("redis", {{"address", local(server.port())}, {"listName", key}, {"listLength", "5"}});
  CHECK(cfg->metric_spec().target_quantity == "5");
  auto s = scaler(pools, *cfg);
  const auto r = poll_ok(*s);
  CHECK(r.value == 12);
  CHECK(r.active);
  CHECK(std::ceil(r.value / cfg->metric_spec().target) == 3);  // HPA AverageValue with one metric
}

TEST_CASE("redis: PING reaches standalone, cluster and sentinel deployments") {
  test::RedisServer server;
  ConnectionPools pools;
  auto& pool = dynamic_cast<redis::RedisPool&>(pools.get<redis::Client>());
  redis::Deployment standalone;
  standalone.addresses = {{"127.0.0.1", server.port()}};
  CHECK(pool.ping(standalone).ok());
  server.stop();
  auto down = pool.ping(standalone);
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().message.find(local(server.port())) != std::string::npos);

  const auto& shared = test::shared_servers();
  redis::Deployment cluster;
  cluster.mode = redis::Mode::Cluster;
  cluster.addresses = {{"127.0.0.1", shared.redis_cluster_ports.front()}};
  CHECK(pool.ping(cluster).ok());
  redis::Deployment sentinel;
  sentinel.mode = redis::Mode::Sentinel;
  sentinel.addresses = {{"127.0.0.1", shared.redis_sentinel_port}};
  sentinel.sentinel_master = shared.redis_sentinel_master;
  CHECK(pool.ping(sentinel).ok());
}

TEST_CASE("redis: zset, set, hash and missing keys, other types are errors") {
  test::RedisServer server;
  ConnectionPools pools;
  auto poll_key = [&](const std::string& key) {
    auto cfg = config("redis", {{"address", local(server.port())}, {"listName", key}});
    return scaler(pools, *cfg)->poll();
  };
  const auto zset = ebb::test::unique_name("z"), set = ebb::test::unique_name("s"), hash = ebb::test::unique_name("h"), str = ebb::test::unique_name("str");
  server.cli(numbered("ZADD", zset, 3, true));
  server.cli(numbered("SADD", set, 4));
  server.cli(numbered("HSET", hash, 6, false, true));
  server.cli({"SET", str, "x"});
  CHECK(poll_key(zset)->value == 3);
  CHECK(poll_key(set)->value == 4);
  CHECK(poll_key(hash)->value == 6);
  const auto missing = poll_key(ebb::test::unique_name("missing"));
  REQUIRE(missing.ok());
  CHECK(missing->value == 0);
  CHECK_FALSE(missing->active);
  const auto wrong = poll_key(str);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("type string") != std::string::npos);
  CHECK(wrong.error().message.find(local(server.port())) != std::string::npos);
}

TEST_CASE("redis: activation is value > activationListLength") {
  test::RedisServer server;
  const auto key = ebb::test::unique_name("act");
  server.cli(numbered("RPUSH", key, 12));
  ConnectionPools pools;
  auto at = config("redis", {{"address", local(server.port())}, {"listName", key}, {"activationListLength", "12"}});
  auto below = config("redis", {{"address", local(server.port())}, {"listName", key}, {"activationListLength", "11"}});
  CHECK_FALSE(poll_ok(*scaler(pools, *at)).active);
  CHECK(poll_ok(*scaler(pools, *below)).active);
}

TEST_CASE("redis: password authentication, and a wrong password is an error that does not echo it") {
  const std::string password = "pw-" + ebb::test::unique_name("secret");
  test::RedisServer server(test::RedisServer::Options{.password = password});
  const auto key = ebb::test::unique_name("auth");
  server.cli(numbered("LPUSH", key, 2));
  ConnectionPools pools;
  auto good = config("redis", {{"address", local(server.port())}, {"listName", key}}, {{"password", password}});
  CHECK(poll_ok(*scaler(pools, *good)).value == 2);

  auto user = config("redis", {{"address", local(server.port())}, {"listName", key}},
                     {{"username", "default"}, {"password", password}});
  CHECK(poll_ok(*scaler(pools, *user)).value == 2);

  const std::string wrong_password = "not-" + password;
  auto bad = config("redis", {{"address", local(server.port())}, {"listName", key}}, {{"password", wrong_password}});
  auto r = scaler(pools, *bad)->poll();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(local(server.port())) != std::string::npos);
  CHECK(r.error().message.find("authentication failed") != std::string::npos);
  CHECK(r.error().message.find(password) == std::string::npos);

  auto none = config("redis", {{"address", local(server.port())}, {"listName", key}});
  auto n = scaler(pools, *none)->poll();
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().message.find("NOAUTH") != std::string::npos);
}

TEST_CASE("redis: a stopped server is an error, never 0, and the next poll after a restart succeeds") {
  test::RedisServer server;
  const auto key = ebb::test::unique_name("restart");
  server.cli(numbered("RPUSH", key, 3));
  ConnectionPools pools;
  auto cfg = config("redis", {{"address", local(server.port())}, {"listName", key}});
  auto s = scaler(pools, *cfg);
  CHECK(poll_ok(*s).value == 3);

  server.stop();
  auto down = s->poll();
  REQUIRE_FALSE(down.ok());
  CHECK(down.error().message.find(local(server.port())) != std::string::npos);

  server.start();
  server.cli(numbered("RPUSH", key, 5));
  CHECK(poll_ok(*s).value == 5);  // same scaler, same pool: the dead connection was replaced
}

TEST_CASE("redis: a restart between polls does not cost a failed poll (stale pooled connections)") {
  test::RedisServer server;
  const auto key = ebb::test::unique_name("stale");
  ConnectionPools pools;
  auto cfg = config("redis", {{"address", local(server.port())}, {"listName", key}});
  auto s = scaler(pools, *cfg);
  CHECK(poll_ok(*s).value == 0);
  server.stop();
  server.start();
  server.cli(numbered("RPUSH", key, 4));
  CHECK(poll_ok(*s).value == 4);
}

TEST_CASE("redis: TLS with the server's CA, with unsafeSsl, and with a client certificate") {
  test::RedisServer server(test::RedisServer::Options{.tls = true, .tls_auth_clients = true});
  const auto& certs = server.certs();
  const auto key = ebb::test::unique_name("tls");
  server.cli(numbered("RPUSH", key, 7));
  ConnectionPools pools;
  const Map client{{"cert", certs.client_cert_pem}, {"key", certs.client_key_pem}};

  Map with_ca = client;
  with_ca["ca"] = certs.ca_pem;
  auto verified = config("redis", {{"address", local(server.port())}, {"listName", key}, {"enableTLS", "true"}}, with_ca);
  CHECK(poll_ok(*scaler(pools, *verified)).value == 7);

  Map via_auth = with_ca;
  via_auth["tls"] = "enable";
  auto auth_tls = config("redis", {{"address", local(server.port())}, {"listName", key}}, via_auth);
  CHECK(poll_ok(*scaler(pools, *auth_tls)).value == 7);

  auto unsafe = config("redis",
                       {{"address", local(server.port())}, {"listName", key}, {"enableTLS", "true"}, {"unsafeSsl", "true"}},
                       client);
  CHECK(poll_ok(*scaler(pools, *unsafe)).value == 7);

  auto untrusted = config("redis", {{"address", local(server.port())}, {"listName", key}, {"enableTLS", "true"}}, client);
  auto r = scaler(pools, *untrusted)->poll();
  REQUIRE_FALSE(r.ok());  // the test CA is not a system root
  CHECK(r.error().message.find(local(server.port())) != std::string::npos);

  auto plain = config("redis", {{"address", local(server.port())}, {"listName", key}});
  CHECK_FALSE(scaler(pools, *plain)->poll().ok());  // a TLS port does not speak plain RESP
}

TEST_CASE("redis-cluster: keys on different slots and nodes, MOVED redirections followed") {
  const auto& shared = test::shared_servers();
  REQUIRE(shared.redis_cluster_ports.size() >= 3);
  std::string addresses;
  for (auto p : shared.redis_cluster_ports) addresses += (addresses.empty() ? "" : ",") + local(p);
  const auto first = shared.redis_cluster_ports.front();

  // Keys spread over slots; the node owning each answers CLUSTER KEYSLOT like key_slot().
  std::vector<std::string> keys;
  std::set<std::string> owners;
  for (int i = 0; i < 6; ++i) {
    keys.push_back(ebb::test::unique_name("cl" + std::to_string(i)));
    cluster_cli(first, numbered("RPUSH", keys.back(), i + 1));
  }
  ConnectionPools pools;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto cfg = config("redis-cluster", {{"addresses", addresses}, {"listName", keys[i]}});
    CHECK(poll_ok(*scaler(pools, *cfg)).value == static_cast<double>(i + 1));
    // a single seed is enough: the rest of the cluster is learnt from CLUSTER SLOTS
    auto one_seed = config("redis-cluster", {{"hosts", "127.0.0.1"}, {"ports", std::to_string(first)}, {"listName", keys[i]}});
    CHECK(poll_ok(*scaler(pools, *one_seed)).value == static_cast<double>(i + 1));
  }

  // Start at every node in turn: the ones that do not own the slot answer MOVED.
  redis::Deployment d;
  d.mode = redis::Mode::Cluster;
  for (auto p : shared.redis_cluster_ports) d.addresses.push_back({"127.0.0.1", p});
  auto& pool = dynamic_cast<redis::RedisPool&>(pools.get<redis::Client>());
  for (const auto& key : keys) {
    for (const auto& node : d.addresses) {
      const std::vector<redis::Command> cmd{{"LLEN", key}};
      auto r = pool.run_cluster_from(d, node, cmd);
      REQUIRE(r.ok());
      REQUIRE(r->front().is_integer());
      CHECK(r->front().integer == std::stoll(cluster_cli(first, {"LLEN", key})));
    }
    auto slot = cluster_cli(first, {"CLUSTER", "KEYSLOT", key});
    CHECK(std::stoi(slot) == redis::key_slot(key));
  }
  std::set<std::uint16_t> slots;
  for (const auto& k : keys) slots.insert(redis::key_slot(k));
  CHECK(slots.size() > 1);
}

TEST_CASE("redis-sentinel: the master is discovered through the sentinel") {
  const auto& shared = test::shared_servers();
  const auto key = ebb::test::unique_name("sent");
  auto cli = test::run_command(
      {"redis-cli", "-p", std::to_string(shared.redis_sentinel_master_port), "RPUSH", key, "a", "b", "c", "d"});
  REQUIRE(cli.exit_code == 0);
  ConnectionPools pools;
  auto cfg = config("redis-sentinel", {{"addresses", local(shared.redis_sentinel_port)},
                                       {"sentinelMaster", shared.redis_sentinel_master},
                                       {"listName", key}});
  CHECK(poll_ok(*scaler(pools, *cfg)).value == 4);

  auto unknown = config("redis-sentinel", {{"addresses", local(shared.redis_sentinel_port)},
                                           {"sentinelMaster", "no-such-master"},
                                           {"listName", key}});
  auto r = scaler(pools, *unknown)->poll();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no-such-master") != std::string::npos);
}

TEST_CASE("redis: 100 triggers on one server share at most 4 connections, also when polled concurrently") {
  test::RedisServer server;
  ConnectionPools pools;
  std::vector<std::unique_ptr<TriggerConfig>> configs;
  std::vector<std::unique_ptr<Scaler>> scalers;
  for (int i = 0; i < 100; ++i) {
    const auto key = ebb::test::unique_name("many");
    server.cli(numbered("RPUSH", key, i % 7 + 1));
    configs.push_back(config("redis", {{"address", local(server.port())}, {"listName", key}}));
    scalers.push_back(scaler(pools, *configs.back()));
  }
  for (std::size_t i = 0; i < scalers.size(); ++i) CHECK(poll_ok(*scalers[i]).value == static_cast<double>(i % 7 + 1));

  constexpr int kThreads = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (std::size_t i = static_cast<std::size_t>(t); i < scalers.size(); i += kThreads) {
          auto r = scalers[i]->poll();
          if (!r || r->value != static_cast<double>(i % 7 + 1)) ++failures;
        }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);

  const auto clients = server.cli({"CLIENT", "LIST"});
  int ours = 0;
  std::size_t start = 0;
  while (start < clients.size()) {
    auto end = clients.find('\n', start);
    if (end == std::string::npos) end = clients.size();
    const auto line = clients.substr(start, end - start);
    if (!line.empty() && line.find("cmd=client|list") == std::string::npos) ++ours;  // not redis-cli itself
    start = end + 1;
  }
  INFO(clients);
  CHECK(ours >= 1);
  CHECK(ours <= 4);
  CHECK(pools.get<redis::Client>().connection_count() <= 4);
}
