// runtime::Controller with a fake reconciler: no reconcile before the named caches sync, per-key
// backoff on errors and exceptions, requeue_after, bounded workers with no key on two of them,
// stop(), and the controller-runtime metrics with their initial series.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ebb/runtime/controller.h"

using namespace ebb::runtime;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Records every call; `answer` decides each result (default: success).
class FakeReconciler : public Reconciler {
 public:
  std::function<ReconcileResult(const std::string& key, int attempt)> answer;

  ReconcileResult reconcile(const std::string& key) override {
    int attempt = 0;
    {
      std::lock_guard lock(mutex_);
      calls_[key].push_back(Clock::now());
      attempt = static_cast<int>(calls_[key].size());
    }
    return answer ? answer(key, attempt) : ReconcileResult{};
  }
  std::vector<Clock::time_point> calls(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(key);
    return it == calls_.end() ? std::vector<Clock::time_point>{} : it->second;
  }
  std::size_t total() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [key, times] : calls_) n += times.size();
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Clock::time_point>> calls_;
};

MetricsOptions test_metrics() {
  return {"test-process", "1.2.3", "abc", "build_info", nullptr};
}

ControllerOptions fast(std::string name) {
  ControllerOptions o;
  o.name = std::move(name);
  o.workers = 2;
  o.queue = {.base_delay = 20ms, .max_delay = 1000ms, .qps = 1000, .burst = 1000};
  o.sync_poll = 5ms;
  return o;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// The sample of `series` (exactly as rendered, labels sorted) in the text format, if any.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

}  // namespace

TEST_CASE("controller: the metrics exist from the start at 0 with controller-runtime's names") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  Controller controller(fast("widget"), reconciler, metrics);
  const auto text = metrics.render();
  for (const char* result : {"success", "error", "requeue_after"}) {
    INFO(result);
    CHECK(sample(text,
                 std::string("controller_runtime_reconcile_total{controller=\"widget\",result=\"") +
                     result + "\"}") == 0);
  }
  CHECK(sample(text, "controller_runtime_reconcile_errors_total{controller=\"widget\"}") == 0);
  CHECK(sample(text, "controller_runtime_reconcile_time_seconds_count{controller=\"widget\"}") ==
        0);
  CHECK(text.find("# TYPE controller_runtime_reconcile_time_seconds histogram") !=
        std::string::npos);
  CHECK(sample(text, "controller_runtime_active_workers{controller=\"widget\"}") == 0);
  CHECK(sample(text, "workqueue_adds_total{name=\"widget\"}") == 0);
  CHECK(sample(text, "workqueue_retries_total{name=\"widget\"}") == 0);
  CHECK(sample(text, "workqueue_depth{name=\"widget\"}") == 0);
  controller.enqueue("ns/a");
  controller.enqueue("ns/a");  // deduplicated, but counted as an add
  controller.enqueue("ns/b");
  const auto queued = metrics.render();
  CHECK(sample(queued, "workqueue_adds_total{name=\"widget\"}") == 3);
  CHECK(sample(queued, "workqueue_depth{name=\"widget\"}") == 2);
}

TEST_CASE("controller: no reconcile before every named cache has synced") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  std::atomic<bool> first{false}, second{false};
  auto options = fast("widget");
  options.caches = {{"first", [&] { return first.load(); }},
                    {"second", [&] { return second.load(); }}};
  Controller controller(options, reconciler, metrics);
  controller.enqueue("ns/a");
  controller.start();
  CHECK(controller.started());
  first = true;
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(controller.caches_synced());
  CHECK(reconciler.total() == 0);
  second = true;
  CHECK(eventually([&] { return reconciler.total() == 1; }));
  CHECK(controller.caches_synced());
}

TEST_CASE("controller: an error retries with growing per-key backoff and a success forgets it") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  reconciler.answer = [](const std::string&, int attempt) {
    return attempt <= 2 ? ReconcileResult{.error = "API down"} : ReconcileResult{};
  };
  std::mutex mutex;
  std::vector<std::string> errors;
  auto options = fast("widget");
  options.on_result = [&](const std::string& key, const ReconcileResult& result) {
    std::lock_guard lock(mutex);
    errors.push_back(key + ":" + result.error);
  };
  Controller controller(options, reconciler, metrics);
  controller.start();
  controller.enqueue("ns/a");
  REQUIRE(eventually([&] { return reconciler.calls("ns/a").size() == 3; }));
  const auto calls = reconciler.calls("ns/a");
  // base 20 ms, doubling per failure: 20 ms, then 40 ms.
  CHECK(calls[1] - calls[0] >= 18ms);
  CHECK(calls[2] - calls[1] >= 38ms);
  std::this_thread::sleep_for(200ms);
  CHECK(reconciler.calls("ns/a").size() == 3);  // forgotten after the success: no more retries
  const auto text = metrics.render();
  CHECK(sample(text,
               "controller_runtime_reconcile_total{controller=\"widget\",result=\"error\"}") == 2);
  CHECK(sample(text,
               "controller_runtime_reconcile_total{controller=\"widget\",result=\"success\"}") ==
        1);
  CHECK(sample(text, "controller_runtime_reconcile_errors_total{controller=\"widget\"}") == 2);
  CHECK(sample(text, "workqueue_retries_total{name=\"widget\"}") == 2);
  CHECK(sample(text, "controller_runtime_reconcile_time_seconds_count{controller=\"widget\"}") ==
        3);
  std::lock_guard lock(mutex);
  CHECK(errors == std::vector<std::string>{"ns/a:API down", "ns/a:API down", "ns/a:"});
}

TEST_CASE("controller: an exception is a failed pass, retried, and the worker lives on") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  reconciler.answer = [](const std::string&, int attempt) -> ReconcileResult {
    if (attempt == 1) throw std::runtime_error("boom");
    return {};
  };
  std::mutex mutex;
  std::vector<std::string> results;
  auto options = fast("widget");
  options.workers = 1;
  options.on_result = [&](const std::string&, const ReconcileResult& result) {
    std::lock_guard lock(mutex);
    results.push_back(result.error);
  };
  Controller controller(options, reconciler, metrics);
  controller.start();
  controller.enqueue("ns/a");
  REQUIRE(eventually([&] { return reconciler.calls("ns/a").size() == 2; }));
  controller.enqueue("ns/b");
  CHECK(eventually([&] { return reconciler.calls("ns/b").size() == 1; }));
  std::lock_guard lock(mutex);
  REQUIRE(results.size() >= 2);
  CHECK(results[0] == "reconcile failed unexpectedly: boom");
  CHECK(results[1].empty());
}

TEST_CASE(
    "controller: requeue_after runs the key again after that long, counted as requeue_after") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  reconciler.answer = [](const std::string&, int attempt) {
    ReconcileResult result;
    if (attempt == 1) result.requeue_after = 150ms;
    return result;
  };
  Controller controller(fast("widget"), reconciler, metrics);
  controller.start();
  controller.enqueue("ns/a");
  REQUIRE(eventually([&] { return reconciler.calls("ns/a").size() == 2; }));
  const auto calls = reconciler.calls("ns/a");
  CHECK(calls[1] - calls[0] >= 140ms);
  const auto text = metrics.render();
  CHECK(sample(
            text,
            "controller_runtime_reconcile_total{controller=\"widget\",result=\"requeue_after\"}") ==
        1);
  CHECK(sample(text,
               "controller_runtime_reconcile_total{controller=\"widget\",result=\"success\"}") ==
        1);
  CHECK(sample(text, "workqueue_retries_total{name=\"widget\"}") == 0);
}

TEST_CASE("controller: bounded workers, no key on two workers at once, every key reconciled") {
  Metrics metrics(test_metrics());
  std::mutex mutex;
  std::set<std::string> in_flight;
  std::atomic<int> concurrent{0}, max_concurrent{0}, overlaps{0};
  std::map<std::string, int> attempts;
  class Slow : public Reconciler {
   public:
    std::function<ReconcileResult(const std::string&)> fn;
    ReconcileResult reconcile(const std::string& key) override { return fn(key); }
  } reconciler;
  reconciler.fn = [&](const std::string& key) {
    {
      std::lock_guard lock(mutex);
      if (!in_flight.insert(key).second) ++overlaps;
      ++attempts[key];
    }
    const int now = ++concurrent;
    int seen = max_concurrent;
    while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);
    --concurrent;
    bool fail = false;
    {
      std::lock_guard lock(mutex);
      in_flight.erase(key);
      fail = key == "k0" && attempts[key] < 3;  // k0 fails twice, then succeeds
    }
    return fail ? ReconcileResult{.error = "not yet"} : ReconcileResult{};
  };
  auto options = fast("widget");
  options.workers = 3;
  options.queue = {.base_delay = 1ms, .max_delay = 10ms, .qps = 1000, .burst = 1000};
  Controller controller(options, reconciler, metrics);
  for (int i = 0; i < 20; ++i) controller.enqueue("k" + std::to_string(i));
  controller.start();
  for (int round = 0; round < 50; ++round) {
    controller.enqueue("k" + std::to_string(round % 20));
    std::this_thread::sleep_for(1ms);
  }
  CHECK(eventually([&] { return controller.depth() == 0 && concurrent == 0; }));
  std::this_thread::sleep_for(100ms);
  controller.stop();
  CHECK(overlaps == 0);
  CHECK(max_concurrent <= 3);
  CHECK(max_concurrent >= 2);
  std::lock_guard lock(mutex);
  CHECK(attempts["k0"] >= 3);
  for (int i = 0; i < 20; ++i) CHECK(attempts["k" + std::to_string(i)] >= 1);
}

TEST_CASE("controller: stop lets the running pass finish, then nothing more runs or starts") {
  Metrics metrics(test_metrics());
  FakeReconciler reconciler;
  std::atomic<bool> in_pass{false}, finished{false};
  reconciler.answer = [&](const std::string&, int) {
    in_pass = true;
    std::this_thread::sleep_for(200ms);
    finished = true;
    return ReconcileResult{};
  };
  auto options = fast("widget");
  options.workers = 1;
  Controller controller(options, reconciler, metrics);
  controller.start();
  controller.enqueue("ns/a");
  REQUIRE(eventually([&] { return in_pass.load(); }));
  controller.enqueue("ns/b");
  controller.stop();
  CHECK(finished);  // stop() waited for it
  controller.enqueue("ns/c");
  controller.start();
  std::this_thread::sleep_for(50ms);
  CHECK(reconciler.total() == 1);
}
