// Pure tests of the nats-jetstream scaler: KEDA's parsing table with exact errors, metric specs,
// the monitoring URLs, the decoding of /jsz and /varz, and the lag and leader lookup of
// KEDA's GetMetricsAndActivity tests driven by JSON fixtures through a map of URL -> answer.
#include <catch2/catch.hpp>

#include <map>

#include "ebb/net/http_server.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "nats/jetstream.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

TriggerContext trigger(Map metadata, Map auth = {}) {
  TriggerContext c;
  c.type = "nats-jetstream";
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
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

const Map kGood = {{"natsServerMonitoringEndpoint", "localhost:8222"},
                   {"account", "$G"},
                   {"stream", "mystream"},
                   {"consumer", "pull_consumer"},
                   {"useHttps", "false"},
                   {"activationLagThreshold", "10"}};

// KEDA's fixture shape (Go-marshalled structs), with the fields a test varies.
std::string jsz(const std::string& stream, const std::string& consumer, int pending,
                int ack_pending = 0, int cluster_size = 0, const std::string& leader = "") {
  return R"({"account_details":[{"id":"","name":"$G","stream_detail":[{"name":")" + stream +
         R"(","config":{"subjects":null},"state":{"messages":0,"last_seq":1000},"consumer_detail":[{"stream_name":"","name":")" +
         consumer + R"(","num_ack_pending":)" + std::to_string(ack_pending) +
         R"(,"num_redelivered":0,"num_waiting":0,"num_pending":)" + std::to_string(pending) +
         R"(,"config":{"durable_name":""},"delivery":{"customer_seq":0,"stream_seq":0},"cluster":{"leader":")" +
         leader + R"("}}]}]}],"meta_cluster":{"cluster_size":)" + std::to_string(cluster_size) +
         "}}";
}

// A fake monitoring API: URL -> body; anything else fails as a connection would. Counts requests.
struct Fixture {
  std::map<std::string, std::string> answers;
  std::vector<std::string> asked;
  nats::Fetch fetch() {
    return [this](const std::string& url) -> Result<std::string> {
      asked.push_back(url);
      auto it = answers.find(url);
      if (it == answers.end()) return fail("GET " + url + ": connect: Connection refused", true);
      return it->second;
    };
  }
};

nats::Monitor monitor(const std::string& endpoint = "localhost:8222",
                      const std::string& account = "$G") {
  return nats::Monitor(nats::Target{account, account, "mystream", "pull_consumer"},
                       *nats::parse_endpoint(false, endpoint));
}

const std::string kQuery = "acc=%24G&config=true&consumers=true";

}  // namespace

TEST_CASE("nats-jetstream: KEDA's TestNATSJetStreamParseMetadata table, with exact errors") {
  const std::string ep = "natsServerMonitoringEndpoint";
  struct Case {
    Map metadata, auth;
    std::vector<std::string> errors;
  };
  const std::vector<Case> cases = {
      {{{ep, "localhost:8222"},
        {"account", "$G"},
        {"accountID", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"useHttps", "false"}},
       {},
       {}},
      {{{ep, "nats.nats:8222"},
        {"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"useHttps", "true"}},
       {},
       {}},
      {{{ep, "localhost:8222"},
        {"accountID", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"useHttps", "false"}},
       {},
       {}},
      {{},
       {},
       {"metadata.stream: missing required parameter \"stream\" in [triggerMetadata]",
        "metadata.consumer: missing required parameter \"consumer\" in [triggerMetadata]",
        "authParams.natsServerMonitoringEndpoint: missing required parameter "
        "\"natsServerMonitoringEndpoint\" in "
        "[authParams triggerMetadata]"}},
      {{{ep, "nats.nats:8222"}, {"stream", "mystream"}, {"consumer", "pull_consumer"}},
       {},
       {"authParams.account: no account name or id given"}},
      {{{ep, "nats.nats:8222"}, {"account", "$G"}, {"consumer", "pull_consumer"}},
       {},
       {"metadata.stream: missing required parameter \"stream\" in [triggerMetadata]"}},
      {{{ep, "nats.nats:8222"}, {"account", "$G"}, {"stream", "mystream"}},
       {},
       {"metadata.consumer: missing required parameter \"consumer\" in [triggerMetadata]"}},
      {{{"account", "$G"}, {"stream", "mystream"}},
       {},
       {"metadata.consumer: missing required parameter \"consumer\" in [triggerMetadata]",
        "authParams.natsServerMonitoringEndpoint: missing required parameter "
        "\"natsServerMonitoringEndpoint\" in "
        "[authParams triggerMetadata]"}},
      {{{ep, "nats.nats:8222"},
        {"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"activationLagThreshold", "10"}},
       {},
       {}},
      {{{ep, "nats.nats:8222"},
        {"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"activationLagThreshold", "Y"}},
       {},
       {"metadata.activationLagThreshold: must be an integer, got \"Y\""}},
      {{{"account", "$G"}, {"stream", "mystream"}, {"consumer", "pull_consumer"}},
       {{ep, "nats.nats:8222"}},
       {}},
      {{{"account", "$G"}, {"stream", "mystream"}, {"consumer", "pull_consumer"}},
       {{ep, ""}},
       {"authParams.natsServerMonitoringEndpoint: missing required parameter "
        "\"natsServerMonitoringEndpoint\" in "
        "[authParams triggerMetadata]"}},
      {{{ep, "nats.nats:8222"},
        {"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"useHttps", "error"}},
       {},
       {"metadata.useHttps: must be a boolean (true or false), got \"error\""}},
      {{{"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"lagThreshold", "6"}},
       {{ep, "nats.nats:8222"}},
       {}},
      {{{"account", "$G"},
        {"stream", "mystream"},
        {"consumer", "pull_consumer"},
        {"lagThreshold", "Y"}},
       {{ep, "nats.nats:8222"}},
       {"metadata.lagThreshold: must be an integer, got \"Y\""}},
      {{{"stream", "mystream"}, {"consumer", "pull_consumer"}},
       {{"account", "$G"}, {ep, "nats.nats:8222"}},
       {}},
      {{{"stream", "mystream"}, {"consumer", "pull_consumer"}},
       {{ep, "nats.nats:8222"}},
       {"authParams.account: no account name or id given"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    CHECK(errors_of(parse(trigger(cases[i].metadata, cases[i].auth))) == cases[i].errors);
  }
}

TEST_CASE("nats-jetstream: the monitoring endpoint must be host[:port]") {
  const std::string bad =
      " must be host or host:port (the monitoring port, e.g. nats.nats:8222), got ";
  for (const std::string endpoint : {"host/path", "http://nats:8222", "nats nats:8222", "nats:port",
                                     "nats:0", "user@nats:8222", ":8222", "[::1:8222"}) {
    INFO(endpoint);
    auto m = kGood;
    m["natsServerMonitoringEndpoint"] = endpoint;
    CHECK(errors_of(parse(trigger(m))) ==
          std::vector<std::string>{"metadata.natsServerMonitoringEndpoint:" + bad +
                                   ebb::quoted(endpoint)});
  }
  for (const std::string endpoint :
       {"nats", "nats.nats:8222", "10.0.0.1:8222", "[::1]:8222", "[fd00::1]"}) {
    INFO(endpoint);
    auto m = kGood;
    m["natsServerMonitoringEndpoint"] = endpoint;
    CHECK(parse(trigger(m)).ok());
  }
}

TEST_CASE("nats-jetstream: metric spec (TestNATSJetStreamGetMetricSpecForScaling) and definition") {
  auto c = trigger(kGood);
  const auto r0 = parse(c);
  REQUIRE(r0.ok());
  CHECK(r0.value()->metric_spec().name == "s0-nats-jetstream-mystream");
  CHECK(r0.value()->metric_spec().target_quantity == "10");
  CHECK(r0.value()->metric_spec().target_type == MetricTargetType::AverageValue);
  CHECK(r0.value()->metric_spec().activation_target == 10);
  CHECK(r0.value()->endpoint() == "nats-jetstream http://localhost:8222");
  c.index = 1;
  c.metadata["stream"] = "my.stream";
  c.metadata["lagThreshold"] = "1000";
  c.metadata["useHttps"] = "true";
  const auto r1 = parse(c);
  REQUIRE(r1.ok());
  CHECK(r1.value()->metric_spec().name == "s1-nats-jetstream-my-stream");
  CHECK(r1.value()->metric_spec().target_quantity == "1k");
  CHECK(r1.value()->endpoint() == "nats-jetstream https://localhost:8222");
  const auto* def = Registry::builtin().find("nats-jetstream");
  REQUIRE(def);
  CHECK(def->keda_name == "natsJetStreamScaler");
  CHECK_FALSE(def->push);
}

TEST_CASE(
    "nats-jetstream: monitoring URLs as KEDA builds them (TestGetNATSJetStreamMonitoringURL)") {
  CHECK(nats::monitoring_url(false, "nats.nats:8222", "$G") ==
        "http://nats.nats:8222/jsz?acc=%24G&config=true&consumers=true");
  CHECK(nats::monitoring_url(true, "nats.nats:8222", "$G") ==
        "https://nats.nats:8222/jsz?acc=%24G&config=true&consumers=true");
  CHECK(nats::monitoring_url(false, "nats.nats:8222", "myaccount&consumers=false") ==
        "http://nats.nats:8222/jsz?acc=myaccount%26consumers%3Dfalse&config=true&consumers=true");
  CHECK(nats::monitoring_url(false, "nats.nats:8222", "my acc/x") ==
        "http://nats.nats:8222/jsz?acc=my+acc%2Fx&config=true&consumers=true");
  CHECK(monitor().base_url() == "http://localhost:8222/jsz?" + kQuery);
}

TEST_CASE("nats-jetstream: hosts in /varz URLs, IPv6 included (KEDA splits at the first ':')") {
  CHECK(nats::url_host("nats-1.nats.svc.cluster.local:4221") == "nats-1.nats.svc.cluster.local");
  CHECK(nats::url_host("172.0.1.3:4221") == "172.0.1.3");
  CHECK(nats::url_host("[::1]:4222") == "::1");
  CHECK(nats::url_host("[fd00::5]") == "fd00::5");
  CHECK(nats::url_host("fd00::5") == "fd00::5");
  CHECK(nats::url_host("nats://nats-2.nats:4222") == "nats-2.nats");
  CHECK(nats::url_host("nats-3") == "nats-3");
  CHECK(nats::is_ip_address("10.0.0.1"));
  CHECK(nats::is_ip_address("::1"));
  CHECK_FALSE(nats::is_ip_address("nats-1.nats"));
  CHECK_FALSE(nats::is_ip_address("10.0.0"));
}

TEST_CASE(
    "nats-jetstream: /jsz and /varz decoding follows Go's encoding/json, errors where KEDA "
    "panics") {
  auto j = nats::parse_jsz(jsz("mystream", "pull_consumer", 7, 3, 0, "n1"));
  REQUIRE(j.ok());
  REQUIRE(j->accounts.size() == 1);
  CHECK(j->accounts[0].name == "$G");
  CHECK(j->accounts[0].streams[0].consumers[0].num_pending == 7);
  CHECK(j->accounts[0].streams[0].consumers[0].num_ack_pending == 3);
  CHECK(j->accounts[0].streams[0].consumers[0].leader == "n1");
  // Keys match case-insensitively; unknown keys are ignored; absent members are empty.
  auto ci = nats::parse_jsz(
      R"({"Account_Details":[{"NAME":"$G","Stream_Detail":[{"Name":"s","CONSUMER_DETAIL":[{"Name":"c","Num_Pending":4}]}]}],"extra":1})");
  REQUIRE(ci.ok());
  CHECK(ci->cluster_size == 0);
  CHECK(ci->accounts[0].streams[0].consumers[0].num_pending == 4);
  CHECK(nats::parse_jsz(R"({"account_details":null})")->accounts.empty());
  // KEDA's TestNATSJetStreamgetNATSJetstreamMonitoringData: invalid JSON is an error.
  CHECK_FALSE(nats::parse_jsz("{invalidJSON}").ok());
  CHECK(nats::parse_jsz("").error().message == "empty body");
  CHECK(nats::parse_jsz("null").error().message == "the answer is null, not an object");
  CHECK(nats::parse_jsz("[]").error().message == "the answer is not a JSON object");
  CHECK(
      nats::parse_jsz(
          R"({"account_details":[{"stream_detail":[{"consumer_detail":[{"num_pending":"7"}]}]}]})")
          .error()
          .message == "consumer_detail[].num_pending is not an integer");
  CHECK(
      nats::parse_jsz(
          R"({"account_details":[{"stream_detail":[{"consumer_detail":[{"num_pending":1.5}]}]}]})")
          .error()
          .message == "consumer_detail[].num_pending is not an integer");
  CHECK(nats::parse_jsz(R"({"account_details":{}})").error().message ==
        "jsz.account_details is not an array");

  auto v = nats::parse_varz(
      R"({"server_name":"leader","cluster":{"urls":["a:6222","b:6222"]},"connect_urls":["a:4222"]})");
  REQUIRE(v.ok());
  CHECK(v->server_name == "leader");
  CHECK(v->cluster_urls == std::vector<std::string>{"a:6222", "b:6222"});
  CHECK(v->connect_urls == std::vector<std::string>{"a:4222"});
  CHECK(nats::parse_varz(R"({"connect_urls":[1]})").error().message ==
        "varz.connect_urls[] is not a string");
}

TEST_CASE("nats-jetstream: lag of a standalone server (KEDA's TestNATSJetStreamGetMetrics rows)") {
  Fixture f;
  auto m = monitor();
  const std::string url = m.base_url();

  f.answers.insert_or_assign(url, jsz("mystream", "pull_consumer", 0));
  CHECK(*m.lag(f.fetch()) == 0);
  f.answers.insert_or_assign(url, jsz("mystream", "pull_consumer", 100));
  CHECK(*m.lag(f.fetch()) == 100);
  // TestNATSJetStreamGetMaxMsgLag: pending + ack pending.
  f.answers.insert_or_assign(url, jsz("mystream", "pull_consumer", 7, 3, 0, "standalone"));
  CHECK(*m.lag(f.fetch()) == 10);
  CHECK(f.asked.size() == 3);  // one request per query
  CHECK(m.leader_url().empty());

  // The consumer is missing: an error naming both, never the stream's last_seq.
  f.answers.insert_or_assign(url, jsz("mystream", "pull_consumer_bad", 100));
  CHECK(m.lag(f.fetch()).error().message ==
        "consumer \"pull_consumer\" not found in stream \"mystream\"");
  // The stream is missing (KEDA would say the consumer is missing here).
  f.answers.insert_or_assign(url, jsz("mystreamBad", "pull_consumer", 100));
  CHECK(m.lag(f.fetch()).error().message == "stream \"mystream\" not found in account \"$G\"");
  // A stream seen before and gone now is not served stale.
  f.answers.insert_or_assign(url, jsz("mystream", "pull_consumer", 5));
  CHECK(*m.lag(f.fetch()) == 5);
  f.answers.insert_or_assign(url, R"({"account_details":[]})");
  CHECK_FALSE(m.lag(f.fetch()).ok());
  // Unreachable: the fetch's error, never 0.
  f.answers.clear();
  CHECK(m.lag(f.fetch()).error().message == "GET " + url + ": connect: Connection refused");
}

TEST_CASE("nats-jetstream: accounts match by id or by name (KEDA's IsAccount)") {
  Fixture f;
  const std::string body =
      R"({"account_details":[{"id":"ACC1","name":"orders","stream_detail":[{"name":"mystream","consumer_detail":[{"name":"pull_consumer","num_pending":9}]}]}]})";
  auto by_name = nats::Monitor(nats::Target{"orders", "orders", "mystream", "pull_consumer"},
                               *nats::parse_endpoint(false, "n:8222"));
  f.answers.insert_or_assign(by_name.base_url(), body);
  CHECK(*by_name.lag(f.fetch()) == 9);
  auto by_id = nats::Monitor(nats::Target{"", "ACC1", "mystream", "pull_consumer"},
                             *nats::parse_endpoint(false, "n:8222"));
  CHECK(by_id.base_url() == "http://n:8222/jsz?acc=ACC1&config=true&consumers=true");
  f.answers.insert_or_assign(by_id.base_url(), body);
  CHECK(*by_id.lag(f.fetch()) == 9);
  auto other = nats::Monitor(nats::Target{"billing", "billing", "mystream", "pull_consumer"},
                             *nats::parse_endpoint(false, "n:8222"));
  f.answers.insert_or_assign(other.base_url(), body);
  CHECK(other.lag(f.fetch()).error().message ==
        "stream \"mystream\" not found in account \"billing\"");
}

TEST_CASE(
    "nats-jetstream: a clustered server's consumer leader is found through /varz and remembered") {
  // KEDA's "All Good - messages waiting (clustered)": no connect_urls, so the routes name the
  // nodes, and a node's monitoring host is "<name>.<configured endpoint>".
  Fixture f;
  auto m = monitor();
  f.answers.insert_or_assign(m.base_url(), jsz("mystream", "pull_consumer", 90, 0, 3, "leader"));
  f.answers.insert_or_assign(
      "http://localhost:8222/varz",
      R"({"server_name": "leader", "cluster": {"urls": ["not-leader-1.localhost.nats.svc:8222", "leader.localhost.nats.svc:8222", "not-leader-2.localhost.nats.svc:8222"]}})");
  f.answers.insert_or_assign("http://not-leader-1.localhost:8222/jsz?" + kQuery,
                             R"({"account_details":null,"meta_cluster":{"cluster_size":0}})");
  f.answers.insert_or_assign("http://leader.localhost:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 100, 0, 3, "leader"));
  CHECK(*m.lag(f.fetch()) == 100);
  CHECK(m.leader_url() == "http://leader.localhost:8222/jsz?" + kQuery);
  CHECK(m.consumer_leader() == "leader");
  CHECK(f.asked == std::vector<std::string>{m.base_url(), "http://localhost:8222/varz",
                                            "http://not-leader-1.localhost:8222/jsz?" + kQuery,
                                            "http://leader.localhost:8222/jsz?" + kQuery});
  // Steady state: one request, to the leader.
  f.asked.clear();
  f.answers.insert_or_assign("http://leader.localhost:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 42, 0, 3, "leader"));
  CHECK(*m.lag(f.fetch()) == 42);
  CHECK(f.asked == std::vector<std::string>{"http://leader.localhost:8222/jsz?" + kQuery});
}

TEST_CASE("nats-jetstream: the leader lookup skips servers that fail (KEDA stops at the first)") {
  Fixture f;
  auto m = monitor("10.0.0.1:8222");
  const std::string base = m.base_url();
  f.answers.insert_or_assign(base, jsz("mystream", "pull_consumer", 1, 0, 3, "n3"));
  // Advertised client URLs: each server's name comes from its own /varz; IPv6 works.
  f.answers.insert_or_assign(
      "http://10.0.0.1:8222/varz",
      R"({"server_name":"n1","connect_urls":["10.0.0.2:4222","[fd00::3]:4222"]})");
  // 10.0.0.2 does not answer.
  f.answers.insert_or_assign("http://[fd00::3]:8222/varz", R"({"server_name":"n3"})");
  f.answers.insert_or_assign("http://[fd00::3]:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 55, 5, 3, "n3"));
  CHECK(*m.lag(f.fetch()) == 60);
  CHECK(m.leader_url() == "http://[fd00::3]:8222/jsz?" + kQuery);
}

TEST_CASE("nats-jetstream: no leader anywhere is KEDA's error, with the servers that failed") {
  Fixture f;
  auto m = monitor();
  // KEDA's "connected to node without consumer info (clustered)": the stream has no consumers.
  const std::string no_consumers =
      R"({"account_details":[{"name":"$G","stream_detail":[{"name":"mystream"}]}],"meta_cluster":{"cluster_size":3}})";
  f.answers.insert_or_assign(m.base_url(), no_consumers);
  f.answers.insert_or_assign(
      "http://localhost:8222/varz",
      R"({"server_name":"leader","cluster":{"urls":["leader.localhost.nats.svc:8222"]}})");
  f.answers.insert_or_assign("http://leader.localhost:8222/jsz?" + kQuery, no_consumers);
  CHECK(m.lag(f.fetch()).error().message == "leader node not found for consumer pull_consumer");

  f.answers.erase("http://leader.localhost:8222/jsz?" + kQuery);
  CHECK(m.lag(f.fetch()).error().message ==
        "leader node not found for consumer pull_consumer (servers that could not be asked: GET "
        "http://leader.localhost:8222/jsz?" +
            kQuery + ": connect: Connection refused)");
}

TEST_CASE(
    "nats-jetstream: a remembered leader that stops answering is looked up again in the same "
    "query") {
  Fixture f;
  auto m = monitor("10.0.0.1:8222");
  f.answers.insert_or_assign(m.base_url(), jsz("mystream", "pull_consumer", 1, 0, 3, "n2"));
  f.answers.insert_or_assign(
      "http://10.0.0.1:8222/varz",
      R"({"server_name":"n1","connect_urls":["10.0.0.1:4222","10.0.0.2:4222","10.0.0.3:4222"]})");
  f.answers.insert_or_assign("http://10.0.0.2:8222/varz", R"({"server_name":"n2"})");
  f.answers.insert_or_assign("http://10.0.0.3:8222/varz", R"({"server_name":"n3"})");
  f.answers.insert_or_assign("http://10.0.0.1:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 1, 0, 3, "n2"));
  f.answers.insert_or_assign("http://10.0.0.2:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 20, 0, 3, "n2"));
  CHECK(*m.lag(f.fetch()) == 20);
  CHECK(m.leader_url() == "http://10.0.0.2:8222/jsz?" + kQuery);

  // n2 goes away and n3 takes over.
  f.answers.erase("http://10.0.0.2:8222/jsz?" + kQuery);
  f.answers.erase("http://10.0.0.2:8222/varz");
  f.answers.insert_or_assign(m.base_url(), jsz("mystream", "pull_consumer", 1, 0, 3, "n3"));
  f.answers.insert_or_assign("http://10.0.0.1:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 1, 0, 3, "n3"));
  f.answers.insert_or_assign("http://10.0.0.3:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 30, 0, 3, "n3"));
  CHECK(*m.lag(f.fetch()) == 30);
  CHECK(m.leader_url() == "http://10.0.0.3:8222/jsz?" + kQuery);

  // The leader moves while the old one still answers: found again from the leader's answer.
  f.answers.insert_or_assign("http://10.0.0.3:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 30, 0, 3, "n1"));
  f.answers.insert_or_assign("http://10.0.0.1:8222/jsz?" + kQuery,
                             jsz("mystream", "pull_consumer", 11, 0, 3, "n1"));
  CHECK(*m.lag(f.fetch()) == 11);
  CHECK(m.leader_url() == "http://10.0.0.1:8222/jsz?" + kQuery);
}

TEST_CASE("nats-jetstream: a non-2xx answer is an error naming the URL (KEDA decodes any status)") {
  auto server = net::HttpServer::start({}, [](const net::ServerRequest&) {
    return net::ServerResponse::text(503, "upstream unavailable");
  });
  REQUIRE(server.ok());
  auto m = kGood;
  m["natsServerMonitoringEndpoint"] = "127.0.0.1:" + std::to_string((*server)->port());
  const auto parsed = parse(trigger(m));
  REQUIRE(parsed.ok());
  ConnectionPools pools;
  auto scaler = parsed.value()->create_scaler(pools);
  REQUIRE(scaler.ok());
  const std::string url =
      "http://127.0.0.1:" + std::to_string((*server)->port()) + "/jsz?" + kQuery;
  CHECK((*scaler)->poll().error().message ==
        "nats-jetstream http://127.0.0.1:" + std::to_string((*server)->port()) + ": GET " + url +
            ": HTTP 503: upstream unavailable");
}
