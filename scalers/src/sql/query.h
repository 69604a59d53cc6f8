// What the SQL triggers (mysql, postgresql) share past their own parameters: the deadlines of a
// query, the interface of a family's shared sessions, the trigger and scaler that run one query
// through them, and the warning for a credential given in plain metadata. Each family keeps its
// connection settings (its Target) and its client (scalers/clients/<family>/).
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ebb/result.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/scaler.h"

namespace ebb::scalers::sql {

struct Timeouts {
  // Connecting, TLS and authentication included (mysql: unless the DSN's `timeout` says
  // otherwise).
  std::chrono::milliseconds connect{5000};
  // The server's limit for one statement: postgresql's statement_timeout (lowered to this when
  // the server or the connection string sets none or a longer one), MariaDB's
  // max_statement_time, MySQL's max_execution_time. The client gives up `statement + 2 s` after
  // sending a query (mysql: unless the DSN's readTimeout says otherwise), in case the server
  // cannot even cancel it (a cut link), and drops that session.
  std::chrono::milliseconds statement{5000};
};

// One number from a query, over sessions shared by every trigger with the same Target (whose
// pool_key() holds the credentials). A family's implementation needs its native library, which
// only the polling processes link; a scaler gets it with pools.get<sql::Clients<Target>>().
template <class Target>
class Clients {
 public:
  virtual ~Clients() = default;

  // The first column of the first row of `query` as a float64, as KEDA's Scan reads it. Errors
  // are KEDA's texts without the endpoint, never with a password.
  virtual Result<double> query_value(const Target& target, const std::string& query) = 0;

  // Open sessions for `target`'s key, and in total; for tests.
  virtual std::size_t connection_count(const Target& target) const = 0;
  virtual std::size_t connection_count() const = 0;
};

// KEDA reads the connection string and the password only from the TriggerAuthentication or the
// scale target's env, and silently ignores them in the metadata; Ebb says so, after the table's
// own warnings.
FieldErrors credential_metadata_warnings(const TriggerContext& ctx, FieldErrors table_warnings,
                                         std::initializer_list<const char*> names);

// A safety net for driver messages: the drivers do not echo passwords, but nothing that reaches
// a status may hold one. Each occurrence of `password` becomes "xxxxx"; a password shorter than
// 3 bytes is left alone (it would mangle ordinary words and hides nothing).
std::string scrub_password(std::string message, std::string_view password);

// The scaler: the query's number, active above the activation target. A failed query is the
// poll's error, "error inspecting <database>: <endpoint>: <client's message>" as in KEDA.
template <class Target>
class QueryScaler final : public Scaler {
 public:
  QueryScaler(Clients<Target>& clients, Target target, std::string query, double activation,
              std::string error_prefix)
      : clients_(clients),
        target_(std::move(target)),
        query_(std::move(query)),
        activation_(activation),
        error_prefix_(std::move(error_prefix)) {}

  Result<PollResult> poll() override {
    auto value = clients_.query_value(target_, query_);
    if (!value) return fail(error_prefix_ + value.error().message, value.error().transient);
    return PollResult{*value, *value > activation_};
  }

 private:
  Clients<Target>& clients_;
  const Target target_;
  const std::string query_;
  const double activation_;
  const std::string error_prefix_;
};

// A parsed SQL trigger. `endpoint` names the server for messages, never with credentials
// ("mysql host:3306/db"); `database` is KEDA's word for it in poll errors ("MySQL",
// "postgreSQL").
template <class Target>
class QueryTrigger final : public TriggerConfig {
 public:
  QueryTrigger(MetricSpec spec, Target target, std::string query, std::string endpoint,
               std::string_view database)
      : spec_(std::move(spec)),
        target_(std::move(target)),
        query_(std::move(query)),
        endpoint_(std::move(endpoint)),
        database_(database) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return endpoint_; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    return std::unique_ptr<Scaler>(std::make_unique<QueryScaler<Target>>(
        pools.get<Clients<Target>>(), target_, query_, spec_.activation_target,
        "error inspecting " + database_ + ": " + endpoint_ + ": "));
  }

 private:
  MetricSpec spec_;
  Target target_;
  std::string query_;
  std::string endpoint_;
  std::string database_;
};

}  // namespace ebb::scalers::sql
