// The postgresql scaler against a real PostgreSQL 15 of each test's own (tests/support/servers.h):
// exact values and activation, KEDA's errors for results that are not one number, a wrong
// password, a stopped and restarted server, sessions shared by triggers (counted in
// pg_stat_activity), and the statement and connect deadlines.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "postgresql/client.h"
#include "support/servers.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

const std::string kPassword = "ebb-test-pw";

test::LocalServer& server() {
  static test::LocalServer s(test::postgres_server(kPassword));
  return s;
}

std::string port() {
  return std::to_string(server().port());
}

// A trigger reading `query` with the connection built from KEDA's parts.
Map parts(const std::string& query) {
  return {{"query", query},      {"targetQueryValue", "5"}, {"host", "127.0.0.1"},
          {"port", port()},      {"userName", "postgres"},  {"dbName", "postgres"},
          {"sslmode", "disable"}};
}

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make(ConnectionPools& pools, Map metadata, Map auth = {{"password", kPassword}}) {
  TriggerContext ctx;
  ctx.type = "postgresql";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  if (!parsed) FAIL("parse: " << parsed.error().front().str());
  auto scaler = (*parsed)->create_scaler(pools);
  REQUIRE(scaler.ok());
  return {std::move(parsed).value(), std::move(scaler).value()};
}

PollResult poll_ok(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

std::string poll_error(Scaler& s) {
  auto r = s.poll();
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

int ebb_sessions() {
  return std::stoi(test::psql(
      server(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ebb'", kPassword));
}

std::string endpoint() {
  return "postgresql 127.0.0.1:" + port() + "/postgres";
}

}  // namespace

TEST_CASE(
    "postgresql: a count of 12 with targetQueryValue 5, activation, and every connection form") {
  test::psql(server(),
             "CREATE TABLE jobs (id serial, state text); INSERT INTO jobs (state) "
             "SELECT 'queued' FROM generate_series(1, 12)",
             kPassword);
  ConnectionPools pools;
  auto m = parts("SELECT count(*) FROM jobs WHERE state = 'queued'");
  m["activationTargetQueryValue"] = "11";
  auto t = make(pools, m);
  CHECK(t.config->metric_spec().name == "s0-postgresql");
  CHECK(t.config->endpoint() == endpoint());
  auto r = poll_ok(*t.scaler);
  CHECK(r.value == 12);
  CHECK(r.active);
  m["activationTargetQueryValue"] = "12";
  CHECK_FALSE(poll_ok(*make(pools, m).scaler).active);

  // The password from the scale target's env; a connection string from auth params (keyword
  // form) and from env (URL form), which replace the parts entirely.
  auto from_env = parts("SELECT count(*) FROM jobs");
  from_env["passwordFromEnv"] = "PGPW";
  TriggerContext ctx;
  ctx.type = "postgresql";
  ctx.metadata = from_env;
  ctx.resolved_env = {{"PGPW", kPassword},
                      {"PGURL", "postgresql://postgres:" + kPassword + "@127.0.0.1:" + port() +
                                    "/postgres?sslmode=disable"}};
  auto parsed = Registry::builtin().parse(ctx);
  REQUIRE(parsed.ok());
  CHECK(poll_ok(*std::move((*parsed)->create_scaler(pools)).value()).value == 12);

  ctx.metadata = {{"query", "SELECT count(*) FROM jobs"},
                  {"targetQueryValue", "5"},
                  {"connectionFromEnv", "PGURL"}};
  parsed = Registry::builtin().parse(ctx);
  REQUIRE(parsed.ok());
  CHECK((*parsed)->endpoint() == endpoint());
  CHECK(poll_ok(*std::move((*parsed)->create_scaler(pools)).value()).value == 12);

  auto keyword =
      make(pools, {{"query", "SELECT count(*) / 4.0 FROM jobs"}, {"targetQueryValue", "1"}},
           {{"connection", "host=127.0.0.1 port=" + port() +
                               " user=postgres dbname=postgres password='" + kPassword +
                               "' sslmode=disable"}});
  CHECK(poll_ok(*keyword.scaler).value == 3);
}

TEST_CASE("postgresql: results that are not one number are KEDA's errors, never 0") {
  ConnectionPools pools;
  const auto error_of = [&](const std::string& query) {
    return poll_error(*make(pools, parts(query)).scaler);
  };
  const std::string prefix =
      "error inspecting postgreSQL: " + endpoint() + ": could not query postgreSQL: ";
  CHECK(error_of("SELECT 1 WHERE false") == prefix + "sql: no rows in result set");
  CHECK(error_of("SELECT NULL::int") == prefix +
                                            "sql: Scan error on column index 0, name \"int4\": "
                                            "converting NULL to float64 is unsupported");
  CHECK(error_of("SELECT 1, 2") == prefix + "sql: expected 2 destination arguments in Scan, not 1");
  CHECK(error_of("SELECT 'abc'::text AS state") ==
        prefix +
            "sql: Scan error on column index 0, name \"state\": converting driver.Value type "
            "string (\"abc\") "
            "to a float64: invalid syntax");
  CHECK(error_of("SELECT true") == prefix +
                                       "sql: Scan error on column index 0, name \"?column?\": "
                                       "converting driver.Value type bool (\"true\") to "
                                       "a float64: invalid syntax");
  CHECK(error_of("SELECT count(*) FROM missing_table") ==
        prefix + "ERROR: relation \"missing_table\" does not exist (SQLSTATE 42P01)");
  CHECK(error_of("SELECT 1; SELECT 2") ==
        prefix +
            "ERROR: cannot insert multiple commands into a prepared statement (SQLSTATE 42601)");
  CHECK(error_of("CREATE TEMP TABLE t (x int)") == prefix + "sql: no rows in result set");

  // What does parse: numeric, text holding a number, floats, extra rows ignored.
  CHECK(poll_ok(*make(pools, parts("SELECT 2.5::numeric")).scaler).value == 2.5);
  CHECK(poll_ok(*make(pools, parts("SELECT '7'::text")).scaler).value == 7);
  CHECK(poll_ok(*make(pools, parts("SELECT x FROM (VALUES (4), (9)) v(x)")).scaler).value == 4);
  CHECK(poll_ok(*make(pools, parts("SELECT -1.5::float8")).scaler).value == -1.5);
  auto inf = poll_ok(*make(pools, parts("SELECT 'Infinity'::float8")).scaler);
  CHECK(std::isinf(inf.value));
  CHECK(inf.active);
  auto nan = poll_ok(*make(pools, parts("SELECT 'NaN'::numeric")).scaler);
  CHECK(std::isnan(nan.value));
  CHECK_FALSE(nan.active);
  // A failed query leaves the session usable: one session served all of these.
  CHECK(ebb_sessions() == 1);
}

TEST_CASE("postgresql: a wrong password is an error naming the endpoint, never the password") {
  ConnectionPools pools;
  auto t = make(pools, parts("SELECT 1"), {{"password", "wrong-secret-pw"}});
  const auto error = poll_error(*t.scaler);
  CHECK(error == "error inspecting postgreSQL: " + endpoint() +
                     ": error establishing postgreSQL connection: connection to server at "
                     "\"127.0.0.1\", port " +
                     port() +
                     " failed: FATAL:  password authentication failed for user \"postgres\"");
  CHECK(error.find("wrong-secret-pw") == std::string::npos);
  // The same in a URL connection string.
  auto url = make(
      pools, {{"query", "SELECT 1"}, {"targetQueryValue", "1"}},
      {{"connection", "postgresql://postgres:wrong-secret-pw@127.0.0.1:" + port() + "/postgres"}});
  CHECK(poll_error(*url.scaler).find("wrong-secret-pw") == std::string::npos);
  // A string libpq cannot parse: said so without quoting any of it.
  auto broken = make(pools, {{"query", "SELECT 1"}, {"targetQueryValue", "1"}},
                     {{"connection", "host=127.0.0.1 password='unterminated-secret"}});
  CHECK(poll_error(*broken.scaler) ==
        "error inspecting postgreSQL: postgresql 127.0.0.1:5432: error establishing postgreSQL "
        "connection: invalid "
        "connection string: unterminated quoted string in connection info string");
  auto stray = make(pools, {{"query", "SELECT 1"}, {"targetQueryValue", "1"}},
                    {{"connection", "host=127.0.0.1 password=my secret"}});
  const auto stray_error = poll_error(*stray.scaler);
  CHECK(stray_error.find("secret") == std::string::npos);
  CHECK(stray_error.find("missing \"=\" after \"...\"") != std::string::npos);
}

TEST_CASE(
    "postgresql: a stopped server is an error, never 0, and after a restart the next poll "
    "succeeds") {
  ConnectionPools pools;
  auto t = make(pools, parts("SELECT 42"));
  CHECK(poll_ok(*t.scaler).value == 42);  // leaves a pooled session behind
  server().stop();
  const auto error = poll_error(*t.scaler);
  CHECK(error.starts_with(
      "error inspecting postgreSQL: " + endpoint() +
      ": error establishing postgreSQL connection: connection to server at \"127.0.0.1\", port " +
      port() + " failed: Connection refused"));
  server().start();
  // The pooled session died with the old server; it is noticed and replaced, not reported.
  CHECK(poll_ok(*t.scaler).value == 42);
  // Again with the restart between two polls and no failed poll in between.
  server().stop();
  server().start();
  CHECK(poll_ok(*t.scaler).value == 42);
  CHECK(ebb_sessions() == 1);
}

TEST_CASE(
    "postgresql: triggers with the same connection string share one session, other credentials get "
    "their own") {
  test::psql(server(), "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'", kPassword);
  ConnectionPools pools;
  auto& clients = pools.get<postgresql::Clients>();
  auto a = make(pools, parts("SELECT 1"));
  auto b = make(pools, parts("SELECT 2"));
  CHECK(poll_ok(*a.scaler).value == 1);
  CHECK(poll_ok(*b.scaler).value == 2);
  CHECK(poll_ok(*a.scaler).value == 1);
  CHECK(ebb_sessions() == 1);
  CHECK(clients.connection_count() == 1);

  auto m = parts("SELECT 3");
  m["userName"] = "reader";
  auto other = make(pools, m, {{"password", "reader-pw"}});
  CHECK(poll_ok(*other.scaler).value == 3);
  CHECK(ebb_sessions() == 2);

  // Polled concurrently, 16 triggers on one connection string use at most 4 sessions.
  std::vector<Trigger> many;
  for (int i = 0; i < 16; ++i) many.push_back(make(pools, parts("SELECT pg_sleep(0.05), 1")));
  // (Two columns: each poll is an error, after a real round trip; sharing is what counts.)
  std::vector<std::thread> threads;
  for (auto& t : many) threads.emplace_back([&t] { (void)t.scaler->poll(); });
  for (auto& th : threads) th.join();
  CHECK(ebb_sessions() <= 5);  // 4 for the shared string, 1 for reader
  CHECK(clients.connection_count() <= 5);
}

TEST_CASE("postgresql: a query longer than the statement timeout fails in bounded time") {
  ConnectionPools pools;
  auto t = make(pools, parts("SELECT count(*) FROM pg_sleep(30)"));
  const auto started = std::chrono::steady_clock::now();
  const auto error = poll_error(*t.scaler);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(error == "error inspecting postgreSQL: " + endpoint() +
                     ": could not query postgreSQL: ERROR: canceling statement due to statement "
                     "timeout (SQLSTATE "
                     "57014)");
  CHECK(took >= 4500ms);
  CHECK(took < 8s);
  // The server cancelled the statement; the session lives on for the next poll.
  auto quick = make(pools, parts("SELECT 5"));
  CHECK(poll_ok(*quick.scaler).value == 5);
  CHECK(ebb_sessions() == 1);

  // A lower statement_timeout of the user's own (here: in the connection string) is kept.
  auto own = make(
      pools, {{"query", "SELECT count(*) FROM pg_sleep(10)"}, {"targetQueryValue", "1"}},
      {{"connection", "host=127.0.0.1 port=" + port() + " user=postgres dbname=postgres password=" +
                          kPassword + " options='-c statement_timeout=300'"}});
  const auto own_started = std::chrono::steady_clock::now();
  CHECK(poll_error(*own.scaler).find("canceling statement due to statement timeout") !=
        std::string::npos);
  CHECK(std::chrono::steady_clock::now() - own_started < 3s);
}

TEST_CASE("postgresql: a server that accepts but never answers fails the connect in bounded time") {
  test::SilentListener silent;
  ConnectionPools pools;
  auto t = make(pools, {{"query", "SELECT 1"}, {"targetQueryValue", "1"}},
                {{"connection", "host=127.0.0.1 port=" + std::to_string(silent.port()) +
                                    " user=u dbname=d sslmode=disable"}});
  const auto started = std::chrono::steady_clock::now();
  const auto error = poll_error(*t.scaler);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(error ==
        "error inspecting postgreSQL: postgresql 127.0.0.1:" + std::to_string(silent.port()) +
            "/d: error establishing postgreSQL connection: timeout expired after 5000ms");
  CHECK(took >= 4500ms);
  CHECK(took < 7s);
}
