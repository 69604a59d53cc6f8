// cpu and memory (keda-compat §6.8): HPA resource metrics through the registry like any type.
#include <catch2/catch.hpp>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"

using namespace ebb::scalers;

namespace {

TriggerContext ctx(const std::string& type, const std::string& metric_type, std::map<std::string, std::string> md) {
  TriggerContext c;
  c.type = type;
  c.metric_type = metric_type;
  c.metadata = std::move(md);
  return c;
}

std::vector<std::string> errors(const TriggerContext& c) {
  auto parsed = Registry::builtin().parse(c);
  std::vector<std::string> out;
  if (!parsed) for (const auto& e : parsed.error()) out.push_back(e.str());
  return out;
}

}  // namespace

TEST_CASE("cpu/memory: KEDA's parameter table (TestCPUMemoryParseMetadata)") {
  CHECK(errors(ctx("cpu", "", {})) ==
        std::vector<std::string>{"metadata.value: missing required parameter \"value\" in [triggerMetadata]",
                                 "metricType: unknown metric type: , allowed values are 'Utilization' or "
                                 "'AverageValue'"});
  CHECK(errors(ctx("cpu", "Utilization", {{"value", "50"}})).empty());
  CHECK(errors(ctx("memory", "AverageValue", {{"value", "50"}})).empty());
  CHECK(errors(ctx("cpu", "Value", {{"value", "50"}})) ==
        std::vector<std::string>{"metricType: unknown metric type: Value, allowed values are 'Utilization' or "
                                 "'AverageValue'"});
  CHECK(errors(ctx("cpu", "Utilization", {{"value", ""}})) ==
        std::vector<std::string>{"metadata.value: missing required parameter \"value\" in [triggerMetadata]"});
  // The removed `type` parameter is an error naming its replacement.
  CHECK(errors(ctx("cpu", "Utilization", {{"value", "50"}, {"type", "Utilization"}})) ==
        std::vector<std::string>{"metadata.type: parameter \"type\" is deprecated: The 'type' setting is "
                                 "DEPRECATED and is removed in v2.18 - Use 'metricType' instead."});
}

TEST_CASE("cpu/memory: values the HPA would refuse are errors naming the value") {
  CHECK(errors(ctx("cpu", "Utilization", {{"value", "50%"}})) ==
        std::vector<std::string>{"metadata.value: invalid value \"50%\": must be a positive integer percentage"});
  CHECK(errors(ctx("cpu", "Utilization", {{"value", "0"}})).size() == 1);
  CHECK(errors(ctx("memory", "AverageValue", {{"value", "lots"}})) ==
        std::vector<std::string>{"metadata.value: invalid value \"lots\": must be a positive quantity such as "
                                 "\"500m\" or \"512Mi\""});
}

TEST_CASE("cpu/memory: a Resource or ContainerResource metric, never an external one") {
  auto cpu = Registry::builtin().parse(ctx("cpu", "Utilization", {{"value", "60"}}));
  REQUIRE(cpu);
  const auto& spec = (*cpu)->metric_spec();
  REQUIRE(spec.resource);
  CHECK_FALSE(spec.external());
  CHECK(spec.name == "cpu");
  CHECK(spec.resource->resource == "cpu");
  CHECK(spec.resource->container_name.empty());
  CHECK(spec.target_type == MetricTargetType::Utilization);
  CHECK(spec.target == 60);

  auto memory = Registry::builtin().parse(ctx("memory", "AverageValue", {{"value", "512Mi"}, {"containerName", "app"}}));
  REQUIRE(memory);
  const auto& m = (*memory)->metric_spec();
  CHECK(m.resource->resource == "memory");
  CHECK(m.resource->container_name == "app");
  CHECK(m.target_type == MetricTargetType::AverageValue);
  CHECK(m.target_quantity == "512Mi");
  CHECK(m.target == 512.0 * 1024 * 1024);
}

TEST_CASE("cpu/memory: the registry knows them as resource metrics without cached metrics") {
  const auto* def = Registry::builtin().find("memory");
  REQUIRE(def);
  CHECK(def->source == MetricSource::Resource);
  CHECK_FALSE(def->cached_metrics);
  CHECK(def->keda_name == "cpuMemoryScaler");
  CHECK(Registry::builtin().is_resource("cpu"));
  CHECK_FALSE(Registry::builtin().is_resource("redis"));
}
