// Trigger types cpu and memory (keda-compat §6.8, pkg/scalers/cpu_memory_scaler.go): the HPA's
// own Resource metric, or a ContainerResource metric with `containerName`. metrics-server
// supplies the values to the HPA directly, so these triggers have no external metric, nothing
// polls them, and they take part in neither fallback nor scalingModifiers formulas.
//
// Differences from KEDA, on purpose: a Utilization that is not a positive integer and an
// AverageValue that is not a positive quantity are errors here (KEDA accepts 0 and negative
// percentages, which the API server then refuses in the HPA, and panics on a malformed
// quantity).
#include <cstdint>
#include <limits>
#include <memory>

#include "builtin.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/strings.h"

namespace ebb::scalers {
namespace {

using namespace params;

struct ResourceConfig {
  std::string value;
  std::string container_name;
  std::string removed_type;
};

const Table<ResourceConfig>& table() {
  static const Table<ResourceConfig> instance = [] {
    Table<ResourceConfig> t;
    t.add(&ResourceConfig::value, "value", {M});
    t.add(&ResourceConfig::container_name, "containerName", {M}, {.optional = true});
    t.add(&ResourceConfig::removed_type, "type", {M},
          {.optional = true,
           .deprecated = "The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead."});
    return t;
  }();
  return instance;
}

class ResourceTrigger final : public TriggerConfig {
 public:
  explicit ResourceTrigger(MetricSpec spec) : spec_(std::move(spec)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "metrics-server (" + spec_.resource->resource + ")"; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools&) const override {
    return fail("a " + spec_.resource->resource + " trigger is evaluated by the HPA from resource metrics; "
                "there is nothing to poll");
  }

 private:
  MetricSpec spec_;
};

ParseResult parse(const TriggerContext& ctx) {
  ResourceConfig c;
  FieldErrors errors = table().parse(ctx, c);

  MetricSpec spec;
  spec.name = ctx.type;
  spec.resource = ResourceMetric{ctx.type, c.container_name};
  if (ctx.metric_type == "Utilization") {
    spec.target_type = MetricTargetType::Utilization;
  } else if (ctx.metric_type == "AverageValue") {
    spec.target_type = MetricTargetType::AverageValue;
  } else {
    errors.push_back({"metricType", "unknown metric type: " + ctx.metric_type +
                                        ", allowed values are 'Utilization' or 'AverageValue'"});
  }
  const auto value_path = path_of(ctx, "value", {M});
  if (!c.value.empty() && ctx.metric_type == "Utilization") {
    auto percent = parse_int(c.value);
    if (!percent || *percent <= 0 || *percent > std::numeric_limits<std::int32_t>::max())
      errors.push_back({value_path, "invalid value " + quoted(c.value) + ": must be a positive integer percentage"});
    else
      spec.target = static_cast<double>(*percent);
  } else if (!c.value.empty() && ctx.metric_type == "AverageValue") {
    double q = 0;
    if (!parse_quantity(c.value, q) || !(q > 0))
      errors.push_back({value_path, "invalid value " + quoted(c.value) + ": must be a positive quantity such as "
                                    "\"500m\" or \"512Mi\""});
    spec.target = q;
    spec.target_quantity = c.value;
  }
  if (!errors.empty()) return unexpected(std::move(errors));
  return std::unique_ptr<TriggerConfig>(std::make_unique<ResourceTrigger>(std::move(spec)));
}

}  // namespace

void register_cpu_memory_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"cpu", "memory"},
                                .keda_name = "cpuMemoryScaler",
                                .summary = "average cpu or memory use of the pods (HPA resource metric, not polled)",
                                .source = MetricSource::Resource,
                                .cached_metrics = false,
                                .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
