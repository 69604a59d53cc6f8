// Pure tests of the Redis scalers: metadata tables with exact errors, metric specs, stream mode
// selection, and the protocol helpers (slot hashing, redirects, slot maps, RESP codec).
#include <catch2/catch.hpp>

#include "ebb/scalers/registry.h"
#include "redis/cluster.h"
#include "redis/metadata.h"
#include "redis/resp.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

TriggerContext trigger(std::string type, Map metadata, Map auth = {}, Map env = {}) {
  TriggerContext c;
  c.type = std::move(type);
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  c.resolved_env = std::move(env);
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r) for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

const TriggerConfig& ok(const ParseResult& r) {
  INFO((r ? std::string() : errors_of(r).front()));
  REQUIRE(r.ok());
  return *r.value();
}

ParseResult parse(const TriggerContext& c) { return Registry::builtin().parse(c); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// redis (lists)

TEST_CASE("redis: defaults, metric name and integer target") {
  const auto r = parse(trigger("redis", {{"listName", "mylist"}, {"address", "redis:6379"}}));
  const auto& spec = ok(r).metric_spec();
  CHECK(spec.name == "s0-redis-mylist");
  CHECK(spec.target == 5);
  CHECK(spec.target_quantity == "5");
  CHECK(spec.target_type == MetricTargetType::AverageValue);
  CHECK(spec.activation_target == 0);
  CHECK(ok(r).endpoint() == "redis redis:6379");
}

TEST_CASE("redis: listLength, activation, metricType Value and name normalisation") {
  auto c = trigger("redis", {{"listName", "jobs.high:q"},
                             {"listLength", "1000"},
                             {"activationListLength", "7"},
                             {"address", "redis:6379"}});
  c.index = 2;
  c.metric_type = "Value";
  const auto r = parse(c);
  const auto& spec = ok(r).metric_spec();
  CHECK(spec.name == "s2-redis-jobs-high-q");
  CHECK(spec.target_quantity == "1k");
  CHECK(spec.activation_target == 7);
  CHECK(spec.target_type == MetricTargetType::Value);
}

TEST_CASE("redis: invalid metadata gives exact located errors") {
  struct Case {
    Map metadata;
    Map auth;
    std::vector<std::string> errors;
  };
  const std::vector<Case> cases = {
      {{{"listName", "l"}},
       {},
       {"metadata.address: no addresses or hosts given: set address (a comma-separated list of host:port) or host "
        "and port"}},
      {{{"listName", "l"}, {"address", ""}},
       {},
       {"metadata.address: no addresses or hosts given: set address (a comma-separated list of host:port) or host "
        "and port"}},
      {{{"address", "redis:6379"}},
       {},
       {"metadata.listName: missing required parameter \"listName\" in [triggerMetadata]"}},
      {{{"listName", "l"}, {"address", "redis:6379"}, {"listLength", "AA"}},
       {},
       {"metadata.listLength: must be an integer, got \"AA\""}},
      {{{"listName", "l"}, {"address", "redis:6379"}, {"activationListLength", "1.5"}},
       {},
       {"metadata.activationListLength: must be an integer, got \"1.5\""}},
      {{{"listName", "l"}, {"host", "redis"}},
       {},
       {"metadata.port: not enough hosts or ports given: 1 host(s) and 0 port(s); every host needs its port"}},
      {{{"listName", "l"}, {"address", "redis"}},
       {},
       {"metadata.address: address must be host:port, got \"redis\""}},
      {{{"listName", "l"}, {"host", "redis"}, {"port", "http"}},
       {},
       {"metadata.host: host and port must be host:port with a port in 1..65535, got \"redis:http\""}},
      {{{"listName", "l"}, {"address", "redis:6379"}, {"enableTLS", "true"}},
       {{"tls", "enable"}},
       {"authParams.tls: TLS is set both by enableTLS in the trigger metadata and by tls in the trigger "
        "authentication; set only one of them"}},
      {{{"listName", "l"}, {"address", "redis:6379"}},
       {{"tls", "on"}},
       {"authParams.tls: must be one of [enable, disable], got \"on\""}},
      {{{"listName", "l"}, {"address", "redis:6379"}, {"enableTLS", "yes"}},
       {},
       {"metadata.enableTLS: must be a boolean (true or false), got \"yes\""}},
      {{{"listName", "l"}, {"address", "redis:6379"}},
       {{"tls", "enable"}, {"cert", "PEM"}},
       {"authParams.key: cert and key must be given together"}},
      {{{"listName", "l"}, {"address", "redis:6379"}, {"databaseIndex", "-1"}},
       {},
       {"metadata.databaseIndex: must not be negative"}},
  };
  for (const auto& c : cases) {
    INFO(c.errors.front());
    CHECK(errors_of(parse(trigger("redis", c.metadata, c.auth))) == c.errors);
  }
}

TEST_CASE("redis: a URL or user info in place of host:port is refused without quoting it") {
  // Tools other than KEDA take "redis://user:password@host:6379"; as a KEDA address it can never
  // connect, and echoing it would print the password in every error and log line.
  const std::string kNotHostPort =
      "must be host:port, not a URL or user info; credentials go in the username and password parameters";
  CHECK(errors_of(parse(trigger("redis", {{"listName", "l"}, {"address", "redis://:hunter2@cache:6379"}}))) ==
        std::vector<std::string>{"metadata.address: address " + kNotHostPort});
  CHECK(errors_of(parse(trigger("redis", {{"listName", "l"}, {"address", "cache:6379,app:hunter2@cache:6380"}}))) ==
        std::vector<std::string>{"metadata.address: address " + kNotHostPort});
  CHECK(errors_of(parse(trigger("redis-cluster", {{"listName", "l"}, {"hosts", "app:hunter2@a,b"}, {"ports", "1,2"}}))) ==
        std::vector<std::string>{"metadata.hosts: host and port " + kNotHostPort});
  CHECK(errors_of(parse(trigger("redis", {{"listName", "l"}, {"address", "redis://cache:6379"}}))) ==
        std::vector<std::string>{"metadata.address: address " + kNotHostPort});
  CHECK_FALSE(redis::parse_endpoint("user@host:6379").ok());
}

TEST_CASE("redis: metricType Utilization is rejected") {
  auto c = trigger("redis", {{"listName", "l"}, {"address", "redis:6379"}});
  c.metric_type = "Utilization";
  CHECK(errors_of(parse(c)) == std::vector<std::string>{
                                   "metricType: 'Utilization' metric type is unsupported for external metrics, "
                                   "allowed values are 'Value' or 'AverageValue'"});
}

TEST_CASE("redis: address, host, port and password from every source") {
  using redis::Deployment;
  struct Case {
    const char* what;
    Map metadata, auth, env;
    std::string endpoint;
  };
  const std::vector<Case> cases = {
      {"address from env", {{"addressFromEnv", "REDIS_ADDR"}}, {}, {{"REDIS_ADDR", "env-host:6380"}}, "redis env-host:6380"},
      {"host and port from env",
       {{"hostFromEnv", "REDIS_HOST"}, {"portFromEnv", "REDIS_PORT"}},
       {},
       {{"REDIS_HOST", "h"}, {"REDIS_PORT", "7000"}},
       "redis h:7000"},
      {"address from auth params", {}, {{"address", "auth-host:6381"}}, {}, "redis auth-host:6381"},
      {"host and port from auth params", {}, {{"host", "ah"}, {"port", "6390"}}, {}, "redis ah:6390"},
      {"metadata wins over auth", {{"address", "m:1"}}, {{"address", "a:2"}}, {}, "redis m:1"},
      {"address wins over host", {{"address", "m:1"}, {"host", "h"}, {"port", "2"}}, {}, {}, "redis m:1"},
      {"standalone uses the first address", {{"addresses", "a:1, b:2"}}, {}, {}, "redis a:1"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto metadata = c.metadata;
    metadata["listName"] = "l";
    const auto r = parse(trigger("redis", metadata, c.auth, c.env));
    CHECK(ok(r).endpoint() == c.endpoint);
  }
}

namespace {
struct ConnConfig : redis::ConnectionParams {};
redis::Deployment deployment(const TriggerContext& ctx, redis::Mode mode) {
  static const auto t = [] {
    params::Table<ConnConfig> table;
    redis::add_connection_params(table);
    return table;
  }();
  ConnConfig c;
  auto errors = t.parse(ctx, c);
  INFO((errors.empty() ? std::string() : errors.front().str()));
  REQUIRE(errors.empty());
  auto d = redis::build_deployment(ctx, c, mode);
  INFO((d ? std::string() : d.error().front().str()));
  REQUIRE(d.ok());
  return d.value();
}
}  // namespace

TEST_CASE("redis: credentials keep KEDA's source order (metadata, env, auth params)") {
  const auto d1 = deployment(trigger("redis", {{"address", "a:1"}, {"passwordFromEnv", "PW"}, {"username", "u1"}},
                                     {{"password", "from-auth"}}, {{"PW", "from-env"}}),
                             redis::Mode::Standalone);
  CHECK(d1.password == "from-env");
  CHECK(d1.username == "u1");
  const auto d2 = deployment(trigger("redis", {{"address", "a:1"}}, {{"password", "p"}, {"username", "u"}}),
                             redis::Mode::Standalone);
  CHECK(d2.password == "p");
  CHECK(d2.username == "u");
  const auto d3 =
      deployment(trigger("redis", {{"address", "a:1"}, {"databaseIndex", "3"}}), redis::Mode::Standalone);
  CHECK(d3.db == 3);
  const auto d4 = deployment(trigger("redis-cluster", {{"address", "a:1"}, {"databaseIndex", "3"}}), redis::Mode::Cluster);
  CHECK(d4.db == 0);
}

TEST_CASE("redis: a password never appears in errors") {
  const auto r = parse(trigger("redis", {{"listName", "l"}, {"password", "s3cret"}, {"listLength", "x"}}));
  for (const auto& e : errors_of(r)) CHECK(e.find("s3cret") == std::string::npos);
}

TEST_CASE("redis: TLS from enableTLS or from tls, with certificates from auth params") {
  const auto m = deployment(trigger("redis", {{"address", "a:1"}, {"enableTLS", "true"}, {"unsafeSsl", "true"}},
                                    {{"ca", "CA"}, {"Cert", "CERT"}, {"key", "KEY"}, {"keyPassword", "KP"}}),
                            redis::Mode::Standalone);
  CHECK(m.tls.enabled);
  CHECK(m.tls.insecure_skip_verify);
  CHECK(m.tls.ca_pem == "CA");
  CHECK(m.tls.cert_pem == "CERT");
  CHECK(m.tls.key_pem == "KEY");
  CHECK(m.tls.key_password == "KP");
  CHECK(deployment(trigger("redis", {{"address", "a:1"}}, {{"tls", "enable"}, {"cert", "C"}, {"key", "K"}}),
                   redis::Mode::Standalone)
            .tls.enabled);
  CHECK_FALSE(deployment(trigger("redis", {{"address", "a:1"}}, {{"tls", "disable"}}), redis::Mode::Standalone)
                  .tls.enabled);
  CHECK_FALSE(deployment(trigger("redis", {{"address", "a:1"}, {"enableTLS", "false"}}), redis::Mode::Standalone)
                  .tls.enabled);
}

TEST_CASE("redis-cluster and redis-sentinel: hosts and ports lists are joined in order") {
  const auto cluster = parse(trigger("redis-cluster", {{"listName", "mylist"}, {"hosts", "a, b, c"}, {"ports", "1,2,3"}}));
  CHECK(ok(cluster).endpoint() == "redis cluster a:1,b:2,c:3");
  CHECK(ok(cluster).metric_spec().name == "s0-redis-mylist");

  const auto sentinel = parse(trigger("redis-sentinel", {{"listName", "mylist"},
                                                         {"hosts", "a,b,c"},
                                                         {"ports", "1,2,3"},
                                                         {"sentinelMaster", "mymaster"}}));
  CHECK(ok(sentinel).endpoint() == "redis sentinel a:1,b:2,c:3 master mymaster");

  CHECK(errors_of(parse(trigger("redis-cluster", {{"listName", "l"}, {"hosts", "a,b,c"}, {"ports", "1,2"}}))) ==
        std::vector<std::string>{
            "metadata.ports: not enough hosts or ports given: 3 host(s) and 2 port(s); every host needs its port"});
  CHECK(errors_of(parse(trigger("redis-sentinel", {{"listName", "l"}, {"addresses", "a:1"}}))) ==
        std::vector<std::string>{
            "metadata.sentinelMaster: missing required parameter \"sentinelMaster\" in [triggerMetadata authParams "
            "resolvedEnv]"});

  const auto ipv6 = parse(trigger("redis-cluster", {{"listName", "l"}, {"hosts", "::1"}, {"ports", "7000"}}));
  CHECK(ok(ipv6).endpoint() == "redis cluster [::1]:7000");
}

TEST_CASE("redis-sentinel: sentinel credentials and master from each source") {
  const auto a = deployment(trigger("redis-sentinel", {{"addresses", "s:26379"}},
                                    {{"sentinelUsername", "su"}, {"sentinelPassword", "sp"}, {"sentinelMaster", "m"},
                                     {"username", "u"}, {"password", "p"}}),
                            redis::Mode::Sentinel);
  CHECK(a.sentinel_username == "su");
  CHECK(a.sentinel_password == "sp");
  CHECK(a.sentinel_master == "m");
  CHECK(a.username == "u");
  CHECK(a.password == "p");
  const auto e = deployment(trigger("redis-sentinel",
                                    {{"addresses", "s:26379"}, {"sentinelMasterFromEnv", "M"},
                                     {"sentinelPasswordFromEnv", "SP"}},
                                    {}, {{"M", "env-master"}, {"SP", "env-pw"}}),
                            redis::Mode::Sentinel);
  CHECK(e.sentinel_master == "env-master");
  CHECK(e.sentinel_password == "env-pw");
}

// ---------------------------------------------------------------------------------------------
// redis-streams

TEST_CASE("redis-streams: mode selection decides the target") {
  struct Case {
    Map metadata;
    std::string target;
  };
  const std::vector<Case> cases = {
      {{{"stream", "s"}}, "5"},                                                        // stream length, default
      {{{"stream", "s"}, {"streamLength", "50"}}, "50"},                               // stream length
      {{{"stream", "s"}, {"consumerGroup", "g"}}, "5"},                                // pending, default
      {{{"stream", "s"}, {"consumerGroup", "g"}, {"pendingEntriesCount", "12"}}, "12"}, // pending
      {{{"stream", "s"}, {"consumerGroup", "g"}, {"lagCount", "0"}, {"pendingEntriesCount", "3"}}, "3"},
      {{{"stream", "s"}, {"consumerGroup", "g"}, {"lagCount", "2000"}, {"pendingEntriesCount", "3"}}, "2k"},  // lag
      {{{"stream", "s"}, {"lagCount", "9"}, {"streamLength", "4"}}, "4"},  // lag needs a group
  };
  for (const auto& c : cases) {
    auto metadata = c.metadata;
    metadata["address"] = "r:6379";
    INFO(c.target);
    const auto r = parse(trigger("redis-streams", metadata));
    CHECK(ok(r).metric_spec().target_quantity == c.target);
    CHECK(ok(r).metric_spec().name == "s0-redis-streams-s");
  }
}

TEST_CASE("redis-streams: activationLagCount applies to every mode, errors are exact") {
  const auto r = parse(trigger("redis-cluster-streams",
                               {{"stream", "orders"}, {"activationLagCount", "4"}, {"addresses", "a:1,b:2"}}));
  CHECK(ok(r).metric_spec().activation_target == 4);
  CHECK(ok(r).endpoint() == "redis cluster a:1,b:2");

  CHECK(errors_of(parse(trigger("redis-streams", {{"address", "r:1"}}))) ==
        std::vector<std::string>{"metadata.stream: missing required parameter \"stream\" in [triggerMetadata]"});
  CHECK(errors_of(parse(trigger("redis-streams", {{"stream", "s"}, {"address", "r:1"}, {"lagCount", "x"}}))) ==
        std::vector<std::string>{"metadata.lagCount: must be an integer, got \"x\""});
  CHECK(errors_of(parse(trigger("redis-sentinel-streams", {{"stream", "s"}}))) ==
        std::vector<std::string>{
            "metadata.address: no addresses or hosts given: set address (a comma-separated list of host:port) or "
            "host and port",
            "metadata.sentinelMaster: missing required parameter \"sentinelMaster\" in [triggerMetadata authParams "
            "resolvedEnv]"});
}

TEST_CASE("redis: every type is registered") {
  for (const char* type : {"redis", "redis-cluster", "redis-sentinel", "redis-streams", "redis-cluster-streams",
                           "redis-sentinel-streams"})
    CHECK(Registry::builtin().find(type) != nullptr);
}

TEST_CASE("redis: unknown metadata keys are warnings") {
  const auto* def = Registry::builtin().find("redis");
  const auto w = def->warnings(trigger("redis", {{"listName", "l"}, {"address", "a:1"}, {"listLenght", "3"}}));
  REQUIRE(w.size() == 1);
  CHECK(w.front().path == "metadata.listLenght");
}

// ---------------------------------------------------------------------------------------------
// protocol helpers

TEST_CASE("redis cluster: CRC16 and key slots with hash tags") {
  CHECK(redis::crc16("123456789") == 0x31C3);
  CHECK(redis::key_slot("foo") == 12182);
  CHECK(redis::key_slot("bar") == 5061);
  CHECK(redis::key_slot("{user1000}.following") == redis::key_slot("{user1000}.followers"));
  CHECK(redis::key_slot("{user1000}.following") == redis::key_slot("user1000"));
  CHECK(redis::key_slot("foo{}{bar}") == redis::crc16("foo{}{bar}") % 16384);  // empty tag: whole key
  CHECK(redis::key_slot("foo{{bar}}zap") == redis::key_slot("{bar"));
  CHECK(redis::key_slot("foo{bar}{zap}") == redis::key_slot("bar"));
}

TEST_CASE("redis cluster: MOVED and ASK parsing") {
  using redis::Reply;
  const redis::Endpoint asked{"10.0.0.1", 7000};
  auto moved = redis::parse_redirect(Reply::make_text(Reply::Type::Error, "MOVED 3999 127.0.0.1:6381"), asked);
  REQUIRE(moved);
  CHECK_FALSE(moved->ask);
  CHECK(moved->slot == 3999);
  CHECK(moved->target == redis::Endpoint{"127.0.0.1", 6381});
  auto ask = redis::parse_redirect(Reply::make_text(Reply::Type::Error, "ASK 1 :7002"), asked);
  REQUIRE(ask);
  CHECK(ask->ask);
  CHECK(ask->target == redis::Endpoint{"10.0.0.1", 7002});
  CHECK_FALSE(redis::parse_redirect(Reply::make_text(Reply::Type::Error, "WRONGTYPE x"), asked));
  CHECK_FALSE(redis::parse_redirect(Reply::make_text(Reply::Type::Status, "MOVED 1 a:1"), asked));
  CHECK_FALSE(redis::parse_redirect(Reply::make_text(Reply::Type::Error, "MOVED 99999 a:1"), asked));
}

TEST_CASE("redis cluster: slot map from CLUSTER SLOTS") {
  using redis::Reply;
  auto node = [](std::string host, long long port) {
    return Reply::make_array({Reply::make_text(Reply::Type::String, std::move(host)), Reply::make_integer(port),
                              Reply::make_text(Reply::Type::String, "id")});
  };
  const auto reply = Reply::make_array({
      Reply::make_array({Reply::make_integer(0), Reply::make_integer(5460), node("127.0.0.1", 7001), node("127.0.0.1", 7004)}),
      Reply::make_array({Reply::make_integer(5461), Reply::make_integer(16383), node("", 7002)}),
  });
  auto map = redis::SlotMap::from_cluster_slots(reply, {"10.1.1.1", 7001});
  REQUIRE(map);
  CHECK(map->masters().size() == 2);
  CHECK(*map->master_for(0) == redis::Endpoint{"127.0.0.1", 7001});
  CHECK(*map->master_for(5461) == redis::Endpoint{"10.1.1.1", 7002});
  CHECK(*map->master_for(redis::key_slot("foo")) == redis::Endpoint{"10.1.1.1", 7002});
  CHECK_FALSE(redis::SlotMap::from_cluster_slots(Reply::make_array({}), {"h", 1}));
}

TEST_CASE("redis: RESP encoding and incremental parsing through hiredis") {
  std::string wire;
  redis::encode_command({"SET", "k", std::string("a\0b", 3)}, wire);
  CHECK(wire == std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));

  redis::ReplyParser parser;
  const std::string input = "*2\r\n:42\r\n$-1\r\n+OK\r\n-ERR bad\r\n";
  parser.feed(input.data(), 5);  // partial: no reply yet
  auto none = parser.next();
  REQUIRE(none.ok());
  CHECK(*none == nullptr);
  parser.feed(input.data() + 5, input.size() - 5);
  auto array = parser.next();
  REQUIRE(array.ok());
  REQUIRE((*array)->is_array());
  CHECK((*array)->elements[0].integer == 42);
  CHECK((*array)->elements[1].is_nil());
  CHECK((*parser.next())->str == "OK");
  auto err = parser.next();
  CHECK((*err)->is_error());
  CHECK((*err)->str == "ERR bad");

  redis::ReplyParser broken;
  broken.feed("?what\r\n", 7);
  CHECK_FALSE(broken.next().ok());
}

TEST_CASE("redis: endpoints parse host:port and bracketed IPv6") {
  CHECK(*redis::parse_endpoint("localhost:6379") == redis::Endpoint{"localhost", 6379});
  CHECK(*redis::parse_endpoint("[::1]:6379") == redis::Endpoint{"::1", 6379});
  CHECK(redis::Endpoint{"::1", 1}.str() == "[::1]:1");
  CHECK_FALSE(redis::parse_endpoint("host:0").ok());
  CHECK_FALSE(redis::parse_endpoint("host:70000").ok());
  CHECK_FALSE(redis::parse_endpoint(":6379").ok());
}
