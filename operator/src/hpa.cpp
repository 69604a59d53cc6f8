#include "ebb/operator/hpa.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "ebb/api/annotations.h"
#include "ebb/json.h"
#include "ebb/scalers/quantity.h"
#include "ebb/strings.h"

namespace ebb::op {

using nlohmann::json;

std::string hpa_name_label(std::string_view hpa_name) {
  std::string out(hpa_name.substr(0, api::kMaxLabelValueLength));
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

namespace {

json metric_target(scalers::MetricTargetType type, const std::string& quantity) {
  if (type == scalers::MetricTargetType::Value) return json{{"type", "Value"}, {"value", quantity}};
  return json{{"type", "AverageValue"}, {"averageValue", quantity}};
}

json external_metric(const std::string& name, const std::string& so_name, json target) {
  return json{{"type", "External"},
              {"external",
               {{"metric",
                 {{"name", name},
                  {"selector", {{"matchLabels", {{std::string(api::kScaledObjectNameLabel), so_name}}}}}}},
                {"target", std::move(target)}}}};
}

json resource_metric(const scalers::MetricSpec& spec) {
  const auto& r = *spec.resource;
  json target = spec.target_type == scalers::MetricTargetType::Utilization
                    ? json{{"type", "Utilization"}, {"averageUtilization", static_cast<std::int32_t>(spec.target)}}
                    : json{{"type", "AverageValue"}, {"averageValue", spec.target_quantity}};
  if (!r.container_name.empty())
    return json{{"type", "ContainerResource"},
                {"containerResource", {{"name", r.resource}, {"container", r.container_name}, {"target", target}}}};
  return json{{"type", "Resource"}, {"resource", {{"name", r.resource}, {"target", target}}}};
}

}  // namespace

Result<DesiredHpa> build_hpa(const api::ScaledObject& so, const cluster::ScaleTargetGVKR& target,
                             const std::vector<cluster::TriggerMetric>& metrics, const HpaOptions& options) {
  DesiredHpa out;
  out.name = api::hpa_name(so);
  const auto& so_name = so.metadata.name;

  std::vector<json> specs;
  std::set<std::string> seen;
  for (const auto& m : metrics) {
    const auto& spec = m.spec;
    if (spec.external()) {
      if (!seen.insert(spec.name).second)
        return fail("metricName " + spec.name + " defined multiple times in ScaledObject " + so_name);
      out.external_metric_names.push_back(spec.name);
      specs.push_back(external_metric(spec.name, so_name, metric_target(spec.target_type, spec.target_quantity)));
    } else {
      if (spec.resource->container_name.empty()) out.resource_metric_names.push_back(spec.resource->resource);
      specs.push_back(resource_metric(spec));
    }
  }

  if (const auto* modifiers = so.spec.scaling_modifiers()) {
    double value = 0;
    const auto text = std::string(trim(modifiers->target));
    if (text.empty() || !scalers::parse_quantity(text, value) || !(value > 0) || !std::isfinite(value))
      return fail("error validating formula/target in ScalingModifiers: target " + ebb::quoted(modifiers->target) +
                  " must be a number greater than 0");
    const auto type = modifiers->metric_type_or_default();
    if (type != "AverageValue" && type != "Value")
      return fail("error validating formula/target in ScalingModifiers: metricType " + ebb::quoted(type) +
                  " is not supported: 'AverageValue' or 'Value'");
    std::vector<json> kept;
    for (auto& s : specs)
      if (s["type"] == "Resource") kept.push_back(std::move(s));
    kept.push_back(external_metric(
        std::string(kCompositeMetricName), so_name,
        metric_target(type == "Value" ? scalers::MetricTargetType::Value
                                      : scalers::MetricTargetType::AverageValue,
                      scalers::milli_int_quantity(scalers::round_to_int64(value * 1000)))));
    specs = std::move(kept);
    out.composite_scaler_name = std::string(kCompositeMetricName);
  }

  if (specs.empty())
    return fail("no metric specs returned from scalers for ScaledObject " + so.metadata.namespace_ + "/" + so_name);
  // By metric source type name (ContainerResource < External < Resource), trigger order within a type.
  std::stable_sort(specs.begin(), specs.end(), [](const json& a, const json& b) {
    return a["type"].get<std::string>() < b["type"].get<std::string>();
  });

  json labels = {{"app.kubernetes.io/name", hpa_name_label(out.name)},
                 {"app.kubernetes.io/version", options.version},
                 {"app.kubernetes.io/part-of", so_name},
                 {"app.kubernetes.io/managed-by", std::string(kManagedByValue)}};
  std::set<std::string> excluded;
  if (auto it = so.metadata.annotations.find(std::string(api::kHpaExcludedLabelsAnnotation));
      it != so.metadata.annotations.end())
    for (auto& key : split(it->second, ','))
      if (!key.empty()) excluded.insert(key);
  for (const auto& [k, v] : so.metadata.labels)
    if (!excluded.count(k)) labels[k] = v;
  json annotations = json::object();
  for (const auto& [k, v] : so.metadata.annotations) annotations[k] = v;

  json spec = {{"scaleTargetRef", {{"apiVersion", target.api_version()}, {"kind", target.kind}, {"name", so.spec.scale_target_ref.name}}},
               {"minReplicas", so.spec.hpa_min_replicas()},
               {"maxReplicas", so.spec.hpa_max_replicas()},
               {"metrics", specs}};

  std::optional<json> behavior;
  if (so.spec.advanced && so.spec.advanced->horizontal_pod_autoscaler_config &&
      so.spec.advanced->horizontal_pod_autoscaler_config->behavior)
    behavior = *so.spec.advanced->horizontal_pod_autoscaler_config->behavior;
  const bool pause_in = api::bool_annotation(so.metadata.annotations, api::kPausedScaleInAnnotation);
  const bool pause_out = api::bool_annotation(so.metadata.annotations, api::kPausedScaleOutAnnotation);
  if (pause_in || pause_out) {
    if (!behavior || !behavior->is_object()) behavior = json::object();
    if (pause_in) {
      if (!(*behavior)["scaleDown"].is_object()) (*behavior)["scaleDown"] = json::object();
      (*behavior)["scaleDown"]["selectPolicy"] = "Disabled";
    }
    if (pause_out) {
      if (!(*behavior)["scaleUp"].is_object()) (*behavior)["scaleUp"] = json::object();
      (*behavior)["scaleUp"]["selectPolicy"] = "Disabled";
    }
  }
  if (behavior && !behavior->is_null()) spec["behavior"] = *behavior;

  out.hpa = json{{"apiVersion", "autoscaling/v2"},
                 {"kind", "HorizontalPodAutoscaler"},
                 {"metadata",
                  {{"name", out.name},
                   {"namespace", so.metadata.namespace_},
                   {"labels", labels},
                   {"annotations", annotations},
                   {"ownerReferences",
                    json::array({{{"apiVersion", so.api_version},
                                  {"kind", so.kind},
                                  {"name", so_name},
                                  {"uid", so.metadata.uid},
                                  {"controller", true},
                                  {"blockOwnerDeletion", true}}})}}},
                 {"spec", spec}};
  return out;
}

std::string controller_uid(const json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return {};
  const auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return {};
  for (const auto& r : *refs)
    if (r.is_object() && r.value("controller", false)) return r.value("uid", std::string());
  return {};
}

namespace {

bool quantity_key(const std::string& key) { return key == "averageValue" || key == "value"; }

// Every member of `want` is present in `have` with an equal value (recursively; arrays must have
// the same length and be element-wise subsets; quantities compare by value).
bool semantic_subset(const json& want, const json& have, const std::string& key = "") {
  if (want.is_object()) {
    if (!have.is_object()) return false;
    for (auto it = want.begin(); it != want.end(); ++it) {
      auto h = have.find(it.key());
      if (h == have.end()) {
        if (it->is_null()) continue;
        return false;
      }
      if (!semantic_subset(*it, *h, it.key())) return false;
    }
    return true;
  }
  if (want.is_array()) {
    if (!have.is_array() || have.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
      if (!semantic_subset(want[i], have[i])) return false;
    return true;
  }
  if (quantity_key(key) && want.is_string() && have.is_string()) {
    double a = 0, b = 0;
    if (scalers::parse_quantity(want.get<std::string>(), a) && scalers::parse_quantity(have.get<std::string>(), b))
      return a == b;
  }
  if (want.is_number() && have.is_number()) return want.get<double>() == have.get<double>();
  return want == have;
}

}  // namespace

bool hpa_needs_update(const json& desired, const json& live) {
  const auto& dspec = json_member(desired, "spec");
  const auto& lspec = json_member(live, "spec");
  const auto& dmetrics = json_member(dspec, "metrics");
  const auto& lmetrics = json_member(lspec, "metrics");
  if ((dmetrics.is_array() ? dmetrics.size() : 0) != (lmetrics.is_array() ? lmetrics.size() : 0)) return true;
  // behavior: the desired rules must be in the live ones (a real API server fills defaults
  // into a set behavior, so plain equality would update forever), and a directional pause must
  // be lifted when its annotation goes (selectPolicy Disabled live but not desired).
  const auto& dbehavior = json_member(dspec, "behavior");
  const auto& lbehavior = json_member(lspec, "behavior");
  if (!dbehavior.is_null() && !semantic_subset(dbehavior, lbehavior)) return true;
  for (const char* direction : {"scaleUp", "scaleDown"}) {
    const bool live_disabled = json_member(json_member(lbehavior, direction), "selectPolicy") == "Disabled";
    const bool want_disabled = json_member(json_member(dbehavior, direction), "selectPolicy") == "Disabled";
    if (live_disabled != want_disabled) return true;
  }
  // Behavior removed from the ScaledObject (the server leaves an unset behavior unset).
  if (dbehavior.is_null() && !lbehavior.is_null()) return true;
  if (!semantic_subset(dspec, lspec)) return true;
  const auto& dmeta = json_member(desired, "metadata");
  const auto& lmeta = json_member(live, "metadata");
  for (const char* k : {"labels", "annotations"}) {
    const auto& d = json_member(dmeta, k);
    if (d.is_object() && !d.empty() && !semantic_subset(d, json_member(lmeta, k).is_null() ? json::object() : json_member(lmeta, k)))
      return true;
  }
  return controller_uid(desired) != controller_uid(live);
}

}  // namespace ebb::op
