// Metrics adapter benchmark: the real ebb-metrics-adapter and ebb-operator processes against the
// in-process test API server and a redis-server of its own (the system-test harness of
// tests/system), each figure next to a reference measured in the same invocation:
//
//   [read]       HPA metric reads: GET /apis/external.metrics.k8s.io/... over TLS with the
//                front-proxy certificate, answered from the adapter's cache, on one kept-alive
//                connection and with a fresh TLS connection per read; the reference reads the
//                same value from redis as a per-read poll does (a fresh TCP connection, AUTH when
//                there is a password - none here - and LLEN). p50/p99 of each, and the ratios.
//   [activation] A Deployment at 0 with a redis-list ScaledObject (pollingInterval 5 s): a push
//                at a random phase of the interval, then the time until the adapter has written
//                replicas 1 (Deployment read every 5 ms). One fresh ScaledObject/Deployment pair
//                per run. Mean and max as a fraction of the interval; the reference is a
//                poll-driven activation, on average half an interval (at most one) plus its loop.
//   [push]       Push against poll: per run, two Deployments at 0 with the same external scaler
//                (the project's own, tests/external_scaler, in this process) and pollingInterval
//                30 s: one through an external-push trigger, one through an external trigger.
//                After a random wait the scaler turns both objects active and pushes `true` on
//                the push object's StreamIsActive; the time from the push until each Deployment
//                has replicas 1 (read every 5 ms) is measured. The reference is the poll-driven
//                activation of the same kind of object in the same run; each object's poll
//                phase is a hash of its name, so the push falls at an effectively random point
//                of the poll object's interval.
//
// Only ratios mean something; absolute figures depend on the machine and its load. Nothing is
// asserted about speed (a failure here is a broken setup: a value not served, no activation).
// Not run by ctest. Environment: EBB_BENCH_READS (default 200), EBB_BENCH_ACTIVATIONS (default 5),
// EBB_BENCH_PUSH_RUNS (default 3; each run waits up to 30 s for the poll-driven activation).
// Usage: ebb_bench_adapter            (all)    ebb_bench_adapter "[read]" / "[activation]" / "[push]"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapter_harness.h"
#include "ebb/cluster/resources.h"
#include "ebb/net/http_client.h"
#include "external_scaler_server.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace test = ebb::test;
using Clock = std::chrono::steady_clock;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n <= 0 || n > 100000) FAIL(name << " must be a positive integer, got '" << v << "'");
  return static_cast<int>(n);
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Stats {
  double p50 = 0, p99 = 0, mean = 0, max = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
  };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// One redis command on a fresh TCP connection (RESP array of bulk strings), the first reply line
// without its CRLF; "" on any failure.
std::string redis_once(std::uint16_t port, const std::vector<std::string>& args) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) req += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[256];
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          reply.clear();
          break;
        }
        reply.append(buf, static_cast<std::size_t>(n));
        if (const auto crlf = reply.find("\r\n"); crlf != std::string::npos) {
          reply.resize(crlf);
          break;
        }
      }
    }
  }
  ::close(fd);
  return reply;
}

// An operator and the aggregator's PKI, as tests/system/adapter_test.cpp sets them up.
struct Env {
  Cluster cluster;
  AdapterPki pki;
  OperatorRun op;
  Env() : pki(make_adapter_pki(cluster.dir())), op(cluster) {
    if (!op.wait_ready()) FAIL("ebb-operator not ready:\n" << op.log());
  }
};

void wait_ready_so(Env& env, const std::string& name) {
  eventually("ScaledObject " + name + " Ready=True for its generation",
             [&] { return is_ready(env.cluster.scaled_object(name)); }, 60s, &env.op);
}

// items[0].value of an ExternalMetricValueList; "" for anything else.
std::string served(int status, const std::string& body) {
  if (status != 200) return "";
  auto parsed = Object::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("items") || !parsed["items"].is_array() || parsed["items"].empty())
    return "";
  return parsed["items"][0].value("value", "");
}

void print_row(const char* name, const Stats& s, int mismatches, std::size_t n) {
  std::printf("  %-34s n=%zu  p50 %8.3f ms  p99 %8.3f ms  mean %8.3f ms  wrong values %d\n", name, n, s.p50, s.p99,
              s.mean, mismatches);
}

}  // namespace

TEST_CASE("HPA metric reads through the adapter's cache vs LLEN on a fresh redis connection", "[read]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  const int reads = env_int("EBB_BENCH_READS", 200);
  constexpr int kWarmup = 10;
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  REQUIRE(redis.cli({"RPUSH", "orders", "1", "2", "3", "4", "5", "6", "7"}) == "7");
  const std::string expected = "7";
  cluster.create_deployment("reader", 1);
  cluster.create(ebb::cluster::scaled_objects(),
                 scaled_object_with("reader-so", "reader", "redis", redis_trigger_metadata(redis.port(), "orders"), 1,
                                    10, 1, 300));
  wait_ready_so(env, "reader-so");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto who = hpa_identity(env.pki);
  eventually_adapter("reader-so served 7", [&] {
    const auto r = adapter.external_metric(cluster.ns(), "s0-redis-orders", "reader-so", who);
    return served(r.status, r.body) == expected;
  }, 60s, adapter, &env.op);

  // The adapter, one client whose pool keeps one idle connection: every read after the first
  // reuses it (what the aggregator does towards an APIService).
  ebb::net::HttpClientOptions options;
  options.tls.enabled = true;
  options.tls.ca_pem = test::read_file(adapter.cert_dir() + "/apiserver.crt");
  options.tls.cert_pem = who.cert_pem;
  options.tls.key_pem = who.key_pem;
  options.max_idle_per_host = 1;
  ebb::net::HttpClient client(options);
  ebb::net::HttpRequest request{.method = "GET",
                                .url = "https://127.0.0.1:" + std::to_string(adapter.ports().secure) +
                                       "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + cluster.ns() +
                                       "/s0-redis-orders?labelSelector=scaledobject.keda.sh%2Fname%3Dreader-so",
                                .headers = {{"Accept", "application/json"}, {"X-Remote-User", who.user}},
                                .body = "",
                                .timeout = 5s};
  for (const auto& g : who.groups) request.headers.emplace_back("X-Remote-Group", g);

  std::vector<double> kept, fresh, reference;
  int kept_wrong = 0, fresh_wrong = 0, reference_wrong = 0;
  for (int i = 0; i < kWarmup + reads; ++i) {
    const auto t = Clock::now();
    auto r = client.send(request);
    const double ms = ms_since(t);
    const bool ok = r && served(r->status, r->body) == expected;
    if (i >= kWarmup) {
      kept.push_back(ms);
      if (!ok) ++kept_wrong;
    }
  }
  for (int i = 0; i < kWarmup + reads; ++i) {
    const auto t = Clock::now();
    const auto r = adapter.external_metric(cluster.ns(), "s0-redis-orders", "reader-so", who);
    const double ms = ms_since(t);
    if (i >= kWarmup) {
      fresh.push_back(ms);
      if (served(r.status, r.body) != expected) ++fresh_wrong;
    }
  }
  for (int i = 0; i < kWarmup + reads; ++i) {
    const auto t = Clock::now();
    const std::string r = redis_once(redis.port(), {"LLEN", "orders"});
    const double ms = ms_since(t);
    if (i >= kWarmup) {
      reference.push_back(ms);
      if (r != ":" + expected) ++reference_wrong;
    }
  }
  const Stats k = stats(kept), f = stats(fresh), ref = stats(reference);
  std::printf("\n[read] %d HPA reads of s0-redis-orders (value %s) after %d warm-up reads each\n", reads,
              expected.c_str(), kWarmup);
  print_row("adapter, kept-alive TLS", k, kept_wrong, kept.size());
  print_row("adapter, fresh TLS conn per read", f, fresh_wrong, fresh.size());
  print_row("reference: redis conn + LLEN", ref, reference_wrong, reference.size());
  std::printf("  ratio adapter kept-alive / reference:  p50 %.2f  p99 %.2f\n", k.p50 / ref.p50, k.p99 / ref.p99);
  std::printf("  ratio adapter fresh TLS / reference:   p50 %.2f  p99 %.2f\n", f.p50 / ref.p50, f.p99 / ref.p99);
  std::printf("  (below 1: the adapter's cached answer is faster than a per-read redis round trip)\n");
  std::fflush(stdout);
  CHECK(kept_wrong == 0);
  CHECK(fresh_wrong == 0);
  CHECK(reference_wrong == 0);
}

TEST_CASE("activation 0 -> 1 after a push at a random phase of the polling interval", "[activation]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  const int runs = env_int("EBB_BENCH_ACTIVATIONS", 5);
  constexpr int kInterval = 5;  // pollingInterval, seconds
  Env env;
  auto& cluster = env.cluster;
  test::RedisServer redis;
  const auto name = [](const char* what, int i) { return std::string(what) + "-" + std::to_string(i); };
  for (int i = 0; i < runs; ++i) {
    cluster.create_deployment(name("worker", i), 0);
    cluster.create(ebb::cluster::scaled_objects(),
                   scaled_object_with(name("worker", i) + "-so", name("worker", i), "redis",
                                      redis_trigger_metadata(redis.port(), name("jobs", i)), 0, 10, kInterval, 300));
  }
  for (int i = 0; i < runs; ++i) wait_ready_so(env, name("worker", i) + "-so");
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto who = hpa_identity(env.pki);
  // Each ScaledObject polled (served 0) and inactive before its run.
  for (int i = 0; i < runs; ++i) {
    eventually_adapter(name("worker", i) + "-so served 0", [&] {
      const auto r = adapter.external_metric(cluster.ns(), "s0-redis-" + name("jobs", i), name("worker", i) + "-so", who);
      return served(r.status, r.body) == "0";
    }, 60s, adapter, &env.op);
    REQUIRE(cluster.deployment_replicas(name("worker", i)) == 0);
  }

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> phase_ms(0, kInterval * 1000 - 1);
  std::vector<double> seconds;
  std::printf("\n[activation] %d runs, pollingInterval %d s, push at a random phase\n", runs, kInterval);
  for (int i = 0; i < runs; ++i) {
    const int delay = phase_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    REQUIRE(redis_once(redis.port(), {"RPUSH", name("jobs", i), "1"}) == ":1");
    const auto pushed = Clock::now();
    while (cluster.deployment_replicas(name("worker", i)) < 1) {
      if (ms_since(pushed) > 60'000.0) FAIL(name("worker", i) << " not activated within 60 s:\n" << adapter.log());
      std::this_thread::sleep_for(5ms);
    }
    const double s = ms_since(pushed) / 1000.0;
    seconds.push_back(s);
    // The write is the adapter's: one successful PUT/PATCH of /scale with replicas 1.
    std::vector<int> written;
    for (const auto& w : scale_writes(*cluster.server(), cluster.ns(), name("worker", i)))
      if (w.code >= 200 && w.code < 300) written.push_back(w.replicas);
    CHECK(written == std::vector<int>{1});
    std::printf("  run %d: pushed %5d ms after the wait, activated %.3f s later (%.2f of the interval)\n", i + 1,
                delay, s, s / kInterval);
    std::fflush(stdout);
  }
  const Stats st = stats(seconds);
  std::printf("  measured / interval:  mean %.2f  max %.2f\n", st.mean / kInterval, st.max / kInterval);
  std::printf("  reference (poll-driven activation): mean 0.50 + loop, max 1.00 + loop\n");
  std::printf("  ratio measured mean / reference mean (0.5 interval): %.2f\n", st.mean / (0.5 * kInterval));
  std::fflush(stdout);
}

TEST_CASE("activation 0 -> 1 by an external-push push vs by the poll of an external trigger (pollingInterval 30)",
          "[push]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  const int runs = env_int("EBB_BENCH_PUSH_RUNS", 3);
  constexpr int kInterval = 30;  // pollingInterval, seconds
  Env env;
  auto& cluster = env.cluster;
  test::ExternalScalerServer scaler;
  scaler.set_metrics({{"queue", 10, 0}});
  scaler.set_value("queue", 0);
  scaler.set_active(false);
  const auto name = [](const char* what, int i) { return std::string(what) + "-" + std::to_string(i); };
  const Object metadata = {{"scalerAddress", scaler.address()}};
  for (int i = 0; i < runs; ++i) {
    for (const char* kind : {"push", "poll"}) {
      const std::string target = name(kind, i);
      cluster.create_deployment(target, 0);
      cluster.create(ebb::cluster::scaled_objects(),
                     scaled_object_with(target + "-so", target, std::string(kind) == "push" ? "external-push" : "external",
                                        metadata, 0, 10, kInterval, 300));
    }
  }
  for (int i = 0; i < runs; ++i) {
    wait_ready_so(env, name("push", i) + "-so");
    wait_ready_so(env, name("poll", i) + "-so");
  }
  AdapterRun adapter(cluster, env.pki);
  adapter.require_ready();
  const auto who = hpa_identity(env.pki);
  // Every object polled once (served 0) and its push stream open before the runs start.
  for (int i = 0; i < runs; ++i) {
    for (const auto& [kind, type] : {std::pair{"push", "external-push"}, std::pair{"poll", "external"}}) {
      const std::string so = name(kind, i) + "-so";
      eventually_adapter(so + " served 0", [&] {
        const auto r = adapter.external_metric(cluster.ns(), std::string("s0-") + type, so, who);
        return served(r.status, r.body) == "0";
      }, 90s, adapter, &env.op);
    }
  }
  REQUIRE(scaler.wait_for_streams(static_cast<std::size_t>(runs), 30s));

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> phase_ms(0, 5000);
  std::vector<double> pushed_s, polled_s;
  std::printf("\n[push] %d runs, pollingInterval %d s: external-push (push) vs external (poll), same scaler\n", runs,
              kInterval);
  for (int i = 0; i < runs; ++i) {
    const std::string push_so = name("push", i) + "-so", poll_so = name("poll", i) + "-so";
    REQUIRE(cluster.deployment_replicas(name("push", i)) == 0);
    REQUIRE(cluster.deployment_replicas(name("poll", i)) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms(rng)));
    scaler.set_active(push_so, true);
    scaler.set_active(poll_so, true);
    const auto pushed = Clock::now();
    scaler.push(push_so, true);
    std::optional<double> push_delay, poll_delay;
    while (!push_delay || !poll_delay) {
      if (ms_since(pushed) > (kInterval + 30) * 1000.0) FAIL("run " << i + 1 << " not activated:\n" << adapter.log());
      if (!push_delay && cluster.deployment_replicas(name("push", i)) >= 1) push_delay = ms_since(pushed) / 1000.0;
      if (!poll_delay && cluster.deployment_replicas(name("poll", i)) >= 1) poll_delay = ms_since(pushed) / 1000.0;
      std::this_thread::sleep_for(5ms);
    }
    pushed_s.push_back(*push_delay);
    polled_s.push_back(*poll_delay);
    for (const char* kind : {"push", "poll"}) {
      std::vector<int> written;
      for (const auto& w : scale_writes(*cluster.server(), cluster.ns(), name(kind, i)))
        if (w.code >= 200 && w.code < 300) written.push_back(w.replicas);
      CHECK(written == std::vector<int>{1});
    }
    std::printf("  run %d: push activated after %.3f s, poll after %6.3f s (%.2f of the interval)\n", i + 1, *push_delay,
                *poll_delay, *poll_delay / kInterval);
    std::fflush(stdout);
  }
  const Stats push = stats(pushed_s), poll = stats(polled_s);
  std::printf("  push:  mean %.3f s  max %.3f s\n", push.mean, push.max);
  std::printf("  poll:  mean %.3f s  max %.3f s  (expected: half an interval on average, at most one)\n", poll.mean,
              poll.max);
  std::printf("  ratio push / poll:  mean %.4f  max %.4f\n", push.mean / poll.mean, push.max / poll.max);
  std::fflush(stdout);
}
