// scalingModifiers.formula: the accepted subset, its values, and the errors for everything else.
#include "ebb/scalers/formula.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <atomic>
#include <functional>
#include <thread>

using ebb::scalers::check_formula;
using ebb::scalers::Formula;

namespace {

const std::vector<std::string> kVars = {"trig_one", "trig_two", "a", "b", "queue-depth", "queue"};

struct Row {
  const char* formula;
  std::map<std::string, double> values;
  double expected;
};

double eval(const std::string& formula, const std::map<std::string, double>& values) {
  auto f = Formula::compile(formula, kVars);
  INFO(formula << " -> " << (f.ok() ? "" : f.error().message));
  REQUIRE(f.ok());
  auto r = f->evaluate(values);
  INFO(formula << " -> " << (r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

std::string compile_error(const std::string& formula, const std::vector<std::string>& vars = kVars) {
  auto f = Formula::compile(formula, vars);
  INFO(formula);
  REQUIRE_FALSE(f.ok());
  return f.error().message;
}

}  // namespace

TEST_CASE("formula: values of the supported subset", "[formula]") {
  const std::vector<Row> rows = {
      // KEDA documentation examples
      {"(trig_one + trig_two)/2", {{"trig_one", 4}, {"trig_two", 7}}, 5.5},
      {"trig_one > 2 ? trig_one : trig_two", {{"trig_one", 5}, {"trig_two", 1}}, 5},
      {"trig_one > 2 ? trig_one : trig_two", {{"trig_one", 2}, {"trig_two", 1}}, 1},
      {"min(a, b)", {{"a", 3}, {"b", -2}}, -2},
      {"max(a, b, 10)", {{"a", 3}, {"b", 4}}, 10},
      {"trig_one + trig_two", {{"trig_one", 2}, {"trig_two", 5}}, 7},
      // arithmetic and precedence
      {"a + b * 2", {{"a", 1}, {"b", 3}}, 7},
      {"(a + b) * 2", {{"a", 1}, {"b", 3}}, 8},
      {"a - b - 1", {{"a", 10}, {"b", 3}}, 6},
      {"a / b / 2", {{"a", 12}, {"b", 3}}, 2},
      {"2 ** 3 ** 2", {}, 512},  // right associative
      {"2 ^ 10", {}, 1024},
      {"-a * 2", {{"a", 3}}, -6},
      {"-2 ** 2", {}, -4},  // expr-lang: ** binds tighter than unary minus
      {"+a", {{"a", 3}}, 3},
      {"1_000 + 0.5 + 1e3", {}, 2000.5},
      {".5 * 4", {}, 2},
      // functions
      {"abs(a)", {{"a", -2.5}}, 2.5},
      {"ceil(a)", {{"a", 2.1}}, 3},
      {"floor(a)", {{"a", 2.9}}, 2},
      {"round(a)", {{"a", 2.5}}, 3},
      {"round(a)", {{"a", -2.5}}, -3},
      {"float(a) / 2", {{"a", 3}}, 1.5},
      {"min(a)", {{"a", 7}}, 7},
      // booleans only where expr-lang has them
      {"a > 1 && b > 1 ? 1 : 0", {{"a", 2}, {"b", 0}}, 0},
      {"a > 1 and b > 1 ? 1 : 0", {{"a", 2}, {"b", 2}}, 1},
      {"a > 1 || b > 1 ? 1 : 0", {{"a", 0}, {"b", 2}}, 1},
      {"a > 1 or b > 1 ? 1 : 0", {{"a", 0}, {"b", 0}}, 0},
      {"!(a > 1) ? 1 : 0", {{"a", 0}}, 1},
      {"not (a > 1) ? 1 : 0", {{"a", 2}}, 0},
      {"a == b ? 1 : 2", {{"a", 2}, {"b", 2}}, 1},
      {"a != b ? 1 : 2", {{"a", 2}, {"b", 2}}, 2},
      {"a <= b ? 1 : 2", {{"a", 2}, {"b", 2}}, 1},
      {"a >= 3 ? 1 : 2", {{"a", 2}}, 2},
      {"(a > 1) == true ? 1 : 2", {{"a", 2}}, 1},
      {"a > 5 ? 1 : a > 2 ? 2 : 3", {{"a", 3}}, 2},
      {"max(a > 1 ? a : 0, b)", {{"a", 4}, {"b", 2}}, 4},
      // short circuit: the division is never evaluated
      {"b != 0 && a / b > 1 ? 1 : 0", {{"a", 2}, {"b", 0}}, 0},
      {"b == 0 || a / b > 1 ? 1 : 0", {{"a", 2}, {"b", 0}}, 1},
      {"b == 0 ? 0 : a / b", {{"a", 2}, {"b", 0}}, 0},
      // names muparser could not spell
      {"queue-depth * 2", {{"queue-depth", 4}, {"queue", 100}}, 8},
  };
  for (const auto& row : rows) {
    INFO(row.formula);
    CHECK(eval(row.formula, row.values) == Approx(row.expected));
  }
  // "queue - 1" is the variable queue minus one, not the start of queue-depth.
  CHECK(eval("queue - 1", {{"queue", 5}}) == 4);
  CHECK(eval("queue-1", {{"queue", 5}}) == 4);
}

TEST_CASE("formula: errors name the unsupported construct", "[formula]") {
  struct Bad {
    const char* formula;
    const char* message_part;
  };
  const std::vector<Bad> rows = {
      {"sum(a)", "unsupported function \"sum\""},
      {"sin(a)", "unsupported function \"sin\""},
      {"a ?? b", "unsupported operator \"??\""},
      {"\"abc\"", "string literals are not supported"},
      {"'abc'", "string literals are not supported"},
      {"a % 2", "unsupported operator \"%\""},
      {"[a, b]", "array literals are not supported"},
      {"{x: 1}", "map literals are not supported"},
      {"a in [1]", "unsupported operator \"in\""},
      {"a.b", "member access"},
      {"a?.b", "member access"},
      {"a[0]", "indexing"},
      {"nil", "nil is not supported"},
      {"let x = 1; x", "unsupported operator \"let\""},
      {"a | b", "unsupported operator \"|\""},
      {"1..3", "unsupported operator \"..\""},
      {"0x10", "hexadecimal"},
      {"a ?: b", "unsupported operator \"?:\""},
      {"unknown + 1", "unknown name \"unknown\""},
      {"trig_onee + 1", "did you mean \"trig_one\"?"},
      {"a > b", "must produce a number, not a boolean"},
      {"(a > b) + 1", "operator \"+\" needs a number, not a boolean"},
      {"a ? 1 : 2", "the condition of '?:' needs a boolean"},
      {"a > 1 ? 1 : true", "different types"},
      {"a && b ? 1 : 0", "operator \"&&\" needs a boolean"},
      {"!a", "operator \"!\" needs a boolean"},
      {"-(a > 1) ? 1 : 0", "unary \"-\" needs a number"},
      {"a == true ? 1 : 0", "compares a number with a boolean"},
      {"min()", "min() takes at least one argument"},
      {"abs(a, b)", "abs() takes one argument, got 2"},
      {"a(1)", "is a trigger, not a function"},
      {"(a + b", "expected \")\""},
      {"a +", "unexpected end of formula"},
      {"a b", "unexpected \"b\""},
      {"", "the formula is empty"},
      {"a @ b", "unexpected character \"@\""},
      {"a = 1", "unsupported operator \"=\""},
      {"1abc", "malformed number"},
  };
  for (const auto& row : rows) {
    const auto message = compile_error(row.formula);
    INFO(row.formula << " -> " << message);
    CHECK(message.find(row.message_part) != std::string::npos);
    CHECK(message.rfind("invalid formula: ", 0) == 0);
  }
}

TEST_CASE("formula: nesting is bounded, so no formula exhausts the stack", "[formula]") {
  // Found by fuzz_formula: a long run of unary '+' and '(' recursed until the stack overflowed
  // (fuzz/corpus/formula/ keeps the input).
  auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  CHECK(eval(repeat("(", 90) + "a" + repeat(")", 90), {{"a", 2}}) == 2);
  CHECK(eval(repeat("-", 90) + "a", {{"a", 2}}) == 2);
  CHECK(eval("min(" + repeat("+", 90) + "a, b)", {{"a", 2}, {"b", 3}}) == 2);
  for (const std::string& deep :
       {repeat("(", 5000) + "a" + repeat(")", 5000), repeat("+", 100000) + "a",
        repeat("!", 5000) + "true ? 1 : 0", repeat("2 ** ", 5000) + "2",
        repeat("abs(", 5000) + "a" + repeat(")", 5000)}) {
    const auto message = compile_error(deep);
    INFO(message.substr(0, 200));
    CHECK(message.find("the formula nests deeper than 100 levels at position ") !=
          std::string::npos);
  }
}

TEST_CASE("formula: positions point at the construct", "[formula]") {
  CHECK(compile_error("a + b ?? 1").find("at position 7") != std::string::npos);
  CHECK(compile_error("a + sum(b)").find("at position 5") != std::string::npos);
}

TEST_CASE("formula: a name only counts when the trigger has it", "[formula]") {
  // KEDA compiles against the named, non-cpu/memory triggers only.
  CHECK(compile_error("x + 1", {}).find("no trigger has a name") != std::string::npos);
  CHECK(compile_error("queue-depth", {"queue"}).find("unknown name \"depth\"") != std::string::npos);
}

TEST_CASE("formula: runtime errors instead of non-numbers", "[formula]") {
  auto f = Formula::compile("a / b", kVars);
  REQUIRE(f.ok());
  auto r = f->evaluate({{"a", 1}, {"b", 0}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("division by zero") != std::string::npos);
  // the same formula still works afterwards
  auto ok = f->evaluate({{"a", 1}, {"b", 4}});
  REQUIRE(ok.ok());
  CHECK(ok.value() == 0.25);

  auto p = Formula::compile("a ** 0.5", kVars);
  REQUIRE(p.ok());
  CHECK_FALSE(p->evaluate({{"a", -4}}).ok());
  CHECK(p->evaluate({{"a", 16}}).value() == 4);

  auto big = Formula::compile("a * a", kVars);
  REQUIRE(big.ok());
  auto inf = big->evaluate({{"a", 1e200}});
  REQUIRE_FALSE(inf.ok());
  CHECK(inf.error().message.find("infinite") != std::string::npos);

  auto nan = big->evaluate({{"a", std::nan("")}});
  REQUIRE_FALSE(nan.ok());
  CHECK(nan.error().message.find("not a number") != std::string::npos);

  auto missing = f->evaluate({{"a", 1}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no value for trigger \"b\"") != std::string::npos);
}

TEST_CASE("formula: a divisor that is zero at compile-time probing is still valid", "[formula]") {
  // compile() evaluates once with every variable = 1 to build the bytecode
  auto f = Formula::compile("a / (b - 1)", kVars);
  REQUIRE(f.ok());
  CHECK(f->evaluate({{"a", 6}, {"b", 4}}).value() == 2);
  CHECK(f->used_variables() == std::vector<std::string>{"a", "b"});
  CHECK(f->source() == "a / (b - 1)");
}

TEST_CASE("formula: copies share one compiled program and evaluate concurrently", "[formula]") {
  auto f = Formula::compile("a * 2 + b", kVars);
  REQUIRE(f.ok());
  const Formula copy = f.value();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 2000; ++k) {
        const double a = t * 1000 + k;
        auto r = copy.evaluate({{"a", a}, {"b", 1}});
        if (!r.ok() || r.value() != a * 2 + 1) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("formula: check_formula fits api::ValidationOptions::check_formula", "[formula]") {
  std::function<std::optional<std::string>(std::string_view, const std::vector<std::string>&)>
      hook = check_formula;
  CHECK_FALSE(hook("trig_one + trig_two", {"trig_one", "trig_two"}).has_value());
  const auto problem = hook("sum(trig_one)", {"trig_one"});
  REQUIRE(problem.has_value());
  CHECK(problem->find("unsupported function \"sum\"") != std::string::npos);
}
