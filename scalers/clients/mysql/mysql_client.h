// mysql::Clients on MariaDB Connector/C 3.3 (libmariadb, which speaks to MySQL and MariaDB
// alike): sessions pooled per connection settings (BoundedPool, at most 4 per key), each used
// by one poll at a time. Connector/C bounds connecting, reading and writing by whole seconds,
// so Ebb's millisecond deadlines are rounded up.
#pragma once

#include <mysql.h>

#include <chrono>
#include <memory>
#include <string>

#include "bounded_pool.h"
#include "ebb/result.h"
#include "mysql/client.h"

namespace ebb::scalers::mysql {

class MysqlSession {
 public:
  static Result<std::unique_ptr<MysqlSession>> open(const Target& target);
  ~MysqlSession();
  MysqlSession(const MysqlSession&) = delete;
  MysqlSession& operator=(const MysqlSession&) = delete;

  Result<double> query_value(const std::string& query);

  bool broken() const { return broken_; }
  bool idle_alive();
  // The last failure was a client-side read timeout, not an answer.
  bool timed_out() const { return timed_out_; }

 private:
  explicit MysqlSession(MYSQL* db) : db_(db) {}
  // The last error as go-sql-driver writes server errors: "Error 1146 (42S02): …"; client
  // errors (lost connection, timeouts) as Connector/C words them. Marks the session broken
  // when the error is the connection's.
  std::string last_error();
  Result<void> exec(const std::string& sql);
  void drain_results();

  MYSQL* db_;
  std::chrono::seconds read_timeout_{0};
  bool broken_ = false;
  bool timed_out_ = false;
};

class MysqlPool final : public Clients {
 public:
  MysqlPool();
  Result<double> query_value(const Target& target, const std::string& query) override;
  std::size_t connection_count(const Target& target) const override;
  std::size_t connection_count() const override;

 private:
  BoundedPool<MysqlSession> pool_;
};

}  // namespace ebb::scalers::mysql
