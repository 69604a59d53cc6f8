#include "external/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ebb/strings.h"

namespace ebb::scalers::external {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

double thousandths(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string metric_name_with_index(std::size_t index, std::string_view name) {
  return "s" + std::to_string(index) + "-" + std::string(name);
}

Result<std::string> remove_index_from_metric_name(std::size_t index, std::string_view name) {
  const auto dash = name.find('-');
  if (dash == std::string_view::npos) return fail("metric name without index prefix");
  if (name.substr(0, dash) != "s" + std::to_string(index))
    return fail("metric name contains incorrect index prefix");
  return std::string(name.substr(dash + 1));
}

ScaledObjectRef scaled_object_ref(const TriggerContext& ctx) {
  ScaledObjectRef ref;
  ref.name = ctx.scaled_object_name;
  ref.ns = ctx.scaled_object_namespace;
  for (const auto& [key, value] : ctx.metadata) {
    if (!ends_with(key, "FromEnv")) {
      ref.scaler_metadata[key] = value;
      continue;
    }
    const auto env = ctx.resolved_env.find(value);
    if (env != ctx.resolved_env.end() && !env->second.empty())
      ref.scaler_metadata[key] = env->second;
  }
  return ref;
}

bool use_tls(bool enable_tls, const std::string& ca, const std::string& cert,
             const std::string& key) {
  return enable_tls || (!cert.empty() && !key.empty()) || !ca.empty();
}

double spec_target(const MetricSpecEntry& spec) {
  if (spec.target_size_float > 0)
    return std::isfinite(spec.target_size_float) ? thousandths(spec.target_size_float) : 0;
  return static_cast<double>(spec.target_size);
}

double served_value(const MetricValueEntry& value) {
  const double v = value.metric_value_float > 0 ? value.metric_value_float
                                                : static_cast<double>(value.metric_value);
  if (!std::isfinite(v) || v < 0) return 0;
  return thousandths(v);
}

Result<double> load_percent(const std::vector<MetricReading>& readings) {
  if (readings.empty()) return fail("got empty metric spec");
  double load = 0;
  for (const auto& r : readings) {
    if (!(r.target > 0))
      return fail("metric " + r.name + " has target " + number_text(r.target) +
                  " (GetMetricSpec); an HPA target must be greater than 0");
    if (r.values.empty()) return fail("GetMetrics returned no value for metric " + r.name);
    double sum = 0;
    for (const auto& v : r.values) sum += served_value(v);
    load = std::max(load, sum / r.target);
  }
  return load * static_cast<double>(kLoadTarget);
}

}  // namespace ebb::scalers::external
