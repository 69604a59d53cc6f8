// One scheduler for every ScaledObject (ARCHITECTURE.md decision 5): no thread per object.
//
// - Each key runs every `interval`, start to start. Its runs sit at a stable phase inside the
//   interval: run k is due at epoch + phase + k·interval, phase = stable_phase(key, interval),
//   epoch = the scheduler's start. Objects created together therefore spread evenly over the
//   interval instead of polling on the same tick, and keep their slot across re-schedules.
// - At most `max_concurrent` tasks run at once, on a fixed pool of worker threads; due tasks
//   wait in due-time order. A key never runs twice at once: a run that comes due while the
//   previous one is still going starts right after it ends (runs are not queued up beyond one).
// - The task is told how late it started (planned vs actual start): the scale-loop latency.
// - run_now(key) asks for an extra run as soon as a worker is free (e.g. a rebuilt object);
//   it does not move the phase.
// - unschedule(key) stops future runs; a run in progress finishes (not waited for unless
//   `wait` is true). stop() ends everything and joins the workers, waiting for running tasks.
// The scheduler never calls a task after unschedule() returned (with wait) or stop() returned.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ebb::adapter {

// fnv-1a(key) mod interval, in milliseconds; 0 for an interval of 0.
std::chrono::milliseconds stable_phase(std::string_view key, std::chrono::milliseconds interval);

struct SchedulerOptions {
  std::size_t max_concurrent = 16;  // worker threads
};

struct SchedulerStats {
  std::size_t scheduled = 0;  // keys
  std::size_t running = 0;    // tasks running now
  std::size_t waiting = 0;    // due, waiting for a worker
  std::uint64_t runs = 0;     // tasks started since start
};

class PollScheduler {
 public:
  // `lag`: actual start minus planned start (0 for run_now and first runs marked Now).
  using Task = std::function<void(std::chrono::milliseconds lag)>;
  enum class FirstRun { AtPhase, Now };

  explicit PollScheduler(SchedulerOptions options = {});
  ~PollScheduler();  // stop()
  PollScheduler(const PollScheduler&) = delete;
  PollScheduler& operator=(const PollScheduler&) = delete;

  // Adds or replaces the key's task and interval (the phase follows the new interval). With
  // FirstRun::Now the first run is as soon as a worker is free, then the phase slots follow.
  void schedule(const std::string& key, std::chrono::milliseconds interval, Task task,
                FirstRun first = FirstRun::AtPhase);
  void run_now(const std::string& key);  // no-op for an unknown key
  void unschedule(const std::string& key, bool wait = false);
  void stop();
  SchedulerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb::adapter
