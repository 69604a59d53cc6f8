// Scale benchmark (issue "Scale: 10,000 ScaledObjects"): the real ebb-operator and
// ebb-metrics-adapter against the test API server (in-process; or the cluster of
// EBB_TEST_KUBECONFIG, where the request counts are not available) and one redis-server, at
// several object counts in one invocation. For each count N:
//
//   create      N ScaledObjects (one redis trigger each, pollingInterval 30 s, minReplicaCount 1
//               so the adapter has no activation to write) and N Deployments, created by 8
//               writers as fast as the API server accepts them: the reference time.
//   hpas        from the first ScaledObject create until N HPAs exist: the operator keeping pace
//               shows as a ratio hpas/create near 1 (goal: at most 1.5).
//   steady      after both processes settled, over --observe seconds: resident memory of each
//               process (and per object, against the RSS it had before any object existed),
//               the adapter's CPU share of one core, the requests both processes put on the
//               API server per second (reference: one GET per poll, N/30 per second, what a
//               poller without watches costs), the p99 of keda_internal_scale_loop_latency_seconds.
//   restart     the operator restarted: until it has reconciled every object again with an
//               empty queue; the adapter restarted: until /readyz answers and every object was
//               built. Reference: paged lists of the ScaledObjects, HPAs and Deployments (what
//               the API server takes to hand out what a restarted process must read first);
//               the restart line ends with the restarts' ratios to it.
//
// Figures depend on the machine; ratios and per-object costs are what to compare between runs.
// Nothing is asserted about speed. Not run by ctest.
// Usage (those are the defaults):
//   EBB_BENCH_OBJECTS=1000,5000,10000 EBB_BENCH_OBSERVE=60 EBB_BENCH_POLLING=30 ebb_bench_scale
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "adapter_harness.h"
#include "ebb/cluster/resources.h"
#include "ebb/strings.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace test = ebb::test;
namespace res = ebb::kube::resources;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Args {
  std::vector<int> objects{1000, 5000, 10000};
  int observe_s = 60;
  int polling_s = 30;
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Resident memory in MiB (VmRSS of /proc/<pid>/status); 0 when unreadable.
double rss_mib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

// User + system CPU seconds of a process so far.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Requests sent by the two processes (by user agent) in the test API server's log.
std::size_t process_requests(Cluster& cluster) {
  if (!cluster.server()) return 0;
  std::size_t n = 0;
  for (const auto& r : cluster.server()->request_log())
    if (r.user_agent.rfind("ebb-operator", 0) == 0 || r.user_agent.rfind("ebb-metrics-adapter", 0) == 0) ++n;
  return n;
}

// Samples of one metric family ("name{...} value" lines).
std::vector<double> samples(const std::string& text, const std::string& name) {
  std::vector<double> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    out.push_back(std::atof(line.c_str() + line.rfind(' ') + 1));
  }
  return out;
}

// Requests of the two processes by agent, verb and resource ("GET pods", "PUT scaledobjects/status"),
// for EBB_BENCH_REQUEST_STATS=1.
void print_request_stats(Cluster& cluster) {
  if (!cluster.server()) return;
  std::map<std::string, std::size_t> counts;
  for (const auto& r : cluster.server()->request_log()) {
    const std::string agent = r.user_agent.substr(0, r.user_agent.find('/'));
    if (agent != "ebb-operator" && agent != "ebb-metrics-adapter") continue;
    auto parts = ebb::split(r.path, '/');
    std::string what;
    // /api/v1/namespaces/ns/pods/name/sub or /apis/g/v/namespaces/ns/res/name/sub
    const std::size_t base = parts.size() > 1 && parts[1] == "api" ? 3 : 4;
    std::size_t i = base;
    if (i < parts.size() && parts[i] == "namespaces") i += 2;
    if (i < parts.size()) what = parts[i];
    if (i + 2 < parts.size()) what += "/" + parts[i + 2];
    const bool watch = r.query.find("watch") != std::string::npos;
    counts[agent + " " + r.method + (watch ? " watch " : " ") + what]++;
  }
  for (const auto& [k, v] : counts) std::printf("    %8zu %s\n", v, k.c_str());
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1)];
}

double sum_of(const std::string& text, const std::string& name, const std::string& label_fragment) {
  double total = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(name + "{", 0) == 0 && line.find(label_fragment) != std::string::npos)
      total += std::atof(line.c_str() + line.rfind(' ') + 1);
  return total;
}

Object deployment(const std::string& ns, const std::string& name) {
  return Object{{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"spec",
                 {{"replicas", 1},
                  {"selector", {{"matchLabels", {{"app", name}}}}},
                  {"template",
                   {{"metadata", {{"labels", {{"app", name}}}}},
                    {"spec", {{"containers", Object::array({{{"name", "app"}, {"image", "busybox"}}})}}}}}}}};
}

Object scaled_object_for(const std::string& ns, const std::string& name, std::uint16_t redis_port, int polling) {
  return Object{{"apiVersion", "keda.sh/v1alpha1"},
                {"kind", "ScaledObject"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"spec",
                 {{"scaleTargetRef", {{"name", name}}},
                  {"pollingInterval", polling},
                  {"minReplicaCount", 1},
                  {"maxReplicaCount", 10},
                  {"triggers",
                   Object::array({{{"type", "redis"},
                                   {"metadata",
                                    {{"address", "127.0.0.1:" + std::to_string(redis_port)},
                                     {"listName", "q-" + name},
                                     {"listLength", "5"}}}}})}}}};
}

// Creates objects with `writers` threads, each its own client; returns the seconds taken.
double create_all(Cluster& cluster, const ebb::kube::Resource& resource, int n,
                  const std::function<Object(int)>& make, int writers = 8) {
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&] {
      ebb::kube::RestOptions options;
      options.qps = 5000;
      options.burst = 5000;
      options.user_agent = "ebb-bench";
      auto client = cluster.new_client(options);
      for (int i = next++; i < n; i = next++)
        if (!client->create(resource, make(i))) ++failed;
    });
  for (auto& t : threads) t.join();
  if (failed) FAIL(failed << " creates failed");
  return seconds_since(started);
}

std::size_t count_of(Cluster& cluster, const ebb::kube::Resource& resource) {
  ebb::kube::ListOptions options;
  options.limit = 5000;
  auto listed = cluster.client().list_all(resource, cluster.ns(), options);
  return listed ? listed->items.size() : 0;
}

// The harness' leases are short (a 500 ms retry period) so that handover tests are quick; a
// bench measures the defaults users run (KEDA's and Ebb's: 15 s, 10 s, 2 s), whose renewals are
// part of the steady requests.
const std::vector<std::string> kDefaultLeases{"--leader-election-lease-duration=15s",
                                              "--leader-election-renew-deadline=10s",
                                              "--leader-election-retry-period=2s"};
// The operator runs with a raised client limit and the default leases.
std::vector<std::string> operator_flags() {
  std::vector<std::string> flags{"--kube-api-qps=300", "--kube-api-burst=600"};
  for (const auto& lease : kDefaultLeases) flags.push_back(lease);
  return flags;
}

void run(const Args& args, int n) {
  Cluster cluster;
  test::RedisServer redis;
  const AdapterPki pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster, operator_flags(), "operator-" + std::to_string(n));
  REQUIRE(op.wait_ready(60s));
  AdapterRun adapter(cluster, pki, kDefaultLeases, "adapter-" + std::to_string(n));
  adapter.require_ready(60s);
  const double op_rss0 = rss_mib(op.pid()), adapter_rss0 = rss_mib(adapter.pid());

  const auto& ns = cluster.ns();
  const double deployments_s = create_all(cluster, res::deployments(), n, [&](int i) {
    return deployment(ns, "w" + std::to_string(i));
  });
  const auto so_start = Clock::now();
  const double create_s = create_all(cluster, ebb::cluster::scaled_objects(), n, [&](int i) {
    return scaled_object_for(ns, "w" + std::to_string(i), redis.port(), args.polling_s);
  });
  double hpas_s = 0;
  for (;;) {
    if (count_of(cluster, res::horizontal_pod_autoscalers()) >= static_cast<std::size_t>(n)) {
      hpas_s = seconds_since(so_start);
      break;
    }
    if (seconds_since(so_start) > 3600) FAIL("fewer than " << n << " HPAs after an hour");
    std::this_thread::sleep_for(1s);
  }
  // Settle: the operator's queue drained, every object polled once.
  for (const auto settle = Clock::now(); seconds_since(settle) < 600;) {
    const auto m = op.metrics();
    const auto depth = samples(m, "workqueue_depth");
    if (!depth.empty() && depth.front() == 0) break;
    std::this_thread::sleep_for(2s);
  }
  std::this_thread::sleep_for(std::chrono::seconds(args.polling_s));

  // Steady state.
  const auto requests0 = process_requests(cluster);
  const double cpu0 = cpu_seconds(adapter.pid());
  const auto window = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(args.observe_s));
  const double elapsed = seconds_since(window);
  const double adapter_cpu = (cpu_seconds(adapter.pid()) - cpu0) / elapsed * 100;
  const double rps = static_cast<double>(process_requests(cluster) - requests0) / elapsed;
  const double op_rss = rss_mib(op.pid()), adapter_rss = rss_mib(adapter.pid());
  const auto lag_p99 = percentile(samples(adapter.metrics(), "keda_internal_scale_loop_latency_seconds"), 0.99);

  if (const char* v = std::getenv("EBB_BENCH_REQUEST_STATS"); v && *v == '1') {
    std::printf("  requests so far (objects=%d):\n", n);
    print_request_stats(cluster);
  }

  // The reference for both restarts: what the API server takes to hand out the objects a
  // restarted process lists before it can act (ScaledObjects, HPAs, Deployments in pages of
  // 500, one after the other; the processes list them concurrently).
  const auto relist = Clock::now();
  for (const auto& resource :
       {ebb::cluster::scaled_objects(), res::horizontal_pod_autoscalers(), res::deployments()}) {
    ebb::kube::ListOptions options;
    options.limit = 500;
    if (!cluster.client().list_all(resource, cluster.ns(), options))
      FAIL("reference list of " << resource.resource);
  }
  const double relist_s = seconds_since(relist);

  // Operator restart: every object reconciled again, queue empty.
  op.terminate();
  const auto op_restart = Clock::now();
  OperatorRun op2(cluster, operator_flags(), "operator2-" + std::to_string(n));
  double op_resync_s = 0;
  for (;;) {
    const auto m = op2.metrics();
    const double reconciled = sum_of(m, "controller_runtime_reconcile_total", "result=\"success\"");
    const auto depth = samples(m, "workqueue_depth");
    if (reconciled >= n && !depth.empty() && depth.front() == 0) {
      op_resync_s = seconds_since(op_restart);
      break;
    }
    if (seconds_since(op_restart) > 3600) FAIL("the restarted operator did not reconcile everything in an hour");
    std::this_thread::sleep_for(500ms);
  }

  // Adapter restart: serving and every object built.
  adapter.terminate();
  const auto adapter_restart = Clock::now();
  adapter.restart();
  REQUIRE(adapter.wait_ready(3600s));
  const double adapter_ready_s = seconds_since(adapter_restart);

  const double reference_rps = static_cast<double>(n) / args.polling_s;
  std::printf(
      "objects=%d  deployments_create=%.1fs  so_create=%.1fs  hpas_present=%.1fs  ratio "
      "hpas/create=%.2f\n"
      "  steady (%ds): operator_rss=%.0fMiB (%.1fKiB/object)  adapter_rss=%.0fMiB (%.1fKiB/object) "
      " together=%.0fMiB\n"
      "  adapter_cpu=%.1f%% of a core  api_requests=%.2f/s (reference one GET per poll %.1f/s, "
      "ratio %.3f)  loop_lag_p99=%.3fs\n"
      "  operator restart -> all reconciled: %.1fs (ratio to so_create %.2f)  adapter restart -> "
      "ready: %.1fs\n"
      "  reference relist (ScaledObjects, HPAs, Deployments in pages of 500): %.1fs  ratios "
      "operator %.2f, adapter %.2f\n",
      n, deployments_s, create_s, hpas_s, hpas_s / create_s, args.observe_s, op_rss,
      (op_rss - op_rss0) * 1024 / n, adapter_rss, (adapter_rss - adapter_rss0) * 1024 / n,
      op_rss + adapter_rss, adapter_cpu, rps, reference_rps, rps / reference_rps, lag_p99,
      op_resync_s, op_resync_s / create_s, adapter_ready_s, relist_s, op_resync_s / relist_s,
      adapter_ready_s / relist_s);
  std::fflush(stdout);
}

Args args_from_env() {
  Args a;
  if (const char* v = std::getenv("EBB_BENCH_OBJECTS"); v && *v) {
    a.objects.clear();
    for (const auto& part : ebb::split(v, ',')) a.objects.push_back(std::stoi(part));
  }
  if (const char* v = std::getenv("EBB_BENCH_OBSERVE"); v && *v) a.observe_s = std::stoi(v);
  if (const char* v = std::getenv("EBB_BENCH_POLLING"); v && *v) a.polling_s = std::stoi(v);
  return a;
}

}  // namespace

TEST_CASE("scale: HPAs keep pace, memory and CPU per object, API load, restarts") {
  const Args args = args_from_env();
  for (int n : args.objects) run(args, n);
}
