// `ebb probe` end to end against a real PostgreSQL: the trigger type comes through the registry
// like any other, its password from a TriggerAuthentication's secret; values, desired replicas,
// activation, and a wrong password reported as an error (never 0, never echoed).
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "support/servers.h"
#include "support/support.h"

using namespace ebb::cli;
using nlohmann::json;

namespace {

std::string manifest(std::uint16_t port) {
  return R"(apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: invoices, namespace: billing}
spec:
  scaleTargetRef: {name: invoice-worker}
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: postgresql
      metadata:
        host: "127.0.0.1"
        port: ")" +
         std::to_string(port) + R"("
        userName: postgres
        dbName: postgres
        sslmode: disable
        query: "SELECT count(*) FROM invoices WHERE state = 'open'"
        targetQueryValue: "4"
        activationTargetQueryValue: "1"
      authenticationRef: {name: pg-auth}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: pg-auth, namespace: billing}
spec:
  secretTargetRef:
    - {parameter: password, name: pg-secret, key: password}
)";
}

json probe_json(const std::string& file, const SecretSources& secrets, int* status = nullptr) {
  std::ostringstream out, err;
  ProbeOptions options;
  options.json = true;
  const int rc = run_probe({file}, secrets, options, out, err);
  if (status) *status = rc;
  INFO(err.str());
  return json::parse(out.str());
}

}  // namespace

TEST_CASE("ebb probe: a postgresql trigger reads its query through the registry") {
  ebb::test::LocalServer pg(ebb::test::postgres_server("probe-pw"));
  ebb::test::psql(pg, "CREATE TABLE invoices (state text)", "probe-pw");
  ebb::test::TempDir dir;
  const auto file = dir.path() + "/so.yaml";
  std::ofstream(file) << manifest(pg.port());
  SecretSources secrets;
  secrets.files["pg-secret"]["password"] = "probe-pw";

  int status = -1;
  auto doc = probe_json(file, secrets, &status);
  CHECK(status == 0);
  auto trigger = doc.at("scaledObjects").at(0).at("triggers").at(0);
  CHECK(trigger.at("type") == "postgresql");
  CHECK(trigger.at("metricName") == "s0-postgresql");
  CHECK(trigger.at("value") == 0.0);
  CHECK(trigger.at("target") == 4.0);
  CHECK(trigger.at("activationThreshold") == 1.0);
  CHECK(trigger.at("active") == false);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 0);

  // 9 open invoices, target 4: active, ceil(9/4) = 3 replicas.
  ebb::test::psql(pg, "INSERT INTO invoices SELECT 'open' FROM generate_series(1, 9)", "probe-pw");
  doc = probe_json(file, secrets);
  trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["value"] == 9.0);
  CHECK(trigger["active"] == true);
  CHECK(trigger["error"].is_null());
  CHECK(doc["scaledObjects"][0]["desiredReplicas"] == 3);

  // A wrong password: an error naming the endpoint, replicas unknown, exit status 1.
  secrets.files["pg-secret"]["password"] = "not-the-password";
  doc = probe_json(file, secrets, &status);
  CHECK(status == 1);
  trigger = doc["scaledObjects"][0]["triggers"][0];
  CHECK(trigger["value"].is_null());
  REQUIRE(trigger["error"].is_string());
  const auto error = trigger["error"].get<std::string>();
  CHECK(error.find("postgresql 127.0.0.1:" + std::to_string(pg.port()) + "/postgres") !=
        std::string::npos);
  CHECK(error.find("password authentication failed") != std::string::npos);
  CHECK(error.find("not-the-password") == std::string::npos);
  CHECK(doc["scaledObjects"][0]["desiredReplicas"].is_null());
}
