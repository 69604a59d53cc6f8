// Lease leader election with short durations, against the test API server or a real cluster
// (target.h): in-process candidates (a crash simulated with abandon()), and separate
// ebb-lease-holder processes killed with SIGKILL or stopped with SIGTERM.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ebb/kube/leader_election.h"
#include "support.h"
#include "target.h"

using namespace ebb;
using namespace ebb::kube;
using namespace std::chrono_literals;

namespace {

LeaderElectionConfig candidate(const std::string& ns, const std::string& identity) {
  LeaderElectionConfig config;
  config.lease_namespace = ns;
  config.lease_name = "ebb-leader";
  config.identity = identity;
  config.lease_duration = 1s;
  config.renew_deadline = 700ms;
  config.retry_period = 100ms;
  return config;
}

// Milliseconds until `pred` holds, or -1 after `limit`.
template <class Pred>
long long wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (pred()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    }
    std::this_thread::sleep_for(5ms);
  }
  return -1;
}

}  // namespace

TEST_CASE("lease spec: acquire keeps acquireTime on renew, counts transitions") {
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  auto first = lease_spec_for(nullptr, "a", 15, t0);
  CHECK(first["holderIdentity"] == "a");
  CHECK(first["leaseDurationSeconds"] == 15);
  CHECK(first["leaseTransitions"] == 0);
  CHECK(first["acquireTime"] == first["renewTime"]);
  auto renewed = lease_spec_for(first, "a", 15, t0 + 2s);
  CHECK(renewed["acquireTime"] == first["acquireTime"]);
  CHECK(renewed["renewTime"] != first["renewTime"]);
  CHECK(renewed["leaseTransitions"] == 0);
  auto taken = lease_spec_for(renewed, "b", 15, t0 + 20s);
  CHECK(taken["holderIdentity"] == "b");
  CHECK(taken["leaseTransitions"] == 1);
  CHECK(taken["acquireTime"] == taken["renewTime"]);
}

TEST_CASE("leader election: one leads, and a graceful stop hands over within the retry period") {
  it::Target target;
  auto client_a = target.client();
  auto client_b = target.client();
  std::atomic<int> a_started{0}, a_stopped{0};
  auto config_a = candidate(target.ns(), "a");
  config_a.on_started_leading = [&] { ++a_started; };
  config_a.on_stopped_leading = [&] { ++a_stopped; };
  LeaderElector a(*client_a, config_a);
  a.start();
  REQUIRE(wait_until([&] { return a.is_leader(); }, 3s) >= 0);
  LeaderElector b(*client_b, candidate(target.ns(), "b"));
  b.start();
  std::this_thread::sleep_for(1500ms);  // longer than a lease: a keeps renewing, b never leads
  CHECK(a.is_leader());
  CHECK_FALSE(b.is_leader());
  CHECK(b.observed_leader() == "a");

  auto lease = client_a->get(resources::leases(), target.ns(), "ebb-leader");
  REQUIRE(lease);
  CHECK((*lease)["spec"]["holderIdentity"] == "a");
  CHECK((*lease)["spec"]["leaseDurationSeconds"] == 1);
  CHECK((*lease)["spec"].contains("renewTime"));
  CHECK((*lease)["spec"].contains("acquireTime"));

  a.stop();
  CHECK(a_started == 1);
  CHECK(a_stopped == 1);
  // Released: b takes over at its next retry, not after a lease duration.
  const auto took = wait_until([&] { return b.is_leader(); }, 3s);
  REQUIRE(took >= 0);
  CHECK(took <= 100 * 12 / 10 + 250);  // one jittered retry period plus request time
  auto after = client_b->get(resources::leases(), target.ns(), "ebb-leader");
  REQUIRE(after);
  CHECK((*after)["spec"]["holderIdentity"] == "b");
  CHECK((*after)["spec"]["leaseTransitions"] == 1);
  b.stop();
  auto released = client_b->get(resources::leases(), target.ns(), "ebb-leader");
  REQUIRE(released);
  CHECK((*released)["spec"]["holderIdentity"] == "");
}

TEST_CASE("leader election: a leader that stops renewing is replaced within lease duration + retry period") {
  it::Target target;
  auto client_a = target.client();
  auto client_b = target.client();
  LeaderElector a(*client_a, candidate(target.ns(), "a"));
  a.start();
  REQUIRE(wait_until([&] { return a.is_leader(); }, 3s) >= 0);
  LeaderElector b(*client_b, candidate(target.ns(), "b"));
  b.start();
  std::this_thread::sleep_for(300ms);
  REQUIRE_FALSE(b.is_leader());
  a.abandon();  // crashed: the lease still names a
  auto lease = client_b->get(resources::leases(), target.ns(), "ebb-leader");
  REQUIRE(lease);
  CHECK((*lease)["spec"]["holderIdentity"] == "a");
  const auto took = wait_until([&] { return b.is_leader(); }, 5s);
  REQUIRE(took >= 0);
  // b saw a's last renewal at most one retry period before the crash, so it waits out at most
  // a lease duration from then, plus one jittered retry period, plus request time.
  CHECK(took <= 1000 + 120 + 300);
  b.stop();
}

namespace {

// One ebb-lease-holder process; its stdout/stderr go to a log file the test polls.
struct Holder {
  std::string identity, log;
  ebb::test::Process process;

  bool said(const std::string& line) const {
    const std::string text = ebb::test::read_file(log);
    return text.find(line + "\n") != std::string::npos;
  }
};

}  // namespace

TEST_CASE("leader election across processes: kill -9 of the leader, then a graceful stop hands over at once") {
  it::Target target;
  ebb::test::TempDir dir("ebb-lease");
  auto client = target.client();
  const std::string lease_name = "ebb-processes";
  constexpr auto lease_duration = 2000ms;
  constexpr auto retry_period = 100ms;
  auto start = [&](const std::string& identity) {
    Holder h{identity, dir.path() + "/" + identity + ".log", {}};
    std::vector<std::string> argv{EBB_LEASE_HOLDER_BIN};
    for (auto& arg : target.connection_args()) argv.push_back(arg);
    for (std::string arg : {std::string("--namespace"), target.ns(), std::string("--name"), lease_name,
                            std::string("--identity"), identity, std::string("--lease-duration-ms"),
                            std::to_string(lease_duration.count()), std::string("--renew-deadline-ms"),
                            std::string("1500"), std::string("--retry-period-ms"),
                            std::to_string(retry_period.count())}) {
      argv.push_back(std::move(arg));
    }
    h.process = ebb::test::Process::start(argv, h.log);
    return h;
  };
  auto holder_of = [&] {
    auto lease = client->get(resources::leases(), target.ns(), lease_name);
    REQUIRE(lease);
    return (*lease)["spec"];
  };

  Holder a = start("a");
  INFO("logs in " << dir.path());
  REQUIRE(wait_until([&] { return a.said("LEADING a"); }, 10s) >= 0);
  Holder b = start("b");
  Holder c = start("c");
  REQUIRE(wait_until([&] { return b.said("CANDIDATE b") && c.said("CANDIDATE c"); }, 10s) >= 0);
  std::this_thread::sleep_for(lease_duration + 500ms);  // longer than a lease: a keeps renewing
  REQUIRE(a.process.running());
  CHECK_FALSE(b.said("LEADING b"));
  CHECK_FALSE(c.said("LEADING c"));
  auto spec = holder_of();
  CHECK(spec["holderIdentity"] == "a");
  CHECK(spec["leaseDurationSeconds"] == 2);
  CHECK(spec["leaseTransitions"] == 0);

  // kill -9: a cannot release anything. Another candidate takes over once the lease a last
  // renewed has gone unrenewed for a lease duration on its own clock.
  REQUIRE(::kill(a.process.pid(), SIGKILL) == 0);
  std::string next, waiting;
  const auto took = wait_until(
      [&] {
        if (b.said("LEADING b")) next = "b", waiting = "c";
        else if (c.said("LEADING c")) next = "c", waiting = "b";
        return !next.empty();
      },
      10s);
  REQUIRE(took >= 0);
  INFO("took over after " << took << " ms");
  // Not before the lease can have expired (a renewed at most one retry period before the kill):
  // that would be two leaders at once.
  CHECK(took >= (lease_duration - retry_period).count() - 50);
  // Within lease duration + retry period of the kill: the candidate saw a's last renewal at most
  // one jittered retry after it was written, and retries every jittered retry period; plus
  // request time.
  CHECK(took <= (lease_duration + 2 * retry_period * 12 / 10).count() + 300);
  Holder& leader = next == "b" ? b : c;
  Holder& other = next == "b" ? c : b;
  CHECK_FALSE(other.said("LEADING " + waiting));
  spec = holder_of();
  CHECK(spec["holderIdentity"] == next);
  CHECK(spec["leaseTransitions"] == 1);

  // Graceful: SIGTERM releases the lease, so the last candidate takes over at its next retry,
  // far sooner than a lease duration.
  const auto term_at = std::chrono::steady_clock::now();
  REQUIRE(::kill(leader.process.pid(), SIGTERM) == 0);
  const auto handed = wait_until([&] { return other.said("LEADING " + waiting); }, 10s);
  REQUIRE(handed >= 0);
  INFO("handed over " << handed << " ms after SIGTERM");
  CHECK(handed <= 700);
  REQUIRE(wait_until([&] { return leader.said("EXITING " + next); }, 5s) >= 0);
  CHECK(leader.said("STOPPED LEADING " + next));
  CHECK(std::chrono::steady_clock::now() - term_at < lease_duration);
  spec = holder_of();
  CHECK(spec["holderIdentity"] == waiting);
  CHECK(spec["leaseTransitions"] == 2);

  // The last one leaves gracefully too: the lease is released, nobody holds it.
  other.process.stop();
  CHECK(other.said("STOPPED LEADING " + waiting));
  spec = holder_of();
  CHECK(spec["holderIdentity"] == "");
}

TEST_CASE(
    "leader election: a renewal is one PUT, and a foreign write sends it back to reading first",
    "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target;
  auto client_a = target.client();
  LeaderElector a(*client_a, candidate(target.ns(), "a"));
  a.start();
  REQUIRE(wait_until([&] { return a.is_leader(); }, 3s) >= 0);
  auto lease_requests = [&](const std::string& method) {
    int n = 0;
    for (const auto& r : target.server().request_log())
      if (r.method == method && r.path.find("/leases/ebb-leader") != std::string::npos) ++n;
    return n;
  };
  target.server().clear_request_log();
  std::this_thread::sleep_for(1s);  // about ten renewals at a 100 ms retry period
  const int puts = lease_requests("PUT");
  CHECK(puts >= 5);
  CHECK(lease_requests("GET") == 0);
  CHECK(a.is_leader());

  // Someone else writes the lease (an annotation: the holder stays a): the next renewal gets a
  // 409, reads the lease and renews from what it read.
  // (A read-modify-write: a renews every 100 ms, so a plain GET then PUT can itself meet a 409.)
  auto other = target.client();
  REQUIRE(other->read_modify_write(resources::leases(), target.ns(), "ebb-leader", [](Object& o) {
    o["metadata"]["annotations"]["touched"] = "yes";
    return true;
  }));
  target.server().clear_request_log();
  std::this_thread::sleep_for(500ms);
  CHECK(lease_requests("GET") >= 1);
  CHECK(a.is_leader());
  auto after = other->get(resources::leases(), target.ns(), "ebb-leader");
  REQUIRE(after);
  CHECK((*after)["spec"]["holderIdentity"] == "a");
  CHECK((*after)["metadata"]["annotations"]["touched"] == "yes");
  a.stop();
}
