// beanstalkd connections for the beanstalkd trigger, on ebb_net alone: a pool of its own that
// a scaler gets default-constructed with pools.get<beanstalkd::Connections>(). Every trigger
// that reads from the same server shares its connections (beanstalkd has no credentials, so the
// server is the whole key), at most 2 per server: `stats-tube` is answered at once, so a second
// connection only matters when two polls meet.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "beanstalkd/protocol.h"
#include "bounded_pool.h"
#include "ebb/net/stream.h"
#include "ebb/result.h"

namespace ebb::scalers::beanstalkd {

struct Timeouts {
  std::chrono::milliseconds connect{30000};  // the trigger's `timeout`
  std::chrono::milliseconds command{5000};   // one stats-tube round trip
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const Server& server,
                                                  std::chrono::milliseconds timeout);

  // The tube's counters; nullopt when the server answers NOT_FOUND (no such tube yet). Errors
  // are KEDA's texts: "error retrieving stats from beanstalkd: stats-tube: bad command format",
  // "… stats-tube: EOF", "error decoding stats from beanstalkd: …"; failing to connect is
  // "error connecting to beanstalkd: connect host:port: …".
  Result<std::optional<TubeStats>> stats_tube(const std::string& tube,
                                              std::chrono::milliseconds timeout);

  bool broken() const { return broken_; }
  bool idle_alive() { return !broken_ && stream_->idle_alive(); }
  bool timed_out() const { return timed_out_; }

 private:
  explicit Connection(std::unique_ptr<net::Stream> stream) : stream_(std::move(stream)) {}
  Result<std::string> read_line(std::chrono::steady_clock::time_point deadline);
  Result<std::string> read_exact(std::size_t n, std::chrono::steady_clock::time_point deadline);
  Result<void> fill(std::chrono::steady_clock::time_point deadline);
  Unexpected<Error> broke(const Error& e);

  std::unique_ptr<net::Stream> stream_;
  std::string buffer_;
  bool broken_ = false;
  bool timed_out_ = false;
};

class Connections {
 public:
  Result<std::optional<TubeStats>> stats_tube(const Server& server, const std::string& tube,
                                              const Timeouts& timeouts);
  std::size_t connection_count(const Server& server) const;
  std::size_t connection_count() const;

 private:
  BoundedPool<Connection> pool_{{.max_per_key = 2}};
};

}  // namespace ebb::scalers::beanstalkd
