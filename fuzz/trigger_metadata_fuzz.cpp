// Every registered scaler's pure step (metadata + auth params + resolved env -> config and
// metric spec), chosen through the registry so a new scaler is fuzzed without touching this
// file. Parameter names come from the scaler's own parameter table, so the fuzzer reaches real
// parameters of any scaler without a seed per scaler.
//
// Input: byte 0 picks the definition, byte 1 the type name and the trigger flags, then lines:
//   #N[=value]   the scaler's parameter N (mod the table), in one of its sources; without a
//                value: its default, else its first allowed value, else "1"
//   key=value    metadata      @key=value  auth params      $key=value  resolved env
//   !name=x      the trigger's name            !metricType=x  its metricType
//
// Property besides memory safety: a value given to a parameter the table marks secret never
// appears in an error, a warning, the endpoint or the metric spec.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ebb/scalers/registry.h"
#include "fuzz_input.h"

namespace {

using namespace ebb;
using scalers::params::Source;

constexpr std::string_view kCanary = "EBBCANARY7f3";

// The fuzzer must not write the canary itself, or a harmless echo would count as a leak.
std::string clean(std::string_view s) {
  std::string out(s);
  for (auto at = out.find(kCanary); at != std::string::npos; at = out.find(kCanary))
    out.erase(at, 3);
  return out;
}

void check_no_canary(std::string_view where, std::string_view text) {
  if (text.find(kCanary) != std::string_view::npos)
    fuzz::fail("a secret parameter leaked", std::string(where) + ": " + std::string(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto& registry = scalers::Registry::builtin();
  static const auto definitions = registry.definitions();
  const auto& def = *definitions[data[0] % definitions.size()];
  static const std::vector<std::string> metric_types = {"", "AverageValue", "Value", "Utilization"};

  scalers::TriggerContext ctx;
  ctx.index = data[1] & 3u;
  ctx.type = def.types[(data[1] >> 2) % def.types.size()];
  ctx.as_metric_source = (data[1] & 0x40) != 0;
  ctx.use_cached_metrics = (data[1] & 0x80) != 0;
  ctx.metric_type = metric_types[(data[1] >> 4) & 3u];
  ctx.scaled_object_namespace = "default";
  ctx.scaled_object_name = "fuzz";
  const auto params = def.parameters ? def.parameters() : std::vector<scalers::params::ParamDoc>{};
  bool secret_given = false;

  std::string_view in = fuzz::as_text(data + 2, size - 2);
  while (!in.empty()) {
    std::string_view line = fuzz::take(in);
    if (line.empty()) continue;
    const char kind = line.front();
    std::string_view key = line, value;
    if (const auto eq = line.find('='); eq != std::string_view::npos) {
      key = line.substr(0, eq);
      value = line.substr(eq + 1);
    }
    if (kind == '#' && !params.empty()) {
      std::size_t n = 0;
      for (char c : key.substr(1)) n = n * 10 + static_cast<unsigned char>(c) % 10;
      const auto& doc = params[n % params.size()];
      const std::string& name = doc.names[(n / params.size()) % doc.names.size()];
      std::string v = clean(value);
      if (line.find('=') == std::string_view::npos) {
        v = doc.opts.default_value     ? *doc.opts.default_value
            : !doc.opts.one_of.empty() ? doc.opts.one_of.front()
                                       : "1";
      }
      if (doc.opts.secret && !v.empty()) {
        v = std::string(kCanary) + v;
        secret_given = true;
      }
      const Source source =
          doc.sources.empty() ? Source::Metadata : doc.sources[(n / 7) % doc.sources.size()];
      switch (source) {
        case Source::Metadata:
          ctx.metadata[name] = v;
          break;
        case Source::AuthParams:
          ctx.auth_params[name] = v;
          break;
        case Source::ResolvedEnv:
          ctx.metadata[name + "FromEnv"] = "FUZZ_" + name;
          ctx.resolved_env["FUZZ_" + name] = v;
          break;
      }
    } else if (kind == '@') {
      ctx.auth_params[clean(key.substr(1))] = clean(value);
    } else if (kind == '$') {
      ctx.resolved_env[clean(key.substr(1))] = clean(value);
    } else if (key == "!name") {
      ctx.name = clean(value);
    } else if (key == "!metricType") {
      ctx.metric_type = clean(value);
    } else {
      ctx.metadata[clean(key)] = clean(value);
    }
  }

  const auto warnings = registry.warnings(ctx);
  auto parsed = registry.parse(ctx);
  std::vector<std::pair<const char*, std::string>> texts;
  for (const auto& w : warnings) texts.emplace_back("warning", w.str());
  if (parsed.ok()) {
    const auto& config = **parsed;
    texts.emplace_back("endpoint", config.endpoint());
    const auto& spec = config.metric_spec();
    texts.emplace_back("metric name", spec.name);
    texts.emplace_back("target", spec.target_quantity);
  } else {
    for (const auto& e : parsed.error()) texts.emplace_back("error", e.str());
  }
  if (secret_given) {
    for (const auto& [where, text] : texts) check_no_canary(where, text);
  }
  return 0;
}
