// Trigger type kubernetes-resource (pkg/scalers/kubernetes_resource_scaler.go; notes
// spec-cron-k8s-cpumem §3): a number read from one key of a ConfigMap's data or a Secret's data
// in the ScaledObject's namespace: the whole value (format number: Go's Sscanf %f or %d, or a
// Kubernetes quantity), or a value inside it at valueLocation (format json: a gjson path; yaml:
// KEDA's dotted GetValueByPath). kubernetes/values.h reproduces Go's parsing. Objects come from
// kubernetes::Objects: in the adapter an informer per (kind, namespace) shared by every trigger,
// so a poll puts no request on the API server.
//
// A Secret's value never appears in a message: where KEDA quotes the text it could not parse,
// Ebb writes <redacted>.
//
// Differences from KEDA, on purpose:
// - resourceKind, format and valueType accept one value: KEDA's enum check lets
//   "ConfigMap,Secret" through and then fails every poll with "unsupported resourceKind".
// - valueLocation for json is a subset of gjson's syntax (dotted keys, \ escapes, * and ?
//   wildcards, array indexes, # and #.key); modifiers, pipes, queries, multipaths and literals
//   are refused when the trigger is parsed. Malformed JSON is "path … not found in json" (gjson
//   may read a value that precedes the fault); with duplicate keys the first counts, as in gjson.
// - YAML is parsed by yaml-cpp: scalars are typed as yaml.v3 types them, but the texts of syntax
//   errors differ from yaml.v3's.
// - Each problem is reported once, at its field; KEDA's Validate() stops at its first finding
//   and doubles its "error parsing kubernetes resource metadata" prefix.
#include <memory>

#include "builtin.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/strings.h"
#include "kubernetes/cluster.h"
#include "kubernetes/values.h"

namespace ebb::scalers {
namespace {

using namespace params;

struct ResourceConfig {
  std::string kind;
  std::string name;
  std::string key;
  std::string format;
  std::string value_location;
  std::string value_type;
  double target_value = 0;
  double activation_target_value = 0;
};

const Table<ResourceConfig>& table() {
  static const Table<ResourceConfig> instance = [] {
    Table<ResourceConfig> t;
    t.add(&ResourceConfig::kind, "resourceKind", {M}, {.one_of = {"ConfigMap", "Secret"}});
    t.add(&ResourceConfig::name, "resourceName", {M});
    t.add(&ResourceConfig::key, "key", {M});
    t.add(&ResourceConfig::format, "format", {M},
          {.default_value = "number", .one_of = {"number", "json", "yaml"}});
    t.add(&ResourceConfig::value_location, "valueLocation", {M}, {.optional = true});
    t.add(&ResourceConfig::value_type, "valueType", {M},
          {.default_value = "float64", .one_of = {"float64", "int64", "quantity"}});
    t.add(&ResourceConfig::target_value, "targetValue", {M});
    t.add(&ResourceConfig::activation_target_value, "activationTargetValue", {M},
          {.default_value = "0"});
    return t;
  }();
  return instance;
}

struct Source {
  std::string ns;
  ResourceConfig config;
  kubernetes::Format format = kubernetes::Format::Number;
  kubernetes::ValueType value_type = kubernetes::ValueType::Float64;
  bool secret() const { return config.kind == "Secret"; }
  std::string object() const { return config.kind + " " + ns + "/" + config.name; }
};

class ResourceScaler final : public Scaler {
 public:
  ResourceScaler(kubernetes::Objects& objects, Source source)
      : objects_(objects), source_(std::move(source)) {}

  Result<PollResult> poll() override {
    auto value = read();
    if (!value)
      return fail(
          "error getting metric value from " + source_.config.kind + ": " + value.error().message,
          value.error().transient);
    return PollResult{*value, *value > source_.config.activation_target_value};
  }

 private:
  Result<double> read() {
    const auto& c = source_.config;
    const bool secret = source_.secret();
    auto got =
        objects_.get(secret ? kubernetes::kSecrets : kubernetes::kConfigMaps, source_.ns, c.name);
    if (!got)
      return fail("error getting " + source_.object() + ": " + got.error().message,
                  got.error().transient);
    if (!*got)
      return fail("error getting " + source_.object() + ": " + (secret ? "secrets" : "configmaps") +
                  " \"" + c.name + "\" not found");
    const auto& object = **got;
    const auto data = object.find("data");
    const auto missing = [&] { return fail("key " + c.key + " not found in " + source_.object()); };
    if (data == object.end() || !data->is_object()) return missing();
    const auto entry = data->find(c.key);
    if (entry == data->end() || !entry->is_string()) return missing();
    std::string raw = entry->get<std::string>();
    if (secret) {
      auto decoded = base64_decode(raw);
      if (!decoded)
        return fail("key " + c.key + " of " + source_.object() +
                    " is not base64 as Secret data must be");
      raw = std::move(*decoded);
    }
    auto value =
        kubernetes::parse_value(raw, source_.format, source_.value_type, c.value_location, secret);
    if (!value) return fail(value.error());
    return *value;
  }

  kubernetes::Objects& objects_;
  const Source source_;
};

class ResourceTrigger final : public TriggerConfig {
 public:
  ResourceTrigger(MetricSpec spec, Source source)
      : spec_(std::move(spec)), source_(std::move(source)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override {
    return "kubernetes " + source_.object() + " key " + ebb::quoted(source_.config.key);
  }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    auto objects = kubernetes::cluster_objects(pools);
    if (!objects) return unexpected(objects.error());
    return std::unique_ptr<Scaler>(std::make_unique<ResourceScaler>(**objects, source_));
  }

 private:
  MetricSpec spec_;
  Source source_;
};

bool has_error_at(const FieldErrors& errors, const std::string& path) {
  for (const auto& e : errors)
    if (e.path == path) return true;
  return false;
}

ParseResult parse(const TriggerContext& ctx) {
  ResourceConfig c;
  FieldErrors errors = table().parse(ctx, c);

  // The table checks each comma-separated piece against the enum, as KEDA does; one value only.
  const std::vector<std::pair<const char*, std::vector<std::string>>> enums = {
      {"resourceKind", {"ConfigMap", "Secret"}},
      {"format", {"number", "json", "yaml"}},
      {"valueType", {"float64", "int64", "quantity"}}};
  for (const auto& [name, values] : enums) {
    const auto path = path_of(ctx, name, {M});
    if (auto found = lookup(ctx, {name}, {M});
        found && found->value.find(',') != std::string::npos && !has_error_at(errors, path))
      errors.push_back(
          {path, "must be one of [" + join(values, ", ") + "], got " + ebb::quoted(found->value)});
  }

  const auto target_path = path_of(ctx, "targetValue", {M});
  if (c.target_value <= 0 && !ctx.as_metric_source && !has_error_at(errors, target_path))
    errors.push_back({target_path, "targetValue must be a float greater than 0"});
  const auto location_path = path_of(ctx, "valueLocation", {M});
  if (c.format == "number" && !c.value_location.empty())
    errors.push_back({location_path, "valueLocation is only supported with json or yaml format"});
  if ((c.format == "json" || c.format == "yaml") && c.value_location.empty())
    errors.push_back({location_path, "valueLocation is required for " + c.format + " format"});
  if (c.format == "json" && !c.value_location.empty())
    if (auto unsupported = kubernetes::unsupported_json_path(c.value_location))
      errors.push_back({location_path, *unsupported});
  if (!errors.empty()) return unexpected(std::move(errors));

  Source source{ctx.scaled_object_namespace, c};
  source.format = c.format == "json"   ? kubernetes::Format::Json
                  : c.format == "yaml" ? kubernetes::Format::Yaml
                                       : kubernetes::Format::Number;
  source.value_type = c.value_type == "int64"      ? kubernetes::ValueType::Int64
                      : c.value_type == "quantity" ? kubernetes::ValueType::Quantity
                                                   : kubernetes::ValueType::Float64;
  auto spec = external_metric(ctx, to_lower(c.kind) + "-" + c.name + "-" + c.key, c.target_value,
                              c.activation_target_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<ResourceTrigger>(std::move(spec), std::move(source)));
}

}  // namespace

void register_kubernetes_resource_scaler(Registry& registry) {
  registry.add(ScalerDefinition{
      .types = {"kubernetes-resource"},
      .keda_name = "kubernetesResourceScaler",
      .summary = "a number in one key of a ConfigMap or Secret in the ScaledObject's "
                 "namespace (plain, or inside JSON or YAML)",
      .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
