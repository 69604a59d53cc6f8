// Pure tests of the mysql scaler: every table of KEDA's mysql_scaler_test.go with exact errors,
// go-sql-driver v1.10's DSN grammar (ParseDSN, FormatDSN as KEDA calls it), KEDA's metric-name
// quirks, and the poll path through a recording mysql::Clients.
#include <catch2/catch.hpp>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "mysql/client.h"
#include "mysql/dsn.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;

namespace {

// KEDA's testMySQLResolvedEnv, which TestParseMySQLMetadata passes for every row.
const Map kEnv = {{"MYSQL_USERNAME", "test_username"},
                  {"MYSQL_PASSWORD", "pass"},
                  {"MYSQL_CONN_STR", "user@tcp(http://my.mysql.dev:3306)/stats_db"}};

TriggerContext trigger(Map metadata, Map auth = {}, std::size_t index = 0) {
  TriggerContext c;
  c.type = "mysql";
  c.index = index;
  c.metadata = std::move(metadata);
  c.auth_params = std::move(auth);
  c.resolved_env = kEnv;
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

class RecordingClients final : public mysql::Clients {
 public:
  Result<double> query_value(const mysql::Target& target, const std::string& query) override {
    targets.push_back(target);
    queries.push_back(query);
    if (!error.empty()) return fail(error, true);
    return answer;
  }
  std::size_t connection_count(const mysql::Target&) const override { return 0; }
  std::size_t connection_count() const override { return 0; }
  std::vector<mysql::Target> targets;
  std::vector<std::string> queries;
  double answer = 0;
  std::string error;
};

mysql::Settings settings_of(const TriggerContext& c) {
  auto r = parse(c);
  const auto& cfg = ok(r);
  ConnectionPools pools;
  auto clients = std::make_shared<RecordingClients>();
  pools.provide<mysql::Clients>(clients);
  auto scaler = std::move(cfg.create_scaler(pools)).value();
  (void)scaler->poll();
  REQUIRE(clients->targets.size() == 1);
  return clients->targets.front().settings;
}

mysql::Settings dsn_ok(const std::string& dsn) {
  auto s = mysql::parse_dsn(dsn);
  INFO(dsn << ": " << (s ? std::string() : s.error()));
  REQUIRE(s.ok());
  return *s;
}

std::string dsn_error(const std::string& dsn) {
  auto s = mysql::parse_dsn(dsn);
  REQUIRE_FALSE(s.ok());
  return s.error();
}

const Map kRow2 = {
    {"query", "query"},       {"queryValue", "12"},          {"host", "test_host"},
    {"port", "test_port"},    {"username", "test_username"}, {"passwordFromEnv", "MYSQL_PASSWORD"},
    {"dbName", "test_dbname"}};

}  // namespace

TEST_CASE("mysql: KEDA's TestParseMySQLMetadata, with exact errors") {
  CHECK(errors_of(parse(trigger({}))) ==
        std::vector<std::string>{
            "metadata.query: missing required parameter \"query\" in [triggerMetadata]",
            "metadata.queryValue: missing required parameter \"queryValue\" in [triggerMetadata]"});
  CHECK(errors_of(parse(trigger({{"query", "query"},
                                 {"queryValue", "12"},
                                 {"connectionStringFromEnv", "MYSQL_CONN_STR"}})))
            .empty());
  CHECK(errors_of(parse(trigger(kRow2))).empty());
  Map row3 = kRow2;
  row3.erase("username");
  row3["usernameFromEnv"] = "MYSQL_USERNAME";
  CHECK(settings_of(trigger(row3)).user == "test_username");
  const Map auth = {{"host", "test_host"},
                    {"port", "test_port"},
                    {"username", "test_username"},
                    {"password", "MYSQL_PASSWORD"},
                    {"dbName", "test_dbname"}};
  CHECK(errors_of(parse(trigger({{"query", "query"}, {"queryValue", "12"}}, auth))).empty());
  const std::vector<std::string> bad_activation = {
      "metadata.activationQueryValue: must be a number, got \"AA\""};
  CHECK(errors_of(parse(trigger(
            {{"query", "query"}, {"queryValue", "12"}, {"activationQueryValue", "AA"}}, auth))) ==
        bad_activation);
  // Row 6 ("No username provided"): still only the activation value; no username is no error.
  Map no_user = auth;
  no_user.erase("username");
  CHECK(errors_of(parse(
            trigger({{"query", "query"}, {"queryValue", "12"}, {"activationQueryValue", "AA"}},
                    no_user))) == bad_activation);
  CHECK(errors_of(parse(trigger({{"query", "query"}, {"queryValue", "12"}}, no_user))).empty());
}

TEST_CASE(
    "mysql: KEDA's connection strings: verbatim from connectionString, built from the parts") {
  // TestMetadataToConnectionStrUseConnStr: the DSN is used as given (here: as the driver parses
  // it).
  const auto given = settings_of(trigger(
      {{"query", "query"}, {"queryValue", "12"}, {"connectionStringFromEnv", "MYSQL_CONN_STR"}}));
  CHECK(given.user == "user");
  CHECK(given.password.empty());
  CHECK(given.net == "tcp");
  CHECK(given.address == "[http://my.mysql.dev:3306]:3306");  // what ParseDSN makes of it
  CHECK(given.dbname == "stats_db");
  // TestMetadataToConnectionStrBuildNew.
  CHECK(mysql::format_dsn("test_username", "pass", "test_host", "test_port", "test_dbname") ==
        "test_username:pass@tcp(test_host:test_port)/test_dbname");
  const auto built = settings_of(trigger(kRow2));
  CHECK(built.user == "test_username");
  CHECK(built.password == "pass");
  CHECK(built.address == "test_host:test_port");
  CHECK(built.dbname == "test_dbname");
  CHECK(built.net == "tcp");
  // connectionString wins over every part; host/port/dbName prefer metadata over auth params.
  const auto both =
      settings_of(trigger({{"query", "q"}, {"queryValue", "1"}, {"host", "meta"}, {"port", "1"}},
                          {{"host", "auth"}, {"port", "2"}, {"dbName", "db"}, {"username", "u"}}));
  CHECK(both.address == "meta:1");
  CHECK(both.dbname == "db");
  CHECK(both.user == "u");
  const auto over =
      settings_of(trigger({{"query", "q"}, {"queryValue", "1"}, {"host", "meta"}, {"port", "1"}},
                          {{"connectionString", "a:b@tcp(c:3)/d"}}));
  CHECK(over.address == "c:3");
  CHECK(over.user == "a");
}

TEST_CASE("mysql: FormatDSN quirks KEDA inherits") {
  // An empty user drops the password; no port gives "host:" (no default 3306); IPv6 in brackets.
  CHECK(mysql::format_dsn("", "secret", "db", "3306", "x") == "tcp(db:3306)/x");
  CHECK(mysql::format_dsn("u", "", "db", "", "x") == "u@tcp(db:)/x");
  CHECK(mysql::format_dsn("", "", "", "", "") == "tcp(:)/");
  CHECK(mysql::format_dsn("u", "p", "::1", "3306", "x") == "u:p@tcp([::1]:3306)/x");
  CHECK(mysql::format_dsn("u", "p", "h", "1", "my db/x?") == "u:p@tcp(h:1)/my%20db%2Fx%3F");
  CHECK(mysql::path_escape("a$&+,/:;=?@ é~") == "a$&+%2C%2F:%3B=%3F@%20%C3%A9~");
  CHECK(dsn_ok(mysql::format_dsn("u", "p", "h", "1", "my db/x?")).dbname == "my db/x?");
  CHECK(dsn_ok("u@tcp(db:)/x").address == "db:");
}

TEST_CASE("mysql: KEDA's metric names, quirks included") {
  CHECK(ok(parse(trigger({{"query", "query"},
                          {"queryValue", "12"},
                          {"connectionStringFromEnv", "MYSQL_CONN_STR"}})))
            .metric_spec()
            .name == "s0-mysql-stats_db");
  CHECK(ok(parse(trigger(kRow2, {}, 1))).metric_spec().name == "s1-mysql-test_dbname");
  auto with_conn = [](const std::string& dsn) {
    return ok(parse(trigger({{"query", "q"}, {"queryValue", "1"}}, {{"connectionString", dsn}})))
        .metric_spec()
        .name;
  };
  CHECK(with_conn("u:p@tcp(db:3306)/stats_db?tls=false") == "s0-mysql-stats_db?tls=false");
  CHECK(with_conn("u:p@tcp(db:3306)/my.db") == "s0-mysql-my-db");
  CHECK(with_conn("u:p@tcp(db:3306)/") == "s0-mysql-");
  CHECK(with_conn("u:p@tcp(db:3306)/x?loc=America%2FNew_York") ==
        "s0-mysql-x?loc=America-2FNew_York");
  // An unescaped '/' in a parameter is refused by the driver (KEDA's would be named "New_York").
  CHECK(errors_of(
            parse(trigger({{"query", "q"}, {"queryValue", "1"}},
                          {{"connectionString", "u:p@tcp(db:3306)/x?loc=America/New_York"}}))) ==
        std::vector<std::string>{
            "authParams.connectionString: invalid DSN: did you forget to escape a param value?"});
  CHECK(ok(parse(trigger({{"query", "q"}, {"queryValue", "1"}}))).metric_spec().name ==
        "s0-mysql-");
  CHECK(ok(parse(trigger({{"query", "q"}, {"queryValue", "1"}, {"dbName", "a/b"}})))
            .metric_spec()
            .name == "s0-mysql-a-b");
  // A user's metricName never survives, and a warning says so.
  auto named =
      trigger({{"query", "q"}, {"queryValue", "1"}, {"dbName", "d"}, {"metricName", "custom"}});
  CHECK(ok(parse(named)).metric_spec().name == "s0-mysql-d");
  const auto warnings = Registry::builtin().warnings(named);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].str() ==
        "metadata.metricName: parameter \"metricName\" is deprecated: it has no effect: the metric "
        "is named "
        "s<index>-mysql-<database>, as in KEDA");
}

TEST_CASE("mysql: targets, activation and metric type") {
  auto c = trigger({{"query", "q"}, {"queryValue", "0"}, {"activationQueryValue", "-2"}});
  c.metric_type = "Value";
  const auto r = parse(c);
  const auto& spec = ok(r).metric_spec();
  CHECK(spec.target == 0);  // KEDA accepts 0 (and negatives) here
  CHECK(spec.target_quantity == "0");
  CHECK(spec.activation_target == -2);
  CHECK(spec.target_type == MetricTargetType::Value);
  CHECK(
      ok(parse(trigger({{"query", "q"}, {"queryValue", "7.25"}}))).metric_spec().target_quantity ==
      "7.250");
  CHECK(errors_of(parse(trigger({{"query", "q"}, {"queryValue", "lots"}}))) ==
        std::vector<std::string>{"metadata.queryValue: must be a number, got \"lots\""});
  const auto* def = Registry::builtin().find("mysql");
  REQUIRE(def);
  CHECK(def->keda_name == "mySQLScaler");
}

TEST_CASE(
    "mysql: connectionString and password are not read from metadata, and a warning says so") {
  auto c = trigger({{"query", "q"},
                    {"queryValue", "1"},
                    {"connectionString", "u:p@tcp(h:1)/d"},
                    {"host", "h"},
                    {"port", "2"}});
  CHECK(settings_of(c).address == "h:2");
  const auto warnings = Registry::builtin().warnings(c);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].path == "metadata.connectionString");
}

TEST_CASE("mysql: ParseDSN accepts what go-sql-driver accepts") {
  auto s = dsn_ok("user:pw@tcp(db:3306)/stats");
  CHECK(s.user == "user");
  CHECK(s.password == "pw");
  CHECK(s.net == "tcp");
  CHECK(s.address == "db:3306");
  CHECK(s.dbname == "stats");
  CHECK(dsn_ok("user:pw@tcp(db)/stats").address == "db:3306");
  CHECK(dsn_ok("user:pw@/stats").address == "127.0.0.1:3306");
  s = dsn_ok("user:pw@unix(/var/run/mysqld/mysqld.sock)/stats");
  CHECK(s.net == "unix");
  CHECK(s.address == "/var/run/mysqld/mysqld.sock");
  CHECK(s.endpoint() == "mysql unix(/var/run/mysqld/mysqld.sock)/stats");
  CHECK(dsn_ok("unix()/x").address == "/tmp/mysql.sock");
  CHECK(dsn_ok("user@tcp([::1]:3306)/stats").address == "[::1]:3306");
  CHECK(dsn_ok("user@tcp(::1)/stats").address == "[::1]:3306");
  s = dsn_ok("/stats");
  CHECK(s.user.empty());
  CHECK(s.address == "127.0.0.1:3306");
  CHECK(s.endpoint() == "mysql 127.0.0.1:3306/stats");
  CHECK(dsn_ok("").dbname.empty());
  CHECK(dsn_ok("tcp6([::1]:1)/x").net == "tcp6");
  // Passwords may hold ':', '@' and '/'; the last '@' before the last '/' ends them.
  s = dsn_ok("us:er:p@ss/w:rd@tcp(h:1)/d");
  CHECK(s.user == "us");
  CHECK(s.password == "er:p@ss/w:rd");
  // Parameters: known ones set options, unknown ones become session variables (unescaped).
  s = dsn_ok(
      "u:p@tcp(h:1)/"
      "d?tls=skip-verify&charset=utf8mb4,utf8&compress=1&multiStatements=true&timeout=2s"
      "&readTimeout=1500ms&sql_mode=%27ANSI%27&autocommit=1&noequals&parseTime=True&loc=Local");
  CHECK(s.tls == mysql::TlsMode::SkipVerify);
  CHECK(s.charsets == std::vector<std::string>{"utf8mb4", "utf8"});
  CHECK(s.compress);
  CHECK(s.multi_statements);
  CHECK(s.timeout == std::chrono::milliseconds(2000));
  CHECK(s.read_timeout == std::chrono::milliseconds(1500));
  CHECK_FALSE(s.write_timeout.has_value());
  CHECK(s.session_variables == std::vector<std::pair<std::string, std::string>>{
                                   {"autocommit", "1"}, {"sql_mode", "'ANSI'"}});
  CHECK(dsn_ok("/d?tls=true").tls == mysql::TlsMode::Verified);
  CHECK(dsn_ok("/d?tls=PREFERRED").tls == mysql::TlsMode::Preferred);
  CHECK(dsn_ok("/d?tls=0").tls == mysql::TlsMode::Disabled);
  CHECK(dsn_ok("/my%20db").dbname == "my db");
  CHECK(dsn_ok("/a+b").dbname == "a+b");
}

TEST_CASE("mysql: ParseDSN's errors, verbatim, never quoting credentials") {
  CHECK(dsn_error("user:pw@tcp(db:3306)") ==
        "invalid DSN: missing the slash separating the database name");
  CHECK(dsn_error("user:pw@tcp(db:3306/x") ==
        "invalid DSN: network address not terminated (missing closing brace)");
  CHECK(dsn_error("user:pw@tcp(db:3306)x/y") ==
        "invalid DSN: did you forget to escape a param value?");
  CHECK(dsn_error("/d?compress=yes") == "invalid bool value: yes");
  CHECK(
      dsn_error("/d?strict=true") ==
      "strict mode has been removed. See https://github.com/go-sql-driver/mysql/wiki/strict-mode");
  CHECK(dsn_error("/d?tls=custom") == "invalid value / unknown config name: custom");
  CHECK(dsn_error("/d?serverPubKey=k") == "invalid value / unknown server pub key name: k");
  CHECK(dsn_error("/d?timeout=5") == "time: invalid duration \"5\"");
  CHECK(dsn_error("/d?maxAllowedPacket=big") == "strconv.Atoi: parsing \"big\": invalid syntax");
  CHECK(dsn_error("/d?timeTruncate=x") ==
        "invalid timeTruncate value: x, error: time: invalid duration \"x\"");
  CHECK(dsn_error("/d%zz") == "invalid dbname \"d%zz\": invalid URL escape \"%zz\"");
  CHECK(dsn_error("/d?x=%g") == "invalid URL escape \"%g\"");
  CHECK(dsn_error("/d?interpolateParams=true&collation=gbk_bin") ==
        "invalid DSN: interpolateParams can not be used with unsafe collations");
  CHECK(dsn_error("tcp4()/d") == "default addr for network 'tcp4' unknown");
  // A DSN that lost its slash can read part of a password as the network: never quoted.
  const auto lost = dsn_error("u:s3cr3t/xyzzy@tcp(h:1)");
  CHECK(lost.find("s3cr3t") == std::string::npos);
  CHECK(lost.find("xyzzy") == std::string::npos);
  CHECK(dsn_error("udp(h:1)/d").find("unknown network") != std::string::npos);
  // Refused at parse time, on the parameter's path.
  CHECK(errors_of(parse(trigger({{"query", "q"}, {"queryValue", "1"}},
                                {{"connectionString", "u:p@tcp(h:1)"}}))) ==
        std::vector<std::string>{"authParams.connectionString: invalid DSN: missing the slash "
                                 "separating the database name"});
}

TEST_CASE("mysql: SplitHostPort as Go's net package") {
  CHECK(mysql::split_host_port("h:1").value() == std::pair<std::string, std::string>{"h", "1"});
  CHECK(mysql::split_host_port("[::1]:3306").value() ==
        std::pair<std::string, std::string>{"::1", "3306"});
  CHECK(mysql::split_host_port(":").value() == std::pair<std::string, std::string>{"", ""});
  CHECK(mysql::split_host_port("h").error() == "address h: missing port in address");
  CHECK(mysql::split_host_port("::1").error() == "address ::1: too many colons in address");
  CHECK(mysql::split_host_port("[::1]").error() == "address [::1]: missing port in address");
  CHECK(mysql::split_host_port("[::1]x:1").error() == "address [::1]x:1: missing port in address");
}

TEST_CASE("mysql: a poll asks the shared client and reports errors with the endpoint") {
  auto c = trigger(
      {{"query", "SELECT COUNT(*) FROM jobs"}, {"queryValue", "5"}, {"activationQueryValue", "2"}},
      {{"connectionString", "u:secret@tcp(db:3306)/jobs"}});
  auto r = parse(c);
  const auto& cfg = ok(r);
  CHECK(cfg.endpoint() == "mysql db:3306/jobs");
  ConnectionPools pools;
  auto clients = std::make_shared<RecordingClients>();
  pools.provide<mysql::Clients>(clients);
  auto scaler = std::move(cfg.create_scaler(pools)).value();
  clients->answer = 2;
  auto p = scaler->poll();
  REQUIRE(p.ok());
  CHECK(p->value == 2);
  CHECK_FALSE(p->active);
  clients->answer = 9;
  CHECK(scaler->poll()->active);
  clients->error = "Error 1146 (42S02): Table 'jobs.jobs' doesn't exist";
  p = scaler->poll();
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message ==
        "error inspecting MySQL: mysql db:3306/jobs: Error 1146 (42S02): Table 'jobs.jobs' doesn't "
        "exist");
}

TEST_CASE("mysql: pool keys hold everything that makes sessions differ") {
  mysql::Target a{dsn_ok("u:p@tcp(h:1)/d"), {}};
  mysql::Target b{dsn_ok("u:p@tcp(h:1)/d"), {}};
  CHECK(a.pool_key() == b.pool_key());
  b.settings = dsn_ok("u:q@tcp(h:1)/d");
  CHECK(a.pool_key() != b.pool_key());
  b.settings = dsn_ok("u:p@tcp(h:1)/d?sql_mode=ANSI");
  CHECK(a.pool_key() != b.pool_key());
}
