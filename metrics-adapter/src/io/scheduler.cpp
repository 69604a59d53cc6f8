// The poll scheduler: one dispatcher thread turns due times into "run wanted" marks, a fixed
// pool of workers runs them in planned-time order.
//
// Each key has one Entry. Its state is three flags under the scheduler's mutex:
//   want    - one run is wanted (from a due slot or run_now); never more than one.
//   running - a worker is inside the task now.
//   removed - unscheduled; the Entry leaves the map when its last run ends.
// A wanted run of an idle entry sits in the ready queue; a wanted run of a running entry is
// put there by the worker when the current run ends. That one flag gives both rules of the
// header: no two runs of a key at once, and at most one run pending behind a running one.
//
// Heap and ready queue hold stale items after re-schedules and unschedules (lazy deletion):
// every item carries the entry's generation or sequence number and is dropped when it no
// longer matches, so schedule()/unschedule() never search the containers.
//
// unschedule(key, wait=true) called from inside that key's own task cannot wait for the run
// that is calling it (it would wait for itself): it returns at once, the calling run finishes
// normally, and the task is never called again. Called from another key's task it waits like
// any caller; two tasks that unschedule each other with wait=true deadlock, as two threads
// joining each other would. stop() from inside a task throws std::logic_error (a worker cannot
// join itself). A task that throws is caught and ignored: the scheduler keeps running it.
#include "ebb/adapter/scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ebb::adapter {

std::chrono::milliseconds stable_phase(std::string_view key, std::chrono::milliseconds interval) {
  if (interval.count() <= 0) return std::chrono::milliseconds{0};
  std::uint64_t hash = 14695981039346656037ull;  // 64-bit FNV-1a
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return std::chrono::milliseconds{
      static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(interval.count()))};
}

namespace {
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
}  // namespace

struct PollScheduler::Impl {
  struct Entry {
    std::string key;
    std::chrono::milliseconds interval{0};
    std::chrono::milliseconds phase{0};
    std::shared_ptr<const Task> task;
    std::uint64_t generation = 0;  // bumped by schedule(): older heap items are stale
    std::uint64_t ready_seq = 0;   // the ready item that is current
    bool want = false;
    bool want_zero_lag = false;  // run_now / FirstRun::Now
    TimePoint want_planned{};
    bool running = false;
    std::thread::id runner;
    bool removed = false;
  };
  struct Due {
    TimePoint at;
    std::uint64_t generation;
    std::shared_ptr<Entry> entry;
    bool operator>(const Due& o) const { return at > o.at; }
  };
  struct Ready {
    TimePoint planned;
    std::uint64_t seq;
    std::shared_ptr<Entry> entry;
    bool operator>(const Ready& o) const {
      return planned != o.planned ? planned > o.planned : seq > o.seq;
    }
  };

  explicit Impl(SchedulerOptions o) : options(o), epoch(Clock::now()) {}

  SchedulerOptions options;
  const TimePoint epoch;

  mutable std::mutex mutex;
  std::condition_variable dispatch_cv;  // heap changed or stopping
  std::condition_variable work_cv;      // ready queue grew or stopping
  std::condition_variable done_cv;      // a run ended
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> heap;
  std::priority_queue<Ready, std::vector<Ready>, std::greater<>> ready;
  std::uint64_t next_seq = 0;
  std::uint64_t runs = 0;
  bool stopping = false;
  bool stopped = false;

  std::thread dispatcher;
  std::vector<std::thread> workers;

  // First slot epoch + phase + k·interval that is >= t (strictly > t when `after`).
  TimePoint slot_at_or_after(const Entry& e, TimePoint t, bool after) const {
    const TimePoint base = epoch + e.phase;
    if (t < base) return base;
    const auto iv = std::chrono::duration_cast<Clock::duration>(e.interval);
    const auto since = t - base;
    auto k = since / iv;
    if (after || base + k * iv < t) ++k;
    return base + k * iv;
  }

  // Caller holds the mutex.
  void want_run(const std::shared_ptr<Entry>& e, TimePoint planned, bool zero_lag) {
    if (e->removed || e->want) return;  // one pending run at most
    e->want = true;
    e->want_planned = planned;
    e->want_zero_lag = zero_lag;
    if (!e->running) enqueue(e);
  }

  void enqueue(const std::shared_ptr<Entry>& e) {
    e->ready_seq = ++next_seq;
    ready.push(Ready{e->want_planned, e->ready_seq, e});
    work_cv.notify_one();
  }

  void push_due(const std::shared_ptr<Entry>& e, TimePoint at) {
    const bool new_top = heap.empty() || at < heap.top().at;
    heap.push(Due{at, e->generation, e});
    if (new_top) dispatch_cv.notify_one();
  }

  void dispatch_loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (heap.empty()) {
        dispatch_cv.wait(lock);
        continue;
      }
      const TimePoint top = heap.top().at;
      if (Clock::now() < top) {
        dispatch_cv.wait_until(lock, top);
        continue;
      }
      const TimePoint now = Clock::now();
      while (!heap.empty() && heap.top().at <= now) {
        Due due = heap.top();
        heap.pop();
        Entry& e = *due.entry;
        if (e.removed || due.generation != e.generation) continue;
        want_run(due.entry, due.at, false);
        // A slot that passed while the key was busy or the process stalled is skipped: runs
        // are not queued up beyond one.
        TimePoint next = due.at + std::chrono::duration_cast<Clock::duration>(e.interval);
        if (next <= now) next = slot_at_or_after(e, now, true);
        heap.push(Due{next, e.generation, due.entry});
      }
    }
  }

  void worker_loop() {
    std::unique_lock lock(mutex);
    for (;;) {
      work_cv.wait(lock, [&] { return stopping || !ready.empty(); });
      if (stopping) return;
      Ready item = ready.top();
      ready.pop();
      const std::shared_ptr<Entry> e = item.entry;
      if (e->removed || !e->want || e->running || item.seq != e->ready_seq) continue;
      e->want = false;
      e->running = true;
      e->runner = std::this_thread::get_id();
      ++runs;
      const std::shared_ptr<const Task> task = e->task;
      const TimePoint start = Clock::now();
      std::chrono::milliseconds lag{0};
      if (!e->want_zero_lag && start > item.planned)
        lag = std::chrono::duration_cast<std::chrono::milliseconds>(start - item.planned);
      lock.unlock();
      try {
        (*task)(lag);
      } catch (...) {
        // A failing poll is the task's business; the scheduler keeps its slot.
      }
      lock.lock();
      e->running = false;
      e->runner = std::thread::id{};
      if (e->removed) {
        auto it = entries.find(e->key);
        if (it != entries.end() && it->second == e) entries.erase(it);
      } else if (e->want && !stopping) {
        enqueue(e);
      }
      done_cv.notify_all();
    }
  }

  bool on_worker_thread() const {
    const auto self = std::this_thread::get_id();
    return std::any_of(workers.begin(), workers.end(),
                       [&](const std::thread& t) { return t.get_id() == self; });
  }
};

PollScheduler::PollScheduler(SchedulerOptions options) : impl_(std::make_unique<Impl>(options)) {
  if (options.max_concurrent == 0)
    throw std::invalid_argument("PollScheduler: max_concurrent must be at least 1");
  impl_->workers.reserve(options.max_concurrent);
  for (std::size_t i = 0; i < options.max_concurrent; ++i)
    impl_->workers.emplace_back([this] { impl_->worker_loop(); });
  impl_->dispatcher = std::thread([this] { impl_->dispatch_loop(); });
}

PollScheduler::~PollScheduler() { stop(); }

void PollScheduler::schedule(const std::string& key, std::chrono::milliseconds interval, Task task,
                             FirstRun first) {
  if (interval.count() <= 0)
    throw std::invalid_argument("PollScheduler::schedule: interval of '" + key +
                                "' must be positive, got " + std::to_string(interval.count()) +
                                "ms");
  if (!task) throw std::invalid_argument("PollScheduler::schedule: empty task for '" + key + "'");
  auto shared_task = std::make_shared<const Task>(std::move(task));
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) return;  // stop() is final; a late schedule during shutdown is harmless
  auto& slot = impl_->entries[key];
  if (!slot) {
    slot = std::make_shared<Impl::Entry>();
    slot->key = key;
  }
  // An entry that was unscheduled while running is revived rather than replaced, so the new
  // task never overlaps the old one's last run.
  Impl::Entry& e = *slot;
  e.removed = false;
  e.task = std::move(shared_task);
  e.interval = interval;
  e.phase = stable_phase(key, interval);
  ++e.generation;
  const TimePoint now = Clock::now();
  if (first == FirstRun::Now) {
    e.want = false;  // a pending slot run becomes this immediate one
    impl_->want_run(slot, now, true);
    impl_->push_due(slot, impl_->slot_at_or_after(e, now, true));
  } else {
    impl_->push_due(slot, impl_->slot_at_or_after(e, now, false));
  }
}

void PollScheduler::run_now(const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) return;
  auto it = impl_->entries.find(key);
  if (it == impl_->entries.end() || it->second->removed) return;
  auto& e = it->second;
  if (e->want) {
    // Already one run waiting: make it count as immediate (jump the queue if idle).
    if (!e->want_zero_lag) {
      e->want_zero_lag = true;
      e->want_planned = Clock::now();
      if (!e->running) impl_->enqueue(e);  // the older ready item goes stale
    }
    return;
  }
  impl_->want_run(e, Clock::now(), true);
}

void PollScheduler::unschedule(const std::string& key, bool wait) {
  std::unique_lock lock(impl_->mutex);
  auto it = impl_->entries.find(key);
  if (it == impl_->entries.end() || it->second->removed) return;
  std::shared_ptr<Impl::Entry> e = it->second;
  e->removed = true;
  e->want = false;
  if (!e->running) {
    impl_->entries.erase(it);
    return;
  }
  if (!wait || e->runner == std::this_thread::get_id()) return;  // see the file comment
  impl_->done_cv.wait(lock, [&] { return !e->running; });
}

void PollScheduler::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    if (impl_->on_worker_thread())
      throw std::logic_error("PollScheduler::stop() called from inside a task");
    impl_->stopping = true;
    impl_->stopped = true;
  }
  impl_->dispatch_cv.notify_all();
  impl_->work_cv.notify_all();
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  for (auto& w : impl_->workers)
    if (w.joinable()) w.join();
  std::lock_guard lock(impl_->mutex);
  impl_->entries.clear();
  impl_->heap = {};
  impl_->ready = {};
}

SchedulerStats PollScheduler::stats() const {
  std::lock_guard lock(impl_->mutex);
  SchedulerStats s;
  for (const auto& [key, e] : impl_->entries) {
    if (e->removed) {
      if (e->running) ++s.running;
      continue;
    }
    ++s.scheduled;
    if (e->running) ++s.running;
    if (e->want && !e->running) ++s.waiting;
  }
  s.runs = impl_->runs;
  return s;
}

}  // namespace ebb::adapter
