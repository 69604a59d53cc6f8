#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "commands.h"
#include "desired_replicas.h"
#include "ebb/adapter/job_decision.h"
#include "ebb/api/validate.h"
#include "ebb/cluster/objects.h"
#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"

namespace ebb::cli {
namespace {

std::atomic<bool> stop_requested{false};

// One trigger being probed: its parsed config and scaler, or why it cannot be polled.
struct ProbedTrigger {
  std::size_t index = 0;
  std::string type;
  std::unique_ptr<scalers::TriggerConfig> config;
  std::unique_ptr<scalers::Scaler> scaler;
  std::string setup_error;  // non-empty: every round reports this error
};

// A ScaledObject or a ScaledJob (exactly one of the two pointers is set).
struct ProbedObject {
  std::string location;
  const api::ScaledObject* so = nullptr;
  const api::ScaledJob* sj = nullptr;
  std::vector<ProbedTrigger> triggers;

  const api::ObjectMeta& metadata() const { return so ? so->metadata : sj->metadata; }
};

struct TriggerRound {
  std::optional<double> value;
  bool active = false;
  std::string error;
};

// The cluster view `probe` gives scalers that read Kubernetes objects: a LIST or GET per poll
// (it runs once, or every few seconds), or, with no cluster configured, an answer that says so.
class NoCluster final : public scalers::kubernetes::Objects {
 public:
  explicit NoCluster(std::string why) : why_(std::move(why)) {}
  Result<std::vector<nlohmann::json>> list(const scalers::kubernetes::ResourceRef&, const std::string&,
                                           const std::string&) override {
    return fail(why_);
  }
  Result<std::optional<nlohmann::json>> get(const scalers::kubernetes::ResourceRef&, const std::string&,
                                            const std::string&) override {
    return fail(why_);
  }

 private:
  std::string why_;
};

struct ClusterAccess {
  std::unique_ptr<kube::Client> client;  // outlives the pools that hold the view on it
  std::string default_namespace = "default";
};

ClusterAccess connect(const std::string& kubeconfig, scalers::ConnectionPools& pools) {
  ClusterAccess access;
  auto config = kube::load_config(kubeconfig);
  if (!config) {
    pools.provide<scalers::kubernetes::Objects>(std::make_shared<NoCluster>(
        "no Kubernetes cluster configured (" + config.error().message +
        "): give ebb probe --kubeconfig FILE or set KUBECONFIG"));
    return access;
  }
  access.default_namespace = config->namespace_name.empty() ? "default" : config->namespace_name;
  access.client = std::make_unique<kube::Client>(*config);
  pools.provide<scalers::kubernetes::Objects>(std::make_shared<cluster::DirectObjects>(*access.client));
  return access;
}

ProbedTrigger prepare(const TriggerInput& input, scalers::ConnectionPools& pools) {
  ProbedTrigger t;
  t.index = input.context.index;
  t.type = input.context.type;
  if (!input.missing.empty()) {
    t.setup_error = join(input.missing, "; ");
    return t;
  }
  auto parsed = scalers::Registry::builtin().parse(input.context);
  if (!parsed) {
    std::vector<std::string> messages;
    for (const auto& e : parsed.error()) messages.push_back(e.str());
    t.setup_error = join(messages, "; ");
    return t;
  }
  t.config = std::move(parsed.value());
  auto scaler = t.config->create_scaler(pools);
  if (!scaler) {
    t.setup_error = scaler.error().message;
    return t;
  }
  t.scaler = std::move(scaler.value());
  return t;
}

TriggerRound poll(ProbedTrigger& t) {
  if (!t.scaler) return {std::nullopt, false, t.setup_error};
  auto r = t.scaler->poll();
  if (!r) return {std::nullopt, false, r.error().message};
  return {r->value, r->active, ""};
}

nlohmann::json number_or_null(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

std::string now_utc() {
  const auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string cell(std::optional<double> v) {
  if (!v) return "-";
  std::ostringstream os;
  os << *v;
  return os.str();
}

std::string qualified_name(const ProbedObject& o) {
  const auto& meta = o.metadata();
  return (meta.namespace_.empty() ? "" : meta.namespace_ + "/") + meta.name;
}

void print_triggers(std::ostream& out, const ProbedObject& o,
                    const std::vector<TriggerRound>& rounds) {
  out << "  " << std::left << std::setw(3) << "#" << std::setw(16) << "TYPE" << std::setw(28) << "METRIC"
      << std::setw(12) << "VALUE" << std::setw(10) << "TARGET" << std::setw(12) << "ACTIVATION"
      << std::setw(8) << "ACTIVE" << "ERROR\n";
  for (std::size_t i = 0; i < o.triggers.size(); ++i) {
    const auto& t = o.triggers[i];
    const auto* spec = t.config ? &t.config->metric_spec() : nullptr;
    out << "  " << std::left << std::setw(3) << t.index << std::setw(16) << t.type << std::setw(28)
        << (spec ? spec->name : "-") << std::setw(12) << cell(rounds[i].value) << std::setw(10)
        << (spec ? spec->target_quantity : "-") << std::setw(12)
        << (spec ? cell(spec->activation_target) : "-") << std::setw(8)
        << (rounds[i].value ? (rounds[i].active ? "true" : "false") : "-") << rounds[i].error << "\n";
  }
}

void print_table(std::ostream& out, const ProbedObject& o, const std::vector<TriggerRound>& rounds,
                 std::optional<std::int32_t> desired) {
  const auto& so = *o.so;
  out << qualified_name(o)
      << "  desiredReplicas=" << (desired ? std::to_string(*desired) : "unknown") << "  (min "
      << so.spec.min_replica_count_or_default() << ", max "
      << so.spec.max_replica_count_or_default() << ")\n";
  print_triggers(out, o, rounds);
}

nlohmann::json triggers_json(const ProbedObject& o, const std::vector<TriggerRound>& results) {
  nlohmann::json triggers = nlohmann::json::array();
  for (std::size_t i = 0; i < o.triggers.size(); ++i) {
    const auto& t = o.triggers[i];
    const auto* ms = t.config ? &t.config->metric_spec() : nullptr;
    triggers.push_back(
        {{"index", t.index},
         {"type", t.type},
         {"metricName", ms ? nlohmann::json(ms->name) : nlohmann::json(nullptr)},
         {"value", number_or_null(results[i].value)},
         {"target", ms ? nlohmann::json(ms->target) : nlohmann::json(nullptr)},
         {"activationThreshold",
          ms ? nlohmann::json(ms->activation_target) : nlohmann::json(nullptr)},
         {"active", results[i].value ? nlohmann::json(results[i].active) : nlohmann::json(nullptr)},
         {"error",
          results[i].error.empty() ? nlohmann::json(nullptr) : nlohmann::json(results[i].error)}});
  }
  return triggers;
}

// What the adapter's job loop would decide on this round's readings (the same pure functions),
// with the running and pending Jobs given on the command line instead of counted in a cluster.
struct JobRound {
  adapter::JobScalingPolicy policy;
  adapter::JobDecision decision;
  std::int64_t running = 0, pending = 0;
  // Unknown when every trigger failed: no reading to create Jobs from (the adapter creates none,
  // and that is not the queue being empty).
  bool known() const { return !decision.all_failed; }
};

JobRound decide_job_round(const ProbedObject& o, const std::vector<TriggerRound>& results,
                          const ProbeOptions& options) {
  JobRound r;
  r.policy = adapter::job_scaling_policy(*o.sj);
  r.running = options.running_jobs;
  r.pending = std::min<std::int64_t>(options.pending_jobs, options.running_jobs);
  adapter::JobDecisionInput input;
  input.policy = r.policy;
  input.running = r.running;
  input.pending = r.pending;
  for (std::size_t i = 0; i < o.triggers.size(); ++i) {
    const auto& t = o.triggers[i];
    adapter::JobTriggerOutcome outcome;
    outcome.trigger_type = t.type;
    if (t.config) {
      outcome.metric_name = t.config->metric_spec().name;
      outcome.target = t.config->metric_spec().target;
    }
    if (results[i].value) {
      outcome.value = results[i].value;
      outcome.active = results[i].active;
    } else {
      outcome.error = results[i].error;
    }
    input.triggers.push_back(std::move(outcome));
  }
  r.decision = adapter::decide_jobs(input);
  return r;
}

void print_job_table(std::ostream& out, const ProbedObject& o,
                     const std::vector<TriggerRound>& rounds, const JobRound& r) {
  const auto& d = r.decision;
  out << qualified_name(o) << "  jobsToCreate="
      << (d.skipped   ? "0"
          : r.known() ? std::to_string(d.create)
                      : std::string("unknown"));
  if (d.skipped)
    out << "  (paused)";
  else if (!r.known())
    out << "  (no trigger could be read; running " << r.running << ", pending " << r.pending
        << "; strategy " << adapter::to_string(r.policy.strategy) << ")";
  else
    out << "  (queueLength " << d.combined.queue_length << ", maxScale " << d.scale.max_scale
        << ", running " << r.running << ", pending " << r.pending << "; strategy "
        << adapter::to_string(r.policy.strategy) << ", multipleScalersCalculation "
        << adapter::to_string(r.policy.calculation) << ", maxReplicaCount " << r.policy.max_replicas
        << ")";
  out << "\n";
  print_triggers(out, o, rounds);
}

}  // namespace

void request_stop() { stop_requested = true; }

int run_probe(const std::vector<std::string>& files, const SecretSources& secrets,
              const ProbeOptions& options, std::ostream& out, std::ostream& err) {
  const auto manifests = load_manifests(files);
  int status = 0;
  for (const auto& e : manifests.load_errors) {
    err << e << "\n";
    status = 1;
  }
  std::unique_ptr<kube::Client> client;  // declared before the pools, which refer to it
  scalers::ConnectionPools pools;
  auto cluster_access = connect(options.kubeconfig, pools);
  client = std::move(cluster_access.client);
  const auto validation = scalers::validation_options();
  std::vector<ProbedObject> objects;
  for (const auto& m : manifests.documents) {
    const auto* so = m.doc.scaled_object();
    const auto* sj = m.doc.scaled_job();
    if (!m.doc.ok() || (m.doc.kind == "ScaledObject" && !so) ||
        (m.doc.kind == "ScaledJob" && !sj)) {
      for (const auto& e : m.doc.errors) err << m.location() << ": " << e.str() << "\n";
      status = 1;
      continue;
    }
    if (!so && !sj) continue;
    const auto result = so ? api::validate(*so, validation) : api::validate(*sj, validation);
    if (!result.ok()) {
      for (const auto& e : result.errors) err << m.location() << ": " << e.str() << "\n";
      status = 1;
      continue;
    }
    ProbedObject o{m.location(), so, sj, {}};
    for (auto input :
         so ? trigger_inputs(*so, manifests, secrets) : trigger_inputs(*sj, manifests, secrets)) {
      // A manifest without a namespace goes to the context's, as kubectl apply would put it.
      if (input.context.scaled_object_namespace.empty())
        input.context.scaled_object_namespace = cluster_access.default_namespace;
      o.triggers.push_back(prepare(input, pools));
    }
    objects.push_back(std::move(o));
  }
  if (objects.empty()) {
    err << "probe: no valid ScaledObject or ScaledJob in the given files\n";
    return 1;
  }

  bool invalid = status != 0;
  bool last_round_failed = false;
  const int rounds = options.count.value_or(options.watch ? -1 : 1);
  for (int round = 0; rounds < 0 || round < rounds; ++round) {
    if (round > 0) {
      // Sleep in small steps so SIGINT ends the watch promptly.
      const auto until = std::chrono::steady_clock::now() + options.interval;
      while (!stop_requested && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (stop_requested) break;
    bool any_failed = false;
    nlohmann::json doc = {{"time", now_utc()}, {"scaledObjects", nlohmann::json::array()}};
    bool any_job = false;
    if (!options.json && options.watch) out << "--- " << now_utc() << "\n";
    for (auto& o : objects) {
      std::vector<TriggerRound> results;
      std::vector<TriggerReading> readings;
      for (auto& t : o.triggers) {
        results.push_back(poll(t));
        const auto& r = results.back();
        any_failed = any_failed || !r.value;
        const auto* spec = t.config ? &t.config->metric_spec() : nullptr;
        readings.push_back({spec ? spec->target_type : scalers::MetricTargetType::AverageValue,
                            spec ? spec->target : 0, r.value, r.active});
      }
      if (o.sj) {
        const auto r = decide_job_round(o, results, options);
        if (options.json) {
          if (!any_job) doc["scaledJobs"] = nlohmann::json::array();
          any_job = true;
          const auto& d = r.decision;
          doc["scaledJobs"].push_back(
              {{"namespace", o.sj->metadata.namespace_},
               {"name", o.sj->metadata.name},
               {"paused", d.skipped},
               {"jobsToCreate", d.skipped   ? nlohmann::json(0)
                                : r.known() ? nlohmann::json(d.create)
                                            : nlohmann::json(nullptr)},
               {"active",
                d.skipped || !r.known() ? nlohmann::json(nullptr) : nlohmann::json(d.active)},
               {"queueLength",
                r.known() ? nlohmann::json(d.combined.queue_length) : nlohmann::json(nullptr)},
               {"maxScale",
                r.known() ? nlohmann::json(d.scale.max_scale) : nlohmann::json(nullptr)},
               {"runningJobs", r.running},
               {"pendingJobs", r.pending},
               {"strategy", std::string(adapter::to_string(r.policy.strategy))},
               {"multipleScalersCalculation",
                std::string(adapter::to_string(r.policy.calculation))},
               {"maxReplicaCount", r.policy.max_replicas},
               {"triggers", triggers_json(o, results)}});
        } else {
          print_job_table(out, o, results, r);
        }
        continue;
      }
      const auto& spec = o.so->spec;
      const auto desired = desired_replicas(
          readings, {spec.min_replica_count_or_default(), spec.max_replica_count_or_default(),
                     spec.idle_replica_count, options.current_replicas});
      if (options.json) {
        doc["scaledObjects"].push_back(
            {{"namespace", o.so->metadata.namespace_},
             {"name", o.so->metadata.name},
             {"desiredReplicas", desired ? nlohmann::json(*desired) : nlohmann::json(nullptr)},
             {"triggers", triggers_json(o, results)}});
      } else {
        print_table(out, o, results, desired);
      }
    }
    if (options.json) out << doc.dump() << "\n";
    out.flush();
    last_round_failed = any_failed;
  }
  return (invalid || last_round_failed) ? 1 : 0;
}

}  // namespace ebb::cli
