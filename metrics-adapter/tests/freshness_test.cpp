// The metric cache's freshness rule: which HPA reads are answered from cache and which refresh.
#include "ebb/adapter/freshness.h"

#include <catch2/catch.hpp>

using namespace ebb::adapter;
using namespace std::chrono_literals;
using TP = std::chrono::system_clock::time_point;

namespace {
const TP t0 = TP{} + 1000000s;
}

TEST_CASE("freshness: max age per useCachedMetrics", "[freshness]") {
  CHECK(max_age({30s, true, 15s}) == 30s);
  CHECK(max_age({30s, false, 15s}) == 15s);
  CHECK(max_age({10s, false, 15s}) == 10s);  // polls more often than the HPA reads
  CHECK(max_age({10s, true, 15s}) == 10s);
  CHECK(max_age({120s, true, 15s}) == 120s);
  CHECK(max_age({120s, false, 30s}) == 30s);  // a longer --horizontal-pod-autoscaler-sync-period
  CHECK(max_age({0s, false, 15s}) == 1s);     // never "always stale"
}

TEST_CASE("freshness: no value yet refreshes", "[freshness]") {
  CHECK(on_hpa_read(std::nullopt, t0, {30s, true, 15s}) == ReadAction::Refresh);
  CHECK(on_hpa_read(std::nullopt, t0, {30s, false, 15s}) == ReadAction::Refresh);
}

TEST_CASE("freshness: boundary is inclusive of max age", "[freshness]") {
  struct Row {
    std::chrono::milliseconds age;
    bool cached;
    ReadAction expected;
  };
  const std::vector<Row> rows = {
      {0ms, false, ReadAction::Serve},       {14999ms, false, ReadAction::Serve},
      {15000ms, false, ReadAction::Serve},   {15001ms, false, ReadAction::Refresh},
      {29000ms, false, ReadAction::Refresh}, {15001ms, true, ReadAction::Serve},
      {30000ms, true, ReadAction::Serve},    {30001ms, true, ReadAction::Refresh},
      {-5000ms, false, ReadAction::Serve},  // produced "in the future": clock stepped back
  };
  for (const auto& r : rows) {
    INFO("age " << r.age.count() << "ms cached " << r.cached);
    CHECK(on_hpa_read(t0 - r.age, t0, {30s, r.cached, 15s}) == r.expected);
  }
}

TEST_CASE("freshness: the HPA's 15 s reads against a 30 s poll", "[freshness]") {
  // Poll at 0, 30, 60 s; HPA reads every 15 s starting at 7 s. With useCachedMetrics every
  // read is served from the poll's value; without it, reads that find a value older than 15 s
  // refresh (and the refreshed value then serves the next read if it is fresh enough).
  for (bool cached : {true, false}) {
    TP produced = t0;
    int refreshes = 0;
    for (int read = 7; read < 120; read += 15) {
      const TP now = t0 + std::chrono::seconds(read);
      const TP last_poll = t0 + std::chrono::seconds(read / 30 * 30);
      if (last_poll > produced) produced = last_poll;
      if (on_hpa_read(produced, now, {30s, cached, 15s}) == ReadAction::Refresh) {
        ++refreshes;
        produced = now;
      }
      CHECK(now - produced <= (cached ? 30s : 15s));
    }
    CHECK(refreshes == (cached ? 0 : 4));
  }
}
