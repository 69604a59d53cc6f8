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

// KEDA reads the connection string and the password only from the TriggerAuthentication or
// the scale target's env, and silently ignores them in the metadata; Ebb says so.
FieldErrors warnings(const TriggerContext& ctx) {
  FieldErrors out = table().warnings(ctx);
  for (const char* name : {"connection", "password"})
    if (ctx.metadata.count(name))
      out.push_back({std::string("metadata.") + name,
                     std::string(name) + " is read only from authParams or " + name +
                         "FromEnv, as in KEDA; this metadata value is ignored (and a secret does "
                         "not belong there)"});
  return out;
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

class PostgresScaler final : public Scaler {
 public:
  PostgresScaler(postgresql::Clients& clients, postgresql::Target target, std::string query,
                 double activation)
      : clients_(clients),
        target_(std::move(target)),
        query_(std::move(query)),
        activation_(activation) {}

  Result<PollResult> poll() override {
    auto value = clients_.query_value(target_, query_);
    if (!value)
      return fail("error inspecting postgreSQL: " + target_.endpoint + ": " + value.error().message,
                  value.error().transient);
    return PollResult{*value, *value > activation_};
  }

 private:
  postgresql::Clients& clients_;
  const postgresql::Target target_;
  const std::string query_;
  const double activation_;
};

class PostgresTrigger final : public TriggerConfig {
 public:
  PostgresTrigger(MetricSpec spec, postgresql::Target target, std::string query)
      : spec_(std::move(spec)), target_(std::move(target)), query_(std::move(query)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return target_.endpoint; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(std::make_unique<PostgresScaler>(
        pools.get<postgresql::Clients>(), target_, query_, spec_.activation_target));
  }

 private:
  MetricSpec spec_;
  postgresql::Target target_;
  std::string query_;
};

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
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<PostgresTrigger>(std::move(spec), std::move(target), std::move(c.query)));
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
