// What the postgresql scaler needs of PostgreSQL: one number from a query (sql/query.h), over
// sessions shared by every trigger that uses the same connection string (which holds the
// credentials). The implementation (PgPool, scalers/clients/postgresql/) needs libpq, which only
// the polling processes link; a scaler gets it with pools.get<postgresql::Clients>().
#pragma once

#include <string>

#include "sql/query.h"

namespace ebb::scalers::postgresql {

struct Target {
  std::string conninfo;  // libpq keyword/value string or postgres:// URL; holds the password
  std::string endpoint;  // for messages, never credentials: "postgresql db.example:5432/orders"
  sql::Timeouts timeouts;

  // Sessions are shared between targets with equal keys.
  std::string pool_key() const;
};

// query_value's errors are KEDA's texts without the endpoint ("error establishing postgreSQL
// connection: …", "could not query postgreSQL: sql: no rows in result set").
using Clients = sql::Clients<Target>;

}  // namespace ebb::scalers::postgresql
