#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "commands.h"

using namespace ebb::cli;

namespace {

struct Run {
  int status;
  std::string out, err;
};

Run validate(const std::vector<std::string>& files, SecretSources secrets = {}) {
  std::ostringstream out, err;
  const int status = run_validate(files, secrets, out, err);
  return {status, out.str(), err.str()};
}

std::string example(const std::string& name) { return std::string(EBB_SOURCE_DIR) + "/examples/" + name; }

std::string write_temp(const std::string& content) {
  char name[] = "/tmp/ebb-validate-test-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ebb validate: the invalid example reports each mistake with its path") {
  const auto file = example("invalid.yaml");
  const auto r = validate({file});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(contains(r.err, file + ":0: spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount\n"));
  CHECK(contains(r.err, file + ":0: spec.triggers[0].type: unknown trigger type \"redis-stream\" (did you mean \"redis-streams\"?)\n"));
  CHECK(contains(r.err, file + ":0: spec.triggers[1].metadata.lagThreshold:"));
}

TEST_CASE("ebb validate: the redis example is valid when its inputs are given") {
  const auto secret = write_temp("password=hunter2\n");
  SecretSources sources;
  sources.environment = {{"REDIS_ADDRESS", "127.0.0.1:6379"}};
  sources.files["redis-secret"]["password"] = "hunter2";
  const auto file = example("redis-list.yaml");
  const auto r = validate({file}, sources);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == file + ":0: ScaledObject shop/orders-worker is valid (metrics: s0-redis-orders)\n" + file +
                     ":1: TriggerAuthentication shop/redis-auth is valid\n");
  CHECK_FALSE(contains(r.out + r.err, "hunter2"));
  std::remove(secret.c_str());
}

TEST_CASE("ebb validate: missing offline inputs are warnings, not errors") {
  const auto file = example("redis-list.yaml");
  const auto r = validate({file});
  CHECK(r.status == 0);
  CHECK(contains(r.err, file + ":0: warning: spec.triggers[0]: environment variable REDIS_ADDRESS (for metadata.addressFromEnv) is not set; its parameters are only partly checked\n"));
}

TEST_CASE("ebb validate: trigger parameter errors fail validation when inputs are complete") {
  const auto file = write_temp(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: w, namespace: default}
spec:
  scaleTargetRef: {name: w}
  triggers:
    - type: redis
      metadata: {address: "127.0.0.1:6379", listName: jobs, listLength: "many"}
    - type: mongodb
      metadata: {connectionStringFromEnv: MONGO, query: "{}", queryValue: "1"}
)");
  const auto r = validate({file});
  CHECK(r.status == 1);
  CHECK(contains(r.err, file + ":0: spec.triggers[0].metadata.listLength: must be an integer, got \"many\"\n"));
  CHECK(contains(r.err, file + ":0: spec.triggers[1].type: unsupported trigger type \"mongodb\" (supported: "));
  std::remove(file.c_str());
}

TEST_CASE("ebb validate: unreadable files and YAML errors are reported") {
  const auto r = validate({"/nonexistent/so.yaml"});
  CHECK(r.status == 1);
  CHECK(r.err == "/nonexistent/so.yaml: cannot read file\n");

  const auto file = write_temp("apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: [}\n");
  const auto y = validate({file});
  CHECK(y.status == 1);
  CHECK(contains(y.err, file + ":0: "));
  std::remove(file.c_str());
}

TEST_CASE("ebb validate: the prometheus and metrics-api examples are valid when their secrets are given") {
  SecretSources sources;
  sources.files["mimir-credentials"]["username"] = "shop";
  sources.files["mimir-credentials"]["password"] = "hunter2";
  sources.files["renderer-api-token"]["token"] = "t0ken";
  const auto prometheus = example("prometheus.yaml");
  auto r = validate({prometheus}, sources);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == prometheus + ":0: ScaledObject shop/checkout is valid (metrics: s0-prometheus)\n" + prometheus +
                     ":1: TriggerAuthentication shop/mimir-auth is valid\n");
  const auto metrics_api = example("metrics-api.yaml");
  r = validate({metrics_api}, sources);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == metrics_api + ":0: ScaledObject media/renderer is valid (metrics: s0-metric-api-queue-pending)\n" +
                     metrics_api + ":1: TriggerAuthentication media/renderer-api is valid\n");
  CHECK_FALSE(contains(r.out + r.err, "hunter2"));
}

TEST_CASE("ebb validate: a ScaledJob is validated like KEDA's webhook and CRD do") {
  SecretSources sources;
  sources.environment = {{"REDIS_ADDRESS", "127.0.0.1:6379"}};
  const auto file = example("redis-list-job.yaml");
  const auto r = validate({file}, sources);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out == file + ":0: ScaledJob shop/render is valid (metrics: s0-redis-renders)\n");
}

TEST_CASE("ebb validate: ScaledJob mistakes are reported with their paths") {
  const auto file = write_temp(R"(apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: render, namespace: default}
spec:
  jobTargetRef:
    template:
      spec:
        containers: [{name: r, image: busybox}]
  scalingStrategy: {strategy: fastest}
  triggers:
    - type: redis
      metricType: Value
      metadata: {address: "127.0.0.1:6379", listName: jobs, listLength: "many"}
)");
  const auto r = validate({file});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(contains(r.err, file + ":0: spec.scalingStrategy.strategy: Unsupported value: \"fastest\""));
  CHECK(contains(r.err, file + ":0: spec.triggers[0].metricType: metricType cannot be set in ScaledJob triggers"));
  CHECK(contains(r.err, file + ":0: spec.triggers[0].metadata.listLength:"));
  CHECK_FALSE(contains(r.err, "not supported by Ebb"));
  std::remove(file.c_str());
}
