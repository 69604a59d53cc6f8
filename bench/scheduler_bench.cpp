// Poll scheduler benchmark: N keys polled every interval with a trivial task, run twice in one
// invocation:
//   ebb   - ebb::adapter::PollScheduler (one dispatcher + a fixed worker pool, stable phases);
//   naive - the reference: one std::thread per key that runs the task and sleeps its interval.
// Reported per run: threads in the process at peak, CPU time (getrusage) per run of the task,
// the largest share of runs that fell in one 10 ms bucket of the interval (how bunched the
// polls are), runs done; and the ratios naive/ebb. Only ratios of runs in the same
// invocation mean anything; absolute figures depend on the machine.
//
// Usage: ebb_bench_scheduler [--keys N] [--interval-ms MS] [--intervals K] [--workers W]
#include "ebb/adapter/scheduler.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  int keys = 10000;
  int interval_ms = 1000;
  int intervals = 3;  // measured; one more interval of warm-up comes first
  std::size_t workers = 16;
};

constexpr int kBucketMs = 10;

// What the trivial task records: one counter per 10 ms bucket of the interval.
struct Recorder {
  explicit Recorder(int interval_ms)
      : interval_ms(interval_ms), buckets(static_cast<std::size_t>(interval_ms / kBucketMs)) {}
  int interval_ms;
  std::vector<std::atomic<std::uint64_t>> buckets;
  std::atomic<bool> measuring{false};
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> lag_sum_ms{0};
  std::atomic<std::uint64_t> lag_max_ms{0};
  Clock::time_point t0 = Clock::now();

  void record(std::chrono::milliseconds lag) {
    if (!measuring.load(std::memory_order_relaxed)) return;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    buckets[static_cast<std::size_t>((ms % interval_ms) / kBucketMs)].fetch_add(
        1, std::memory_order_relaxed);
    runs.fetch_add(1, std::memory_order_relaxed);
    const auto l = static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag.count()));
    lag_sum_ms.fetch_add(l, std::memory_order_relaxed);
    auto seen = lag_max_ms.load(std::memory_order_relaxed);
    while (l > seen && !lag_max_ms.compare_exchange_weak(seen, l)) {
    }
  }
  double max_bucket_share() const {
    std::uint64_t max = 0;
    for (const auto& b : buckets) max = std::max<std::uint64_t>(max, b.load());
    return runs.load() ? static_cast<double>(max) / static_cast<double>(runs.load()) : 0.0;
  }
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

int threads_now() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return -1;
}

struct Result {
  const char* name;
  int threads = 0;
  double cpu_s = 0;
  double setup_s = 0;
  std::uint64_t runs = 0;
  double max_bucket_share = 0;
  double mean_lag_ms = 0;
  std::uint64_t max_lag_ms = 0;
};

// Warm up one interval, then measure `intervals` intervals: CPU time and the task's records.
template <class Setup, class Teardown>
Result measure(const char* name, const Config& cfg, Recorder& rec, Setup setup, Teardown teardown) {
  Result r{name};
  const auto setup_start = Clock::now();
  setup();
  r.setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(cfg.interval_ms));
  const double cpu0 = cpu_seconds();
  rec.measuring = true;
  const auto end = Clock::now() + std::chrono::milliseconds(cfg.interval_ms) * cfg.intervals;
  int peak = 0;
  while (Clock::now() < end) {
    peak = std::max(peak, threads_now());
    std::this_thread::sleep_for(50ms);
  }
  rec.measuring = false;
  r.cpu_s = cpu_seconds() - cpu0;
  teardown();
  r.threads = peak;
  r.runs = rec.runs.load();
  r.max_bucket_share = rec.max_bucket_share();
  r.mean_lag_ms = r.runs ? static_cast<double>(rec.lag_sum_ms.load()) / static_cast<double>(r.runs) : 0;
  r.max_lag_ms = rec.lag_max_ms.load();
  return r;
}

Result run_ebb(const Config& cfg) {
  Recorder rec(cfg.interval_ms);
  ebb::adapter::PollScheduler scheduler(ebb::adapter::SchedulerOptions{cfg.workers});
  return measure(
      "ebb", cfg, rec,
      [&] {
        for (int i = 0; i < cfg.keys; ++i)
          scheduler.schedule("bench/so-" + std::to_string(i),
                             std::chrono::milliseconds(cfg.interval_ms),
                             [&rec](std::chrono::milliseconds lag) { rec.record(lag); });
      },
      [&] { scheduler.stop(); });
}

Result run_naive(const Config& cfg) {
  Recorder rec(cfg.interval_ms);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(cfg.keys));
  return measure(
      "naive", cfg, rec,
      [&] {
        for (int i = 0; i < cfg.keys; ++i)
          threads.emplace_back([&] {
            // The naive poller: work, then sleep the interval. Its lag is how late it woke up
            // against the planned next start.
            auto planned = Clock::now();
            while (!stop.load(std::memory_order_relaxed)) {
              const auto started = Clock::now();
              rec.record(std::chrono::duration_cast<std::chrono::milliseconds>(started - planned));
              planned = started + std::chrono::milliseconds(cfg.interval_ms);
              std::this_thread::sleep_until(planned);
            }
          });
      },
      [&] {
        stop = true;
        for (auto& t : threads) t.join();
      });
}

void print(const Result& r, const Config& cfg) {
  const double runs = static_cast<double>(std::max<std::uint64_t>(1, r.runs));
  std::printf(
      "%-6s threads=%-6d cpu=%.3fs cpu_per_run=%.2fus runs=%llu (expected %d) "
      "max_10ms_bucket=%.2f%% mean_lag=%.2fms max_lag=%llums setup=%.3fs\n",
      r.name, r.threads, r.cpu_s, r.cpu_s / runs * 1e6, static_cast<unsigned long long>(r.runs),
      cfg.keys * cfg.intervals, r.max_bucket_share * 100, r.mean_lag_ms,
      static_cast<unsigned long long>(r.max_lag_ms), r.setup_s);
}

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> long {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        const long v = std::stol(argv[++i]);
        if (v <= 0) throw std::invalid_argument(arg + " must be positive");
        return v;
      };
      if (arg == "--keys") cfg.keys = static_cast<int>(value());
      else if (arg == "--interval-ms") cfg.interval_ms = static_cast<int>(value());
      else if (arg == "--intervals") cfg.intervals = static_cast<int>(value());
      else if (arg == "--workers") cfg.workers = static_cast<std::size_t>(value());
      else throw std::invalid_argument("unknown argument " + arg);
    }
    if (cfg.interval_ms < kBucketMs || cfg.interval_ms % kBucketMs != 0)
      throw std::invalid_argument("--interval-ms must be a multiple of 10");
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "ebb_bench_scheduler: %s\nusage: ebb_bench_scheduler [--keys N] "
                 "[--interval-ms MS] [--intervals K] [--workers W]\n",
                 e.what());
    return 2;
  }
  std::printf("scheduler bench: %d keys, interval %d ms, %d measured intervals, %zu workers\n",
              cfg.keys, cfg.interval_ms, cfg.intervals, cfg.workers);
  const Result ebb = run_ebb(cfg);
  print(ebb, cfg);
  const Result naive = run_naive(cfg);
  print(naive, cfg);
  std::printf("ratio naive/ebb: threads=%.1f cpu=%.2f cpu_per_run=%.2f max_10ms_bucket=%.2f\n",
              ratio(naive.threads, ebb.threads), ratio(naive.cpu_s, ebb.cpu_s),
              ratio(naive.cpu_s / static_cast<double>(std::max<std::uint64_t>(1, naive.runs)),
                    ebb.cpu_s / static_cast<double>(std::max<std::uint64_t>(1, ebb.runs))),
              ratio(naive.max_bucket_share, ebb.max_bucket_share));
  return 0;
}
