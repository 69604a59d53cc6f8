// What the postgresql scaler needs of PostgreSQL: one number from a query, over sessions shared
// by every trigger that uses the same connection string (which holds the credentials). The
// implementation (PgPool, scalers/clients/postgresql/) needs libpq, which only the polling
// processes link; a scaler gets it with pools.get<postgresql::Clients>().
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "ebb/result.h"

namespace ebb::scalers::postgresql {

struct Timeouts {
  // Connecting, TLS and authentication included.
  std::chrono::milliseconds connect{5000};
  // The session's statement_timeout (lowered to this when the server or the connection string
  // sets none or a longer one); the client gives up `statement + 2 s` after sending a query, in
  // case the server cannot even cancel it (a cut link), and drops that session.
  std::chrono::milliseconds statement{5000};
};

struct Target {
  std::string conninfo;  // libpq keyword/value string or postgres:// URL; holds the password
  std::string endpoint;  // for messages, never credentials: "postgresql db.example:5432/orders"
  Timeouts timeouts;

  // Sessions are shared between targets with equal keys.
  std::string pool_key() const;
};

class Clients {
 public:
  virtual ~Clients() = default;

  // The first column of the first row of `query` as a float64, as KEDA's Scan reads it. Errors
  // are KEDA's texts without the endpoint ("error establishing postgreSQL connection: …",
  // "could not query postgreSQL: sql: no rows in result set"), never with a password.
  virtual Result<double> query_value(const Target& target, const std::string& query) = 0;

  // Open sessions for `target`'s key, and in total; for tests.
  virtual std::size_t connection_count(const Target& target) const = 0;
  virtual std::size_t connection_count() const = 0;
};

}  // namespace ebb::scalers::postgresql
