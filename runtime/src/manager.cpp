#include "ebb/runtime/manager.h"

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "ebb/process/flags.h"
#include "ebb/process/runtime.h"
#include "ebb/runtime/controller.h"

namespace ebb::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using ebb::process::Logger;
using ebb::process::LogLevel;

}  // namespace

void block_termination_signals() {
  // Signals are taken by one thread with sigwait. They must be blocked before the first thread
  // exists (a work queue starts one in its constructor, connection pools may too): every
  // thread inherits the mask, and a thread without it would take the default action and kill
  // the process.
  const sigset_t signals = ebb::process::termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

ManagerOptions ManagerOptions::from(const CommonOptions& flags, std::string name,
                                    std::string version, std::string git_commit) {
  ManagerOptions o;
  o.name = std::move(name);
  o.version = std::move(version);
  o.git_commit = std::move(git_commit);
  o.kubeconfig = flags.kubeconfig;
  o.context = flags.context;
  o.kube_api_qps = flags.kube_api_qps;
  o.kube_api_burst = flags.kube_api_burst;
  o.log_level = flags.log_level;
  o.leader_election.enabled = flags.leader_elect;
  o.leader_election.lease_namespace = flags.leader_election_namespace;
  o.leader_election.lease_name = flags.leader_election_id;
  o.leader_election.lease_duration = flags.lease_duration;
  o.leader_election.renew_deadline = flags.renew_deadline;
  o.leader_election.retry_period = flags.retry_period;
  o.metrics.bind_address = flags.metrics_bind_address;
  return o;
}

std::unique_ptr<Manager> Manager::create(ManagerOptions options) {
  LogLevel level = LogLevel::info;
  ebb::process::parse_log_level(options.log_level, level);
  Logger::set_level(level);
  auto config = kube::load_config(options.kubeconfig, options.context);
  if (!config) {
    Logger("setup").error("cannot load the Kubernetes client configuration",
                          {{"error", config.error().message}});
    return nullptr;
  }
  return std::unique_ptr<Manager>(new Manager(std::move(options), std::move(*config)));
}

Manager::Manager(ManagerOptions options, kube::Config config)
    : options_(std::move(options)),
      config_(std::move(config)),
      identity_(ebb::process::host_name(options_.name) + "_" + ebb::process::random_suffix()),
      metrics_(MetricsOptions{options_.name, options_.version, options_.git_commit, options_.build_info_metric,
                              [this] { return leading(); }}) {
  auto& le = options_.leader_election;
  if (le.lease_namespace.empty()) {
    le.lease_namespace = ebb::process::pod_namespace();
    if (le.lease_namespace.empty()) le.lease_namespace = "default";
  }
  kube::RestOptions rest;
  rest.qps = options_.kube_api_qps;
  rest.burst = options_.kube_api_burst;
  rest.user_agent = options_.name + "/" + options_.version;
  client_ = std::make_unique<kube::Client>(config_, rest);
  kube::RestOptions lease_rest;
  lease_rest.qps = 20;
  lease_rest.burst = 40;
  lease_rest.user_agent = rest.user_agent + " leader-election";
  lease_rest.timeout = std::max(le.renew_deadline / 2, std::chrono::milliseconds(1000));
  lease_client_ = std::make_unique<kube::Client>(config_, lease_rest);
}

Manager::~Manager() {
  {
    std::lock_guard lock(stop_mutex_);
    shutdown_done_ = true;
  }
  stop_cv_.notify_all();
  if (budget_timer_.joinable()) budget_timer_.join();
}

std::string Manager::lease() const {
  return options_.leader_election.lease_namespace + "/" + options_.leader_election.lease_name;
}

// ---------------------------------------------------------------------------------------------
// Registration

void Manager::add_readiness_check(std::string name, ReadinessCheck check) {
  std::lock_guard lock(checks_mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

void Manager::add_runnable(std::string name, RunWhen when, std::function<void()> start) {
  runnables_.push_back({std::move(name), when, std::move(start)});
}

void Manager::add_stop_step(std::string done, std::function<void()> stop, StopPhase phase) {
  (phase == StopPhase::before_lease_release ? before_release_ : after_release_)
      .push_back({std::move(done), std::move(stop)});
}

void Manager::add_controller(Controller& controller) {
  add_runnable("controller." + controller.name(), RunWhen::leading,
               [&controller] { controller.start(); });
  add_stop_step("workers stopped", [&controller] { controller.stop(); });
  // Not while stopping: then "shutting down" is the answer, as for every other check passing.
  add_readiness_check("controller." + controller.name(), [this, &controller]() -> std::string {
    if (leading_ && !controller.started() && !stopping_) return "workers not started";
    return "";
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

std::unique_ptr<net::HttpServer> Manager::start_server(const std::string& name,
                                                       net::HttpServerOptions options,
                                                       net::RequestHandler handler,
                                                       const EndpointOptions& how) {
  const std::string bind = options.bind_address;
  options.on_error = [this, name](std::string_view message) {
    log_.warn("server error", {{"server", name}, {"error", std::string(message)}});
  };
  auto server = net::HttpServer::start(std::move(options), std::move(handler));
  if (!server) {
    if (how.start_error.empty())
      log_.error("cannot start server",
                 {{"server", name}, {"bindAddress", bind}, {"error", server.error().message}});
    else
      log_.error(how.start_error, {{"bindAddress", bind}, {"error", server.error().message}});
    return nullptr;
  }
  log_.info("serving", {{"server", name}, {"url", (*server)->url() + how.log_url_path}});
  return std::move(*server);
}

bool Manager::start_servers() {
  if (!ebb::process::bind_disabled(options_.health.bind_address)) {
    net::HttpServerOptions options;
    options.bind_address = options_.health.bind_address;
    options.threads = 2;
    health_server_ = start_server(
        "health", options, [this](const net::ServerRequest& r) { return serve_health(r); },
        options_.health);
    if (!health_server_) return false;
  }
  if (!ebb::process::bind_disabled(options_.metrics.bind_address)) {
    net::HttpServerOptions options;
    options.bind_address = options_.metrics.bind_address;
    options.threads = 2;
    metrics_server_ = start_server(
        "metrics", options, [this](const net::ServerRequest& r) { return serve_metrics(r); },
        options_.metrics);
    if (!metrics_server_) return false;
  }
  return true;
}

net::HttpServer* Manager::serve(std::string name, net::HttpServerOptions options,
                                net::RequestHandler handler, std::chrono::milliseconds stop_grace) {
  auto server = start_server(name, std::move(options), std::move(handler), EndpointOptions{});
  if (!server) return nullptr;
  net::HttpServer* raw = server.get();
  servers_.push_back(std::move(server));
  add_stop_step(
      "", [raw, stop_grace] { raw->stop(stop_grace); }, StopPhase::after_lease_release);
  return raw;
}

std::string Manager::readiness() const {
  {
    std::lock_guard lock(checks_mutex_);
    for (const auto& [name, check] : checks_) {
      std::string why = check();
      if (!why.empty()) return why;
    }
  }
  if (stopping_) return "shutting down";
  return "";
}

std::string Manager::health_url() const {
  return health_server_ ? health_server_->url() : "";
}
std::string Manager::metrics_url() const {
  return metrics_server_ ? metrics_server_->url() : "";
}

net::ServerResponse Manager::serve_health(const net::ServerRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD")
    return net::ServerResponse::text(405, "method not allowed\n");
  if (request.path == "/healthz" || request.path == "/livez")
    return net::ServerResponse::text(200, "ok\n");
  if (request.path == "/readyz") {
    const std::string why = readiness();
    if (why.empty()) return net::ServerResponse::text(200, "ok\n");
    return net::ServerResponse::text(503, why + "\n");
  }
  return net::ServerResponse::text(404, "not found\n");
}

net::ServerResponse Manager::serve_metrics(const net::ServerRequest& request) const {
  if (request.path != "/metrics") return net::ServerResponse::text(404, "not found\n");
  if (request.method != "GET" && request.method != "HEAD")
    return net::ServerResponse::text(405, "method not allowed\n");
  auto response = net::ServerResponse::text(200, metrics_.render());
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

// ---------------------------------------------------------------------------------------------
// Running

int Manager::run() {
  if (options_.handle_signals) watch_signals();
  start_runnables(RunWhen::always);
  start_leader_election();
  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [&] { return stop_requested_; });
  }
  return shut_down();
}

void Manager::watch_signals() {
  const sigset_t signals = ebb::process::termination_signals();
  std::thread([this, signals] {
    int count = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (++count == 1) {
        request_stop(0, sig == SIGTERM ? "SIGTERM" : "SIGINT");
      } else {
        log_.warn("second signal: exiting without waiting for in-flight " +
                  options_.shutdown.in_flight);
        std::fflush(stderr);
        options_.exit(1);
        return;
      }
    }
  }).detach();
}

void Manager::start_runnables(RunWhen when) {
  if (when == RunWhen::leading && leader_runnables_started_.exchange(true)) return;
  for (const auto& runnable : runnables_)
    if (runnable.when == when) runnable.start();
}

void Manager::start_leader_election() {
  const auto& le = options_.leader_election;
  if (!le.enabled) {
    leading_ = true;
    start_runnables(RunWhen::leading);
    return;
  }
  kube::LeaderElectionConfig lc;
  lc.lease_namespace = le.lease_namespace;
  lc.lease_name = le.lease_name;
  lc.identity = identity_;
  lc.lease_duration = le.lease_duration;
  lc.renew_deadline = le.renew_deadline;
  lc.retry_period = le.retry_period;
  lc.release_on_stop = true;
  lc.on_started_leading = [this] {
    leading_ = true;
    election_log_.info("started leading", {{"lease", lease()}, {"identity", identity_}});
    start_runnables(RunWhen::leading);
  };
  lc.on_stopped_leading = [this] {
    leading_ = false;
    if (stopping_) return;  // our own release on shutdown
    if (options_.leader_election.on_loss == LeaseLoss::exit_process) {
      request_stop(1, "leader election lost");
    } else {
      election_log_.warn("stopped leading: writes stop until the lease is won again",
                         {{"lease", lease()}, {"identity", identity_}});
    }
  };
  lc.on_new_leader = [this](const std::string& id) {
    if (id != identity_) election_log_.info("new leader observed", {{"identity", id}});
  };
  election_log_.info("waiting for the lease", {{"lease", lease()}, {"identity", identity_}});
  elector_ = std::make_unique<kube::LeaderElector>(*lease_client_, lc);
  elector_->start();
}

void Manager::request_stop(int code, const std::string& reason) {
  std::lock_guard lock(stop_mutex_);
  if (stop_requested_) return;
  stop_requested_ = true;
  exit_code_ = code;
  stop_reason_ = reason;
  stop_cv_.notify_all();
}

int Manager::shut_down() {
  std::string reason;
  int code = 0;
  {
    std::lock_guard lock(stop_mutex_);
    reason = stop_reason_;
    code = exit_code_;
  }
  (code == 0 ? log_.info("shutting down", {{"reason", reason}})
             : log_.error("shutting down", {{"reason", reason}}));
  const auto started = Clock::now();
  stopping_ = true;
  if (const auto budget = options_.shutdown.budget) {
    budget_timer_ = std::thread([this, budget = *budget] {
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_for(lock, budget, [&] { return shutdown_done_; })) return;
      lock.unlock();
      log_.error("shutdown took too long: exiting", {{"budgetMs", budget.count()}});
      std::fflush(stderr);
      options_.exit(1);
    });
  }
  auto elapsed = [&] {
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
  };
  auto run_steps = [&](const std::vector<Step>& steps) {
    for (const auto& step : steps) {
      step.stop();
      if (!step.done.empty()) log_.info(step.done, {{"elapsedMs", elapsed()}});
    }
  };

  run_steps(before_release_);
  if (elector_) {
    const bool was_leading = elector_->is_leader();
    elector_->stop();  // releases the Lease when leading
    leading_ = false;
    if (was_leading) election_log_.info("lease released", {{"lease", lease()}});
  }
  run_steps(after_release_);
  if (metrics_server_) metrics_server_->stop(options_.metrics.stop_grace);
  if (health_server_) health_server_->stop(options_.health.stop_grace);

  if (options_.shutdown.log_elapsed)
    log_.info("stopped", {{"exitCode", code}, {"elapsedMs", elapsed()}});
  else
    log_.info("stopped", {{"exitCode", code}});
  {
    std::lock_guard lock(stop_mutex_);
    shutdown_done_ = true;
  }
  stop_cv_.notify_all();
  if (budget_timer_.joinable()) budget_timer_.join();
  std::fflush(stderr);
  std::fflush(stdout);
  options_.exit(code);
  return code;
}

}  // namespace ebb::runtime
