// The mysql scaler against a real MariaDB 10.11 of each test's own (tests/support/servers.h):
// exact values and activation from every connection form (parts, TCP DSN, unix-socket DSN),
// KEDA's errors for results that are not one number, DSN session variables, a wrong password, a
// stopped and restarted server, sessions shared by triggers (counted in the processlist), and
// the statement and connect deadlines.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "mysql/client.h"
#include "support/servers.h"
#include "support/support.h"

using namespace std::chrono_literals;
using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

const std::string kPassword = "ebb-test-pw";

test::LocalServer& server() {
  static test::LocalServer s(test::mariadb_server(kPassword));
  return s;
}

std::string port() {
  return std::to_string(server().port());
}
std::string run_sql(const std::string& statement) {
  return test::mariadb_sql(server(), statement, kPassword);
}

Map parts(const std::string& query) {
  return {{"query", query}, {"queryValue", "5"},  {"host", "127.0.0.1"},
          {"port", port()}, {"username", "root"}, {"dbName", "test"}};
}

struct Trigger {
  std::unique_ptr<TriggerConfig> config;
  std::unique_ptr<Scaler> scaler;
};

Trigger make(ConnectionPools& pools, Map metadata, Map auth = {{"password", kPassword}}) {
  TriggerContext ctx;
  ctx.type = "mysql";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  if (!parsed) FAIL("parse: " << parsed.error().front().str());
  auto scaler = (*parsed)->create_scaler(pools);
  REQUIRE(scaler.ok());
  return {std::move(parsed).value(), std::move(scaler).value()};
}

Trigger with_dsn(ConnectionPools& pools, const std::string& query, const std::string& dsn) {
  return make(pools, {{"query", query}, {"queryValue", "5"}}, {{"connectionString", dsn}});
}

std::string dsn(const std::string& params = "") {
  return "root:" + kPassword + "@tcp(127.0.0.1:" + port() + ")/test" + params;
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

int sessions_of(const std::string& user) {
  // Not counting the session that asks.
  return std::stoi(run_sql("SELECT COUNT(*) FROM information_schema.processlist WHERE user = '" +
                           user + "' AND id <> CONNECTION_ID()"));
}

std::string endpoint() {
  return "mysql 127.0.0.1:" + port() + "/test";
}

}  // namespace

TEST_CASE("mysql: a count of 12 with queryValue 5, activation, and every connection form") {
  run_sql(
      "CREATE TABLE test.jobs (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(10)); "
      "INSERT INTO test.jobs (state) SELECT 'queued' FROM test.seq_1_to_12");
  ConnectionPools pools;
  auto m = parts("SELECT COUNT(*) FROM jobs WHERE state = 'queued'");
  m["activationQueryValue"] = "11";
  auto t = make(pools, m);
  CHECK(t.config->metric_spec().name == "s0-mysql-test");
  CHECK(t.config->endpoint() == endpoint());
  auto r = poll_ok(*t.scaler);
  CHECK(r.value == 12);
  CHECK(r.active);
  m["activationQueryValue"] = "12";
  CHECK_FALSE(poll_ok(*make(pools, m).scaler).active);

  auto from_dsn = with_dsn(pools, "SELECT CEIL(COUNT(*) / 5) FROM jobs", dsn());
  CHECK(from_dsn.config->metric_spec().name == "s0-mysql-test");
  CHECK(poll_ok(*from_dsn.scaler).value == 3);
  // DECIMAL arrives as text, as in go-sql-driver, and parses.
  CHECK(poll_ok(*with_dsn(pools, "SELECT COUNT(*) / 8 FROM jobs", dsn()).scaler).value == 1.5);
  // The server's own socket, where root is the OS user (unix_socket authentication).
  auto socket = with_dsn(pools, "SELECT COUNT(*) FROM jobs",
                         "root@unix(" + server().dir() + "/mysqld.sock)/test");
  CHECK(socket.config->endpoint() == "mysql unix(" + server().dir() + "/mysqld.sock)/test");
  CHECK(poll_ok(*socket.scaler).value == 12);
}

TEST_CASE("mysql: results that are not one number are KEDA's errors, never 0") {
  ConnectionPools pools;
  const auto error_of = [&](const std::string& query) {
    return poll_error(*with_dsn(pools, query, dsn()).scaler);
  };
  const std::string prefix = "error inspecting MySQL: " + endpoint() + ": ";
  CHECK(error_of("SELECT 1 FROM DUAL WHERE 1 = 0") == prefix + "sql: no rows in result set");
  CHECK(error_of("SELECT NULL") == prefix +
                                       "sql: Scan error on column index 0, name \"NULL\": "
                                       "converting NULL to float64 is unsupported");
  CHECK(error_of("SELECT 1, 2") == prefix + "sql: expected 2 destination arguments in Scan, not 1");
  CHECK(error_of("SELECT 'abc' AS state") ==
        prefix +
            "sql: Scan error on column index 0, name \"state\": converting driver.Value type "
            "[]uint8 (\"abc\") "
            "to a float64: invalid syntax");
  CHECK(error_of("SELECT COUNT(*) FROM missing") ==
        prefix + "Error 1146 (42S02): Table 'test.missing' doesn't exist");
  CHECK(error_of("DO 1") == prefix + "sql: no rows in result set");
  // Two statements need multiStatements, as with go-sql-driver; then the first result counts.
  CHECK(error_of("SELECT 1; SELECT 2")
            .starts_with(prefix + "Error 1064 (42000): You have an error in your SQL syntax"));
  CHECK(
      poll_ok(*with_dsn(pools, "SELECT 7; SELECT 8", dsn("?multiStatements=true")).scaler).value ==
      7);
  // Failed queries leave the session usable: one session for the plain DSN, one with
  // multiStatements.
  CHECK(sessions_of("root") == 2);
}

TEST_CASE("mysql: DSN parameters the driver does not know are session variables") {
  ConnectionPools pools;
  auto t =
      with_dsn(pools, "SELECT @@SESSION.sql_mode = 'ANSI_QUOTES' AND @@SESSION.wait_timeout = 123",
               dsn("?sql_mode=%27ANSI_QUOTES%27&wait_timeout=123"));
  CHECK(poll_ok(*t.scaler).value == 1);
  auto bad = with_dsn(pools, "SELECT 1", dsn("?no_such_variable=1"));
  CHECK(poll_error(*bad.scaler) ==
        "error inspecting MySQL: " + endpoint() +
            ": error establishing MySQL connection: Error 1193 (HY000): Unknown system "
            "variable 'no_such_variable'");
}

TEST_CASE("mysql: a wrong password is an error naming the endpoint, never the password") {
  ConnectionPools pools;
  auto t = make(pools, parts("SELECT 1"), {{"password", "wrong-secret-pw"}});
  const auto error = poll_error(*t.scaler);
  CHECK(error ==
        "error inspecting MySQL: " + endpoint() +
            ": error establishing MySQL connection: Error 1045 (28000): Access denied for user "
            "'root'@'127.0.0.1' (using password: YES)");
  CHECK(error.find("wrong-secret-pw") == std::string::npos);
  auto url = with_dsn(pools, "SELECT 1", "root:wrong-secret-pw@tcp(127.0.0.1:" + port() + ")/test");
  CHECK(poll_error(*url.scaler).find("wrong-secret-pw") == std::string::npos);
  // No user: Connector/C logs in as the process's OS user name (root here), where go-sql-driver
  // sends an empty one (docs/compatibility.md). Either way an error, not 0.
  auto anonymous = with_dsn(pools, "SELECT 1", "tcp(127.0.0.1:" + port() + ")/test");
  CHECK(poll_error(*anonymous.scaler) ==
        "error inspecting MySQL: " + endpoint() +
            ": error establishing MySQL connection: Error 1045 (28000): Access "
            "denied for user 'root'@'127.0.0.1' (using password: NO)");
  // A port KEDA would dial as port 0 is an error, not MySQL's default 3306.
  auto no_port = make(pools, {{"query", "SELECT 1"}, {"queryValue", "1"}, {"host", "127.0.0.1"}});
  CHECK(poll_error(*no_port.scaler) ==
        "error inspecting MySQL: mysql 127.0.0.1:/: error establishing MySQL connection: dial tcp: "
        "invalid port \"\" "
        "in address \"127.0.0.1:\"");
}

TEST_CASE(
    "mysql: a stopped server is an error, never 0, and after a restart the next poll succeeds") {
  ConnectionPools pools;
  auto t = with_dsn(pools, "SELECT 42", dsn());
  CHECK(poll_ok(*t.scaler).value == 42);
  server().stop();
  const auto error = poll_error(*t.scaler);
  CHECK(error.starts_with("error inspecting MySQL: " + endpoint() +
                          ": error establishing MySQL connection: "));
  CHECK(error.find("127.0.0.1") != std::string::npos);
  server().start();
  CHECK(poll_ok(*t.scaler).value == 42);
  server().stop();
  server().start();
  CHECK(poll_ok(*t.scaler).value == 42);
  CHECK(sessions_of("root") == 1);
}

TEST_CASE(
    "mysql: triggers with the same settings share one session, other credentials get their own") {
  run_sql(
      "CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'reader-pw'; GRANT SELECT ON test.* TO "
      "'reader'@'127.0.0.1'");
  ConnectionPools pools;
  auto& clients = pools.get<mysql::Clients>();
  auto a = make(pools, parts("SELECT 1"));
  auto b = make(pools, parts("SELECT 2"));
  auto c = with_dsn(pools, "SELECT 3", "root:" + kPassword + "@tcp(127.0.0.1:" + port() + ")/test");
  CHECK(poll_ok(*a.scaler).value == 1);
  CHECK(poll_ok(*b.scaler).value == 2);
  CHECK(poll_ok(*c.scaler).value == 3);  // the same settings, written as a DSN
  CHECK(sessions_of("root") == 1);
  CHECK(clients.connection_count() == 1);

  auto m = parts("SELECT 4");
  m["username"] = "reader";
  auto other = make(pools, m, {{"password", "reader-pw"}});
  CHECK(poll_ok(*other.scaler).value == 4);
  CHECK(sessions_of("reader") == 1);
  CHECK(sessions_of("root") == 1);

  std::vector<Trigger> many;
  for (int i = 0; i < 16; ++i) many.push_back(make(pools, parts("SELECT SLEEP(0.05) + 1")));
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};  // Catch2's assertions are not thread-safe
  for (auto& t : many)
    threads.emplace_back([&t, &succeeded] { succeeded += t.scaler->poll().ok() ? 1 : 0; });
  for (auto& th : threads) th.join();
  CHECK(succeeded == 16);
  CHECK(sessions_of("root") <= 4);
  CHECK(clients.connection_count() <= 5);
}

TEST_CASE("mysql: a query longer than the statement limit fails in bounded time") {
  ConnectionPools pools;
  auto t = with_dsn(pools, "SELECT COUNT(*) FROM test.seq_1_to_10 WHERE SLEEP(3) = 0", dsn());
  const auto started = std::chrono::steady_clock::now();
  const auto error = poll_error(*t.scaler);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(error ==
        "error inspecting MySQL: " + endpoint() +
            ": Error 1969 (70100): Query execution was interrupted (max_statement_time exceeded)");
  CHECK(took >= 4500ms);
  CHECK(took < 8s);
  // The server ended the statement; the session serves the next poll.
  CHECK(poll_ok(*with_dsn(pools, "SELECT 5", dsn()).scaler).value == 5);
  CHECK(sessions_of("root") == 1);

  // Without the server's limit (a DSN session variable lifts it), the client's read deadline
  // ends the poll: the DSN's readTimeout here, and the session is dropped.
  const auto no_limit = dsn("?max_statement_time=0&readTimeout=1s");
  auto hung = with_dsn(pools, "SELECT SLEEP(10)", no_limit);
  const auto hung_started = std::chrono::steady_clock::now();
  CHECK(poll_error(*hung.scaler) ==
        "error inspecting MySQL: " + endpoint() +
            ": Lost connection to server during query (no answer within 1s)");
  CHECK(std::chrono::steady_clock::now() - hung_started < 3s);
  CHECK(poll_ok(*with_dsn(pools, "SELECT 6", no_limit).scaler).value == 6);
}

TEST_CASE("mysql: a server that accepts but never answers fails the connect in bounded time") {
  test::SilentListener silent;
  ConnectionPools pools;
  auto t =
      with_dsn(pools, "SELECT 1", "u:p@tcp(127.0.0.1:" + std::to_string(silent.port()) + ")/d");
  const auto started = std::chrono::steady_clock::now();
  const auto error = poll_error(*t.scaler);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(
      error.starts_with("error inspecting MySQL: mysql 127.0.0.1:" + std::to_string(silent.port()) +
                        "/d: error establishing MySQL connection: "));
  CHECK(error.ends_with(
      "Lost connection to server at 'handshake: reading initial communication packet', system "
      "error: 110"));
  CHECK(took >= 4500ms);
  CHECK(took < 7s);
}
