// The scale decision: invariants over a generated state space, then the rows keda-compat spells
// out (§4.4, §4.8, §4.9, §12).
#include "ebb/adapter/decision.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "ebb/api/annotations.h"

using namespace ebb::adapter;
using namespace std::chrono_literals;
using ebb::scalers::MetricTargetType;

namespace {

const TimePoint kNow = TimePoint{} + 2000000000s;
const std::string kTarget = "apps/v1.Deployment shop/orders-worker";

enum class T { Active, Inactive, Error };

TriggerOutcome outcome(std::size_t i, T state, std::int32_t failures = 1) {
  TriggerOutcome o;
  o.metric_name = "s" + std::to_string(i) + "-redis-q" + std::to_string(i);
  o.trigger_name = i == 0 ? "a" : "b";
  o.trigger_type = "redis";
  if (state == T::Error) {
    o.error = "redis 127.0.0.1:6379: connection refused";
    o.health = MetricHealth{failures, true};
  } else {
    o.value = state == T::Active ? 5 : 0;
    o.active = state == T::Active;
  }
  return o;
}

DecisionInput base(std::int32_t current, std::vector<TriggerOutcome> triggers) {
  DecisionInput in;
  in.policy.min_replicas = 0;
  in.policy.max_replicas = 10;
  in.policy.cooldown = 300s;
  in.now = kNow;
  in.created = kNow - 3600s;
  in.current_replicas = current;
  in.triggers = std::move(triggers);
  in.scale_target = kTarget;
  return in;
}

std::string describe(const DecisionInput& in) {
  std::ostringstream s;
  const auto& p = in.policy;
  s << "min=" << p.min_replicas << " idle=" << (p.idle_replicas ? std::to_string(*p.idle_replicas) : "-")
    << " current=" << in.current_replicas << " last="
    << (in.last_active ? std::to_string((in.now - *in.last_active) / 1s) + "s ago" : "unset")
    << " initial=" << p.initial_cooldown.count() << " paused=" << p.paused
    << " in=" << p.paused_scale_in << " out=" << p.paused_scale_out << " force=" << p.force_activation;
  if (p.fallback)
    s << " fallback{thr=" << p.fallback->failure_threshold << " r=" << p.fallback->replicas
      << " " << to_string(p.fallback->behavior) << "}";
  s << " triggers:";
  for (const auto& t : in.triggers)
    s << " " << (t.failed() ? "error(" + std::to_string(t.health.failures) + ")" : t.active ? "active" : "inactive");
  return s.str();
}

// Every invariant, as messages (empty when the decision is sound).
std::vector<std::string> violations(const DecisionInput& in, const Decision& d) {
  std::vector<std::string> v;
  const auto& p = in.policy;
  const std::int32_t cur = in.current_replicas;
  auto bad = [&](const std::string& what) { v.push_back(what + " | " + describe(in)); };

  if (p.paused) {
    if (!d.skipped || d.scale || d.active_condition || d.fallback_condition || !d.events.empty() ||
        d.last_active)
      bad("a fully paused object must see no action at all");
    return v;
  }
  bool any_failed = false, any_engaged = false;
  for (const auto& t : in.triggers) {
    if (!t.failed()) continue;
    any_failed = true;
    if (p.fallback && t.health.failures > p.fallback->failure_threshold) any_engaged = true;
    const bool named = std::any_of(d.events.begin(), d.events.end(), [&](const Event& e) {
      return e.type == "Warning" && e.reason == "KEDAScalerFailed" &&
             e.message.find(t.metric_name) != std::string::npos;
    });
    if (!named) bad("a failed trigger must produce a Warning naming its metric");
  }
  if (!d.active_condition || !d.fallback_condition) bad("conditions must be set");
  if (d.active_condition && (d.active_condition->status == "True") != d.active)
    bad("Active=True exactly when active");
  if (d.fallback_condition && (d.fallback_condition->status == "True") != any_engaged)
    bad("Fallback=True exactly when a metric failed more than failureThreshold times");
  if (!d.active && d.unknown && d.active_condition && d.active_condition->status != "Unknown")
    bad("an inactive object with a failed trigger is Unknown, never ScalerNotActive");
  if (d.last_active && (*d.last_active != in.now || !d.active))
    bad("lastActiveTime only moves to now, and only when active");
  if (p.force_activation && !d.active) bad("force-activation makes the object active");

  if (d.scale) {
    const auto& s = *d.scale;
    if (s.from != cur) bad("scale.from must be the current replicas");
    if (s.to == cur) bad("a scale must change something");
    if (s.to > p.max_replicas) bad("never above maxReplicaCount");
    if (s.to < 0) bad("never negative");
    const bool deactivation =
        s.reason == ScaleReason::DeactivateToIdle || s.reason == ScaleReason::DeactivateToZero;
    if (!deactivation && s.to < p.min_replicas) bad("never below minReplicaCount except idle/zero");
    if (deactivation && s.to != (p.idle_replicas ? *p.idle_replicas : 0))
      bad("deactivation goes to idleReplicaCount or 0");
    if (s.to < cur) {
      if (!deactivation) bad("only a deactivation scales in");
      if (any_failed) bad("an error never causes a scale-in");
      if (p.paused_scale_in) bad("paused-scale-in never scales in");
      if (d.active) bad("an active object is never scaled in");
      const TimePoint until =
          in.last_active ? *in.last_active + p.cooldown : in.created + p.initial_cooldown;
      if (!(until < in.now)) bad("scale-in before the cooldown elapsed");
    }
    if (s.to > cur) {
      if (p.paused_scale_out) bad("paused-scale-out never scales out");
      if (!d.active && s.reason != ScaleReason::RaiseToMin) bad("only an active object scales out");
      if (s.reason == ScaleReason::RaiseToMin &&
          (p.idle_replicas || s.to != std::min(p.min_replicas, p.max_replicas)))
        bad("raise-to-min goes to minReplicaCount without idle mode");
      if (s.stamp_last_active != d.active) bad("an activation stamps lastActiveTime");
      if (d.active && (!s.on_success || s.on_success->reason != "KEDAScaleTargetActivated" ||
                       s.on_success->message.find(kTarget) == std::string::npos))
        bad("an activation records KEDAScaleTargetActivated naming the target");
    }
    // Idempotence: once the write is done, the next decision has nothing more to do.
    DecisionInput after = in;
    after.current_replicas = s.to;
    if (s.stamp_last_active) after.last_active = in.now;
    after.fallback_was_active = d.fallback_active;
    const Decision again = decide(after);
    if (again.scale)
      bad("the decision is not stable: then " + std::string(to_string(again.scale->reason)) +
          " to " + std::to_string(again.scale->to));
  } else {
    const bool at_rest = cur == 0 || (p.idle_replicas && cur < p.min_replicas);
    if (d.active && at_rest && !p.paused_scale_out && std::max(p.min_replicas, 1) <= p.max_replicas)
      bad("an active object at rest must be activated");
  }
  return v;
}

}  // namespace

TEST_CASE("decision: invariants over the whole state space", "[decision]") {
  struct Bounds {
    std::int32_t min;
    std::optional<std::int32_t> idle;
  };
  const std::vector<Bounds> bounds = {{0, std::nullopt}, {2, std::nullopt}, {2, 0}, {2, 1}, {0, 0}};
  const std::vector<std::optional<std::chrono::seconds>> last_actives = {std::nullopt, 10s, 1000s,
                                                                         300s};
  struct Pause {
    bool full, in, out;
  };
  const std::vector<Pause> pauses = {{false, false, false}, {true, false, false},
                                     {false, true, false},  {false, false, true},
                                     {false, true, true}};
  std::vector<std::optional<FallbackPolicy>> fallbacks = {std::nullopt};
  for (auto behavior : {FallbackBehavior::Static, FallbackBehavior::CurrentReplicas,
                        FallbackBehavior::CurrentReplicasIfHigher,
                        FallbackBehavior::CurrentReplicasIfLower})
    for (std::int32_t replicas : {0, 4, 20}) fallbacks.push_back(FallbackPolicy{3, replicas, behavior});
  const std::vector<T> states = {T::Active, T::Inactive, T::Error};

  std::size_t combinations = 0, scaled = 0;
  std::map<ScaleReason, std::size_t> by_reason;
  std::vector<std::string> problems;
  for (const auto& b : bounds)
    for (std::int32_t current : {0, 1, 2, 5, 12})
      for (T s0 : states)
        for (T s1 : states)
          for (std::int32_t failures : {1, 3, 4})
            for (const auto& last : last_actives)
              for (auto initial : {0s, 7200s})
                for (const auto& pause : pauses)
                  for (bool force : {false, true})
                    for (bool was : {false, true})
                      for (const auto& fallback : fallbacks) {
                        if ((s0 != T::Error && s1 != T::Error) && failures != 1) continue;
                        DecisionInput in = base(current, {outcome(0, s0, failures), outcome(1, s1, failures)});
                        in.policy.min_replicas = b.min;
                        in.policy.idle_replicas = b.idle;
                        in.policy.initial_cooldown = initial;
                        if (last) in.last_active = kNow - *last;
                        in.policy.paused = pause.full;
                        in.policy.paused_scale_in = pause.in;
                        in.policy.paused_scale_out = pause.out;
                        in.policy.force_activation = force;
                        in.policy.fallback = fallback;
                        in.fallback_was_active = was;
                        const Decision d = decide(in);
                        ++combinations;
                        if (d.scale) {
                          ++scaled;
                          ++by_reason[d.scale->reason];
                        }
                        for (auto& p : violations(in, d))
                          if (problems.size() < 20) problems.push_back(std::move(p));
                      }
  INFO("combinations: " << combinations);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  // The space really exercises every kind of action.
  CHECK(combinations > 100000);
  for (auto reason : {ScaleReason::Activate, ScaleReason::DeactivateToIdle,
                      ScaleReason::DeactivateToZero, ScaleReason::Fallback, ScaleReason::RaiseToMin})
    CHECK(by_reason[reason] > 0);
  CHECK(scaled < combinations);
}

TEST_CASE("decision: the worked example's timeline (keda-compat §12)", "[decision]") {
  // 1. queue empty, Deployment at 0
  auto in = base(0, {outcome(0, T::Inactive)});
  in.triggers[0].metric_name = "s0-rabbitmq-orders";
  auto d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->status == "False");
  CHECK(d.active_condition->reason == "ScalerNotActive");
  CHECK(d.active_condition->message.find("s0-rabbitmq-orders") != std::string::npos);
  CHECK(d.fallback_condition->reason == "NoFallbackFound");

  // 2. messages arrive: 0 -> 1
  in.triggers[0].active = true;
  in.triggers[0].value = 45;
  d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 1);
  CHECK(d.scale->reason == ScaleReason::Activate);
  CHECK(d.scale->stamp_last_active);
  REQUIRE(d.scale->on_success);
  CHECK(d.scale->on_success->reason == "KEDAScaleTargetActivated");
  CHECK(d.scale->on_success->message ==
        "Scaled apps/v1.Deployment shop/orders-worker from 0 to 1, triggered by s0-rabbitmq-orders");
  CHECK(d.scale->on_failure.reason == "KEDAScaleTargetActivationFailed");
  CHECK(d.active_condition->reason == "ScalerActive");
  CHECK(d.triggers_activity.at("s0-rabbitmq-orders"));

  // 3. active at 3 replicas: lastActiveTime refreshed, nothing else
  in.current_replicas = 3;
  d = decide(in);
  CHECK_FALSE(d.scale);
  REQUIRE(d.last_active);
  CHECK(*d.last_active == kNow);

  // 4. drained: cooldown, then 1 -> 0
  in.triggers[0].active = false;
  in.triggers[0].value = 0;
  in.current_replicas = 1;
  in.last_active = kNow - 100s;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->reason == "ScalerCooldown");
  CHECK_FALSE(d.last_active);
  in.last_active = kNow - 300s;  // exactly the cooldown: KEDA needs it to be in the past
  CHECK_FALSE(decide(in).scale);
  in.last_active = kNow - 301s;
  d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 0);
  CHECK(d.scale->reason == ScaleReason::DeactivateToZero);
  CHECK_FALSE(d.scale->stamp_last_active);
  CHECK(d.scale->on_success->reason == "KEDAScaleTargetDeactivated");
  CHECK(d.scale->on_success->message.rfind(
            "Deactivated apps/v1.Deployment shop/orders-worker from 1 to 0", 0) == 0);
  CHECK(d.active_condition->reason == "ScalerNotActive");

  // 5. paused: nothing
  in.policy.paused = true;
  d = decide(in);
  CHECK(d.skipped);
  CHECK_FALSE(d.scale);
  CHECK(d.events.empty());
}

TEST_CASE("decision: initialCooldownPeriod counts from creation until the first activity", "[decision]") {
  auto in = base(2, {outcome(0, T::Inactive)});
  in.policy.initial_cooldown = 60s;
  in.created = kNow - 50s;
  auto d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->reason == "ScalerCooldown");
  CHECK(d.active_condition->message.find("initialCooldownPeriod") != std::string::npos);
  in.created = kNow - 61s;
  d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 0);
  // once lastActiveTime is set, only cooldownPeriod counts
  in.last_active = kNow - 10s;
  CHECK_FALSE(decide(in).scale);
}

TEST_CASE("decision: idle mode moves between idle and min", "[decision]") {
  auto in = base(1, {outcome(0, T::Active)});
  in.policy.min_replicas = 3;
  in.policy.idle_replicas = 1;
  auto d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 3);
  CHECK(d.scale->reason == ScaleReason::Activate);

  in = base(5, {outcome(0, T::Inactive)});
  in.policy.min_replicas = 3;
  in.policy.idle_replicas = 1;
  in.last_active = kNow - 1000s;
  d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 1);
  CHECK(d.scale->reason == ScaleReason::DeactivateToIdle);
}

TEST_CASE("decision: below minReplicaCount without idle mode is raised to min", "[decision]") {
  auto in = base(0, {outcome(0, T::Inactive)});
  in.policy.min_replicas = 2;
  auto d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 2);
  CHECK(d.scale->reason == ScaleReason::RaiseToMin);
  CHECK_FALSE(d.scale->on_success);  // KEDA records no event for it
  in.policy.paused_scale_out = true;
  CHECK_FALSE(decide(in).scale);
}

TEST_CASE("decision: a failed trigger is unknown, never inactive", "[decision]") {
  auto in = base(3, {outcome(0, T::Inactive), outcome(1, T::Error)});
  in.last_active = kNow - 1000s;
  auto d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.unknown);
  CHECK(d.active_condition->status == "Unknown");
  CHECK(d.active_condition->message.find("s1-redis-q1") != std::string::npos);
  REQUIRE(d.events.size() == 1);
  CHECK(d.events[0].type == "Warning");
  CHECK(d.events[0].reason == "KEDAScalerFailed");
  CHECK(d.events[0].message == "s1-redis-q1 (redis): redis 127.0.0.1:6379: connection refused");

  // another trigger being active is enough to be active, and refreshes lastActiveTime
  in.triggers[0] = outcome(0, T::Active);
  d = decide(in);
  CHECK(d.active);
  CHECK(d.last_active == kNow);
  CHECK(d.active_condition->message.find("s1-redis-q1 is failing") != std::string::npos);
}

// The cooldown is measured on the wall clock (Clock is system_clock, decision.h): lastActiveTime
// is a timestamp in the object's status, read back by a restarted or another adapter, as in
// KEDA. So a clock jump moves the end of a cooldown by the size of the jump; what it must never
// do is deactivate a target whose triggers are active or failing.
TEST_CASE("decision: a wall-clock jump never deactivates an active or failing target",
          "[decision]") {
  const auto day = std::chrono::hours(24);
  for (const T state : {T::Active, T::Error}) {
    auto in = base(3, {outcome(0, state)});
    in.last_active = kNow - 1s;
    for (const auto jump : {day, -day}) {
      in.now = kNow + jump;
      INFO((state == T::Active ? "active" : "failing") << ", jump " << (jump / 1h) << " h");
      const auto d = decide(in);
      CHECK_FALSE(d.scale);
      if (state == T::Active) {
        CHECK(d.active);
        CHECK(d.last_active == in.now);  // re-stamped on the new clock
      } else {
        CHECK(d.unknown);
      }
    }
  }

  // An inactive target: a forward jump ends its cooldown early (the wall clock says it is over,
  // as KEDA reads it too); a backward jump lengthens it by the jump.
  auto in = base(1, {outcome(0, T::Inactive)});
  in.last_active = kNow - 10s;
  CHECK_FALSE(decide(in).scale);
  in.now = kNow + day;
  auto d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 0);
  in.last_active = kNow - 301s;
  in.now = kNow;
  REQUIRE(decide(in).scale);
  in.now = kNow - day;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->reason == "ScalerCooldown");
}

TEST_CASE("decision: fallback as keda-compat §4.8 counts it", "[decision]") {
  const FallbackPolicy fb{3, 10, FallbackBehavior::Static};
  MetricHealth h;
  for (int k = 0; k < 3; ++k) {
    h = next_health(h, false);
    CHECK_FALSE(fallback_engaged(fb, h));
  }
  h = next_health(h, false);
  CHECK(h.failures == 4);
  CHECK(fallback_engaged(fb, h));
  // the test vector: target 10, replicas 10, 4th failure with threshold 3 -> 100
  auto v = fallback_value(fb, 0, MetricTargetType::AverageValue, 10, 0);
  REQUIRE(v.ok());
  CHECK(v->value == 100);
  CHECK(v->quantity == "100");
  h = next_health(h, true);
  CHECK(h.failures == 0);
  CHECK_FALSE(h.failing);

  // Value targets divide by the ready pods
  v = fallback_value(fb, 0, MetricTargetType::Value, 10, 4);
  REQUIRE(v.ok());
  CHECK(v->quantity == "25");
  CHECK_FALSE(fallback_value(fb, 0, MetricTargetType::Value, 10, 0).ok());
  v = fallback_value(FallbackPolicy{3, 5, FallbackBehavior::Static}, 0, MetricTargetType::AverageValue,
                     2.5, 0);
  CHECK(v->quantity == "12500m");

  // behaviors
  const auto r = [](FallbackBehavior b, std::int32_t current) {
    return fallback_replicas(FallbackPolicy{3, 4, b}, current);
  };
  CHECK(r(FallbackBehavior::Static, 7) == 4);
  CHECK(r(FallbackBehavior::CurrentReplicas, 7) == 7);
  CHECK(r(FallbackBehavior::CurrentReplicasIfHigher, 7) == 7);
  CHECK(r(FallbackBehavior::CurrentReplicasIfHigher, 2) == 4);
  CHECK(r(FallbackBehavior::CurrentReplicasIfLower, 7) == 4);
  CHECK(r(FallbackBehavior::CurrentReplicasIfLower, 2) == 2);
}

TEST_CASE("decision: fallback where the HPA cannot act scales directly", "[decision]") {
  auto in = base(0, {outcome(0, T::Error, 4)});
  in.policy.fallback = FallbackPolicy{3, 5, FallbackBehavior::Static};
  auto d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 5);
  CHECK(d.scale->reason == ScaleReason::Fallback);
  CHECK(d.scale->on_success->message.find("caused by fallback of s0-redis-q0") != std::string::npos);
  CHECK(d.fallback_active);
  CHECK(d.fallback_condition->status == "True");
  CHECK(d.fallback_condition->reason == "FallbackExists");
  const auto has_event = [&](const std::string& reason) {
    return std::any_of(d.events.begin(), d.events.end(),
                       [&](const Event& e) { return e.reason == reason; });
  };
  CHECK(has_event("ScaledObjectFallbackActivated"));
  CHECK(has_event("KEDAScalerFailed"));

  // already at replicas: the HPA acts on the fallback value; no event repeated
  in.current_replicas = 5;
  in.fallback_was_active = true;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK_FALSE(has_event("ScaledObjectFallbackActivated"));

  // below the threshold: unknown, stays at 0
  in = base(0, {outcome(0, T::Error, 3)});
  in.policy.fallback = FallbackPolicy{3, 5, FallbackBehavior::Static};
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.fallback_condition->status == "False");
  CHECK(d.active_condition->status == "Unknown");

  // a recovered source ends the fallback
  in.triggers[0] = outcome(0, T::Inactive);
  in.fallback_was_active = true;
  d = decide(in);
  CHECK(std::any_of(d.events.begin(), d.events.end(),
                    [](const Event& e) { return e.reason == "ScaledObjectFallbackDeactivated"; }));

  // fallback of 0 replicas never deactivates
  in = base(3, {outcome(0, T::Error, 9)});
  in.policy.fallback = FallbackPolicy{3, 0, FallbackBehavior::Static};
  in.last_active = kNow - 1000s;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.fallback_active);
}

TEST_CASE("decision: pauses and force-activation", "[decision]") {
  auto in = base(0, {outcome(0, T::Active)});
  in.policy.paused_scale_out = true;
  auto d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->status == "True");
  CHECK(d.active_condition->message.find(std::string(ebb::api::kPausedScaleOutAnnotation)) !=
        std::string::npos);

  in = base(2, {outcome(0, T::Inactive)});
  in.policy.paused_scale_in = true;
  in.last_active = kNow - 1000s;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.active_condition->message.find(std::string(ebb::api::kPausedScaleInAnnotation)) !=
        std::string::npos);

  in = base(0, {outcome(0, T::Inactive)});
  in.policy.force_activation = true;
  in.policy.min_replicas = 2;
  d = decide(in);
  REQUIRE(d.scale);
  CHECK(d.scale->to == 2);
  CHECK(d.scale->on_success->message ==
        "Scaled apps/v1.Deployment shop/orders-worker from 0 to 2, caused by forced activation "
        "annotation");
  CHECK(d.active_condition->message.find("forced") != std::string::npos);
}

TEST_CASE("decision: scalingModifiers compose the triggers (keda-compat §4.9)", "[decision]") {
  auto formula = ebb::scalers::Formula::compile("a + b", {"a", "b"});
  REQUIRE(formula.ok());
  auto in = base(0, {outcome(0, T::Inactive), outcome(1, T::Inactive)});
  in.triggers[0].value = 2;
  in.triggers[1].value = 5;
  in.policy.composite = CompositePolicy{formula.value(), 2, 0, MetricTargetType::AverageValue};
  auto d = decide(in);
  REQUIRE(d.composite);
  CHECK(*d.composite == 7);
  CHECK(composite_value(*d.composite).quantity == "7");
  CHECK(d.active);  // 7 > activationTarget 0, although each scaler said inactive
  REQUIRE(d.scale);
  CHECK(d.scale->on_success->message.find("triggered by composite-metric") != std::string::npos);

  in.policy.composite->activation_target = 10;
  d = decide(in);
  CHECK_FALSE(d.active);
  CHECK(d.active_condition->message.find("composite-metric 7 <= activationTarget 10") !=
        std::string::npos);

  // a failing input makes the composite unknown
  in.triggers[1] = outcome(1, T::Error);
  in.current_replicas = 3;
  in.last_active = kNow - 1000s;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.unknown);
  CHECK(d.events.at(0).reason == "KEDAMetricSourceFailed");

  // fallback.behavior scalingModifiers: the formula sees no value -> replicas x target
  // (test vector: target 2, fallback replicas 7 -> 14000 milli)
  in = base(1, {outcome(0, T::Error, 5), outcome(1, T::Error, 5)});
  in.policy.composite = CompositePolicy{formula.value(), 2, 0, MetricTargetType::AverageValue};
  in.policy.fallback = FallbackPolicy{3, 7, FallbackBehavior::ScalingModifiers};
  d = decide(in);
  REQUIRE(d.composite);
  CHECK(*d.composite == 14);
  CHECK(composite_value(*d.composite).quantity == "14");
  CHECK(d.active);

  // division by zero in the formula is a failure, not a zero
  auto div = ebb::scalers::Formula::compile("a / b", {"a", "b"});
  REQUIRE(div.ok());
  in = base(3, {outcome(0, T::Inactive), outcome(1, T::Inactive)});
  in.policy.composite = CompositePolicy{div.value(), 2, 0, MetricTargetType::AverageValue};
  in.last_active = kNow - 1000s;
  d = decide(in);
  CHECK_FALSE(d.scale);
  CHECK(d.unknown);
  CHECK(d.events.at(0).message.find("division by zero") != std::string::npos);

  CHECK(composite_value(2.5).quantity == "2500e-3");
  CHECK(composite_value(1000).quantity == "1e3");
  CHECK(metric_value(45).quantity == "45");
  CHECK(metric_value(1.5).quantity == "1.500");
}

TEST_CASE("decision: the policy read from a ScaledObject", "[decision]") {
  ebb::api::ScaledObject so;
  so.metadata.name = "orders";
  so.spec.min_replica_count = 1;
  so.spec.max_replica_count = 7;
  so.spec.idle_replica_count = 0;
  so.spec.cooldown_period = 60;
  so.metadata.annotations[std::string(ebb::api::kPausedScaleInAnnotation)] = "yes";  // KEDA: true
  so.metadata.annotations[std::string(ebb::api::kForceActivationAnnotation)] = "false";
  ebb::api::ScaleTrigger t;
  t.type = "redis";
  t.name = "queue-a";
  so.spec.triggers.push_back(t);
  so.spec.fallback = ebb::api::Fallback{3, 6, "currentReplicasIfHigher"};
  auto p = scaling_policy(so);
  REQUIRE(p.ok());
  CHECK(p->min_replicas == 1);
  CHECK(p->max_replicas == 7);
  CHECK(p->idle_replicas == 0);
  CHECK(p->cooldown == 60s);
  CHECK(p->paused_scale_in);
  CHECK_FALSE(p->force_activation);
  CHECK_FALSE(p->paused);
  REQUIRE(p->fallback);
  CHECK(p->fallback->behavior == FallbackBehavior::CurrentReplicasIfHigher);

  so.spec.advanced = ebb::api::AdvancedConfig{};
  so.spec.advanced->scaling_modifiers.formula = "queue-a * 2";
  so.spec.advanced->scaling_modifiers.target = "2.5";
  p = scaling_policy(so);
  REQUIRE(p.ok());
  REQUIRE(p->composite);
  CHECK(p->composite->target == 2.5);
  CHECK_FALSE(p->fallback);  // KEDA's HasValidFallback quirk: the target must be an integer
  so.spec.advanced->scaling_modifiers.target = "3";
  p = scaling_policy(so);
  REQUIRE(p.ok());
  CHECK(p->fallback);

  so.spec.advanced->scaling_modifiers.formula = "sum(queue_a)";
  p = scaling_policy(so);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().message.find("unsupported function \"sum\"") != std::string::npos);

  so.spec.advanced->scaling_modifiers.formula = "queue-a";
  so.metadata.annotations[std::string(ebb::api::kPausedReplicasAnnotation)] = "2";
  p = scaling_policy(so);
  REQUIRE(p.ok());
  CHECK(p->paused);
}
