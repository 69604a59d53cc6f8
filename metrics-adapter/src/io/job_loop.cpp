#include "ebb/adapter/job_loop.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "ebb/adapter/job_decision.h"
#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/status.h"
#include "ebb/api/validate.h"
#include "ebb/cluster/resources.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/json.h"
#include "ebb/kube/event_recorder.h"
#include "ebb/process/log.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::adapter {

using nlohmann::json;

namespace {

const process::Logger& log() {
  static const process::Logger logger("adapter.jobs");
  return logger;
}

std::string label_of(const json& object, const std::string& label) {
  const auto& labels = json_member(json_member(object, "metadata"), "labels");
  if (!labels.is_object()) return "";
  auto it = labels.find(label);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::vector<std::string> jobs_by_scaled_job(const kube::Object& job) {
  const auto name = label_of(job, std::string(api::kScaledJobNameLabel));
  if (name.empty()) return {};
  return {kube::object_key(kube::meta_string(job, "namespace"), name)};
}

std::vector<std::string> pods_by_job(const kube::Object& pod) {
  // batch.kubernetes.io/job-name since Kubernetes 1.27; job-name before (and still).
  auto job = label_of(pod, "batch.kubernetes.io/job-name");
  if (job.empty()) job = label_of(pod, "job-name");
  if (job.empty()) return {};
  return {kube::object_key(kube::meta_string(pod, "namespace"), job)};
}

void job_transform(kube::Object& job) {
  json out = json_subset(job, {"apiVersion", "kind"});
  out["metadata"] = json_subset(json_member(job, "metadata"),
                                {"name", "namespace", "uid", "resourceVersion", "labels",
                                 "annotations", "creationTimestamp", "deletionTimestamp"});
  out["status"] = json_subset(json_member(job, "status"), {"conditions", "completionTime"});
  job = std::move(out);
}

void pod_transform(kube::Object& pod) {
  json out = json_subset(pod, {"apiVersion", "kind"});
  out["metadata"] = json_subset(json_member(pod, "metadata"),
                                {"name", "namespace", "uid", "resourceVersion", "labels"});
  out["status"] = json_subset(json_member(pod, "status"), {"phase", "conditions"});
  pod = std::move(out);
}

namespace {

struct TriggerRuntime {
  std::size_t index = 0;
  std::string type, metric_name;
  std::string scaler_label;  // the trigger's name, else KEDA's scaler name
  double target = 0;
  std::unique_ptr<scalers::Scaler> scaler;
  std::optional<std::string> build_error;
};

struct Runtime {
  std::string key, ns, name;
  std::mutex poll_mutex;  // one poll at a time
  std::mutex mutex;       // everything below
  std::int64_t generation = -1;
  json object;                       // as last delivered (status included)
  std::optional<api::ScaledJob> sj;  // decoded; nullopt when it does not decode
  std::optional<std::string> invalid;
  std::vector<std::shared_ptr<TriggerRuntime>> triggers;
  std::set<std::string>
      auth_refs;  // "TriggerAuthentication/ns/name", "ClusterTriggerAuthentication//name"
  bool rollout_pending = false;
  bool removed = false;
  // Jobs this process created that the Job informer has not delivered yet (client-go's
  // "expectations"): counted as running and pending so that a poll right after a create does
  // not create them again, and deleted by a rollout when of an older generation. Forgotten once
  // seen, or after kExpectationTtl.
  struct Expected {
    std::chrono::steady_clock::time_point created;
    std::int64_t generation = 0;  // the ScaledJob's, stamped on the Job
  };
  std::map<std::string, Expected> expected;  // poll thread only
};

constexpr auto kExpectationTtl = std::chrono::seconds(60);

std::string scheduler_key(const std::string& key) {
  return "scaledjob/" + key;
}

}  // namespace

struct JobLoop::Impl : std::enable_shared_from_this<JobLoop::Impl> {
  JobLoopDeps deps;
  JobLoopOptions options;
  kube::EventRecorder recorder;
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Runtime>> runtimes;

  Impl(JobLoopDeps d, JobLoopOptions o)
      : deps(d), options(std::move(o)), recorder(deps.client, options.events) {}

  const scalers::Registry& registry() const {
    return options.registry ? *options.registry : scalers::Registry::builtin();
  }
  bool leader() const { return !options.is_leader || options.is_leader(); }
  bool synced() const { return !options.caches_synced || options.caches_synced(); }

  std::shared_ptr<Runtime> find(const std::string& key) const {
    std::lock_guard lock(mutex);
    auto it = runtimes.find(key);
    return it == runtimes.end() ? nullptr : it->second;
  }

  // Decodes, validates and builds the scalers. Reads the cluster (auth objects, Secrets).
  void build(Runtime& rt, const json& object) {
    api::DecodeOptions decode_options;
    decode_options.strict = false;
    auto decoded = api::decode_scaled_job(object, decode_options);
    std::vector<std::shared_ptr<TriggerRuntime>> triggers;
    std::set<std::string> refs;
    std::optional<std::string> invalid;
    std::optional<api::ScaledJob> sj;
    if (!decoded) {
      std::vector<std::string> parts;
      for (const auto& e : decoded.error()) parts.push_back(e.str());
      invalid = "ScaledJob is invalid: " + join(parts, "; ");
    } else {
      sj = std::move(*decoded);
      auto validation = api::validate(*sj, scalers::validation_options(registry()));
      if (!validation.ok()) {
        std::vector<std::string> parts;
        for (const auto& e : validation.errors) parts.push_back(e.str());
        invalid = "ScaledJob doesn't have correct specification: " + join(parts, "; ");
      }
      for (const auto& t : sj->spec.triggers)
        if (t.authentication_ref)
          refs.insert(
              t.authentication_ref->kind_or_default() + "/" +
              (t.authentication_ref->cluster_scoped() ? std::string() : sj->metadata.namespace_) +
              "/" + t.authentication_ref->name);
      if (!invalid) triggers = build_triggers(*sj);
    }
    std::lock_guard lock(rt.mutex);
    rt.sj = std::move(sj);
    rt.invalid = std::move(invalid);
    rt.triggers = std::move(triggers);
    rt.auth_refs = std::move(refs);
  }

  std::vector<std::shared_ptr<TriggerRuntime>> build_triggers(const api::ScaledJob& sj) {
    auto env = cluster::job_template_environment(deps.client, sj);
    cluster::TriggerInputsOptions input_options;
    input_options.cluster_object_namespace = options.cluster_object_namespace;
    input_options.registry = &registry();
    const auto inputs =
        cluster::resolve_trigger_inputs(deps.client, sj, env ? &*env : nullptr, input_options);
    std::vector<std::shared_ptr<TriggerRuntime>> out;
    for (std::size_t i = 0; i < sj.spec.triggers.size(); ++i) {
      auto t = std::make_shared<TriggerRuntime>();
      t->index = i;
      t->type = sj.spec.triggers[i].type;
      t->scaler_label = sj.spec.triggers[i].name.empty() ? registry().keda_name(t->type)
                                                         : sj.spec.triggers[i].name;
      const cluster::TriggerMetric* metric = nullptr;
      for (const auto& m : inputs.metrics)
        if (m.index == i) metric = &m;
      if (metric && !metric->spec.external()) continue;  // cpu/memory: KEDA skips them for jobs
      if (metric && metric->config) {
        t->metric_name = metric->spec.name;
        t->target = metric->spec.target;
        try {
          auto scaler = metric->config->create_scaler(deps.pools);
          if (scaler)
            t->scaler = std::move(scaler).value();
          else
            t->build_error = "scaler could not be built: " + scaler.error().message;
        } catch (const std::exception& e) {
          t->build_error = std::string("scaler could not be built: ") + e.what();
        }
      } else {
        std::string why =
            "trigger " + std::to_string(i) + " (" + t->type + ") has no external metric";
        for (const auto& p : inputs.problems)
          if (p.index == i) why = p.message;
        if (!env) why += " (" + env.error().message + ")";
        t->build_error = "scaler could not be built: " + why;
        t->metric_name = "s" + std::to_string(i) + "-" + scalers::normalize_metric_name(t->type);
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  void schedule(const std::shared_ptr<Runtime>& rt, std::int32_t polling_interval, bool now) {
    std::weak_ptr<Impl> weak = shared_from_this();
    const std::string key = rt->key;
    deps.scheduler.schedule(
        scheduler_key(key), std::chrono::seconds(polling_interval),
        [weak, key](std::chrono::milliseconds lag) {
          auto self = weak.lock();
          if (!self) return;
          if (self->options.on_poll_lag) {
            const auto [ns, name] = kube::split_key(key);
            self->options.on_poll_lag(ns, name, static_cast<double>(lag.count()) / 1000.0);
          }
          self->poll(key);
        },
        now ? PollScheduler::FirstRun::Now : PollScheduler::FirstRun::AtPhase);
  }

  void upsert(const json& object, bool after_sync) {
    const auto key = kube::object_key(object);
    const auto generation = json_member(json_member(object, "metadata"), "generation");
    const std::int64_t gen = generation.is_number_integer() ? generation.get<std::int64_t>() : 0;
    std::shared_ptr<Runtime> rt = find(key);
    const bool known = rt != nullptr;
    bool rebuild = !rt;
    if (!rt) {
      rt = std::make_shared<Runtime>();
      rt->key = key;
      rt->ns = kube::meta_string(object, "namespace");
      rt->name = kube::meta_string(object, "name");
    } else {
      std::lock_guard lock(rt->mutex);
      rebuild = rt->generation != gen;
    }
    {
      std::lock_guard lock(rt->mutex);
      rt->object = object;
      rt->generation = gen;
      // KEDA runs its rollout cleanup on every reconcile, so on the first one after a start
      // too: a spec changed while this process was down leaves the old generation's Jobs.
      if (rebuild) rt->rollout_pending = true;
    }
    if (rebuild) {
      // The triggers may change: their series go, the next poll makes the new ones.
      if (options.on_forget && known) options.on_forget(rt->ns, rt->name, false);
      build(*rt, object);
    } else {
      // Same spec: only metadata (annotations: paused) and status may have moved.
      api::DecodeOptions decode_options;
      decode_options.strict = false;
      if (auto decoded = api::decode_scaled_job(object, decode_options)) {
        std::lock_guard lock(rt->mutex);
        rt->sj = std::move(*decoded);
      }
    }
    {
      std::lock_guard lock(mutex);
      runtimes[key] = rt;
    }
    if (rebuild) {
      std::int32_t interval = api::kDefaultPollingInterval;
      {
        std::lock_guard lock(rt->mutex);
        if (rt->sj)
          interval = std::max<std::int32_t>(1, rt->sj->spec.polling_interval_or_default());
      }
      schedule(rt, interval, after_sync || gen > 1);
    }
  }

  void remove(const json& object) {
    const auto key = kube::object_key(object);
    std::shared_ptr<Runtime> rt;
    {
      std::lock_guard lock(mutex);
      auto it = runtimes.find(key);
      if (it == runtimes.end()) return;
      rt = it->second;
      runtimes.erase(it);
    }
    deps.scheduler.unschedule(scheduler_key(key), true);
    {
      std::lock_guard lock(rt->mutex);
      rt->removed = true;
      rt->triggers.clear();
    }
    if (options.on_forget) options.on_forget(rt->ns, rt->name, true);
  }

  void auth_changed(const std::string& kind, const std::string& ns, const std::string& name) {
    const auto ref = kind + "/" + ns + "/" + name;
    std::vector<std::shared_ptr<Runtime>> affected;
    {
      std::lock_guard lock(mutex);
      for (const auto& [key, rt] : runtimes) {
        std::lock_guard rl(rt->mutex);
        if (rt->auth_refs.count(ref)) affected.push_back(rt);
      }
    }
    for (const auto& rt : affected) {
      json object;
      {
        std::lock_guard lock(rt->mutex);
        object = rt->object;
      }
      build(*rt, object);
      deps.scheduler.run_now(scheduler_key(rt->key));
    }
  }

  // --- writes -----------------------------------------------------------------------------

  void record(const api::ScaledJob& sj, const Event& event) {
    json regarding = {
        {"apiVersion", sj.api_version},
        {"kind", sj.kind},
        {"metadata", {{"name", sj.metadata.name}, {"namespace", sj.metadata.namespace_}}}};
    if (!sj.metadata.uid.empty()) regarding["metadata"]["uid"] = sj.metadata.uid;
    auto recorded =
        recorder.record(regarding, event.type, event.reason, event.reason, event.message);
    const process::LogFields fields{{"namespace", sj.metadata.namespace_},
                                    {"name", sj.metadata.name},
                                    {"type", event.type},
                                    {"reason", event.reason},
                                    {"message", event.message}};
    log().log(event.type == "Warning" ? process::LogLevel::warn : process::LogLevel::info, "event",
              fields);
    if (!recorded)
      log().warn("event not recorded", {{"namespace", sj.metadata.namespace_},
                                        {"name", sj.metadata.name},
                                        {"reason", event.reason},
                                        {"error", recorded.error().message}});
  }

  struct StatusChange {
    std::vector<Condition> conditions;
    std::optional<TimePoint> last_active;
    std::optional<std::map<std::string, bool>> triggers_activity;
    std::optional<std::vector<std::string>> external_metric_names;
  };

  // A merge patch of status with what changed; conditions are written whole (Ebb's
  // set_condition keeps observedGeneration and lastTransitionTime).
  void write_status(const api::ScaledJob& sj, const StatusChange& change) {
    const json& current = sj.status;
    json patch = json::object();
    json conditions = json_member(current, "conditions");
    if (!conditions.is_array()) conditions = json::array();
    bool changed = false;
    const auto now_text = now_rfc3339();
    for (const auto& c : change.conditions)
      changed |= api::set_condition(conditions, c, sj.metadata.generation.value_or(0), now_text);
    if (changed) patch["conditions"] = std::move(conditions);
    if (change.last_active) patch["lastActiveTime"] = format_rfc3339(*change.last_active);
    if (change.triggers_activity) {
      json desired = api::triggers_activity_json(*change.triggers_activity);
      json existing = json_member(current, "triggersActivity");
      if (existing != desired) {
        json p = desired;
        if (existing.is_object())
          for (auto it = existing.begin(); it != existing.end(); ++it)
            if (!desired.contains(it.key())) p[it.key()] = nullptr;
        patch["triggersActivity"] = std::move(p);
      }
    }
    if (change.external_metric_names) {
      json names = *change.external_metric_names;
      if (json_member(current, "externalMetricNames") != names)
        patch["externalMetricNames"] = names;
    }
    if (patch.empty()) return;
    kube::PatchOptions po;
    po.subresource = "status";
    auto written =
        deps.client.patch(cluster::scaled_jobs(), sj.metadata.namespace_, sj.metadata.name,
                          kube::PatchType::merge, json{{"status", patch}}, po);
    if (!written)
      log().error("cannot write status", {{"namespace", sj.metadata.namespace_},
                                          {"name", sj.metadata.name},
                                          {"error", written.error().message}});
  }

  void delete_job(const api::ScaledJob& sj, const std::string& job, const std::string& policy,
                  std::string* error = nullptr) {
    kube::DeleteOptions d;
    d.propagation_policy = policy;
    auto r = deps.client.remove(kube::resources::jobs(), sj.metadata.namespace_, job, d);
    if (!r && !r.error().not_found()) {
      log().error("cannot delete job", {{"namespace", sj.metadata.namespace_},
                                        {"name", sj.metadata.name},
                                        {"job", job},
                                        {"error", r.error().message}});
      if (error) *error = r.error().message;
    } else {
      log().info("deleted job",
                 {{"namespace", sj.metadata.namespace_}, {"name", sj.metadata.name}, {"job", job}});
    }
  }

  // KEDA's failed ScaledJob check: Ready=False (ScaledJobCheckFailed, `message`), Active=Unknown,
  // a Warning event when the message is new, the error counted. `conditions`: others to write.
  void check_failed(const api::ScaledJob& sj, const Runtime& rt, std::vector<Condition> conditions,
                    const std::string& message) {
    const auto ready = api::get_condition(sj.status, api::kConditionReady);
    if (!ready || ready->status != "False" || ready->message != message)
      record(sj, {"Warning", "ScaledJobCheckFailed", message});
    conditions.push_back(
        {std::string(api::kConditionReady), "False", "ScaledJobCheckFailed", message});
    conditions.push_back({std::string(api::kConditionActive), "Unknown", "UnknownState",
                          "ScaledJob check failed"});
    write_status(sj, {conditions, std::nullopt, std::nullopt, std::nullopt});
    if (options.on_error) options.on_error(rt.ns, rt.name);
  }

  // KEDA's deletePreviousVersionScaleJobs, for "immediate" (the default). False, with the Job
  // that could not be deleted in `failed_job`, when a delete failed: the next poll tries again,
  // as KEDA's reconcile is retried on its error.
  bool rollout_cleanup(const api::ScaledJob& sj, Runtime& rt, std::string& failed_job) {
    if (sj.spec.rollout_strategy_or_default() == "gradual") return true;
    const auto current = sj.metadata.generation.value_or(0);
    const auto generation = std::to_string(current);
    std::vector<std::string> stale;
    for (const auto& job : deps.jobs.indexed(kJobsByScaledJobIndex, rt.key)) {
      const auto& annotations = json_member(json_member(*job, "metadata"), "annotations");
      const auto& g = json_member(annotations, std::string(api::kScaledJobGenerationAnnotation));
      if (!g.is_string() || g.get<std::string>() != generation)
        stale.push_back(kube::meta_string(*job, "name"));
    }
    // Jobs made by a poll just before the change, not delivered by the informer yet, are not in
    // the index: they would outlive the rollout.
    for (const auto& [name, e] : rt.expected)
      if (e.generation != current && !deps.jobs.find(kube::object_key(rt.ns, name)))
        stale.push_back(name);
    if (stale.empty()) return true;
    record(sj, {"Normal", "ScaledJobRolloutCleanupStarted",
                "Deleting " + std::to_string(stale.size()) +
                    " jobs owned by the previous version of the scaledJob"});
    const std::string policy =
        sj.spec.propagation_policy_or_default() == "foreground" ? "Foreground" : "Background";
    for (const auto& name : stale) {
      std::string error;
      delete_job(sj, name, policy, &error);
      if (!error.empty()) {
        record(sj, {"Warning", "ScaledJobRolloutCleanupFailed",
                    "Failed to delete job " + name + ": " + error});
        failed_job = name;
        return false;
      }
      // A Job the last poll created is still expected (counted as running until the informer
      // has it and a poll sees it there): deleted, it must stop counting at once.
      rt.expected.erase(name);
    }
    record(sj, {"Normal", "ScaledJobRolloutCleanupCompleted",
                "Deleted " + std::to_string(stale.size()) +
                    " jobs owned by the previous version of the scaledJob"});
    return true;
  }

  // --- the poll -----------------------------------------------------------------------------

  void poll(const std::string& key) {
    auto rt = find(key);
    if (!rt) return;
    std::lock_guard poll_lock(rt->poll_mutex);
    std::optional<api::ScaledJob> sj;
    std::optional<std::string> invalid;
    std::vector<std::shared_ptr<TriggerRuntime>> triggers;
    bool rollout = false;
    {
      std::lock_guard lock(rt->mutex);
      if (rt->removed) return;
      sj = rt->sj;
      invalid = rt->invalid;
      triggers = rt->triggers;
      rollout = rt->rollout_pending;
    }
    // A follower would create every Job twice; an unlisted cache would count no running Job.
    if (!leader() || !synced() || !sj) return;
    if (sj->metadata.deletion_timestamp) return;  // its Jobs go with it (owner references)

    const auto policy = job_scaling_policy(*sj);
    const auto paused_condition = api::get_condition(sj->status, api::kConditionPaused);
    const bool paused_in_status = paused_condition && paused_condition->status == "True";
    if (policy.paused) {
      if (!paused_in_status) {
        write_status(*sj, {{{std::string(api::kConditionPaused), "True", "ScaledJobPaused",
                             "ScaledJob is paused"}},
                           std::nullopt,
                           std::nullopt,
                           std::nullopt});
        record(*sj, {"Normal", "ScaledJobPaused", "ScaledJob is paused"});
      }
      return;
    }
    std::vector<Condition> conditions;
    if (paused_in_status) {
      conditions.push_back({std::string(api::kConditionPaused), "False", "ScaledJobUnpaused",
                            "ScaledJob is unpaused"});
      record(*sj, {"Normal", "ScaledJobUnpaused", "ScaledJob is unpaused"});
    }

    if (invalid) {
      check_failed(*sj, *rt, std::move(conditions), *invalid);
      return;
    }

    if (rollout) {
      std::string failed_job;
      if (rollout_cleanup(*sj, *rt, failed_job)) {
        std::lock_guard lock(rt->mutex);
        // Not when the object changed again meanwhile: that generation needs its own cleanup.
        if (rt->generation == sj->metadata.generation.value_or(0)) rt->rollout_pending = false;
      } else {
        // As KEDA's reconcile: the ScaledJob's check fails and no Job of the new generation is
        // made until the old generation's Jobs are gone; the next poll tries the deletes again.
        check_failed(*sj, *rt, std::move(conditions), "Not able to delete job: " + failed_job);
        return;
      }
    }

    // Query every trigger within the poll's budget.
    JobDecisionInput input;
    input.policy = policy;
    std::vector<std::string> metric_names;
    const auto started = std::chrono::steady_clock::now();
    for (const auto& t : triggers) {
      JobTriggerOutcome o;
      o.metric_name = t->metric_name;
      o.trigger_type = t->type;
      o.target = t->target;
      metric_names.push_back(t->metric_name);
      if (t->build_error) {
        o.error = *t->build_error;
      } else if (std::chrono::steady_clock::now() - started > options.poll_timeout) {
        o.error = "not queried: the poll used up its budget";
      } else {
        const auto query_started = std::chrono::steady_clock::now();
        try {
          auto r = t->scaler->poll();
          if (r) {
            o.value = r->value;
            o.active = r->active;
          } else {
            o.error = r.error().message;
          }
        } catch (const std::exception& e) {
          o.error = std::string("scaler failed: ") + e.what();
        }
        if (options.on_trigger_polled) {
          const std::chrono::duration<double> took =
              std::chrono::steady_clock::now() - query_started;
          options.on_trigger_polled(
              MetricLabels{rt->ns, rt->name, t->metric_name, t->scaler_label, t->index}, o.value,
              o.active, o.failed(), took.count());
        }
      }
      input.triggers.push_back(std::move(o));
    }

    // Count the ScaledJob's Jobs from the informer's index.
    std::vector<FinishedJob> finished;
    for (const auto& job : deps.jobs.indexed(kJobsByScaledJobIndex, key)) {
      if (job_finish(*job) != JobFinish::None) {
        finished.push_back(finished_job(*job));
        continue;
      }
      ++input.running;
      std::vector<PodState> pods;
      for (const auto& pod : deps.pods.indexed(
               kPodsByJobIndex, kube::object_key(rt->ns, kube::meta_string(*job, "name"))))
        pods.push_back(pod_state(*pod));
      if (job_pending(pods, policy.pending_pod_conditions)) ++input.pending;
    }
    const auto steady_now = std::chrono::steady_clock::now();
    for (auto it = rt->expected.begin(); it != rt->expected.end();) {
      if (deps.jobs.find(kube::object_key(rt->ns, it->first)) ||
          steady_now - it->second.created > kExpectationTtl) {
        it = rt->expected.erase(it);
      } else {
        ++input.running;
        ++input.pending;
        ++it;
      }
    }
    const auto active = api::get_condition(sj->status, api::kConditionActive);
    input.was_active = active && active->status == "True";

    const auto decision = decide_jobs(input);
    log().debug("scaledjob poll", {{"namespace", rt->ns},
                                   {"name", rt->name},
                                   {"active", decision.active},
                                   {"running", input.running},
                                   {"pending", input.pending},
                                   {"queueLength", decision.combined.queue_length},
                                   {"maxScale", decision.scale.max_scale},
                                   {"create", decision.create}});

    std::vector<Event> events = decision.events;
    if (decision.create > 0) {
      const auto manifest = job_manifest(*sj, options.version);
      std::int64_t created = 0;
      for (std::int64_t i = 0; i < decision.create; ++i) {
        auto r = deps.client.create(kube::resources::jobs(), manifest);
        if (r) {
          ++created;
          rt->expected[kube::meta_string(*r, "name")] = {std::chrono::steady_clock::now(),
                                                         sj->metadata.generation.value_or(0)};
        } else {
          events.push_back({"Warning", "KEDAJobCreateFailed",
                            "Failed to create job " + rt->name + "-: " + r.error().message});
          log().error("cannot create job",
                      {{"namespace", rt->ns}, {"name", rt->name}, {"error", r.error().message}});
          break;  // the next poll tries again; the same error would repeat for each
        }
      }
      if (created > 0) {
        events.push_back(
            {"Normal", "KEDAJobsCreated", "Created " + std::to_string(created) + " jobs"});
        log().info("created jobs", {{"namespace", rt->ns},
                                    {"name", rt->name},
                                    {"jobs", created},
                                    {"running", input.running},
                                    {"queueLength", decision.combined.queue_length}});
      }
    }

    for (const auto& name : jobs_to_trim(std::move(finished), policy.successful_jobs_history_limit,
                                         policy.failed_jobs_history_limit))
      delete_job(*sj, name, "Background");

    conditions.push_back(decision.ready);
    if (decision.active_condition) conditions.push_back(*decision.active_condition);
    StatusChange change;
    change.conditions = std::move(conditions);
    if (decision.stamp_last_active) change.last_active = Clock::now();
    change.triggers_activity = decision.triggers_activity;
    change.external_metric_names = metric_names;
    write_status(*sj, change);
    for (const auto& e : events) record(*sj, e);
    if (decision.error && options.on_error) options.on_error(rt->ns, rt->name);
  }
};

JobLoop::JobLoop(JobLoopDeps deps, JobLoopOptions options)
    : impl_(std::make_shared<Impl>(deps, std::move(options))) {}

JobLoop::~JobLoop() {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [key, rt] : impl_->runtimes) keys.push_back(key);
  }
  for (const auto& key : keys) impl_->deps.scheduler.unschedule(scheduler_key(key), true);
}

void JobLoop::upsert(const kube::Object& scaled_job, bool after_sync) {
  impl_->upsert(scaled_job, after_sync);
}
void JobLoop::remove(const kube::Object& scaled_job) {
  impl_->remove(scaled_job);
}
void JobLoop::auth_changed(const std::string& kind, const std::string& ns,
                           const std::string& name) {
  impl_->auth_changed(kind, ns, name);
}
void JobLoop::poll(const std::string& key) {
  impl_->poll(key);
}
std::size_t JobLoop::objects() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->runtimes.size();
}

}  // namespace ebb::adapter
