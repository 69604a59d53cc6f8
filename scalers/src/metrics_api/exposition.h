// metrics-api's `format: prometheus`: the Prometheus text exposition format (as
// prometheus/common/expfmt's TextParser reads it) and the PromQL metric selector that
// `valueLocation` holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::metrics_api {

struct Matcher {
  enum Op { Equal, NotEqual, Regex, NotRegex } op = Equal;
  std::string label, value;
};

struct Selector {
  std::string name;               // "" when neither written nor given as __name__
  std::vector<Matcher> matchers;  // without __name__
};

// `name`, `name{a="x", b!~"y.*"}`, `{__name__="name"}`; strings in "", '' or ``.
Result<Selector, std::string> parse_selector(std::string_view text);

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};
struct Family {
  std::string name;
  std::string type;  // counter, gauge, histogram, summary, untyped
  // Samples that carry the family's value (untyped, counter, gauge), in file order; histogram
  // and summary series have none.
  std::vector<Sample> samples;
};

// Every family of a text-format body; any syntax error fails the whole body, as in KEDA:
// "text format parsing error in line <n>: <what>".
Result<std::vector<Family>, std::string> parse_exposition(std::string_view body);

// The value of the first series matching `location` (KEDA's getValueFromPrometheusResponse,
// with every matcher operator applied; KEDA compares each as equality).
Result<double> exposition_value(std::string_view body, const std::string& location);

}  // namespace ebb::scalers::metrics_api
