// `ebb probe` on ScaledJobs against a real redis-server: the queue length read now, and the Jobs
// the adapter's job loop would create from it (its own decision functions), for the running and
// pending Jobs given on the command line; a stopped server makes the count unknown, never 0.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "support/support.h"

using namespace ebb::cli;
using nlohmann::json;

namespace {

std::string scaled_job(std::uint16_t port, const std::string& strategy,
                       const std::string& annotations = "{}") {
  return R"(apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: render, namespace: shop, annotations: )" +
         annotations + R"(}
spec:
  jobTargetRef:
    template:
      spec:
        containers: [{name: render, image: busybox}]
  maxReplicaCount: 10
  scalingStrategy: {strategy: )" +
         strategy + R"(}
  triggers:
    - type: redis
      metadata:
        address: "127.0.0.1:)" +
         std::to_string(port) + R"("
        listName: renders
        listLength: "2"
)";
}

struct Probe {
  int status = -1;
  std::string out, err;
  json doc;
};

Probe probe(const std::string& file, ProbeOptions options) {
  std::ostringstream out, err;
  Probe p;
  p.status = run_probe({file}, SecretSources{}, options, out, err);
  p.out = out.str();
  p.err = err.str();
  if (options.json) p.doc = json::parse(p.out);
  return p;
}

void push(const ebb::test::RedisServer& redis, int items) {
  std::vector<std::string> args = {"rpush", "renders"};
  for (int i = 0; i < items; ++i) args.push_back("r" + std::to_string(i));
  redis.cli(args);
}

}  // namespace

TEST_CASE("ebb probe: a ScaledJob's jobs to create from a real redis list") {
  ebb::test::RedisServer redis;
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/sj.yaml";
  std::ofstream(file) << scaled_job(redis.port(), "default");
  ProbeOptions options;
  options.json = true;

  // Empty list: inactive, nothing to create.
  auto p = probe(file, options);
  INFO(p.err);
  CHECK(p.status == 0);
  CHECK(p.doc.at("scaledObjects").empty());
  auto sj = p.doc.at("scaledJobs").at(0);
  CHECK(sj.at("namespace") == "shop");
  CHECK(sj.at("name") == "render");
  CHECK(sj.at("jobsToCreate") == 0);
  CHECK(sj.at("active") == false);
  CHECK(sj.at("paused") == false);
  CHECK(sj.at("strategy") == "default");
  CHECK(sj.at("multipleScalersCalculation") == "max");
  CHECK(sj.at("maxReplicaCount") == 10);
  auto trigger = sj.at("triggers").at(0);
  CHECK(trigger.at("metricName") == "s0-redis-renders");
  CHECK(trigger.at("value") == 0.0);
  CHECK(trigger.at("target") == 2.0);

  // 7 items, 2 per Job: queue length 7, at most ceil(7/2) = 4 Jobs, none running: 4 created.
  push(redis, 7);
  p = probe(file, options);
  CHECK(p.status == 0);
  sj = p.doc.at("scaledJobs").at(0);
  CHECK(sj.at("triggers").at(0).at("value") == 7.0);
  CHECK(sj.at("active") == true);
  CHECK(sj.at("queueLength") == 7);
  CHECK(sj.at("maxScale") == 4);
  CHECK(sj.at("jobsToCreate") == 4);

  // Three Jobs already running: the default strategy creates the one missing.
  options.running_jobs = 3;
  p = probe(file, options);
  sj = p.doc.at("scaledJobs").at(0);
  CHECK(sj.at("runningJobs") == 3);
  CHECK(sj.at("maxScale") == 1);
  CHECK(sj.at("jobsToCreate") == 1);

  // Server stopped: the count is unknown (null), not 0, and the error names the endpoint.
  redis.stop();
  p = probe(file, options);
  CHECK(p.status == 1);
  sj = p.doc.at("scaledJobs").at(0);
  CHECK(sj.at("jobsToCreate").is_null());
  CHECK(sj.at("active").is_null());
  CHECK(sj.at("queueLength").is_null());
  CHECK(sj.at("maxScale").is_null());
  trigger = sj.at("triggers").at(0);
  CHECK(trigger.at("value").is_null());
  REQUIRE(trigger.at("error").is_string());
  CHECK_THAT(trigger.at("error").get<std::string>(),
             Catch::Contains("127.0.0.1:" + std::to_string(redis.port())));
  options.json = false;
  p = probe(file, options);
  CHECK(p.status == 1);
  CHECK_THAT(p.out, Catch::StartsWith("shop/render  jobsToCreate=unknown  (no trigger could be "
                                      "read; running 3, pending 0; strategy default)\n"));
}

TEST_CASE("ebb probe: a ScaledJob's strategy, pause annotation and table output") {
  ebb::test::RedisServer redis;
  ebb::test::TempDir dir;
  push(redis, 7);

  SECTION("accurate counts the pending Jobs") {
    const auto file = dir.path() + "/accurate.yaml";
    std::ofstream(file) << scaled_job(redis.port(), "accurate");
    ProbeOptions options;
    options.json = true;
    options.running_jobs = 3;
    options.pending_jobs = 1;
    auto p = probe(file, options);
    INFO(p.err);
    CHECK(p.status == 0);
    const auto sj = p.doc.at("scaledJobs").at(0);
    CHECK(sj.at("strategy") == "accurate");
    CHECK(sj.at("pendingJobs") == 1);
    // 4 + 3 running - 1 pending <= 10: 4 - 1 pending = 3.
    CHECK(sj.at("jobsToCreate") == 3);
  }
  SECTION("paused: nothing is created, whatever the queue") {
    const auto file = dir.path() + "/paused.yaml";
    std::ofstream(file) << scaled_job(redis.port(), "default",
                                      R"({autoscaling.keda.sh/paused: "true"})");
    ProbeOptions options;
    options.json = true;
    auto p = probe(file, options);
    CHECK(p.status == 0);
    const auto sj = p.doc.at("scaledJobs").at(0);
    CHECK(sj.at("paused") == true);
    CHECK(sj.at("jobsToCreate") == 0);
    CHECK(sj.at("triggers").at(0).at("value") == 7.0);
  }
  SECTION("table") {
    const auto file = dir.path() + "/table.yaml";
    std::ofstream(file) << scaled_job(redis.port(), "default");
    auto p = probe(file, ProbeOptions{});
    INFO(p.err);
    CHECK(p.status == 0);
    CHECK_THAT(p.out, Catch::StartsWith("shop/render  jobsToCreate=4  (queueLength 7, maxScale 4, "
                                        "running 0, pending 0; strategy default, "
                                        "multipleScalersCalculation max, maxReplicaCount 10)\n"));
    CHECK_THAT(p.out, Catch::Contains("s0-redis-renders"));
  }
}

TEST_CASE("ebb probe: an invalid ScaledJob is reported and not polled") {
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/bad.yaml";
  // metricType has no meaning in a ScaledJob trigger; the adapter refuses it, so probe does.
  std::ofstream(file) << R"(apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: render, namespace: shop}
spec:
  jobTargetRef: {template: {spec: {containers: [{name: r, image: busybox}]}}}
  triggers:
    - {type: redis, metricType: Value, metadata: {address: "127.0.0.1:1", listName: q}}
)";
  auto p = probe(file, ProbeOptions{});
  CHECK(p.status == 1);
  CHECK_THAT(p.err, Catch::Contains(":0: spec.triggers[0].metricType: metricType cannot be set"));
  CHECK_THAT(p.err,
             Catch::Contains("probe: no valid ScaledObject or ScaledJob in the given files"));
  CHECK(p.out.empty());
}
