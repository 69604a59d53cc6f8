#include "ebb/scalers/quantity.h"

#include <catch2/catch.hpp>
#include <limits>

#include "ebb/scalers/registry.h"

using namespace ebb::scalers;

TEST_CASE("quantity: metric values match KEDA's milli quantities byte for byte") {
  // keda-compat §5.4
  CHECK(milli_quantity(5) == "5");
  CHECK(milli_quantity(10) == "10");
  CHECK(milli_quantity(1000) == "1k");
  CHECK(milli_quantity(2500) == "2500");
  CHECK(milli_quantity(3000) == "3k");
  CHECK(milli_quantity(1.5) == "1.500");
  CHECK(milli_quantity(12345.678) == "12345.678");
  CHECK(milli_quantity(0.25) == "250m");
  CHECK(milli_quantity(0.0004) == "0");
  CHECK(milli_quantity(0.0005) == "1m");
  CHECK(milli_quantity(1e18) == "1E");
  CHECK(milli_quantity(0) == "0");
  CHECK(milli_quantity(-3) == "0");
  CHECK(milli_quantity(std::numeric_limits<double>::quiet_NaN()) == "0");
  CHECK(milli_quantity(std::numeric_limits<double>::infinity()) == "0");
  CHECK(milli_quantity(5.5) == "5.500");
  CHECK(milli_quantity(0.1) == "100m");
}

TEST_CASE("quantity: integer targets are canonical DecimalSI") {
  CHECK(int_quantity(5) == "5");
  CHECK(int_quantity(10) == "10");
  CHECK(int_quantity(1000) == "1k");
  CHECK(int_quantity(2500) == "2500");
  CHECK(int_quantity(1000000) == "1M");
  CHECK(int_quantity(0) == "0");
  CHECK(int_quantity(-3000) == "-3k");
  // Found by fuzz/quantity_fuzz.cpp: negating the smallest int64 overflowed.
  CHECK(int_quantity(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
}

TEST_CASE("quantity: round_to_int64 clamps what llround cannot represent") {
  CHECK(round_to_int64(2.5) == 3);
  CHECK(round_to_int64(-2.5) == -3);
  CHECK(round_to_int64(1e30) == std::numeric_limits<std::int64_t>::max());
  CHECK(round_to_int64(-1e30) == std::numeric_limits<std::int64_t>::min());
  CHECK(round_to_int64(9223372036854775807.0) ==
        std::numeric_limits<std::int64_t>::max());  // 2^63 as a double
  CHECK(round_to_int64(std::numeric_limits<double>::quiet_NaN()) == 0);
  // A huge integer target is the largest quantity, never a negative one.
  CHECK(int_quantity(round_to_int64(1e30)) == "9223372036854775807");
}

TEST_CASE("quantity: fallback values are NewMilliQuantity DecimalSI") {
  // keda-compat §5.4 and §4.8 (target 10 x 10 replicas -> 100)
  CHECK(milli_int_quantity(100000) == "100");
  CHECK(milli_int_quantity(12500) == "12500m");
  CHECK(milli_int_quantity(1000000) == "1k");
  CHECK(milli_int_quantity(0) == "0");
  CHECK(milli_int_quantity(-1500) == "-1500m");
  CHECK(milli_int_quantity(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808m");
}

TEST_CASE("quantity: the composite metric is SetMilli's exponent form") {
  // keda-compat §5.4 and §4.9 (2 + 5 -> 7000 milli)
  CHECK(milli_exponent_quantity(2500) == "2500e-3");
  CHECK(milli_exponent_quantity(7000) == "7");
  CHECK(milli_exponent_quantity(1000000) == "1e3");
  CHECK(milli_exponent_quantity(14000) == "14");
  CHECK(milli_exponent_quantity(250) == "250e-3");
  CHECK(milli_exponent_quantity(0) == "0");
  CHECK(milli_exponent_quantity(-2500) == "-2500e-3");
}

TEST_CASE("quantity: parse round trip") {
  for (double v : {0.0, 0.25, 1.5, 5.0, 1000.0, 2500.0, 12345.678}) {
    double back = -1;
    REQUIRE(parse_quantity(milli_quantity(v), back));
    CHECK(back == Approx(v).margin(1e-9));
  }
  double x = 0;
  CHECK(parse_quantity("2500e-3", x));
  CHECK(x == Approx(2.5));
  CHECK_FALSE(parse_quantity("abc", x));
  CHECK_FALSE(parse_quantity("5q", x));
}

TEST_CASE("metric names follow KEDA's normalisation") {
  CHECK(metric_name(0, "redis-mylist") == "s0-redis-mylist");
  CHECK(metric_name(1, "rabbitmq-" + query_escape("namespace/name")) == "s1-rabbitmq-namespace-2Fname");
  CHECK(normalize_metric_name("a/b.c:d%e(f)g") == "a-b-c-d-e-f-g");
  CHECK(query_escape("a b&c") == "a+b%26c");
}

TEST_CASE("registry: metric types") {
  CHECK(*parse_metric_type("") == MetricTargetType::AverageValue);
  CHECK(*parse_metric_type("Value") == MetricTargetType::Value);
  auto u = parse_metric_type("Utilization");
  REQUIRE_FALSE(u);
  CHECK(u.error().message ==
        "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'");
}
