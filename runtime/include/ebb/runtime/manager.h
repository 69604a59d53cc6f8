// The life of an Ebb process, as controller-runtime's Manager runs a controller process:
//
//   create()       log level; kube config; the main client and a lease client with its own
//                  rate limit (renewals never wait behind the process's own requests); the
//                  identity (host name + random suffix); the shared metrics registry.
//   start_servers() the optional health server (/healthz, /livez, /readyz with named readiness
//                  checks) and metrics server (the shared registry and its collectors);
//                  serve() adds a process's own server with the same logs.
//   run()          the signal thread; runnables that start always; leader election, whose win
//                  starts the runnables that run only while leading (at once without it);
//                  then it waits for a stop and shuts down.
//   shutdown       "shutting down"; the stop steps before the Lease release, in the order they
//                  were added; the Lease released; the steps after it; the process's servers,
//                  then metrics and health; "stopped"; _Exit(code). Optionally bounded by a
//                  budget after which it _Exit(1)s. A second signal _Exit(1)s at once.
//
// A process ends through _Exit and never destroys its Manager: informer threads may sit in a
// watch until the next bookmark, and nothing they hold needs flushing.
//
// Logs: logger "setup" (lifecycle, servers) and "leader-election". Metrics: build information and
// leader_election_master_status{name} (metrics.h).
//
// Must not know what the process manages (no KEDA objects, no scalers).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "ebb/kube/leader_election.h"
#include "ebb/net/http_server.h"
#include "ebb/process/log.h"
#include "ebb/runtime/metrics.h"
#include "ebb/runtime/options.h"

namespace ebb::runtime {

class Controller;

// Blocks SIGTERM and SIGINT in the calling thread and ignores SIGPIPE. Call it first in main,
// before anything that may start a thread: see the comment in manager.cpp.
void block_termination_signals();

// The body of a process's run function: blocks the termination signals before anything exists
// that may start a thread, builds a `Process` from `options` and runs it. The object is never
// destroyed (its Manager exits the process) and is held by a static, so leak checkers see it as
// reachable when run() returns early with an error.
template <class Process, class Options>
int run_process(const Options& options) {
  block_termination_signals();
  static Process* process = nullptr;
  process = new Process(options);
  return process->run();
}

// What losing the Lease does to a process that was leading.
enum class LeaseLoss {
  // Exit 1: another instance may be writing already, and what ran while leading (a controller's
  // queue) cannot restart in place; a clean restart is the safe way back (controller-runtime).
  exit_process,
  // Keep competing; the process's writes ask leading() before each one and stop at once.
  keep_competing,
};

struct LeaderElectionOptions {
  bool enabled = true;
  std::string lease_namespace;  // "" = the pod's namespace, else "default"
  std::string lease_name;
  std::chrono::milliseconds lease_duration{15'000}, renew_deadline{10'000}, retry_period{2'000};
  LeaseLoss on_loss = LeaseLoss::exit_process;
};

// The health or metrics server.
struct EndpointOptions {
  std::string bind_address;  // "host:port"; "" or "0" = not served
  std::chrono::milliseconds stop_grace{2'000};
  // How its start is logged, kept as each process has always logged it: appended to the URL in
  // "serving", and the message when it cannot bind ("" = "cannot start server", naming the
  // server; otherwise the line carries only bindAddress and error).
  std::string log_url_path;
  std::string start_error;
};

struct ShutdownOptions {
  // Past it the process _Exit(1)s ("shutdown took too long: exiting"); none = unbounded.
  std::optional<std::chrono::milliseconds> budget;
  // What a second signal does not wait for: "second signal: exiting without waiting for
  // in-flight <in_flight>".
  std::string in_flight = "work";
  bool log_elapsed = false;  // "stopped" carries elapsedMs
};

struct ManagerOptions {
  std::string name;  // "ebb-operator": host name fallback, user agent, leader gauge's label
  std::string version, git_commit;
  std::string build_info_metric = "build_info";  // MetricsOptions::build_info_metric
  std::string kubeconfig, context;
  double kube_api_qps = 300;
  int kube_api_burst = 600;
  std::string log_level = "info";
  LeaderElectionOptions leader_election;
  EndpointOptions health, metrics;
  ShutdownOptions shutdown;
  // Off in tests: a thread that sigwait()s is only right when main blocked the signals.
  bool handle_signals = true;
  // How the process ends. Tests record the code instead; in a process it must not return.
  std::function<void(int code)> exit = [](int code) { std::_Exit(code); };

  // The process's name, version and commit; cluster access, leader election, the metrics
  // endpoint and the log level from its flags. The rest is the process's to fill in.
  static ManagerOptions from(const CommonOptions& flags, std::string name, std::string version,
                             std::string git_commit);
};

class Manager {
 public:
  enum class RunWhen { always, leading };
  enum class StopPhase { before_lease_release, after_lease_release };
  // "" when ready, else why not (the body of /readyz's 503).
  using ReadinessCheck = std::function<std::string()>;

  // Logs the error and returns null when the Kubernetes client configuration cannot be loaded.
  static std::unique_ptr<Manager> create(ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  kube::Client& client() { return *client_; }
  const kube::Config& config() const { return config_; }
  const std::string& identity() const { return identity_; }
  const std::string& lease_namespace() const { return options_.leader_election.lease_namespace; }
  std::string lease() const;  // "namespace/name"
  Metrics& metrics() { return metrics_; }
  // True while leading, and always without leader election; false once the Lease is released.
  bool leading() const { return leading_; }
  bool stopping() const { return stopping_; }

  // --- before start_servers() / run()
  // Checks run in the order added; the first that fails answers /readyz. While shutting down,
  // /readyz fails with "shutting down" once every check passes.
  void add_readiness_check(std::string name, ReadinessCheck check);
  // `start` must return promptly (start threads, not run in this one). RunWhen::leading starts
  // at the first win only: a lost Lease either ends the process (exit_process) or leaves them
  // running (keep_competing), when their writes must ask leading() first.
  void add_runnable(std::string name, RunWhen when, std::function<void()> start);
  // Steps run in the order added within their phase; a non-empty `done` is logged with
  // elapsedMs (since "shutting down") once the step returns.
  void add_stop_step(std::string done, std::function<void()> stop,
                     StopPhase phase = StopPhase::before_lease_release);
  // A controller whose workers run while leading: started on the win, stopped first on
  // shutdown ("workers stopped"), and /readyz fails with "workers not started" while leading
  // without them.
  void add_controller(Controller& controller);

  // The health and metrics servers (those with a bind address). False when one cannot start
  // (logged): the process exits 1.
  bool start_servers();
  // Another server of the process, logged as the Manager's own, stopped after the Lease release
  // and before the metrics and health servers. Null when it cannot start (logged).
  net::HttpServer* serve(std::string name, net::HttpServerOptions options,
                         net::RequestHandler handler, std::chrono::milliseconds stop_grace);

  // Starts everything added and blocks until a stop is requested, then shuts down. Returns
  // only when options.exit returns (tests), with the exit code.
  int run();
  // The first request wins: its code is the exit code and its reason is logged.
  void request_stop(int code, const std::string& reason);

  // "" when ready, else the reason (what /readyz answers).
  std::string readiness() const;
  std::string health_url() const;   // "" when not served
  std::string metrics_url() const;  // "" when not served

 private:
  struct Step {
    std::string done;
    std::function<void()> stop;
  };
  struct Runnable {
    std::string name;
    RunWhen when;
    std::function<void()> start;
  };

  Manager(ManagerOptions options, kube::Config config);
  std::unique_ptr<net::HttpServer> start_server(const std::string& name,
                                                net::HttpServerOptions options,
                                                net::RequestHandler handler,
                                                const EndpointOptions& how);
  net::ServerResponse serve_health(const net::ServerRequest& request) const;
  net::ServerResponse serve_metrics(const net::ServerRequest& request) const;
  void watch_signals();
  void start_leader_election();
  void start_runnables(RunWhen when);
  int shut_down();

  ManagerOptions options_;
  kube::Config config_;
  process::Logger log_{"setup"};
  process::Logger election_log_{"leader-election"};
  std::string identity_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::Client> lease_client_;  // own rate limiter
  std::atomic<bool> leading_{false}, stopping_{false}, leader_runnables_started_{false};
  Metrics metrics_;

  mutable std::mutex checks_mutex_;
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
  std::vector<Runnable> runnables_;
  std::vector<Step> before_release_, after_release_;

  std::unique_ptr<kube::LeaderElector> elector_;
  std::unique_ptr<net::HttpServer> health_server_, metrics_server_;
  std::vector<std::unique_ptr<net::HttpServer>> servers_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
  int exit_code_ = 0;
  std::string stop_reason_;
  bool shutdown_done_ = false;  // under stop_mutex_: the budget timer stands down
  std::thread budget_timer_;
};

}  // namespace ebb::runtime
