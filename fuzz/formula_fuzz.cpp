// scalingModifiers.formula: compile against the trigger names of the first line, then evaluate
// with a few sets of values. Errors are fine; crashes, hangs and leaks are not, and neither is a
// result that is not finite (evaluate() promises an error instead).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "ebb/scalers/formula.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ebb;
  std::string_view in = fuzz::as_text(data, size);
  std::vector<std::string> variables;
  for (auto name : fuzz::split(fuzz::take(in), ',')) variables.emplace_back(name);
  const std::string_view source = in;

  (void)scalers::check_formula(source, variables);
  auto formula = scalers::Formula::compile(source, variables);
  if (!formula.ok()) return 0;
  (void)formula->source();
  static const double kValues[] = {0, 1, -1, 2.5, 1e300, -1e-300, 7};
  for (std::size_t round = 0; round < 3; ++round) {
    std::map<std::string, double> values;
    std::size_t i = round;
    for (const auto& name : formula->used_variables())
      values[name] = kValues[i++ % std::size(kValues)];
    auto result = formula->evaluate(values);
    if (result.ok() && !std::isfinite(*result))
      fuzz::fail("evaluate() returned a non-finite value", source);
  }
  return 0;
}
