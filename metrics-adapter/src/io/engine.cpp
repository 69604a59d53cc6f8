// The adapter's data plane (engine.h): per-object runtimes, the metric cache, single-flight
// polls, the HPA's reads and the hand-off to decide() and the Actuator.
//
// Locking: `build_mutex` serialises the informer-side calls (upsert, remove, auth_changed), which
// may do API reads while building; `map_mutex` guards the key -> runtime map only (readers and
// the scheduler look runtimes up under it and never wait for a build); each runtime's `mutex`
// guards its snapshot of the object, its cache, its health counts and its single-flight state.
// No lock is held across a scaler query or an API call.
#include "ebb/adapter/engine.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "ebb/adapter/freshness.h"
#include "ebb/adapter/status_writer.h"
#include "ebb/api/annotations.h"
#include "ebb/api/decode.h"
#include "ebb/api/status.h"
#include "ebb/cluster/scale_target.h"
#include "ebb/cluster/trigger_inputs.h"
#include "ebb/json.h"
#include "ebb/kube/resource.h"
#include "ebb/scalers/scaled_object.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::adapter {

namespace {

constexpr std::string_view kCompositeMetric = "composite-metric";
constexpr std::chrono::seconds kLastActiveRefresh{300};

std::string seconds_text(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

MetricError error_of(int code, std::string message) {
  std::string reason = code == 400   ? "BadRequest"
                       : code == 404 ? "NotFound"
                       : code == 503 ? "ServiceUnavailable"
                                     : "InternalError";
  return MetricError{code, std::move(reason), std::move(message)};
}

struct CacheEntry {
  std::optional<double> value;
  bool active = false;
  std::optional<std::string> error;
  TimePoint produced_at;
};

// One external trigger of an object. Fixed once built, except that the scaler is used by one
// query at a time (the Scaler contract).
struct TriggerRuntime {
  std::size_t index = 0;
  std::string type, name;
  std::string metric_name;
  std::optional<scalers::MetricSpec> spec;  // when the pure step worked
  bool use_cached_metrics = false;
  std::unique_ptr<scalers::Scaler> scaler;
  std::optional<std::string> build_error;  // "scaler could not be built: ..."
  std::mutex query_mutex;
  // Push (ARCHITECTURE.md decision 6): scaler->watch() was called; stop_watch() is owed.
  std::atomic<bool> watching{false};

  ~TriggerRuntime() {
    // The engine stops watches when it drops a runtime; this only covers a path that forgot.
    if (watching && scaler) scaler->stop_watch();
  }
};

struct ObjectRuntime {
  std::string key, ns, name;
  std::optional<std::int64_t> generation;  // the generation the triggers were built for

  mutable std::mutex mutex;
  // The latest object from the informer, as compact JSON text, for a rebuild on an auth change;
  // empty when the engine reads it back from the informer's cache (EngineOptions::scaled_objects)
  // instead. And what is read from it.
  std::string object_text;
  // Decoded once per informer delivery and shared, never changed: a poll or a metric read takes
  // a reference, not a copy of the spec and status.
  std::shared_ptr<const api::ScaledObject> so;
  std::optional<ScalingPolicy> policy;
  std::optional<std::string> object_error;  // not decodable, or no usable policy
  bool may_act = false;
  std::chrono::seconds polling_interval{api::kDefaultPollingInterval};
  std::optional<TimePoint> created;
  std::optional<TimePoint> status_last_active;
  bool status_fallback_active = false;
  bool status_active = false;  // status has Active=True

  std::vector<std::shared_ptr<TriggerRuntime>> triggers;  // external triggers, in spec order
  std::map<std::string, CacheEntry> cache;                // by metric name
  std::map<std::string, MetricHealth> health;             // status.health, counted here
  std::optional<TimePoint> last_build_attempt;
  // What this process wrote and the informer may not have delivered yet.
  std::optional<TimePoint> written_last_active;
  // The last poll that found the object active, written or not (lastActiveTime is written
  // while active only every kLastActiveRefresh; see do_poll). Shared knowledge of every replica.
  std::optional<TimePoint> seen_active;
  std::optional<bool> written_fallback_active;

  bool scheduled = false;
  std::chrono::seconds scheduled_interval{0};
  bool removed = false;  // dropped from the engine (removed or replaced by a rebuild)
  // A push arrived while the object was not scheduled: its first run is at once.
  bool push_pending = false;

  // Single flight: one poll at a time; `completed` counts finished polls.
  bool polling = false;
  std::uint64_t completed = 0;
  std::condition_variable poll_done;

  bool has_failed_build() const {
    for (const auto& t : triggers)
      if (t->build_error) return true;
    return false;
  }
};

// Reads everything the engine needs from the object into the runtime (under its mutex).
// `keep_text`: keep the object as text for a rebuild (no cache to read it back from).
void apply_snapshot(ObjectRuntime& rt, const kube::Object& object, bool keep_text) {
  if (keep_text) rt.object_text = object.dump();
  rt.so.reset();
  rt.policy.reset();
  rt.object_error.reset();
  api::DecodeOptions decode_options;
  decode_options.strict = false;  // a newer CRD may carry fields Ebb does not know
  auto decoded = api::decode_scaled_object(object, decode_options);
  if (!decoded) {
    std::vector<std::string> parts;
    for (const auto& e : decoded.error()) parts.push_back(e.str());
    rt.object_error = "ScaledObject " + rt.key + " cannot be read: " + join(parts, "; ");
    rt.may_act = false;
    return;
  }
  auto policy = scaling_policy(*decoded);
  if (!policy) {
    rt.object_error = "ScaledObject " + rt.key + ": " + policy.error().message;
  } else {
    rt.policy = std::move(policy).value();
  }
  rt.polling_interval = std::chrono::seconds(std::max<std::int32_t>(1, decoded->spec.polling_interval_or_default()));
  rt.created = parse_rfc3339(decoded->metadata.creation_timestamp);
  auto so = std::make_shared<api::ScaledObject>(std::move(decoded).value());
  // Memory per object (issue 16): the decoded copy of the whole document (nothing here encodes
  // the object again) was the largest part of a runtime, the status as an nlohmann tree the
  // next; the adapter keeps its typed part of the status, and drops the metadata only the
  // scaling policy above read (adapter_may_act reads the object itself).
  so->raw = nullptr;
  auto status = std::make_shared<const api::AdapterStatus>(api::read_adapter_status(so->status));
  so->status = nullptr;
  so->metadata.labels.clear();
  so->metadata.annotations.clear();
  so->metadata.finalizers.clear();
  so->metadata.owner_references = nullptr;
  rt.status_last_active =
      status->last_active_time ? parse_rfc3339(*status->last_active_time) : std::nullopt;
  rt.status_fallback_active = status->fallback && status->fallback->status == "True";
  rt.status_active = status->active && status->active->status == "True";
  so->adapter_status = std::move(status);
  rt.so = std::move(so);
  rt.may_act = !rt.object_error && api::adapter_may_act(object);
}

std::optional<std::int64_t> generation_of(const kube::Object& object) {
  const auto& g = json_member(json_member(object, "metadata"), "generation");
  if (g.is_number_integer()) return g.get<std::int64_t>();
  return std::nullopt;
}

bool references_auth(const api::ScaledObject& so, const std::string& kind, const std::string& ns,
                     const std::string& name) {
  const bool cluster = kind == api::kClusterTriggerAuthenticationKind;
  if (!cluster && so.metadata.namespace_ != ns) return false;
  for (const auto& t : so.spec.triggers) {
    if (!t.authentication_ref || t.authentication_ref->name != name) continue;
    if (t.authentication_ref->kind_or_default() == kind) return true;
  }
  return false;
}

std::string scale_target_text(const api::ScaledObject& so) {
  const auto status = api::adapter_status_of(so);
  std::string k = !status->scale_target_kind.empty()
                      ? status->scale_target_kind
                      : so.spec.scale_target_ref.api_version_or_default() + "." +
                            so.spec.scale_target_ref.kind_or_default();
  return k + " " + so.metadata.namespace_ + "/" + so.spec.scale_target_ref.name;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
  Impl(EngineDeps d, EngineOptions o) : deps(d), options(std::move(o)) {}

  EngineDeps deps;
  EngineOptions options;

  std::mutex build_mutex;
  mutable std::mutex map_mutex;
  std::map<std::string, std::shared_ptr<ObjectRuntime>> objects;

  // Polls started on their own thread for an HPA read (so the read can stop waiting).
  std::mutex detached_mutex;
  std::condition_variable detached_done;
  std::size_t detached = 0;

  const scalers::Registry& registry() const {
    return options.registry ? *options.registry : scalers::Registry::builtin();
  }

  std::shared_ptr<ObjectRuntime> find(const std::string& key) const {
    std::lock_guard lock(map_mutex);
    auto it = objects.find(key);
    return it == objects.end() ? nullptr : it->second;
  }

  MetricLabels labels(const ObjectRuntime& rt, const TriggerRuntime& t) const {
    return MetricLabels{rt.ns, rt.name, t.metric_name, t.name.empty() ? registry().keda_name(t.type) : t.name, t.index};
  }

  // --- building ---------------------------------------------------------------------------

  std::vector<std::shared_ptr<TriggerRuntime>> build_triggers(const api::ScaledObject& so) {
    std::optional<cluster::TargetEnvironment> env;
    if (auto target = cluster::resolve_scale_target(deps.client, so, options.workloads)) {
      if (auto e = cluster::read_target_environment(deps.client, *target, so.spec.scale_target_ref.env_source_container_name))
        env = std::move(e).value();
    }
    cluster::TriggerInputsOptions input_options;
    input_options.cluster_object_namespace = options.cluster_object_namespace;
    input_options.registry = &registry();
    input_options.trigger_authentications = options.trigger_authentications;
    input_options.cluster_trigger_authentications = options.cluster_trigger_authentications;
    auto inputs = cluster::resolve_trigger_inputs(deps.client, so, env ? &*env : nullptr, input_options);

    const auto status = api::adapter_status_of(so);
    const auto& status_names = status->external_metric_names;

    std::vector<std::shared_ptr<TriggerRuntime>> out;
    for (std::size_t i = 0; i < so.spec.triggers.size(); ++i) {
      const auto& trigger = so.spec.triggers[i];
      if (registry().is_resource(trigger.type)) continue;
      auto t = std::make_shared<TriggerRuntime>();
      t->index = i;
      t->type = trigger.type;
      t->name = trigger.name;
      t->use_cached_metrics = trigger.use_cached_metrics;
      const cluster::TriggerMetric* metric = nullptr;
      for (const auto& m : inputs.metrics)
        if (m.index == i) metric = &m;
      if (metric && metric->config) {
        t->spec = metric->spec;
        t->metric_name = metric->spec.name;
        try {
          auto scaler = metric->config->create_scaler(deps.pools);
          if (scaler) t->scaler = std::move(scaler).value();
          else t->build_error = "scaler could not be built: " + scaler.error().message;
        } catch (const std::exception& e) {
          t->build_error = std::string("scaler could not be built: ") + e.what();
        }
      } else {
        std::string why = "trigger " + std::to_string(i) + " (" + trigger.type + ") has no external metric";
        for (const auto& p : inputs.problems)
          if (p.index == i) why = p.message;
        t->build_error = "scaler could not be built: " + why;
        // The metric's name and target, so the HPA still finds the metric and a fallback can
        // compute its value: the pure step on the trigger's own fields (most scalers take their
        // target from metadata, not from auth params), and the name the operator derived with
        // the inputs it could read.
        auto ctx = scalers::trigger_context(so, i);
        if (env) ctx.resolved_env = env->source_env;
        if (auto parsed = cluster::parse_trigger(ctx, registry())) {
          t->spec = parsed->spec;
          t->metric_name = parsed->spec.name;
        }
        const std::string prefix = "s" + std::to_string(i) + "-";
        for (const auto& n : status_names)
          if (n.rfind(prefix, 0) == 0) t->metric_name = n;
        if (t->metric_name.empty()) t->metric_name = prefix + scalers::normalize_metric_name(trigger.type);
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  std::shared_ptr<ObjectRuntime> build(const kube::Object& object, const std::shared_ptr<ObjectRuntime>& previous) {
    auto rt = std::make_shared<ObjectRuntime>();
    rt->key = kube::object_key(object);
    rt->ns = kube::meta_string(object, "namespace");
    rt->name = kube::meta_string(object, "name");
    rt->generation = generation_of(object);
    apply_snapshot(*rt, object, !options.scaled_objects);
    rt->last_build_attempt = options.now();
    if (rt->so) rt->triggers = build_triggers(*rt->so);
    for (auto& t : rt->triggers) start_watch(*t, rt->key);
    rt->health = api::read_health(json_member(object, "status"));
    if (previous) {
      std::lock_guard lock(previous->mutex);
      // Counts of this process are newer than the status the informer last delivered.
      for (const auto& [metric, h] : previous->health)
        if (std::any_of(rt->triggers.begin(), rt->triggers.end(), [&](const auto& t) { return t->metric_name == metric; }))
          rt->health[metric] = h;
      rt->written_last_active = previous->written_last_active;
      rt->seen_active = previous->seen_active;
      rt->written_fallback_active = previous->written_fallback_active;
      rt->scheduled = previous->scheduled;
      rt->scheduled_interval = previous->scheduled_interval;
    }
    // First seen by this process (a restart, a new replica): lastActiveTime may be up to
    // kLastActiveRefresh old while Active=True, so take the object as active until now.
    if (!previous && rt->status_active) rt->seen_active = options.now();
    return rt;
  }

  // Retries triggers whose build failed (a Secret created later, an API hiccup), at most once
  // per polling interval. Runs inside the object's single flight.
  void retry_failed_builds(ObjectRuntime& rt) {
    std::shared_ptr<const api::ScaledObject> so;
    {
      std::lock_guard lock(rt.mutex);
      if (!rt.so || !rt.has_failed_build()) return;
      const auto now = options.now();
      if (rt.last_build_attempt && now - *rt.last_build_attempt < rt.polling_interval) return;
      rt.last_build_attempt = now;
      so = rt.so;
    }
    auto rebuilt = build_triggers(*so);
    std::vector<std::shared_ptr<TriggerRuntime>> installed;
    {
      std::lock_guard lock(rt.mutex);
      if (rt.removed) return;
      for (auto& t : rt.triggers) {
        if (!t->build_error) continue;
        for (auto& n : rebuilt)
          if (n->index == t->index && !n->build_error) {
            t = n;
            installed.push_back(n);
          }
      }
    }
    for (auto& t : installed) start_watch(*t, rt.key);
  }

  // --- push -----------------------------------------------------------------------------------

  // Scalers of push-capable trigger types tell the engine when their source may have new work;
  // the object is then polled at once (the scheduler's run_now), not at its next interval.
  // Polling goes on as scheduled either way, so a push path that breaks costs only latency.
  void start_watch(TriggerRuntime& t, const std::string& key) {
    if (!t.scaler) return;
    const auto* definition = registry().find(t.type);
    if (!definition || !definition->push) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    t.watching = true;
    t.scaler->watch([weak, key] {
      if (auto self = weak.lock()) self->pushed(key);
    });
  }

  // Called on scalers' own threads.
  void pushed(const std::string& key) {
    auto rt = find(key);
    if (!rt) return;
    {
      std::lock_guard lock(rt->mutex);
      if (rt->removed) return;
      if (!rt->scheduled) {
        rt->push_pending = true;
        return;
      }
    }
    deps.scheduler.run_now(key);
  }

  // Ends the watches of a runtime the engine dropped. Never called with a lock held: a watch
  // being stopped may be inside pushed().
  static void stop_watches(const ObjectRuntime& rt) {
    std::vector<std::shared_ptr<TriggerRuntime>> triggers;
    {
      std::lock_guard lock(rt.mutex);
      triggers = rt.triggers;
    }
    for (auto& t : triggers)
      if (t->watching.exchange(false)) t->scaler->stop_watch();
  }

  // --- scheduling ---------------------------------------------------------------------------

  PollScheduler::Task task_for(const std::string& key) {
    std::weak_ptr<Impl> weak = weak_from_this();
    return [weak, key](std::chrono::milliseconds lag) {
      auto self = weak.lock();
      if (!self) return;
      auto rt = self->find(key);
      if (!rt) return;
      if (self->deps.observer)
        self->deps.observer->scale_loop_lag(rt->ns, rt->name, static_cast<double>(lag.count()) / 1000.0);
      self->poll_joined(rt);
    };
  }

  // Brings the scheduler in line with the runtime: polled while the hand-off rule allows it.
  // `replace`: the runtime was (re)built, so its task is (re)installed. `now`: a first run (or a
  // replaced one) happens at once instead of at the key's phase.
  void reschedule(ObjectRuntime& rt, bool now, bool replace) {
    bool schedule = false, unschedule = false, first_now = false;
    std::chrono::seconds interval{0};
    {
      std::lock_guard lock(rt.mutex);
      const bool want = rt.may_act && !rt.removed && rt.policy.has_value();
      interval = rt.polling_interval;
      if (want && (!rt.scheduled || rt.scheduled_interval != interval || replace)) {
        schedule = true;
        first_now = (now || rt.push_pending) && (replace || !rt.scheduled);
        rt.push_pending = false;
        rt.scheduled = true;
        rt.scheduled_interval = interval;
      } else if (!want && rt.scheduled) {
        unschedule = true;
        rt.scheduled = false;
      }
    }
    if (schedule)
      deps.scheduler.schedule(rt.key, interval, task_for(rt.key),
                              first_now ? PollScheduler::FirstRun::Now : PollScheduler::FirstRun::AtPhase);
    if (unschedule) {
      deps.scheduler.unschedule(rt.key);
      if (deps.status_writer) deps.status_writer->cancel(rt.key);
    }
  }

  // --- polls ----------------------------------------------------------------------------------

  // Runs one poll of `rt`, or waits for the one already running (scheduler, Engine::poll).
  void poll_joined(const std::shared_ptr<ObjectRuntime>& rt) {
    std::unique_lock lock(rt->mutex);
    if (rt->polling) {
      const auto ticket = rt->completed + 1;
      rt->poll_done.wait(lock, [&] { return rt->completed >= ticket; });
      return;
    }
    rt->polling = true;
    lock.unlock();
    run_and_finish(rt);
  }

  void run_and_finish(const std::shared_ptr<ObjectRuntime>& rt) {
    try {
      do_poll(rt);
    } catch (const std::exception&) {
      // A poll never takes the engine down; its outcomes were recorded as far as it got.
      if (deps.observer) deps.observer->object_error(rt->ns, rt->name);
    }
    std::lock_guard lock(rt->mutex);
    rt->polling = false;
    ++rt->completed;
    rt->poll_done.notify_all();
  }

  // Starts a poll on its own thread (caller holds rt->mutex and has set rt->polling).
  void start_detached(const std::shared_ptr<ObjectRuntime>& rt) {
    {
      std::lock_guard lock(detached_mutex);
      ++detached;
    }
    auto self = shared_from_this();
    try {
      std::thread([self, rt] {
        self->run_and_finish(rt);
        std::lock_guard lock(self->detached_mutex);
        --self->detached;
        self->detached_done.notify_all();
      }).detach();
    } catch (const std::exception&) {
      std::lock_guard lock(detached_mutex);
      --detached;
      rt->polling = false;  // caller holds rt->mutex
    }
  }

  struct Queried {
    std::shared_ptr<TriggerRuntime> trigger;
    TriggerOutcome outcome;
    double seconds = 0;
  };

  // KEDA stamps status.lastActiveTime on every active poll: with 10,000 active objects at 30 s
  // that is 333 status writes a second that change nothing anyone acts on. Ebb keeps the time of
  // the last active poll in memory (every replica, so a new leader has it) and decides with it;
  // the status gets it when the Active condition changes, on the way to inactive (so while
  // inactive it holds KEDA's value exactly), and while active at most every
  // max(kLastActiveRefresh, pollingInterval). A restarted adapter that finds Active=True takes
  // the object as active until it polls (build()), so the stale time never shortens a cooldown.
  static void throttle_last_active(Decision& d, bool active_now, bool status_active,
                                   const std::optional<TimePoint>& persisted,
                                   const std::optional<TimePoint>& last_active,
                                   std::chrono::seconds interval, TimePoint now) {
    const bool stamps = d.scale && d.scale->stamp_last_active;
    if (active_now) {
      const auto refresh = std::max<std::chrono::seconds>(kLastActiveRefresh, interval);
      if (d.last_active && !stamps && status_active && persisted && now - *persisted < refresh)
        d.last_active.reset();
      return;
    }
    // Not active (or unknown): make sure the status holds the last active poll.
    if (!d.last_active && !stamps && last_active &&
        (!persisted || *last_active > *persisted + std::chrono::seconds(1)))
      d.last_active = *last_active;
  }

  void do_poll(const std::shared_ptr<ObjectRuntime>& rt) {
    retry_failed_builds(*rt);
    std::vector<std::shared_ptr<TriggerRuntime>> triggers;
    {
      std::lock_guard lock(rt->mutex);
      if (rt->removed) return;
      triggers = rt->triggers;
    }
    // Query every trigger, one after another, within the poll's budget.
    const auto started = std::chrono::steady_clock::now();
    std::vector<Queried> results;
    bool any_failed = false;
    for (const auto& t : triggers) {
      Queried q;
      q.trigger = t;
      q.outcome.metric_name = t->metric_name;
      q.outcome.trigger_name = t->name;
      q.outcome.trigger_type = t->type;
      const auto begin = std::chrono::steady_clock::now();
      if (t->build_error) {
        q.outcome.error = *t->build_error;
      } else if (begin - started > options.poll_timeout) {
        q.outcome.error = "not queried: the poll used up its " + seconds_text(options.poll_timeout) + " budget";
      } else {
        std::lock_guard query(t->query_mutex);
        try {
          auto r = t->scaler->poll();
          if (r) {
            q.outcome.value = r->value;
            q.outcome.active = r->active;
          } else {
            q.outcome.error = r.error().message;
          }
        } catch (const std::exception& e) {
          q.outcome.error = std::string("scaler failed: ") + e.what();
        }
      }
      q.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      any_failed = any_failed || q.outcome.failed();
      results.push_back(std::move(q));
    }

    // Record: cache and health.
    std::shared_ptr<const api::ScaledObject> so;
    std::optional<ScalingPolicy> policy;
    bool may_act = false;
    std::optional<TimePoint> created, last_active, persisted_last_active;
    bool status_active = false;
    std::chrono::seconds interval{0};
    bool fallback_was_active = false;
    std::string target_text;
    std::map<std::string, MetricHealth> health_now;
    const auto now = options.now();
    {
      std::lock_guard lock(rt->mutex);
      if (rt->removed) return;
      for (auto& q : results) {
        auto& entry = rt->cache[q.outcome.metric_name];
        entry.value = q.outcome.value;
        entry.active = q.outcome.active;
        entry.error = q.outcome.error;
        entry.produced_at = now;
        if (rt->policy && rt->policy->fallback) {
          auto& h = rt->health[q.outcome.metric_name];
          h = next_health(h, !q.outcome.failed());
        }
        auto it = rt->health.find(q.outcome.metric_name);
        if (it != rt->health.end()) q.outcome.health = it->second;
      }
      so = rt->so;
      policy = rt->policy;
      may_act = rt->may_act && !rt->removed;
      created = rt->created;
      last_active = rt->status_last_active;
      persisted_last_active = last_active;
      if (rt->written_last_active && (!last_active || *rt->written_last_active > *last_active))
        persisted_last_active = last_active = rt->written_last_active;
      if (rt->seen_active && (!last_active || *rt->seen_active > *last_active))
        last_active = rt->seen_active;
      status_active = rt->status_active;
      interval = rt->polling_interval;
      fallback_was_active = rt->written_fallback_active.value_or(rt->status_fallback_active);
      if (rt->so) target_text = scale_target_text(*rt->so);
      for (const auto& t : triggers) {
        auto it = rt->health.find(t->metric_name);
        if (it != rt->health.end()) health_now[t->metric_name] = it->second;
      }
    }
    if (any_failed && deps.observer) deps.observer->object_error(rt->ns, rt->name);

    // Act: only under the hand-off rule, with a usable policy.
    std::optional<TargetState> target;
    std::optional<Decision> decision;
    if (may_act && so && policy) {
      auto read = deps.actuator.read_target(*so);
      if (read) {
        target = *read;
        DecisionInput input;
        input.policy = *policy;
        input.now = now;
        input.created = created.value_or(now);
        input.last_active = last_active;
        input.current_replicas = target->replicas;
        for (const auto& q : results) input.triggers.push_back(q.outcome);
        input.fallback_was_active = fallback_was_active;
        input.scale_target = target_text;
        decision = decide(input);
        const bool active_now =
            decision->active_condition && decision->active_condition->status == "True";
        throttle_last_active(*decision, active_now, status_active, persisted_last_active,
                             last_active, interval, now);
        if (active_now) {
          std::lock_guard lock(rt->mutex);
          rt->seen_active = now;
        }
        if (!decision->skipped) {
          // The hand-off rule may have turned false while the scalers were queried.
          bool still = false;
          {
            std::lock_guard lock(rt->mutex);
            still = rt->may_act && !rt->removed;
          }
          if (still) {
            std::optional<std::map<std::string, MetricHealth>> health;
            if (policy->fallback) health = health_now;
            auto report = deps.actuator.execute(*so, *decision, health, now, deps.status_writer);
            std::unique_lock lock(rt->mutex);
            if (!rt->may_act || rt->removed) {
              // A pause, hand-back or removal between the check above and the submit cancelled
              // the writer's entry before this poll's update reached it: cancel again, or the
              // writer would keep retrying a status the adapter may no longer write.
              lock.unlock();
              if (deps.status_writer) deps.status_writer->cancel(rt->key);
            } else if (!report.skipped_not_leader) {
              const bool stamped_by_scale = decision->scale && decision->scale->stamp_last_active && report.scaled_to;
              if (stamped_by_scale) {
                rt->written_last_active = now;
              } else if (decision->last_active && !report.status_error) {
                rt->written_last_active = decision->last_active;
              }
              if (!report.status_error) rt->written_fallback_active = decision->fallback_active;
            }
          }
        }
      } else if (deps.observer) {
        deps.observer->object_error(rt->ns, rt->name);
      }
    }

    // Report what the HPA would be served.
    if (!deps.observer) return;
    for (const auto& q : results) {
      std::optional<double> served;
      if (!q.outcome.failed() && q.outcome.value) {
        served = metric_value(*q.outcome.value).value;
      } else if (policy && policy->fallback && fallback_engaged(*policy->fallback, q.outcome.health) &&
                 q.trigger->spec) {
        const std::int32_t current = target ? target->replicas : 0;
        const std::int32_t ready = target ? target->ready_replicas : 0;
        if (target || policy->fallback->behavior == FallbackBehavior::Static) {
          auto v = fallback_value(*policy->fallback, current, q.trigger->spec->target_type, q.trigger->spec->target, ready);
          if (v) served = v->value;
        }
      }
      deps.observer->scaler_queried(labels(*rt, *q.trigger), served, !q.outcome.failed() && q.outcome.active,
                                    q.outcome.failed(), q.seconds);
    }
    if (policy && policy->composite && decision && decision->composite) {
      deps.observer->composite(MetricLabels{rt->ns, rt->name, std::string(kCompositeMetric), std::string(kCompositeMetric), 0},
                               composite_value(*decision->composite).value,
                               *decision->composite > policy->composite->activation_target);
    }
  }

  // --- HPA reads ------------------------------------------------------------------------------

  Result<std::vector<MetricSample>, MetricError> read(const MetricQuery& query) {
    // 1. Which object.
    auto selector = kube::LabelSelector::parse(query.label_selector);
    if (!selector) return unexpected(error_of(400, "invalid labelSelector " + ebb::quoted(query.label_selector) + ": " + selector.error().message));
    std::string so_name;
    for (const auto& r : selector->requirements())
      if (r.key == api::kScaledObjectNameLabel && r.op == kube::Requirement::Op::equals && r.values.size() == 1)
        so_name = r.values.front();
    if (so_name.empty()) return unexpected(error_of(400, "scaledObject name is not specified"));
    const std::string key = kube::object_key(query.ns, so_name);
    auto rt = find(key);
    if (!rt) return unexpected(error_of(404, "ScaledObject " + key + " not found"));

    // 2. Which metric (case-insensitive, as KEDA matches).
    std::vector<std::shared_ptr<TriggerRuntime>> inputs;
    std::optional<ScalingPolicy> policy;
    std::shared_ptr<const api::ScaledObject> so;
    bool composite = false;
    std::string canonical;
    {
      std::lock_guard lock(rt->mutex);
      if (rt->object_error)
        return unexpected(error_of(500, "metric:" + query.metric + " encountered error: " + *rt->object_error));
      policy = rt->policy;
      so = rt->so;
      if (policy && policy->composite && iequals(query.metric, kCompositeMetric)) {
        composite = true;
        canonical = std::string(kCompositeMetric);
        inputs = rt->triggers;
      } else {
        for (const auto& t : rt->triggers)
          if (iequals(t->metric_name, query.metric)) {
            inputs.push_back(t);
            canonical = t->metric_name;
          }
      }
    }
    if (inputs.empty())
      return unexpected(error_of(404, "no matching metrics found for " + query.metric + " in ScaledObject " + key));

    // 3. Fresh enough, or refresh (single flight, bounded wait).
    {
      std::unique_lock lock(rt->mutex);
      FreshnessPolicy freshness;
      freshness.polling_interval = rt->polling_interval;
      freshness.hpa_sync_period = options.hpa_sync_period;
      std::optional<TimePoint> produced;
      bool missing = false;
      for (const auto& t : inputs) {
        freshness.use_cached_metrics = freshness.use_cached_metrics || t->use_cached_metrics;
        auto it = rt->cache.find(t->metric_name);
        if (it == rt->cache.end()) {
          missing = true;
          continue;
        }
        if (!produced || it->second.produced_at < *produced) produced = it->second.produced_at;
      }
      if (missing) produced.reset();
      if (on_hpa_read(produced, options.now(), freshness) == ReadAction::Refresh) {
        const auto ticket = rt->completed + 1;
        if (!rt->polling) {
          rt->polling = true;
          start_detached(rt);
        }
        rt->poll_done.wait_for(lock, options.poll_timeout, [&] { return rt->completed >= ticket || !rt->polling; });
      } else if (policy && policy->fallback) {
        // Answered from the cache: the read still counts for fallback (keda-compat §4.8: every
        // query of a metric, polls and HPA reads, counts; KEDA replays a cached error through
        // its counter too). A refresh counted in the poll it ran.
        for (const auto& t : inputs) {
          auto it = rt->cache.find(t->metric_name);
          if (it == rt->cache.end()) continue;
          rt->health[t->metric_name] = next_health(rt->health[t->metric_name], !it->second.error.has_value());
        }
      }
    }

    // 4. The answer.
    std::vector<CacheEntry> entries;
    std::map<std::string, MetricHealth> health;
    {
      std::lock_guard lock(rt->mutex);
      for (const auto& t : inputs) {
        auto it = rt->cache.find(t->metric_name);
        if (it == rt->cache.end())
          return unexpected(error_of(500, "metric:" + query.metric + " encountered error: ScaledObject " + key + ": " +
                                              t->metric_name + " has no value yet: its first query did not finish within " +
                                              seconds_text(options.poll_timeout)));
        entries.push_back(it->second);
        auto h = rt->health.find(t->metric_name);
        health[t->metric_name] = h == rt->health.end() ? MetricHealth{} : h->second;
      }
    }
    TimePoint produced = entries.front().produced_at;
    for (const auto& e : entries) produced = std::min(produced, e.produced_at);

    const auto fallback = policy ? policy->fallback : std::nullopt;
    // The target's replicas, read only when the fallback's value depends on them.
    auto fallback_for = [&](scalers::MetricTargetType type, double target_value) -> Result<ServedValue> {
      TargetState state;
      if (fallback->behavior != FallbackBehavior::Static || type == scalers::MetricTargetType::Value) {
        auto read = deps.actuator.read_target(*so);
        if (!read) return unexpected(read.error());
        state = *read;
      }
      return fallback_value(*fallback, state.replicas, type, target_value, state.ready_replicas);
    };
    auto failure = [&](const std::string& cause) {
      return unexpected(error_of(500, "metric:" + query.metric + " encountered error: ScaledObject " + key + ": " + cause));
    };

    if (!composite) {
      const auto& t = inputs.front();
      const auto& e = entries.front();
      if (!e.error && e.value)
        return std::vector<MetricSample>{{query.metric, metric_value(*e.value).quantity, produced}};
      const std::string cause = e.error.value_or("no value");
      if (fallback && so && t->spec && fallback_engaged(*fallback, health[t->metric_name])) {
        auto v = fallback_for(t->spec->target_type, t->spec->target);
        if (!v) return failure(cause + " (and its fallback failed: " + v.error().message + ")");
        return std::vector<MetricSample>{{query.metric, v->quantity, produced}};
      }
      return failure(cause);
    }

    // The composite metric (§4.9).
    const auto& c = *policy->composite;
    std::vector<std::string> failed_causes, engaged_names;
    bool unengaged_failure = false;
    std::map<std::string, double> values;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const auto& t = inputs[i];
      const auto& e = entries[i];
      if (!e.error && e.value) {
        if (!t->name.empty()) values[t->name] = *e.value;
        continue;
      }
      failed_causes.push_back(t->metric_name + ": " + e.error.value_or("no value"));
      if (fallback && fallback_engaged(*fallback, health[t->metric_name])) engaged_names.push_back(t->name);
      else unengaged_failure = true;
    }
    std::optional<ServedValue> served;
    if (!failed_causes.empty()) {
      if (fallback && !engaged_names.empty() && fallback->behavior != FallbackBehavior::ScalingModifiers) {
        auto v = fallback_for(c.metric_type, c.target);
        if (!v) return failure(join(failed_causes, "; ") + " (and the fallback failed: " + v.error().message + ")");
        return std::vector<MetricSample>{{query.metric, v->quantity, produced}};
      }
      if (!fallback || unengaged_failure) return failure(join(failed_causes, "; "));
      // behavior scalingModifiers: a failed input the formula uses has no value; Ebb's formula
      // subset cannot handle that, so KEDA's rule for a nil result applies.
      const auto& used = c.formula.used_variables();
      const bool uses_failed = std::any_of(engaged_names.begin(), engaged_names.end(), [&](const std::string& n) {
        return std::find(used.begin(), used.end(), n) != used.end();
      });
      if (uses_failed) served = composite_value(static_cast<double>(fallback->replicas) * c.target);
    }
    if (!served) {
      auto v = c.formula.evaluate(values);
      if (!v) return failure(std::string(kCompositeMetric) + ": " + v.error().message);
      served = composite_value(*v);
      if (deps.observer)
        deps.observer->composite(MetricLabels{rt->ns, rt->name, std::string(kCompositeMetric), std::string(kCompositeMetric), 0},
                                 served->value, *v > c.activation_target);
    }
    return std::vector<MetricSample>{{query.metric, served->quantity, produced}};
  }
};

// ---------------------------------------------------------------------------------------------

Engine::Engine(EngineDeps deps, EngineOptions options) : impl_(std::make_shared<Impl>(deps, std::move(options))) {}

Engine::~Engine() {
  std::vector<std::shared_ptr<ObjectRuntime>> all;
  {
    std::lock_guard lock(impl_->map_mutex);
    for (auto& [key, rt] : impl_->objects) all.push_back(rt);
    impl_->objects.clear();
  }
  for (auto& rt : all) {
    bool scheduled = false;
    {
      std::lock_guard lock(rt->mutex);
      rt->removed = true;
      scheduled = rt->scheduled;
      rt->scheduled = false;
    }
    Impl::stop_watches(*rt);
    if (scheduled) impl_->deps.scheduler.unschedule(rt->key, true);
  }
  std::unique_lock lock(impl_->detached_mutex);
  impl_->detached_done.wait(lock, [&] { return impl_->detached == 0; });
}

void Engine::upsert(const kube::Object& scaled_object, bool after_sync) {
  std::lock_guard build(impl_->build_mutex);
  const std::string key = kube::object_key(scaled_object);
  auto existing = impl_->find(key);
  const auto generation = generation_of(scaled_object);
  if (existing && existing->generation == generation) {
    {
      std::lock_guard lock(existing->mutex);
      apply_snapshot(*existing, scaled_object, !impl_->options.scaled_objects);
    }
    impl_->reschedule(*existing, after_sync, false);
    return;
  }
  auto rt = impl_->build(scaled_object, existing);
  {
    std::lock_guard lock(impl_->map_mutex);
    impl_->objects[key] = rt;
  }
  if (existing) {
    {
      std::lock_guard lock(existing->mutex);
      existing->removed = true;
      existing->poll_done.notify_all();
    }
    Impl::stop_watches(*existing);
  }
  impl_->reschedule(*rt, after_sync || existing != nullptr, true);
}

void Engine::remove(const kube::Object& scaled_object) {
  std::lock_guard build(impl_->build_mutex);
  const std::string key = kube::object_key(scaled_object);
  std::shared_ptr<ObjectRuntime> rt;
  {
    std::lock_guard lock(impl_->map_mutex);
    auto it = impl_->objects.find(key);
    if (it == impl_->objects.end()) return;
    rt = it->second;
    impl_->objects.erase(it);
  }
  bool scheduled = false;
  {
    std::lock_guard lock(rt->mutex);
    rt->removed = true;
    scheduled = rt->scheduled;
    rt->scheduled = false;
    rt->cache.clear();
  }
  Impl::stop_watches(*rt);
  if (scheduled) impl_->deps.scheduler.unschedule(key);
  if (impl_->deps.status_writer) impl_->deps.status_writer->cancel(key);
  if (impl_->deps.observer) impl_->deps.observer->forget(rt->ns, rt->name);
}

void Engine::auth_changed(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard build(impl_->build_mutex);
  std::vector<std::shared_ptr<ObjectRuntime>> affected;
  {
    std::lock_guard lock(impl_->map_mutex);
    for (const auto& [key, rt] : impl_->objects) {
      std::lock_guard object_lock(rt->mutex);
      if (rt->so && references_auth(*rt->so, kind, ns, name)) affected.push_back(rt);
    }
  }
  for (const auto& existing : affected) {
    kube::Object object;
    if (impl_->options.scaled_objects) {
      auto cached = impl_->options.scaled_objects->find(existing->key);
      if (!cached) continue;  // its delete event is on the way
      object = *cached;
    } else {
      std::lock_guard lock(existing->mutex);
      object = nlohmann::json::parse(existing->object_text, nullptr, false);
    }
    if (object.is_discarded()) continue;
    auto rt = impl_->build(object, existing);
    {
      std::lock_guard lock(impl_->map_mutex);
      impl_->objects[rt->key] = rt;
    }
    {
      std::lock_guard lock(existing->mutex);
      existing->removed = true;
      existing->poll_done.notify_all();
    }
    Impl::stop_watches(*existing);
    impl_->reschedule(*rt, true, true);
  }
}

Result<std::vector<MetricSample>, MetricError> Engine::external_metric(const MetricQuery& query) {
  try {
    return impl_->read(query);
  } catch (const std::exception& e) {
    return unexpected(MetricError{500, "InternalError", "metric:" + query.metric + " encountered error: " + e.what()});
  }
}

void Engine::poll(const std::string& key) {
  if (auto rt = impl_->find(key)) impl_->poll_joined(rt);
}

std::size_t Engine::objects() const {
  std::lock_guard lock(impl_->map_mutex);
  return impl_->objects.size();
}

std::size_t Engine::active_objects() const {
  std::lock_guard lock(impl_->map_mutex);
  std::size_t n = 0;
  for (const auto& [key, rt] : impl_->objects) {
    std::lock_guard object_lock(rt->mutex);
    if (rt->scheduled) ++n;
  }
  return n;
}

}  // namespace ebb::adapter
