// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
//
// - The Lease's spec holds holderIdentity, leaseDurationSeconds, acquireTime, renewTime and
//   leaseTransitions. A candidate may take the lease when it has no holder, or when the record
//   it observed has not changed for leaseDurationSeconds (the record's own duration, measured
//   on the candidate's monotonic clock from when it first saw that record: clocks across
//   machines need not agree). Every write carries the read resourceVersion, so two candidates
//   cannot both win: the loser gets 409 and stays a candidate.
// - The leader renews every retry_period; if no renewal succeeded for renew_deadline it stops
//   leading (on_stopped_leading) and becomes a candidate again. renew_deadline < lease_duration
//   means it gives up before anyone else may take over.
// - stop() (graceful shutdown) releases the lease: holderIdentity cleared, leaseDurationSeconds
//   1, so another candidate takes over at its next retry instead of after a lease duration.
// Defaults are client-go's: 15 s / 10 s / 2 s.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ebb/kube/client.h"

namespace ebb::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate (pod name + random suffix, say)
  std::chrono::milliseconds lease_duration{15'000};  // written to the Lease rounded up to whole seconds
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  bool release_on_stop = true;
  // Called on the elector's thread; keep them short.
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;  // observed holder changed
};

// Pure: the Lease spec a candidate writes. `previous` is the current spec (or null for a new
// Lease); `now` formats as MicroTime.
Object lease_spec_for(const Object& previous, const std::string& identity, int lease_duration_seconds,
                      std::chrono::system_clock::time_point now);

class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionConfig config);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  // Graceful: ends the loop and, when leading and release_on_stop, releases the lease.
  void stop();
  // Ends the loop without touching the lease, as a crashed process would (for tests).
  void abandon();

  bool is_leader() const;
  std::string observed_leader() const;

 private:
  void run();
  // One attempt: true when this candidate holds the lease afterwards.
  bool try_acquire_or_renew();
  // Records `written`, the lease as this process just wrote it, as held by us; returns true.
  bool hold(Object written, std::chrono::steady_clock::time_point now);
  void release();
  void halt(bool release);
  bool wait(std::chrono::milliseconds d);  // false when stopping

  Client& client_;
  LeaderElectionConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leader_ = false;
  std::string observed_leader_;
  Object observed_spec_;
  // The lease as this process last wrote it (only the election thread touches it); cleared by a
  // failed renewal so the next try reads the lease first.
  std::optional<Object> own_lease_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::thread thread_;
};

}  // namespace ebb::kube
