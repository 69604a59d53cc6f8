// Pure tests of the postgresql scaler: every table of KEDA's postgresql_scaler_test.go (metric
// names, connection strings, escaping, metadata parsing) with exact errors, the connection
// string descriptions used in messages, and the poll path's value, activity and error texts
// through a recording postgresql::Clients. KEDA's TestPodIdentityAzureWorkload… has no
// counterpart: a TriggerAuthentication with a podIdentity is refused before any scaler sees it.
#include <catch2/catch.hpp>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "postgresql/client.h"
#include "postgresql/conninfo.h"
#include "sql/value.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

TriggerContext trigger(Map metadata, Map auth = {}, Map env = {}, std::size_t index = 0) {
  TriggerContext c;
  c.type = "postgresql";
  c.index = index;
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

const TriggerConfig& ok(const ParseResult& r) {
  INFO((r ? std::string() : errors_of(r).front()));
  REQUIRE(r.ok());
  return *r.value();
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

// Records what the scaler asks for and answers with a preset value or error.
class RecordingClients final : public postgresql::Clients {
 public:
  Result<double> query_value(const postgresql::Target& target, const std::string& query) override {
    targets.push_back(target);
    queries.push_back(query);
    if (!error.empty()) return fail(error, true);
    return answer;
  }
  std::size_t connection_count(const postgresql::Target&) const override { return 0; }
  std::size_t connection_count() const override { return 0; }

  std::vector<postgresql::Target> targets;
  std::vector<std::string> queries;
  double answer = 0;
  std::string error;
};

// The Target a trigger's scaler hands to the client: its connection string and endpoint.
postgresql::Target target_of(const TriggerContext& c) {
  auto r = parse(c);
  const auto& cfg = ok(r);
  ConnectionPools pools;
  auto clients = std::make_shared<RecordingClients>();
  pools.provide<postgresql::Clients>(clients);
  auto scaler = cfg.create_scaler(pools);
  REQUIRE(scaler.ok());
  (void)(*scaler)->poll();
  REQUIRE(clients->targets.size() == 1);
  return clients->targets.front();
}

const std::string kMissingQuery =
    "metadata.query: missing required parameter \"query\" in [triggerMetadata]";

}  // namespace

TEST_CASE(
    "postgresql: KEDA's metric identifiers are s<index>-postgresql, whatever the connection") {
  // testPostgreSQLMetadata[0] and [1] with TestPostgreSQLGetMetricSpecForScaling's env.
  auto first = trigger({{"query", "test_query"},
                        {"targetQueryValue", "5"},
                        {"connectionFromEnv", "test_connection_string"}},
                       {}, {{"test_connection_string", "postgresql://localhost:5432"}}, 0);
  auto second = trigger({{"query", "test_query"},
                         {"targetQueryValue", "5"},
                         {"connectionFromEnv", "test_connection_string2"}},
                        {}, {{"test_connection_string2", "postgresql://test@localhost"}}, 1);
  CHECK(ok(parse(first)).metric_spec().name == "s0-postgresql");
  CHECK(ok(parse(second)).metric_spec().name == "s1-postgresql");
  // metricName and dbName change nothing.
  auto named = trigger({{"query", "q"},
                        {"targetQueryValue", "5"},
                        {"host", "h"},
                        {"port", "1"},
                        {"userName", "u"},
                        {"dbName", "orders"},
                        {"sslmode", "disable"},
                        {"metricName", "scaler_sql_data"}},
                       {}, {}, 3);
  CHECK(ok(parse(named)).metric_spec().name == "s3-postgresql");
}

TEST_CASE("postgresql: KEDA's connection string generation") {
  const Map base = {{"query", "test_query"}, {"targetQueryValue", "5"}};
  auto with = [&](Map extra) {
    Map m = base;
    m.insert(extra.begin(), extra.end());
    return m;
  };
  CHECK(target_of(trigger(with({{"connectionFromEnv", "CONNECTION_ENV"}}), {},
                          {{"CONNECTION_ENV", "test_connection_from_env"}}))
            .conninfo == "test_connection_from_env");
  CHECK(target_of(trigger(base, {{"connection", "test_connection_from_auth"}})).conninfo ==
        "test_connection_from_auth");
  CHECK(target_of(trigger(with({{"host", "localhost"},
                                {"port", "1234"},
                                {"dbName", "testDb"},
                                {"userName", "user"},
                                {"sslmode", "required"}})))
            .conninfo ==
        "host=localhost port=1234 user=user dbname=testDb sslmode=required password=");
  CHECK(target_of(trigger(with({{"host", "host1,host2"},
                                {"port", "1234"},
                                {"dbName", "testDb"},
                                {"userName", "user"},
                                {"sslmode", "required"}})))
            .conninfo ==
        "host=host1,host2 port=1234 user=user dbname=testDb sslmode=required password=");
}

TEST_CASE("postgresql: KEDA's escapePostgreConnectionParameter") {
  CHECK(postgresql::escape_parameter("simple") == "simple");
  CHECK(postgresql::escape_parameter("with space") == "'with space'");
  CHECK(postgresql::escape_parameter("user\tsslmode=disable") == "'user\tsslmode=disable'");
  CHECK(postgresql::escape_parameter("user\nhost=attacker") == "'user\nhost=attacker'");
  CHECK(postgresql::escape_parameter("user'name") == "'user\\'name'");
  CHECK(postgresql::escape_parameter(R"(user\name)") == R"('user\\name')");
  CHECK(postgresql::escape_parameter(R"(user\'name)") == R"('user\\\'name')");
  // Unicode spaces (Go's unicode.IsSpace) quote too; '=' and ',' never do; "" stays "".
  CHECK(postgresql::escape_parameter("a\u00a0b") == "'a\u00a0b'");
  CHECK(postgresql::escape_parameter("a\u3000b") == "'a\u3000b'");
  CHECK(postgresql::escape_parameter("a\u0085b") == "'a\u0085b'");
  CHECK(postgresql::escape_parameter("h1,h2=x") == "h1,h2=x");
  CHECK(postgresql::escape_parameter("") == "");
  CHECK(postgresql::escape_parameter("caf\u00e9") == "caf\u00e9");
  // strings.IndexFunc decodes as utf8.DecodeRuneInString: an overlong form of a space is
  // invalid UTF-8 (U+FFFD), not a space, so it needs no quotes.
  CHECK(postgresql::escape_parameter("a\300\240b") == "a\300\240b");          // C0 A0
  CHECK(postgresql::escape_parameter("a\340\200\240b") == "a\340\200\240b");  // E0 80 A0
  CHECK(postgresql::escape_parameter("a\xE3\x80") == "a\xE3\x80");
}

TEST_CASE("postgresql: KEDA's whitespace-escaping connection string") {
  auto c = trigger({{"query", "test_query"},
                    {"targetQueryValue", "5"},
                    {"host", "db.example"},
                    {"port", "5432"},
                    {"dbName", "testdb"},
                    {"userName", "user\tsslmode=disable"},
                    {"sslmode", "require"}},
                   {{"password", "secret\nhost=attacker"}});
  // The values are trimmed as KEDA trims them; inner whitespace is quoted, so no key is injected.
  CHECK(target_of(c).conninfo ==
        "host=db.example port=5432 user='user\tsslmode=disable' dbname=testdb sslmode=require "
        "password='secret\nhost=attacker'");
}

TEST_CASE("postgresql: KEDA's TestParsePostgreSQLMetadata, with exact errors") {
  const Map env = {{"POSTGRE_PASSWORD", "pass"}, {"POSTGRE_CONN_STR", "test_conn_str"}};
  // Empty metadata: KEDA stops after its first two; Ebb reports every problem at once.
  CHECK(errors_of(parse(trigger({}, {}, env))) ==
        std::vector<std::string>{kMissingQuery, "metadata.host: no host given",
                                 "metadata.targetQueryValue: no targetQueryValue given"});
  CHECK(target_of(trigger({{"query", "query"},
                           {"targetQueryValue", "12"},
                           {"connectionFromEnv", "POSTGRE_CONN_STR"}},
                          {}, env))
            .conninfo == "test_conn_str");
  CHECK(target_of(trigger({{"query", "query"},
                           {"targetQueryValue", "12"},
                           {"host", "test_host"},
                           {"port", "test_port"},
                           {"userName", "test_username"},
                           {"passwordFromEnv", "POSTGRE_PASSWORD"},
                           {"dbName", "test_dbname"},
                           {"sslmode", "require"}},
                          {}, env))
            .conninfo ==
        "host=test_host port=test_port user=test_username dbname=test_dbname sslmode=require "
        "password=pass");
  CHECK(target_of(trigger({{"query", "query"}, {"targetQueryValue", "12"}},
                          {{"host", "test_host"},
                           {"port", "test_port"},
                           {"userName", "test_username"},
                           {"password", "POSTGRE_PASSWORD"},
                           {"dbName", "test_dbname"},
                           {"sslmode", "disable"}},
                          env))
            .conninfo ==
        "host=test_host port=test_port user=test_username dbname=test_dbname sslmode=disable "
        "password=POSTGRE_PASSWORD");
}

TEST_CASE(
    "postgresql: Validate reports only the first missing part, and a connection string needs "
    "none") {
  const Map base = {{"query", "q"}, {"targetQueryValue", "1"}};
  auto without = [&](const std::string& dropped) {
    Map m = base;
    for (const auto& [k, v] : Map{{"host", "h"},
                                  {"port", "5432"},
                                  {"userName", "u"},
                                  {"dbName", "d"},
                                  {"sslmode", "disable"}})
      if (k != dropped) m[k] = v;
    return errors_of(parse(trigger(m)));
  };
  CHECK(without("host") == std::vector<std::string>{"metadata.host: no host given"});
  CHECK(without("port") == std::vector<std::string>{"metadata.port: no port given"});
  CHECK(without("userName") == std::vector<std::string>{"metadata.userName: no userName given"});
  CHECK(without("dbName") == std::vector<std::string>{"metadata.dbName: no dbName given"});
  CHECK(without("sslmode") == std::vector<std::string>{"metadata.sslmode: no sslmode given"});
  CHECK(errors_of(parse(trigger(base))) ==
        std::vector<std::string>{"metadata.host: no host given"});
  CHECK(errors_of(parse(trigger(base, {{"connection", "host=db"}}))).empty());
  // From auth params the parts count too, with auth params winning over metadata.
  auto both = trigger({{"query", "q"}, {"targetQueryValue", "1"}, {"host", "meta-host"}},
                      {{"host", "auth-host"},
                       {"port", "5"},
                       {"userName", "u"},
                       {"dbName", "d"},
                       {"sslmode", "disable"}});
  CHECK(target_of(both).conninfo ==
        "host=auth-host port=5 user=u dbname=d sslmode=disable password=");
}

TEST_CASE("postgresql: connection and password never come from metadata, and say so") {
  // KEDA's testPostgreSQLMetadata[3]: `connection` in metadata is ignored, so the parts are
  // missing.
  auto c = trigger(
      {{"query", "q"}, {"targetQueryValue", "1"}, {"connection", "postgresql://localhost:5432"}});
  CHECK(errors_of(parse(c)) == std::vector<std::string>{"metadata.host: no host given"});
  const auto warnings = Registry::builtin().warnings(c);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].str() ==
        "metadata.connection: connection is read only from authParams or connectionFromEnv, as in "
        "KEDA; this "
        "metadata value is ignored (and a secret does not belong there)");
  auto p = trigger({{"query", "q"},
                    {"targetQueryValue", "1"},
                    {"host", "h"},
                    {"port", "1"},
                    {"userName", "u"},
                    {"dbName", "d"},
                    {"sslmode", "disable"},
                    {"password", "in-metadata"}});
  CHECK(target_of(p).conninfo == "host=h port=1 user=u dbname=d sslmode=disable password=");
  REQUIRE(Registry::builtin().warnings(p).size() == 1);
  CHECK(Registry::builtin().warnings(p)[0].path == "metadata.password");
}

TEST_CASE("postgresql: targets, activation, metric type and the scalingModifiers exception") {
  auto c =
      trigger({{"query", "q"}, {"targetQueryValue", "2.5"}, {"activationTargetQueryValue", "-1"}},
              {{"connection", "host=db"}});
  c.metric_type = "Value";
  const auto r = parse(c);
  const auto& spec = ok(r).metric_spec();
  CHECK(spec.target == 2.5);
  CHECK(spec.target_quantity == "2.500");
  CHECK(spec.activation_target == -1);
  CHECK(spec.target_type == MetricTargetType::Value);

  // targetQueryValue 0 (or absent) is an error, unless the object uses scalingModifiers.
  auto zero = trigger({{"query", "q"}, {"targetQueryValue", "0"}}, {{"connection", "host=db"}});
  CHECK(errors_of(parse(zero)) ==
        std::vector<std::string>{"metadata.targetQueryValue: no targetQueryValue given"});
  zero.as_metric_source = true;
  CHECK(ok(parse(zero)).metric_spec().target_quantity == "0");
  auto negative =
      trigger({{"query", "q"}, {"targetQueryValue", "-3"}}, {{"connection", "host=db"}});
  CHECK(ok(parse(negative)).metric_spec().target == -3);

  // Float parsing: JSON numbers only; the bad value is an error, not a missing target.
  CHECK(errors_of(
            parse(trigger({{"query", "q"}, {"targetQueryValue", "AA"}}, {{"connection", "x"}}))) ==
        std::vector<std::string>{"metadata.targetQueryValue: must be a number, got \"AA\""});
  CHECK(errors_of(parse(trigger(
            {{"query", "q"}, {"targetQueryValue", "1"}, {"activationTargetQueryValue", "05"}},
            {{"connection", "x"}}))) ==
        std::vector<std::string>{
            "metadata.activationTargetQueryValue: must be a number, got \"05\""});

  auto utilization = trigger({{"query", "q"}, {"targetQueryValue", "1"}}, {{"connection", "x"}});
  utilization.metric_type = "Utilization";
  CHECK_FALSE(parse(utilization).ok());
}

TEST_CASE("postgresql: the definition") {
  const auto* def = Registry::builtin().find("postgresql");
  REQUIRE(def);
  CHECK(def->keda_name == "postgreSQLScaler");
  CHECK(def->types == std::vector<std::string>{"postgresql"});
}

TEST_CASE("postgresql: endpoints describe host, port and database, never credentials") {
  using postgresql::describe;
  CHECK(
      describe("host=db.example port=5433 user=u dbname=orders sslmode=disable password=secret") ==
      "postgresql db.example:5433/orders");
  CHECK(describe("host=localhost port=1234 user=user dbname=testDb sslmode=required password=") ==
        "postgresql localhost:1234/testDb");
  CHECK(describe("host = 'my host' dbname='a b'  password='p w'") == "postgresql my host:5432/a b");
  CHECK(describe("host=h1,h2 port=1,2") == "postgresql h1:1,h2:2");
  CHECK(describe("host=h1,h2 port=7") == "postgresql h1:7,h2:7");
  CHECK(describe("hostaddr=10.0.0.1 dbname=x") == "postgresql 10.0.0.1:5432/x");
  CHECK(describe("dbname=x") == "postgresql (default host):5432/x");
  CHECK(describe("postgresql://user:secret@db:5433/orders?sslmode=disable") ==
        "postgresql db:5433/orders");
  CHECK(describe("postgres://u:p%40ss@[::1]:6000,other/db%20x") ==
        "postgresql [::1]:6000,other:5432/db x");
  CHECK(describe("postgresql://localhost") == "postgresql localhost:5432");
  CHECK(describe("postgresql:///db?host=/var/run/postgresql&port=5434") ==
        "postgresql /var/run/postgresql:5434/db");
  CHECK(describe("test_conn_str") == "postgresql (default host):5432");
  // A password never shows, also in strings libpq will refuse.
  CHECK(describe("password=secret host") == "postgresql (default host):5432");
  CHECK(describe("postgresql://u:secret@") == "postgresql (default host):5432");
  CHECK(describe("postgresql://u:se/cret@db/x") == "postgresql (unreadable URL)");
}

TEST_CASE("postgresql: a URL whose password holds an unescaped '/' is refused, unquoted") {
  auto c = trigger({{"query", "q"}, {"targetQueryValue", "1"}},
                   {{"connection", "postgresql://u:se/cret@db:5432/x"}});
  CHECK(errors_of(parse(c)) ==
        std::vector<std::string>{
            "authParams.connection: the password in the connection URL holds an unescaped '/', "
            "'?' or '#'; percent-encode it (e.g. '/' as %2F)"});
  auto fine = trigger({{"query", "q"}, {"targetQueryValue", "1"}},
                      {{"connection", "postgresql://u:se%2Fcret@db/x?a=b"}});
  CHECK(ok(parse(fine)).endpoint() == "postgresql db:5432/x");
}

TEST_CASE("postgresql: a poll asks the shared client and reports its errors with the endpoint") {
  auto c = trigger({{"query", "SELECT count(*) FROM jobs"},
                    {"targetQueryValue", "5"},
                    {"activationTargetQueryValue", "3"}},
                   {{"connection", "postgresql://u:secret@db:5432/orders"}});
  auto r = parse(c);
  const auto& cfg = ok(r);
  CHECK(cfg.endpoint() == "postgresql db:5432/orders");
  ConnectionPools pools;
  auto clients = std::make_shared<RecordingClients>();
  pools.provide<postgresql::Clients>(clients);
  auto scaler = std::move(cfg.create_scaler(pools)).value();

  clients->answer = 3;
  auto p = scaler->poll();
  REQUIRE(p.ok());
  CHECK(p->value == 3);
  CHECK_FALSE(p->active);  // 3 > 3 is false
  clients->answer = 3.5;
  CHECK(scaler->poll()->active);
  CHECK(clients->queries.back() == "SELECT count(*) FROM jobs");
  CHECK(clients->targets.back().timeouts.connect == std::chrono::milliseconds(5000));
  CHECK(clients->targets.back().timeouts.statement == std::chrono::milliseconds(5000));

  clients->error = "could not query postgreSQL: sql: no rows in result set";
  p = scaler->poll();
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message ==
        "error inspecting postgreSQL: postgresql db:5432/orders: could not query postgreSQL: sql: "
        "no rows in result set");
}

TEST_CASE("postgresql: triggers with the same connection string share a pool key, others do not") {
  postgresql::Target a{"host=db user=u password=x", "", {}};
  postgresql::Target b = a;
  CHECK(a.pool_key() == b.pool_key());
  b.conninfo = "host=db user=u password=y";
  CHECK(a.pool_key() != b.pool_key());
  b = a;
  b.timeouts.statement = std::chrono::milliseconds(1);
  CHECK(a.pool_key() != b.pool_key());
}

TEST_CASE("sql: Scan(&float64) as database/sql does it") {
  using sql::ValueKind;
  CHECK(*sql::scan_float("12", ValueKind::Number, "count", "string") == 12);
  CHECK(*sql::scan_float("2.5", ValueKind::Text, "avg", "string") == 2.5);
  CHECK(*sql::scan_float("1e3", ValueKind::Text, "x", "string") == 1000);
  CHECK(*sql::scan_float("1_000", ValueKind::Text, "x", "string") == 1000);
  CHECK(*sql::scan_float("0x1p-2", ValueKind::Text, "x", "string") == 0.25);
  CHECK(*sql::scan_float("-Infinity", ValueKind::Number, "x", "string") ==
        -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(*sql::scan_float("NaN", ValueKind::Text, "x", "string")));
  CHECK(sql::scan_float(std::nullopt, ValueKind::Number, "?column?", "string").error() ==
        "sql: Scan error on column index 0, name \"?column?\": converting NULL to float64 is "
        "unsupported");
  CHECK(sql::scan_float("abc", ValueKind::Text, "name", "string").error() ==
        "sql: Scan error on column index 0, name \"name\": converting driver.Value type string "
        "(\"abc\") to a "
        "float64: invalid syntax");
  CHECK(sql::scan_float("t", ValueKind::Bool, "b", "string").error() ==
        "sql: Scan error on column index 0, name \"b\": converting driver.Value type bool "
        "(\"true\") to a float64: "
        "invalid syntax");
  CHECK(sql::scan_float("1e400", ValueKind::Text, "x", "[]uint8").error() ==
        "sql: Scan error on column index 0, name \"x\": converting driver.Value type []uint8 "
        "(\"1e400\") to a "
        "float64: value out of range");
  for (const char* bad : {" 5", "5 ", "", "+nan", "1__0", "_1", "0x1", "infin", "1e", "."})
    CHECK_FALSE(sql::scan_float(bad, ValueKind::Text, "x", "string").ok());
  CHECK(sql::wrong_column_count(2) == "sql: expected 2 destination arguments in Scan, not 1");
}
