// Pure tests of the beanstalkd scaler: every row of KEDA's beanstalkd_scaler_test.go with exact
// errors, its metric names, its TestGetTubeStats cases as decoded replies, and the protocol
// pieces (stats decoding as go-beanstalk + mapstructure do it, reply errors, server and tube
// checks, Go's ParseInt).
#include <catch2/catch.hpp>

#include "beanstalkd/protocol.h"
#include "builtin.h"
#include "go_strconv.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

const std::string kServer = "localhost:3000";  // KEDA's beanstalkdServer

TriggerContext trigger(Map metadata, std::size_t index = 0) {
  TriggerContext c;
  c.type = "beanstalkd";
  c.index = index;
  c.metadata = std::move(metadata);
  return c;
}

std::vector<std::string> errors_of(const Map& metadata) {
  auto r = Registry::builtin().parse(trigger(metadata));
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

const std::string kMissingServer =
    "metadata.server: missing required parameter \"server\" in [triggerMetadata]";
const std::string kMissingTube =
    "metadata.tube: missing required parameter \"tube\" in [triggerMetadata]";
const std::string kMissingValue =
    "metadata.value: missing required parameter \"value\" in [triggerMetadata]";
using Errors = std::vector<std::string>;

// A stats-tube body as beanstalkd (and KEDA's test, through yaml.Marshal) writes it.
std::string body(int ready, int reserved, int delayed, int buried) {
  return "---\nname: form-crawler-notifications\ncurrent-jobs-urgent: 0\ncurrent-jobs-ready: " +
         std::to_string(ready) + "\ncurrent-jobs-reserved: " + std::to_string(reserved) +
         "\ncurrent-jobs-delayed: " + std::to_string(delayed) +
         "\ncurrent-jobs-buried: " + std::to_string(buried) +
         "\ntotal-jobs: 24\ncurrent-using: 3\ncurrent-waiting: 3\ncurrent-watching: 3\npause: "
         "0\ncmd-delete: 18\n"
         "cmd-pause-tube: 0\npause-time-left: 0\n";
}

}  // namespace

TEST_CASE("beanstalkd: KEDA's testBeanstalkdMetadata rows, with exact errors") {
  CHECK(errors_of({}) == Errors{kMissingServer, kMissingTube, kMissingValue});
  CHECK(errors_of(
            {{"server", kServer}, {"tube", "delayed"}, {"value", "1"}, {"includeDelayed", "true"}})
            .empty());
  CHECK(errors_of({{"server", kServer}, {"tube", "no-delayed"}, {"value", "1"}}).empty());
  CHECK(errors_of({{"tube", "stats-tube"}, {"value", "1"}, {"includeDelayed", "true"}}) ==
        Errors{kMissingServer});
  CHECK(errors_of({{"server", kServer}, {"value", "1"}, {"includeDelayed", "true"}}) ==
        Errors{kMissingTube});
  CHECK(errors_of({{"server", kServer}, {"tube", "stats-tube"}, {"includeDelayed", "true"}}) ==
        Errors{kMissingValue});
  CHECK(errors_of({{"server", kServer},
                   {"tube", "stats-tube"},
                   {"value", "lots"},
                   {"includeDelayed", "true"}}) ==
        Errors{"metadata.value: must be a number, got \"lots\""});
  CHECK(errors_of({{"server", kServer},
                   {"tube", "stats-tube"},
                   {"value", "1"},
                   {"includeDelayed", "true"},
                   {"timeout", "1000"}})
            .empty());
  CHECK(errors_of({{"server", kServer},
                   {"tube", "stats-tube"},
                   {"value", "1"},
                   {"includeDelayed", "true"},
                   {"timeout", "-1"}}) ==
        Errors{"metadata.timeout: must not be negative, got \"-1\""});
  CHECK(
      errors_of(
          {{"server", kServer}, {"tube", "stats-tube"}, {"value", "1"}, {"activationValue", "10"}})
          .empty());
  CHECK(errors_of({{"server", kServer},
                   {"tube", "stats-tube"},
                   {"value", "1"},
                   {"activationValue", "AA"}}) ==
        Errors{"metadata.activationValue: must be a number, got \"AA\""});
  // What KEDA's includeDelayed assertion meant to check.
  CHECK(
      errors_of({{"server", kServer}, {"tube", "t"}, {"value", "1"}, {"includeDelayed", "yes"}}) ==
      Errors{"metadata.includeDelayed: must be a boolean (true or false), got \"yes\""});
  CHECK(
      errors_of({{"server", kServer}, {"tube", "t"}, {"value", "1"}, {"timeout", "30s"}}).empty());
  CHECK(errors_of({{"server", kServer}, {"tube", "t"}, {"value", "1"}, {"timeout", "soon"}}) ==
        Errors{"metadata.timeout: must be a duration such as \"500ms\", \"30s\" or \"2m\", or an "
               "integer number of "
               "milliseconds, got \"soon\""});
}

TEST_CASE("beanstalkd: KEDA's metric names, targets and definition") {
  auto r0 = Registry::builtin().parse(
      trigger({{"server", kServer}, {"tube", "no-delayed"}, {"value", "1"}}, 0));
  REQUIRE(r0.ok());
  CHECK((*r0)->metric_spec().name == "s0-beanstalkd-no-delayed");
  CHECK((*r0)->metric_spec().target_quantity == "1");
  CHECK((*r0)->endpoint() == "beanstalkd localhost:3000");
  auto r1 = Registry::builtin().parse(trigger(
      {{"server", kServer}, {"tube", "delayed"}, {"value", "1"}, {"includeDelayed", "true"}}, 1));
  REQUIRE(r1.ok());
  CHECK((*r1)->metric_spec().name == "s1-beanstalkd-delayed");
  auto name = [](const std::string& tube) {
    auto r =
        Registry::builtin().parse(trigger({{"server", kServer}, {"tube", tube}, {"value", "2.5"}}));
    REQUIRE(r.ok());
    return (*r)->metric_spec().name;
  };
  CHECK(name("a/b") == "s0-beanstalkd-a-2Fb");
  CHECK(name("a.b") == "s0-beanstalkd-a-b");
  CHECK(name("x+y") == "s0-beanstalkd-x-2By");
  CHECK(name("f(x);$_") == "s0-beanstalkd-f-28x-29-3B-24_");
  const auto* def = Registry::builtin().find("beanstalkd");
  REQUIRE(def);
  CHECK(def->keda_name == "BeanstalkdScaler");
}

TEST_CASE("beanstalkd: KEDA's TestGetTubeStats cases, decoded") {
  struct Case {
    int ready, reserved, delayed, buried;
    bool include_delayed;
    double activation;
    double value;
    bool active;
  };
  for (const Case& c :
       {Case{10, 0, 0, 6, false, 0, 10, true}, Case{1, 0, 0, 0, false, 2, 1, false},
        Case{0, 0, 10, 0, false, 0, 0, false}, Case{0, 0, 10, 0, true, 0, 10, true}}) {
    auto stats = beanstalkd::decode_stats(body(c.ready, c.reserved, c.delayed, c.buried));
    REQUIRE(stats.ok());
    CHECK(stats->total_jobs == 24);
    CHECK(stats->jobs_buried == c.buried);
    const double value = beanstalkd::jobs(*stats, c.include_delayed);
    CHECK(value == c.value);
    CHECK((value > c.activation) == c.active);
  }
  auto reserved = beanstalkd::decode_stats(body(2, 3, 4, 0));
  CHECK(beanstalkd::jobs(*reserved, false) == 5);
  CHECK(beanstalkd::jobs(*reserved, true) == 9);
}

TEST_CASE("beanstalkd: stats decoding as go-beanstalk's parseDict and mapstructure's WeakDecode") {
  // Missing keys are 0, empty values are 0, base prefixes count, unrelated lines are ignored.
  auto s = beanstalkd::decode_stats(
      "current-jobs-ready: 0x10\ncurrent-jobs-reserved: \nno colon here\nx: y: z\n");
  REQUIRE(s.ok());
  CHECK(s->jobs_ready == 16);
  CHECK(s->jobs_reserved == 0);
  CHECK(s->jobs_delayed == 0);
  CHECK(beanstalkd::decode_stats("---\ncurrent-jobs-ready: 010\n")->jobs_ready == 8);
  CHECK(beanstalkd::decode_stats("current-jobs-ready: 1_000\n")->jobs_ready == 1000);
  // A bad value in any of the six counters is an error, even one the value does not use.
  CHECK(beanstalkd::decode_stats("current-jobs-ready: abc\n").error() ==
        "cannot parse 'current-jobs-ready' as int: strconv.ParseInt: parsing \"abc\": invalid "
        "syntax");
  CHECK(beanstalkd::decode_stats("current-jobs-urgent: 99999999999999999999\n").error() ==
        "cannot parse 'current-jobs-urgent' as int: strconv.ParseInt: parsing "
        "\"99999999999999999999\": value out "
        "of range");
  // Values are not trimmed: a CR before the LF breaks them, as in KEDA.
  CHECK_FALSE(beanstalkd::decode_stats("current-jobs-ready: 5\r\n").ok());
}

TEST_CASE("beanstalkd: go-beanstalk's reply errors") {
  CHECK(beanstalkd::reply_error("NOT_FOUND") == "not found");
  CHECK(beanstalkd::reply_error("BAD_FORMAT") == "bad command format");
  CHECK(beanstalkd::reply_error("INTERNAL_ERROR") == "internal error");
  CHECK(beanstalkd::reply_error("OUT_OF_MEMORY") == "server is out of memory");
  CHECK(beanstalkd::reply_error("UNKNOWN_COMMAND") == "unknown command");
  CHECK(beanstalkd::reply_error("HELLO") == "unknown response: HELLO");
}

TEST_CASE("beanstalkd: server is host:port with a port, checked when parsed") {
  auto server = [](const std::string& text) { return beanstalkd::parse_server(text); };
  CHECK(server("beanstalkd:11300")->str() == "beanstalkd:11300");
  CHECK(server("[::1]:11300")->str() == "[::1]:11300");
  CHECK(server("10.0.0.1:1")->port == 1);
  CHECK(server("localhost").error() ==
        "missing port in address \"localhost\"; beanstalkd's is usually 11300 (host:11300)");
  CHECK(server("h:0").error() == "the port must be a number from 1 to 65535, got \"0\"");
  CHECK(server("h:port").error() == "the port must be a number from 1 to 65535, got \"port\"");
  CHECK(server(":11300").error() == "missing host in address \":11300\"");
  CHECK(server("::1:11300").error() ==
        "too many colons in address \"::1:11300\"; write an IPv6 address as [addr]:port");
  CHECK(server("tcp://user:pw@h:1").error() ==
        "must be host:port (e.g. beanstalkd:11300), not a URL");
  CHECK(errors_of({{"server", "localhost"}, {"tube", "t"}, {"value", "1"}}) ==
        Errors{"metadata.server: missing port in address \"localhost\"; beanstalkd's is usually "
               "11300 (host:11300)"});
}

TEST_CASE("beanstalkd: tube names beanstalkd would refuse are errors when parsed") {
  CHECK_FALSE(beanstalkd::tube_name_problem("default"));
  CHECK_FALSE(beanstalkd::tube_name_problem("a-b+c/d;e.f$g_h(i)"));
  CHECK(*beanstalkd::tube_name_problem("my tube") ==
        "beanstalkd does not allow \" \" in a tube name (letters, digits and - + / ; . $ _ ( ) "
        "only)");
  CHECK(*beanstalkd::tube_name_problem("a\r\nquit") ==
        "beanstalkd does not allow \"\\r\" in a tube name (letters, digits and - + / ; . $ _ ( ) "
        "only)");
  CHECK(*beanstalkd::tube_name_problem("-x") == "a tube name must not start with '-'");
  CHECK(*beanstalkd::tube_name_problem(std::string(201, 'a')) ==
        "a tube name has at most 200 bytes, this one has 201");
  CHECK_FALSE(beanstalkd::tube_name_problem(std::string(200, 'a')));
  CHECK(errors_of({{"server", kServer}, {"tube", "my tube"}, {"value", "1"}}) ==
        Errors{"metadata.tube: beanstalkd does not allow \" \" in a tube name (letters, digits and "
               "- + / ; . $ _ ( ) "
               "only)"});
}

TEST_CASE("beanstalkd: a bare timeout below 1000 is milliseconds, and a warning says so") {
  auto warnings = [](const std::string& timeout) {
    return Registry::builtin().warnings(
        trigger({{"server", kServer}, {"tube", "t"}, {"value", "1"}, {"timeout", timeout}}));
  };
  const auto w = warnings("30");
  REQUIRE(w.size() == 1);
  CHECK(w[0].str() ==
        "metadata.timeout: timeout \"30\" is read as 30 milliseconds (a bare number is "
        "milliseconds, as in KEDA); "
        "write \"30s\" for seconds");
  CHECK(warnings("1000").empty());
  CHECK(warnings("30s").empty());
  CHECK(warnings("0").empty());
}

TEST_CASE("go strconv: ParseInt(s, 0, 64)") {
  CHECK(go_parse_int("0").value == 0);
  CHECK(go_parse_int("-42").value == -42);
  CHECK(go_parse_int("+7").value == 7);
  CHECK(go_parse_int("0b101").value == 5);
  CHECK(go_parse_int("0o17").value == 15);
  CHECK(go_parse_int("017").value == 15);
  CHECK(go_parse_int("0xFF").value == 255);
  CHECK(go_parse_int("9223372036854775807").value == INT64_MAX);
  CHECK(go_parse_int("-9223372036854775808").value == INT64_MIN);
  CHECK(go_parse_int("9223372036854775808").error == "value out of range");
  for (const char* bad : {"", "-", "08", "0x", "1_", "_1", "1__2", "0xg", " 1", "1.0"})
    CHECK(go_parse_int(bad).error == "invalid syntax");
}
