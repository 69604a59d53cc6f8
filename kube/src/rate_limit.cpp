#include "ebb/kube/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace ebb::kube {

TokenBucket::TokenBucket(double qps, int burst, Clock::time_point now)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(std::max(burst, 1)), last_(now) {}

std::chrono::nanoseconds TokenBucket::reserve(Clock::time_point now) {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard lock(mutex_);
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  // Tokens may go negative: each negative token is a reservation in the queue, so waiters are
  // served in arrival order and none of them starves.
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<long long>(std::ceil(-tokens_ / qps_ * 1e9)));
}

void TokenBucket::cancel(Clock::time_point now) {
  if (qps_ <= 0) return;
  std::lock_guard lock(mutex_);
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ = std::min<double>(burst_, tokens_ + 1);
}

bool TokenBucket::wait(Clock::time_point deadline) {
  const auto now = Clock::now();
  const auto delay = reserve(now);
  if (delay.count() == 0) return true;
  if (now + delay > deadline) {
    cancel(Clock::now());
    return false;
  }
  std::this_thread::sleep_for(delay);
  return true;
}

std::chrono::milliseconds Backoff::max_delay(int attempt) const {
  double d = static_cast<double>(base.count()) * std::pow(factor, std::max(attempt, 0));
  d = std::min(d, static_cast<double>(cap.count()));
  return std::chrono::milliseconds(static_cast<long long>(d));
}

std::chrono::milliseconds Backoff::delay(int attempt, std::mt19937_64& rng) const {
  const auto d = max_delay(attempt);
  const double j = std::clamp(jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double scaled = static_cast<double>(d.count()) * (1.0 - j * unit(rng));
  return std::chrono::milliseconds(static_cast<long long>(scaled));
}

}  // namespace ebb::kube
