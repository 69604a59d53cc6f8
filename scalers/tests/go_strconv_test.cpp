// Go's strconv number parsing the scalers share (go_strconv.h): ParseFloat as etcd values,
// Prometheus samples, SQL text results and kubernetes-resource values are read, with its
// error texts. (ParseInt is exercised with beanstalkd's statistics, in beanstalkd_test.)
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ebb/strings.h"
#include "go_strconv.h"

using namespace ebb;
using namespace ebb::scalers;

TEST_CASE("go strconv: strconv_parse_float accepts what ParseFloat accepts (etcd values)") {
  for (const auto& [text, value] : std::vector<std::pair<std::string, double>>{{"5", 5},
                                                                               {"+5", 5},
                                                                               {".5", 0.5},
                                                                               {"1.", 1},
                                                                               {"1e3", 1000},
                                                                               {"1E+3", 1000},
                                                                               {"1_000", 1000},
                                                                               {"1.5_5", 1.55},
                                                                               {"0x1p4", 16},
                                                                               {"0x1.8p1", 3},
                                                                               {"-0.25", -0.25},
                                                                               {"1e-400", 0}}) {
    INFO(text);
    auto v = strconv_parse_float(text);
    REQUIRE(v.ok());
    CHECK(*v == value);
  }
  CHECK(std::isinf(*strconv_parse_float("Inf")));
  CHECK(std::isinf(*strconv_parse_float("-infinity")));
  CHECK(std::isnan(*strconv_parse_float("NaN")));
  for (const std::string bad :
       {"", " 5", "5\n", "abc", "1__0", "_1", "1_", "1_.5", "0x1", "1e", ".", "+NaN", "5 apples"}) {
    INFO(bad);
    CHECK(strconv_parse_float(bad).error() ==
          "strconv.ParseFloat: parsing " + ebb::quoted(bad) + ": invalid syntax");
  }
  CHECK(strconv_parse_float("1.5e400").error() ==
        "strconv.ParseFloat: parsing \"1.5e400\": value out of range");
}

TEST_CASE("go strconv: strconv_parse_float on Prometheus sample values") {
  for (const auto& [text, value] :
       std::vector<std::pair<std::string, double>>{{"1", 1},
                                                   {"1.5e3", 1500},
                                                   {"-0.25", -0.25},
                                                   {"0x1p4", 16},
                                                   {"+Inf", INFINITY},
                                                   {"-inf", -INFINITY},
                                                   {"Infinity", INFINITY}}) {
    INFO(text);
    auto v = strconv_parse_float(text);
    REQUIRE(v);
    CHECK(*v == value);
  }
  CHECK(std::isnan(*strconv_parse_float("nan")));
  for (const std::string bad : {"", " 1", "1 ", "1x", "nan(1)", "abc", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(strconv_parse_float(bad));
  }
}

TEST_CASE("go strconv: underscores, signs and exponents exactly as Go's readFloat and special") {
  // Accepted by Go: underscores between digits, after a base prefix and in the exponent.
  for (const auto& [text, value] : std::vector<std::pair<std::string, double>>{
           {"1_000", 1000}, {"0x_1p4", 16}, {"0x1p1_0", 1024}, {"1e1_0", 1e10}, {"-0_8E0", -8}}) {
    INFO(text);
    auto v = strconv_parse_float(text);
    REQUIRE(v);
    CHECK(*v == value);
  }
  // Refused by Go: a signed NaN, an underscore right after the exponent letter or its sign.
  for (const std::string bad :
       {"-nan", "+nan", "+NaN", "8E_1", "1e_18", "8e-_0", "1e5_", "nan(1)"}) {
    INFO(bad);
    auto v = strconv_parse_float(bad);
    REQUIRE_FALSE(v);
    CHECK(v.error() == "strconv.ParseFloat: parsing " + ebb::quoted(bad) + ": invalid syntax");
  }
  CHECK(strconv_parse_float("-1.5e400").error() ==
        "strconv.ParseFloat: parsing \"-1.5e400\": value out of range");
  CHECK(std::signbit(*strconv_parse_float("-0")));
}
