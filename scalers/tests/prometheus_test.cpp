// Pure tests of the prometheus scaler: KEDA's pkg/scalers/prometheus_scaler_test.go tables
// (metadata, auth, metric names, query results) with Ebb's exact errors, the query URL, the
// cloud identities Ebb refuses, and the metric spec.
#include <catch2/catch.hpp>

#include "builtin.h"
#include "prometheus/query.h"

using namespace ebb::scalers;
using Map = std::map<std::string, std::string>;
using Errors = std::vector<std::string>;

namespace {

const Errors kOk = {};

TriggerContext context(Map metadata, Map auth = {}, Map env = {}) {
  TriggerContext ctx;
  ctx.type = "prometheus";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  ctx.resolved_env = std::move(env);
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

// KEDA's P.
Map p(Map extra = {}) {
  Map m = {{"serverAddress", "http://localhost:9090"},
           {"metricName", "http_requests_total"},
           {"threshold", "100"},
           {"query", "up"}};
  for (auto& [k, v] : extra) m[k] = v;
  return m;
}

std::string missing(const std::string& name) {
  return "metadata." + name + ": missing required parameter \"" + name + "\" in [triggerMetadata]";
}

}  // namespace

TEST_CASE("prometheus: KEDA's metadata table (testPromMetadata), with Ebb's exact errors") {
  struct Case {
    Map metadata;
    Errors errors;
  };
  const std::vector<Case> cases = {
      {{}, {missing("serverAddress"), missing("query"), missing("threshold")}},
      {p(), kOk},
      {{{"serverAddress", "http://localhost:9090"},
        {"threshold", "100"},
        {"query", "up"},
        {"namespace", "foo"}},
       kOk},
      {p({{"ignoreNullValues", "false"}}), kOk},
      {p({{"activationThreshold", "50"}}), kOk},
      {p({{"serverAddress", ""}}), {missing("serverAddress")}},
      {{{"serverAddress", "http://localhost:9090"},
        {"metricName", "http_requests_total"},
        {"query", "up"}},
       {missing("threshold")}},
      {p({{"threshold", "one"}}), {"metadata.threshold: must be a number, got \"one\""}},
      {p({{"activationThreshold", "one"}}),
       {"metadata.activationThreshold: must be a number, got \"one\""}},
      {p({{"query", ""}}), {missing("query")}},
      {p({{"ignoreNullValues", "xxxx"}}),
       {"metadata.ignoreNullValues: must be a boolean (true or false), got \"xxxx\""}},
      {p({{"serverAddress", "https://localhost:9090"}, {"unsafeSsl", "true"}}), kOk},
      {p({{"customHeaders", "key1=value1,key2=value2"}}), kOk},
      {p({{"customHeaders", "key1=value1,key2"}}),
       {"metadata.customHeaders: must be a list of key=value pairs, got \"key2\""}},
      {p({{"queryParameters", "key1=value1,key2=value2"}}), kOk},
      {p({{"queryParameters", "key1=value1,key2"}}),
       {"metadata.queryParameters: must be a list of key=value pairs, got \"key2\""}},
      {p({{"timeout", "1000"}}), kOk},
      {p({{"timeout", "-1"}}), {"metadata.timeout: must not be negative, got \"-1\""}},
      {p({{"timeout", "a"}}),
       {"metadata.timeout: must be a duration such as \"500ms\", \"30s\" or \"2m\", or an integer "
        "number of "
        "milliseconds, got \"a\""}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata) == cases[i].errors);
  }
}

TEST_CASE("prometheus: KEDA's auth table (testPrometheusAuthMetadata)") {
  struct Case {
    Map metadata;
    Map auth;
    Errors errors;
  };
  const std::string tls_both_empty =
      "authParams.cert: cert=<empty> and key=<empty> are required when tls auth is enabled";
  const std::string custom_empty =
      "authParams.customAuthHeader: customAuthHeader=<empty> and customAuthValue=<empty> are "
      "required when custom "
      "auth is enabled";
  const std::vector<Case> cases = {
      {p({{"authModes", "tls"}}), {{"ca", "caaa"}, {"cert", "ceert"}, {"key", "keey"}}, kOk},
      {p({{"authModes", "tls"}}), {{"cert", "ceert"}, {"key", "keey"}}, kOk},
      {p({{"authModes", "tls"}}),
       {{"ca", "caaa"}, {"cert", "ceert"}},
       {"authParams.key: cert=<present> and key=<empty> are required when tls auth is enabled"}},
      {p({{"authModes", "tls"}}),
       {{"ca", "caaa"}, {"key", "keey"}},
       {"authParams.cert: cert=<empty> and key=<present> are required when tls auth is enabled"}},
      {p({{"authModes", "bearer"}}), {{"bearerToken", "tooooken"}}, kOk},
      {p({{"authModes", "bearer"}}),
       {},
       {"authParams.bearerToken: bearer token=<empty> is required when bearer auth is enabled"}},
      {p({{"authModes", "basic"}}), {{"username", "user"}, {"password", "pass"}}, kOk},
      {p({{"authModes", "basic"}}),
       {},
       {"authParams.username: username=<empty> is required when basic auth is enabled"}},
      {p({{"authModes", "tls, basic"}}),
       {{"ca", "caaa"},
        {"cert", "ceert"},
        {"key", "keey"},
        {"username", "user"},
        {"password", "pass"}},
       kOk},
      {p({{"authModes", "tls,basic"}}),
       {{"username", "user"}, {"password", "pass"}},
       {tls_both_empty}},
      {p({{"authModes", "custom"}}),
       {{"customAuthHeader", "header"}, {"customAuthValue", "value"}},
       kOk},
      {p({{"authModes", "custom"}}), {{"customAuthHeader", ""}}, {custom_empty}},
      {p({{"authModes", "custom"}}), {{"customAuthValue", ""}}, {custom_empty}},
      {p({{"authModes", "custom"}}),
       {{"customAuthHeader", "header\n"}, {"customAuthValue", "value\n"}},
       kOk},
      {p({{"authModes", "tls,basic"}}),
       {{"username", "user"}, {"password", "pass"}},
       {tls_both_empty}},
      // KEDA's rows 15-17 combine authModes with a podIdentity provider. A TriggerAuthentication's
      // podIdentity never reaches a scaler in Ebb: api::unresolved_auth_members() reports it.
      // Beyond KEDA's table: the modes Ebb applies in prometheus, and their checks.
      {p({{"authModes", "apiKey"}}), {{"apiKey", "k"}}, kOk},
      {p({{"authModes", "oauth"}}),
       {{"oauthTokenURI", "http://idp/token"}, {"clientID", "ebb"}},
       kOk},
      {p({{"authModes", "oauth"}}),
       {{"clientID", "ebb"}},
       {"authParams.oauthTokenURI: oauthTokenURI=<empty> and clientID=<present> are required when "
        "oauth is enabled"}},
      {p({{"authModes", "basic,bearer"}}),
       {{"username", "u"}, {"bearerToken", "t"}},
       {"metadata.authModes: must contain only one of [bearer, basic, oauth], got "
        "\"basic,bearer\""}},
      {p({{"authModes", "kerberos"}}),
       {},
       {"metadata.authModes: must be one of [apiKey, basic, tls, bearer, custom, oauth], got "
        "\"kerberos\""}},
      {p({{"method", "POST"}}),
       {},
       {"metadata.method: must be one of [header, query], got \"POST\""}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    CHECK(errors_of(cases[i].metadata, cases[i].auth) == cases[i].errors);
  }
}

TEST_CASE("prometheus: cloud identities are refused, naming the parameter") {
  CHECK(errors_of(p({{"identityOwner", "operator"}, {"awsRegion", "eu-west-1"}})) ==
        Errors{"metadata.identityOwner: identityOwner \"operator\" asks for Amazon Managed "
               "Prometheus authentication "
               "(AWS SigV4) with the operator's credentials, which is not supported by Ebb"});
  CHECK(errors_of(p({{"identityOwner", "pod"}, {"awsRegion", "eu-west-1"}})) ==
        kOk);  // region alone signs nothing
  CHECK(errors_of(p({{"awsRegion", "eu-west-1"}}), {{"awsRoleArn", "arn:aws:iam::1:role/r"}}) ==
        Errors{"authParams.awsRoleArn: Amazon Managed Prometheus authentication (AWS SigV4) is not "
               "supported by Ebb"});
  CHECK(errors_of(p({{"awsRegion", "eu-west-1"}}),
                  {{"awsAccessKeyId", "AKIA"}, {"awsSecretAccessKey", "s"}}) ==
        Errors{"authParams.awsAccessKeyId: Amazon Managed Prometheus authentication (AWS SigV4) is "
               "not supported by "
               "Ebb"});
  CHECK(errors_of(p({{"cloud", "AZUREUSGOVERNMENTCLOUD"}})) ==
        Errors{"metadata.cloud: Azure Managed Prometheus authentication is not supported by Ebb"});
  CHECK(errors_of(p({{"azureManagedPrometheusResourceURL", "https://prometheus.example"}})) ==
        Errors{"metadata.azureManagedPrometheusResourceURL: Azure Managed Prometheus "
               "authentication is not supported "
               "by Ebb"});
  const std::string gcp =
      "Google Managed Prometheus authentication (GCP credentials) is not supported by Ebb";
  CHECK(errors_of(p(), {{"GoogleApplicationCredentials", "{\"type\":\"service_account\"}"}}) ==
        Errors{"authParams.GoogleApplicationCredentials: " + gcp});
  // Refused as written, even when the variable it names is unknown (offline validation).
  CHECK(errors_of(p({{"credentialsFromEnv", "GCP_JSON"}})) ==
        Errors{"metadata.credentialsFromEnv: " + gcp});
  CHECK(errors_of(p({{"credentialsFromEnvFile", "GCP_FILE"}})) ==
        Errors{"metadata.credentialsFromEnvFile: " + gcp});
  // The secret itself is never quoted.
  for (const auto& e : errors_of(p(), {{"GoogleApplicationCredentials", "TOPSECRET"}}))
    CHECK(e.find("TOPSECRET") == std::string::npos);
  // Known parameters: no "unknown parameter" warnings for them.
  CHECK(Registry::builtin()
            .warnings(context(p({{"identityOwner", "pod"}, {"credentialsFromEnv", "X"}})))
            .size() == 1);
}

TEST_CASE("prometheus: metric names, target, activation and the definition") {
  for (std::size_t index : {0u, 1u}) {
    auto ctx = context(p({{"threshold", "2.5"}, {"activationThreshold", "1"}}));
    ctx.index = index;
    auto parsed = Registry::builtin().parse(ctx);
    REQUIRE(parsed);
    const auto& spec = (*parsed)->metric_spec();
    CHECK(spec.name == "s" + std::to_string(index) + "-prometheus");
    CHECK(spec.target == 2.5);
    CHECK(spec.target_quantity == "2.500");
    CHECK(spec.activation_target == 1);
    CHECK(spec.target_type == MetricTargetType::AverageValue);
    CHECK((*parsed)->endpoint() == "prometheus http://localhost:9090");
  }
  auto value = context(p());
  value.metric_type = "Value";
  CHECK((*Registry::builtin().parse(value))->metric_spec().target_type == MetricTargetType::Value);
  CHECK(Registry::builtin().keda_name("prometheus") == "prometheusScaler");
  // A password in the server address is never shown.
  auto secret = context(p({{"serverAddress", "http://u:hunter2@prom:9090"}}));
  CHECK((*Registry::builtin().parse(secret))->endpoint().find("hunter2") == std::string::npos);
}

TEST_CASE("prometheus: the query URL is KEDA's concatenation") {
  prometheus::Query q{"http://prom:9090", "sum(rate(x{app=\"a b\"}[2m]))", "", {}};
  const auto now = ebb::parse_rfc3339("2026-01-02T03:04:05.678Z").value();
  CHECK(prometheus::query_url(q, now) ==
        "http://prom:9090/api/v1/"
        "query?query=sum%28rate%28x%7Bapp%3D%22a+b%22%7D%5B2m%5D%29%29&time=2026-01-02T03:04:05Z");
  q.query = "up";
  q.namespace_ = "shop";
  q.query_parameters = {{"second", "b r"}, {"first", "foo"}};
  CHECK(prometheus::query_url(q, now) ==
        "http://prom:9090/api/v1/"
        "query?query=up&time=2026-01-02T03:04:05Z&namespace=shop&first=foo&second=b+r");
}

TEST_CASE("prometheus: KEDA's query results (testPromQueryResult) and the cases KEDA panics on") {
  struct Case {
    int status;
    std::string body;
    bool ignore_null;
    std::optional<double> value;  // nullopt: an error
    std::string error = "";
  };
  const std::string empty_result =
      "prometheus metrics 'prometheus' target may be lost, the result is empty";
  const std::string empty_value =
      "prometheus metrics 'prometheus' target may be lost, the value list is empty";
  const std::vector<Case> cases = {
      {200, "{}", true, 0},
      {200, R"({"data":{"result":[]}})", true, 0},
      {200, R"({"data":{"result":[]}})", false, std::nullopt, empty_result},
      {200, R"({"data":{"result":[{"value": []}]}})", true, 0},
      {200, R"({"data":{"result":[{"value": []}]}})", false, std::nullopt, empty_value},
      {200, R"({"data":{"result":[{"value": ["1", "2"]}]}})", true, 2},
      {200, R"({"data":{"result":[{"value": ["1"]}]}})", true, std::nullopt,
       "prometheus query  didn't return enough values"},
      {200, R"({"data":{"result":[{},{}]}})", true, std::nullopt,
       "prometheus query  returned multiple elements"},
      {400, "{}", true, std::nullopt,
       "prometheus query api returned error. status: 400, response: {}"},
      {200, R"({"data":{"result":[{"value": ["1", "+Inf"]}]}})", true, 0},
      {200, R"({"data":{"result":[{"value": ["1", "+Inf"]}]}})", false, std::nullopt,
       "prometheus query returns +Inf"},
      {200, R"({"data":{"result":[{"value": ["1", "-Inf"]}]}})", true, 0},
      {200, R"({"data":{"result":[{"value": ["1", "-Inf"]}]}})", false, std::nullopt,
       "prometheus query returns -Inf"},
      {200, R"({"data":{"result":[{"value": ["1", "NaN"]}]}})", true, 0},
      {200, R"({"data":{"result":[{"value": ["1", "NaN"]}]}})", false, std::nullopt,
       "prometheus query returns NaN"},
      // The spec's extra vectors (§4.8.4).
      {200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"]}})", true,
       std::nullopt,
       "prometheus query  returned a scalar result; the query must return an instant vector"},
      {200, R"({"data":{"resultType":"string","result":[1,"x"]}})", false, std::nullopt,
       "prometheus query  returned a string result; the query must return an instant vector"},
      {200, R"({"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}})", true,
       0},
      {200, R"({"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}})",
       false, std::nullopt, empty_value},
      {200, R"({"data":{"result":[{"value":[1,null]}]}})", true, std::nullopt,
       "prometheus query  returned a non-string value: null"},
      {200, R"({"data":{"result":[{"value":[1,2]}]}})", true, std::nullopt,
       "prometheus query  returned a non-string value: 2"},
      {200, R"({"data":{"result":[{"value":[1,"abc"]}]}})", true, std::nullopt,
       "strconv.ParseFloat: parsing \"abc\": invalid syntax"},
      {200, R"({"status":"error","data":{"result":[]}})", true, 0},
      {200, "", true, std::nullopt, "prometheus query api returned a body that is not JSON: "},
      {204, "{}", true, 0},
      // Go decodes JSON members case-insensitively; extra elements after the value are ignored.
      {200, R"({"Data":{"Result":[{"Value":[1,"7.5","x"]}]}})", true, 7.5},
      {200, R"({"data":{"result":[{"value":[1.5,"0x1p4"]}]}})", true, 16},
      {200, R"({"data":{"result":[{"value":[1,"-3"]}]}})", true, -3},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].body);
    auto r = prometheus::read_answer(cases[i].status, cases[i].body, "", cases[i].ignore_null);
    if (cases[i].value) {
      REQUIRE(r);
      CHECK(*r == *cases[i].value);
    } else {
      REQUIRE_FALSE(r);
      CHECK(r.error().message == cases[i].error);
    }
  }
}
