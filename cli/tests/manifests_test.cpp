#include "manifests.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace ebb::cli;

namespace {

std::string write_temp(const std::string& content) {
  char name[] = "/tmp/ebb-cli-test-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

const char* kManifest = R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: worker, namespace: shop}
spec:
  scaleTargetRef: {name: worker}
  triggers:
    - type: redis
      metadata: {addressFromEnv: REDIS_ADDRESS, listName: jobs}
      authenticationRef: {name: redis-auth}
    - type: redis
      metadata: {address: "r:6379", listName: other}
      authenticationRef: {name: absent}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: redis-auth, namespace: shop}
spec:
  secretTargetRef:
    - {parameter: password, name: redis-secret, key: password}
    - {parameter: username, name: redis-secret, key: username}
---
apiVersion: v1
kind: Secret
metadata: {name: redis-secret, namespace: shop}
stringData: {username: from-manifest, password: from-manifest}
)";

}  // namespace

TEST_CASE("cli manifests: secret files are KEY=VALUE lines") {
  const auto path = write_temp("# comment\n\npassword=s3cr=et\n user = bob \n");
  auto secrets = read_secret_files({"redis-secret=" + path});
  REQUIRE(secrets);
  CHECK(secrets->at("redis-secret").at("password") == "s3cr=et");
  CHECK(secrets->at("redis-secret").at("user") == " bob");
  std::remove(path.c_str());

  auto bad = read_secret_files({"no-equals"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "--secret \"no-equals\": expected NAME=FILE");
  const auto malformed = write_temp("password\n");
  auto bad_line = read_secret_files({"s=" + malformed});
  REQUIRE_FALSE(bad_line);
  CHECK(bad_line.error().message.find(":1: expected KEY=VALUE") != std::string::npos);
  std::remove(malformed.c_str());
}

TEST_CASE("cli manifests: secret environment variable names") {
  CHECK(secret_env_var("redis-secret", "password") == "EBB_SECRET_REDIS_SECRET_PASSWORD");
  CHECK(secret_env_var("a.b", "tls.crt") == "EBB_SECRET_A_B_TLS_CRT");
}

TEST_CASE("cli manifests: triggers get auth params and env, with precedence") {
  const auto path = write_temp(kManifest);
  const auto manifests = load_manifests({path});
  REQUIRE(manifests.load_errors.empty());
  REQUIRE(manifests.documents.size() == 3);
  const auto* so = manifests.documents[0].doc.scaled_object();
  REQUIRE(so);

  SecretSources sources;
  sources.environment = {{"REDIS_ADDRESS", "127.0.0.1:6379"},
                         {"EBB_SECRET_REDIS_SECRET_PASSWORD", "from-env"}};
  sources.files["redis-secret"]["username"] = "from-file";
  auto inputs = trigger_inputs(*so, manifests, sources);
  REQUIRE(inputs.size() == 2);

  const auto& first = inputs[0];
  CHECK(first.missing.empty());
  CHECK(first.context.index == 0);
  CHECK(first.context.scaled_object_namespace == "shop");
  CHECK(first.context.resolved_env.at("REDIS_ADDRESS") == "127.0.0.1:6379");
  // EBB_SECRET_* beats --secret files, which beat Secrets in the manifests.
  CHECK(first.context.auth_params.at("password") == "from-env");
  CHECK(first.context.auth_params.at("username") == "from-file");

  const auto& second = inputs[1];
  CHECK(second.context.index == 1);
  REQUIRE(second.missing.size() == 1);
  CHECK(second.missing[0] == "TriggerAuthentication \"absent\" is not in the given files");

  SecretSources no_env;
  auto without = trigger_inputs(*so, manifests, no_env);
  REQUIRE_FALSE(without[0].missing.empty());
  CHECK(without[0].missing[0] == "environment variable REDIS_ADDRESS (for metadata.addressFromEnv) is not set");
  CHECK(without[0].context.auth_params.at("password") == "from-manifest");
  std::remove(path.c_str());
}
