// What the mysql scaler needs of MySQL/MariaDB: one number from a query (sql/query.h), over
// sessions shared by every trigger with the same connection settings (credentials included).
// The implementation (MysqlPool, scalers/clients/mysql/) needs libmariadb, which only the polling
// processes link; a scaler gets it with pools.get<mysql::Clients>().
#pragma once

#include <string>

#include "mysql/dsn.h"
#include "sql/query.h"

namespace ebb::scalers::mysql {

struct Target {
  Settings settings;
  sql::Timeouts timeouts;
  std::string pool_key() const;
};

// query_value's errors are KEDA's texts without the endpoint ("error establishing MySQL
// connection: …", "sql: no rows in result set", "Error 1146 (42S02): …").
using Clients = sql::Clients<Target>;

}  // namespace ebb::scalers::mysql
