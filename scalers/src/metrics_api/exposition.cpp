#include "metrics_api/exposition.h"

#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "ebb/strings.h"
#include "go_strconv.h"

namespace ebb::scalers::metrics_api {
namespace {

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool label_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool label_char(char c) {
  return label_start(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool blank(char c) {
  return c == ' ' || c == '\t';
}

// ---- PromQL metric selector ----

class SelectorReader {
 public:
  explicit SelectorReader(std::string_view s) : s_(s) {}

  Result<Selector, std::string> read() {
    Selector out;
    spaces();
    out.name = word(name_start, name_char);
    spaces();
    if (more() && s_[pos_] == '{') {
      ++pos_;
      while (true) {
        spaces();
        if (more() && s_[pos_] == '}') {
          ++pos_;
          break;
        }
        Matcher m;
        if (more() && (s_[pos_] == '"' || s_[pos_] == '\'' || s_[pos_] == '`')) {
          auto quoted = string_literal();
          if (!quoted) return unexpected(quoted.error());
          m.label = *quoted;
        } else {
          m.label = word(label_start, label_char);
        }
        if (m.label.empty()) return unexpected(error("expected a label name"));
        spaces();
        if (s_.substr(pos_).starts_with("=~"))
          m.op = Matcher::Regex, pos_ += 2;
        else if (s_.substr(pos_).starts_with("!~"))
          m.op = Matcher::NotRegex, pos_ += 2;
        else if (s_.substr(pos_).starts_with("!="))
          m.op = Matcher::NotEqual, pos_ += 2;
        else if (more() && s_[pos_] == '=')
          m.op = Matcher::Equal, pos_ += 1;
        else
          return unexpected(error("expected a label matching operator (=, !=, =~, !~)"));
        spaces();
        auto value = string_literal();
        if (!value) return unexpected(value.error());
        m.value = *value;
        if (m.label == "__name__" && m.op == Matcher::Equal) {
          if (!out.name.empty()) return unexpected(error("metric name given twice"));
          out.name = m.value;
        } else {
          out.matchers.push_back(std::move(m));
        }
        spaces();
        if (more() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (more() && s_[pos_] == '}') {
          ++pos_;
          break;
        }
        return unexpected(error("expected ',' or '}'"));
      }
      spaces();
    }
    if (more()) return unexpected(error(std::string("unexpected character '") + s_[pos_] + "'"));
    if (out.name.empty() && out.matchers.empty())
      return unexpected(error("expected a metric name or '{'"));
    return out;
  }

 private:
  bool more() const { return pos_ < s_.size(); }
  void spaces() {
    while (more() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::string error(const std::string& what) const {
    return "valueLocation " + ebb::quoted(s_) + " is not a PromQL metric selector: " + what +
           " at column " + std::to_string(pos_ + 1);
  }
  std::string word(bool (*start)(char), bool (*rest)(char)) {
    const auto begin = pos_;
    if (more() && start(s_[pos_]))
      while (more() && rest(s_[pos_])) ++pos_;
    return std::string(s_.substr(begin, pos_ - begin));
  }
  Result<std::string, std::string> string_literal() {
    if (!more() || (s_[pos_] != '"' && s_[pos_] != '\'' && s_[pos_] != '`'))
      return unexpected(error("expected a quoted string"));
    const char quote = s_[pos_++];
    std::string out;
    while (more() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\' && quote != '`' && more()) {
        c = s_[pos_++];
        switch (c) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case '\\':
          case '"':
          case '\'':
            break;
          default:
            return unexpected(error(std::string("unknown escape sequence '\\") + c + "'"));
        }
      }
      out += c;
    }
    if (!more()) return unexpected(error("unterminated quoted string"));
    ++pos_;
    return out;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// ---- text exposition format ----

class ExpositionReader {
 public:
  Result<std::vector<Family>, std::string> read(std::string_view body) {
    std::size_t line_start = 0;
    while (line_start < body.size()) {
      auto end = body.find('\n', line_start);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(line_start, end - line_start);
      if (line.ends_with('\r')) line.remove_suffix(1);
      ++line_no_;
      if (auto r = this->line(line); !r) return unexpected(r.error());
      line_start = end + 1;
    }
    return std::move(families_);
  }

 private:
  std::string error(const std::string& what) const {
    return "prometheus format parsing error: text format parsing error in line " +
           std::to_string(line_no_) + ": " + what;
  }

  Family& family(const std::string& name) {
    auto [it, added] = index_.emplace(name, families_.size());
    if (added) families_.push_back({name, "", {}});
    return families_[it->second];
  }
  const Family* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &families_[it->second];
  }

  Result<void, std::string> line(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && blank(l[i])) ++i;
    if (i == l.size()) return {};
    if (l[i] == '#') return comment(l.substr(i + 1));
    return sample(l.substr(i));
  }

  Result<void, std::string> comment(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && blank(l[i])) ++i;
    const bool help = l.substr(i).starts_with("HELP"), type = l.substr(i).starts_with("TYPE");
    if (!help && !type) return {};
    i += 4;
    if (i < l.size() && !blank(l[i])) return {};  // "# HELPER": a plain comment
    while (i < l.size() && blank(l[i])) ++i;
    if (i == l.size()) return {};
    const auto start = i;
    while (i < l.size() && name_char(l[i])) ++i;
    const std::string name(l.substr(start, i - start));
    if (name.empty() || !name_start(name.front()) || (i < l.size() && !blank(l[i])))
      return unexpected(error("invalid metric name in comment"));
    while (i < l.size() && blank(l[i])) ++i;
    if (help) {
      if (help_seen_.count(name))
        return unexpected(error("second HELP line for metric name \"" + name + "\""));
      help_seen_.emplace(name, true);
      return {};
    }
    const std::string kind(trim(l.substr(i)));
    if (kind != "counter" && kind != "gauge" && kind != "histogram" && kind != "summary" &&
        kind != "untyped")
      return unexpected(error("unknown metric type \"" + kind + "\""));
    if (const Family* f = find(name);
        f && (!f->type.empty() || !f->samples.empty() || sampled_.count(name)))
      return unexpected(error("second TYPE line for metric name \"" + name +
                              "\", or TYPE reported after samples"));
    family(name).type = kind;
    return {};
  }

  Result<void, std::string> sample(std::string_view l) {
    std::size_t i = 0;
    if (!name_start(l[i])) return unexpected(error("invalid metric name"));
    while (i < l.size() && name_char(l[i])) ++i;
    const std::string name(l.substr(0, i));
    while (i < l.size() && blank(l[i])) ++i;
    Sample s;
    if (i < l.size() && l[i] == '{') {
      ++i;
      while (true) {
        while (i < l.size() && blank(l[i])) ++i;
        if (i < l.size() && l[i] == '}') {
          ++i;
          break;
        }
        const auto start = i;
        if (i < l.size() && label_start(l[i]))
          while (i < l.size() && label_char(l[i])) ++i;
        const std::string label(l.substr(start, i - start));
        if (label.empty())
          return unexpected(error("invalid label name for metric \"" + name + "\""));
        for (const auto& [k, v] : s.labels)
          if (k == label)
            return unexpected(error("duplicate label names for metric \"" + name + "\""));
        while (i < l.size() && blank(l[i])) ++i;
        if (i >= l.size() || l[i] != '=')
          return unexpected(error("expected '=' after label name, found " + next_char(l, i)));
        ++i;
        while (i < l.size() && blank(l[i])) ++i;
        if (i >= l.size() || l[i] != '"')
          return unexpected(
              error("expected '\"' at start of label value, found " + next_char(l, i)));
        ++i;
        std::string value;
        while (true) {
          if (i >= l.size()) return unexpected(error("unterminated label value"));
          char c = l[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= l.size()) return unexpected(error("unterminated label value"));
            c = l[i++];
            if (c == 'n')
              c = '\n';
            else if (c != '\\' && c != '"')
              return unexpected(error(std::string("invalid escape sequence '\\") + c + "'"));
          }
          value += c;
        }
        s.labels.emplace_back(label, std::move(value));
        while (i < l.size() && blank(l[i])) ++i;
        if (i < l.size() && l[i] == ',') {
          ++i;
          continue;
        }
        if (i < l.size() && l[i] == '}') {
          ++i;
          break;
        }
        return unexpected(error("unexpected end of label value " + next_char(l, i)));
      }
    }
    while (i < l.size() && blank(l[i])) ++i;
    auto token = [&] {
      const auto start = i;
      while (i < l.size() && !blank(l[i])) ++i;
      return l.substr(start, i - start);
    };
    const std::string_view value_text = token();
    // expfmt's parseFloat: strconv.ParseFloat, but no hexadecimal floats and no underscores.
    const bool go_only = value_text.find_first_of("pP_") != std::string_view::npos;
    auto value = strconv_parse_float(value_text);
    if (value_text.empty() || go_only || !value)
      return unexpected(error("expected float as value, got \"" + std::string(value_text) + "\""));
    s.value = *value;
    while (i < l.size() && blank(l[i])) ++i;
    if (i < l.size()) {
      const std::string_view ts = token();
      std::size_t j = ts.front() == '-' || ts.front() == '+' ? 1 : 0;
      if (j == ts.size()) return unexpected(error("expected integer as timestamp"));
      for (; j < ts.size(); ++j)
        if (!std::isdigit(static_cast<unsigned char>(ts[j])))
          return unexpected(error("expected integer as timestamp"));
      while (i < l.size() && blank(l[i])) ++i;
      if (i < l.size()) return unexpected(error("spurious string after timestamp"));
    }
    sampled_.emplace(name, true);

    // Histogram and summary series (their quantiles, _bucket, _sum and _count lines) belong to
    // the base family and carry none of the values KEDA reads.
    if (const Family* f = find(name); f && (f->type == "histogram" || f->type == "summary"))
      return {};
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        const Family* base = find(name.substr(0, name.size() - suffix.size()));
        if (base && (base->type == "histogram" || base->type == "summary")) return {};
      }
    }
    family(name).samples.push_back(std::move(s));
    return {};
  }

  static std::string next_char(std::string_view l, std::size_t i) {
    if (i >= l.size()) return "end of line";
    return std::string("'") + l[i] + "'";
  }

  std::size_t line_no_ = 0;
  std::vector<Family> families_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, bool> help_seen_, sampled_;
};

// `re`: the matcher's compiled pattern, for =~ and !~ (null otherwise).
bool matches(const Matcher& m, const RE2* re, const Sample& s) {
  std::string value;  // PromQL: a missing label reads as ""
  for (const auto& [k, v] : s.labels)
    if (k == m.label) value = v;
  switch (m.op) {
    case Matcher::Equal:
      return value == m.value;
    case Matcher::NotEqual:
      return value != m.value;
    case Matcher::Regex:
    case Matcher::NotRegex:
      // Anchored at both ends, as PromQL matches label values.
      return re && RE2::FullMatch(value, *re) == (m.op == Matcher::Regex);
  }
  return false;
}

}  // namespace

Result<Selector, std::string> parse_selector(std::string_view text) {
  return SelectorReader(text).read();
}

Result<std::vector<Family>, std::string> parse_exposition(std::string_view body) {
  return ExpositionReader().read(body);
}

Result<double> exposition_value(std::string_view body, const std::string& location) {
  auto selector = parse_selector(location);
  if (!selector) return fail(selector.error());
  // RE2, the engine of Prometheus' (Go's) regular expressions: the same syntax (no
  // back-references, repetitions up to 1000) and linear time without recursion on the label
  // value. libstdc++'s std::regex recursed once per character of the value (a long label in a
  // response overflowed the stack) and overflowed a long on "\\1111111111111111111" (found by
  // fuzz_metrics_value).
  std::vector<std::unique_ptr<RE2>> compiled(selector->matchers.size());
  for (std::size_t i = 0; i < selector->matchers.size(); ++i) {
    const auto& m = selector->matchers[i];
    if (m.op != Matcher::Regex && m.op != Matcher::NotRegex) continue;
    RE2::Options options;
    options.set_log_errors(false);
    compiled[i] = std::make_unique<RE2>(m.value, options);
    if (!compiled[i]->ok())
      return fail("valueLocation " + ebb::quoted(location) + ": invalid regular expression " +
                  ebb::quoted(m.value) + ": " + compiled[i]->error());
  }
  auto families = parse_exposition(body);
  if (!families) return fail(families.error());
  const Family* family = nullptr;
  for (const auto& f : *families)
    if (f.name == selector->name) family = &f;
  if (!family) return fail("metric '" + selector->name + "' not found");
  for (const auto& sample : family->samples) {
    bool all = true;
    for (std::size_t i = 0; all && i < selector->matchers.size(); ++i)
      all = matches(selector->matchers[i], compiled[i].get(), sample);
    if (all) return sample.value;
  }
  return fail("value " + location + " not found");
}

}  // namespace ebb::scalers::metrics_api
