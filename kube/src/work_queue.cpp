#include "ebb/kube/work_queue.h"

#include <algorithm>
#include <cmath>

namespace ebb::kube {

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(options), bucket_(options.qps, options.burst), delay_thread_([this] { delay_loop(); }) {}

WorkQueue::~WorkQueue() {
  shut_down();
  if (delay_thread_.joinable()) delay_thread_.join();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (shutting_down_ || dirty_.count(key) != 0) return;
  dirty_.insert(key);
  if (processing_.count(key) != 0) return;  // queued again by done()
  queue_.push_back(key);
  ready_cv_.notify_one();
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    add(key);
    return;
  }
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  // Only the earliest pending time per key matters.
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->second == key) {
      if (it->first <= Clock::now() + delay) return;
      waiting_.erase(it);
      break;
    }
  }
  waiting_.emplace(Clock::now() + delay, key);
  delay_cv_.notify_one();
}

std::chrono::milliseconds WorkQueue::next_delay(const std::string& key) {
  int failures = 0;
  {
    std::lock_guard lock(mutex_);
    failures = failures_[key]++;
  }
  const double exp = static_cast<double>(options_.base_delay.count()) * std::pow(2.0, std::min(failures, 62));
  const auto per_key = std::chrono::milliseconds(
      static_cast<long long>(std::min(exp, static_cast<double>(options_.max_delay.count()))));
  const auto overall = std::chrono::ceil<std::chrono::milliseconds>(bucket_.reserve(Clock::now()));
  return std::max(per_key, overall);
}

void WorkQueue::add_rate_limited(const std::string& key) { add_after(key, next_delay(key)); }

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::requeues(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto found = failures_.find(key);
  return found == failures_.end() ? 0 : found->second;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  ready_cv_.wait(lock, [&] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  processing_.erase(key);
  if (dirty_.count(key) != 0) {
    queue_.push_back(key);
    ready_cv_.notify_one();
  }
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  ready_cv_.notify_all();
  delay_cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::size_t WorkQueue::length() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkQueue::delay_loop() {
  std::unique_lock lock(mutex_);
  while (!shutting_down_) {
    if (waiting_.empty()) {
      delay_cv_.wait(lock);
      continue;
    }
    const auto next = waiting_.begin()->first;
    if (Clock::now() < next) {
      delay_cv_.wait_until(lock, next);
      continue;
    }
    std::string key = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    lock.unlock();
    add(key);
    lock.lock();
  }
}

}  // namespace ebb::kube
