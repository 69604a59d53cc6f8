// System-test harness for the real ebb-metrics-adapter process (issue 5, "Tests").
//
// AdapterPki: what kube-apiserver's aggregator would hold, made with the openssl command line in
// the test directory: a requestheader (front-proxy) CA, the front-proxy client certificate
// (CN front-proxy-client) it signs, a certificate from the same CA with a CN that is not an
// allowed name, and a certificate from a CA the adapter does not know.
// AdapterRun: starts `ebb-metrics-adapter` against the Cluster's kubeconfig with a free secure
// port, a free loopback metrics port, --cert-dir in the test directory (a self-signed serving
// certificate is generated there), --requestheader-client-ca-file, --requestheader-allowed-names
// front-proxy-client, --namespace <the test namespace>, and leader election in that namespace
// with a short lease; kill9(), terminate(), restart() on the same ports.
// HPA-like reads: external_metric() asks GET .../namespaces/{ns}/{metric}?labelSelector=... over
// TLS as the aggregator forwards the HPA controller's request (front-proxy certificate +
// X-Remote-User system:serviceaccount:kube-system:horizontal-pod-autoscaler).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace ebb::systest {

inline constexpr const char* kHpaUser = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
inline constexpr const char* kFrontProxyName = "front-proxy-client";

struct AdapterPki {
  std::string requestheader_ca_file;
  std::string front_proxy_cert_pem, front_proxy_key_pem;  // CN front-proxy-client, requestheader CA
  std::string stranger_cert_pem, stranger_key_pem;        // CN not-the-front-proxy, requestheader CA
  std::string foreign_cert_pem, foreign_key_pem;          // CN front-proxy-client, another CA
};
AdapterPki make_adapter_pki(const std::string& dir);

// Who a request comes as: a client certificate (none when cert_pem is empty) and identity headers.
struct ClientIdentity {
  std::string cert_pem, key_pem;
  std::string user;                 // X-Remote-User, omitted when empty
  std::vector<std::string> groups;  // X-Remote-Group, one header each
};
// The aggregator forwarding the HPA controller: front-proxy certificate, the HPA's user.
ClientIdentity hpa_identity(const AdapterPki& pki);

struct ApiResponse {
  int status = 0;  // 0: no HTTP answer (connection or TLS failure; body holds the error)
  std::string body;
  std::optional<kube::Object> json() const;
};

struct AdapterPorts {
  std::uint16_t secure = 0, metrics = 0;
};

class AdapterRun {
 public:
  // `extra` flags: a "--flag=value" of a flag the harness sets replaces its default (the
  // process rejects a repeated flag); anything else is appended.
  AdapterRun(Cluster& cluster, const AdapterPki& pki, std::vector<std::string> extra = {},
             const std::string& log_name = "adapter");
  ~AdapterRun();
  AdapterRun(const AdapterRun&) = delete;
  AdapterRun& operator=(const AdapterRun&) = delete;

  const AdapterPorts& ports() const { return ports_; }
  pid_t pid() const { return process_.pid(); }
  bool running() const { return process_.running(); }
  std::string log() const;
  const std::string& log_path() const { return log_path_; }
  const std::string& cert_dir() const { return cert_dir_; }

  // HTTPS GET on the secure port as `who`; the serving certificate (generated in cert_dir) is
  // the trust anchor, as the APIService's caBundle would be.
  ApiResponse get(const std::string& path, const ClientIdentity& who, std::chrono::milliseconds timeout = 5s) const;
  // What the HPA controller reads for the metric of ScaledObject `so` in `ns`.
  ApiResponse external_metric(const std::string& ns, const std::string& metric, const std::string& so,
                              const ClientIdentity& who) const;
  // GET /readyz (an always-allowed path, no credentials) until 200.
  bool wait_ready(std::chrono::milliseconds timeout = 30s) const;
  // wait_ready(), failing the test with the tail of the log when it does not get there.
  void require_ready(std::chrono::milliseconds timeout = 30s) const;
  // Prometheus text of --metrics-bind-address; "" when it cannot be read.
  std::string metrics() const;

  void kill9();
  // SIGTERM, then the exit status (-1: still running after `timeout`; 128+N: killed by signal N).
  int terminate(std::chrono::milliseconds timeout = 30s);
  // Starts the process again with the same flags and ports (after kill9() or terminate()); the
  // log continues in the same file.
  void restart();

 private:
  std::optional<int> exit_status() const;
  AdapterPorts ports_;
  std::string log_path_, cert_dir_;
  std::vector<std::string> argv_;
  test::Process process_;
};

// Polls like eventually(), with the tail of the adapter's log (and the operator's, when given)
// in the failure message.
void eventually_adapter(const std::string& what, const std::function<bool()>& predicate,
                        std::chrono::milliseconds timeout, const AdapterRun& adapter,
                        const OperatorRun* op = nullptr);

// eventually_adapter() until the ScaledJob `name` has the condition `type` at `status`.
void eventually_scaled_job_condition(Cluster& cluster, const std::string& name,
                                     const std::string& type, const std::string& status,
                                     std::chrono::milliseconds timeout, const AdapterRun& adapter);

// --- the shared RabbitMQ's management API, as an administrator (fails the test on an error):
// the parsed answer, null when the body is empty.
kube::Object rabbit_call(const std::string& method, const std::string& path,
                         const std::string& body = "");
// Declares `queue` (not durable) on the shared RabbitMQ and publishes `messages` messages to it.
void rabbit_fill_queue(const std::string& queue, int messages);

// --- the test API server's request log (null server: real cluster, nothing logged)

// A PUT of the /scale subresource of Deployment `name`: spec.replicas it wrote and when it was
// logged (index in the log).
struct ScaleWrite {
  std::size_t index = 0;
  int replicas = -1;
  int code = 0;
};
std::vector<ScaleWrite> scale_writes(const testapi::TestApiServer& server, const std::string& ns,
                                     const std::string& deployment);
// spec.replicas of every /scale write to `deployment` the server logged (answered or not), and of
// the successful ones, in order.
std::vector<int> attempted_scale_values(Cluster& cluster, const std::string& deployment);
std::vector<int> successful_scale_values(Cluster& cluster, const std::string& deployment);

// items[0].value of an ExternalMetricValueList answer; "" for anything else.
std::string served(const ApiResponse& r);

// Sum of the samples of metric `name` in Prometheus text whose labels contain every fragment.
double sample_sum(const std::string& text, const std::string& name,
                  const std::vector<std::string>& fragments);

// Seconds on the steady clock since `t`.
double seconds_since(std::chrono::steady_clock::time_point t);

// --- the target itself (both modes; the only way to see /scale writes on a real cluster)

// Reads spec.replicas of Deployment `deployment` every `period` on a thread of its own (with its
// own client) and keeps the first value and every change, with when it was seen. A change that
// is undone within one period can be missed; a value that is never written is never recorded.
class ReplicaSampler {
 public:
  using Clock = std::chrono::steady_clock;
  struct Change {
    Clock::time_point at;
    int replicas = -1;
  };
  // Returns after the first successful read (fails the test when none comes within 10 s).
  ReplicaSampler(const Cluster& cluster, std::string deployment,
                 std::chrono::milliseconds period = 100ms);
  ~ReplicaSampler();
  ReplicaSampler(const ReplicaSampler&) = delete;
  ReplicaSampler& operator=(const ReplicaSampler&) = delete;

  void stop();
  std::vector<Change> changes() const;
  // The values of changes(), in order (e.g. {0, 1, 0}).
  std::vector<int> values() const;
  // When `replicas` was first seen at or after `after`; nullopt if not (yet).
  std::optional<Clock::time_point> first_seen(int replicas, Clock::time_point after = {}) const;
  std::size_t samples() const;
  // Failed reads ("" when none): the message of the first and how many.
  std::string errors() const;
  // Waits until a read that started after this call has completed.
  void sync();
  const std::string& deployment() const { return deployment_; }

 private:
  void run();
  std::string ns_, deployment_;
  std::chrono::milliseconds period_;
  std::unique_ptr<kube::Client> client_;
  mutable std::mutex mutex_;
  std::vector<Change> changes_;
  std::size_t samples_ = 0, failures_ = 0;
  std::string first_error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What the sampler has seen of the target up to now (a read after this call included); a failed
// read fails the test.
std::vector<int> seen(ReplicaSampler& sampler);

// A ScaledObject named `name` on Deployment `target` with one trigger (type + metadata), polled
// every `polling_interval` seconds with `cooldown` seconds of cooldown.
Object scaled_object_with(const std::string& name, const std::string& target, const std::string& type,
                          const Object& metadata, int min, int max, int polling_interval, int cooldown);
// A redis list trigger on 127.0.0.1:<port> (metric s0-redis-<list>), listLength 5.
Object redis_trigger_metadata(std::uint16_t port, const std::string& list);

}  // namespace ebb::systest
