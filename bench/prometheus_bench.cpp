// The cost of a prometheus trigger's poll through Ebb against a naive client, in one run.
//
// A real Prometheus (tests/support/servers.h) scrapes a target this program serves; a TCP
// forwarder in front of it counts the connections each run opens. `ebb`: N prometheus triggers
// on that server, parsed through the registry and polled through one ConnectionPools (one
// kept-alive HTTP client shared by all of them), from `--threads` threads as the adapter's
// workers would. `naive` (the reference): the same query URLs, each poll on a fresh connection
// (a new HTTP client per poll, as a client without a pool does). Prints figures and ratios
// only; nothing is asserted (docs/DEVELOPING.md, section Bench).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ebb/net/http_client.h"
#include "ebb/net/http_server.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "prometheus/query.h"
#include "support/servers.h"
#include "support/support.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int triggers = 200;
  int rounds = 5;
  int threads = 4;
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--triggers"))
      o.triggers = v;
    else if (!std::strcmp(argv[i], "--rounds"))
      o.rounds = v;
    else if (!std::strcmp(argv[i], "--threads"))
      o.threads = v;
  }
  o.triggers = std::max(o.triggers, 1);
  o.rounds = std::max(o.rounds, 1);
  o.threads = std::max(o.threads, 1);
  return o;
}

struct Figures {
  std::vector<double> latencies_ms;  // one per poll
  double wall_s = 0;
  std::size_t connections = 0;
  std::size_t failures = 0;
  double percentile(double p) const {
    if (latencies_ms.empty()) return 0;
    auto sorted = latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::min(sorted.size() - 1,
                           static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
  }
  double mean() const {
    double sum = 0;
    for (double v : latencies_ms) sum += v;
    return latencies_ms.empty() ? 0 : sum / static_cast<double>(latencies_ms.size());
  }
};

// Runs `poll(i)` for every trigger i, `rounds` times, on `threads` threads.
template <class Poll>
Figures run(const Options& o, Poll poll) {
  Figures f;
  std::vector<std::vector<double>> per_thread(static_cast<std::size_t>(o.threads));
  std::atomic<std::size_t> failures{0};
  const auto started = Clock::now();
  for (int round = 0; round < o.rounds; ++round) {
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < o.threads; ++t)
      workers.emplace_back([&, t] {
        for (int i = next++; i < o.triggers; i = next++) {
          const auto begin = Clock::now();
          if (!poll(i)) ++failures;
          per_thread[static_cast<std::size_t>(t)].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        }
      });
    for (auto& w : workers) w.join();
  }
  f.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  for (auto& v : per_thread) f.latencies_ms.insert(f.latencies_ms.end(), v.begin(), v.end());
  f.failures = failures;
  return f;
}

void print(const char* name, const Figures& f, const Options& o) {
  std::printf(
      "%-6s polls=%zu failures=%zu connections=%zu p50=%.3fms p99=%.3fms mean=%.3fms wall=%.2fs "
      "polls_per_s=%.0f\n",
      name, f.latencies_ms.size(), f.failures, f.connections, f.percentile(0.5), f.percentile(0.99),
      f.mean(), f.wall_s, static_cast<double>(o.triggers * o.rounds) / f.wall_s);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  std::atomic<int> depth{7};
  auto target = ebb::net::HttpServer::start({}, [&](const ebb::net::ServerRequest&) {
    return ebb::net::ServerResponse::text(
        200, "ebb_bench_depth{queue=\"q\"} " + std::to_string(depth.load()) + "\n");
  });
  if (!target) {
    std::fprintf(stderr, "target: %s\n", target.error().message.c_str());
    return 1;
  }
  ebb::test::LocalServer prometheus(
      ebb::test::prometheus_server({"127.0.0.1:" + std::to_string((*target)->port())}));
  const std::string query = "sum(ebb_bench_depth)";

  // Wait for the first sample.
  {
    ebb::net::HttpClient client;
    ebb::scalers::prometheus::Query q{"http://" + prometheus.address(), query, "", {}};
    bool ready = false;
    for (int i = 0; i < 150 && !ready; ++i) {
      ebb::net::HttpRequest r;
      r.url = ebb::scalers::prometheus::query_url(q, std::chrono::system_clock::now());
      auto answer = client.send(r);
      ready = answer && answer->body.find("\"7\"") != std::string::npos;
      if (!ready) std::this_thread::sleep_for(200ms);
    }
    if (!ready) {
      std::fprintf(stderr, "Prometheus has no sample after 30 s\n");
      return 1;
    }
  }
  std::printf("prometheus bench: %d triggers x %d rounds on %d threads, one Prometheus (%s)\n",
              o.triggers, o.rounds, o.threads, query.c_str());

  // Ebb: triggers through the registry and one ConnectionPools.
  Figures ebb_figures;
  {
    ebb::test::TcpProxy proxy("127.0.0.1", prometheus.port());
    const std::string server = "http://127.0.0.1:" + std::to_string(proxy.port());
    ebb::scalers::ConnectionPools pools;
    std::vector<std::unique_ptr<ebb::scalers::TriggerConfig>> configs;
    std::vector<std::unique_ptr<ebb::scalers::Scaler>> scalers;
    for (int i = 0; i < o.triggers; ++i) {
      ebb::scalers::TriggerContext ctx;
      ctx.index = 0;
      ctx.type = "prometheus";
      ctx.metadata = {
          {"serverAddress", server}, {"query", query}, {"threshold", std::to_string(1 + i % 10)}};
      auto parsed = ebb::scalers::Registry::builtin().parse(ctx);
      if (!parsed) return 1;
      auto scaler = (*parsed)->create_scaler(pools);
      if (!scaler) return 1;
      configs.push_back(std::move(*parsed));
      scalers.push_back(std::move(*scaler));
    }
    run({o.triggers, 1, o.threads},
        [&](int i) { return static_cast<bool>(scalers[static_cast<std::size_t>(i)]->poll()); });
    ebb_figures = run(
        o, [&](int i) { return static_cast<bool>(scalers[static_cast<std::size_t>(i)]->poll()); });
    // Every connection since the triggers were made, warm-up round included.
    ebb_figures.connections = proxy.connections_accepted();
  }

  // Reference: a fresh connection per poll.
  Figures naive;
  {
    ebb::test::TcpProxy proxy("127.0.0.1", prometheus.port());
    const ebb::scalers::prometheus::Query q{
        "http://127.0.0.1:" + std::to_string(proxy.port()), query, "", {}};
    naive = run(o, [&](int) {
      ebb::net::HttpClient fresh;
      ebb::net::HttpRequest r;
      r.url = ebb::scalers::prometheus::query_url(q, std::chrono::system_clock::now());
      r.timeout = 3s;
      auto answer = fresh.send(r);
      return answer && answer->status == 200;
    });
    naive.connections = proxy.connections_accepted();
  }

  print("ebb", ebb_figures, o);
  print("naive", naive, o);
  const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("ratio naive/ebb: p50=%.2f p99=%.2f mean=%.2f wall=%.2f connections=%.1f\n",
              ratio(naive.percentile(0.5), ebb_figures.percentile(0.5)),
              ratio(naive.percentile(0.99), ebb_figures.percentile(0.99)),
              ratio(naive.mean(), ebb_figures.mean()), ratio(naive.wall_s, ebb_figures.wall_s),
              ratio(static_cast<double>(naive.connections),
                    static_cast<double>(std::max<std::size_t>(ebb_figures.connections, 1))));
  return 0;
}
