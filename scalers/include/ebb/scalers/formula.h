// scalingModifiers.formula (keda-compat §4.9, ARCHITECTURE.md decision 8).
//
// KEDA evaluates formulas with expr-lang. Ebb accepts the subset KEDA users write and evaluates
// it with muparser:
//   numbers (1, 2.5, .5, 1e3, 1_000), true/false, trigger names, parentheses;
//   + - * /, ** and ^ (power), unary - and +;
//   < <= > >= == !=;  && || !  and  and or not;  the ternary  c ? a : b;
//   min(a, b, ...), max(a, b, ...), abs(x), ceil(x), floor(x), round(x), float(x).
// Anything else (`??`, `%`, string literals, arrays, maps, member access, `in`, `matches`,
// `let`, nil, other functions such as sum(), ...) is an error naming the construct.
//
// Types are checked like expr-lang does: arithmetic and functions take numbers; `!`, `&&`, `||`
// and a ternary's condition take booleans; the formula as a whole must produce a number (KEDA
// wraps it in float(), which rejects a boolean).
//
// Trigger names are bound as variables under generated muparser names, so a name muparser could
// not spell (e.g. "queue-depth") still works. A formula may write such a name as it is: where a
// known trigger name containing other characters than [A-Za-z0-9_$] starts, the longest such
// name is taken as one variable (expr-lang would read "queue-depth" as queue minus depth; KEDA
// therefore never accepted it, so no existing formula changes meaning).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers {

class Formula {
 public:
  // Compiles `formula` for the given variable (trigger) names. Errors name the construct and
  // its position, e.g. "unsupported operator '??' at position 3".
  static Result<Formula> compile(std::string_view formula, const std::vector<std::string>& variables);

  // Evaluates with the variables' current values. Every variable the formula uses must be in
  // `values` (others are ignored). Division by zero, a NaN or an infinite result is an error.
  // Safe to call from several threads.
  Result<double> evaluate(const std::map<std::string, double>& values) const;

  const std::string& source() const;
  // The variables the formula actually references, in first-use order.
  const std::vector<std::string>& used_variables() const;

 private:
  struct Impl;
  explicit Formula(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// The shape api::ValidationOptions::check_formula expects: nullopt when the formula compiles
// against `variables`, else the message.
std::optional<std::string> check_formula(std::string_view formula,
                                         const std::vector<std::string>& variables);

}  // namespace ebb::scalers
