// (Cluster)TriggerAuthentication: decoding, admission checks, auth param resolution.
#include <catch2/catch.hpp>

#include "ebb/api/auth.h"
#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "test_support.h"

using nlohmann::json;
using namespace ebb::api;
using ebb::api::test::strings;
using Strings = std::vector<std::string>;

namespace {

std::string ta_yaml(const std::string& spec, const std::string& kind = "TriggerAuthentication") {
  return "apiVersion: keda.sh/v1alpha1\nkind: " + kind +
         "\nmetadata: {name: auth, namespace: shop}\nspec:\n" + spec;
}

struct Case {
  std::string name;
  std::string spec;
  Strings errors;
  Strings warnings = {};
  std::string kind = "TriggerAuthentication";
};

void run(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto ta = test::decode_one_trigger_authentication(ta_yaml(c.spec, c.kind));
    const auto result = validate(ta);
    CHECK(strings(result.errors) == c.errors);
    CHECK(strings(result.warnings) == c.warnings);
  }
}

Strings decode_errors(const std::string& yaml) {
  auto docs = decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  return strings(docs[0].errors);
}

AuthSources sources() {
  AuthSources s;
  s.secrets["rabbit-secret"] = {{"url", "amqp://guest:guest@rabbit:5672"}, {"password", "s3cr3t"}};
  s.secrets["oauth-secret"] = {{"secret", "client-secret-value"}};
  s.config_maps["rabbit-config"] = {{"queue", "orders"}};
  s.containers = {{"main", {{"RABBIT_URL", "amqp://from-env"}}},
                  {"sidecar", {{"RABBIT_VHOST", "/prod"}}}};
  return s;
}

}  // namespace

TEST_CASE("TriggerAuthentication structure errors") {
  CHECK(decode_errors(ta_yaml("  secretTargetRef: [{parameter: p, name: s}]\n")) ==
        Strings{"spec.secretTargetRef[0].key: Required value"});
  CHECK(decode_errors(ta_yaml("  env: [{parameter: p}]\n")) ==
        Strings{"spec.env[0].name: Required value"});
  CHECK(decode_errors(ta_yaml("  podIdentity: {identityId: x}\n")) ==
        Strings{"spec.podIdentity.provider: Required value"});
  CHECK(decode_errors(ta_yaml("  secretTargetRefs: []\n")) ==
        Strings{"spec.secretTargetRefs: unknown field \"secretTargetRefs\" (did you mean "
                "\"secretTargetRef\"?)"});
  CHECK(decode_errors(ta_yaml("  oauth2: {tokenUrl: https://x}\n")) ==
        Strings{"spec.oauth2.clientId: Required value"});
  CHECK(decode_errors(ta_yaml("  hashiCorpVault: {address: http://v, authentication: token, "
                              "secrets: [{parameter: p, path: a}], mount: 5}\n")) ==
        Strings{"spec.hashiCorpVault.mount: must be a string, got integer 5 (quote it: \"5\")",
                "spec.hashiCorpVault.secrets[0].key: Required value"});
  CHECK(decode_errors(ta_yaml("  awsSecretManager: {secrets: [{name: n, parameter: p}], "
                              "credentials: {accessKey: {valueFrom: {}}}}\n")) ==
        Strings{"spec.awsSecretManager.credentials.accessKey.valueFrom.secretKeyRef: Required "
                "value",
                "spec.awsSecretManager.credentials.accessSecretKey: Required value"});
  CHECK(decode_errors("apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\n"
                      "metadata: {name: a}\n") == Strings{"spec: Required value"});
}

TEST_CASE("TriggerAuthentication admission checks") {
  run({
      {"valid secret refs", "  secretTargetRef: [{parameter: p, name: s, key: k}]\n", {}},
      {"empty members",
       "  secretTargetRef: [{parameter: '', name: s, key: ''}]\n"
       "  configMapTargetRef: [{parameter: p2, name: '', key: k}]\n"
       "  env: [{parameter: p3, name: ''}]\n"
       "  boundServiceAccountToken: [{parameter: t, serviceAccountName: ''}]\n",
       {"spec.secretTargetRef[0].parameter: Invalid value: \"\": must not be empty",
        "spec.secretTargetRef[0].key: Invalid value: \"\": must not be empty",
        "spec.configMapTargetRef[0].name: Invalid value: \"\": must not be empty",
        "spec.env[0].name: Invalid value: \"\": must not be empty",
        "spec.boundServiceAccountToken[0].serviceAccountName: Invalid value: \"\": must not be "
        "empty"}},
      {"filePath on a namespaced TriggerAuthentication",
       "  filePath: creds.json\n",
       {"spec.filePath: Forbidden: filePath is only supported for ClusterTriggerAuthentication"}},
      {"filePath on a ClusterTriggerAuthentication",
       "  filePath: team/creds.json\n",
       {},
       {},
       "ClusterTriggerAuthentication"},
      {"absolute filePath",
       "  filePath: /etc/creds.json\n",
       {"spec.filePath: Invalid value: \"/etc/creds.json\": must be a relative path"},
       {},
       "ClusterTriggerAuthentication"},
      {"filePath escaping its root",
       "  filePath: a/../../etc/passwd\n",
       {"spec.filePath: Invalid value: \"a/../../etc/passwd\": must not contain '..'"},
       {},
       "ClusterTriggerAuthentication"},
      {"filePath hides the other members",
       "  filePath: creds.json\n  secretTargetRef: [{parameter: p, name: s, key: k}]\n",
       {},
       {"spec.filePath: filePath is set, so every other member of the spec is ignored"},
       "ClusterTriggerAuthentication"},
      {"unknown provider",
       "  podIdentity: {provider: azure}\n",
       {"spec.podIdentity.provider: Unsupported value: \"azure\": supported values: "
        "\"azure-workload\", \"gcp\", \"aws\", \"aws-eks\", \"none\""}},
      {"azure-workload empty identityId",
       "  podIdentity: {provider: azure-workload, identityId: ''}\n",
       {"spec.podIdentity.identityId: Invalid value: \"\": must not be empty when set"}},
      {"azure-workload authority host without tenant",
       "  podIdentity: {provider: azure-workload, identityAuthorityHost: https://login}\n",
       {"spec.podIdentity.identityTenantId: Required value: identityAuthorityHost is set, so "
        "identityTenantId must be too"}},
      {"azure-workload empty tenant",
       "  podIdentity: {provider: azure-workload, identityTenantId: ''}\n",
       {"spec.podIdentity.identityTenantId: Invalid value: \"\": must not be empty when set"}},
      {"azure-workload complete",
       "  podIdentity: {provider: azure-workload, identityId: id, identityTenantId: t, "
       "identityAuthorityHost: https://login}\n",
       {}},
      {"aws roleArn with workload owner",
       "  podIdentity: {provider: aws, roleArn: 'arn:aws:iam::1:role/r', identityOwner: "
       "workload}\n",
       {"spec.podIdentity.roleArn: Forbidden: roleArn cannot be set when identityOwner is "
        "workload (the workload's own role is used)"}},
      {"aws externalID without roleArn",
       "  podIdentity: {provider: aws, externalID: x}\n",
       {"spec.podIdentity.externalID: Forbidden: externalID requires roleArn to be set"}},
      {"aws with roleArn and externalID",
       "  podIdentity: {provider: aws, roleArn: 'arn:aws:iam::1:role/r', externalID: x}\n",
       {}},
      {"bad identityOwner",
       "  podIdentity: {provider: aws, identityOwner: me}\n",
       {"spec.podIdentity.identityOwner: Unsupported value: \"me\": supported values: \"keda\", "
        "\"workload\""}},
      {"aws-eks is deprecated",
       "  podIdentity: {provider: aws-eks}\n",
       {},
       {"spec.podIdentity.provider: aws-eks is deprecated in KEDA (removal planned for v3); use "
        "aws with identityOwner: workload"}},
      {"oauth2 valid", "  oauth2: {clientId: c, tokenUrl: 'https://idp/token'}\n", {}},
      {"oauth2 wrong type",
       "  oauth2: {type: password, clientId: c, tokenUrl: 'https://idp'}\n",
       {"spec.oauth2.type: Unsupported value: \"password\": supported values: "
        "\"clientCredentials\""}},
      {"oauth2 empty clientId and relative URL",
       "  oauth2: {clientId: '', tokenUrl: /token}\n",
       {"spec.oauth2.clientId: Required value",
        "spec.oauth2.tokenUrl: Invalid value: \"/token\": must be an absolute http or https URL"}},
      {"oauth2 ftp URL",
       "  oauth2: {clientId: c, tokenUrl: 'ftp://idp/token'}\n",
       {"spec.oauth2.tokenUrl: Invalid value: \"ftp://idp/token\": must be an absolute http or "
        "https URL"}},
      {"vault enums and minItems",
       "  hashiCorpVault: {address: 'http://v', authentication: ldap, secrets: []}\n",
       {"spec.hashiCorpVault.authentication: Unsupported value: \"ldap\": supported values: "
        "\"token\", \"kubernetes\"",
        "spec.hashiCorpVault.secrets: Invalid value: 0: must have at least 1 item(s)"}},
      {"a parameter set twice",
       "  env: [{parameter: host, name: H}]\n"
       "  secretTargetRef: [{parameter: host, name: s, key: k}]\n",
       {},
       {"spec.secretTargetRef[0].parameter: parameter \"host\" is also set by "
        "spec.env[0].parameter; this member is resolved later and wins"}},
  });
}

TEST_CASE("auth params resolve env, config maps, secrets and oauth2 in KEDA's order") {
  const auto ta =
      test::decode_one_trigger_authentication(test::read_data_file("trigger_auth.yaml"));
  CHECK(strings(validate(ta).errors).empty());
  const auto params = resolve_auth_params(ta.spec, sources());
  REQUIRE(params.ok());
  CHECK(params.value() == StringMap{{"host", "amqp://guest:guest@rabbit:5672"},
                                    {"vhost", "/prod"},
                                    {"queueName", "orders"},
                                    {"password", "s3cr3t"},
                                    {"oauthTokenURI", "https://login.example.com/oauth2/token"},
                                    {"clientID", "ebb"},
                                    {"clientSecret", "client-secret-value"},
                                    {"scopes", "read,write"},
                                    {"endpointParams", "audience=rabbit+mq&resource=a%26b"}});
  CHECK(unresolved_auth_members(ta.spec).empty());
}

TEST_CASE("missing sources are errors that never show a secret value") {
  const auto ta =
      test::decode_one_trigger_authentication(test::read_data_file("trigger_auth.yaml"));
  auto s = sources();
  s.secrets["rabbit-secret"].erase("password");
  s.secrets.erase("oauth-secret");
  s.config_maps.clear();
  s.containers[1].env.clear();
  const auto params = resolve_auth_params(ta.spec, s);
  REQUIRE_FALSE(params.ok());
  CHECK(strings(params.error()) ==
        Strings{"spec.env[1].name: environment variable \"RABBIT_VHOST\" not found in container "
                "\"sidecar\"",
                "spec.configMapTargetRef[0].name: ConfigMap \"rabbit-config\" not found",
                "spec.secretTargetRef[1].key: key \"password\" not found in Secret "
                "\"rabbit-secret\"",
                "spec.oauth2.clientSecret.valueFrom.secretKeyRef.name: Secret \"oauth-secret\" "
                "not found"});
  for (const auto& e : params.error()) CHECK(e.message.find("guest") == std::string::npos);

  AuthSources no_containers;
  TriggerAuthenticationSpec spec;
  spec.env.push_back({"p", "X", "app"});
  spec.env.push_back({"q", "Y", ""});
  const auto none = resolve_auth_params(spec, no_containers);
  REQUIRE_FALSE(none.ok());
  CHECK(strings(none.error()) ==
        Strings{"spec.env[0]: the scale target has no containers to read the environment of",
                "spec.env[1]: the scale target has no containers to read the environment of"});
  no_containers.containers = {{"main", {{"Y", "1"}}}};
  const auto wrong = resolve_auth_params(spec, no_containers);
  REQUIRE_FALSE(wrong.ok());
  CHECK(strings(wrong.error()) ==
        Strings{"spec.env[0].containerName: container \"app\" not found in the scale target"});
}

TEST_CASE("members that need a service are reported, not resolved") {
  const auto ta = test::decode_one_trigger_authentication(ta_yaml(
      "  podIdentity: {provider: aws}\n"
      "  hashiCorpVault: {address: 'http://v', authentication: token, secrets: [{parameter: p, "
      "path: a, key: k}]}\n"
      "  boundServiceAccountToken: [{parameter: t, serviceAccountName: sa}]\n"
      "  secretTargetRef: [{parameter: user, name: s, key: u}]\n"));
  CHECK(unresolved_auth_members(ta.spec) ==
        Strings{"podIdentity", "hashiCorpVault", "boundServiceAccountToken"});
  AuthSources s;
  s.secrets["s"] = {{"u", "admin"}};
  const auto params = resolve_auth_params(ta.spec, s);
  REQUIRE(params.ok());
  CHECK(params.value() == StringMap{{"user", "admin"}});

  TriggerAuthenticationSpec file_spec;
  file_spec.file_path = "creds.json";
  file_spec.secret_target_ref.push_back({"p", "missing", "k"});
  const auto from_file = resolve_auth_params(file_spec, {});
  REQUIRE(from_file.ok());  // KEDA ignores every other member when filePath is set
  CHECK(from_file.value().empty());
  CHECK(unresolved_auth_members(file_spec) == Strings{"filePath"});
}

TEST_CASE("Secret and ConfigMap data for the resolver") {
  const auto secret = json::parse(R"({"apiVersion": "v1", "kind": "Secret",
      "data": {"url": "YW1xcDovL2d1ZXN0Omd1ZXN0QHJhYmJpdDo1Njcy", "short": "YQ", "user": "Ym9i"},
      "stringData": {"user": "alice"}})");
  const auto data = secret_data(secret);
  REQUIRE(data.ok());
  CHECK(data.value() ==
        StringMap{{"url", "amqp://guest:guest@rabbit:5672"}, {"short", "a"}, {"user", "alice"}});
  const auto bad = secret_data(json::parse(R"({"data": {"k": "%%%"}})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(strings(bad.error()) == Strings{"data.k: is not valid base64"});

  const auto cm = config_map_data(json::parse(R"({"data": {"queue": "orders"}})"));
  REQUIRE(cm.ok());
  CHECK(cm.value() == StringMap{{"queue", "orders"}});
}

TEST_CASE("a ClusterTriggerAuthentication decodes to the same type with its kind") {
  const auto cta = test::decode_one_trigger_authentication(ta_yaml(
      "  secretTargetRef: [{parameter: p, name: s, key: k}]\n", "ClusterTriggerAuthentication"));
  CHECK(cta.cluster_scoped());
  const json encoded = cta;
  CHECK(encoded["kind"] == "ClusterTriggerAuthentication");
  CHECK(encoded["spec"]["secretTargetRef"][0]["key"] == "k");
}
