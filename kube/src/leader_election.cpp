#include "ebb/kube/leader_election.h"

#include <algorithm>
#include <random>

#include "encoding.h"

namespace ebb::kube {

namespace {
int whole_seconds(std::chrono::milliseconds d) {
  return std::max<int>(1, static_cast<int>((d.count() + 999) / 1000));
}
}  // namespace

Object lease_spec_for(const Object& previous, const std::string& identity, int lease_duration_seconds,
                      std::chrono::system_clock::time_point now) {
  const std::string stamp = detail::format_micro_time(now);
  Object spec = Object::object();
  spec["holderIdentity"] = identity;
  spec["leaseDurationSeconds"] = lease_duration_seconds;
  spec["renewTime"] = stamp;
  const bool ours = previous.is_object() && previous.value("holderIdentity", "") == identity;
  const int transitions = previous.is_object() ? previous.value("leaseTransitions", 0) : 0;
  if (ours) {
    spec["acquireTime"] = previous.value("acquireTime", stamp);
    spec["leaseTransitions"] = transitions;
  } else {
    spec["acquireTime"] = stamp;
    // A new holder after someone else (or after a release) is a transition; the first is not.
    const bool had_holder = previous.is_object() && previous.contains("acquireTime");
    spec["leaseTransitions"] = had_holder ? transitions + 1 : transitions;
  }
  return spec;
}

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config)
    : client_(client), config_(std::move(config)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() { halt(config_.release_on_stop); }
void LeaderElector::abandon() { halt(false); }

void LeaderElector::halt(bool release_lease) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  bool was_leader = false;
  {
    std::lock_guard lock(mutex_);
    was_leader = leader_;
    leader_ = false;
  }
  if (was_leader) {
    if (release_lease) release();
    if (config_.on_stopped_leading) config_.on_stopped_leading();
  }
}

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mutex_);
  return leader_;
}

std::string LeaderElector::observed_leader() const {
  std::lock_guard lock(mutex_);
  return observed_leader_;
}

bool LeaderElector::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

bool LeaderElector::try_acquire_or_renew() {
  const auto leases = resources::leases();
  const auto now_wall = std::chrono::system_clock::now();
  const auto now = std::chrono::steady_clock::now();
  const int duration = whole_seconds(config_.lease_duration);
  // Renewal of a lease this process wrote last: one PUT carrying that write's resourceVersion.
  // Optimistic concurrency makes it exactly as safe as reading first (any other write since
  // makes it a 409, and the full path below runs), at half the requests: every replica of both
  // processes renews every retry period, the one steady load Ebb puts on the API server.
  if (own_lease_) {
    Object updated = *own_lease_;
    own_lease_.reset();
    updated["spec"] = lease_spec_for(updated.value("spec", Object::object()), config_.identity,
                                     duration, now_wall);
    if (auto written = client_.update(leases, updated))
      return hold(std::move(written).value(), now);
  }
  auto current = client_.get(leases, config_.lease_namespace, config_.lease_name);
  if (!current) {
    if (!current.error().not_found()) return false;
    Object lease{{"apiVersion", "coordination.k8s.io/v1"},
                 {"kind", "Lease"},
                 {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
                 {"spec", lease_spec_for(nullptr, config_.identity, duration, now_wall)}};
    auto created = client_.create(leases, lease);
    if (!created) return false;
    return hold(std::move(created).value(), now);
  }
  const Object spec = current->value("spec", Object::object());
  std::string holder = spec.value("holderIdentity", "");
  std::chrono::seconds held_for{spec.value("leaseDurationSeconds", duration)};
  {
    std::lock_guard lock(mutex_);
    if (spec != observed_spec_) {
      observed_spec_ = spec;
      observed_at_ = now;
    }
    if (!holder.empty() && holder != config_.identity && observed_at_ + held_for > now) {
      observed_leader_ = holder;
      return false;  // someone else holds a lease that has not expired on our clock
    }
  }
  Object updated = *current;
  updated["spec"] = lease_spec_for(spec, config_.identity, duration, now_wall);
  auto written = client_.update(leases, updated);
  if (!written) return false;  // 409: another candidate won the race
  return hold(std::move(written).value(), now);
}

bool LeaderElector::hold(Object written, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  observed_spec_ = written["spec"];
  observed_at_ = now;
  observed_leader_ = config_.identity;
  own_lease_ = std::move(written);
  return true;
}

void LeaderElector::release() {
  const auto leases = resources::leases();
  auto current = client_.get(leases, config_.lease_namespace, config_.lease_name);
  if (!current || (*current)["spec"].value("holderIdentity", "") != config_.identity) return;
  Object updated = *current;
  const std::string stamp = detail::format_micro_time(std::chrono::system_clock::now());
  auto& spec = updated["spec"];
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = stamp;
  spec["acquireTime"] = stamp;
  (void)client_.update(leases, updated);  // best effort: otherwise the lease simply expires
}

void LeaderElector::run() {
  std::mt19937_64 rng(std::random_device{}());
  // client-go jitters the candidate's retry by up to 1.2x so candidates do not move in step.
  auto jittered = [&] {
    std::uniform_real_distribution<double> extra(0.0, 0.2);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(config_.retry_period.count()) * (1.0 + extra(rng))));
  };
  std::string last_leader;
  auto report_leader = [&] {
    const std::string leader = observed_leader();
    if (leader != last_leader) {
      last_leader = leader;
      if (config_.on_new_leader && !leader.empty()) config_.on_new_leader(leader);
    }
  };
  while (true) {
    // Candidate: try until we hold the lease.
    bool acquired = try_acquire_or_renew();
    report_leader();
    if (!acquired) {
      if (!wait(jittered())) return;
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        leader_ = true;  // halt() releases it
        return;
      }
      leader_ = true;
    }
    if (config_.on_started_leading) config_.on_started_leading();
    // Leader: renew every retry_period; give up when renewals failed for renew_deadline.
    auto last_renew = std::chrono::steady_clock::now();
    while (true) {
      if (!wait(config_.retry_period)) return;  // still leader: halt() releases and reports
      if (try_acquire_or_renew()) {
        last_renew = std::chrono::steady_clock::now();
        continue;
      }
      report_leader();
      if (std::chrono::steady_clock::now() - last_renew >= config_.renew_deadline || observed_leader() != config_.identity) {
        break;
      }
    }
    {
      std::lock_guard lock(mutex_);
      leader_ = false;
    }
    if (config_.on_stopped_leading) config_.on_stopped_leading();
  }
}

}  // namespace ebb::kube
