// The `mysql` trigger (KEDA pkg/scalers/mysql_scaler.go): the number a
// query returns, through sessions shared per connection settings (mysql/client.h).
//
// Parameters, their sources (note host/port/dbName prefer metadata here, unlike postgresql),
// the DSN KEDA builds from them and the metric name (the text after the connection string's last
// '/', query parameters included) are KEDA's. Where Ebb differs on purpose:
// - The connectionString is parsed as go-sql-driver v1.10 parses it when the trigger is parsed,
//   so a DSN KEDA refuses (its scaler never builds) is reported before anything is deployed,
//   with the driver's message. `strict`, which makes the driver panic, is such an error. A
//   network other than tcp, tcp4, tcp6 or unix is refused then too (KEDA fails when dialling).
// - No connection is opened while parsing or creating the scaler; the first poll connects.
// - Every query runs under max_statement_time (MariaDB) / max_execution_time (MySQL) of 5 s
//   and a client read deadline 2 s later; connecting has a 5 s deadline. KEDA has none unless
//   the DSN sets timeout/readTimeout (which Ebb honours too).
// - Sessions are shared by every trigger with the same settings, at most 4 per server and
//   credentials, where KEDA opens a pool per trigger.
// - The client is libmariadb: DSN parameters that only shape Go values or driver internals
//   (parseTime, loc, columnsWithAlias, interpolateParams, maxAllowedPacket, checkConnLiveness,
//   connectionAttributes, ...) are validated and have no effect on reading one number;
//   tls=true asks Connector/C to verify the server; charset, collation, compress,
//   multiStatements, allowCleartextPasswords and unknown parameters (session variables, "SET
//   name = value" at connect) are applied as the driver applies them.
// - `metricName` is read and ignored, as in KEDA, with a warning saying so.
// - Errors name the endpoint ("mysql host:port/db"), never the password.
#include <memory>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/strings.h"
#include "mysql/client.h"
#include "mysql/dsn.h"
#include "sql/query.h"

namespace ebb::scalers {

namespace {

using namespace params;

struct MysqlConfig {
  std::string connection_string;
  std::string username, password;
  std::string host, port, db_name;
  std::string query;
  double query_value = 0;
  double activation_query_value = 0;
  std::string metric_name;
};

const Table<MysqlConfig>& table() {
  static const auto t = [] {
    const Options optional{.optional = true};
    const Options secret{.optional = true, .secret = true};
    Table<MysqlConfig> tbl;
    tbl.add(&MysqlConfig::connection_string, "connectionString", {A, E}, secret);
    tbl.add(&MysqlConfig::username, "username", {M, A, E}, optional);
    tbl.add(&MysqlConfig::password, "password", {A, E}, secret);
    tbl.add(&MysqlConfig::host, "host", {M, A}, optional);
    tbl.add(&MysqlConfig::port, "port", {M, A}, optional);
    tbl.add(&MysqlConfig::db_name, "dbName", {M, A}, optional);
    tbl.add(&MysqlConfig::query, "query", {M});
    tbl.add(&MysqlConfig::query_value, "queryValue", {M});
    tbl.add(&MysqlConfig::activation_query_value, "activationQueryValue", {M},
            {.default_value = "0"});
    tbl.add(&MysqlConfig::metric_name, "metricName", {M},
            {.optional = true,
             .announce =
                 "it has no effect: the metric is named s<index>-mysql-<database>, as in KEDA"});
    return tbl;
  }();
  return t;
}

FieldErrors warnings(const TriggerContext& ctx) {
  return sql::credential_metadata_warnings(ctx, table().warnings(ctx),
                                           {"connectionString", "password"});
}

ParseResult parse(const TriggerContext& ctx) {
  MysqlConfig c;
  FieldErrors errors = table().parse(ctx, c);

  // KEDA's metadataToConnectionStr, then the driver's ParseDSN (sql.Open).
  const bool given = !c.connection_string.empty();
  const std::string dsn =
      given ? c.connection_string
            : mysql::format_dsn(c.username, c.password, c.host, c.port, c.db_name);
  auto settings = mysql::parse_dsn(dsn);
  if (!settings)
    errors.push_back(
        {given ? path_of(ctx, "connectionString", {A, E}) : path_of(ctx, "host", {M, A}),
         settings.error()});
  if (!errors.empty()) return unexpected(std::move(errors));

  const std::string db_name = given ? mysql::metric_db_name(c.connection_string) : c.db_name;
  auto spec = external_metric(ctx, "mysql-" + db_name, c.query_value, c.activation_query_value,
                              TargetForm::Milli);
  mysql::Target target{std::move(settings).value(), {}};
  std::string endpoint = target.settings.endpoint();
  return std::unique_ptr<TriggerConfig>(std::make_unique<sql::QueryTrigger<mysql::Target>>(
      std::move(spec), std::move(target), std::move(c.query), std::move(endpoint), "MySQL"));
}

}  // namespace

void register_mysql_scaler(Registry& registry) {
  ScalerDefinition definition =
      ScalerDefinition{.types = {"mysql"},
                       .keda_name = "mySQLScaler",
                       .summary = "the number a MySQL or MariaDB query returns",
                       .parse = parse}
          .with_table(table());
  definition.warnings = warnings;
  registry.add(std::move(definition));
}

}  // namespace ebb::scalers
