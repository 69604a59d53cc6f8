#include "desired_replicas.h"

#include <catch2/catch.hpp>

using ebb::cli::desired_replicas;
using ebb::cli::ReplicaBounds;
using ebb::cli::TriggerReading;
using ebb::scalers::MetricTargetType;

namespace {
TriggerReading avg(double value, double target, bool active = true) {
  return {MetricTargetType::AverageValue, target, value, active};
}
}  // namespace

TEST_CASE("desired replicas: AverageValue is ceil(value/target)") {
  CHECK(desired_replicas({avg(12, 5)}, {}) == 3);
  CHECK(desired_replicas({avg(10, 5)}, {}) == 2);
  CHECK(desired_replicas({avg(0.5, 5)}, {}) == 1);  // active: at least 1
}

TEST_CASE("desired replicas: Value scales current replicas") {
  TriggerReading v{MetricTargetType::Value, 10, 25.0, true};
  CHECK(desired_replicas({v}, {.current_replicas = 2}) == 5);
  CHECK(desired_replicas({v}, {.current_replicas = 1}) == 3);
}

TEST_CASE("desired replicas: largest over triggers, clamped to min and max") {
  CHECK(desired_replicas({avg(12, 5), avg(40, 5)}, {}) == 8);
  CHECK(desired_replicas({avg(1000, 1)}, {.max_replicas = 10}) == 10);
  CHECK(desired_replicas({avg(1, 5)}, {.min_replicas = 3}) == 3);
}

TEST_CASE("desired replicas: all inactive with minReplicaCount 0 goes to idle or zero") {
  CHECK(desired_replicas({avg(0, 5, false)}, {}) == 0);
  CHECK(desired_replicas({avg(0, 5, false)}, {.idle_replicas = 0}) == 0);
  CHECK(desired_replicas({avg(3, 5, false), avg(0, 5, false)}, {.idle_replicas = 1}) == 1);
  // minReplicaCount > 0 never scales to zero.
  CHECK(desired_replicas({avg(0, 5, false)}, {.min_replicas = 2}) == 2);
}

TEST_CASE("desired replicas: a failed trigger makes the answer unknown, never zero") {
  TriggerReading failed{MetricTargetType::AverageValue, 5, std::nullopt, false};
  CHECK_FALSE(desired_replicas({failed}, {}).has_value());
  CHECK_FALSE(desired_replicas({avg(12, 5), failed}, {}).has_value());
}
