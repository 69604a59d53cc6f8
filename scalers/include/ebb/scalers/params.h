// Declarative trigger-parameter parsing shared by every scaler (keda-compat §6.0).
//
// A scaler declares one table of parameters for its config struct:
//
//   static const params::Table<RedisConfig> kTable = params::Table<RedisConfig>()
//       .add(&RedisConfig::list_name, "listName", {M})
//       .add(&RedisConfig::list_length, "listLength", {M}, {.default_value = "5"})
//       .add(&RedisConfig::address, "address;addresses", {M, A, E}, {.optional = true});
//
// and one engine does lookup (names and aliases, sources in order, first non-empty trimmed
// value wins, `<name>FromEnv` indirection), defaults, enums, deprecation, type conversion, and
// produces uniform errors located by field path ("metadata.listLength: ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/scaler.h"

namespace ebb::scalers::params {

enum class Source { Metadata, AuthParams, ResolvedEnv };
inline constexpr Source M = Source::Metadata;
inline constexpr Source A = Source::AuthParams;
inline constexpr Source E = Source::ResolvedEnv;
using Sources = std::vector<Source>;

// KEDA's names for sources, used in messages: triggerMetadata, authParams, resolvedEnv.
std::string_view source_name(Source s);

struct Options {
  std::optional<std::string> default_value;  // used when absent from every source
  bool optional = false;                     // absent and no default: leave the field as is
  std::vector<std::string> one_of;           // enum; for lists every element must match
  std::string deprecated;     // non-empty: presence is an error with this message
  std::string announce;       // non-empty: presence is a warning with this message
  char separator = ',';       // lists and maps
  bool ranges = false;        // integer lists accept "a-b"
  bool secret = false;        // never quote the value in messages
};

// Where a value was found, for error paths ("metadata.listLength", "authParams.password",
// "metadata.passwordFromEnv").
struct Lookup {
  std::string value;
  std::string path;
  std::string name;  // the alias that matched
};

// One declared parameter, as docs and `ebb scalers` describe it.
struct ParamDoc {
  std::vector<std::string> names;  // canonical name first, then aliases
  Sources sources;
  Options opts;
  bool required() const { return !opts.optional && !opts.default_value && opts.deprecated.empty(); }
};

// Finds a parameter by any of `names` in `sources`, in order (first non-empty trimmed value).
std::optional<Lookup> lookup(const TriggerContext& ctx, const std::vector<std::string>& names,
                             const Sources& sources);

// Conversions with Go/KEDA semantics. They return an error message without the path.
Result<bool, std::string> parse_bool(std::string_view s);        // strconv.ParseBool
Result<std::int64_t, std::string> parse_int(std::string_view s); // JSON integer
Result<double, std::string> parse_float(std::string_view s);     // JSON number
// Go duration ("1h2m3.5s", "300ms") or a bare non-negative integer meaning milliseconds.
Result<std::chrono::milliseconds, std::string> parse_duration(std::string_view s);
// "k=v,k2=v2"; a pair without '=' is an error.
Result<std::map<std::string, std::string>, std::string> parse_map(std::string_view s, char sep);
// "1,2,10-12" (ranges only when allowed).
Result<std::vector<std::int64_t>, std::string> parse_int_list(std::string_view s, char sep,
                                                              bool ranges);

// Engine pieces used by Table (defined in params.cpp).
std::optional<FieldError> check_param(const std::optional<Lookup>& found,
                                      const std::vector<std::string>& names,
                                      const Sources& sources, const Options& opts,
                                      bool& use_default);
FieldErrors unknown_metadata_keys(const TriggerContext& ctx, const std::vector<std::string>& known);
std::vector<std::string> split_param_names(std::string_view names);
std::string quote_value(std::string_view s, bool secret);
// Path used for a defaulted value: the first source's prefix plus the canonical name.
std::string default_path(const Sources& sources, const std::string& name);
// Path for a cross-field message about a parameter (`names` as in Table::add, "name;alias"):
// where it was found, else where it belongs (default_path of the canonical name).
std::string path_of(const TriggerContext& ctx, std::string_view names, const Sources& sources);

namespace detail {
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

// Converts `raw` into T; returns an error message on failure.
template <class T>
std::optional<std::string> convert(std::string_view raw, const Options& opt, T& out);
}  // namespace detail

template <class Config>
class Table {
 public:
  // `names` is "name" or "name;alias;…"; the first is the canonical name used in messages.
  template <class T>
  Table&& add(T Config::*field, std::string_view names, Sources sources, Options opts = {}) && {
    add_impl(field, names, std::move(sources), std::move(opts));
    return std::move(*this);
  }
  template <class T>
  Table& add(T Config::*field, std::string_view names, Sources sources, Options opts = {}) & {
    add_impl(field, names, std::move(sources), std::move(opts));
    return *this;
  }

  // Fills `out` from ctx; every problem is reported, not only the first.
  FieldErrors parse(const TriggerContext& ctx, Config& out) const {
    FieldErrors errors;
    for (const auto& p : params_) p.apply(ctx, out, errors);
    return errors;
  }

  // Metadata keys this table does not know (also accepting "<name>FromEnv"), each with a
  // "did you mean" hint when one is close. Never fatal.
  FieldErrors unknown_metadata_keys(const TriggerContext& ctx) const {
    return params::unknown_metadata_keys(ctx, known_names());
  }
  // A scaler's non-fatal findings (ScalerDefinition::warnings): unknown metadata keys, then
  // announcements of deprecated parameters.
  FieldErrors warnings(const TriggerContext& ctx) const {
    FieldErrors out = unknown_metadata_keys(ctx);
    FieldErrors announced = announcements(ctx);
    out.insert(out.end(), announced.begin(), announced.end());
    return out;
  }
  // Warnings for present parameters that carry an `announce` message.
  FieldErrors announcements(const TriggerContext& ctx) const {
    FieldErrors out;
    for (const auto& p : params_)
      if (!p.opts.announce.empty())
        if (auto v = lookup(ctx, p.names, p.sources))
          out.push_back({v->path, "parameter " + quote_value(p.names.front(), false) + " is deprecated: " +
                                      p.opts.announce});
    return out;
  }

  std::vector<ParamDoc> describe() const {
    std::vector<ParamDoc> out;
    for (const auto& p : params_) out.push_back({p.names, p.sources, p.opts});
    return out;
  }

  std::vector<std::string> known_names() const {
    std::vector<std::string> out;
    for (const auto& p : params_) out.insert(out.end(), p.names.begin(), p.names.end());
    return out;
  }

 private:
  struct Param {
    std::vector<std::string> names;
    Sources sources;
    Options opts;
    std::function<void(const TriggerContext&, Config&, FieldErrors&, const Param&)> fn;
    void apply(const TriggerContext& c, Config& o, FieldErrors& e) const { fn(c, o, e, *this); }
  };

  template <class T>
  void add_impl(T Config::*field, std::string_view names, Sources sources, Options opts) {
    Param p{split_param_names(names), std::move(sources), std::move(opts), {}};
    p.fn = [field](const TriggerContext& ctx, Config& out, FieldErrors& errors, const Param& self) {
      const auto found = lookup(ctx, self.names, self.sources);
      bool use_default = false;
      if (auto err = check_param(found, self.names, self.sources, self.opts, use_default)) {
        errors.push_back(*std::move(err));
        return;
      }
      std::string raw;
      std::string path;
      if (found) {
        raw = found->value;
        path = found->path;
      } else if (use_default) {
        raw = *self.opts.default_value;
        path = default_path(self.sources, self.names.front());
      } else {
        return;  // optional and absent
      }
      if (auto msg = detail::convert(raw, self.opts, out.*field)) {
        errors.push_back({path, *msg});
      }
    };
    params_.push_back(std::move(p));
  }

  std::vector<Param> params_;
};

namespace detail {
std::optional<std::string> convert_string(std::string_view raw, const Options& opt, std::string& out);
std::optional<std::string> convert_bool(std::string_view raw, const Options& opt, bool& out);
std::optional<std::string> convert_int(std::string_view raw, const Options& opt, std::int64_t& out);
std::optional<std::string> convert_float(std::string_view raw, const Options& opt, double& out);
std::optional<std::string> convert_duration(std::string_view raw, const Options& opt,
                                            std::chrono::milliseconds& out);
std::optional<std::string> convert_list(std::string_view raw, const Options& opt,
                                        std::vector<std::string>& out);
std::optional<std::string> convert_int_list(std::string_view raw, const Options& opt,
                                            std::vector<std::int64_t>& out);
std::optional<std::string> convert_map(std::string_view raw, const Options& opt,
                                       std::map<std::string, std::string>& out);

template <class T>
std::optional<std::string> convert(std::string_view raw, const Options& opt, T& out) {
  if constexpr (is_optional<T>::value) {
    typename T::value_type v{};
    auto err = convert(raw, opt, v);
    if (!err) out = std::move(v);
    return err;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return convert_string(raw, opt, out);
  } else if constexpr (std::is_same_v<T, bool>) {
    return convert_bool(raw, opt, out);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return convert_int(raw, opt, out);
  } else if constexpr (std::is_integral_v<T>) {
    std::int64_t v = 0;
    if (auto err = convert_int(raw, opt, v)) return err;
    if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
        v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
      return "must be an integer in range, got " + quote_value(raw, opt.secret);
    out = static_cast<T>(v);
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, double>) {
    return convert_float(raw, opt, out);
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    return convert_duration(raw, opt, out);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return convert_list(raw, opt, out);
  } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    return convert_int_list(raw, opt, out);
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    return convert_map(raw, opt, out);
  } else {
    static_assert(sizeof(T) == 0, "unsupported parameter type");
  }
}
}  // namespace detail

}  // namespace ebb::scalers::params
