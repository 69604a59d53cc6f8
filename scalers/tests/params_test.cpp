#include "ebb/scalers/params.h"

#include <catch2/catch.hpp>

#include "ebb/scalers/registry.h"

using namespace ebb::scalers;
using namespace ebb::scalers::params;

namespace {

struct Sample {
  std::string address;
  std::int64_t length = 0;
  double value = 0;
  bool flag = false;
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> list;
  std::vector<std::int64_t> partitions;
  std::map<std::string, std::string> labels;
  std::string mode;
  std::optional<std::int64_t> maybe;
  std::string password;
};

const Table<Sample>& table() {
  static const auto t = Table<Sample>()
                            .add(&Sample::address, "address;addresses", {M, A, E})
                            .add(&Sample::length, "listLength", {M}, {.default_value = "5"})
                            .add(&Sample::value, "value", {M}, {.optional = true})
                            .add(&Sample::flag, "enableTLS", {M}, {.default_value = "false"})
                            .add(&Sample::timeout, "timeout", {M}, {.optional = true})
                            .add(&Sample::list, "hosts", {M}, {.optional = true})
                            .add(&Sample::partitions, "partitionLimitation", {M},
                                 {.optional = true, .ranges = true})
                            .add(&Sample::labels, "labels", {M}, {.optional = true})
                            .add(&Sample::mode, "mode", {M},
                                 {.default_value = "QueueLength", .one_of = {"QueueLength", "MessageRate"}})
                            .add(&Sample::maybe, "maybe", {M}, {.optional = true})
                            .add(&Sample::password, "password", {A, E}, {.optional = true, .secret = true})
                            .add(&Sample::mode, "queueLength", {M}, {.deprecated = "use mode and value"});
  return t;
}

TriggerContext ctx(std::map<std::string, std::string> metadata,
                   std::map<std::string, std::string> auth = {},
                   std::map<std::string, std::string> env = {}) {
  TriggerContext c;
  c.type = "sample";
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  c.resolved_env = std::move(env);
  return c;
}

std::vector<std::string> messages(const ebb::FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.str());
  return out;
}

}  // namespace

TEST_CASE("params: defaults, trimming and aliases") {
  Sample s;
  auto errors = table().parse(ctx({{"addresses", "  redis:6379 "}}), s);
  REQUIRE(errors.empty());
  CHECK(s.address == "redis:6379");
  CHECK(s.length == 5);
  CHECK(s.flag == false);
  CHECK(s.mode == "QueueLength");
  CHECK_FALSE(s.maybe.has_value());
}

TEST_CASE("params: first non-empty source in order wins, FromEnv indirection") {
  Sample s;
  // Empty metadata value falls through to auth params.
  REQUIRE(table().parse(ctx({{"address", "  "}}, {{"address", "auth:1"}}), s).empty());
  CHECK(s.address == "auth:1");

  Sample e;
  REQUIRE(table().parse(ctx({{"addressFromEnv", "REDIS_ADDR"}}, {}, {{"REDIS_ADDR", "env:2"}}), e).empty());
  CHECK(e.address == "env:2");

  Sample m;
  REQUIRE(table().parse(ctx({{"address", "meta:3"}}, {{"address", "auth:1"}}), m).empty());
  CHECK(m.address == "meta:3");
}

TEST_CASE("params: missing required parameter names the sources") {
  Sample s;
  CHECK(messages(table().parse(ctx({}), s)) ==
        std::vector<std::string>{
            "metadata.address: missing required parameter \"address\" in [triggerMetadata authParams resolvedEnv]"});
}

TEST_CASE("params: type errors are located and quote the value") {
  struct Case {
    std::map<std::string, std::string> metadata;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{"listLength", "1.5"}}, "metadata.listLength: must be an integer, got \"1.5\""},
      {{{"listLength", "AA"}}, "metadata.listLength: must be an integer, got \"AA\""},
      {{{"value", "abc"}}, "metadata.value: must be a number, got \"abc\""},
      {{{"enableTLS", "yes"}}, "metadata.enableTLS: must be a boolean (true or false), got \"yes\""},
      {{{"timeout", "-10"}}, "metadata.timeout: must not be negative, got \"-10\""},
      {{{"timeout", "error"}},
       "metadata.timeout: must be a duration such as \"500ms\", \"30s\" or \"2m\", or an integer number of "
       "milliseconds, got \"error\""},
      {{{"partitionLimitation", "a,b"}},
       "metadata.partitionLimitation: must be a list of integers and ranges such as \"1,2,10-12\", got \"a,b\""},
      {{{"labels", "a=1,b"}}, "metadata.labels: must be a list of key=value pairs, got \"b\""},
      {{{"mode", "Fast"}}, "metadata.mode: must be one of [QueueLength, MessageRate], got \"Fast\""},
      {{{"queueLength", "10"}}, "metadata.queueLength: parameter \"queueLength\" is deprecated: use mode and value"},
  };
  for (const auto& c : cases) {
    auto metadata = c.metadata;
    metadata["address"] = "x";
    Sample s;
    INFO(c.error);
    CHECK(messages(table().parse(ctx(metadata), s)) == std::vector<std::string>{c.error});
  }
}

TEST_CASE("params: every error is reported, not only the first") {
  Sample s;
  CHECK(table().parse(ctx({{"listLength", "x"}, {"enableTLS", "maybe"}}), s).size() == 3);
}

TEST_CASE("params: typed values") {
  Sample s;
  REQUIRE(table()
              .parse(ctx({{"address", "a"},
                          {"value", "1.25"},
                          {"enableTLS", "True"},
                          {"timeout", "1m30s"},
                          {"hosts", "a, b ,c"},
                          {"partitionLimitation", "1-4,8,10-12"},
                          {"labels", "k=v, k2 = v2"},
                          {"mode", "MessageRate"},
                          {"maybe", "-7"}}),
                     s)
              .empty());
  CHECK(s.value == 1.25);
  CHECK(s.flag);
  CHECK(s.timeout == std::chrono::seconds(90));
  CHECK(s.list == std::vector<std::string>{"a", "b", "c"});
  CHECK(s.partitions == std::vector<std::int64_t>{1, 2, 3, 4, 8, 10, 11, 12});
  CHECK(s.labels == std::map<std::string, std::string>{{"k", "v"}, {"k2", "v2"}});
  CHECK(s.mode == "MessageRate");
  CHECK(s.maybe == -7);
}

TEST_CASE("params: durations") {
  CHECK(*parse_duration("1000") == std::chrono::milliseconds(1000));
  CHECK(*parse_duration("300ms") == std::chrono::milliseconds(300));
  CHECK(*parse_duration("2h") == std::chrono::hours(2));
  CHECK(*parse_duration("1.5s") == std::chrono::milliseconds(1500));
  CHECK(*parse_duration("0") == std::chrono::milliseconds(0));
  CHECK_FALSE(parse_duration("10x"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration(""));
}

TEST_CASE("params: bools follow Go strconv.ParseBool") {
  for (auto t : {"1", "t", "T", "TRUE", "true", "True"}) CHECK(*parse_bool(t));
  for (auto f : {"0", "f", "F", "FALSE", "false", "False"}) CHECK_FALSE(*parse_bool(f));
  for (auto bad : {"yes", "no", "tRUE", "2", ""}) CHECK_FALSE(parse_bool(bad));
}

TEST_CASE("params: integers follow JSON number rules") {
  CHECK(*parse_int("10") == 10);
  CHECK(*parse_int("-1") == -1);
  CHECK(*parse_int("1000000") == 1000000);
  for (auto bad : {"1.5", "1e3", "+5", "010", "", "-", "99999999999999999999"}) CHECK_FALSE(parse_int(bad));
  CHECK(*parse_float("1e3") == 1000);
  CHECK(*parse_float("0.5") == 0.5);
  for (auto bad : {".5", "1.", "inf", "NaN", "0x10"}) CHECK_FALSE(parse_float(bad));
}

TEST_CASE("params: secrets never appear in messages") {
  Sample s;
  auto errors = table().parse(ctx({{"address", "a"}}, {{"password", "hunter2"}}), s);
  REQUIRE(errors.empty());
  CHECK(s.password == "hunter2");
}

TEST_CASE("params: unknown metadata keys get a did-you-mean hint") {
  auto warnings = table().unknown_metadata_keys(ctx({{"adress", "a"}, {"listLength", "3"}, {"addressFromEnv", "X"}}));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].str() ==
        "metadata.adress: unknown parameter \"adress\" for trigger type \"sample\" (did you mean \"address\"?)");
}

TEST_CASE("params: path_of names where a parameter was found, else where it belongs") {
  const auto c = ctx({{"addressesFromEnv", "REDIS"}, {"listLength", "3"}}, {{"password", "x"}}, {{"REDIS", "r:1"}});
  CHECK(path_of(c, "address;addresses", {M, A, E}) == "metadata.addressesFromEnv");
  CHECK(path_of(c, "listLength", {M}) == "metadata.listLength");
  CHECK(path_of(c, "password", {A, E}) == "authParams.password");
  CHECK(path_of(c, "cert;Cert", {A}) == "authParams.cert");
  CHECK(path_of(c, "host;hosts", {M, E, A}) == "metadata.host");
}

TEST_CASE("params: a table's warnings are unknown keys, then deprecation announcements") {
  struct Announced {
    std::string old_name, name;
  };
  const auto t = Table<Announced>()
                     .add(&Announced::name, "name", {M})
                     .add(&Announced::old_name, "oldName", {M}, {.optional = true, .announce = "use name"});
  CHECK(messages(t.warnings(ctx({{"name", "a"}, {"oldName", "b"}, {"nmae", "c"}}))) ==
        std::vector<std::string>{
            "metadata.nmae: unknown parameter \"nmae\" for trigger type \"sample\" (did you mean \"name\"?)",
            "metadata.oldName: parameter \"oldName\" is deprecated: use name"});
  CHECK(t.warnings(ctx({{"name", "a"}})).empty());
}

TEST_CASE("registry: KEDA's scaler names label the metrics of every registered type") {
  const auto& r = ebb::scalers::Registry::builtin();
  CHECK(r.keda_name("redis") == "redisScaler");
  CHECK(r.keda_name("redis-sentinel") == "redisScaler");
  CHECK(r.keda_name("redis-cluster-streams") == "redisStreamsScaler");
  CHECK(r.keda_name("rabbitmq") == "rabbitMQScaler");
  CHECK(r.keda_name("kafka") == "kafkaScaler");
  CHECK(r.keda_name("cpu") == "cpuMemoryScaler");
  // A type without a definition gets KEDA's pattern.
  CHECK(r.keda_name("azure-service-bus") == "azureServiceBusScaler");
  for (const auto* def : r.definitions()) {
    CAPTURE(def->types.front());
    CHECK_FALSE(def->keda_name.empty());
    CHECK_FALSE(def->summary.empty());
    CHECK(def->parameters);
  }
}

TEST_CASE("registry: a type registered twice is a programming error") {
  ebb::scalers::Registry r;
  r.add(*ebb::scalers::Registry::builtin().find("kafka"));
  CHECK_THROWS_AS(r.add(*ebb::scalers::Registry::builtin().find("kafka")), std::logic_error);
}
