// Pure tests of the etcd scaler: KEDA's parsing tables with exact errors, metric specs, the
// endpoint URLs, Go's ParseFloat, and the gateway's JSON (range answers, watch messages, errors).
#include <catch2/catch.hpp>

#include <cmath>

#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "etcd/gateway.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

TriggerContext trigger(Map metadata, Map auth = {}, Map env = {}) {
  TriggerContext c;
  c.type = "etcd";
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  c.resolved_env = std::move(env);
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

const Map kRow0 = {{"endpoints", "172.0.0.1:2379,172.0.0.2:2379,172.0.0.3:2379"},
                   {"watchKey", "length"},
                   {"value", "5.5"},
                   {"activationValue", "0.5"},
                   {"watchProgressNotifyInterval", "600"}};

}  // namespace

TEST_CASE("etcd: KEDA's TestParseEtcdMetadata table, with exact errors") {
  struct Case {
    std::string endpoints, key, value, activation, interval;
    std::vector<std::string> errors;
  };
  const std::vector<Case> cases = {
      {"172.0.0.1:2379,172.0.0.2:2379,172.0.0.3:2379", "length", "5.5", "0.5", "600", {}},
      {"172.0.0.1:2379", "var", "5.5", "0.5", "600", {}},
      {"",
       "length",
       "5",
       "0",
       "600",
       {"metadata.endpoints: missing required parameter \"endpoints\" in [triggerMetadata]"}},
      {"172.0.0.1:2379",
       "",
       "5",
       "0",
       "600",
       {"metadata.watchKey: missing required parameter \"watchKey\" in [triggerMetadata]"}},
      {"172.0.0.1:2379",
       "length",
       "a",
       "0",
       "600",
       {"metadata.value: must be a number, got \"a\""}},
      {"172.0.0.1:2379",
       "length",
       "5",
       "b",
       "600",
       {"metadata.activationValue: must be a number, got \"b\""}},
      {"172.0.0.1:2379",
       "length",
       "5",
       "0",
       "0",
       {"metadata.watchProgressNotifyInterval: watchProgressNotifyInterval must be greater than "
        "0"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    const auto& c = cases[i];
    const auto r = parse(trigger({{"endpoints", c.endpoints},
                                  {"watchKey", c.key},
                                  {"value", c.value},
                                  {"activationValue", c.activation},
                                  {"watchProgressNotifyInterval", c.interval}}));
    CHECK(errors_of(r) == c.errors);
  }
  // The endpoints a row gives, in order.
  const auto r0 = parse(trigger(kRow0));
  REQUIRE(r0.ok());
  CHECK(r0.value()->endpoint() ==
        "etcd http://172.0.0.1:2379,http://172.0.0.2:2379,http://172.0.0.3:2379");
}

TEST_CASE("etcd: KEDA's TestParseEtcdAuthParams table, with exact errors") {
  struct Case {
    Map auth;
    std::vector<std::string> errors;
    std::string endpoint;  // when it parses
  };
  const std::vector<Case> cases = {
      {{{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       {},
       "etcd https://172.0.0.1:2379"},
      {{{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}}, {}, "etcd https://172.0.0.1:2379"},
      {{{"tls", "enable"}, {"cert", "ceert"}, {"key", "keey"}, {"keyPassword", "keeyPassword"}},
       {},
       "etcd https://172.0.0.1:2379"},
      {{{"tls", "enable"}, {"ca", "caaa"}}, {}, "etcd https://172.0.0.1:2379"},
      {{{"tls", "enable"}, {"ca", "caaa"}, {"key", "keey"}},
       {"authParams.cert: cert must be provided with key"},
       ""},
      {{{"tls", "enable"}, {"ca", "caaa"}, {"cert", "ceert"}},
       {"authParams.key: key must be provided with cert"},
       ""},
      {{{"tls", "yes"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       {"authParams.tls: incorrect value for TLS given: yes"},
       ""},
      {{{"username", "root"}, {"password", "admin"}}, {}, "etcd http://172.0.0.1:2379"},
      {{{"username", "root"}},
       {"authParams.password: password must be provided with username"},
       ""},
      {{{"password", "admin"}},
       {"authParams.username: username must be provided with password"},
       ""},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    auto m = kRow0;
    m["endpoints"] = "172.0.0.1:2379";
    const auto r = parse(trigger(m, cases[i].auth));
    CHECK(errors_of(r) == cases[i].errors);
    if (r) CHECK(r.value()->endpoint() == cases[i].endpoint);
  }
  // Every rule that fails is reported (KEDA stops at the first), and a password is never quoted.
  auto m = kRow0;
  m["watchProgressNotifyInterval"] = "-1";
  CHECK(errors_of(parse(trigger(m, {{"tls", "Enable"}, {"password", "hunter2"}}))) ==
        std::vector<std::string>{"metadata.watchProgressNotifyInterval: "
                                 "watchProgressNotifyInterval must be greater than 0",
                                 "authParams.tls: incorrect value for TLS given: Enable",
                                 "authParams.username: username must be provided with password"});
  // username and password may come from the target's environment.
  m = kRow0;
  m["usernameFromEnv"] = "ETCD_USER";
  m["passwordFromEnv"] = "ETCD_PASSWORD";
  CHECK(parse(trigger(m, {}, {{"ETCD_USER", "root"}, {"ETCD_PASSWORD", "pw"}})).ok());
}

TEST_CASE("etcd: endpoints must be [http(s)://]host:port") {
  auto m = kRow0;
  m["endpoints"] = "10.0.0.1:2379,,unix:///run/etcd.sock,http://etcd:2379/,https://[::1]:2379,etcd";
  CHECK(errors_of(parse(trigger(m))) ==
        std::vector<std::string>{"metadata.endpoints: endpoint 2 must be host:port, "
                                 "http://host:port or https://host:port, got \"\"",
                                 "metadata.endpoints: endpoint 3 must be host:port, "
                                 "http://host:port or https://host:port, got "
                                 "\"unix:///run/etcd.sock\"",
                                 "metadata.endpoints: endpoint 6 must be host:port, "
                                 "http://host:port or https://host:port, got \"etcd\""});
  CHECK(*etcd::endpoint_url("10.0.0.1:2379", false) == "http://10.0.0.1:2379");
  CHECK(*etcd::endpoint_url("10.0.0.1:2379", true) == "https://10.0.0.1:2379");
  CHECK(*etcd::endpoint_url("http://etcd:2379/", true) ==
        "http://etcd:2379");  // the scheme wins, as clientv3
  CHECK(*etcd::endpoint_url("https://etcd:2379", false) == "https://etcd:2379");
  CHECK(*etcd::endpoint_url("https://[::1]:2379", false) == "https://[::1]:2379");
  CHECK_FALSE(etcd::endpoint_url("etcd:2379/v3", false));
  CHECK_FALSE(etcd::endpoint_url("user:pw@etcd:2379", false));
  CHECK_FALSE(etcd::endpoint_url("etcd:0", false));
}

TEST_CASE("etcd: metric spec (TestEtcdGetMetricSpecForScaling) and definition") {
  auto c = trigger(kRow0);
  const auto r0 = parse(c);
  REQUIRE(r0.ok());
  CHECK(r0.value()->metric_spec().name == "s0-etcd-length");
  CHECK(r0.value()->metric_spec().target_quantity == "5.500");
  CHECK(r0.value()->metric_spec().target == 5.5);
  CHECK(r0.value()->metric_spec().activation_target == 0.5);
  c.index = 1;
  c.metadata["watchKey"] = "var";
  const auto r1 = parse(c);
  REQUIRE(r1.ok());
  CHECK(r1.value()->metric_spec().name == "s1-etcd-var");
  c.metadata["watchKey"] = "/a/b.c";
  const auto r2 = parse(c);
  REQUIRE(r2.ok());
  CHECK(r2.value()->metric_spec().name == "s1-etcd--a-b-c");
  const auto* def = Registry::builtin().find("etcd");
  REQUIRE(def);
  CHECK(def->keda_name == "etcdScaler");
  CHECK(def->push);
}

TEST_CASE("etcd: gateway requests and answers") {
  CHECK(etcd::range_body("length") == R"({"key":"bGVuZ3Ro"})");
  CHECK(etcd::watch_body("length") ==
        R"({"create_request":{"key":"bGVuZ3Ro","progress_notify":true}})");
  CHECK(etcd::authenticate_body("root", "pw") == R"({"name":"root","password":"pw"})");

  auto found = etcd::decode_range(
      R"({"header":{"revision":"7"},"kvs":[{"key":"bGVuZ3Ro","create_revision":"5","mod_revision":"7","version":"3","value":"NDI="}],"count":"1"})");
  REQUIRE(found.ok());
  CHECK(**found == "42");
  auto missing = etcd::decode_range(R"({"header":{"revision":"7"}})");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  auto empty_value = etcd::decode_range(R"({"kvs":[{"key":"bGVuZ3Ro"}],"count":"1"})");
  REQUIRE(empty_value.ok());
  CHECK(**empty_value == "");
  CHECK_FALSE(etcd::decode_range("<html>").ok());
  CHECK_FALSE(etcd::decode_range(R"({"kvs":[{"value":"***"}]})").ok());

  CHECK(
      etcd::gateway_error(
          401,
          R"({"error":"etcdserver: user name is empty","code":2,"message":"etcdserver: user name is empty"})") ==
      "etcdserver: user name is empty");
  CHECK(etcd::gateway_error(503, R"({"error":"etcdserver: no leader"})") ==
        "etcdserver: no leader");
  CHECK(etcd::gateway_error(502, "Bad Gateway") == "HTTP 502: Bad Gateway");
}

TEST_CASE("etcd: watch messages and their framing") {
  auto created =
      etcd::decode_watch_message(R"({"result":{"header":{"revision":"3"},"created":true}})");
  REQUIRE(created.ok());
  CHECK(created->created);
  CHECK(created->events == 0);
  auto events = etcd::decode_watch_message(
      R"({"result":{"header":{"revision":"4"},"events":[{"kv":{"key":"dmFy","value":"OQ=="}},{"type":"DELETE","kv":{"key":"dmFy"}}]}})");
  REQUIRE(events.ok());
  CHECK(events->events == 2);
  CHECK_FALSE(events->created);
  auto canceled = etcd::decode_watch_message(
      R"({"result":{"header":{},"canceled":true,"compact_revision":"17","cancel_reason":"mvcc: required revision has been compacted"}})");
  REQUIRE(canceled.ok());
  CHECK(canceled->canceled);
  CHECK(canceled->compact_revision == 17);
  CHECK(canceled->cancel_reason == "mvcc: required revision has been compacted");
  auto error = etcd::decode_watch_message(
      R"({"error":{"grpc_code":16,"http_code":401,"message":"etcdserver: invalid auth token"}})");
  REQUIRE(error.ok());
  CHECK(error->error == "etcdserver: invalid auth token");
  CHECK_FALSE(etcd::decode_watch_message("[]").ok());

  // Objects split anywhere, braces inside strings, newlines between objects.
  etcd::JsonObjectSplitter splitter;
  std::vector<std::string> objects;
  auto collect = [&](std::string_view o) {
    objects.emplace_back(o);
    return true;
  };
  const std::string stream = "{\"result\":{\"a\":\"}{\\\"\"}}\n{\"result\":{}}\n";
  for (char c : stream) splitter.feed(std::string_view(&c, 1), collect);
  CHECK(objects == std::vector<std::string>{"{\"result\":{\"a\":\"}{\\\"\"}}", "{\"result\":{}}"});
  // A handler returning false stops the feed.
  etcd::JsonObjectSplitter stopper;
  int seen = 0;
  CHECK_FALSE(stopper.feed("{}{}{}", [&](std::string_view) { return ++seen < 2; }));
  CHECK(seen == 2);
}
