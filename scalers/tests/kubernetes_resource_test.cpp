// Pure tests of the kubernetes-resource scaler: KEDA's kubernetes_resource_scaler_test.go tables
// (metadata, activity and values, metric names, poll errors) with exact texts, Go's parsing of
// the value (fmt.Sscanf, resource.ParseQuantity, gjson paths, yaml.v3 typing) and Secret values
// kept out of messages. The informer-backed cluster view is in integration/.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "kubernetes/values.h"
#include "kubernetes_fake_objects.h"

using namespace ebb;
using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using nlohmann::json;
namespace kv = ebb::scalers::kubernetes;

namespace {

TriggerContext trigger(Map metadata, std::string ns = "test", std::size_t index = 0) {
  TriggerContext c;
  c.type = "kubernetes-resource";
  c.index = index;
  c.metadata = std::move(metadata);
  c.scaled_object_namespace = std::move(ns);
  return c;
}

std::vector<std::string> errors_of(const ParseResult& r) {
  std::vector<std::string> out;
  if (!r)
    for (const auto& e : r.error()) out.push_back(e.str());
  return out;
}

ParseResult parse(const TriggerContext& c) {
  return Registry::builtin().parse(c);
}

json config_map(const std::string& name, const std::string& ns, const Map& data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", data}};
}

json secret(const std::string& name, const std::string& ns, const Map& data) {
  json encoded = json::object();
  for (const auto& [k, v] : data) encoded[k] = base64_encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", encoded}};
}

struct Cluster {
  std::shared_ptr<test::FakeObjects> objects = std::make_shared<test::FakeObjects>();
  ConnectionPools pools;
  Cluster() { pools.provide<kv::Objects>(objects); }
  Result<PollResult> poll(const TriggerContext& c) {
    auto parsed = parse(c);
    INFO((parsed ? std::string() : errors_of(parsed).front()));
    REQUIRE(parsed);
    auto scaler = parsed.value()->create_scaler(pools);
    REQUIRE(scaler);
    return scaler.value()->poll();
  }
};

Map cm(Map extra = {}) {
  Map m = {{"resourceKind", "ConfigMap"},
           {"resourceName", "my-config"},
           {"key", "threshold"},
           {"targetValue", "10"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

std::string value_error(std::string_view raw, kv::Format f, kv::ValueType t,
                        std::string_view loc = "", bool secret = false) {
  auto r = kv::parse_value(raw, f, t, loc, secret);
  return r ? "ok" : r.error();
}

double value_of(std::string_view raw, kv::Format f, kv::ValueType t, std::string_view loc = "") {
  auto r = kv::parse_value(raw, f, t, loc, false);
  INFO(std::string(raw) << " -> " << (r ? std::string() : r.error()));
  REQUIRE(r);
  return *r;
}

const std::string kTypeError =
    "valueLocation must point to value of type number or a string representing a Quantity, got: ";
const std::string kQuantityError =
    "error parsing value as quantity: quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

}  // namespace

TEST_CASE(
    "kubernetes-resource: KEDA's TestParseKubernetesResourceMetadata rows, with exact errors") {
  struct Case {
    Map metadata;
    std::vector<std::string> errors;
  };
  const std::vector<Case> cases = {
      {cm(), {}},
      {{{"resourceKind", "Secret"},
        {"resourceName", "my-secret"},
        {"key", "threshold"},
        {"targetValue", "10"}},
       {}},
      {cm({{"key", "data"},
           {"valueLocation", "metrics.threshold"},
           {"activationTargetValue", "5"},
           {"format", "json"},
           {"valueType", "float64"}}),
       {}},
      {{{"resourceName", "my-config"}, {"key", "threshold"}, {"targetValue", "10"}},
       {"metadata.resourceKind: missing required parameter \"resourceKind\" in [triggerMetadata]"}},
      {{{"resourceKind", "ConfigMap"}, {"key", "threshold"}, {"targetValue", "10"}},
       {"metadata.resourceName: missing required parameter \"resourceName\" in [triggerMetadata]"}},
      {{{"resourceKind", "ConfigMap"}, {"resourceName", "my-config"}, {"targetValue", "10"}},
       {"metadata.key: missing required parameter \"key\" in [triggerMetadata]"}},
      {{{"resourceKind", "ConfigMap"}, {"resourceName", "my-config"}, {"key", "threshold"}},
       {"metadata.targetValue: missing required parameter \"targetValue\" in [triggerMetadata]"}},
      {cm({{"resourceKind", "Pod"}, {"resourceName", "my-pod"}}),
       {"metadata.resourceKind: must be one of [ConfigMap, Secret], got \"Pod\""}},
      {cm({{"format", "xml"}}),
       {"metadata.format: must be one of [number, json, yaml], got \"xml\""}},
      {cm({{"valueType", "string"}}),
       {"metadata.valueType: must be one of [float64, int64, quantity], got \"string\""}},
      {cm({{"format", "number"}, {"valueLocation", "some.path"}}),
       {"metadata.valueLocation: valueLocation is only supported with json or yaml format"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    CHECK(errors_of(parse(trigger(cases[i].metadata))) == cases[i].errors);
  }
}

TEST_CASE(
    "kubernetes-resource: Validate's other rules, the enum quirk refused, gjson syntax Ebb lacks") {
  CHECK(errors_of(parse(trigger(cm({{"format", "json"}})))) ==
        std::vector<std::string>{
            "metadata.valueLocation: valueLocation is required for json format"});
  CHECK(errors_of(parse(trigger(cm({{"format", "yaml"}})))) ==
        std::vector<std::string>{
            "metadata.valueLocation: valueLocation is required for yaml format"});
  CHECK(
      errors_of(parse(trigger(cm({{"targetValue", "0"}})))) ==
      std::vector<std::string>{"metadata.targetValue: targetValue must be a float greater than 0"});
  CHECK(errors_of(parse(trigger(cm({{"targetValue", "x"}})))) ==
        std::vector<std::string>{"metadata.targetValue: must be a number, got \"x\""});
  // scalingModifiers waives "> 0" but targetValue stays required.
  auto modifiers = trigger(cm({{"targetValue", "0"}}));
  modifiers.as_metric_source = true;
  CHECK(parse(modifiers).ok());
  // KEDA's enum check passes each comma-separated piece; one value only here.
  CHECK(errors_of(parse(trigger(cm({{"resourceKind", "ConfigMap,Secret"}})))) ==
        std::vector<std::string>{
            "metadata.resourceKind: must be one of [ConfigMap, Secret], got \"ConfigMap,Secret\""});
  CHECK(errors_of(parse(trigger(cm({{"format", "json,yaml"}})))) ==
        std::vector<std::string>{
            "metadata.format: must be one of [number, json, yaml], got \"json,yaml\""});
  CHECK(
      errors_of(parse(trigger(cm({{"valueType", "float64,int64"}})))) ==
      std::vector<std::string>{
          "metadata.valueType: must be one of [float64, int64, quantity], got \"float64,int64\""});
  for (const std::string path :
       {"@reverse", "a|b", "items.#(name==\"x\").v", "[a,b]", "a.{b}", "!true", "..0", "a.@this"})
    CHECK(errors_of(parse(trigger(cm({{"format", "json"}, {"valueLocation", path}})))).size() == 1);
  CHECK(errors_of(parse(trigger(cm({{"format", "json"}, {"valueLocation", "a|b"}})))).front() ==
        "metadata.valueLocation: valueLocation \"a|b\" uses a pipe (|), which Ebb's gjson paths do "
        "not support "
        "(dotted keys, \\ escapes, * and ? wildcards, array indexes, # and #.key are supported)");
  for (const std::string path : {"a.b.0", "a\\.b", "items.#", "items.#.name", "q*ue?e", "a@b", "#"})
    CHECK(parse(trigger(cm({{"format", "json"}, {"valueLocation", path}}))).ok());
  // yaml paths are KEDA's own dotted walk: no gjson rules apply.
  CHECK(parse(trigger(cm({{"format", "yaml"}, {"valueLocation", "a|b"}}))).ok());
}

TEST_CASE("kubernetes-resource: KEDA's TestKubernetesResourceGetMetricSpecForScaling names") {
  const std::vector<std::tuple<Map, std::string, std::size_t, std::string>> cases = {
      {cm(), "test", 0, "s0-configmap-my-config-threshold"},
      {{{"resourceKind", "Secret"},
        {"resourceName", "my-secret"},
        {"key", "limit"},
        {"targetValue", "100"}},
       "default",
       1,
       "s1-secret-my-secret-limit"},
      {{{"resourceKind", "ConfigMap"},
        {"resourceName", "scaling-config"},
        {"key", "queue_length"},
        {"targetValue", "50"}},
       "production",
       2,
       "s2-configmap-scaling-config-queue_length"},
      {cm({{"resourceName", "app.settings"}, {"key", "queue.depth"}}), "test", 3,
       "s3-configmap-app-settings-queue-depth"},
  };
  for (const auto& [metadata, ns, index, name] : cases) {
    auto r = parse(trigger(metadata, ns, index));
    REQUIRE(r);
    CHECK(r.value()->metric_spec().name == name);
  }
  auto r = parse(trigger(cm({{"targetValue", "2.5"}, {"activationTargetValue", "1"}})));
  REQUIRE(r);
  CHECK(r.value()->metric_spec().target_quantity == "2.500");
  CHECK(r.value()->metric_spec().activation_target == 1);
  CHECK(r.value()->endpoint() == "kubernetes ConfigMap test/my-config key \"threshold\"");
  CHECK(Registry::builtin().find("kubernetes-resource")->keda_name == "kubernetesResourceScaler");
}

TEST_CASE("kubernetes-resource: KEDA's TestKubernetesResourceIsActive rows") {
  struct Case {
    Map metadata;
    json object;
    bool active;
    double value;
  };
  const std::vector<Case> cases = {
      {cm({{"activationTargetValue", "5"}}), config_map("my-config", "test", {{"threshold", "3"}}),
       false, 3},
      {cm({{"activationTargetValue", "5"}}), config_map("my-config", "test", {{"threshold", "8"}}),
       true, 8},
      {cm({{"key", "data"}, {"valueLocation", "metrics.threshold"}, {"format", "json"}}),
       config_map("my-config", "test", {{"data", R"({"metrics": {"threshold": 15}})"}}), true, 15},
      {cm({{"key", "data"}, {"valueLocation", "metrics.threshold"}, {"format", "yaml"}}),
       config_map("my-config", "test", {{"data", "metrics:\n  threshold: 20\n"}}), true, 20},
      {cm({{"valueType", "quantity"}}), config_map("my-config", "test", {{"threshold", "500m"}}),
       true, 0.5},
      {cm({{"valueType", "int64"}}), config_map("my-config", "test", {{"threshold", "42"}}), true,
       42},
      {{{"resourceKind", "Secret"},
        {"resourceName", "my-secret"},
        {"key", "threshold"},
        {"targetValue", "10"}},
       secret("my-secret", "test", {{"threshold", "25"}}),
       true,
       25},
      {{{"resourceKind", "Secret"},
        {"resourceName", "my-secret"},
        {"key", "data"},
        {"valueLocation", "limit"},
        {"targetValue", "100"},
        {"format", "json"}},
       secret("my-secret", "test", {{"data", R"({"limit": 150})"}}),
       true,
       150},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    Cluster cluster;
    const auto& kind = cases[i].object["kind"];
    cluster.objects->add(kind == "Secret" ? kv::kSecrets : kv::kConfigMaps, cases[i].object);
    auto r = cluster.poll(trigger(cases[i].metadata));
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    CHECK(r->active == cases[i].active);
    CHECK(r->value == cases[i].value);
  }
}

TEST_CASE("kubernetes-resource: KEDA's TestKubernetesResourceErrorCases, with the full texts") {
  struct Case {
    Map metadata;
    std::optional<json> object;
    std::string error;
  };
  const auto json_data = [](const std::string& location) {
    return cm({{"key", "data"}, {"valueLocation", location}, {"format", "json"}});
  };
  const std::vector<Case> cases = {
      {cm({{"resourceName", "missing-config"}}), std::nullopt,
       "error getting metric value from ConfigMap: error getting ConfigMap test/missing-config: "
       "configmaps "
       "\"missing-config\" not found"},
      {cm({{"key", "missing-key"}}), config_map("my-config", "test", {{"threshold", "10"}}),
       "error getting metric value from ConfigMap: key missing-key not found in ConfigMap "
       "test/my-config"},
      {{{"resourceKind", "Secret"},
        {"resourceName", "missing-secret"},
        {"key", "threshold"},
        {"targetValue", "10"}},
       std::nullopt,
       "error getting metric value from Secret: error getting Secret test/missing-secret: secrets "
       "\"missing-secret\" "
       "not found"},
      {cm(), config_map("my-config", "test", {{"threshold", "not-a-number"}}),
       "error getting metric value from ConfigMap: error parsing value as float64: "
       "strconv.ParseFloat: parsing "
       "\"n\": invalid syntax"},
      {json_data("metrics.threshold"),
       config_map("my-config", "test", {{"data", "{invalid json}"}}),
       "error getting metric value from ConfigMap: path metrics.threshold not found in json"},
      {json_data("missing.path"),
       config_map("my-config", "test", {{"data", R"({"metrics": {"threshold": 10}})"}}),
       "error getting metric value from ConfigMap: path missing.path not found in json"},
      // KEDA's row expects "parsing YAML" but never checks the text: this document is valid YAML
      // (a plain scalar over three lines) and the path is simply missing, in KEDA too.
      {cm({{"key", "data"}, {"valueLocation", "metrics.threshold"}, {"format", "yaml"}}),
       config_map("my-config", "test", {{"data", "invalid:\n  yaml\n    bad indent"}}),
       "error getting metric value from ConfigMap: path metrics.threshold not found in yaml"},
      {cm({{"valueType", "quantity"}}),
       config_map("my-config", "test", {{"threshold", "invalid-quantity"}}),
       "error getting metric value from ConfigMap: " + kQuantityError},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("row " << i);
    Cluster cluster;
    if (cases[i].object) cluster.objects->add(kv::kConfigMaps, *cases[i].object);
    auto r = cluster.poll(trigger(cases[i].metadata));
    REQUIRE_FALSE(r);
    CHECK(r.error().message == cases[i].error);
  }
  // A cluster view that cannot answer: its error, marked transient.
  Cluster cluster;
  cluster.objects->failure =
      "cannot read configmaps in namespace \"test\": not listed yet (is list/watch allowed?)";
  auto r = cluster.poll(trigger(cm()));
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "error getting metric value from ConfigMap: error getting ConfigMap test/my-config: "
        "cannot read configmaps in namespace \"test\": not listed yet (is list/watch allowed?)");
  CHECK(r.error().transient);
  // binaryData is not read; a ConfigMap from another namespace is not found.
  Cluster other;
  other.objects->add(kv::kConfigMaps, {{"metadata", {{"name", "my-config"}, {"namespace", "test"}}},
                                       {"binaryData", {{"threshold", base64_encode("5")}}}});
  other.objects->add(kv::kConfigMaps, config_map("my-config", "prod", {{"threshold", "5"}}));
  r = other.poll(trigger(cm()));
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "error getting metric value from ConfigMap: key threshold not found in ConfigMap "
        "test/my-config");
}

TEST_CASE("kubernetes-resource: a Secret's value never appears in a message") {
  const std::string kSecret = "hunter2-s3cr3t";
  Cluster cluster;
  cluster.objects->add(kv::kSecrets, secret("creds", "test",
                                            {{"plain", "n" + kSecret},
                                             {"int", "+"},
                                             {"yaml", "a: " + kSecret + "\n"},
                                             {"top", kSecret},
                                             {"flag", "a: true\n"},
                                             {"dup", kSecret + ": 1\n" + kSecret + ": 2\n"},
                                             {"bad", "a: [" + kSecret}}));
  const auto poll = [&](Map extra) {
    Map m = {{"resourceKind", "Secret"}, {"resourceName", "creds"}, {"targetValue", "1"}};
    for (auto& [k, v] : extra) m[k] = v;
    auto r = cluster.poll(trigger(m));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(kSecret) == std::string::npos);
    CHECK(r.error().message.find("hunter2") == std::string::npos);
    return r.error().message;
  };
  CHECK(poll({{"key", "plain"}}) ==
        "error getting metric value from Secret: error parsing value as float64: "
        "strconv.ParseFloat: parsing "
        "<redacted>: invalid syntax");
  CHECK(poll({{"key", "int"}, {"valueType", "int64"}}) ==
        "error getting metric value from Secret: error parsing value as int64: EOF");
  CHECK(poll({{"key", "yaml"}, {"format", "yaml"}, {"valueLocation", "a"}}) ==
        "error getting metric value from Secret: " + kTypeError + "'<redacted>'");
  CHECK(poll({{"key", "top"}, {"format", "yaml"}, {"valueLocation", "a"}}) ==
        "error getting metric value from Secret: error parsing YAML: yaml: unmarshal errors:\n  "
        "line 1: cannot "
        "unmarshal !!str `<redacted>` into map[string]interface {}");
  CHECK(poll({{"key", "flag"}, {"format", "yaml"}, {"valueLocation", "a"}}) ==
        "error getting metric value from Secret: " + kTypeError + "'<redacted>'");
  poll({{"key", "dup"}, {"format", "yaml"}, {"valueLocation", "a"}});
  poll({{"key", "bad"}, {"format", "yaml"}, {"valueLocation", "a"}});
  // The same value from a ConfigMap is quoted.
  CHECK(value_error("n" + kSecret, kv::Format::Number, kv::ValueType::Float64) ==
        "error parsing value as float64: strconv.ParseFloat: parsing \"n\": invalid syntax");
}

TEST_CASE("kubernetes-resource: plain numbers as Go's fmt.Sscanf reads them") {
  using kv::Format;
  using kv::ValueType;
  const auto f = [](std::string_view s) { return value_of(s, Format::Number, ValueType::Float64); };
  const auto d = [](std::string_view s) { return value_of(s, Format::Number, ValueType::Int64); };
  CHECK(f("500m") == 500);  // trailing text is ignored
  CHECK(f("  42.5kg") == 42.5);
  CHECK(f("1e3") == 1000);
  CHECK(f("1_000") == 1000);
  CHECK(f("1p4") == 16);  // fmt's decimal mantissa with a binary exponent
  CHECK(f("0x1p-2") == 0.25);
  CHECK(f(".5") == 0.5);
  CHECK(std::isinf(f("Inf")));
  CHECK(std::isnan(f("nan")));
  CHECK(f("\u00a07") == 7);  // Unicode spaces are skipped
  CHECK(d("42.9") == 42);
  CHECK(d("1e3") == 1);
  CHECK(d("+7") == 7);
  CHECK(d("-9223372036854775808") == -9223372036854775808.0);
  const auto ef = [](std::string_view s) {
    return value_error(s, Format::Number, ValueType::Float64);
  };
  const auto ed = [](std::string_view s) {
    return value_error(s, Format::Number, ValueType::Int64);
  };
  CHECK(ef("") == "error parsing value as float64: EOF");
  CHECK(ef("   ") == "error parsing value as float64: EOF");
  CHECK(ef("\n5") == "error parsing value as float64: unexpected newline");
  CHECK(ef("abc") ==
        "error parsing value as float64: strconv.ParseFloat: parsing \"\": invalid syntax");
  CHECK(ef("-nan") ==
        "error parsing value as float64: strconv.ParseFloat: parsing \"-\": invalid syntax");
  CHECK(
      ef("1e400") ==
      "error parsing value as float64: strconv.ParseFloat: parsing \"1e400\": value out of range");
  CHECK(ef("1p") == "error parsing value as float64: strconv.Atoi: parsing \"1p\": invalid syntax");
  CHECK(ef("0x1A") ==
        "error parsing value as float64: strconv.ParseFloat: parsing \"0x1A\": invalid syntax");
  CHECK(ed("abc") == "error parsing value as int64: expected integer");
  CHECK(ed("-") == "error parsing value as int64: EOF");
  CHECK(ed("9223372036854775808") ==
        "error parsing value as int64: strconv.ParseInt: parsing \"9223372036854775808\": value "
        "out of range");
}

TEST_CASE("kubernetes-resource: quantities as apimachinery parses them") {
  const auto q = [](std::string_view s) {
    return value_of(s, kv::Format::Number, kv::ValueType::Quantity);
  };
  CHECK(q("500m") == 0.5);
  CHECK(q("1.5Ki") == 1536);
  CHECK(q("1e3") == 1000);
  CHECK(q("2E-2") == 0.02);
  CHECK(q("-1.5k") == -1500);
  CHECK(q("1.G") == 1e9);
  CHECK(q(".") == 0);
  CHECK(q("0.0000000001") == 1e-9);  // rounded up to a nano
  CHECK(q("0.5n") == 1e-9);
  CHECK(q("10Ei") == 9223372036854775807.0);  // binary amounts are capped
  CHECK(std::isinf(q("1e400")));
  const auto e = [](std::string_view s) {
    return value_error(s, kv::Format::Number, kv::ValueType::Quantity);
  };
  CHECK(e("") == kQuantityError);
  CHECK(e("500m\n") == kQuantityError);
  CHECK(e(" 1") == kQuantityError);
  CHECK(e("1K") == "error parsing value as quantity: unable to parse quantity's suffix");
  CHECK(e("1e") == "error parsing value as quantity: unable to parse quantity's suffix");
  CHECK(e("Ei") == "error parsing value as quantity: unable to parse numeric part of quantity");
}

TEST_CASE("kubernetes-resource: JSON values at gjson paths") {
  using kv::Format;
  using kv::ValueType;
  const std::string doc =
      R"({"a":{"b":[1,2,{"c":"500m"}]},"items":[{"x":1},{"x":2}],"n":null,"t":true,"s":"12","bad":"abc",)"
      R"("fl":1.9,"neg":-1.9,"big":12345678901234567890,"e":1e400,"a.b":5,"wild22":2,"dup":1,"dup":2})";
  const auto v = [&](std::string_view path, ValueType t = ValueType::Float64) {
    return value_of(doc, Format::Json, t, path);
  };
  const auto e = [&](std::string_view path, ValueType t = ValueType::Float64) {
    return value_error(doc, Format::Json, t, path);
  };
  CHECK(v("a.b.0") == 1);
  CHECK(v("a.b.2.c") == 0.5);  // strings are quantities
  CHECK(v("a.b.#") == 3);
  CHECK(v("a\\.b") == 5);
  CHECK(v("wild?2") == 2);
  CHECK(v("wil*") == 2);
  CHECK(v("s", ValueType::Quantity) == 12);
  CHECK(v("fl", ValueType::Int64) == 1);
  CHECK(v("neg", ValueType::Int64) == -1);
  CHECK(v("big", ValueType::Int64) == -6101065172474983726.0);  // gjson's integer wrap-around
  CHECK(std::isinf(v("e")));
  CHECK(v("dup") == 1);  // the first of duplicate keys, as gjson
  CHECK(e("s", ValueType::Int64) == kTypeError + "'String'");
  CHECK(e("n") == kTypeError + "'Null'");
  CHECK(e("t") == kTypeError + "'True'");
  CHECK(e("a") == kTypeError + "'JSON'");
  CHECK(e("items.#.x") == kTypeError + "'JSON'");
  CHECK(e("bad") == kQuantityError);
  CHECK(e("a.b.9") == "path a.b.9 not found in json");
  CHECK(e("a.b.x") == "path a.b.x not found in json");
  CHECK(value_error("[10,20]", Format::Json, ValueType::Float64, "1") == "ok");
  CHECK(value_error("5", Format::Json, ValueType::Float64, "x") == "path x not found in json");
}

TEST_CASE("kubernetes-resource: YAML values as yaml.v3 types them and GetValueByPath finds them") {
  using kv::Format;
  using kv::ValueType;
  const std::string doc =
      "a:\n"
      "  b: 500m\n  c: \"42\"\n  d: true\n  e: ~\n  f: 0x1F\n  g: 0o17\n  h: 017\n  i: 1_000\n"
      "  j: .5\n  k: 1e3\n  l: .inf\n  o: 18446744073709551615\n  q: 2001-12-14\n"
      "  r: yes\n  t: '1.5Ki'\n  u: |\n    12\n  w: 2001-12-14t21:59:43.10-05:00\n"
      "list:\n  - x: 7\n  - 8\n";
  const auto v = [&](std::string_view path, ValueType t = ValueType::Float64) {
    return value_of(doc, Format::Yaml, t, path);
  };
  const auto e = [&](std::string_view path, ValueType t = ValueType::Float64) {
    return value_error(doc, Format::Yaml, t, path);
  };
  CHECK(v("a.b") == 500);  // Sscanf, unlike JSON's quantity
  CHECK(v("a.b", ValueType::Quantity) == 0.5);
  CHECK(v("a.c") == 42);
  CHECK(v("a.f") == 31);
  CHECK(v("a.g") == 15);
  CHECK(v("a.h") == 15);
  CHECK(v("a.i") == 1000);
  CHECK(v("a.j") == 0.5);
  CHECK(v("a.k", ValueType::Int64) == 1000);  // numbers are used whatever valueType says
  CHECK(std::isinf(v("a.l")));
  CHECK(v("a.t", ValueType::Quantity) == 1536);
  CHECK(v("a.u") == 12);
  CHECK(v("list.0.x") == 7);
  CHECK(v("list.1") == 8);
  CHECK(v("a.b.c.d") == 500);  // the first scalar met ends the walk
  CHECK(e("a.d") == kTypeError + "'%!s(bool=true)'");
  CHECK(e("a.e") == kTypeError + "'%!s(<nil>)'");
  CHECK(e("a.o") == kTypeError + "'%!s(uint64=18446744073709551615)'");
  CHECK(e("a.q") == kTypeError + "'2001-12-14 00:00:00 +0000 UTC'");
  CHECK(e("a.w") == kTypeError + "'2001-12-14 21:59:43.1 -0500 -0500'");
  CHECK(e("a.r") == kTypeError + "'yes'");  // YAML 1.1 booleans are strings in yaml.v3
  CHECK(e("a") == "path a not found in yaml");
  CHECK(e("list.00.x") == "path list.00.x not found in yaml");
  CHECK(e("list.2") == "path list.2 not found in yaml");
  CHECK(value_error("- 1\n- 2\n", Format::Yaml, ValueType::Float64, "0") ==
        "error parsing YAML: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into "
        "map[string]interface {}");
  CHECK(value_error("a: 1\na: 2\n", Format::Yaml, ValueType::Float64, "a") ==
        "error parsing YAML: yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined "
        "at line 1");
  CHECK(value_error("", Format::Yaml, ValueType::Float64, "a") == "path a not found in yaml");
  CHECK(value_error("a: [1, 2", Format::Yaml, ValueType::Float64, "a")
            .starts_with("error parsing YAML: yaml: line 1: "));
}

TEST_CASE("kubernetes-resource: gjson wildcards match in linear time") {
  // The recursive matcher took exponential time on many '*' (found by fuzzing the metrics-api
  // twin of this code): this returned only after minutes.
  const std::string key(40, 'a');
  const std::string doc = "{\"" + key + "\": 7, \"b\u00e9c\": 3}";
  CHECK(value_of(doc, kv::Format::Json, kv::ValueType::Quantity, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a") == 7);
  CHECK(value_error(doc, kv::Format::Json, kv::ValueType::Quantity, "*a*a*a*a*a*a*a*a*a*a*a*a*ab") !=
        "ok");
  // '?' is one rune, '*' any run, as before.
  CHECK(value_of(doc, kv::Format::Json, kv::ValueType::Quantity, "b?c") == 3);
  CHECK(value_of(doc, kv::Format::Json, kv::ValueType::Quantity, "*c") == 3);
  CHECK(value_of(doc, kv::Format::Json, kv::ValueType::Quantity, "a*a") == 7);
}
