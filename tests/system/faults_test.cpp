// Issue 18's fault matrix (ebb_system_fault_tests): the rows no other test covers, with the real
// ebb-operator and ebb-metrics-adapter processes. A broker that hangs and a host that does not
// resolve; the adapter killed while its /scale write is in flight; 409 and 429 storms on /scale;
// the API server out of reach mid-poll and mid-reconcile; a leader handover while many targets
// change; the operator killed during its own /scale writes; a kill -9 of the standalone test API
// server. Each asserts no wrong scale (a target only ever takes values its triggers justify) and
// no lost data (finalizers, originalReplicaCount, HPAs, the targets' replicas). The table in
// docs/DEVELOPING.md ("Fault matrix") maps every fault to the tests that cover it.
//
// Deadlines stop a test that would never get there; they are not speed assertions.
#include <signal.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "adapter_harness.h"
#include "ebb/cluster/resources.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace test = ebb::test;

namespace {

using SteadyClock = std::chrono::steady_clock;
using ebb::testapi::Fault;

const auto kScaledObjects = ebb::cluster::scaled_objects();
constexpr const char* kFinalizer = "finalizer.keda.sh";

void wait_ready_so(Cluster& cluster, const std::string& name, const OperatorRun& op,
                   std::chrono::milliseconds timeout = 30s) {
  eventually(
      "ScaledObject " + name + " Ready=True for its generation",
      [&] { return is_ready(cluster.scaled_object(name)); }, timeout, &op);
}

bool has_finalizer(const std::optional<Object>& so) {
  if (!so || !(*so)["metadata"].contains("finalizers")) return false;
  for (const auto& f : (*so)["metadata"]["finalizers"])
    if (f.is_string() && f.get<std::string>() == kFinalizer) return true;
  return false;
}

// The (target, replicas) of every "scaled target" line of an adapter's log, as a set. The adapter
// logs that line for a /scale write only: when GET /scale already shows the value it writes
// nothing and logs "target already at replicas" (KubeActuator::scale; seen after the API server
// outage). The writes themselves are checked on the request log.
std::set<std::pair<std::string, int>> scaled_lines(const std::string& log) {
  std::set<std::pair<std::string, int>> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"scaled target\"") == std::string::npos) continue;
    const auto json = Object::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object()) continue;
    out.emplace(json.value("target", ""), json.value("replicas", -1));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A broker that accepts and never answers, and a host that does not resolve.

TEST_CASE(
    "broker blackhole and DNS failure: reads are errors not 0 and the targets keep their replicas",
    "[system][adapter]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster);
  op.require_ready();
  test::RedisServer redis;
  test::SilentListener blackhole;  // connects succeed, nothing is ever read back
  // Both at 2 replicas with minReplicaCount 0: an error taken as 0 would scale them to 0 once the
  // 2 s cooldown has passed. The control object is the same with a reachable, empty list: it
  // does go to 0, which shows the adapter acts in this window, and that polls hanging on one
  // endpoint do not hold up the others.
  cluster.create_deployment("hole", 2);
  cluster.create_deployment("nodns", 2);
  cluster.create_deployment("control", 2);
  cluster.create(kScaledObjects,
                 scaled_object_with("hole-so", "hole", "redis",
                                    redis_trigger_metadata(blackhole.port(), "jobs"), 0, 10, 1, 2));
  cluster.create(kScaledObjects, scaled_object_with("nodns-so", "nodns", "redis",
                                                    {{"address", "ebb-fault-matrix.invalid:6379"},
                                                     {"listName", "jobs"},
                                                     {"listLength", "5"}},
                                                    0, 10, 1, 2));
  cluster.create(kScaledObjects,
                 scaled_object_with("control-so", "control", "redis",
                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 2));
  for (const char* name : {"hole-so", "nodns-so", "control-so"}) wait_ready_so(cluster, name, op);
  ReplicaSampler hole(cluster, "hole");
  ReplicaSampler nodns(cluster, "nodns");

  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  const auto started = SteadyClock::now();
  const auto hpa = hpa_identity(pki);
  eventually_adapter(
      "control scaled 2 -> 0 (empty list, cooldown over)",
      [&] { return cluster.deployment_replicas("control") == 0; }, 30s, adapter, &op);

  // Each failing trigger is polled to its end (the redis client's 3 s command deadline for the
  // blackhole) again and again, and counted as an error each time.
  eventually_adapter(
      "errors counted for hole-so and nodns-so, twice each",
      [&] {
        const auto text = adapter.metrics();
        return sample_sum(text, "keda_scaler_detail_errors_total", {"scaledObject=\"hole-so\""}) >=
                   2 &&
               sample_sum(text, "keda_scaler_detail_errors_total", {"scaledObject=\"nodns-so\""}) >=
                   2;
      },
      40s, adapter);
  // What the HPA reads is an error naming the metric, never a value, for as long as it lasts.
  std::map<std::string, std::string> last_body;
  for (int i = 0; i < 5; ++i) {
    for (const char* so : {"hole-so", "nodns-so"}) {
      const auto r = adapter.external_metric(cluster.ns(), "s0-redis-jobs", so, hpa);
      INFO(so << ": HTTP " << r.status << " " << r.body);
      CHECK(r.status == 500);
      CHECK(served(r).empty());
      CHECK(r.body.find("s0-redis-jobs") != std::string::npos);
      last_body[so] = r.body;
    }
    std::this_thread::sleep_for(200ms);
  }
  // The errors say where it went wrong: the host that does not resolve, the silent endpoint.
  CHECK(last_body["nodns-so"].find("ebb-fault-matrix.invalid") != std::string::npos);
  CHECK(last_body["hole-so"].find("127.0.0.1:" + std::to_string(blackhole.port())) !=
        std::string::npos);
  // Unknown, not inactive: the Active condition says so and the targets stay at 2 for several
  // cooldowns.
  for (const char* name : {"hole-so", "nodns-so"}) {
    eventually_adapter(
        std::string(name) + " Active=Unknown",
        [&] {
          auto so = cluster.scaled_object(name);
          return so && condition_status(*so, "Active") == "Unknown";
        },
        20s, adapter);
  }
  while (seconds_since(started) < 15.0) {
    REQUIRE(cluster.deployment_replicas("hole") == 2);
    REQUIRE(cluster.deployment_replicas("nodns") == 2);
    std::this_thread::sleep_for(250ms);
  }
  CHECK(seen(hole) == std::vector<int>{2});
  CHECK(seen(nodns) == std::vector<int>{2});
  if (cluster.server()) {
    CHECK(scale_writes(*cluster.server(), cluster.ns(), "hole").empty());
    CHECK(scale_writes(*cluster.server(), cluster.ns(), "nodns").empty());
  }
  CHECK(adapter.running());
}

// ---------------------------------------------------------------------------------------------
// The adapter dies while its /scale write is in flight.

TEST_CASE(
    "adapter kill -9 while its /scale write hangs: the restarted adapter writes the same value",
    "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster);
  op.require_ready();
  auto* server = cluster.server();
  test::RedisServer redis;
  cluster.create_deployment("worker", 0);
  // cooldown 60 s: nothing may deactivate it within the test.
  cluster.create(kScaledObjects,
                 scaled_object_with("worker-so", "worker", "redis",
                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 60));
  wait_ready_so(cluster, "worker-so", op);
  ReplicaSampler worker(cluster, "worker");
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  eventually_adapter(
      "worker-so served 0",
      [&] {
        return served(adapter.external_metric(cluster.ns(), "s0-redis-jobs", "worker-so",
                                              hpa_identity(pki))) == "0";
      },
      30s, adapter, &op);

  // The next write of the target's /scale reaches the server and is never answered (nor applied).
  const std::string scale_path = "/deployments/worker/scale$";
  server->inject({.kind = Fault::Kind::Timeout,
                  .hang = 60s,
                  .count = 1,
                  .method = "^(PUT|PATCH)$",
                  .path = scale_path});
  REQUIRE(redis.cli({"RPUSH", "jobs", "1", "2", "3"}) == "3");
  eventually_adapter(
      "the adapter's /scale write is in flight",
      [&] {
        const auto writes = scale_writes(*server, cluster.ns(), "worker");
        return !writes.empty() && writes.back().code == 0;
      },
      30s, adapter, &op);
  adapter.kill9();
  server->clear_faults();
  CHECK(cluster.deployment_replicas("worker") == 0);  // the hung write was not applied

  adapter.restart();
  adapter.require_ready();
  eventually_adapter(
      "the restarted adapter scales worker 0 -> 1",
      [&] { return cluster.deployment_replicas("worker") == 1; }, 30s, adapter, &op);
  std::this_thread::sleep_for(3s);  // three more polls: nothing else is written
  CHECK(cluster.deployment_replicas("worker") == 1);
  CHECK(seen(worker) == std::vector<int>({0, 1}));
  CHECK(successful_scale_values(cluster, "worker") == std::vector<int>{1});
  // Every attempt, the one that hung included, asked for 1 and nothing else.
  const auto attempts = attempted_scale_values(cluster, "worker");
  CHECK(attempts.size() >= 2);
  CHECK(std::all_of(attempts.begin(), attempts.end(), [](int r) { return r == 1; }));
  CHECK(has_finalizer(cluster.scaled_object("worker-so")));
  CHECK(cluster.hpa("keda-hpa-worker-so").has_value());
}

// ---------------------------------------------------------------------------------------------
// Conflicts and throttling on the target's /scale.

TEST_CASE(
    "a 409 storm and 429s with Retry-After on /scale: each activation lands once with its value",
    "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster);
  op.require_ready();
  auto* server = cluster.server();
  test::RedisServer redis;
  cluster.create_deployment("conflicted", 0);
  cluster.create_deployment("throttled", 0);
  for (const char* name : {"conflicted", "throttled"})
    cluster.create(kScaledObjects,
                   scaled_object_with(std::string(name) + "-so", name, "redis",
                                      redis_trigger_metadata(redis.port(), name), 0, 10, 1, 60));
  wait_ready_so(cluster, "conflicted-so", op);
  wait_ready_so(cluster, "throttled-so", op);
  ReplicaSampler conflicted(cluster, "conflicted");
  ReplicaSampler throttled(cluster, "throttled");
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  eventually_adapter(
      "both served 0",
      [&] {
        return served(adapter.external_metric(cluster.ns(), "s0-redis-conflicted", "conflicted-so",
                                              hpa_identity(pki))) == "0" &&
               served(adapter.external_metric(cluster.ns(), "s0-redis-throttled", "throttled-so",
                                              hpa_identity(pki))) == "0";
      },
      30s, adapter, &op);

  constexpr int kConflicts = 8, kThrottles = 3;
  server->inject({.kind = Fault::Kind::Error,
                  .status = 409,
                  .count = kConflicts,
                  .method = "^(PUT|PATCH)$",
                  .path = "/deployments/conflicted/scale$"});
  server->inject({.kind = Fault::Kind::Error,
                  .status = 429,
                  .retry_after_seconds = 1,
                  .count = kThrottles,
                  .method = "^(PUT|PATCH)$",
                  .path = "/deployments/throttled/scale$"});
  REQUIRE(redis.cli({"RPUSH", "conflicted", "1", "2"}) == "2");
  REQUIRE(redis.cli({"RPUSH", "throttled", "1", "2"}) == "2");
  eventually_adapter(
      "both scaled 0 -> 1 through the faults",
      [&] {
        return cluster.deployment_replicas("conflicted") == 1 &&
               cluster.deployment_replicas("throttled") == 1;
      },
      60s, adapter, &op);
  std::this_thread::sleep_for(3s);  // three more polls: nothing else is written

  int conflicts = 0, throttles = 0;
  for (const auto& w : scale_writes(*server, cluster.ns(), "conflicted"))
    conflicts += w.code == 409;
  for (const auto& w : scale_writes(*server, cluster.ns(), "throttled")) throttles += w.code == 429;
  CHECK(conflicts == kConflicts);  // every injected fault was met, and the write went on
  CHECK(throttles == kThrottles);
  for (const char* name : {"conflicted", "throttled"}) {
    INFO(name);
    const auto attempts = attempted_scale_values(cluster, name);
    CHECK(std::all_of(attempts.begin(), attempts.end(), [](int r) { return r == 1; }));
    CHECK(successful_scale_values(cluster, name) == std::vector<int>{1});
  }
  CHECK(seen(conflicted) == std::vector<int>({0, 1}));
  CHECK(seen(throttled) == std::vector<int>({0, 1}));
  CHECK(adapter.running());
}

// ---------------------------------------------------------------------------------------------
// The API server out of reach: every request cut without an answer, open watches cut, for longer
// than the leases' renew deadline (3 s in these tests), while the adapter polls an active target
// and the operator reconciles a new ScaledObject. The store survives, as etcd does when
// kube-apiserver restarts; a restart that loses the state is not a fault a cluster has.

TEST_CASE(
    "API server unreachable mid-poll and mid-reconcile: no wrong write and both processes converge",
    "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  auto* server = cluster.server();
  std::optional<OperatorRun> op;
  op.emplace(cluster, std::vector<std::string>{}, "operator-1");
  op->require_ready();
  test::RedisServer redis;
  cluster.create_deployment("busy", 0);
  cluster.create_deployment("late", 0);
  cluster.create(kScaledObjects,
                 scaled_object_with("busy-so", "busy", "redis",
                                    redis_trigger_metadata(redis.port(), "busy"), 0, 10, 1, 3));
  wait_ready_so(cluster, "busy-so", *op);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  REQUIRE(redis.cli({"RPUSH", "busy", "1", "2", "3"}) == "3");
  eventually_adapter(
      "busy scaled 0 -> 1", [&] { return cluster.deployment_replicas("busy") == 1; }, 30s, adapter,
      &*op);
  REQUIRE(redis.cli({"RPUSH", "late", "1", "2", "3"}) == "3");

  // late-so arrives and the API server goes away while the operator works on it.
  cluster.create(kScaledObjects,
                 scaled_object_with("late-so", "late", "redis",
                                    redis_trigger_metadata(redis.port(), "late"), 0, 10, 1, 3));
  server->inject({.kind = Fault::Kind::Drop, .count = 1 << 30});
  server->drop_connections();
  const auto outage = SteadyClock::now();
  std::this_thread::sleep_for(6s);
  std::size_t dropped = 0;
  for (const auto& r : server->request_log()) dropped += r.code == 0;
  server->clear_faults();
  INFO("requests cut during the outage: " << dropped);
  CHECK(dropped > 0);
  CHECK(adapter.running());  // the adapter keeps competing for its lease

  // The outage outlasted the renew deadline, and the operator leads with exit_process: it ends
  // with status 1 and the reason logged (controller-runtime's behaviour), never with a crash; a
  // kubelet would restart it.
  eventually(
      "the operator ends on its lost lease", [&] { return !op->running(); }, 20s, &*op);
  const auto op_log = op->log();
  CHECK(op->terminate() == 1);
  CHECK(op_log.find("leader election lost") != std::string::npos);
  op.reset();
  op.emplace(cluster, std::vector<std::string>{}, "operator-2");
  op->require_ready();
  INFO("outage ended " << seconds_since(outage) << " s ago");

  wait_ready_so(cluster, "late-so", *op, 60s);
  eventually(
      "keda-hpa-late-so exists", [&] { return cluster.hpa("keda-hpa-late-so").has_value(); }, 30s,
      &*op);
  eventually_adapter(
      "late scaled 0 -> 1 after the outage",
      [&] { return cluster.deployment_replicas("late") == 1; }, 60s, adapter, &*op);
  // busy was active all along: it was never written again.
  CHECK(cluster.deployment_replicas("busy") == 1);
  CHECK(successful_scale_values(cluster, "busy") == std::vector<int>{1});
  CHECK(attempted_scale_values(cluster, "busy") == std::vector<int>{1});
  const auto late_attempts = attempted_scale_values(cluster, "late");
  CHECK(std::all_of(late_attempts.begin(), late_attempts.end(), [](int r) { return r == 1; }));
  // The test server logs a request after the write is visible: the entry may trail the replicas.
  eventually(
      "the write of late's 1 in the request log",
      [&] { return successful_scale_values(cluster, "late") == std::vector<int>{1}; }, 10s, &*op);

  // Nothing lost: finalizers and HPAs of both.
  for (const char* name : {"busy-so", "late-so"}) {
    INFO(name);
    CHECK(has_finalizer(cluster.scaled_object(name)));
    CHECK(cluster.hpa(std::string("keda-hpa-") + name).has_value());
  }

  // The adapter's writes work again: busy drained goes to 0 after its cooldown.
  REQUIRE(redis.cli({"DEL", "busy"}) == "1");
  eventually_adapter(
      "busy scaled 1 -> 0 after the outage",
      [&] { return cluster.deployment_replicas("busy") == 0; }, 30s, adapter, &*op);
  eventually(
      "the write of busy's 0 in the request log",
      [&] { return successful_scale_values(cluster, "busy") == std::vector<int>({1, 0}); }, 10s,
      &*op);
  const std::set<std::pair<std::string, int>> reported = {{"busy", 1}, {"busy", 0}, {"late", 1}};
  // The adapter logs a write once its answer is back, after the replicas are visible.
  eventually_adapter(
      "the write of busy's 0 logged",
      [&] { return scaled_lines(adapter.log()).count({"busy", 0}) == 1; }, 10s, adapter);
  {
    const auto log = adapter.log();
    std::string lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
      if (line.find("scale target") != std::string::npos ||
          line.find("scaled target") != std::string::npos)
        lines += line + "\n";
    INFO("the adapter's scale lines:\n" << lines);
    CHECK(scaled_lines(log) == reported);
  }
  CHECK(adapter.running());
  CHECK(op->running());
}

// ---------------------------------------------------------------------------------------------
// Leader handover while many targets change.

TEST_CASE("adapter leader kill -9 while 20 targets change: each gets exactly the writes it needs",
          "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster);
  op.require_ready();
  test::RedisServer redis;
  constexpr int kCount = 20;
  const auto name = [](int i) { return "w" + std::to_string(i); };
  for (int i = 0; i < kCount; ++i) {
    cluster.create_deployment(name(i), 0);
    cluster.create(kScaledObjects,
                   scaled_object_with(name(i) + "-so", name(i), "redis",
                                      redis_trigger_metadata(redis.port(), name(i)), 0, 10, 1, 3));
  }
  for (int i = 0; i < kCount; ++i) wait_ready_so(cluster, name(i) + "-so", op);
  AdapterRun first(cluster, pki, {}, "adapter-a");
  first.require_ready();
  eventually_adapter(
      "adapter-a leads", [&] { return first.log().find("started leading") != std::string::npos; },
      15s, first);
  AdapterRun second(cluster, pki, {}, "adapter-b");
  second.require_ready();

  // The first half activates under adapter-a.
  for (int i = 0; i < kCount / 2; ++i) REQUIRE(redis.cli({"RPUSH", name(i), "1"}) == "1");
  eventually_adapter(
      "w0..w9 scaled 0 -> 1 by adapter-a",
      [&] {
        for (int i = 0; i < kCount / 2; ++i)
          if (cluster.deployment_replicas(name(i)) != 1) return false;
        return true;
      },
      30s, first, &op);

  // The leader dies without releasing its lease while a quarter drains and the other half fills.
  first.kill9();
  for (int i = 0; i < kCount / 4; ++i) REQUIRE(redis.cli({"DEL", name(i)}) == "1");
  for (int i = kCount / 2; i < kCount; ++i) REQUIRE(redis.cli({"RPUSH", name(i), "1"}) == "1");
  eventually_adapter(
      "adapter-b leads", [&] { return second.log().find("started leading") != std::string::npos; },
      30s, second);
  const auto expected = [&](int i) { return i < kCount / 4 ? 0 : 1; };
  eventually_adapter(
      "every target at the value its list asks for",
      [&] {
        for (int i = 0; i < kCount; ++i)
          if (cluster.deployment_replicas(name(i)) != expected(i)) return false;
        return true;
      },
      60s, second, &op);
  std::this_thread::sleep_for(4s);  // past one more cooldown: nothing else is written

  for (int i = 0; i < kCount; ++i) {
    INFO(name(i));
    CHECK(cluster.deployment_replicas(name(i)) == expected(i));
    const std::vector<int> wanted = i < kCount / 4 ? std::vector<int>{1, 0} : std::vector<int>{1};
    CHECK(successful_scale_values(cluster, name(i)) == wanted);
  }
  // adapter-a reported the first activations, adapter-b everything after the kill.
  std::set<std::pair<std::string, int>> by_first, by_second;
  for (int i = 0; i < kCount; ++i) {
    if (i < kCount / 2) by_first.emplace(name(i), 1);
    if (i < kCount / 4) by_second.emplace(name(i), 0);
    if (i >= kCount / 2) by_second.emplace(name(i), 1);
  }
  CHECK(scaled_lines(first.log()) == by_first);
  CHECK(scaled_lines(second.log()) == by_second);
  CHECK(second.running());
}

// ---------------------------------------------------------------------------------------------
// A slow or hanging API server for status writes: polling keeps its interval (issue 16). The
// adapter's status and Event writes run on their own threads; before, each object's first poll
// wrote its status on a poll worker and a hanging PATCH held that worker.

TEST_CASE(
    "status PATCHes that hang do not slow polling: every object is still polled at its interval",
    "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  OperatorRun op(cluster);
  op.require_ready();
  auto* server = cluster.server();
  test::RedisServer redis;
  constexpr int kCount = 24;  // 6 per poll worker (--max-concurrent-polls=4)
  const auto name = [](int i) { return "h" + std::to_string(i); };
  for (int i = 0; i < kCount; ++i) {
    cluster.create_deployment(name(i), 0);
    cluster.create(kScaledObjects,
                   scaled_object_with(name(i) + "-so", name(i), "redis",
                                      redis_trigger_metadata(redis.port(), name(i)), 0, 10, 1, 60));
  }
  for (int i = 0; i < kCount; ++i) wait_ready_so(cluster, name(i) + "-so", op);

  // From here every ScaledObject status PATCH (the operator is done: only the adapter's come)
  // reaches the server and hangs 5 s unanswered, then its connection closes.
  server->inject({.kind = Fault::Kind::Timeout,
                  .hang = 5s,
                  .count = 1 << 30,
                  .method = "^PATCH$",
                  .path = "/scaledobjects/[^/]+/status$"});
  // Every poll of a redis list trigger is one EVAL naming the list: MONITOR timestamps them.
  const std::string monitor_log = cluster.dir() + "/monitor.log";
  auto monitor = test::Process::start(
      {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(redis.port()), "monitor"}, monitor_log);
  AdapterRun adapter(cluster, pki, {"--max-concurrent-polls=4"});
  adapter.require_ready();
  const auto unix_now = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::this_thread::sleep_for(2s);  // every object's first poll, and its status write hanging
  const double from = unix_now();
  std::this_thread::sleep_for(4s);  // four slots of each object
  const double to = unix_now();
  monitor.stop();

  std::map<std::string, int> polls;  // list -> polls in [from, to)
  {
    std::ifstream in(monitor_log);
    std::string line;
    const std::regex eval(R"re(^(\d+\.\d+) \[\d+ [0-9.:]+\] "EVAL" ".*" "1" "(h\d+)"\s*$)re");
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_match(line, m, eval)) {
        const double t = std::stod(m[1]);
        if (t >= from && t < to) ++polls[m[2]];
      }
  }
  std::size_t hung = 0;
  for (const auto& r : server->request_log())
    if (r.method == "PATCH" && r.path.find("/scaledobjects/") != std::string::npos && r.code == 0)
      ++hung;
  WARN("status PATCHes hanging: " << hung << "; polls per object in 4 s:" << [&] {
    std::string out;
    for (const auto& [list, n] : polls) out += " " + list + "=" + std::to_string(n);
    return out;
  }());
  CHECK(hung >= 1);  // the adapter did try to write, and those writes hung
  for (int i = 0; i < kCount; ++i) {
    INFO(name(i));
    // Four slots in the window: a late start may move one across its edge, nothing more.
    CHECK(polls[name(i)] >= 3);
    CHECK(polls[name(i)] <= 5);
  }

  // The server answers again: the writes that failed are retried and every status lands.
  server->clear_faults();
  eventually_adapter(
      "every ScaledObject's Active condition written after the server answers again",
      [&] {
        for (int i = 0; i < kCount; ++i) {
          const auto so = cluster.scaled_object(name(i) + "-so");
          if (!so || !condition(*so, "Active")) return false;
        }
        return true;
      },
      60s, adapter, &op);
  CHECK(adapter.running());
}

// ---------------------------------------------------------------------------------------------
// The operator dies while its own /scale writes are in flight: the restore to
// originalReplicaCount on deletion, and the pin to paused-replicas.

TEST_CASE(
    "operator kill -9 during its /scale writes: originalReplicaCount and the finalizer survive and "
    "the restart completes them",
    "[system][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  Cluster cluster;
  auto* server = cluster.server();
  cluster.create_deployment("restored", 2);
  cluster.create_deployment("pinned", 1);
  std::optional<OperatorRun> op;
  op.emplace(cluster, std::vector<std::string>{}, "operator-killed");
  op->require_ready();
  auto restore = scaled_object("restore-so", "restored");
  restore["spec"]["advanced"] = {{"restoreToOriginalReplicaCount", true}};
  cluster.create(kScaledObjects, restore);
  cluster.create(kScaledObjects, scaled_object("pinned-so", "pinned"));
  wait_ready_so(cluster, "restore-so", *op);
  wait_ready_so(cluster, "pinned-so", *op);
  CHECK((*cluster.scaled_object("restore-so"))["status"].value("originalReplicaCount", -1) == 2);
  // As the HPA would: the target moved away from its original count.
  cluster.modify(ebb::kube::resources::deployments(), "restored",
                 [](Object& o) { o["spec"]["replicas"] = 5; });

  // Both writes reach the server and hang there, unapplied.
  for (const char* target : {"restored", "pinned"})
    server->inject({.kind = Fault::Kind::Timeout,
                    .hang = 60s,
                    .count = 1,
                    .method = "^(PUT|PATCH)$",
                    .path = std::string("/deployments/") + target + "/scale$"});
  cluster.remove(kScaledObjects, "restore-so");
  cluster.modify(kScaledObjects, "pinned-so", [](Object& o) {
    o["metadata"]["annotations"]["autoscaling.keda.sh/paused-replicas"] = "3";
  });
  eventually(
      "both /scale writes in flight",
      [&] {
        for (const char* target : {"restored", "pinned"}) {
          const auto writes = scale_writes(*server, cluster.ns(), target);
          if (writes.empty() || writes.back().code != 0) return false;
        }
        return true;
      },
      30s, &*op);
  op->kill9();
  server->clear_faults();

  // Nothing lost while nobody runs: the deleted object waits on its finalizer with the count it
  // must restore, and neither target was touched.
  const auto deleted = cluster.scaled_object("restore-so");
  REQUIRE(deleted);
  CHECK((*deleted)["metadata"].contains("deletionTimestamp"));
  CHECK(has_finalizer(deleted));
  CHECK((*deleted)["status"].value("originalReplicaCount", -1) == 2);
  CHECK(cluster.deployment_replicas("restored") == 5);
  CHECK(cluster.deployment_replicas("pinned") == 1);

  op.reset();
  op.emplace(cluster, std::vector<std::string>{}, "operator-restarted");
  op->require_ready();
  eventually(
      "restore-so gone after restoring 2 replicas",
      [&] { return !cluster.scaled_object("restore-so"); }, 60s, &*op);
  CHECK(cluster.deployment_replicas("restored") == 2);
  CHECK_FALSE(cluster.hpa("keda-hpa-restore-so").has_value());
  eventually(
      "pinned at the paused replica count 3",
      [&] { return cluster.deployment_replicas("pinned") == 3; }, 30s, &*op);
  eventually(
      "pinned-so status.pausedReplicaCount = 3",
      [&] {
        auto so = cluster.scaled_object("pinned-so");
        return so && (*so)["status"].value("pausedReplicaCount", -1) == 3;
      },
      30s, &*op);
  CHECK(has_finalizer(cluster.scaled_object("pinned-so")));
  // Every write, the hung ones included, asked for the value it had to.
  for (const auto& [target, value] : {std::pair{"restored", 2}, std::pair{"pinned", 3}}) {
    INFO(target);
    const auto attempts = attempted_scale_values(cluster, target);
    CHECK(attempts.size() >= 2);
    const int wanted = value;
    CHECK(std::all_of(attempts.begin(), attempts.end(), [&](int r) { return r == wanted; }));
  }
}

// ---------------------------------------------------------------------------------------------
// kill -9 of the standalone test API server, and a start on the same port. Its state is in
// memory, so it comes back empty: unlike kube-apiserver, whose etcd keeps everything (the outage
// test above covers that case). What this checks is what makes sense without the state: neither
// process crashes or writes while it is gone, the operator ends as it must on a lost lease
// (status 1, restarted as a kubelet would), and both work against the server once it is back.

TEST_CASE("test API server kill -9 and restart: the processes survive and work against it again",
          "[system][adapter][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  test::TempDir dir("ebb-apiserver");
  const auto port = test::free_port();
  const std::vector<std::string> argv = {EBB_TEST_APISERVER_BIN, "--port", std::to_string(port)};
  auto apiserver = test::Process::start(argv, dir.path() + "/apiserver-1.log");
  REQUIRE(test::wait_for_port(port, 20s));
  ClusterOptions options;
  options.server_url = "http://127.0.0.1:" + std::to_string(port);
  Cluster cluster(options);
  const auto pki = make_adapter_pki(cluster.dir());
  std::optional<OperatorRun> op;
  op.emplace(cluster, std::vector<std::string>{}, "operator-1");
  op->require_ready();
  test::RedisServer redis;
  cluster.create_deployment("worker", 0);
  cluster.create(kScaledObjects,
                 scaled_object_with("worker-so", "worker", "redis",
                                    redis_trigger_metadata(redis.port(), "jobs"), 0, 10, 1, 3));
  wait_ready_so(cluster, "worker-so", *op);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  REQUIRE(redis.cli({"RPUSH", "jobs", "1", "2"}) == "2");
  eventually_adapter(
      "worker scaled 0 -> 1", [&] { return cluster.deployment_replicas("worker") == 1; }, 30s,
      adapter, &*op);
  // Drained: the deactivation is due while the server is gone, so the adapter's attempts fail.
  REQUIRE(redis.cli({"DEL", "jobs"}) == "1");

  ::kill(apiserver.pid(), SIGKILL);
  apiserver.stop();
  const auto killed = SteadyClock::now();
  // Both leases expire (renew deadline 3 s): the operator exits 1, the adapter keeps competing.
  eventually(
      "the operator ends on its lost lease", [&] { return !op->running(); }, 20s, &*op);
  const auto op_log = op->log();
  CHECK(op->terminate() == 1);
  CHECK(op_log.find("leader election lost") != std::string::npos);
  while (seconds_since(killed) < 6.0) {
    REQUIRE(adapter.running());
    std::this_thread::sleep_for(200ms);
  }
  CHECK(adapter.log().find("stopped leading") != std::string::npos);

  apiserver = test::Process::start(argv, dir.path() + "/apiserver-2.log");
  REQUIRE(test::wait_for_port(port, 20s));
  cluster.prepare_server();  // the same namespace and CRDs, on the empty server
  CHECK(adapter.running());
  // The adapter's client works again: it wins its lease in the new server.
  eventually_adapter(
      "the adapter leads again",
      [&] {
        auto lease = cluster.get(ebb::kube::resources::leases(), "ebb-metrics-adapter.keda.sh");
        return lease && (*lease)["spec"].value("holderIdentity", "") != "";
      },
      30s, adapter);
  op.reset();
  op.emplace(cluster, std::vector<std::string>{}, "operator-2");
  op->require_ready();
  cluster.create_deployment("again", 2);
  cluster.create(kScaledObjects,
                 scaled_object_with("again-so", "again", "redis",
                                    redis_trigger_metadata(redis.port(), "again"), 0, 10, 1, 3));
  wait_ready_so(cluster, "again-so", *op);
  eventually(
      "keda-hpa-again-so exists", [&] { return cluster.hpa("keda-hpa-again-so").has_value(); }, 30s,
      &*op);
  CHECK(adapter.running());
  CHECK(op->running());
}

// ---------------------------------------------------------------------------------------------
// ScaledJob rollouts.

// The ScaledJob "render": a Job per item of the redis list "renders", polled every second.
Object render_scaled_job(std::uint16_t redis_port) {
  return {{"apiVersion", "keda.sh/v1alpha1"},
          {"kind", "ScaledJob"},
          {"metadata", {{"name", "render"}}},
          {"spec",
           {{"jobTargetRef",
             {{"template",
               {{"spec", {{"containers", {{{"name", "worker"}, {"image", "busybox"}}}}}}}}}},
            {"pollingInterval", 1},
            {"triggers",
             {{{"type", "redis"},
               {"metadata",
                {{"address", "127.0.0.1:" + std::to_string(redis_port)},
                 {"listName", "renders"},
                 {"listLength", "1"}}}}}}}}};
}

// The Jobs of "render" on the server, by name: their scaledjob.keda.sh/generation annotations.
std::map<std::string, std::string> render_job_generations(Cluster& cluster) {
  std::map<std::string, std::string> out;
  for (const auto& job : cluster.list(ebb::kube::resources::jobs())) {
    const auto& metadata = job["metadata"];
    if (metadata.value("labels", Object::object()).value("scaledjob.keda.sh/name", "") != "render")
      continue;
    out[metadata.value("name", "")] =
        metadata.value("annotations", Object::object()).value("scaledjob.keda.sh/generation", "");
  }
  return out;
}

std::set<std::string> render_jobs(Cluster& cluster) {
  std::set<std::string> out;
  for (const auto& [name, generation] : render_job_generations(cluster)) out.insert(name);
  return out;
}

// What the rollout tests start from (after EBB_SYSTEM_NEEDS_TEST_SERVER()): "render" on a fresh
// redis with `items` queued, and an adapter that is ready.
struct RenderRollout {
  explicit RenderRollout(const std::vector<std::string>& items) {
    if (!items.empty()) {
      std::vector<std::string> push = {"RPUSH", "renders"};
      push.insert(push.end(), items.begin(), items.end());
      REQUIRE(redis.cli(push) == std::to_string(items.size()));
    }
    cluster.create(scaled_jobs, render_scaled_job(redis.port()));
    adapter.emplace(cluster, pki);
    adapter->require_ready();
  }
  Cluster cluster;
  AdapterPki pki = make_adapter_pki(cluster.dir());
  ebb::testapi::TestApiServer* server = cluster.server();
  test::RedisServer redis;
  ebb::kube::Resource scaled_jobs = ebb::cluster::scaled_jobs();
  std::optional<AdapterRun> adapter;
};

// A ScaledJob rollout whose first Job delete is refused: KEDA's reconcile returns the error and
// runs again, so the cleanup must not be forgotten after one failure.

TEST_CASE("ScaledJob rollout: a refused Job delete is reported and retried on the next poll",
          "[system][adapter][scaledjob][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  RenderRollout setup({"a", "b"});
  auto& cluster = setup.cluster;
  auto* server = setup.server;
  const auto& adapter = *setup.adapter;
  const auto& scaled_jobs = setup.scaled_jobs;
  auto job_names = [&] { return render_jobs(cluster); };
  eventually_adapter(
      "2 Jobs", [&] { return job_names().size() == 2; }, 30s, adapter);
  const auto old_jobs = job_names();

  server->inject({.kind = Fault::Kind::Error,
                  .status = 403,
                  .count = 1,
                  .method = "^DELETE$",
                  .path = "/jobs/render-"});
  cluster.modify(scaled_jobs, "render", [](Object& o) {
    o["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.36";
  });
  eventually_adapter(
      "ScaledJobRolloutCleanupFailed, then the old Jobs deleted on a later poll",
      [&] {
        for (const auto& name : job_names())
          if (old_jobs.count(name)) return false;
        return !cluster.events_for("render", "ScaledJobRolloutCleanupCompleted").empty();
      },
      30s, adapter);
  const auto failed = cluster.events_for("render", "ScaledJobRolloutCleanupFailed");
  REQUIRE(failed.size() == 1);
  CHECK(failed.front().value("type", "") == "Warning");
  CHECK(failed.front().value("note", "").rfind("Failed to delete job render-", 0) == 0);
  int refused = 0;
  for (const auto& r : server->request_log()) refused += r.method == "DELETE" && r.code == 403;
  CHECK(refused == 1);
  // As KEDA: the failed delete fails the ScaledJob's check, and no Job of the new generation is
  // made before the old ones are gone.
  const auto check_failed = cluster.events_for("render", "ScaledJobCheckFailed");
  REQUIRE(check_failed.size() == 1);
  CHECK(check_failed.front().value("note", "").rfind("Not able to delete job: render-", 0) == 0);
  const auto log = server->request_log();
  std::size_t at = 0;
  while (at < log.size() && !(log[at].method == "DELETE" && log[at].code == 403)) ++at;
  REQUIRE(at < log.size());
  for (++at; at < log.size(); ++at) {
    const auto& r = log[at];
    if (r.method == "DELETE" && r.code < 300 && r.path.find("/jobs/render-") != std::string::npos)
      break;  // the retried cleanup
    INFO(r.method << " " << r.path);
    CHECK_FALSE((r.method == "POST" && r.path.find("/jobs") != std::string::npos));
  }
  // Ready=True again once the cleanup is done.
  eventually_scaled_job_condition(cluster, "render", "Ready", "True", 30s, adapter);
}

// A Job the adapter created just before the ScaledJob's spec changed, which its Job informer has
// not delivered yet, belongs to the old generation all the same: the rollout deletes it too.
// Without that it would outlive the rollout and, counted as running, hold back the new Job.
TEST_CASE(
    "ScaledJob rollout: a Job created just before the spec change, not yet seen by the Job "
    "informer, is deleted too",
    "[system][adapter][scaledjob][faults]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();
  RenderRollout setup({});
  auto& cluster = setup.cluster;
  auto* server = setup.server;
  const auto& adapter = *setup.adapter;
  eventually_scaled_job_condition(cluster, "render", "Ready", "True", 30s, adapter);

  // The adapter's Job informer stops seeing changes: its watch ends and every read of Jobs fails.
  const std::string jobs_path = "/apis/batch/v1/namespaces/" + cluster.ns() + "/jobs";
  server->inject({.kind = Fault::Kind::Error,
                  .status = 500,
                  .count = 1 << 30,
                  .method = "^GET$",
                  .path = "^" + jobs_path + "$"});
  server->close_watches();
  REQUIRE(setup.redis.cli({"RPUSH", "renders", "a"}) == "1");
  auto created_jobs = [&] {
    int n = 0;
    for (const auto& r : server->request_log())
      n += r.method == "POST" && r.path == jobs_path && r.code == 201;
    return n;
  };
  eventually_adapter(
      "a Job created for the item", [&] { return created_jobs() == 1; }, 30s, adapter);
  cluster.modify(setup.scaled_jobs, "render", [](Object& o) {
    o["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.36";
  });
  eventually_adapter(
      "the generation-1 Job deleted by the rollout",
      [&] { return !cluster.events_for("render", "ScaledJobRolloutCleanupCompleted").empty(); },
      30s, adapter);
  server->clear_faults();

  // The item gets a Job of generation 2, and nothing of generation 1 is left.
  eventually_adapter(
      "one Job, of generation 2",
      [&] {
        const auto jobs = render_job_generations(cluster);
        return jobs.size() == 1 && jobs.begin()->second == "2";
      },
      30s, adapter);
  // The request log may trail the Job the list showed.
  eventually_adapter(
      "two Job creations in the request log", [&] { return created_jobs() == 2; }, 10s, adapter);
  const auto started = cluster.events_for("render", "ScaledJobRolloutCleanupStarted");
  REQUIRE(started.size() == 1);
  CHECK(started.front().value("note", "") ==
        "Deleting 1 jobs owned by the previous version of the scaledJob");
  std::this_thread::sleep_for(2s);  // two more polls: still the one Job
  CHECK(render_job_generations(cluster).size() == 1);
}
