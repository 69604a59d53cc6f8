// The `postgresql` trigger (KEDA pkg/scalers/postgresql_scaler.go): the
// number a query returns, through sessions shared per connection string (postgresql/client.h).
//
// Parameters, sources, defaults, the built connection string and its escaping are KEDA's. Where
// Ebb differs on purpose:
// - No connection is opened while the trigger is parsed or the scaler created; the first poll
//   connects, and a refused connection is that poll's error (KEDA fails building the scaler).
// - Every query runs under a statement_timeout (5 s, or the session's own when lower) and every
//   connect under a 5 s deadline; KEDA has none outside the HPA's 3 s request.
// - Sessions are shared by every trigger with the same connection string (which holds the
//   credentials), at most 4 per string, where KEDA opens a pool per trigger.
// - The query runs over libpq, not pgx: the connection string means what libpq says it means
//   (both follow PostgreSQL's documented syntax), and libpq's defaults and PG* variables apply.
// - KEDA's podIdentity azure-workload (an Entra token as the password) is not available: Ebb
//   refuses a TriggerAuthentication with a podIdentity before any scaler sees it. Other
//   providers, which KEDA silently ignores here, are refused the same way.
// - Errors name the endpoint ("postgresql host:port/db"), never the password.
#include <algorithm>
#include <memory>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "postgresql/client.h"
#include "postgresql/conninfo.h"
#include "sql/query.h"

namespace ebb::scalers {

namespace {

using namespace params;

struct PostgresConfig {
  double target_query_value = 0;
  double activation_target_query_value = 0;
  std::string connection;
  std::string query;
  std::string host, port, user_name, db_name, sslmode;
  std::string password;
};

const Table<PostgresConfig>& table() {
  static const auto t = [] {
    const Options optional{.optional = true};
    const Options secret{.optional = true, .secret = true};
    Table<PostgresConfig> tbl;
    tbl.add(&PostgresConfig::target_query_value, "targetQueryValue", {M}, optional);
    tbl.add(&PostgresConfig::activation_target_query_value, "activationTargetQueryValue", {M},
            optional);
    tbl.add(&PostgresConfig::connection, "connection", {A, E}, secret);
    tbl.add(&PostgresConfig::query, "query", {M});
    tbl.add(&PostgresConfig::host, "host", {A, M}, optional);
    tbl.add(&PostgresConfig::port, "port", {A, M}, optional);
    tbl.add(&PostgresConfig::user_name, "userName", {A, M}, optional);
    tbl.add(&PostgresConfig::db_name, "dbName", {A, M}, optional);
    tbl.add(&PostgresConfig::sslmode, "sslmode", {A, M}, optional);
    tbl.add(&PostgresConfig::password, "password", {A, E}, secret);
    return tbl;
  }();
  return t;
}

FieldErrors warnings(const TriggerContext& ctx) {
  return sql::credential_metadata_warnings(ctx, table().warnings(ctx), {"connection", "password"});
}

// KEDA's Validate(): without a connection string the parts are required, and only the first
// missing one is reported.
std::optional<FieldError> missing_part(const TriggerContext& ctx, const PostgresConfig& c) {
  if (!c.connection.empty()) return std::nullopt;
  const std::pair<const std::string*, const char*> parts[] = {{&c.host, "host"},
                                                              {&c.port, "port"},
                                                              {&c.user_name, "userName"},
                                                              {&c.db_name, "dbName"},
                                                              {&c.sslmode, "sslmode"}};
  for (const auto& [value, name] : parts)
    if (value->empty())
      return FieldError{path_of(ctx, name, {M, A}), std::string("no ") + name + " given"};
  return std::nullopt;
}

ParseResult parse(const TriggerContext& ctx) {
  PostgresConfig c;
  FieldErrors errors = table().parse(ctx, c);
  if (auto missing = missing_part(ctx, c)) errors.push_back(*std::move(missing));
  const bool target_parsed = std::none_of(errors.begin(), errors.end(), [](const FieldError& e) {
    return e.path == "metadata.targetQueryValue";
  });
  if (target_parsed && !ctx.as_metric_source && c.target_query_value == 0)
    errors.push_back({"metadata.targetQueryValue", "no targetQueryValue given"});
  if (postgresql::url_password_cut(c.connection))
    errors.push_back({path_of(ctx, "connection", {A, E}),
                      "the password in the connection URL holds an unescaped '/', '?' or '#'; "
                      "percent-encode it (e.g. "
                      "'/' as %2F)"});
  if (!errors.empty()) return unexpected(std::move(errors));

  postgresql::Target target;
  target.conninfo = !c.connection.empty()
                        ? c.connection
                        : postgresql::build_connection(
                              {c.host, c.port, c.user_name, c.db_name, c.sslmode, c.password});
  target.endpoint = postgresql::describe(target.conninfo);

  auto spec = external_metric(ctx, "postgresql", c.target_query_value,
                              c.activation_target_query_value, TargetForm::Milli);
  std::string endpoint = target.endpoint;
  return std::unique_ptr<TriggerConfig>(std::make_unique<sql::QueryTrigger<postgresql::Target>>(
      std::move(spec), std::move(target), std::move(c.query), std::move(endpoint), "postgreSQL"));
}

}  // namespace

void register_postgresql_scaler(Registry& registry) {
  ScalerDefinition definition = ScalerDefinition{.types = {"postgresql"},
                                                 .keda_name = "postgreSQLScaler",
                                                 .summary = "the number a PostgreSQL query returns",
                                                 .parse = parse}
                                    .with_table(table());
  definition.warnings = warnings;
  registry.add(std::move(definition));
}

}  // namespace ebb::scalers
