// The beanstalkd scaler against a real beanstalkd of each test's own (tests/support/servers.h),
// filled by a small protocol client of the test's: exact counts of ready, reserved, delayed and
// buried jobs, activation, a tube that does not exist (0, KEDA's rule), a stopped and restarted
// server, connections shared by triggers (the server's current-connections), and the read
// deadline against a server that never answers.
#include <catch2/catch.hpp>

#include <chrono>

#include "beanstalkd/client.h"
#include "ebb/net/stream.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "support/servers.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

test::LocalServer& server() {
  static test::LocalServer s(test::beanstalkd_server());
  return s;
}

// A beanstalkd client for setting up jobs; one connection (reserved jobs stay reserved while
// it lives).
class Client {
 public:
  Client() {
    auto s = net::Stream::connect("127.0.0.1", server().port(), {}, 5s);
    if (!s) FAIL("connect: " << s.error().message);
    stream_ = std::move(s).value();
  }

  std::string command(const std::string& line, const std::string& body = "") {
    std::string out = line + "\r\n";
    if (!body.empty()) out += body + "\r\n";
    REQUIRE(stream_->write_all(out, 5s).ok());
    return read_line();
  }

  void put(const std::string& tube, int count, int delay = 0) {
    REQUIRE(command("use " + tube) == "USING " + tube);
    for (int i = 0; i < count; ++i)
      REQUIRE(command("put 0 " + std::to_string(delay) + " 60 1", "x").starts_with("INSERTED "));
  }

  // Reserves `count` jobs of `tube`; `bury` buries them instead of keeping them reserved.
  void reserve(const std::string& tube, int count, bool bury = false) {
    REQUIRE(command("watch " + tube).starts_with("WATCHING "));
    for (int i = 0; i < count; ++i) {
      const auto reply = command("reserve-with-timeout 0");
      REQUIRE(reply.starts_with("RESERVED "));
      const auto id = reply.substr(9, reply.find(' ', 9) - 9);
      read_line();  // the job's body
      if (bury) REQUIRE(command("bury " + id + " 0") == "BURIED");
    }
  }

  int current_connections() {
    const auto header = command("stats");
    REQUIRE(header.starts_with("OK "));
    const auto size = std::stoul(header.substr(3));
    while (buffer_.size() < size + 2) fill();
    const std::string body = buffer_.substr(0, size);
    buffer_.erase(0, size + 2);
    const auto at = body.find("current-connections: ");
    REQUIRE(at != std::string::npos);
    return std::stoi(body.substr(at + 21));
  }

 private:
  void fill() {
    char buf[4096];
    auto n = stream_->read_some(buf, sizeof buf, 5s);
    REQUIRE(n.ok());
    buffer_.append(buf, *n);
  }
  std::string read_line() {
    while (buffer_.find("\r\n") == std::string::npos) fill();
    const auto end = buffer_.find("\r\n");
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  std::unique_ptr<net::Stream> stream_;
  std::string buffer_;
};

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make(ConnectionPools& pools, Map metadata) {
  TriggerContext ctx;
  ctx.type = "beanstalkd";
  ctx.metadata = std::move(metadata);
  auto parsed = Registry::builtin().parse(ctx);
  if (!parsed) FAIL("parse: " << parsed.error().front().str());
  auto scaler = (*parsed)->create_scaler(pools);
  REQUIRE(scaler.ok());
  return {std::move(parsed).value(), std::move(scaler).value()};
}

Map on(const std::string& tube, Map more = {}) {
  more["server"] = server().address();
  more["tube"] = tube;
  if (!more.count("value")) more["value"] = "2";
  return more;
}

PollResult poll_ok(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("beanstalkd: ready + reserved (+ delayed), never buried, and activation") {
  Client client;
  client.put("work", 10);
  client.put("work", 4, /*delay=*/600);
  client.reserve("work", 2);
  client.reserve("work", 1, /*bury=*/true);
  // 7 ready, 2 reserved, 4 delayed, 1 buried.
  ConnectionPools pools;
  auto plain = make(pools, on("work", {{"activationValue", "9"}}));
  CHECK(plain.config->metric_spec().name == "s0-beanstalkd-work");
  CHECK(plain.config->endpoint() == "beanstalkd " + server().address());
  auto r = poll_ok(*plain.scaler);
  CHECK(r.value == 9);
  CHECK_FALSE(r.active);  // 9 > 9 is false
  auto delayed = make(pools, on("work", {{"includeDelayed", "true"}, {"activationValue", "9"}}));
  r = poll_ok(*delayed.scaler);
  CHECK(r.value == 13);
  CHECK(r.active);
}

TEST_CASE("beanstalkd: a tube that does not exist reads 0 without an error, as in KEDA") {
  ConnectionPools pools;
  auto t = make(pools, on("never-used"));
  auto r = poll_ok(*t.scaler);
  CHECK(r.value == 0);
  CHECK_FALSE(r.active);
  // A negative activation makes even that active, as KEDA's `0 > activationValue`.
  CHECK(poll_ok(*make(pools, on("never-used", {{"activationValue", "-1"}})).scaler).active);
  // The tube appears with its first job.
  Client client;
  client.put("never-used", 1);
  CHECK(poll_ok(*t.scaler).value == 1);
}

TEST_CASE(
    "beanstalkd: a stopped server is an error, never 0, and after a restart the next poll "
    "succeeds") {
  {
    Client client;
    client.put("jobs", 3);
  }
  ConnectionPools pools;
  auto t = make(pools, on("jobs"));
  CHECK(poll_ok(*t.scaler).value == 3);  // leaves a pooled connection behind
  server().stop();
  auto r = t.scaler->poll();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "error connecting to beanstalkd: connect " + server().address() + ": Connection refused");
  server().start();
  // The jobs come back from the binlog; the stale pooled connection is replaced unnoticed.
  CHECK(poll_ok(*t.scaler).value == 3);
  server().stop();
  server().start();
  CHECK(poll_ok(*t.scaler).value == 3);
  CHECK(pools.get<beanstalkd::Connections>().connection_count() == 1);
}

TEST_CASE("beanstalkd: triggers on one server share a connection") {
  Client client;  // one connection of the test's own
  client.put("a", 1);
  client.put("b", 2);
  const int before = client.current_connections();
  ConnectionPools pools;
  std::vector<Trigger> triggers;
  for (int i = 0; i < 10; ++i) triggers.push_back(make(pools, on(i % 2 ? "a" : "b")));
  for (std::size_t i = 0; i < triggers.size(); ++i)
    CHECK(poll_ok(*triggers[i].scaler).value == (i % 2 ? 1 : 2));
  CHECK(client.current_connections() == before + 1);
  CHECK(pools.get<beanstalkd::Connections>().connection_count() == 1);
}

TEST_CASE("beanstalkd: a server that never answers is an error after the 5 s round-trip deadline") {
  test::SilentListener silent;
  ConnectionPools pools;
  auto t = make(
      pools,
      {{"server", "127.0.0.1:" + std::to_string(silent.port())}, {"tube", "t"}, {"value", "1"}});
  const auto started = std::chrono::steady_clock::now();
  auto r = t.scaler->poll();
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "error interacting with beanstalkd: 127.0.0.1:" + std::to_string(silent.port()) +
            ": error retrieving stats from beanstalkd: stats-tube: no reply within 5000ms");
  CHECK(took >= 4500ms);
  CHECK(took < 7s);
  // The connection was dropped (it may still be mid-reply), not pooled.
  CHECK(pools.get<beanstalkd::Connections>().connection_count() == 0);
}
