// The poll scheduler against real threads and the real clock. The machine running CI is busy:
// every timing bound here is generous (hundreds of ms where the scheduler needs a few); the
// tests assert orderings and counts that a wrong scheduler breaks by a wide margin.
#include "ebb/adapter/scheduler.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ebb::adapter::PollScheduler;
using ebb::adapter::SchedulerOptions;
using ebb::adapter::stable_phase;
using Clock = std::chrono::steady_clock;
using FirstRun = PollScheduler::FirstRun;

namespace {

// Polls `cond` until true or `limit` elapses.
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = 5000ms) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

std::size_t max_bucket(const std::vector<std::int64_t>& offsets_ms, std::int64_t interval_ms,
                       std::int64_t bucket_ms) {
  std::vector<std::size_t> buckets(static_cast<std::size_t>(interval_ms / bucket_ms), 0);
  for (auto o : offsets_ms)
    ++buckets[static_cast<std::size_t>(((o % interval_ms) + interval_ms) % interval_ms / bucket_ms)];
  return *std::max_element(buckets.begin(), buckets.end());
}

std::string key_of(int i) { return "default/scaledobject-" + std::to_string(i); }

}  // namespace

TEST_CASE("stable_phase is fnv-1a of the key modulo the interval", "[scheduler]") {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; of "" the offset basis 0xcbf29ce484222325.
  CHECK(stable_phase("a", 1000ms).count() ==
        static_cast<std::int64_t>(0xaf63dc4c8601ec8cull % 1000));
  CHECK(stable_phase("", 997ms).count() == static_cast<std::int64_t>(0xcbf29ce484222325ull % 997));
  CHECK(stable_phase("ns/name", 0ms) == 0ms);
  CHECK(stable_phase("ns/name", 30000ms) == stable_phase("ns/name", 30000ms));
  for (int i = 0; i < 200; ++i) CHECK(stable_phase(key_of(i), 7ms) < 7ms);
}

TEST_CASE("phases of 1,000 keys spread over a 1 s interval", "[scheduler]") {
  std::vector<std::int64_t> phases;
  for (int i = 0; i < 1000; ++i) phases.push_back(stable_phase(key_of(i), 1000ms).count());
  // 10 per 10 ms bucket on average; a clumping hash (or all keys at one tick) gives far more.
  CHECK(max_bucket(phases, 1000, 10) <= 30);
  std::sort(phases.begin(), phases.end());
  CHECK(std::unique(phases.begin(), phases.end()) - phases.begin() > 500);
}

TEST_CASE("actual starts of 1,000 keys follow their phases", "[scheduler]") {
  const auto t0 = Clock::now();
  PollScheduler scheduler(SchedulerOptions{4});
  std::mutex m;
  std::map<int, std::vector<std::int64_t>> starts_ms;  // since t0, per key
  for (int i = 0; i < 1000; ++i) {
    scheduler.schedule(key_of(i), 1000ms, [&, i](std::chrono::milliseconds) {
      const auto at = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
      std::lock_guard lock(m);
      starts_ms[i].push_back(at.count());
    });
  }
  std::this_thread::sleep_until(t0 + 3200ms);
  scheduler.stop();
  REQUIRE(starts_ms.size() == 1000);
  for (const auto& [i, at] : starts_ms) {
    // Never before the slot: epoch (>= t0) + phase.
    CHECK(at.front() >= stable_phase(key_of(i), 1000ms).count());
    // Each slot is within one interval of scheduling; allow 1 s more for a busy machine.
    CHECK(at.front() < 2000 + stable_phase(key_of(i), 1000ms).count());
    // No slot runs twice. (A start delayed past the end of its interval by a stall is late, not
    // a second run: count slots, not starts per window.)
    const auto phase = stable_phase(key_of(i), 1000ms).count();
    for (std::size_t k = 1; k < at.size(); ++k) CHECK((at[k] - phase) / 1000 > (at[k - 1] - phase) / 1000);
  }
  // Each key has one slot in each of the intervals [1 s, 2 s) and [2 s, 3 s). A stall of this
  // busy machine can bunch up the starts of one interval; a scheduler that bunches them does
  // it in both. So the better of the two intervals must be spread: at most 5 % of the keys in
  // any 10 ms (1 % on average).
  std::size_t best = 1000;
  for (std::int64_t window = 1000; window < 3000; window += 1000) {
    std::vector<std::int64_t> offsets;
    for (const auto& [i, at] : starts_ms)
      for (auto t : at)
        if (t >= window && t < window + 1000) offsets.push_back(t);
    CHECK(offsets.size() >= 900);
    best = std::min(best, max_bucket(offsets, 1000, 10));
  }
  CHECK(best <= 50);
}

TEST_CASE("at most max_concurrent tasks run at once, and that many do run", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{4});
  std::atomic<int> now_running{0}, max_running{0}, total{0};
  std::atomic<std::size_t> max_stats_running{0};
  for (int i = 0; i < 20; ++i) {
    scheduler.schedule(key_of(i), 50ms, [&](std::chrono::milliseconds) {
      const int n = ++now_running;
      int seen = max_running.load();
      while (n > seen && !max_running.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(30ms);
      --now_running;
      ++total;
    });
  }
  // 20 keys × 30 ms of work per 50 ms need 12 workers: 4 stay saturated.
  const auto end = Clock::now() + 1500ms;
  while (Clock::now() < end) {
    max_stats_running = std::max(max_stats_running.load(), scheduler.stats().running);
    std::this_thread::sleep_for(5ms);
  }
  const auto stats = scheduler.stats();
  scheduler.stop();
  CHECK(max_running.load() == 4);
  CHECK(max_stats_running.load() <= 4);
  CHECK(stats.scheduled == 20);
  CHECK(stats.waiting > 0);  // saturated: due keys wait for a worker
  CHECK(total.load() > 20);
}

TEST_CASE("a key never runs twice at once, and a late slot is not queued up", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{4});
  std::atomic<int> in_flight{0};
  std::atomic<bool> overlapped{false};
  std::mutex m;
  std::vector<Clock::time_point> starts;
  Clock::time_point long_end{};
  scheduler.schedule(
      "ns/slow", 50ms,
      [&](std::chrono::milliseconds) {
        if (++in_flight > 1) overlapped = true;
        bool first = false;
        {
          std::lock_guard lock(m);
          starts.push_back(Clock::now());
          first = starts.size() == 1;
        }
        // The first run covers 20 slots.
        std::this_thread::sleep_for(first ? 1000ms : 1ms);
        if (first) {
          std::lock_guard lock(m);
          long_end = Clock::now();
        }
        --in_flight;
      },
      FirstRun::Now);
  std::this_thread::sleep_for(1600ms);
  scheduler.unschedule("ns/slow", true);
  CHECK_FALSE(overlapped.load());
  std::lock_guard lock(m);
  REQUIRE(starts.size() >= 3);
  // One run was pending behind the long one: it starts right after it ended.
  CHECK(starts[1] >= long_end);
  CHECK(starts[1] - long_end < 300ms);
  // The 20 slots missed during the long run are not replayed: in the 100 ms after the long
  // run ended there is the one pending run plus at most the ~2 regular slots.
  const auto burst = std::count_if(starts.begin(), starts.end(), [&](auto t) {
    return t >= long_end && t < long_end + 100ms;
  });
  CHECK(burst >= 1);
  CHECK(burst <= 5);
}

TEST_CASE("runs are start to start at the interval", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> runs{0};
  scheduler.schedule("ns/tick", 100ms, [&](std::chrono::milliseconds) {
    ++runs;
    std::this_thread::sleep_for(60ms);  // start to start: the 60 ms do not add to the period
  });
  std::this_thread::sleep_for(2050ms);
  scheduler.stop();
  // ~20 slots; end to start spacing (160 ms) would give at most ~13.
  CHECK(runs.load() >= 16);
  CHECK(runs.load() <= 22);
}

TEST_CASE("unschedule stops future runs", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> runs{0};
  scheduler.schedule("ns/a", 20ms, [&](std::chrono::milliseconds) { ++runs; });
  REQUIRE(eventually([&] { return runs.load() >= 3; }));
  scheduler.unschedule("ns/a", true);
  const int after = runs.load();
  std::this_thread::sleep_for(300ms);
  CHECK(runs.load() == after);
  CHECK(scheduler.stats().scheduled == 0);
  scheduler.unschedule("ns/unknown");  // no-op
  scheduler.run_now("ns/a");           // no-op once unscheduled
  std::this_thread::sleep_for(100ms);
  CHECK(runs.load() == after);
}

TEST_CASE("unschedule with wait waits for the running run, without wait it does not",
          "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<bool> started{false}, finished{false};
  std::atomic<int> runs{0};
  auto task = [&](std::chrono::milliseconds) {
    ++runs;
    started = true;
    std::this_thread::sleep_for(400ms);
    finished = true;
  };
  SECTION("wait") {
    scheduler.schedule("ns/w", 1h, task, FirstRun::Now);
    REQUIRE(eventually([&] { return started.load(); }));
    scheduler.unschedule("ns/w", true);
    CHECK(finished.load());
  }
  SECTION("no wait") {
    scheduler.schedule("ns/w", 1h, task, FirstRun::Now);
    REQUIRE(eventually([&] { return started.load(); }));
    scheduler.run_now("ns/w");  // a pending run, dropped by the unschedule
    scheduler.unschedule("ns/w", false);
    CHECK_FALSE(finished.load());
    REQUIRE(eventually([&] { return finished.load(); }));
    std::this_thread::sleep_for(200ms);
  }
  CHECK(runs.load() == 1);
}

TEST_CASE("unschedule with wait from inside the task returns and ends the key", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> runs{0};
  std::atomic<bool> returned{false};
  scheduler.schedule("ns/self", 10ms, [&](std::chrono::milliseconds) {
    if (++runs == 2) {
      scheduler.unschedule("ns/self", true);  // must not wait for itself
      returned = true;
      std::this_thread::sleep_for(50ms);  // slots pass meanwhile
    }
  });
  REQUIRE(eventually([&] { return returned.load(); }));
  std::this_thread::sleep_for(300ms);
  CHECK(runs.load() == 2);
  CHECK(scheduler.stats().scheduled == 0);
}

TEST_CASE("run_now runs promptly with lag 0 and does not move the phase", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> runs{0};
  std::atomic<long> last_lag{-1};
  scheduler.schedule("ns/hourly", 1h, [&](std::chrono::milliseconds lag) {
    last_lag = static_cast<long>(lag.count());
    ++runs;
  });
  std::this_thread::sleep_for(100ms);
  REQUIRE(runs.load() == 0);  // first slot is up to an hour away (phase < 1 h)
  const auto asked = Clock::now();
  scheduler.run_now("ns/hourly");
  REQUIRE(eventually([&] { return runs.load() == 1; }, 2000ms));
  CHECK(Clock::now() - asked < 2000ms);
  CHECK(last_lag.load() == 0);
  std::this_thread::sleep_for(200ms);
  CHECK(runs.load() == 1);  // no extra slot run
  scheduler.run_now("ns/hourly");
  REQUIRE(eventually([&] { return runs.load() == 2; }, 2000ms));
}

TEST_CASE("FirstRun::Now runs at once, AtPhase waits for the slot", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> now_runs{0}, phase_runs{0};
  // Keys whose phase in a 1 h interval is more than a minute away.
  std::string later;
  for (int i = 0; later.empty(); ++i)
    if (stable_phase(key_of(i), 1h) > 10min) later = key_of(i);
  scheduler.schedule(later, 1h, [&](std::chrono::milliseconds) { ++phase_runs; });
  scheduler.schedule("ns/now", 1h, [&](std::chrono::milliseconds) { ++now_runs; }, FirstRun::Now);
  REQUIRE(eventually([&] { return now_runs.load() == 1; }, 2000ms));
  std::this_thread::sleep_for(100ms);
  CHECK(phase_runs.load() == 0);
}

TEST_CASE("schedule() replaces a key's task and interval", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{2});
  std::atomic<int> old_runs{0}, new_runs{0};
  scheduler.schedule("ns/r", 1h, [&](std::chrono::milliseconds) { ++old_runs; });
  scheduler.schedule("ns/r", 20ms, [&](std::chrono::milliseconds) { ++new_runs; });
  REQUIRE(eventually([&] { return new_runs.load() >= 5; }));
  CHECK(old_runs.load() == 0);
  CHECK(scheduler.stats().scheduled == 1);
  // And back to a long interval: the short cadence stops.
  scheduler.schedule("ns/r", 1h, [&](std::chrono::milliseconds) { ++old_runs; });
  std::this_thread::sleep_for(50ms);  // a run already wanted may still happen
  const int settled = new_runs.load() + old_runs.load();
  std::this_thread::sleep_for(300ms);
  CHECK(new_runs.load() + old_runs.load() == settled);
}

TEST_CASE("a long task blocks other keys only when it holds the last worker", "[scheduler]") {
  std::atomic<bool> long_started{false};
  std::atomic<int> quick{0};
  auto long_task = [&](std::chrono::milliseconds) {
    long_started = true;
    std::this_thread::sleep_for(1000ms);
  };
  SECTION("two workers: the other key keeps its cadence") {
    PollScheduler scheduler(SchedulerOptions{2});
    scheduler.schedule("ns/long", 1h, long_task, FirstRun::Now);
    REQUIRE(eventually([&] { return long_started.load(); }));
    scheduler.schedule("ns/quick", 50ms, [&](std::chrono::milliseconds) { ++quick; });
    std::this_thread::sleep_for(700ms);
    CHECK(scheduler.stats().running == 1);  // still the long one
    CHECK(quick.load() >= 5);               // ~14 slots in 700 ms
  }
  SECTION("one worker: the bound holds, the other key waits, and its missed slots run once") {
    PollScheduler scheduler(SchedulerOptions{1});
    scheduler.schedule("ns/long", 1h, long_task, FirstRun::Now);
    REQUIRE(eventually([&] { return long_started.load(); }));
    scheduler.schedule("ns/quick", 50ms, [&](std::chrono::milliseconds) { ++quick; });
    std::this_thread::sleep_for(500ms);
    CHECK(quick.load() == 0);
    CHECK(scheduler.stats().waiting == 1);
    REQUIRE(eventually([&] { return quick.load() >= 1; }));
    // ~10 slots passed while the worker was held: one run for all of them, not a burst of ten
    // (at most one regular slot may follow within 30 ms).
    std::this_thread::sleep_for(30ms);
    CHECK(quick.load() <= 2);
  }
}

TEST_CASE("stop() waits for running tasks and nothing runs afterwards", "[scheduler]") {
  std::atomic<int> started{0}, finished{0}, runs_after_stop{0};
  std::atomic<bool> stopped{false};
  {
    PollScheduler scheduler(SchedulerOptions{3});
    for (int i = 0; i < 3; ++i)
      scheduler.schedule(
          key_of(i), 10ms,
          [&](std::chrono::milliseconds) {
            if (stopped) ++runs_after_stop;
            ++started;
            std::this_thread::sleep_for(300ms);
            ++finished;
          },
          FirstRun::Now);
    REQUIRE(eventually([&] { return started.load() == 3; }));
    scheduler.stop();
    stopped = true;
    CHECK(finished.load() == started.load());
    scheduler.schedule("ns/late", 10ms, [&](std::chrono::milliseconds) { ++runs_after_stop; },
                       FirstRun::Now);  // ignored after stop()
    scheduler.run_now(key_of(0));
    std::this_thread::sleep_for(100ms);
    scheduler.stop();  // idempotent; the destructor stops again
  }
  CHECK(runs_after_stop.load() == 0);
}

TEST_CASE("lag is reported: >= 0, and grows when workers are busy", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{1});
  std::mutex m;
  std::vector<long> lags;
  std::atomic<bool> long_started{false};
  scheduler.schedule(
      "ns/blocker", 1h,
      [&](std::chrono::milliseconds) {
        long_started = true;
        std::this_thread::sleep_for(500ms);
      },
      FirstRun::Now);
  REQUIRE(eventually([&] { return long_started.load(); }));
  scheduler.schedule("ns/lagging", 100ms, [&](std::chrono::milliseconds lag) {
    std::lock_guard lock(m);
    lags.push_back(static_cast<long>(lag.count()));
  });
  REQUIRE(eventually([&] {
    std::lock_guard lock(m);
    return lags.size() >= 4;
  }));
  scheduler.stop();
  std::lock_guard lock(m);
  for (long l : lags) CHECK(l >= 0);
  // The first slot of "ns/lagging" came due while the only worker was blocked (it was
  // scheduled at least ~400 ms before the blocker ended, its slots are 100 ms apart).
  CHECK(lags.front() >= 50);
}

TEST_CASE("bad arguments are rejected with a clear error", "[scheduler]") {
  CHECK_THROWS_AS(PollScheduler(SchedulerOptions{0}), std::invalid_argument);
  PollScheduler scheduler;
  CHECK_THROWS_WITH(scheduler.schedule("ns/x", 0ms, [](std::chrono::milliseconds) {}),
                    Catch::Contains("ns/x") && Catch::Contains("positive"));
  CHECK_THROWS_AS(scheduler.schedule("ns/x", 10ms, PollScheduler::Task{}), std::invalid_argument);
  CHECK(scheduler.stats().scheduled == 0);
}

TEST_CASE("a task that throws keeps its slot", "[scheduler]") {
  PollScheduler scheduler(SchedulerOptions{1});
  std::atomic<int> runs{0};
  scheduler.schedule("ns/throws", 20ms, [&](std::chrono::milliseconds) {
    ++runs;
    throw std::runtime_error("poll failed");
  });
  REQUIRE(eventually([&] { return runs.load() >= 3; }));
}
