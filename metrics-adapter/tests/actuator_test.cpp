// The actuator: the pure status patch, and KubeActuator against the in-process test API server
// with the project's CRDs installed (crds/), so the status subresource, schema pruning and
// resourceVersion conflicts are the server's, and a Deployment gives a real /scale.
// StatusWriter (status_writer.h): the same server, answering or hanging.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "ebb/adapter/actuator.h"
#include "ebb/adapter/status_writer.h"
#include "ebb/api/decode.h"
#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "support.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;
using namespace ebb::adapter;
namespace res = ebb::kube::resources;
using testapi::Fault;
using testapi::LoggedRequest;

namespace {

TimePoint at(std::int64_t unix_seconds) { return TimePoint(std::chrono::seconds(unix_seconds)); }
// 2026-01-02T03:04:05Z and a minute later.
const TimePoint kT0 = at(1767323045);
const TimePoint kT1 = at(1767323105);
constexpr const char* kT0Text = "2026-01-02T03:04:05Z";
constexpr const char* kT1Text = "2026-01-02T03:05:05Z";

json ready_condition() {
  return {{"type", "Ready"}, {"status", "True"}, {"reason", "ScaledObjectReady"}, {"message", "ready"},
          {"observedGeneration", 3}, {"lastTransitionTime", "2025-12-01T00:00:00Z"}};
}

json active_condition(const std::string& status, const std::string& reason, std::int64_t generation,
                      const std::string& transition) {
  return {{"type", "Active"}, {"status", status}, {"reason", reason}, {"message", "m"},
          {"observedGeneration", generation}, {"lastTransitionTime", transition}};
}

// ---------------------------------------------------------------------------------------------
std::filesystem::path crds_dir() { return std::filesystem::path(ebb::test::source_dir()) / "crds"; }

bool is_write(const LoggedRequest& r) { return r.method != "GET"; }

// What the process logger writes to stderr while `run` runs.
template <class F>
std::string capture_stderr(F&& run) {
  std::fflush(stderr);
  test::TempDir dir("ebb-actuator");
  const std::string path = dir.path() + "/stderr";
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  run();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  return test::read_file(path);
}

struct Fixture {
  testapi::TestApiServer server;
  std::unique_ptr<kube::Client> client;
  const std::string ns = "shop";
  static constexpr const char* kToken = "s3cr3t-t0ken-value";

  Fixture() {
    kube::Config config;
    config.server = server.url();
    config.token = kube::TokenSource::fixed(kToken);
    client = std::make_unique<kube::Client>(config);
    REQUIRE(client->create(res::namespaces(), json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}).ok());
    const auto dir = crds_dir();
    for (const char* file : {"keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml",
                             "keda.sh_clustertriggerauthentications.yaml"}) {
      std::ifstream in(dir / file);
      REQUIRE(in.good());
      std::stringstream text;
      text << in.rdbuf();
      auto crd = api::yaml_to_json(text.str());
      REQUIRE(crd.ok());
      auto created = client->create(res::custom_resource_definitions(), *crd);
      if (!created) FAIL(created.error().message);
    }
    server.clear_request_log();
  }

  void deployment(const std::string& name, int replicas, const json& status = nullptr) {
    json d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","spec":{"selector":{"matchLabels":{"app":"w"}},
      "template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"app","image":"busybox"}]}}}})");
    d["metadata"] = {{"name", name}, {"namespace", ns}};
    d["spec"]["replicas"] = replicas;
    auto created = client->create(res::deployments(), d);
    REQUIRE(created.ok());
    if (!status.is_null()) {
      auto written = client->patch(res::deployments(), ns, name, kube::PatchType::merge, json{{"status", status}},
                                   kube::PatchOptions{.subresource = "status"});
      REQUIRE(written.ok());
    }
  }

  // A ScaledObject as the operator leaves it once accepted: Ready (observedGeneration), Paused,
  // the resolved target (unless with_gvkr is false).
  api::ScaledObject scaled_object(const std::string& name, const std::string& target, bool with_gvkr = true) {
    json o = json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","spec":{
      "minReplicaCount":0,"maxReplicaCount":10,
      "triggers":[{"type":"rabbitmq","metadata":{"queueName":"orders","mode":"QueueLength","value":"20","host":"amqp://rabbit"}}]}})");
    o["metadata"] = {{"name", name}, {"namespace", ns}};
    o["spec"]["scaleTargetRef"] = {{"name", target}};
    auto created = client->create(ebb::cluster::scaled_objects(), o);
    if (!created) FAIL(created.error().message);
    const auto generation = (*created)["metadata"]["generation"].get<std::int64_t>();
    json ready = ready_condition();
    ready["observedGeneration"] = generation;
    json status = {{"conditions", json::array({ready,
                                               {{"type", "Paused"}, {"status", "False"}, {"reason", ""}, {"message", ""},
                                                {"observedGeneration", generation}, {"lastTransitionTime", "2025-12-01T00:00:00Z"}}})},
                   {"originalReplicaCount", 0},
                   {"hpaName", "keda-hpa-" + name}};
    if (with_gvkr) {
      status["scaleTargetKind"] = "apps/v1.Deployment";
      status["scaleTargetGVKR"] = {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}, {"resource", "deployments"}};
    }
    auto written = client->patch(ebb::cluster::scaled_objects(), ns, name, kube::PatchType::merge, json{{"status", status}},
                                 kube::PatchOptions{.subresource = "status"});
    if (!written) FAIL(written.error().message);
    auto so = read(name);
    server.clear_request_log();
    return so;
  }

  api::ScaledObject read(const std::string& name) {
    auto got = client->get(ebb::cluster::scaled_objects(), ns, name);
    if (!got) FAIL(got.error().message);
    auto decoded = api::decode_scaled_object(*got);
    REQUIRE(decoded.ok());
    return *decoded;
  }
  json status_of(const std::string& name) {
    auto got = client->get(ebb::cluster::scaled_objects(), ns, name);
    if (!got) FAIL(got.error().message);
    return (*got)["status"];
  }
  int replicas(const std::string& name) {
    auto scale = client->get_scale(res::deployments(), ns, name);
    REQUIRE(scale.ok());
    return scale->replicas;
  }
  std::vector<json> events_about(const std::string& name) {
    auto listed = client->list(res::events(), ns);
    REQUIRE(listed.ok());
    std::vector<json> out;
    for (const auto& e : listed->items)
      if (e["regarding"]["name"] == name) out.push_back(e);
    return out;
  }
  std::vector<LoggedRequest> requests(const std::string& method, const std::string& path_suffix) {
    std::vector<LoggedRequest> out;
    for (const auto& r : server.request_log())
      if (r.method == method && r.path.size() >= path_suffix.size() &&
          r.path.compare(r.path.size() - path_suffix.size(), path_suffix.size(), path_suffix) == 0)
        out.push_back(r);
    return out;
  }
};

json condition_of(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"])
    if (c["type"] == type) return c;
  return nullptr;
}

}  // namespace

// =============================================================================================
// status_patch (pure)

TEST_CASE("status_patch: an empty update or unchanged fields give no patch", "[actuator][status_patch]") {
  const json current = {{"conditions", json::array({ready_condition(), active_condition("True", "ScalerActive", 3, kT0Text)})},
                        {"lastActiveTime", kT0Text},
                        {"health", {{"s0-rabbitmq-orders", {{"numberOfFailures", 0}, {"status", "Happy"}}}}},
                        {"triggersActivity", {{"s0-rabbitmq-orders", {{"isActive", true}}}}}};
  CHECK_FALSE(status_patch(current, StatusUpdate{}, 3, kT1).has_value());
  CHECK(StatusUpdate{}.empty());

  StatusUpdate same;
  same.active = Condition{"Active", "True", "ScalerActive", "m"};
  same.last_active = kT0 + std::chrono::milliseconds(700);  // the same second
  same.health = std::map<std::string, MetricHealth>{{"s0-rabbitmq-orders", MetricHealth{0, false}}};
  same.triggers_activity = std::map<std::string, bool>{{"s0-rabbitmq-orders", true}};
  CHECK_FALSE(same.empty());
  CHECK_FALSE(status_patch(current, same, 3, kT1).has_value());

  // Absent maps equal empty ones.
  StatusUpdate empty_maps;
  empty_maps.health = std::map<std::string, MetricHealth>{};
  empty_maps.triggers_activity = std::map<std::string, bool>{};
  CHECK_FALSE(status_patch(json::object(), empty_maps, 1, kT1).has_value());
  CHECK_FALSE(status_patch(nullptr, empty_maps, 1, kT1).has_value());
}

TEST_CASE("status_patch: lastTransitionTime moves only when the status changes", "[actuator][status_patch]") {
  const json current = {{"conditions", json::array({ready_condition(), active_condition("True", "ScalerActive", 3, kT0Text)})}};

  SECTION("reason and message change, status kept: transition time kept") {
    StatusUpdate u;
    u.active = Condition{"Active", "True", "ScalerActive", "another message"};
    auto p = status_patch(current, u, 3, kT1);
    REQUIRE(p);
    const auto c = condition_of((*p)["status"], "Active");
    CHECK(c["message"] == "another message");
    CHECK(c["lastTransitionTime"] == kT0Text);
    CHECK(c["observedGeneration"] == 3);
  }
  SECTION("status changes: transition time is now") {
    StatusUpdate u;
    u.active = Condition{"Active", "False", "ScalerCooldown", "cooling"};
    auto p = status_patch(current, u, 3, kT1);
    REQUIRE(p);
    const auto c = condition_of((*p)["status"], "Active");
    CHECK(c["status"] == "False");
    CHECK(c["reason"] == "ScalerCooldown");
    CHECK(c["lastTransitionTime"] == kT1Text);
  }
  SECTION("only the generation changes: observedGeneration is written") {
    StatusUpdate u;
    u.active = Condition{"Active", "True", "ScalerActive", "m"};
    auto p = status_patch(current, u, 4, kT1);
    REQUIRE(p);
    const auto c = condition_of((*p)["status"], "Active");
    CHECK(c["observedGeneration"] == 4);
    CHECK(c["lastTransitionTime"] == kT0Text);
  }
  SECTION("a new condition gets now and the generation") {
    StatusUpdate u;
    u.fallback = Condition{"Fallback", "False", "NoFallbackFound", "none"};
    auto p = status_patch(current, u, 3, kT1);
    REQUIRE(p);
    const auto c = condition_of((*p)["status"], "Fallback");
    CHECK(c == json{{"type", "Fallback"}, {"status", "False"}, {"reason", "NoFallbackFound"}, {"message", "none"},
                    {"observedGeneration", 3}, {"lastTransitionTime", kT1Text}});
  }
}

TEST_CASE("status_patch: the patch carries every condition, the operator's exactly as read", "[actuator][status_patch]") {
  const json paused = {{"type", "Paused"}, {"status", "False"}, {"reason", "ScaledObjectUnpaused"}, {"message", "x"},
                       {"observedGeneration", 2}, {"lastTransitionTime", "2025-11-01T00:00:00Z"}};
  const json hpa = {{"type", "HPAActive"}, {"status", "True"}, {"reason", "HPAActive"}, {"message", "y"}};
  const json current = {{"conditions", json::array({ready_condition(), paused, active_condition("False", "ScalerNotActive", 3, kT0Text), hpa})},
                        {"hpaName", "keda-hpa-x"},
                        {"originalReplicaCount", 2}};
  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "m"};
  u.fallback = Condition{"Fallback", "False", "NoFallbackFound", "none"};
  auto p = status_patch(current, u, 3, kT1);
  REQUIRE(p);
  const auto& conditions = (*p)["status"]["conditions"];
  REQUIRE(conditions.size() == 5);
  CHECK(conditions[0] == ready_condition());
  CHECK(conditions[1] == paused);
  CHECK(conditions[2]["type"] == "Active");
  CHECK(conditions[2]["status"] == "True");
  CHECK(conditions[2]["lastTransitionTime"] == kT1Text);
  CHECK(conditions[3] == hpa);
  CHECK(conditions[4]["type"] == "Fallback");
  // Nothing but the adapter's fields in the patch.
  CHECK((*p)["status"].size() == 1);
  CHECK(p->size() == 1);

  SECTION("the type is always Active / Fallback, whatever the caller wrote") {
    StatusUpdate hostile;
    hostile.active = Condition{"Ready", "False", "Nope", "not mine to write"};
    auto q = status_patch(current, hostile, 3, kT1);
    REQUIRE(q);
    CHECK(condition_of((*q)["status"], "Ready") == ready_condition());
    CHECK(condition_of((*q)["status"], "Active")["reason"] == "Nope");
  }
}

TEST_CASE("status_patch: lastActiveTime in RFC 3339 seconds, health and triggersActivity replaced", "[actuator][status_patch]") {
  const json current = {{"lastActiveTime", kT0Text},
                        {"health", {{"a", {{"numberOfFailures", 2}, {"status", "Failing"}}},
                                    {"b", {{"numberOfFailures", 0}, {"status", "Happy"}}}}},
                        {"triggersActivity", {{"a", {{"isActive", false}}}, {"b", {{"isActive", true}}}}}};
  StatusUpdate u;
  u.last_active = kT1 + std::chrono::milliseconds(999);
  u.health = std::map<std::string, MetricHealth>{{"a", MetricHealth{3, true}}, {"c", MetricHealth{0, false}}};
  u.triggers_activity = std::map<std::string, bool>{{"a", true}};
  auto p = status_patch(current, u, 1, kT1);
  REQUIRE(p);
  const auto& s = (*p)["status"];
  CHECK(s["lastActiveTime"] == kT1Text);
  CHECK(s["health"] == json{{"a", {{"numberOfFailures", 3}, {"status", "Failing"}}},
                           {"b", nullptr},
                           {"c", {{"numberOfFailures", 0}, {"status", "Happy"}}}});
  CHECK(s["triggersActivity"] == json{{"a", {{"isActive", true}}}, {"b", nullptr}});
  CHECK_FALSE(s.contains("conditions"));

  SECTION("applying the patch gives exactly the update (a second patch is a no-op)") {
    json next = current;
    next.merge_patch(s);
    CHECK(next["health"].size() == 2);
    CHECK_FALSE(next["triggersActivity"].contains("b"));
    CHECK_FALSE(status_patch(next, u, 1, kT1).has_value());
  }
}

TEST_CASE("status_update_fields: the fields status_patch writes, read from the typed status",
          "[actuator][status_patch]") {
  // The status writer and the log tell "no write" from the typed status the engine keeps
  // instead of the document; status_patch writes from the document. Every pair of a status and
  // an update below must agree: exactly on statuses in Ebb's own shape, and never a field fewer
  // on the others (which a write brings back into shape).
  const json ready = ready_condition();
  const json active = active_condition("True", "ScalerActive", 3, kT0Text);
  const json fallback = {{"type", "Fallback"},          {"status", "False"},
                         {"reason", "NoFallbackFound"}, {"message", "none"},
                         {"observedGeneration", 3},     {"lastTransitionTime", kT0Text}};
  const json health = {{"a", {{"numberOfFailures", 2}, {"status", "Failing"}}}};
  const json activity = {{"a", {{"isActive", true}}}};
  const json full = {{"conditions", json::array({ready, active, fallback})},
                     {"lastActiveTime", kT0Text},
                     {"health", health},
                     {"triggersActivity", activity}};

  struct Case {
    const char* name;
    json status;
    bool own_shape;
  };
  std::vector<Case> statuses{
      {"absent", nullptr, true},
      {"empty", json::object(), true},
      {"full", full, true},
      {"only the operator's condition", json{{"conditions", json::array({ready})}}, true}};
  auto odd = [&](const char* name, auto&& change) {
    json s = full;
    change(s);
    statuses.push_back({name, s, false});
  };
  odd("Active twice", [&](json& s) {
    s["conditions"].push_back(active_condition("False", "ScalerNotActive", 3, kT0Text));
  });
  odd("a reason that is no string", [](json& s) { s["conditions"][1]["reason"] = 5; });
  odd("a condition without message", [](json& s) { s["conditions"][2].erase("message"); });
  odd("observedGeneration as text",
      [](json& s) { s["conditions"][1]["observedGeneration"] = "3"; });
  odd("lastActiveTime a number", [](json& s) { s["lastActiveTime"] = 5; });
  odd("health not a map", [](json& s) { s["health"] = "x"; });
  odd("health with an extra field", [](json& s) { s["health"]["a"]["extra"] = 1; });
  odd("health with failures as text", [](json& s) { s["health"]["a"]["numberOfFailures"] = "2"; });
  odd("triggersActivity not bool",
      [](json& s) { s["triggersActivity"]["a"]["isActive"] = "true"; });
  odd("triggersActivity an array", [](json& s) { s["triggersActivity"] = json::array(); });

  std::vector<std::pair<const char*, StatusUpdate>> updates;
  auto add = [&](const char* name, auto&& fill) {
    StatusUpdate u;
    fill(u);
    updates.emplace_back(name, std::move(u));
  };
  add("nothing", [](StatusUpdate&) {});
  add("Active as held", [](StatusUpdate& u) {
    u.active = Condition{"Active", "True", "ScalerActive", "m"};
  });
  add("Active, other message", [](StatusUpdate& u) {
    u.active = Condition{"Active", "True", "ScalerActive", "n"};
  });
  add("Active False", [](StatusUpdate& u) {
    u.active = Condition{"Active", "False", "ScalerNotActive", "m"};
  });
  add("Fallback as held", [](StatusUpdate& u) {
    u.fallback = Condition{"Fallback", "False", "NoFallbackFound", "none"};
  });
  add("Fallback True", [](StatusUpdate& u) {
    u.fallback = Condition{"Fallback", "True", "FallbackExists", "x"};
  });
  add("lastActiveTime as held",
      [](StatusUpdate& u) { u.last_active = kT0 + std::chrono::milliseconds(400); });
  add("lastActiveTime later", [](StatusUpdate& u) { u.last_active = kT1; });
  add("health as held", [](StatusUpdate& u) {
    u.health = std::map<std::string, MetricHealth>{{"a", {2, true}}};
  });
  add("health empty", [](StatusUpdate& u) { u.health = std::map<std::string, MetricHealth>{}; });
  add("health counted on", [](StatusUpdate& u) {
    u.health = std::map<std::string, MetricHealth>{{"a", {3, true}}};
  });
  add("activity as held", [](StatusUpdate& u) {
    u.triggers_activity = std::map<std::string, bool>{{"a", true}};
  });
  add("activity empty",
      [](StatusUpdate& u) { u.triggers_activity = std::map<std::string, bool>{}; });
  add("activity off", [](StatusUpdate& u) {
    u.triggers_activity = std::map<std::string, bool>{{"a", false}};
  });
  add("everything as held", [](StatusUpdate& u) {
    u.active = Condition{"Active", "True", "ScalerActive", "m"};
    u.fallback = Condition{"Fallback", "False", "NoFallbackFound", "none"};
    u.last_active = kT0;
    u.health = std::map<std::string, MetricHealth>{{"a", {2, true}}};
    u.triggers_activity = std::map<std::string, bool>{{"a", true}};
  });

  int exact_nonempty = 0, over = 0;
  for (const auto& status : statuses) {
    const auto typed = api::read_adapter_status(status.status);
    for (const auto& [update_name, update] : updates) {
      for (std::int64_t generation : {3, 4}) {
        INFO(status.name << " / " << update_name << " / generation " << generation);
        std::vector<std::string> patched;
        if (auto p = status_patch(status.status, update, generation, kT1))
          for (const auto& [key, value] : (*p)["status"].items()) patched.push_back(key);
        auto fields = status_update_fields(typed, update, generation);
        std::sort(patched.begin(), patched.end());
        std::sort(fields.begin(), fields.end());
        if (status.own_shape) {
          CHECK(fields == patched);
          if (!fields.empty()) ++exact_nonempty;
        } else {
          CHECK(std::includes(fields.begin(), fields.end(), patched.begin(), patched.end()));
          if (fields.size() > patched.size()) ++over;
        }
      }
    }
  }
  // Both outcomes occur: the matrix reaches writes and no-writes, and odd shapes that only the
  // typed side counts as a change.
  CHECK(exact_nonempty > 20);
  CHECK(over > 0);
}

// =============================================================================================
// KubeActuator: /scale

TEST_CASE("KubeActuator: scale from 0 to 1 is a PUT of the Scale with its resourceVersion", "[actuator][scale]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  REQUIRE(actuator.leader());

  auto scaled = actuator.scale(so, 1);
  if (!scaled) FAIL(scaled.error().message);
  CHECK(*scaled == ScaleOutcome::written);
  CHECK(f.replicas("worker") == 1);
  auto puts = f.requests("PUT", "/apis/apps/v1/namespaces/shop/deployments/worker/scale");
  REQUIRE(puts.size() == 1);
  CHECK(puts[0].code == 200);
  const auto body = json::parse(puts[0].body);
  CHECK(body["kind"] == "Scale");
  CHECK(body["spec"]["replicas"] == 1);
  CHECK(body["metadata"]["resourceVersion"].is_string());
  CHECK_FALSE(body["metadata"]["resourceVersion"].get<std::string>().empty());

  SECTION("already at the value: read, no write, and it says so") {
    f.server.clear_request_log();
    const auto again = actuator.scale(so, 1);
    REQUIRE(again.ok());
    CHECK(*again == ScaleOutcome::unchanged);
    const auto log = f.server.request_log();
    CHECK(std::none_of(log.begin(), log.end(), is_write));
    CHECK(f.requests("GET", "/deployments/worker/scale").size() == 1);
  }
  SECTION("to 0") {
    REQUIRE(actuator.scale(so, 0).ok());
    CHECK(f.replicas("worker") == 0);
  }
}

TEST_CASE("KubeActuator: a 409 on the /scale PUT is retried from a fresh read", "[actuator][scale][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, KubeActuatorOptions{.conflict_retries = 2});

  SECTION("two conflicts, then success") {
    f.server.inject({.kind = Fault::Kind::Error, .status = 409, .count = 2, .method = "^PUT$", .path = "/scale$"});
    auto scaled = actuator.scale(so, 1);
    if (!scaled) FAIL(scaled.error().message);
    const auto puts = f.requests("PUT", "/deployments/worker/scale");
    REQUIRE(puts.size() == 3);
    CHECK(puts[0].code == 409);
    CHECK(puts[1].code == 409);
    CHECK(puts[2].code == 200);
    CHECK(f.requests("GET", "/deployments/worker/scale").size() == 3);  // one read per try
    CHECK(f.replicas("worker") == 1);
  }
  SECTION("the server's own conflict: a stale Scale resourceVersion") {
    // What the injected 409s stand for: another writer (the HPA controller, say) moved the
    // target between a read and a write.
    auto stale = f.client->get_scale(res::deployments(), f.ns, "worker");
    REQUIRE(stale.ok());
    REQUIRE(f.client->update_scale(res::deployments(), f.ns, "worker", 3).ok());
    auto conflict = f.client->update_scale(res::deployments(), f.ns, "worker", 1, stale->resource_version);
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().conflict());  // the server enforces the Scale's resourceVersion
    REQUIRE(actuator.scale(so, 0).ok());
    CHECK(f.replicas("worker") == 0);
  }
  SECTION("conflicts beyond the bound: an error, 1 + conflict_retries PUTs") {
    f.server.inject({.kind = Fault::Kind::Error, .status = 409, .count = 10, .method = "^PUT$", .path = "/scale$"});
    auto scaled = actuator.scale(so, 1);
    REQUIRE_FALSE(scaled.ok());
    CHECK_THAT(scaled.error().message, Catch::Contains("apps/v1.Deployment shop/worker"));
    CHECK(f.requests("PUT", "/deployments/worker/scale").size() == 3);
    CHECK(f.replicas("worker") == 0);
  }
}

// =============================================================================================
// KubeActuator: status

TEST_CASE("KubeActuator: update_status writes the adapter's fields and nothing else", "[actuator][status]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  const json before = f.status_of("orders");
  const auto generation = *so.metadata.generation;
  f.server.clear_request_log();
  KubeActuator actuator(*f.client, {});

  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "triggers s0-rabbitmq-orders are active"};
  u.fallback = Condition{"Fallback", "False", "NoFallbackFound", "no fallback"};
  u.last_active = kT0;
  u.health = std::map<std::string, MetricHealth>{{"s0-rabbitmq-orders", MetricHealth{1, true}}};
  u.triggers_activity = std::map<std::string, bool>{{"s0-rabbitmq-orders", false}};
  auto written = actuator.update_status(so, u);
  if (!written) FAIL(written.error().message);

  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 1);
  CHECK(patches[0].content_type == "application/merge-patch+json");
  CHECK(json::parse(patches[0].body)["metadata"]["resourceVersion"] == so.metadata.resource_version);
  CHECK(f.requests("GET", "/scaledobjects/orders").size() ==
        1);  // no cache: the base is read first

  const json after = f.status_of("orders");
  // The operator's fields and conditions as they were; the schema kept every field we wrote.
  CHECK(condition_of(after, "Ready") == condition_of(before, "Ready"));
  CHECK(condition_of(after, "Paused") == condition_of(before, "Paused"));
  for (const char* key : {"originalReplicaCount", "hpaName", "scaleTargetKind", "scaleTargetGVKR"})
    CHECK(after[key] == before[key]);
  const auto active = condition_of(after, "Active");
  CHECK(active["status"] == "True");
  CHECK(active["reason"] == "ScalerActive");
  CHECK(active["observedGeneration"] == generation);
  CHECK(active["lastTransitionTime"].is_string());
  CHECK(condition_of(after, "Fallback")["reason"] == "NoFallbackFound");
  CHECK(after["lastActiveTime"] == kT0Text);
  CHECK(after["health"] == json{{"s0-rabbitmq-orders", {{"numberOfFailures", 1}, {"status", "Failing"}}}});
  CHECK(after["triggersActivity"] == json{{"s0-rabbitmq-orders", {{"isActive", false}}}});

  SECTION("the same update again: no write") {
    f.server.clear_request_log();
    REQUIRE(actuator.update_status(f.read("orders"), u).ok());
    const auto log = f.server.request_log();
    CHECK(std::none_of(log.begin(), log.end(), is_write));
  }
  SECTION("a changed map replaces the old one on the server") {
    StatusUpdate next;
    next.health = std::map<std::string, MetricHealth>{{"s1-other", MetricHealth{0, false}}};
    REQUIRE(actuator.update_status(f.read("orders"), next).ok());
    const json now = f.status_of("orders");
    CHECK(now["health"] == json{{"s1-other", {{"numberOfFailures", 0}, {"status", "Happy"}}}});
    CHECK(now["triggersActivity"] == after["triggersActivity"]);  // unset optional: left alone
    CHECK(now["lastActiveTime"] == kT0Text);
  }
}

TEST_CASE("KubeActuator: an injected 409 on the status PATCH is retried from a fresh read", "[actuator][status][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  f.server.inject({.kind = Fault::Kind::Error, .status = 409, .count = 1, .method = "^PATCH$", .path = "/status$"});
  StatusUpdate u;
  u.active = Condition{"Active", "False", "ScalerNotActive", "idle"};
  auto written = actuator.update_status(so, u);
  if (!written) FAIL(written.error().message);
  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 2);
  CHECK(patches[0].code == 409);
  CHECK(patches[1].code == 200);
  CHECK(f.requests("GET", "/scaledobjects/orders").size() == 2);  // the base, then after the 409
  CHECK(condition_of(f.status_of("orders"), "Active")["reason"] == "ScalerNotActive");
}

TEST_CASE("KubeActuator: status conflicts are bounded, and an object without a resourceVersion is read first", "[actuator][status][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  StatusUpdate u;
  u.active = Condition{"Active", "False", "ScalerNotActive", "idle"};

  SECTION("conflicts beyond the bound") {
    KubeActuator actuator(*f.client, KubeActuatorOptions{.conflict_retries = 1});
    f.server.inject({.kind = Fault::Kind::Error, .status = 409, .count = 10, .method = "^PATCH$", .path = "/status$"});
    auto written = actuator.update_status(so, u);
    REQUIRE_FALSE(written.ok());
    CHECK_THAT(written.error().message, Catch::Contains("ScaledObject shop/orders"));
    CHECK(f.requests("PATCH", "/scaledobjects/orders/status").size() == 2);
  }
  SECTION(
      "the caller's copy has no resourceVersion and no status: GET, then PATCH with the read one") {
    KubeActuator actuator(*f.client, {});
    const std::string current = so.metadata.resource_version;
    so.metadata.resource_version.clear();
    so.status = nullptr;
    REQUIRE(actuator.update_status(so, u).ok());
    const auto log = f.server.request_log();
    REQUIRE(log.size() == 2);
    CHECK(log[0].method == "GET");
    CHECK(log[1].method == "PATCH");
    CHECK(json::parse(log[1].body)["metadata"]["resourceVersion"] == current);
    // The operator's conditions came from the read, not from the empty copy.
    CHECK(condition_of(f.status_of("orders"), "Ready")["reason"] == "ScaledObjectReady");
  }
}

TEST_CASE("KubeActuator: an operator write between our read and our write is preserved", "[actuator][status]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  // The adapter's cache holds the object, then stops following it (a watch that lags).
  kube::InformerOptions options;
  options.namespace_name = f.ns;
  kube::Informer scaled_objects(*f.client, ebb::cluster::scaled_objects(), options);
  scaled_objects.start();
  REQUIRE(scaled_objects.wait_for_sync(std::chrono::seconds(10)));
  scaled_objects.stop();
  kube::CacheView view({&scaled_objects.cache()});
  REQUIRE(view.find(f.ns + "/orders"));
  // The operator now flips Ready (TriggerError) with its own status write.
  json status = f.status_of("orders");
  for (auto& c : status["conditions"])
    if (c["type"] == "Ready") {
      c["status"] = "False";
      c["reason"] = "TriggerError";
      c["message"] = "Triggers defined in ScaledObject are not working correctly";
    }
  REQUIRE(f.client
              ->patch(ebb::cluster::scaled_objects(), f.ns, "orders", kube::PatchType::merge, json{{"status", status}},
                      kube::PatchOptions{.subresource = "status"})
              .ok());
  f.server.clear_request_log();

  KubeActuatorOptions actuator_options;
  actuator_options.scaled_objects = &view;
  KubeActuator actuator(*f.client, actuator_options);
  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "active"};
  auto written = actuator.update_status(so, u);
  if (!written) FAIL(written.error().message);

  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 2);
  CHECK(patches[0].code == 409);  // the server's own conflict on the cache's stale resourceVersion
  CHECK(patches[1].code == 200);
  const json after = f.status_of("orders");
  CHECK(condition_of(after, "Ready")["reason"] == "TriggerError");
  CHECK(condition_of(after, "Ready")["status"] == "False");
  CHECK(condition_of(after, "Active")["status"] == "True");
}

TEST_CASE(
    "KubeActuator: with the ScaledObject cache a status write keeps conditions the caller's object "
    "lacks",
    "[actuator][status]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  const json before = f.status_of("orders");
  REQUIRE(condition_of(before, "Ready")["reason"] == "ScaledObjectReady");
  kube::InformerOptions options;
  options.namespace_name = f.ns;
  kube::Informer scaled_objects(*f.client, ebb::cluster::scaled_objects(), options);
  scaled_objects.start();
  REQUIRE(scaled_objects.wait_for_sync(std::chrono::seconds(10)));
  kube::CacheView view({&scaled_objects.cache()});
  KubeActuatorOptions actuator_options;
  actuator_options.scaled_objects = &view;
  KubeActuator actuator(*f.client, actuator_options);

  // The engine's decoded object keeps the adapter's own conditions only; its resourceVersion
  // is not what the patch carries either (the cache's is).
  so.status["conditions"] = json::array();
  const std::string current = so.metadata.resource_version;
  so.metadata.resource_version = "1";
  f.server.clear_request_log();
  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "active"};
  auto written = actuator.update_status(so, u);
  if (!written) FAIL(written.error().message);

  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 1);
  CHECK(patches[0].code == 200);
  CHECK(json::parse(patches[0].body)["metadata"]["resourceVersion"] == current);
  CHECK(f.requests("GET", "/scaledobjects/orders").empty());  // the cache was current
  const json after = f.status_of("orders");
  CHECK(condition_of(after, "Ready") == condition_of(before, "Ready"));
  CHECK(condition_of(after, "Paused") == condition_of(before, "Paused"));
  CHECK(condition_of(after, "Active")["status"] == "True");

  SECTION("an object the cache does not hold is read from the API server") {
    scaled_objects.stop();  // no watch: the cache cannot learn of the next object
    auto other = f.scaled_object("payments", "worker");
    other.status["conditions"] = json::array();
    const json other_before = f.status_of("payments");
    f.server.clear_request_log();
    REQUIRE(actuator.update_status(other, u).ok());
    CHECK(f.requests("GET", "/scaledobjects/payments").size() == 1);
    CHECK(condition_of(f.status_of("payments"), "Ready") == condition_of(other_before, "Ready"));
    CHECK(condition_of(f.status_of("payments"), "Active")["status"] == "True");
  }
}

TEST_CASE("KubeActuator: status of a deleted ScaledObject is a clear error", "[actuator][status]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  REQUIRE(f.client->remove(ebb::cluster::scaled_objects(), f.ns, "orders").ok());
  KubeActuator actuator(*f.client, {});
  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "active"};
  auto written = actuator.update_status(so, u);
  REQUIRE_FALSE(written.ok());
  CHECK_THAT(written.error().message, Catch::Contains("shop/orders") && Catch::Contains("no longer exists"));
}

// =============================================================================================
// KubeActuator: leadership, execute()

namespace {
Decision activation_decision() {
  Decision d;
  d.active = true;
  ScaleAction a;
  a.from = 0;
  a.to = 1;
  a.reason = ScaleReason::Activate;
  a.stamp_last_active = true;
  a.on_success = Event{"Normal", "KEDAScaleTargetActivated", "Scaled apps/v1.Deployment shop/worker from 0 to 1"};
  a.on_failure = Event{"Warning", "KEDAScaleTargetActivationFailed", "Failed to scale apps/v1.Deployment shop/worker from 0 to 1"};
  d.scale = a;
  d.active_condition = Condition{"Active", "True", "ScalerActive", "s0-rabbitmq-orders is active"};
  d.fallback_condition = Condition{"Fallback", "False", "NoFallbackFound", "no fallback"};
  d.events = {Event{"Warning", "KEDAScalerFailed", "s1 failed: connection refused"}};
  d.triggers_activity = {{"s0-rabbitmq-orders", true}};
  return d;
}
}  // namespace

TEST_CASE("KubeActuator: a non-leader writes nothing at all", "[actuator][leader]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  std::atomic<bool> leading{false};
  KubeActuator actuator(*f.client, KubeActuatorOptions{.is_leader = [&] { return leading.load(); }});
  CHECK_FALSE(actuator.leader());

  const auto report = actuator.execute(so, activation_decision(),
                                       std::map<std::string, MetricHealth>{{"s0-rabbitmq-orders", MetricHealth{}}}, kT0);
  CHECK(report.skipped_not_leader);
  CHECK_FALSE(report.scaled_to);
  CHECK_FALSE(report.status_written);
  CHECK(report.events_recorded.empty());
  CHECK_FALSE(actuator.scale(so, 1).ok());
  StatusUpdate u;
  u.active = Condition{"Active", "True", "ScalerActive", "x"};
  CHECK_FALSE(actuator.update_status(so, u).ok());
  actuator.record(so, Event{"Normal", "KEDAScaleTargetActivated", "x"});
  CHECK(f.server.request_log().empty());  // not even a read
  CHECK(f.replicas("worker") == 0);

  leading = true;  // leadership acquired: the same call acts
  CHECK(actuator.leader());
  const auto acted = actuator.execute(so, activation_decision(), std::nullopt, kT0);
  CHECK_FALSE(acted.skipped_not_leader);
  CHECK(acted.scaled_to == 1);
  CHECK(f.replicas("worker") == 1);
}

TEST_CASE("KubeActuator: execute() scales, then writes status, then records events", "[actuator][execute]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, KubeActuatorOptions{.events = {"keda.sh/ebb-metrics-adapter", "adapter-0", 64}});
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());

  const auto report = actuator.execute(
      so, activation_decision(), std::map<std::string, MetricHealth>{{"s0-rabbitmq-orders", MetricHealth{0, false}}}, now);
  CHECK_FALSE(report.skipped_not_leader);
  CHECK(report.scaled_to == 1);
  CHECK_FALSE(report.scale_error);
  CHECK(report.status_written);
  CHECK_FALSE(report.status_error);
  REQUIRE(report.events_recorded.size() == 2);
  CHECK(report.events_recorded[0].reason == "KEDAScalerFailed");
  CHECK(report.events_recorded[1].reason == "KEDAScaleTargetActivated");

  // Order of the writes.
  std::vector<std::string> writes;
  for (const auto& r : f.server.request_log())
    if (is_write(r)) writes.push_back(r.method + " " + r.path.substr(r.path.rfind('/') + 1));
  CHECK(writes == std::vector<std::string>{"PUT scale", "PATCH status", "POST events", "POST events"});

  CHECK(f.replicas("worker") == 1);
  const json status = f.status_of("orders");
  {
    // lastActiveTime is the execution time (the scale succeeded and asked for the stamp).
    const std::time_t t = Clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK(status["lastActiveTime"] == buf);
  }
  CHECK(condition_of(status, "Active")["status"] == "True");
  CHECK(condition_of(status, "Fallback")["status"] == "False");
  CHECK(status["health"] == json{{"s0-rabbitmq-orders", {{"numberOfFailures", 0}, {"status", "Happy"}}}});
  CHECK(status["triggersActivity"] == json{{"s0-rabbitmq-orders", {{"isActive", true}}}});
  CHECK(condition_of(status, "Ready")["reason"] == "ScaledObjectReady");

  const auto events = f.events_about("orders");
  REQUIRE(events.size() == 2);
  const json* activated = nullptr;
  for (const auto& e : events)
    if (e["reason"] == "KEDAScaleTargetActivated") activated = &e;
  REQUIRE(activated);
  CHECK((*activated)["type"] == "Normal");
  CHECK((*activated)["action"] == "KEDAScaleTargetActivated");
  CHECK((*activated)["note"] == "Scaled apps/v1.Deployment shop/worker from 0 to 1");
  CHECK((*activated)["reportingController"] == "keda.sh/ebb-metrics-adapter");
  CHECK((*activated)["reportingInstance"] == "adapter-0");
  CHECK((*activated)["regarding"]["kind"] == "ScaledObject");
  CHECK((*activated)["regarding"]["apiVersion"] == "keda.sh/v1alpha1");
  CHECK((*activated)["regarding"]["namespace"] == "shop");
  CHECK((*activated)["regarding"]["uid"] == so.metadata.uid);

  SECTION("the same execution again: no /scale write, no status write, events become series") {
    f.server.clear_request_log();
    const auto again = actuator.execute(f.read("orders"), activation_decision(),
                                        std::map<std::string, MetricHealth>{{"s0-rabbitmq-orders", MetricHealth{0, false}}}, now);
    CHECK(again.scaled_to == 1);
    CHECK(again.status_written);
    CHECK(f.requests("PUT", "/deployments/worker/scale").empty());
    CHECK(f.requests("PATCH", "/scaledobjects/orders/status").empty());
    CHECK(f.requests("POST", "/events").empty());
    CHECK(f.requests("PATCH", "").size() == 2);  // the two events' series, nothing else
    for (const auto& r : f.requests("PATCH", "")) CHECK_THAT(r.path, Catch::StartsWith("/apis/events.k8s.io/v1/"));
    const auto repeated = f.events_about("orders");
    REQUIRE(repeated.size() == 2);
    for (const auto& e : repeated) CHECK(e["series"]["count"] == 2);
  }
}

TEST_CASE("KubeActuator: a failed /scale records on_failure with the error and still writes status", "[actuator][execute]") {
  Fixture f;
  auto so = f.scaled_object("orders", "missing-worker");  // the target does not exist
  KubeActuator actuator(*f.client, {});
  const auto report = actuator.execute(so, activation_decision(), std::nullopt, kT0);
  CHECK_FALSE(report.scaled_to);
  REQUIRE(report.scale_error);
  CHECK_THAT(*report.scale_error, Catch::Contains("Target resource doesn't exist") &&
                                      Catch::Contains("apps/v1.Deployment shop/missing-worker"));
  CHECK(report.status_written);
  const json status = f.status_of("orders");
  CHECK_FALSE(status.contains("lastActiveTime"));  // not stamped: the scale failed
  CHECK(condition_of(status, "Active")["status"] == "True");

  const auto events = f.events_about("orders");
  const json* failed = nullptr;
  for (const auto& e : events)
    if (e["reason"] == "KEDAScaleTargetActivationFailed") failed = &e;
  REQUIRE(failed);
  CHECK((*failed)["type"] == "Warning");
  CHECK((*failed)["action"] == "KEDAScaleTargetActivationFailed");
  CHECK((*failed)["note"] == "Failed to scale apps/v1.Deployment shop/worker from 0 to 1: " + *report.scale_error);
  CHECK(std::none_of(events.begin(), events.end(), [](const json& e) { return e["reason"] == "KEDAScaleTargetActivated"; }));
}

TEST_CASE("KubeActuator: an API error on /scale reaches the event without the token", "[actuator][execute][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  f.server.inject({.kind = Fault::Kind::Error, .status = 403, .count = 1, .method = "^PUT$", .path = "/scale$"});
  const auto report = actuator.execute(so, activation_decision(), std::nullopt, kT0);
  REQUIRE(report.scale_error);
  CHECK_THAT(*report.scale_error, Catch::Contains("403") || Catch::Contains("injected fault"));
  CHECK_THAT(*report.scale_error, !Catch::Contains(Fixture::kToken));
  for (const auto& e : f.events_about("orders")) CHECK_THAT(e["note"].get<std::string>(), !Catch::Contains(Fixture::kToken));
  CHECK(f.replicas("worker") == 0);
}

TEST_CASE("KubeActuator: a failed event does not stop the others", "[actuator][execute][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  f.server.inject({.kind = Fault::Kind::Error, .status = 500, .count = 1, .method = "^POST$", .path = "/events$"});
  ExecutionReport report;
  const std::string logged = capture_stderr([&] { report = actuator.execute(so, activation_decision(), std::nullopt, kT0); });
  // One JSON line naming the object, the reason and the error.
  INFO(logged);
  const auto line = json::parse(logged.substr(0, logged.find('\n')));
  CHECK(line["level"] == "warn");
  CHECK(line["msg"] == "event not recorded");
  CHECK(line["namespace"] == "shop");
  CHECK(line["name"] == "orders");
  CHECK(line["reason"] == "KEDAScalerFailed");
  CHECK_THAT(line["error"].get<std::string>(), Catch::Contains("500"));
  CHECK_THAT(logged, !Catch::Contains(Fixture::kToken));
  CHECK(report.scaled_to == 1);
  CHECK(report.status_written);
  const auto posts = f.requests("POST", "/events");
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].code == 500);
  CHECK(posts[1].code == 201);
  const auto events = f.events_about("orders");
  REQUIRE(events.size() == 1);
  CHECK(events[0]["reason"] == "KEDAScaleTargetActivated");
}

TEST_CASE("KubeActuator: a skipped decision does nothing", "[actuator][execute]") {
  Fixture f;
  f.deployment("worker", 0);
  auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  Decision d = activation_decision();
  d.skipped = true;
  const auto report = actuator.execute(so, d, std::map<std::string, MetricHealth>{{"m", MetricHealth{}}}, kT0);
  CHECK_FALSE(report.skipped_not_leader);
  CHECK_FALSE(report.scaled_to);
  CHECK_FALSE(report.status_written);
  CHECK(report.events_recorded.empty());
  CHECK(f.server.request_log().empty());
}

// =============================================================================================
// KubeActuator: read_target

TEST_CASE("KubeActuator: read_target reads /scale and the target's ready replicas", "[actuator][target]") {
  Fixture f;
  KubeActuator actuator(*f.client, {});

  SECTION("status.readyReplicas") {
    f.deployment("worker", 3, json{{"replicas", 3}, {"readyReplicas", 2}});
    auto target = actuator.read_target(f.scaled_object("orders", "worker"));
    if (!target) FAIL(target.error().message);
    CHECK(target->replicas == 3);
    CHECK(target->ready_replicas == 2);
  }
  SECTION("a workload status without readyReplicas: none ready (omitted when 0)") {
    f.deployment("worker", 3, json{{"replicas", 3}});
    auto target = actuator.read_target(f.scaled_object("orders", "worker"));
    REQUIRE(target.ok());
    CHECK(target->replicas == 3);
    CHECK(target->ready_replicas == 0);
  }
  SECTION("no scaleTargetGVKR in status: resolved through spec.scaleTargetRef") {
    f.deployment("worker", 4, json{{"replicas", 4}, {"readyReplicas", 4}});
    auto so = f.scaled_object("orders", "worker", /*with_gvkr=*/false);
    REQUIRE_FALSE(so.status.contains("scaleTargetGVKR"));
    auto target = actuator.read_target(so);
    if (!target) FAIL(target.error().message);
    CHECK(target->replicas == 4);
    CHECK(target->ready_replicas == 4);
    REQUIRE(actuator.scale(so, 1).ok());
    CHECK(f.replicas("worker") == 1);
  }
  SECTION("the target is missing: a clear error naming it") {
    auto target = actuator.read_target(f.scaled_object("orders", "nope"));
    REQUIRE_FALSE(target.ok());
    CHECK(target.error().message == "Target resource doesn't exist: apps/v1.Deployment shop/nope not found");
    CHECK(target.error().transient);
  }
}

TEST_CASE("KubeActuator: with workload caches read_target reads no API and follows the watch",
          "[actuator][target]") {
  Fixture f;
  f.deployment("worker", 3, json{{"replicas", 3}, {"readyReplicas", 2}});
  kube::InformerOptions options;
  options.transform = ebb::cluster::workload_transform;
  kube::Informer deployments(*f.client, res::deployments(), options);
  kube::Informer statefulsets(*f.client, res::statefulsets(), options);
  deployments.start();
  statefulsets.start();
  REQUIRE(deployments.wait_for_sync(std::chrono::seconds(10)));
  REQUIRE(statefulsets.wait_for_sync(std::chrono::seconds(10)));
  kube::CacheView deployment_view({&deployments.cache()}),
      statefulset_view({&statefulsets.cache()});
  ebb::cluster::WorkloadCaches caches{&deployment_view, &statefulset_view};
  KubeActuatorOptions actuator_options;
  actuator_options.workloads = &caches;
  KubeActuator actuator(*f.client, actuator_options);
  const auto so = f.scaled_object("orders", "worker");

  f.server.clear_request_log();
  for (int i = 0; i < 5; ++i) {
    auto target = actuator.read_target(so);
    if (!target) FAIL(target.error().message);
    CHECK(target->replicas == 3);
    CHECK(target->ready_replicas == 2);
  }
  CHECK(f.server.request_log().empty());

  // A write elsewhere reaches the cache through the watch.
  REQUIRE(f.client
              ->patch(res::deployments(), f.ns, "worker", kube::PatchType::merge,
                      json{{"status", {{"replicas", 5}, {"readyReplicas", 5}}}},
                      kube::PatchOptions{.subresource = "status"})
              .ok());
  REQUIRE(actuator.scale(so, 5).ok());
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    auto target = actuator.read_target(so);
    seen = target && target->replicas == 5 && target->ready_replicas == 5;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(seen);

  // Not in the cache (gone, or not delivered yet): the API says which.
  auto missing = actuator.read_target(f.scaled_object("other", "nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message ==
        "Target resource doesn't exist: apps/v1.Deployment shop/nope not found");
  deployments.stop();
  statefulsets.stop();
}

TEST_CASE("KubeActuator: a custom resource target resolved through discovery", "[actuator][target]") {
  Fixture f;
  json crd = json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"workers.example.com"},
    "spec":{"group":"example.com","scope":"Namespaced",
      "names":{"plural":"workers","singular":"worker","kind":"Worker","listKind":"WorkerList"},
      "versions":[{"name":"v1","served":true,"storage":true,
        "subresources":{"status":{},"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"}},
        "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
  auto created = f.client->create(res::custom_resource_definitions(), crd);
  if (!created) FAIL(created.error().message);
  json worker = {{"apiVersion", "example.com/v1"}, {"kind", "Worker"},
                 {"metadata", {{"name", "w"}, {"namespace", f.ns}}}, {"spec", {{"replicas", 2}}}};
  kube::Resource workers{"example.com", "v1", "workers", "Worker", true, {"status", "scale"}};
  // Discovery serves the new group once the CRD is established.
  bool made = false;
  for (int i = 0; i < 100 && !made; ++i) {
    made = f.client->create(workers, worker).ok();
    if (!made) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(made);
  REQUIRE(f.client->patch(workers, f.ns, "w", kube::PatchType::merge, json{{"status", {{"replicas", 2}}}},
                          kube::PatchOptions{.subresource = "status"}).ok());

  json o = json::parse(R"({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","spec":{
    "scaleTargetRef":{"apiVersion":"example.com/v1","kind":"Worker","name":"w"},
    "triggers":[{"type":"rabbitmq","metadata":{"queueName":"q","value":"5","host":"amqp://rabbit"}}]}})");
  o["metadata"] = {{"name", "custom"}, {"namespace", f.ns}};
  REQUIRE(f.client->create(ebb::cluster::scaled_objects(), o).ok());
  auto so = f.read("custom");

  KubeActuator actuator(*f.client, {});
  auto target = actuator.read_target(so);
  if (!target) FAIL(target.error().message);
  CHECK(target->replicas == 2);
  CHECK(target->ready_replicas == 2);  // no readyReplicas: the Scale's status.replicas
  f.server.clear_request_log();
  REQUIRE(actuator.scale(so, 0).ok());
  CHECK(f.requests("PUT", "/apis/example.com/v1/namespaces/shop/workers/w/scale").size() == 1);
  auto scale = f.client->get_scale(workers, f.ns, "w");
  REQUIRE(scale.ok());
  CHECK(scale->replicas == 0);
}

// =============================================================================================
// StatusWriter: status and Events off the poll workers

namespace {

Condition active_cond(const std::string& status, const std::string& reason) {
  return Condition{"Active", status, reason, reason + " message"};
}

StatusWriterOptions quick_writer(std::size_t threads = 1) {
  StatusWriterOptions o;
  o.threads = threads;
  o.retry = kube::Backoff{std::chrono::milliseconds(50), 2.0, std::chrono::milliseconds(200), 0.0};
  return o;
}

}  // namespace

TEST_CASE(
    "StatusWriter: submit never waits for a hanging API server, and the newest state is written "
    "once it answers",
    "[actuator][status_writer][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  const auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  StatusWriter writer(actuator, quick_writer());
  // The first status PATCH reaches the server and is never answered; the connection closes
  // after 2 s, a transport error: transient.
  f.server.inject({.kind = Fault::Kind::Timeout,
                   .hang = std::chrono::milliseconds(2000),
                   .count = 1,
                   .method = "^PATCH$",
                   .path = "/status$"});
  StatusUpdate first;
  first.active = active_cond("True", "ScalerActive");
  writer.submit(so, first, {});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its PATCH hangs now
  REQUIRE(writer.stats().in_flight == 1);

  const auto begin = std::chrono::steady_clock::now();
  StatusUpdate second;
  second.active = active_cond("False", "ScalerNotActive");
  second.last_active = kT0;
  writer.submit(so, second,
                {Event{"Normal", "KEDAScaleTargetDeactivated", "Deactivated shop/worker"}});
  StatusUpdate third;
  third.active = active_cond("False", "ScalerCooldown");
  writer.submit(so, third, {});
  const auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took < std::chrono::milliseconds(100));  // the hang is the writer's, not the caller's

  REQUIRE(writer.wait_idle(std::chrono::seconds(15)));
  const json status = f.status_of("orders");
  // Newest wins field by field: the third's Active, the second's lastActiveTime.
  CHECK(condition_of(status, "Active")["reason"] == "ScalerCooldown");
  CHECK(status["lastActiveTime"] == kT0Text);
  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 2);  // the hung one, then one for all three updates
  CHECK(patches[0].code == 0);
  CHECK(patches[1].code == 200);
  const auto events = f.events_about("orders");
  REQUIRE(events.size() == 1);  // recorded once
  CHECK(events[0]["reason"] == "KEDAScaleTargetDeactivated");
  const auto stats = writer.stats();
  CHECK(stats.retried == 1);
  CHECK(stats.coalesced == 1);
  CHECK(stats.written == 1);
  CHECK(stats.pending == 0);
}

TEST_CASE("StatusWriter: 5xx answers are retried with backoff until the write lands",
          "[actuator][status_writer][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  const auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  StatusWriter writer(actuator, quick_writer(2));
  f.server.inject({.kind = Fault::Kind::Error,
                   .status = 500,
                   .count = 3,
                   .method = "^PATCH$",
                   .path = "/status$"});
  StatusUpdate u;
  u.active = active_cond("False", "ScalerNotActive");
  writer.submit(so, u, {});
  REQUIRE(writer.wait_idle(std::chrono::seconds(15)));
  CHECK(condition_of(f.status_of("orders"), "Active")["reason"] == "ScalerNotActive");
  const auto patches = f.requests("PATCH", "/scaledobjects/orders/status");
  REQUIRE(patches.size() == 4);
  CHECK(patches[3].code == 200);
  CHECK(writer.stats().retried == 3);
  CHECK(writer.stats().written == 1);

  SECTION("an update the status already holds is no request") {
    f.server.clear_request_log();
    writer.submit(f.read("orders"), u, {});
    CHECK(writer.wait_idle(std::chrono::seconds(5)));
    CHECK(f.requests("PATCH", "/scaledobjects/orders/status").empty());
    CHECK(writer.stats().written == 1);
  }
}

TEST_CASE(
    "StatusWriter: cancel() drops what is pending and stops retries, and a deleted object is given "
    "up",
    "[actuator][status_writer][faults]") {
  Fixture f;
  f.deployment("worker", 0);
  const auto so = f.scaled_object("orders", "worker");
  KubeActuator actuator(*f.client, {});
  StatusWriter writer(actuator, quick_writer());

  SECTION("cancel while a write hangs") {
    f.server.inject({.kind = Fault::Kind::Timeout,
                     .hang = std::chrono::milliseconds(1000),
                     .count = 1,
                     .method = "^PATCH$",
                     .path = "/status$"});
    StatusUpdate a;
    a.active = active_cond("True", "ScalerActive");
    writer.submit(so, a, {});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    StatusUpdate b;
    b.active = active_cond("False", "ScalerNotActive");
    writer.submit(so, b, {});
    writer.cancel("shop/orders");
    REQUIRE(writer.wait_idle(std::chrono::seconds(10)));
    CHECK_FALSE(condition_of(f.status_of("orders"), "Active").is_object());  // neither was written
    CHECK(f.requests("PATCH", "/scaledobjects/orders/status").size() == 1);  // the hung one only
    CHECK(writer.stats().dropped == 2);
    CHECK(writer.stats().retried == 0);
  }
  SECTION("the object is gone") {
    REQUIRE(f.client->remove(ebb::cluster::scaled_objects(), f.ns, "orders").ok());
    StatusUpdate a;
    a.active = active_cond("True", "ScalerActive");
    writer.submit(so, a, {});
    REQUIRE(writer.wait_idle(std::chrono::seconds(10)));
    // The read of the base answers 404: nothing to patch, and nothing to retry.
    CHECK(f.requests("GET", "/scaledobjects/orders").size() == 1);
    CHECK(f.requests("PATCH", "/scaledobjects/orders/status").empty());
    CHECK(writer.stats().dropped == 1);
    CHECK(writer.stats().retried == 0);
  }
}
