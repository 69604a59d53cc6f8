// StatusWriter (status_writer.h): per-object pending updates, a FIFO of objects ready to write,
// a time-ordered set of objects backing off, and a fixed pool of writer threads.
//
// Each object has one Entry while anything is pending or in flight for it:
//   pending   - the batch to write next (merged from every submit since the last take).
//   queued    - the object sits in `ready` (the item carrying `seq`).
//   delayed   - it sits in `backoff` until `not_before` (the item carrying `seq`).
//   in_flight - a writer thread is writing a batch of it now; a new `pending` waits for it.
// Items in `ready` and `backoff` are not removed when an entry changes (lazy deletion): an item
// counts only while the entry still exists and carries its `seq`.
#include "ebb/adapter/status_writer.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

#include "ebb/process/log.h"

namespace ebb::adapter {

namespace {

using SteadyClock = std::chrono::steady_clock;

const process::Logger& log() {
  static const process::Logger logger("adapter.status");
  return logger;
}

std::string key_of(const api::ScaledObject& so) {
  return so.metadata.namespace_ + "/" + so.metadata.name;
}

}  // namespace

StatusUpdate merge_status_updates(StatusUpdate older, StatusUpdate newer) {
  if (newer.active) older.active = std::move(newer.active);
  if (newer.fallback) older.fallback = std::move(newer.fallback);
  if (newer.last_active) older.last_active = newer.last_active;
  if (newer.health) older.health = std::move(newer.health);
  if (newer.triggers_activity) older.triggers_activity = std::move(newer.triggers_activity);
  return older;
}

struct StatusWriter::Impl {
  struct Batch {
    api::ScaledObject so;
    StatusUpdate update;
    std::vector<Event> events;
  };
  struct Entry {
    std::optional<Batch> pending;
    bool queued = false;
    bool delayed = false;
    bool in_flight = false;
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;  // bumped by cancel(): a write in flight is then not retried
    int failures = 0;
  };

  Impl(Actuator& a, StatusWriterOptions o) : actuator(a), options(std::move(o)) {}

  Actuator& actuator;
  const StatusWriterOptions options;

  mutable std::mutex mutex;
  std::condition_variable work_cv;  // ready grew, backoff changed, or stopping
  std::condition_variable idle_cv;  // an entry went away
  std::unordered_map<std::string, Entry> entries;
  std::deque<std::pair<std::string, std::uint64_t>> ready;
  std::multimap<SteadyClock::time_point, std::pair<std::string, std::uint64_t>> backoff;
  std::uint64_t next_seq = 0;
  std::size_t in_flight = 0;
  StatusWriterStats counts;
  std::mt19937_64 rng{std::random_device{}()};
  bool overflow_logged = false;
  bool stopping = false;
  bool stopped = false;
  std::vector<std::thread> threads;

  // Caller holds the mutex.
  void enqueue(const std::string& key, Entry& e) {
    e.queued = true;
    e.delayed = false;
    e.seq = ++next_seq;
    ready.emplace_back(key, e.seq);
    work_cv.notify_one();
  }

  void add_events(const std::string& key, std::vector<Event>& into, std::vector<Event>&& events) {
    for (auto& event : events) into.push_back(std::move(event));
    if (into.size() <= options.max_events) return;
    const std::size_t drop = into.size() - options.max_events;
    into.erase(into.begin(), into.begin() + static_cast<std::ptrdiff_t>(drop));
    counts.dropped_events += drop;
    log().warn("events dropped: too many waiting for one object",
               {{"object", key}, {"dropped", static_cast<std::int64_t>(drop)}});
  }

  bool stopping_now() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  // Caller holds the mutex; the entry leaves the map when nothing is left to do for it.
  void settle(std::unordered_map<std::string, Entry>::iterator it) {
    Entry& e = it->second;
    if (e.in_flight || e.queued || e.delayed) return;
    if (e.pending) {
      enqueue(it->first, e);
      return;
    }
    entries.erase(it);
    if (entries.empty() && in_flight == 0) idle_cv.notify_all();
  }

  void submit(const api::ScaledObject& so, StatusUpdate update, std::vector<Event> events) {
    if (update.empty() && events.empty()) return;
    const std::string key = key_of(so);
    std::lock_guard lock(mutex);
    if (stopping) return;
    auto it = entries.find(key);
    if (it == entries.end()) {
      // Nothing pending or in flight: an update the object's status already holds is no write.
      if (events.empty() && status_update_fields(*api::adapter_status_of(so), update,
                                                 so.metadata.generation.value_or(0))
                                .empty())
        return;
      if (entries.size() >= options.max_objects) {
        ++counts.dropped;
        if (!overflow_logged)
          log().warn(
              "status writes dropped: too many objects waiting",
              {{"object", key}, {"maxObjects", static_cast<std::int64_t>(options.max_objects)}});
        overflow_logged = true;
        return;
      }
      overflow_logged = false;
      it = entries.emplace(key, Entry{}).first;
    }
    Entry& e = it->second;
    if (e.pending) {
      ++counts.coalesced;
      e.pending->so = so;
      e.pending->update = merge_status_updates(std::move(e.pending->update), std::move(update));
      add_events(key, e.pending->events, std::move(events));
    } else {
      e.pending = Batch{so, std::move(update), {}};
      add_events(key, e.pending->events, std::move(events));
    }
    settle(it);
  }

  void cancel(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = entries.find(key);
    if (it == entries.end()) return;
    Entry& e = it->second;
    ++e.epoch;
    if (e.pending) ++counts.dropped;
    e.pending.reset();
    e.queued = e.delayed = false;  // their items go stale
    settle(it);
  }

  // Moves backed-off objects whose time has come to `ready`. Caller holds the mutex.
  void release_due(SteadyClock::time_point now) {
    while (!backoff.empty() && backoff.begin()->first <= now) {
      auto [key, seq] = backoff.begin()->second;
      backoff.erase(backoff.begin());
      auto it = entries.find(key);
      if (it == entries.end() || !it->second.delayed || it->second.seq != seq) continue;
      it->second.delayed = false;
      settle(it);
    }
  }

  void write_loop() {
    std::unique_lock lock(mutex);
    for (;;) {
      if (stopping) return;
      release_due(SteadyClock::now());
      if (ready.empty()) {
        if (backoff.empty()) {
          work_cv.wait(lock);
        } else {
          const auto until = backoff.begin()->first;  // a copy: another writer may erase the item
          work_cv.wait_until(lock, until);
        }
        continue;
      }
      auto [key, seq] = std::move(ready.front());
      ready.pop_front();
      auto it = entries.find(key);
      if (it == entries.end() || !it->second.queued || it->second.seq != seq) continue;
      Entry& e = it->second;
      e.queued = false;
      e.in_flight = true;
      ++in_flight;
      Batch batch = std::move(*e.pending);
      e.pending.reset();
      const std::uint64_t epoch = e.epoch;
      lock.unlock();

      std::optional<Error> failure;
      try {
        if (!batch.update.empty()) {
          auto written = actuator.update_status(batch.so, batch.update);
          if (!written) failure = written.error();
        }
      } catch (const std::exception&) {
        // A throw is deterministic (the same status throws again): no retry. The exception's
        // text may quote the object's content, so only the key is logged.
        failure = Error{"status write failed: unexpected exception", false};
        log().error("status write failed with an exception; not retried", {{"object", key}});
      }
      for (const auto& event : batch.events) {
        if (stopping_now()) break;  // shutdown waits for no more requests than the status write
        try {
          actuator.record(batch.so, event);  // failures are the recorder's to log
        } catch (const std::exception&) {
        }
      }

      lock.lock();
      --in_flight;
      it = entries.find(key);  // still there: an in-flight entry is never erased
      Entry& done = it->second;
      done.in_flight = false;
      if (!failure) {
        ++counts.written;
        done.failures = 0;
      } else if (failure->transient && !stopping && done.epoch == epoch) {
        // Filed again under anything newer: the newest state wins, the failed one fills the rest.
        ++counts.retried;
        if (done.pending) {
          done.pending->update =
              merge_status_updates(std::move(batch.update), std::move(done.pending->update));
        } else {
          batch.events.clear();
          done.pending = std::move(batch);
        }
        const auto at = SteadyClock::now() + options.retry.delay(done.failures++, rng);
        done.delayed = true;
        done.seq = ++next_seq;
        backoff.emplace(at, std::make_pair(key, done.seq));
        work_cv.notify_all();  // a sleeping writer may need to wake earlier
      } else {
        ++counts.dropped;
      }
      settle(it);
      if (entries.empty() && in_flight == 0) idle_cv.notify_all();
    }
  }
};

StatusWriter::StatusWriter(Actuator& actuator, StatusWriterOptions options)
    : impl_(std::make_unique<Impl>(actuator, std::move(options))) {
  if (impl_->options.threads == 0)
    throw std::invalid_argument("StatusWriter: threads must be at least 1");
  if (impl_->options.max_objects == 0)
    throw std::invalid_argument("StatusWriter: max_objects must be at least 1");
  impl_->threads.reserve(impl_->options.threads);
  for (std::size_t i = 0; i < impl_->options.threads; ++i)
    impl_->threads.emplace_back([this] { impl_->write_loop(); });
}

StatusWriter::~StatusWriter() {
  stop();
}

void StatusWriter::submit(const api::ScaledObject& so, StatusUpdate update,
                          std::vector<Event> events) {
  impl_->submit(so, std::move(update), std::move(events));
}

void StatusWriter::cancel(const std::string& key) {
  impl_->cancel(key);
}

void StatusWriter::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) return;
    impl_->stopping = true;
    impl_->stopped = true;
  }
  impl_->work_cv.notify_all();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  std::lock_guard lock(impl_->mutex);
  impl_->entries.clear();
  impl_->ready.clear();
  impl_->backoff.clear();
  impl_->idle_cv.notify_all();
}

bool StatusWriter::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->idle_cv.wait_for(lock, timeout,
                                 [&] { return impl_->entries.empty() && impl_->in_flight == 0; });
}

StatusWriterStats StatusWriter::stats() const {
  std::lock_guard lock(impl_->mutex);
  StatusWriterStats s = impl_->counts;
  s.in_flight = impl_->in_flight;
  for (const auto& [key, e] : impl_->entries)
    if (e.pending) ++s.pending;
  return s;
}

}  // namespace ebb::adapter
