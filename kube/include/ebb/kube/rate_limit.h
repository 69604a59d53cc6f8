// Client-side flow control: a token bucket for request rate, and exponential backoff with
// jitter for retries. Both take time as a parameter so they are tested without sleeping.
#pragma once

#include <chrono>
#include <mutex>
#include <random>

namespace ebb::kube {

using Clock = std::chrono::steady_clock;

// `qps` tokens per second refill a bucket of `burst` tokens; a request takes one. reserve()
// books the next token and returns how long the caller must wait for it, so concurrent callers
// are served in order and the long-run rate never exceeds qps. qps <= 0 disables the limit.
class TokenBucket {
 public:
  TokenBucket(double qps, int burst, Clock::time_point now = Clock::now());
  std::chrono::nanoseconds reserve(Clock::time_point now);
  // Gives back a reservation that will not be used (the caller's deadline is too close).
  void cancel(Clock::time_point now);
  // Blocks until a token is available; false (nothing consumed) when that is after `deadline`.
  bool wait(Clock::time_point deadline);
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  std::mutex mutex_;
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point last_;
};

// delay(n) for the n-th retry (0-based): base * factor^n, capped at `cap`, then jittered into
// [d * (1 - jitter), d] so clients that failed together do not retry together.
struct Backoff {
  std::chrono::milliseconds base{200};
  double factor = 2.0;
  std::chrono::milliseconds cap{10'000};
  double jitter = 0.5;  // fraction of the delay that is randomised, 0..1

  std::chrono::milliseconds delay(int attempt, std::mt19937_64& rng) const;
  std::chrono::milliseconds max_delay(int attempt) const;  // before jitter
};

}  // namespace ebb::kube
