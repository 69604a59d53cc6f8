// Lease leader election between two in-process candidates with short durations, against the
// test API server or a real cluster (target.h). Crash = abandon(): the loop stops without
// releasing, exactly what kill -9 leaves behind.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "ebb/kube/leader_election.h"
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

TEST_CASE("leader election: one leads; a graceful stop hands over within the retry period") {
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
