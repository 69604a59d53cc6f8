// postgresql::Clients on libpq 15: sessions pooled per connection string (BoundedPool, at most 4
// per string), each used by one poll at a time. libpq's asynchronous calls are driven with
// poll(2) so that connecting and querying end at our deadlines whatever the network does; the
// one step libpq does not let us bound is the DNS lookup inside PQconnectStartParams.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "bounded_pool.h"
#include "ebb/result.h"
#include "postgresql/client.h"

namespace ebb::scalers::postgresql {

class PgSession {
 public:
  static Result<std::unique_ptr<PgSession>> open(const Target& target);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  Result<double> query_value(const std::string& query, std::chrono::milliseconds timeout);

  bool broken() const;
  bool idle_alive();
  // The last failure was our deadline, not an answer: retrying would only wait again.
  bool timed_out() const { return timed_out_; }

 private:
  struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

  explicit PgSession(PGconn* conn) : conn_(conn) {}
  // Sends `sql` (one statement, extended protocol) and collects its result by `deadline`.
  Result<ResultPtr> exec(const std::string& sql, std::chrono::steady_clock::time_point deadline);
  Result<void> wait_readable(std::chrono::steady_clock::time_point deadline);
  std::string connection_error() const;

  PGconn* conn_;
  bool broken_ = false;
  bool timed_out_ = false;
};

class PgPool final : public Clients {
 public:
  PgPool();
  Result<double> query_value(const Target& target, const std::string& query) override;
  std::size_t connection_count(const Target& target) const override;
  std::size_t connection_count() const override;

 private:
  BoundedPool<PgSession> pool_;
};

}  // namespace ebb::scalers::postgresql
