// The project's own external scaler (KEDA's externalscaler.proto), in process: a gRPC server on
// a loopback port whose answers the test controls, for the external/external-push integration
// tests and the push benchmark. Like a user's external scaler it knows nothing of Ebb.
//
//   ebb::test::ExternalScalerServer server;             // plaintext on 127.0.0.1:<free port>
//   server.set_metrics({{"queue", 10}});                  // GetMetricSpec: queue, target 10
//   server.set_value("queue", 25);                        // GetMetrics(queue): 25
//   server.set_active(true);                              // IsActive
//   server.push(true);                                    // every open StreamIsActive gets `true`
//   server.break_streams();                               // ... ends with UNAVAILABLE
//   server.stop(); server.start();                        // down and back, same port
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ebb::test {

class ExternalScalerServer {
 public:
  struct Options {
    bool tls = false;
    std::string cert_pem, key_pem;  // the serving certificate (tls)
    std::string client_ca_pem;      // non-empty: a client certificate from this CA is required
  };
  // One entry of GetMetricSpec: the deprecated integer target is sent when target_float is 0.
  struct Metric {
    std::string name;
    std::int64_t target = 0;
    double target_float = 0;
  };
  // What GetMetrics answers for one metric: every entry is one MetricValue.
  struct Value {
    std::int64_t value = 0;
    double value_float = 0;
  };
  // The last ScaledObjectRef a call carried.
  struct Ref {
    std::string name, ns;
    std::map<std::string, std::string> metadata;
  };

  ExternalScalerServer();
  explicit ExternalScalerServer(Options options);
  ~ExternalScalerServer();
  ExternalScalerServer(const ExternalScalerServer&) = delete;
  ExternalScalerServer& operator=(const ExternalScalerServer&) = delete;

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:<port>"

  // Shuts the server down (open streams end) and starts it again on the same port.
  void stop();
  void start();

  void set_metrics(std::vector<Metric> metrics);
  void set_value(const std::string& metric, double value);  // one MetricValue, float
  void set_values(const std::string& metric, std::vector<Value> values);
  void set_active(bool active);
  // IsActive for the ScaledObject named `object` only (others keep the general answer).
  void set_active(const std::string& object, bool active);
  // A GetMetricSpec/GetMetrics/IsActive call fails with this gRPC status code (0: answers).
  void fail_calls(int grpc_code);
  // Sends IsActiveResponse{active} on every open StreamIsActive stream, or only on those of
  // the ScaledObject named `object`.
  void push(bool active);
  void push(const std::string& object, bool active);
  // Ends every open stream with UNAVAILABLE (the push path breaks; new streams may open).
  void break_streams();
  // While refused, StreamIsActive fails at once with UNAVAILABLE.
  void refuse_streams(bool refused);
  // Every new StreamIsActive stream first sends the current IsActive answer (as KEDA's e2e
  // scalers do). Off by default.
  void send_state_on_open(bool on);

  std::size_t open_streams() const;
  bool wait_for_streams(std::size_t n, std::chrono::milliseconds timeout) const;
  // Calls of "IsActive", "StreamIsActive", "GetMetricSpec", "GetMetrics" since start.
  std::size_t calls(const std::string& method) const;
  std::optional<Ref> last_ref() const;
  // The metric names GetMetrics was asked for, in order.
  std::vector<std::string> requested_metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb::test
