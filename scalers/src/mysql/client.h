// What the mysql scaler needs of MySQL/MariaDB: one number from a query, over sessions shared by
// every trigger with the same connection settings (credentials included). The implementation
// (MysqlPool, scalers/clients/mysql/) needs libmariadb, which only the polling processes link; a
// scaler gets it with pools.get<mysql::Clients>().
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "ebb/result.h"
#include "mysql/dsn.h"

namespace ebb::scalers::mysql {

struct Timeouts {
  // Connecting and authenticating, unless the DSN's `timeout` says otherwise.
  std::chrono::milliseconds connect{5000};
  // The session's max_statement_time (MariaDB) or max_execution_time (MySQL); the client stops
  // reading `statement + 2 s` after sending a query (unless the DSN's readTimeout says
  // otherwise) and drops that session.
  std::chrono::milliseconds statement{5000};
};

struct Target {
  Settings settings;
  Timeouts timeouts;
  std::string pool_key() const;
};

class Clients {
 public:
  virtual ~Clients() = default;

  // The first column of the first row of `query` as a float64, as KEDA's Scan reads it. Errors
  // are KEDA's texts without the endpoint ("error establishing MySQL connection: …",
  // "sql: no rows in result set", "Error 1146 (42S02): …"), never with a password.
  virtual Result<double> query_value(const Target& target, const std::string& query) = 0;

  // Open sessions for `target`'s key, and in total; for tests.
  virtual std::size_t connection_count(const Target& target) const = 0;
  virtual std::size_t connection_count() const = 0;
};

}  // namespace ebb::scalers::mysql
