#include "ebb/scalers/params.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::scalers::params {

std::string_view source_name(Source s) {
  switch (s) {
    case Source::Metadata: return "triggerMetadata";
    case Source::AuthParams: return "authParams";
    case Source::ResolvedEnv: return "resolvedEnv";
  }
  return "?";
}

std::optional<Lookup> lookup(const TriggerContext& ctx, const std::vector<std::string>& names,
                             const Sources& sources) {
  for (Source src : sources) {
    for (const auto& name : names) {
      switch (src) {
        case Source::Metadata:
          if (auto it = ctx.metadata.find(name); it != ctx.metadata.end()) {
            if (auto v = trim(it->second); !v.empty()) return Lookup{std::string(v), "metadata." + name, name};
          }
          break;
        case Source::AuthParams:
          if (auto it = ctx.auth_params.find(name); it != ctx.auth_params.end()) {
            if (auto v = trim(it->second); !v.empty()) return Lookup{std::string(v), "authParams." + name, name};
          }
          break;
        case Source::ResolvedEnv: {
          const auto key = ctx.metadata.find(name + "FromEnv");
          if (key == ctx.metadata.end()) break;
          if (auto it = ctx.resolved_env.find(std::string(trim(key->second)));
              it != ctx.resolved_env.end()) {
            if (auto v = trim(it->second); !v.empty())
              return Lookup{std::string(v), "metadata." + name + "FromEnv", name};
          }
          break;
        }
      }
    }
  }
  return std::nullopt;
}

std::string quote_value(std::string_view s, bool secret) {
  return secret ? std::string("<redacted>") : ebb::quoted(s);
}

std::vector<std::string> split_param_names(std::string_view names) {
  std::vector<std::string> out;
  for (auto& n : split(names, ';'))
    if (!n.empty()) out.push_back(std::move(n));
  return out;
}

std::string default_path(const Sources& sources, const std::string& name) {
  if (!sources.empty() && sources.front() == Source::AuthParams) return "authParams." + name;
  return "metadata." + name;
}

std::string path_of(const TriggerContext& ctx, std::string_view names, const Sources& sources) {
  const auto all = split_param_names(names);
  if (auto found = lookup(ctx, all, sources)) return found->path;
  return default_path(sources, all.front());
}

static std::string sources_list(const Sources& sources) {
  std::string out = "[";
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (i) out += ' ';
    out += source_name(sources[i]);
  }
  return out + "]";
}

std::optional<FieldError> check_param(const std::optional<Lookup>& found,
                                      const std::vector<std::string>& names,
                                      const Sources& sources, const Options& opts,
                                      bool& use_default) {
  const auto& name = names.front();
  if (found && !opts.deprecated.empty()) {
    return FieldError{found->path, "parameter " + ebb::quoted(name) + " is deprecated: " + opts.deprecated};
  }
  if (!found) {
    if (opts.default_value) {
      use_default = true;
      return std::nullopt;
    }
    if (opts.optional || !opts.deprecated.empty()) return std::nullopt;
    return FieldError{default_path(sources, name),
                      "missing required parameter " + ebb::quoted(name) + " in " + sources_list(sources)};
  }
  if (!opts.one_of.empty()) {
    for (const auto& element : split(found->value, opts.separator)) {
      if (std::find(opts.one_of.begin(), opts.one_of.end(), element) == opts.one_of.end()) {
        return FieldError{found->path, "must be one of [" + join(opts.one_of, ", ") + "], got " +
                                           quote_value(found->value, opts.secret)};
      }
    }
  }
  return std::nullopt;
}

FieldErrors unknown_metadata_keys(const TriggerContext& ctx, const std::vector<std::string>& known) {
  std::set<std::string> known_set(known.begin(), known.end());
  std::vector<std::string> candidates(known.begin(), known.end());
  FieldErrors out;
  for (const auto& [key, value] : ctx.metadata) {
    std::string base = key;
    if (base.size() > 7 && base.ends_with("FromEnv")) base.resize(base.size() - 7);
    if (known_set.count(base)) continue;
    std::string message = "unknown parameter " + ebb::quoted(key) + " for trigger type " + ebb::quoted(ctx.type);
    if (auto hint = closest_match(base, candidates); !hint.empty())
      message += " (did you mean " + ebb::quoted(hint) + "?)";
    out.push_back({"metadata." + key, message});
  }
  return out;
}

// ---- conversions ----

Result<bool, std::string> parse_bool(std::string_view s) {
  static const std::set<std::string_view> truthy = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string_view> falsy = {"0", "f", "F", "FALSE", "false", "False"};
  if (truthy.count(s)) return true;
  if (falsy.count(s)) return false;
  return unexpected(std::string("must be a boolean (true or false), got ") + ebb::quoted(s));
}

static bool is_json_integer(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') return i + 1 == s.size();
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

static bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const auto start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

Result<std::int64_t, std::string> parse_int(std::string_view s) {
  if (!is_json_integer(s)) return unexpected("must be an integer, got " + ebb::quoted(s));
  errno = 0;
  const std::string str(s);
  char* end = nullptr;
  const long long v = std::strtoll(str.c_str(), &end, 10);
  if (errno == ERANGE) return unexpected("integer out of range, got " + ebb::quoted(s));
  return static_cast<std::int64_t>(v);
}

Result<double, std::string> parse_float(std::string_view s) {
  if (!is_json_number(s)) return unexpected("must be a number, got " + ebb::quoted(s));
  const std::string str(s);
  const double v = std::strtod(str.c_str(), nullptr);
  if (!std::isfinite(v)) return unexpected("number out of range, got " + ebb::quoted(s));
  return v;
}

Result<std::chrono::milliseconds, std::string> parse_duration(std::string_view s) {
  const auto bad = [&] {
    return unexpected("must be a duration such as \"500ms\", \"30s\" or \"2m\", or an integer number of "
                      "milliseconds, got " + ebb::quoted(s));
  };
  if (s.empty()) return bad();
  if (s.front() == '-') return unexpected("must not be negative, got " + ebb::quoted(s));
  if (is_json_integer(s)) {
    auto v = parse_int(s);
    if (!v) return unexpected(v.error());
    return std::chrono::milliseconds(*v);
  }
  auto d = parse_go_duration(s);
  if (!d) return bad();
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

Result<std::map<std::string, std::string>, std::string> parse_map(std::string_view s, char sep) {
  std::map<std::string, std::string> out;
  for (const auto& pair : split(s, sep)) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || pair.find('=', eq + 1) != std::string::npos)
      return unexpected("must be a list of key=value pairs, got " + ebb::quoted(pair));
    out[std::string(trim(std::string_view(pair).substr(0, eq)))] =
        std::string(trim(std::string_view(pair).substr(eq + 1)));
  }
  return out;
}

Result<std::vector<std::int64_t>, std::string> parse_int_list(std::string_view s, char sep,
                                                              bool ranges) {
  std::vector<std::int64_t> out;
  for (const auto& element : split(s, sep)) {
    const auto dash = element.find('-', 1);
    if (ranges && dash != std::string::npos) {
      auto lo = parse_int(trim(std::string_view(element).substr(0, dash)));
      auto hi = parse_int(trim(std::string_view(element).substr(dash + 1)));
      if (!lo || !hi || *hi < *lo)
        return unexpected("must be a list of integers and ranges such as \"1,2,10-12\", got " +
                          ebb::quoted(s));
      for (auto v = *lo; v <= *hi; ++v) out.push_back(v);
      continue;
    }
    auto v = parse_int(element);
    if (!v)
      return unexpected(std::string("must be a list of integers") +
                        (ranges ? " and ranges such as \"1,2,10-12\"" : "") + ", got " + ebb::quoted(s));
    out.push_back(*v);
  }
  return out;
}

namespace detail {


std::optional<std::string> convert_string(std::string_view raw, const Options&, std::string& out) {
  out = std::string(raw);
  return std::nullopt;
}

template <class T, class F>
static std::optional<std::string> assign(std::string_view raw, const Options& opt, T& out, F&& parse) {
  auto r = parse(raw);
  if (!r) {
    if (opt.secret) return std::string("invalid value (redacted)");
    return r.error();
  }
  out = std::move(*r);
  return std::nullopt;
}

std::optional<std::string> convert_bool(std::string_view raw, const Options& opt, bool& out) {
  return assign(raw, opt, out, parse_bool);
}
std::optional<std::string> convert_int(std::string_view raw, const Options& opt, std::int64_t& out) {
  return assign(raw, opt, out, parse_int);
}
std::optional<std::string> convert_float(std::string_view raw, const Options& opt, double& out) {
  return assign(raw, opt, out, parse_float);
}
std::optional<std::string> convert_duration(std::string_view raw, const Options& opt,
                                            std::chrono::milliseconds& out) {
  return assign(raw, opt, out, parse_duration);
}
std::optional<std::string> convert_list(std::string_view raw, const Options& opt,
                                        std::vector<std::string>& out) {
  out = split(raw, opt.separator);
  return std::nullopt;
}
std::optional<std::string> convert_int_list(std::string_view raw, const Options& opt,
                                            std::vector<std::int64_t>& out) {
  return assign(raw, opt, out,
                [&](std::string_view s) { return parse_int_list(s, opt.separator, opt.ranges); });
}
std::optional<std::string> convert_map(std::string_view raw, const Options& opt,
                                       std::map<std::string, std::string>& out) {
  return assign(raw, opt, out, [&](std::string_view s) { return parse_map(s, opt.separator); });
}

}  // namespace detail
}  // namespace ebb::scalers::params
