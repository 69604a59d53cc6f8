// Pure tests of the metrics-api scaler: KEDA's pkg/scalers/metrics_api_scaler_test.go tables
// (metadata, auth, metric name, TestGetValueFromResponse) with Ebb's exact errors, the spec's
// extra vectors, the GJSON subset, YAML typing, XML paths, the Prometheus text format,
// Kubernetes quantities, and EndpointSlice discovery and aggregation.
#include <catch2/catch.hpp>

#include <cmath>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "metrics_api/endpoints.h"
#include "metrics_api/exposition.h"
#include "metrics_api/value.h"

using namespace ebb::scalers;
using namespace ebb::scalers::metrics_api;
using Map = std::map<std::string, std::string>;
using Errors = std::vector<std::string>;
using nlohmann::json;

namespace {

const Errors kOk = {};
const std::string kUrl = "http://dummy:1230/api/v1/";

TriggerContext context(Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "metrics-api";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  return ctx;
}

Errors errors_of(const TriggerContext& ctx) {
  auto parsed = Registry::builtin().parse(ctx);
  Errors out;
  if (!parsed)
    for (const auto& e : parsed.error()) out.push_back(e.str());
  return out;
}
Errors errors_of(Map metadata, Map auth = {}) {
  return errors_of(context(std::move(metadata), std::move(auth)));
}

// KEDA's M.
Map m(Map extra = {}) {
  Map out = {{"url", kUrl}, {"valueLocation", "metric"}, {"targetValue", "42"}};
  for (auto& [k, v] : extra) out[k] = v;
  return out;
}

const std::string kMissingUrl =
    "metadata.url: missing required parameter \"url\" in [triggerMetadata]";
const std::string kMissingLocation =
    "metadata.valueLocation: missing required parameter \"valueLocation\" in [triggerMetadata]";
const std::string kBadTarget = "metadata.targetValue: must be a number, got \"aa\"";

// KEDA's test bodies.
const std::string kJson =
    R"({"components":[{"id": "82328e93e", "tasks": 32, "str": "64", "k":"1k","wrong":"NaN"}],"count":2.43})";
const std::string kYaml =
    "{components: [{id: 82328e93e, tasks: 32, str: '64', k: 1k, wrong: NaN}], count: 2.43}";
const std::string kText =
    "\t# HELP backend_queue_size Total number of items\n"
    "\t# TYPE backend_queue_size counter\n"
    "\tbackend_queue_size{queueName=\"zero\"} 0\n"
    "\tbackend_queue_size{queueName=\"one\"} 1\n"
    "\tbackend_queue_size{queueName=\"two\", instance=\"random\"} 2\n"
    "\tbackend_queue_size{queueName=\"two\", instance=\"zero\"} 20\n"
    "\t# HELP random_metric Random metric generate to include noise\n"
    "\t# TYPE random_metric counter\n"
    "\trandom_metric 10";

struct ValueCase {
  std::string body;
  Format format;
  std::string location;
  std::optional<double> value;  // nullopt: an error
  std::string error = "";
};

void check_values(const std::vector<ValueCase>& cases) {
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].location);
    auto r = value_from_response(cases[i].body, cases[i].location, cases[i].format);
    if (cases[i].value) {
      if (!r) FAIL(r.error().message);
      CHECK(*r == Approx(*cases[i].value));
    } else {
      REQUIRE_FALSE(r);
      CHECK(r.error().message == cases[i].error);
    }
  }
}

std::string not_quantity(const std::string& loc) {
  return "valueLocation \"" + loc + "\" points to a string that is not parseable as a Quantity";
}
std::string wrong_type(const std::string& loc, const std::string& type) {
  return "valueLocation \"" + loc +
         "\" must point to a numeric value or a string parseable as a Quantity, got " + type;
}

}  // namespace

TEST_CASE("metrics-api: KEDA's metadata table (testMetricsAPIMetadata), with Ebb's exact errors") {
  struct Case {
    Map metadata;
    Errors errors;
  };
  const std::vector<Case> cases = {
      {{}, {kMissingUrl, kMissingLocation}},
      {{{"url", kUrl}, {"valueLocation", "metric.test"}, {"targetValue", "42"}}, kOk},
      {{{"url", kUrl}, {"valueLocation", "metric"}, {"targetValue", "aa"}}, {kBadTarget}},
      {{{"url", kUrl},
        {"valueLocation", "metric"},
        {"targetValue", "1"},
        {"activationTargetValue", "aa"}},
       {"metadata.activationTargetValue: must be a number, got \"aa\""}},
      {{{"url", kUrl}, {"targetValue", "aa"}}, {kBadTarget, kMissingLocation}},
      {{{"valueLocation", "metric"}, {"targetValue", "aa"}}, {kBadTarget, kMissingUrl}},
      {{{"url", kUrl}, {"valueLocation", "metric"}},
       {"metadata.targetValue: no targetValue given in metadata"}},
      {m({{"timeout", "1000"}}), kOk},
      {m({{"timeout", "-1"}}), {"metadata.timeout: must not be negative, got \"-1\""}},
      {m({{"timeout", "a"}}),
       {"metadata.timeout: must be a duration such as \"500ms\", \"30s\" or \"2m\", or an integer "
        "number of "
        "milliseconds, got \"a\""}},
      // Beyond KEDA's table: enums, and a target of 0 counting as none.
      {m({{"format", "csv"}}),
       {"metadata.format: must be one of [prometheus, json, xml, yaml], got \"csv\""}},
      {m({{"aggregationType", "median"}}),
       {"metadata.aggregationType: must be one of [average, sum, max, min], got \"median\""}},
      {m({{"targetValue", "0"}}), {"metadata.targetValue: no targetValue given in metadata"}},
      {m({{"targetValue", "-3"}}), kOk},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata) == cases[i].errors);
  }
}

TEST_CASE("metrics-api: scalingModifiers make targetValue optional (KEDA's AsMetricSource)") {
  auto ctx = context({{"url", kUrl}, {"valueLocation", "metric"}});
  ctx.as_metric_source = true;
  auto parsed = Registry::builtin().parse(ctx);
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().target_quantity == "0");
}

TEST_CASE("metrics-api: KEDA's auth table (testMetricsAPIAuthMetadata)") {
  struct Case {
    Map metadata;
    Map auth;
    Errors errors;
  };
  const std::vector<Case> cases = {
      {m({{"authMode", "tls"}}), {{"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}}, kOk},
      {m({{"authMode", "tls"}}), {{"cert", "ceert"}, {"key", "keey"}}, kOk},
      {m({{"authMode", "tls"}}),
       {{"ca", "caaa"}, {"cert", "ceert"}},
       {"authParams.key: cert=<present> and key=<empty> are required when tls auth is enabled"}},
      {m({{"authMode", "tls"}}),
       {{"ca", "caaa"}, {"key", "keey"}},
       {"authParams.cert: cert=<empty> and key=<present> are required when tls auth is enabled"}},
      {m({{"authMode", "apiKey"}}), {{"apiKey", "apiikey"}}, kOk},
      {m({{"authMode", "apiKey"}}), {{"apiKey", "apiikey"}, {"method", "query"}}, kOk},
      {m({{"authMode", "apiKey"}}),
       {{"apiKey", "apiikey"}, {"method", "header"}, {"keyParamName", "custom"}},
       kOk},
      {m({{"authMode", "apiKey"}}),
       {{"apiKey", "apiikey"}, {"method", "query"}, {"keyParamName", "custom"}},
       kOk},
      {m({{"authMode", "apiKey"}}),
       {},
       {"metadata.apiKey: apiKey is required when apiKey auth is enabled"}},
      {m({{"authMode", "basic"}}), {{"username", "user"}, {"password", "pass"}}, kOk},
      {m({{"authMode", "basic"}}),
       {},
       {"authParams.username: username=<empty> is required when basic auth is enabled"}},
      {m({{"authMode", "bearer"}}), {{"token", "bearerTokenValue"}}, kOk},
      {m({{"authMode", "bearer"}}),
       {},
       {"authParams.bearerToken: bearer token=<empty> is required when bearer auth is enabled"}},
      {m({{"unsafeSsl", "true"}}), {}, kOk},
      {m({{"unsafeSsl", "false"}}), {}, kOk},
      {m({{"unsafeSsl", "yes"}}),
       {},
       {"metadata.unsafeSsl: must be a boolean (true or false), got \"yes\""}},
      {m({{"authMode", "apiKey,tls"}}),
       {{"apiKey", "apiikey"}, {"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}},
       kOk},
      // Beyond KEDA's table.
      {m({{"authMode", "oauth"}}),
       {{"oauthTokenURI", "http://idp/token"}, {"clientID", "ebb"}},
       kOk},
      {m({{"authMode", "custom"}}),
       {{"customAuthHeader", "X-Key"}},
       {"authParams.customAuthValue: customAuthHeader=<present> and customAuthValue=<empty> are "
        "required when custom "
        "auth is enabled"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata, cases[i].auth) == cases[i].errors);
  }
}

TEST_CASE("metrics-api: metric names (KEDA's NormalizeString), target and definition") {
  auto ctx = context({{"url", kUrl}, {"valueLocation", "metric.test"}, {"targetValue", "42"}});
  ctx.index = 1;
  auto parsed = Registry::builtin().parse(ctx);
  REQUIRE(parsed);
  CHECK((*parsed)->metric_spec().name == "s1-metric-api-metric-test");
  CHECK((*parsed)->metric_spec().target_quantity == "42");
  CHECK((*parsed)->metric_spec().target == 42);
  ctx.index = 0;
  ctx.metadata["valueLocation"] = "components.0.tasks";
  CHECK((*Registry::builtin().parse(ctx))->metric_spec().name ==
        "s0-metric-api-components-0-tasks");
  ctx.metadata["valueLocation"] = "backend_queue_size{queueName=\"one\"}";
  CHECK((*Registry::builtin().parse(ctx))->metric_spec().name ==
        "s0-metric-api-backend_queue_size{queueName=\"one\"}");
  ctx.metadata["activationTargetValue"] = "1.5";
  CHECK((*Registry::builtin().parse(ctx))->metric_spec().activation_target == 1.5);
  CHECK(Registry::builtin().keda_name("metrics-api") == "metricsAPIScaler");
  // The endpoint shown never carries a query (an apiKey may be there) or a password.
  ctx.metadata["url"] = "https://u:pw@api.example/v1/q?api_key=s3cret";
  CHECK((*Registry::builtin().parse(ctx))->endpoint() ==
        "metrics-api https://u:xxxxx@api.example/v1/q");
}

TEST_CASE("metrics-api: KEDA's TestGetValueFromResponse and the spec's extra vectors") {
  check_values({
      {kJson, Format::Json, "count", 2.43},
      {kJson, Format::Json, "components.0.str", 64},
      {kJson, Format::Json, "components.0.tasks", 32},
      {kJson, Format::Json, "components.0.wrong", std::nullopt, not_quantity("components.0.wrong")},
      {kYaml, Format::Yaml, "count", 2.43},
      {kYaml, Format::Yaml, "components.0.str", 64},
      {kYaml, Format::Yaml, "components.0.tasks", 32},
      {kYaml, Format::Yaml, "components.0.wrong", std::nullopt, not_quantity("components.0.wrong")},
      {kText, Format::Prometheus, "random_metric", 10},
      {kText, Format::Prometheus, "backend_queue_size{queueName=\"one\"}", 1},
      {kText, Format::Prometheus, "backend_queue_size{queueName=\"two\"}", 2},
      {kText, Format::Prometheus, "backend_queue_size{queueName=\"two\", instance=\"zero\"}", 20},
      {kText, Format::Prometheus, "backend_queue_size{invalid=test}", std::nullopt,
       "valueLocation \"backend_queue_size{invalid=test}\" is not a PromQL metric selector: "
       "expected a quoted string "
       "at column 28"},
      // Extras (spec §5.9.4).
      {kJson, Format::Json, "missing", std::nullopt, wrong_type("missing", "Null")},
      {kJson, Format::Json, "components", std::nullopt, wrong_type("components", "JSON")},
      {kJson, Format::Json, "components.0.k", 1000},
      {kYaml, Format::Yaml, "count.foo", 2.43},
      {kYaml, Format::Yaml, "components", std::nullopt,
       "path 'components' does not lead to a value"},
      {kText, Format::Prometheus, "nope", std::nullopt, "metric 'nope' not found"},
      {kText, Format::Prometheus, "backend_queue_size{queueName=\"nine\"}", std::nullopt,
       "value backend_queue_size{queueName=\"nine\"} not found"},
      // KEDA ignores the operator and answers 1; Ebb applies it: the first series that is not
      // "one".
      {kText, Format::Prometheus, "backend_queue_size{queueName!=\"one\"}", 0},
      {kText, Format::Prometheus, "backend_queue_size{queueName=~\"t.o\", instance!~\"r.*\"}", 20},
      // RE2, as Prometheus: no back-references; "\111" is an octal escape and a count too large
      // for a repetition makes '{' a literal (libstdc++'s std::regex overflowed a long on both;
      // found by fuzz_metrics_value); '{' is a literal in a class.
      {kText, Format::Prometheus, R"(backend_queue_size{queueName=~"(t)\\1"})", std::nullopt,
       R"(valueLocation "backend_queue_size{queueName=~\"(t)\\\\1\"}": invalid regular )"
       R"(expression "(t)\\1": invalid escape sequence: \1)"},
      {kText, Format::Prometheus, R"(backend_queue_size{queueName=~"(t)\\1111111111111111111"})",
       std::nullopt,
       R"(value backend_queue_size{queueName=~"(t)\\1111111111111111111"} not found)"},
      {kText, Format::Prometheus, R"(backend_queue_size{queueName=~"t{1,1111111111111111111}"})",
       std::nullopt,
       R"(value backend_queue_size{queueName=~"t{1,1111111111111111111}"} not found)"},
      {kText, Format::Prometheus, R"(backend_queue_size{queueName=~"[{2000}t]wo"})", 2},
      {kText, Format::Prometheus, R"(backend_queue_size{queueName=~"t{2,1000}o|two"})", 2},
      {kText, Format::Prometheus, "{__name__=\"random_metric\"}", 10},
      // KEDA's XML always fails; Ebb reads the dotted path.
      {"<a><count>5</count></a>", Format::Xml, "a.count", 5},
  });
}

TEST_CASE("metrics-api: Prometheus label regexes run in linear time, whatever the label's length") {
  // std::regex matched by recursion, a frame per character: a long label value from the
  // endpoint overflowed the adapter's stack. A selector of 250 alternatives is valid PromQL.
  const std::string long_value(200'000, 'x');
  const std::string body = "# TYPE m gauge\nm{l=\"" + long_value + "\"} 7\nm{l=\"q250\"} 8\n";
  auto v = value_from_response(body, "m{l=~\"x.*x\"}", Format::Prometheus);
  REQUIRE(v);
  CHECK(*v == 7);
  std::string alternatives;
  for (int i = 1; i <= 250; ++i)
    alternatives += (i > 1 ? "|q" : "q") + std::to_string(1000 + i).substr(1);
  REQUIRE(alternatives.size() > 1024);
  v = value_from_response(body, "m{l=~\"" + alternatives + "\"}", Format::Prometheus);
  REQUIRE(v);
  CHECK(*v == 8);
}

TEST_CASE("metrics-api: the GJSON subset") {
  const std::string doc =
      R"({"a.b": 7, "list": [{"n": 1}, {"n": 2}, {"n": 3}], "obj": {"0": 9, "flag": true, "off": false, "nil": null},
          "services": {"web-1": {"load": "250m"}, "db": {"load": 4}}, "neg": -2, "arr": [5, 6]})";
  check_values({
      {doc, Format::Json, "a\\.b", 7},
      {doc, Format::Json, "list.#", 3},
      {doc, Format::Json, "list.2.n", 3},
      {doc, Format::Json, "list.3.n", std::nullopt, wrong_type("list.3.n", "Null")},
      {doc, Format::Json, "list.#.n", std::nullopt, wrong_type("list.#.n", "JSON")},
      {doc, Format::Json, "obj.0", 9},
      {doc, Format::Json, "arr.1", 6},
      {doc, Format::Json, "obj.flag", std::nullopt, wrong_type("obj.flag", "True")},
      {doc, Format::Json, "obj.off", std::nullopt, wrong_type("obj.off", "False")},
      {doc, Format::Json, "obj.nil", std::nullopt, wrong_type("obj.nil", "Null")},
      {doc, Format::Json, "services.web*.load", 0.25},
      {doc, Format::Json, "services.d?.load", 4},
      // '?' is one rune, as in tidwall/match: "é" is two bytes.
      {R"({"café": 3})", Format::Json, "caf?", 3},
      {R"({"café": 3})", Format::Json, "caf??", std::nullopt, wrong_type("caf??", "Null")},
      {doc, Format::Json, "neg", -2},
      {doc, Format::Json, "neg.x", std::nullopt, wrong_type("neg.x", "Null")},
      // GJSON reads 1e400 as +Inf; nlohmann::json refuses it: an error either way.
      {R"({"big": 1e400})", Format::Json, "big", std::nullopt, "the response is not valid JSON"},
      {doc, Format::Json, "list.#(n>1).n", std::nullopt,
       "valueLocation \"list.#(n>1).n\" uses a query (\"#(...)\"), which Ebb's GJSON paths do not "
       "support (keys, "
       "array indexes, '#', '*', '?' and '\\' escapes are supported)"},
      {doc, Format::Json, "list|@reverse", std::nullopt,
       "valueLocation \"list|@reverse\" uses a pipe ('|'), which Ebb's GJSON paths do not support "
       "(keys, array "
       "indexes, '#', '*', '?' and '\\' escapes are supported)"},
      {doc, Format::Json, "@this", std::nullopt,
       "valueLocation \"@this\" uses a modifier, which Ebb's GJSON paths do not support (keys, "
       "array indexes, '#', "
       "'*', '?' and '\\' escapes are supported)"},
      // Stricter than GJSON, which reads broken JSON best-effort.
      {R"({"count": 5)", Format::Json, "count", std::nullopt, "the response is not valid JSON"},
  });
}

TEST_CASE("metrics-api: YAML values are typed as gopkg.in/yaml.v3 types them") {
  const std::string doc =
      "i: 12\nhex: 0x10\noct: 0o10\nf: 1.5e2\nnan: .nan\nq: '7'\nk: 2Ki\nb: true\nn: null\nt: "
      "2001-12-14\n"
      "u: 18446744073709551615\nlist:\n  - 3\n  - {x: 4}\nnested:\n  deep:\n    v: 1_000\nyes: "
      "yes\n";
  check_values({
      {doc, Format::Yaml, "i", 12},
      {doc, Format::Yaml, "hex", 16},
      {doc, Format::Yaml, "oct", 8},
      {doc, Format::Yaml, "f", 150},
      {doc, Format::Yaml, "q", 7},
      {doc, Format::Yaml, "k", 2048},
      {doc, Format::Yaml, "list.0", 3},
      {doc, Format::Yaml, "list.1.x", 4},
      {doc, Format::Yaml, "nested.deep.v", 1000},
      {doc, Format::Yaml, "nan", std::nullopt,
       "valueLocation \"nan\" points to NaN, which is not a usable metric value"},
      {doc, Format::Yaml, "b", std::nullopt, wrong_type("b", "bool")},
      {doc, Format::Yaml, "n", std::nullopt, wrong_type("n", "<nil>")},
      {doc, Format::Yaml, "t", std::nullopt, wrong_type("t", "time.Time")},
      {doc, Format::Yaml, "u", std::nullopt, wrong_type("u", "uint64")},
      {doc, Format::Yaml, "yes", std::nullopt, not_quantity("yes")},
      {doc, Format::Yaml, "list.2", std::nullopt, "key '2' not found in path 'list.2'"},
      {doc, Format::Yaml, "nested.x.v", std::nullopt, "key 'x' not found in path 'nested.x.v'"},
      {"", Format::Yaml, "a", std::nullopt, "key 'a' not found in path 'a'"},
      {"- 1\n- 2\n", Format::Yaml, "0", std::nullopt, "the response is not a YAML mapping"},
  });
  auto broken = value_from_response("a: [1, 2", "a", Format::Yaml);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.starts_with("the response is not valid YAML: "));
}

TEST_CASE("metrics-api: XML paths: the root element, child elements, repeated ones by index") {
  const std::string doc = R"(<?xml version="1.0"?>
<!-- queue statistics -->
<stats version="2">
  <queue name="a"><depth>5</depth></queue>
  <queue name="b"><depth> 1.5k </depth></queue>
  <total><![CDATA[42]]></total>
  <escaped>&#x31;&#50;</escaped>
  <empty/>
</stats>)";
  check_values({
      {doc, Format::Xml, "stats.total", 42},
      {doc, Format::Xml, "stats.queue.0.depth", 5},
      {doc, Format::Xml, "stats.queue.1.depth", 1500},
      {doc, Format::Xml, "stats.escaped", 12},
      {doc, Format::Xml, "stats.queue", std::nullopt,
       "path 'stats.queue' does not lead to a value"},
      {doc, Format::Xml, "stats.queue.2.depth", std::nullopt,
       "key '2' not found in path 'stats.queue.2.depth'"},
      {doc, Format::Xml, "stats.empty", std::nullopt, not_quantity("stats.empty")},
      {doc, Format::Xml, "other.total", std::nullopt,
       "key 'other' not found in path 'other.total'"},
  });
  auto broken = value_from_response("<a><b>1</a>", "a.b", Format::Xml);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message == "the response is not valid XML: expected </b> at offset 10");
}

TEST_CASE("metrics-api: the Prometheus text format as expfmt reads it") {
  const std::string body =
      "# TYPE http_seconds histogram\n"
      "http_seconds_bucket{le=\"1\"} 3\nhttp_seconds_sum 1.5\nhttp_seconds_count 3\n"
      "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.1\nrpc_count 9\n"
      "up{job=\"a\\\"b\"} 1 1700000000000\r\n"
      "temp NaN\n"
      "# EOF\n";
  check_values({
      {body, Format::Prometheus, "up{job=\"a\\\"b\"}", 1},
      {body, Format::Prometheus, "http_seconds_count", std::nullopt,
       "metric 'http_seconds_count' not found"},
      {body, Format::Prometheus, "http_seconds", std::nullopt, "value http_seconds not found"},
      {body, Format::Prometheus, "rpc", std::nullopt, "value rpc not found"},
      {body, Format::Prometheus, "temp", std::nullopt,
       "valueLocation \"temp\" points to NaN, which is not a usable metric value"},
      {body, Format::Prometheus, "data.result.0.value.1", std::nullopt,
       "valueLocation \"data.result.0.value.1\" is not a PromQL metric selector: unexpected "
       "character '.' at column 5"},
  });
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"ok 1\nbad{a=1} 2\n",
       "text format parsing error in line 2: expected '\"' at start of label value, found '1'"},
      {"x one\n", "text format parsing error in line 1: expected float as value, got \"one\""},
      // expfmt's parseFloat keeps to pre-Go 1.13 floats: no hexadecimal exponent, no
      // underscores, though strconv.ParseFloat takes both; and no signed NaN (neither does Go).
      {"x 0x1p4\n", "text format parsing error in line 1: expected float as value, got \"0x1p4\""},
      {"x 1_000\n", "text format parsing error in line 1: expected float as value, got \"1_000\""},
      {"x -nan\n", "text format parsing error in line 1: expected float as value, got \"-nan\""},
      {"x 1 2 3\n", "text format parsing error in line 1: spurious string after timestamp"},
      {"# TYPE x gauge\n# TYPE x gauge\n",
       "text format parsing error in line 2: second TYPE line for metric name "
       "\"x\", or TYPE reported after samples"},
      {"# TYPE x widget\n", "text format parsing error in line 1: unknown metric type \"widget\""},
  };
  for (const auto& [text, error] : broken) {
    INFO(text);
    auto r = value_from_response(text, "x", Format::Prometheus);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "prometheus format parsing error: " + error);
  }
}

TEST_CASE("metrics-api: string values are Kubernetes quantities") {
  for (const auto& [text, value] :
       std::vector<std::pair<std::string, double>>{{"64", 64},
                                                   {"1k", 1000},
                                                   {"1Ki", 1024},
                                                   {"500m", 0.5},
                                                   {"1.5", 1.5},
                                                   {"1e3", 1000},
                                                   {"1E3", 1000},
                                                   {"-5", -5},
                                                   {"+5", 5},
                                                   {".5", 0.5},
                                                   {"1.", 1},
                                                   {"2E", 2e18},
                                                   {"3n", 3e-9},
                                                   {"1.5Gi", 1.5 * 1024 * 1024 * 1024}}) {
    INFO(text);
    auto v = parse_quantity(text);
    REQUIRE(v);
    CHECK(*v == Approx(value));
  }
  for (const std::string bad :
       {"", " 5", "5 ", "NaN", "Inf", "0x10", "1e", "k", ".", "1kk", "1.2.3", "82328e93e"}) {
    INFO(bad);
    CHECK_FALSE(parse_quantity(bad));
  }
}

TEST_CASE("metrics-api: service URLs and EndpointSlices (KEDA's getEndpointsUrlsFromServiceURL)") {
  auto svc = parse_service_url("http://my-service.my-namespace.svc:8080/metrics?x=1#f");
  REQUIRE(svc);
  CHECK(svc->service == "my-service");
  CHECK(svc->namespace_ == "my-namespace");
  CHECK(svc->port == 8080);
  CHECK(svc->path == "/metrics");
  CHECK(slice_selector(*svc) == "kubernetes.io/service-name=my-service");
  // KEDA's port quirk is not copied: the host is split without its port.
  CHECK(parse_service_url("http://svc.ns:9000/")->namespace_ == "ns");
  CHECK(parse_service_url("https://svc.ns/x")->port == 443);
  CHECK(parse_service_url("http://svc.ns")->port == 80);
  auto bad = parse_service_url("http://localhost:8080/metrics");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        "invalid hostname localhost : expected at least 2 elements, first being service name and "
        "second being the "
        "namespace");

  // KEDA's TestGetEndpointsUrlsFromServiceURL_SelectorFiltersCorrectly: the selector picks the
  // slice; here the answer of that selector.
  const json mine = json::parse(R"({"metadata": {"name": "my-service-abc",
      "labels": {"kubernetes.io/service-name": "my-service"}},
      "ports": [{"port": 8080}], "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": true}}]})");
  CHECK(endpoint_urls(*svc, {mine}) == std::vector<std::string>{"http://10.0.0.1:8080/metrics"});

  // Not ready: skipped; ready unset: counted; duplicates across slices once; a slice without the
  // URL's port gives the scheme's default port (KEDA); IPv6 in brackets.
  const json a = json::parse(R"({"ports": [{"name": "web", "port": 8080}], "endpoints": [
      {"addresses": ["10.0.0.1"], "conditions": {"ready": false}},
      {"addresses": ["10.0.0.2", "10.0.0.3"]},
      {"addresses": ["fd00::5"], "conditions": {"ready": true, "serving": false}}]})");
  const json b = json::parse(
      R"({"ports": [{"port": 9999}], "endpoints": [{"addresses": ["10.0.0.3", "10.0.0.4"]}]})");
  CHECK(endpoint_urls(*svc, {a, b}) ==
        std::vector<std::string>{"http://10.0.0.2:8080/metrics", "http://10.0.0.3:8080/metrics",
                                 "http://[fd00::5]:8080/metrics", "http://10.0.0.4/metrics"});
  CHECK(endpoint_urls(*svc, {}).empty());
}

TEST_CASE("metrics-api: aggregation types") {
  const std::vector<double> v = {20, 5, 11};
  CHECK(aggregate(v, "average") == 12);
  CHECK(aggregate(v, "sum") == 36);
  CHECK(aggregate(v, "max") == 20);
  CHECK(aggregate(v, "min") == 5);
  CHECK(aggregate({20}, "average") == 20);  // KEDA's partial success: divided by the successes
}

TEST_CASE("metrics-api: aggregation without a view of the cluster is a clear error") {
  ConnectionPools pools;  // as in `ebb probe`: no kubernetes::Objects provided
  auto parsed = Registry::builtin().parse(
      context(m({{"aggregateFromKubeServiceEndpoints", "true"}, {"url", "http://svc.ns:8080/m"}})));
  REQUIRE(parsed);
  auto scaler = (*parsed)->create_scaler(pools);
  REQUIRE_FALSE(scaler);
  CHECK(scaler.error().message.starts_with(
      "aggregateFromKubeServiceEndpoints reads the Service's EndpointSlices"));
}

TEST_CASE("metrics-api: GJSON wildcards match in linear time") {
  // Found by fuzz/metrics_value_fuzz.cpp: the recursive matcher took exponential time on many
  // '*', so a poll with such a valueLocation never returned.
  const std::string key(40, 'a');
  const std::string body = "{\"" + key + "\": 7, \"abc\": 3}";
  check_values({
      {body, Format::Json, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a", 7},
      {body, Format::Json, "a?c", 3},
      {body, Format::Json, "*c", 3},
      {body, Format::Json, "a*a", 7},
  });
  auto missing = value_from_response(body, "*a*a*a*a*a*a*a*a*a*a*a*a*ab", Format::Json);
  CHECK_FALSE(missing);
}
