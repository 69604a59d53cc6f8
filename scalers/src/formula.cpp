// The formula front end is our own small parser: it accepts exactly the documented subset,
// checks types the way expr-lang does, and gives errors that name the construct. It emits an
// expression that muparser evaluates (bytecode, no re-parsing per call). The emitted expression
// uses only generated names, so nothing a user writes reaches muparser unchecked.
#include "ebb/scalers/formula.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

#include <muParser.h>

#include "ebb/strings.h"

namespace ebb::scalers {
namespace {

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok { Number, Ident, Variable, Op, String, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;      // as written
  std::size_t pos = 0;   // 1-based column, for messages
  std::size_t var = 0;   // index into the variable list when kind == Variable
};

struct CompileError {
  std::string message;
};

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

bool plain_identifier(std::string_view name) {
  if (name.empty() || !ident_start(name[0])) return false;
  return std::all_of(name.begin(), name.end(), ident_char);
}

std::string at(std::size_t pos) { return " at position " + std::to_string(pos); }

class Lexer {
 public:
  Lexer(std::string_view src, const std::vector<std::string>& variables)
      : src_(src), variables_(variables) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < src_.size() && (src_[i_] == ' ' || src_[i_] == '\t' || src_[i_] == '\n' ||
                                  src_[i_] == '\r'))
        ++i_;
      if (i_ >= src_.size()) break;
      out.push_back(next());
    }
    out.push_back(Token{Tok::End, "", src_.size() + 1, 0});
    return out;
  }

 private:
  Token next() {
    const std::size_t start = i_;
    const std::size_t pos = start + 1;
    const char c = src_[i_];

    // A trigger name muparser (and expr-lang) could not spell, written as it is.
    if (auto var = special_variable_at(start)) {
      i_ += variables_[*var].size();
      return Token{Tok::Variable, variables_[*var], pos, *var};
    }
    if (c == '"' || c == '\'' || c == '`')
      throw CompileError{"string literals are not supported" + at(pos)};
    if (digit(c) || (c == '.' && i_ + 1 < src_.size() && digit(src_[i_ + 1]))) return number();
    if (ident_start(c)) {
      while (i_ < src_.size() && ident_char(src_[i_])) ++i_;
      std::string word(src_.substr(start, i_ - start));
      for (std::size_t v = 0; v < variables_.size(); ++v)
        if (variables_[v] == word) return Token{Tok::Variable, word, pos, v};
      return Token{Tok::Ident, word, pos, 0};
    }
    static const char* const kOps[] = {"??", "?.", "**", "&&", "||", "==", "!=", "<=", ">=", "..",
                                       "+",  "-",  "*",  "/",  "%",  "^",  "<",  ">",  "!",  "?",
                                       ":",  "(",  ")",  ",",  "[",  "]",  "{",  "}",  ".",  "|",
                                       "#",  "=",  ";"};
    for (const char* op : kOps) {
      const std::string_view o(op);
      if (src_.substr(start).starts_with(o)) {
        i_ += o.size();
        return Token{Tok::Op, std::string(o), pos, 0};
      }
    }
    throw CompileError{"unexpected character " + quoted(std::string(1, c)) + at(pos)};
  }

  Token number() {
    const std::size_t start = i_;
    if (src_[i_] == '0' && i_ + 1 < src_.size() &&
        std::string_view("xXoObB").find(src_[i_ + 1]) != std::string_view::npos)
      throw CompileError{"hexadecimal, octal and binary number literals are not supported" +
                         at(start + 1)};
    auto digits = [&] {
      while (i_ < src_.size() && (digit(src_[i_]) || src_[i_] == '_')) ++i_;
    };
    digits();
    // "1..5" is a range, not a fraction.
    if (i_ < src_.size() && src_[i_] == '.' && !(i_ + 1 < src_.size() && src_[i_ + 1] == '.')) {
      ++i_;
      digits();
    }
    if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
      std::size_t j = i_ + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (j < src_.size() && digit(src_[j])) {
        i_ = j;
        digits();
      }
    }
    std::string text(src_.substr(start, i_ - start));
    if (i_ < src_.size() && ident_start(src_[i_]))
      throw CompileError{"malformed number " + quoted(text + src_[i_]) + at(start + 1)};
    return Token{Tok::Number, text, start + 1, 0};
  }

  // The longest variable containing non-identifier characters that starts at `start` and ends
  // where an identifier would end.
  std::optional<std::size_t> special_variable_at(std::size_t start) const {
    std::optional<std::size_t> best;
    for (std::size_t v = 0; v < variables_.size(); ++v) {
      const auto& name = variables_[v];
      if (plain_identifier(name) || name.empty()) continue;
      if (!src_.substr(start).starts_with(name)) continue;
      const std::size_t end = start + name.size();
      if (end < src_.size() && ident_char(src_[end]) && ident_char(name.back())) continue;
      if (start > 0 && ident_char(src_[start - 1]) && ident_char(name.front())) continue;
      if (!best || variables_[*best].size() < name.size()) best = v;
    }
    return best;
  }

  std::string_view src_;
  const std::vector<std::string>& variables_;
  std::size_t i_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parser: precedence climbing with expr-lang's precedences, emitting muparser text.

enum class Type { Number, Bool };

struct Node {
  std::string code;
  Type type;
};

std::string type_name(Type t) { return t == Type::Number ? "number" : "boolean"; }

struct BinaryOp {
  int precedence;
  bool right_assoc;
};

std::optional<BinaryOp> binary_op(const Token& t) {
  if (t.kind == Tok::Ident) {
    if (t.text == "or") return BinaryOp{10, false};
    if (t.text == "and") return BinaryOp{15, false};
    return std::nullopt;
  }
  if (t.kind != Tok::Op) return std::nullopt;
  const auto& o = t.text;
  if (o == "||") return BinaryOp{10, false};
  if (o == "&&") return BinaryOp{15, false};
  if (o == "==" || o == "!=" || o == "<" || o == ">" || o == "<=" || o == ">=")
    return BinaryOp{20, false};
  if (o == "+" || o == "-") return BinaryOp{30, false};
  if (o == "*" || o == "/") return BinaryOp{60, false};
  if (o == "**" || o == "^") return BinaryOp{100, true};
  return std::nullopt;
}

// Words and operators expr-lang has that Ebb does not.
const std::set<std::string, std::less<>> kUnsupportedWords = {
    "in", "matches", "contains", "startsWith", "endsWith", "let", "nil", "not in"};
const std::set<std::string, std::less<>> kUnsupportedOps = {
    "??", "?.", "%", "..", "|", "[", "]", "{", "}", ".", "#", "=", ";"};

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::vector<std::string>& variables)
      : tokens_(std::move(tokens)), variables_(variables) {}

  Node parse_formula() {
    if (peek().kind == Tok::End) throw CompileError{"the formula is empty"};
    Node n = expression(0);
    if (peek().kind != Tok::End) unexpected(peek());
    if (n.type != Type::Number)
      throw CompileError{"the formula must produce a number, not a boolean"};
    return n;
  }

  const std::vector<std::size_t>& used() const { return used_; }

 private:
  static constexpr int kMaxNesting = 100;

  const Token& peek() const { return tokens_[i_]; }
  Token take() { return tokens_[i_++]; }
  bool is_op(std::string_view op) const { return peek().kind == Tok::Op && peek().text == op; }

  [[noreturn]] void unexpected(const Token& t) const {
    if (t.kind == Tok::End) throw CompileError{"unexpected end of formula"};
    if (t.kind == Tok::Op && kUnsupportedOps.contains(t.text))
      throw CompileError{"unsupported operator " + quoted(t.text) + at(t.pos)};
    if (t.kind == Tok::Ident && kUnsupportedWords.contains(t.text))
      throw CompileError{"unsupported operator " + quoted(t.text) + at(t.pos)};
    throw CompileError{"unexpected " + quoted(t.text) + at(t.pos)};
  }

  void expect(std::string_view op) {
    if (!is_op(op)) {
      if (peek().kind == Tok::End)
        throw CompileError{"expected " + quoted(op) + " before the end of the formula"};
      if ((peek().kind == Tok::Op && kUnsupportedOps.contains(peek().text)) ||
          (peek().kind == Tok::Ident && kUnsupportedWords.contains(peek().text)))
        unexpected(peek());
      throw CompileError{"expected " + quoted(op) + at(peek().pos) + ", found " +
                         quoted(peek().text)};
    }
    ++i_;
  }

  static void require(const Node& n, Type t, std::string_view what, const Token& where) {
    if (n.type != t)
      throw CompileError{std::string(what) + " needs a " + type_name(t) + ", not a " +
                         type_name(n.type) + at(where.pos)};
  }

  Node expression(int min_precedence) {
    // Every nesting (parentheses, unary operators, right-associative chains) comes through
    // here: bounded, so a formula cannot exhaust the stack of the process that checks it.
    const Token& first = peek();
    if (depth_ >= kMaxNesting)
      throw CompileError{"the formula nests deeper than " + std::to_string(kMaxNesting) +
                         " levels" + at(first.pos)};
    ++depth_;
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};
    Node left = unary();
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::Op && kUnsupportedOps.contains(t.text) && t.text != "]" && t.text != "}")
        unexpected(t);
      if (t.kind == Tok::Ident && kUnsupportedWords.contains(t.text)) unexpected(t);
      if (t.kind == Tok::Ident && t.text == "not") {  // "not in"
        throw CompileError{"unsupported operator \"not in\"" + at(t.pos)};
      }
      const auto op = binary_op(t);
      if (!op || op->precedence < min_precedence) break;
      const Token op_token = take();
      Node right = expression(op->right_assoc ? op->precedence : op->precedence + 1);
      left = combine(op_token, std::move(left), std::move(right));
    }
    if (min_precedence == 0 && is_op("?")) {
      const Token q = take();
      if (is_op(":")) throw CompileError{"unsupported operator \"?:\"" + at(q.pos)};
      require(left, Type::Bool, "the condition of '?:'", q);
      Node then = expression(0);
      expect(":");
      Node otherwise = expression(0);
      if (then.type != otherwise.type)
        throw CompileError{"the branches of '?:'" + at(q.pos) + " have different types (" +
                           type_name(then.type) + " and " + type_name(otherwise.type) + ")"};
      left = Node{"((" + left.code + ")?(" + then.code + "):(" + otherwise.code + "))", then.type};
    }
    return left;
  }

  Node combine(const Token& op, Node l, Node r) {
    const std::string o = op.kind == Tok::Ident ? (op.text == "or" ? "||" : "&&") : op.text;
    const std::string what = "operator " + quoted(op.text);
    if (o == "||" || o == "&&") {
      require(l, Type::Bool, what, op);
      require(r, Type::Bool, what, op);
      // Written as ternaries so the right side is only evaluated when it decides, as in
      // expr-lang ("b != 0 && a / b > 1" must not divide by zero).
      if (o == "&&") return Node{"((" + l.code + ")?(" + r.code + "):0)", Type::Bool};
      return Node{"((" + l.code + ")?1:(" + r.code + "))", Type::Bool};
    }
    if (o == "==" || o == "!=") {
      if (l.type != r.type)
        throw CompileError{what + at(op.pos) + " compares a " + type_name(l.type) + " with a " +
                           type_name(r.type)};
      return Node{"((" + l.code + ")" + o + "(" + r.code + "))", Type::Bool};
    }
    require(l, Type::Number, what, op);
    require(r, Type::Number, what, op);
    if (o == "<" || o == ">" || o == "<=" || o == ">=")
      return Node{"((" + l.code + ")" + o + "(" + r.code + "))", Type::Bool};
    if (o == "+" || o == "-" || o == "*")
      return Node{"((" + l.code + ")" + o + "(" + r.code + "))", Type::Number};
    if (o == "/") return Node{"_div(" + l.code + "," + r.code + ")", Type::Number};
    return Node{"_pow(" + l.code + "," + r.code + ")", Type::Number};  // ** and ^
  }

  Node unary() {
    const Token& t = peek();
    const bool is_not = (t.kind == Tok::Op && t.text == "!") || (t.kind == Tok::Ident && t.text == "not");
    if (is_not) {
      const Token op = take();
      Node operand = expression(50);
      require(operand, Type::Bool, "operator " + quoted(op.text), op);
      return Node{"((" + operand.code + ")?0:1)", Type::Bool};
    }
    if (t.kind == Tok::Op && (t.text == "-" || t.text == "+")) {
      const Token op = take();
      Node operand = expression(90);
      require(operand, Type::Number, "unary " + quoted(op.text), op);
      if (op.text == "+") return operand;
      return Node{"(0-(" + operand.code + "))", Type::Number};
    }
    return postfix(primary());
  }

  Node postfix(Node n) {
    const Token& t = peek();
    if (t.kind == Tok::Op && (t.text == "." || t.text == "?." || t.text == "["))
      throw CompileError{(t.text == "[" ? "indexing" : "member access") + std::string(" (") +
                         quoted(t.text) + ") is not supported" + at(t.pos)};
    if (t.kind == Tok::Op && t.text == "(")
      throw CompileError{"only functions can be called" + at(t.pos)};
    return n;
  }

  Node primary() {
    const Token t = take();
    switch (t.kind) {
      case Tok::Number: {
        std::string digits;
        for (char c : t.text)
          if (c != '_') digits += c;
        double value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value))
          throw CompileError{"malformed number " + quoted(t.text) + at(t.pos)};
        char buf[64];
        const auto r = std::to_chars(buf, buf + sizeof buf, value);
        return Node{"(" + std::string(buf, r.ptr) + ")", Type::Number};
      }
      case Tok::Variable: {
        if (is_op("("))
          throw CompileError{quoted(t.text) + " is a trigger, not a function" + at(t.pos)};
        if (std::find(used_.begin(), used_.end(), t.var) == used_.end()) used_.push_back(t.var);
        return Node{"v" + std::to_string(t.var), Type::Number};
      }
      case Tok::Ident: {
        if (t.text == "true") return Node{"1", Type::Bool};
        if (t.text == "false") return Node{"0", Type::Bool};
        if (t.text == "nil") throw CompileError{"nil is not supported" + at(t.pos)};
        if (kUnsupportedWords.contains(t.text) || t.text == "and" || t.text == "or")
          unexpected(t);
        if (is_op("(")) return call(t);
        std::string message = "unknown name " + quoted(t.text) + at(t.pos);
        if (variables_.empty()) {
          message += " (no trigger has a name the formula could use)";
        } else {
          if (auto hint = closest_match(t.text, variables_); !hint.empty())
            message += "; did you mean " + quoted(hint) + "?";
          message += " (trigger names: " + join(variables_, ", ") + ")";
        }
        throw CompileError{message};
      }
      case Tok::Op:
        if (t.text == "(") {
          Node inner = expression(0);
          expect(")");
          return Node{"(" + inner.code + ")", inner.type};
        }
        if (t.text == "[") throw CompileError{"array literals are not supported" + at(t.pos)};
        if (t.text == "{") throw CompileError{"map literals are not supported" + at(t.pos)};
        if (t.text == "#") throw CompileError{"closures are not supported" + at(t.pos)};
        unexpected(t);
      case Tok::String:
      case Tok::End:
        break;
    }
    unexpected(t);
  }

  Node call(const Token& name) {
    static const std::set<std::string, std::less<>> kUnary = {"abs", "ceil", "floor", "round",
                                                              "float"};
    const bool variadic = name.text == "min" || name.text == "max";
    if (!variadic && !kUnary.contains(name.text))
      throw CompileError{"unsupported function " + quoted(name.text) + at(name.pos) +
                         " (supported: min, max, abs, ceil, floor, round, float)"};
    expect("(");
    std::vector<Node> args;
    if (!is_op(")")) {
      while (true) {
        args.push_back(expression(0));
        require(args.back(), Type::Number, name.text + "()", name);
        if (!is_op(",")) break;
        take();
      }
    }
    expect(")");
    if (variadic ? args.empty() : args.size() != 1)
      throw CompileError{name.text + "() takes " + (variadic ? "at least one argument" : "one argument") +
                         ", got " + std::to_string(args.size()) + at(name.pos)};
    if (name.text == "float") return Node{"(" + args[0].code + ")", Type::Number};
    std::string code = "_" + name.text + "(";
    for (std::size_t k = 0; k < args.size(); ++k) code += (k ? "," : "") + args[k].code;
    return Node{code + ")", Type::Number};
  }

  std::vector<Token> tokens_;
  const std::vector<std::string>& variables_;
  std::size_t i_ = 0;
  int depth_ = 0;  // expression() calls in progress
  std::vector<std::size_t> used_;
};

// ---------------------------------------------------------------------------------------------
// muparser callbacks. Runtime failures throw a ParserError whose message starts with this
// marker, so evaluate() can tell them from anything else.

constexpr std::string_view kRuntime = "ebb-runtime: ";

[[noreturn]] void runtime_error(const std::string& what) {
  throw mu::Parser::exception_type(std::string(kRuntime) + what);
}

double fn_div(double a, double b) {
  if (b == 0) runtime_error("division by zero");
  return a / b;
}
double fn_pow(double a, double b) {
  const double r = std::pow(a, b);
  if (std::isnan(r)) runtime_error("power of a negative number to a fractional exponent");
  return r;
}
double fn_min(const double* args, int n) {
  double r = args[0];
  for (int k = 1; k < n; ++k) r = std::min(r, args[k]);
  return r;
}
double fn_max(const double* args, int n) {
  double r = args[0];
  for (int k = 1; k < n; ++k) r = std::max(r, args[k]);
  return r;
}
double fn_abs(double a) { return std::fabs(a); }
double fn_ceil(double a) { return std::ceil(a); }
double fn_floor(double a) { return std::floor(a); }
double fn_round(double a) { return std::round(a); }  // half away from zero, like Go math.Round

}  // namespace

struct Formula::Impl {
  std::string source;
  std::vector<std::string> used_names;
  std::vector<double> values;  // bound to muparser by address: sized once, never resized
  std::map<std::string, std::size_t, std::less<>> index;  // variable name -> slot in values
  mu::Parser parser;
  std::mutex mutex;  // muparser evaluates on internal mutable stacks
};

Result<Formula> Formula::compile(std::string_view formula,
                                 const std::vector<std::string>& variables) {
  auto impl = std::make_shared<Impl>();
  impl->source = std::string(formula);
  std::string code;
  try {
    Lexer lexer(formula, variables);
    Parser parser(lexer.run(), variables);
    code = parser.parse_formula().code;
    for (std::size_t v : parser.used()) impl->used_names.push_back(variables[v]);
    impl->values.assign(variables.size(), 0.0);
    for (std::size_t v = 0; v < variables.size(); ++v) impl->index.emplace(variables[v], v);
  } catch (const CompileError& e) {
    return fail("invalid formula: " + e.message);
  }
  try {
    auto& p = impl->parser;
    p.ClearFun();
    p.ClearConst();
    p.ClearInfixOprt();
    p.ClearPostfixOprt();
    p.DefineFun("_div", fn_div, false);
    p.DefineFun("_pow", fn_pow, false);
    p.DefineFun("_min", fn_min);
    p.DefineFun("_max", fn_max);
    p.DefineFun("_abs", fn_abs);
    p.DefineFun("_ceil", fn_ceil);
    p.DefineFun("_floor", fn_floor);
    p.DefineFun("_round", fn_round);
    for (std::size_t v = 0; v < variables.size(); ++v)
      p.DefineVar("v" + std::to_string(v), &impl->values[v]);
    p.SetExpr(code);
    // The first evaluation builds the bytecode; failures of the arithmetic itself (values are
    // all 1 here) do not make the formula invalid.
    std::fill(impl->values.begin(), impl->values.end(), 1.0);
    try {
      (void)p.Eval();
    } catch (const mu::Parser::exception_type& e) {
      if (!e.GetMsg().starts_with(kRuntime)) throw;
    }
  } catch (const mu::Parser::exception_type& e) {
    // Our front end only emits valid muparser text; reaching this is a bug, reported plainly.
    return fail("invalid formula: internal evaluator rejected it: " + e.GetMsg());
  }
  return Formula(std::move(impl));
}

Result<double> Formula::evaluate(const std::map<std::string, double>& values) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& name : impl_->used_names) {
    const auto it = values.find(name);
    if (it == values.end()) return fail("formula: no value for trigger " + quoted(name));
  }
  for (const auto& [name, value] : values) {
    const auto it = impl_->index.find(name);
    if (it != impl_->index.end()) impl_->values[it->second] = value;
  }
  double result = 0;
  try {
    result = impl_->parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    std::string msg = e.GetMsg();
    if (msg.starts_with(kRuntime)) msg.erase(0, kRuntime.size());
    return fail("formula " + quoted(impl_->source) + ": " + msg);
  }
  if (std::isnan(result)) return fail("formula " + quoted(impl_->source) + ": result is not a number");
  if (std::isinf(result)) return fail("formula " + quoted(impl_->source) + ": result is infinite");
  return result;
}

const std::string& Formula::source() const { return impl_->source; }
const std::vector<std::string>& Formula::used_variables() const { return impl_->used_names; }

std::optional<std::string> check_formula(std::string_view formula,
                                         const std::vector<std::string>& variables) {
  auto compiled = Formula::compile(formula, variables);
  if (compiled.ok()) return std::nullopt;
  return compiled.error().message;
}

}  // namespace ebb::scalers
