#include "ebb/adapter/job_decision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "ebb/api/annotations.h"
#include "ebb/json.h"
#include "ebb/strings.h"

namespace ebb::adapter {

using nlohmann::json;

namespace {

// Go's math.Ceil then int64(), saturating where Go's conversion is undefined.
std::int64_t ceil_to_int64(double x) {
  if (std::isnan(x)) return 0;
  const double c = std::ceil(x);
  if (c >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (c <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(c);
}

std::int64_t trunc_to_int64(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (x <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(x);
}

double cap(double max_value, std::int64_t max_replicas) {
  return std::min(max_value, static_cast<double>(max_replicas));
}

}  // namespace

std::string_view to_string(JobStrategy strategy) {
  switch (strategy) {
    case JobStrategy::Custom: return "custom";
    case JobStrategy::Accurate: return "accurate";
    case JobStrategy::Eager: return "eager";
    case JobStrategy::Default: break;
  }
  return "default";
}

std::string_view to_string(ScalersCalculation calculation) {
  switch (calculation) {
    case ScalersCalculation::Min: return "min";
    case ScalersCalculation::Avg: return "avg";
    case ScalersCalculation::Sum: return "sum";
    case ScalersCalculation::Max: break;
  }
  return "max";
}

JobScalingPolicy job_scaling_policy(const api::ScaledJob& sj) {
  const auto& spec = sj.spec;
  const auto& ss = spec.scaling_strategy;
  JobScalingPolicy p;
  p.min_replicas = spec.effective_min_replica_count();
  p.max_replicas = spec.effective_max_replica_count();
  if (ss.strategy == "custom") {
    // strconv.ParseFloat: Go syntax, the whole string. std::stod is close enough only with the
    // whole-string check; an empty or partial number means KEDA's fallback to default.
    std::size_t used = 0;
    double percentage = 0;
    bool parsed = false;
    try {
      percentage = std::stod(ss.custom_scaling_running_job_percentage, &used);
      parsed = used == ss.custom_scaling_running_job_percentage.size() &&
               !ss.custom_scaling_running_job_percentage.empty() &&
               !std::isspace(static_cast<unsigned char>(ss.custom_scaling_running_job_percentage[0]));
    } catch (const std::exception&) {
      parsed = false;
    }
    if (parsed) {
      p.strategy = JobStrategy::Custom;
      p.running_job_percentage = percentage;
      p.queue_length_deduction = ss.custom_scaling_queue_length_deduction.value_or(0);
    }
  } else if (ss.strategy == "accurate") {
    p.strategy = JobStrategy::Accurate;
  } else if (ss.strategy == "eager") {
    p.strategy = JobStrategy::Eager;
  }
  const auto& calc = ss.multiple_scalers_calculation;
  if (calc == "min") p.calculation = ScalersCalculation::Min;
  else if (calc == "avg") p.calculation = ScalersCalculation::Avg;
  else if (calc == "sum") p.calculation = ScalersCalculation::Sum;
  p.pending_pod_conditions = ss.pending_pod_conditions;
  p.successful_jobs_history_limit = spec.successful_jobs_history_limit_or_default();
  p.failed_jobs_history_limit = spec.failed_jobs_history_limit_or_default();
  p.paused = api::bool_annotation(sj.metadata.annotations, api::kPausedAnnotation);
  return p;
}

// ---------------------------------------------------------------------------------------------

double target_average_value(const std::vector<double>& targets) {
  if (targets.empty()) return 0;
  double total = 0;
  for (double t : targets) total += t;
  return total / static_cast<double>(targets.size());
}

JobTriggerMetrics trigger_metrics(const std::vector<double>& values,
                                  const std::vector<double>& targets, bool active,
                                  std::int64_t max_replicas) {
  JobTriggerMetrics m;
  m.active = active;
  for (double v : values) m.queue_length += v;
  const double target = target_average_value(targets);
  if (target != 0) m.max_value = cap(m.queue_length / target, max_replicas);
  return m;
}

CombinedMetrics combine(const std::vector<JobTriggerMetrics>& triggers,
                        ScalersCalculation calculation, std::int64_t min_replicas,
                        std::int64_t max_replicas) {
  double queue_length = 0;
  double max_value = 0;
  bool active = false;
  switch (calculation) {
    case ScalersCalculation::Min:
      // KEDA's loop: a running minimum of 0 is replaced by the next active trigger.
      for (const auto& t : triggers) {
        if (t.active && (queue_length == 0 || t.queue_length < queue_length)) {
          queue_length = t.queue_length;
          max_value = t.max_value;
          active = true;
        }
      }
      break;
    case ScalersCalculation::Avg: {
      double queue_sum = 0, max_sum = 0;
      int count = 0;
      for (const auto& t : triggers) {
        if (!t.active) continue;
        queue_sum += t.queue_length;
        max_sum += t.max_value;
        active = true;
        ++count;
      }
      if (count) {
        queue_length = queue_sum / count;
        max_value = max_sum / count;
      }
      break;
    }
    case ScalersCalculation::Sum:
      for (const auto& t : triggers) {
        if (!t.active) continue;
        queue_length += t.queue_length;
        max_value += t.max_value;
        active = true;
      }
      break;
    case ScalersCalculation::Max:
      for (const auto& t : triggers) {
        if (t.active && t.queue_length > queue_length) {
          queue_length = t.queue_length;
          max_value = t.max_value;
          active = true;
        }
      }
      break;
  }
  if (min_replicas > 0) active = true;
  CombinedMetrics out;
  out.active = active;
  out.queue_length = ceil_to_int64(queue_length);
  out.max_value = ceil_to_int64(cap(max_value, max_replicas));
  return out;
}

EffectiveScale effective_max_scale(const JobScalingPolicy& policy, std::int64_t max_scale,
                                   std::int64_t running, std::int64_t pending,
                                   std::int64_t max_replica_count, std::int64_t scale_to) {
  switch (policy.strategy) {
    case JobStrategy::Custom: {
      const auto running_share = trunc_to_int64(static_cast<double>(running) *
                                                 policy.running_job_percentage);
      const auto result = max_scale - policy.queue_length_deduction - running_share;
      return {std::min(result, max_replica_count), scale_to};
    }
    case JobStrategy::Accurate:
      if (max_scale + running - pending > max_replica_count)
        return {max_replica_count - running, scale_to};
      return {max_scale - pending, scale_to};
    case JobStrategy::Eager:
      return {std::min(max_replica_count - running - pending, max_scale), max_replica_count};
    case JobStrategy::Default:
      break;
  }
  return {max_scale - running, scale_to};
}

EffectiveScale scaling_decision(const JobScalingPolicy& policy, std::int64_t running,
                                std::int64_t scale_to, std::int64_t max_scale,
                                std::int64_t pending) {
  if (running < policy.min_replicas) {
    const auto missing = policy.min_replicas - running;
    return {missing, missing};
  }
  return effective_max_scale(policy, max_scale, running - policy.min_replicas, pending,
                             policy.max_replicas, scale_to);
}

std::int64_t jobs_to_create(bool active, const EffectiveScale& scale) {
  if (!active || scale.max_scale <= 0) return 0;
  return std::max<std::int64_t>(0, std::min(scale.scale_to, scale.max_scale));
}

// ---------------------------------------------------------------------------------------------

namespace {

const json* find_member(const json& object, std::initializer_list<const char*> path) {
  const json* node = &object;
  for (const char* key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

const json* finishing_condition(const json& job) {
  const auto* conditions = find_member(job, {"status", "conditions"});
  if (!conditions || !conditions->is_array()) return nullptr;
  for (const auto& c : *conditions) {
    if (!c.is_object()) continue;
    const auto type = json_string(c, {"type"});
    if ((type == "Complete" || type == "Failed") && json_string(c, {"status"}) == "True")
      return &c;
  }
  return nullptr;
}

}  // namespace

JobFinish job_finish(const json& job) {
  const auto* c = finishing_condition(job);
  if (!c) return JobFinish::None;
  return json_string(*c, {"type"}) == "Complete" ? JobFinish::Complete : JobFinish::Failed;
}

PodState pod_state(const json& pod) {
  PodState state;
  state.phase = json_string(pod, {"status", "phase"});
  if (const auto* conditions = find_member(pod, {"status", "conditions"});
      conditions && conditions->is_array())
    for (const auto& c : *conditions)
      if (c.is_object())
        state.conditions[json_string(c, {"type"})] = json_string(c, {"status"}) == "True";
  return state;
}

bool job_pending(const std::vector<PodState>& pods,
                 const std::vector<std::string>& pending_pod_conditions) {
  if (pending_pod_conditions.empty()) {
    return std::none_of(pods.begin(), pods.end(), [](const PodState& p) {
      return p.phase == "Running" || p.phase == "Succeeded";
    });
  }
  const std::set<std::string> required(pending_pod_conditions.begin(),
                                       pending_pod_conditions.end());
  for (const auto& pod : pods) {
    std::size_t fulfilled = 0;
    for (const auto& type : required)
      if (auto it = pod.conditions.find(type); it != pod.conditions.end() && it->second)
        ++fulfilled;
    // KEDA compares with the length of the list as written, duplicates included.
    if (fulfilled == pending_pod_conditions.size()) return false;
  }
  return true;
}

FinishedJob finished_job(const json& job) {
  FinishedJob f;
  f.name = json_string(job, {"metadata", "name"});
  const auto* c = finishing_condition(job);
  f.finish = c && json_string(*c, {"type"}) == "Failed" ? JobFinish::Failed : JobFinish::Complete;
  f.finished_at = json_string(job, {"status", "completionTime"});
  if (f.finished_at.empty() && c) f.finished_at = json_string(*c, {"lastTransitionTime"});
  return f;
}

std::vector<std::string> jobs_to_trim(std::vector<FinishedJob> finished,
                                      std::int32_t successful_limit, std::int32_t failed_limit) {
  // RFC 3339 times in UTC ("Z") order as strings; a missing time sorts first (oldest).
  std::stable_sort(finished.begin(), finished.end(), [](const FinishedJob& a, const FinishedJob& b) {
    if (a.finished_at != b.finished_at) return a.finished_at < b.finished_at;
    return a.name < b.name;
  });
  std::vector<std::string> out;
  for (auto kind : {JobFinish::Complete, JobFinish::Failed}) {
    const auto limit = static_cast<std::size_t>(
        std::max<std::int32_t>(0, kind == JobFinish::Complete ? successful_limit : failed_limit));
    std::vector<const FinishedJob*> of_kind;
    for (const auto& f : finished)
      if (f.finish == kind) of_kind.push_back(&f);
    if (of_kind.size() <= limit) continue;
    for (std::size_t i = 0; i < of_kind.size() - limit; ++i) out.push_back(of_kind[i]->name);
  }
  return out;
}

json job_manifest(const api::ScaledJob& sj, std::string_view version) {
  const auto& name = sj.metadata.name;
  const auto name_label = std::string(api::kScaledJobNameLabel);

  json labels = {{"app.kubernetes.io/name", name},
                 {"app.kubernetes.io/version", std::string(version)},
                 {"app.kubernetes.io/part-of", name},
                 {"app.kubernetes.io/managed-by", "keda-operator"},
                 {name_label, name}};
  std::set<std::string> excluded;
  if (auto it = sj.metadata.annotations.find(std::string(api::kJobExcludedLabelsAnnotation));
      it != sj.metadata.annotations.end())
    for (const auto& label : split(it->second, ',')) excluded.insert(label);
  for (const auto& [key, value] : sj.metadata.labels)
    if (!excluded.count(key)) labels[key] = value;

  json annotations = {{std::string(api::kScaledJobGenerationAnnotation),
                       std::to_string(sj.metadata.generation.value_or(0))}};
  for (const auto& [key, value] : sj.metadata.annotations) annotations[key] = value;

  json spec = sj.spec.job_target_ref.is_object() ? sj.spec.job_target_ref : json::object();
  auto& tmpl = spec["template"];
  if (!tmpl.is_object()) tmpl = json::object();
  auto& tmeta = tmpl["metadata"];
  if (!tmeta.is_object()) tmeta = json::object();
  tmeta["generateName"] = name + "-";
  if (!tmeta["labels"].is_object()) tmeta["labels"] = json::object();
  tmeta["labels"][name_label] = name;
  auto& pod_spec = tmpl["spec"];
  if (!pod_spec.is_object()) pod_spec = json::object();
  if (json_string(pod_spec, {"restartPolicy"}).empty()) pod_spec["restartPolicy"] = "OnFailure";

  json owner = {{"apiVersion", sj.api_version},
                {"kind", sj.kind},
                {"name", name},
                {"uid", sj.metadata.uid},
                {"controller", true},
                {"blockOwnerDeletion", true}};
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata",
           {{"generateName", name + "-"},
            {"namespace", sj.metadata.namespace_},
            {"labels", std::move(labels)},
            {"annotations", std::move(annotations)},
            {"ownerReferences", json::array({std::move(owner)})}}},
          {"spec", std::move(spec)}};
}

// ---------------------------------------------------------------------------------------------

JobDecision decide_jobs(const JobDecisionInput& input) {
  JobDecision d;
  const auto& p = input.policy;
  if (p.paused) {
    d.skipped = true;
    return d;
  }

  std::vector<JobTriggerMetrics> metrics;
  std::size_t failed = 0;
  for (const auto& t : input.triggers) {
    d.triggers_activity[t.metric_name] = !t.failed() && t.active;
    if (t.failed() || !t.value) {
      ++failed;
      d.events.push_back(Event{"Warning", "KEDAScalerFailed",
                               t.metric_name + " (" + t.trigger_type + "): " +
                                   t.error.value_or("no value")});
      continue;  // unknown: takes no part, as in KEDA; never read as an empty queue
    }
    metrics.push_back(trigger_metrics({*t.value}, {t.target}, t.active, p.max_replicas));
  }
  d.error = failed > 0;
  d.all_failed = failed > 0 && failed == input.triggers.size();

  d.combined = combine(metrics, p.calculation, p.min_replicas, p.max_replicas);
  d.active = d.combined.active;
  d.scale = scaling_decision(p, input.running, d.combined.queue_length, d.combined.max_value,
                             input.pending);
  if (d.scale.max_scale < 0) d.scale.max_scale = 0;
  d.create = jobs_to_create(d.active, d.scale);
  d.stamp_last_active = d.active;

  d.ready = Condition{std::string(api::kConditionReady), "True", "ScaledJobReady",
                      "ScaledJob is defined correctly and is ready for scaling"};
  if (d.error) {
    // KEDA: Unknown while the ScaledJob is active anyway (another trigger, or a minimum).
    d.ready = d.active
                  ? Condition{std::string(api::kConditionReady), "Unknown", "PartialTriggerError",
                              "Some triggers defined in ScaledJob are not working correctly"}
                  : Condition{std::string(api::kConditionReady), "False", "TriggerError",
                              "Triggers defined in ScaledJob are not working correctly"};
  }

  if (d.active) {
    if (!input.was_active)
      d.events.push_back(Event{"Normal", "ScaledJobActive",
                               "Scaling is performed because triggers are active"});
    d.active_condition = Condition{std::string(api::kConditionActive), "True", "ScalerActive",
                                   "Scaling is performed because triggers are active"};
  } else if (!d.error) {
    if (input.was_active)
      d.events.push_back(Event{"Normal", "ScaledJobInactive",
                               "Scaling is not performed because triggers are not active"});
    d.active_condition = Condition{std::string(api::kConditionActive), "False", "ScalerNotActive",
                                   "Scaling is not performed because triggers are not active"};
  }
  return d;
}

}  // namespace ebb::adapter
