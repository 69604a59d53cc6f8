// Trigger type kubernetes-workload (pkg/scalers/kubernetes_workload_scaler.go; notes
// spec-cron-k8s-cpumem §2): the number of Pods in the ScaledObject's namespace matching
// podSelector, Succeeded and Failed ones excluded (Pending, Running, Unknown, no phase and
// terminating Pods count; readiness does not matter), or with groupByNode the number of distinct
// nodes those Pods run on (unscheduled Pods do not count). Pods are read through
// kubernetes::Objects: in the adapter one informer per namespace, shared by every such trigger,
// so a poll puts no request on the API server.
//
// Differences from KEDA, on purpose:
// - podSelector is parsed by Ebb's label-selector parser (=, ==, !=, in, notin, exists, !key):
//   the error texts differ from apimachinery's, and its numeric gt/lt forms ("replicas>1") are
//   refused when the trigger is parsed.
// - Each problem is reported once, at its field: KEDA adds "value must be a float greater than 0"
//   also when value is merely malformed, and doubles its "error parsing kubernetes workload
//   metadata" prefix.
#include <memory>
#include <set>

#include "builtin.h"
#include "ebb/kube/resource.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/strings.h"
#include "kubernetes/cluster.h"

namespace ebb::scalers {
namespace {

using namespace params;

struct WorkloadConfig {
  std::string pod_selector;
  double value = 0;
  double activation_value = 0;
  bool group_by_node = false;
};

const Table<WorkloadConfig>& table() {
  static const Table<WorkloadConfig> instance = [] {
    Table<WorkloadConfig> t;
    t.add(&WorkloadConfig::pod_selector, "podSelector", {M});
    t.add(&WorkloadConfig::value, "value", {M}, {.default_value = "0"});
    t.add(&WorkloadConfig::activation_value, "activationValue", {M}, {.default_value = "0"});
    t.add(&WorkloadConfig::group_by_node, "groupByNode", {M}, {.default_value = "false"});
    return t;
  }();
  return instance;
}

// phasesCountedAsTerminated
bool counts(const nlohmann::json& pod) {
  const auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) return true;
  const auto phase = status->find("phase");
  if (phase == status->end() || !phase->is_string()) return true;
  const auto& p = phase->get_ref<const std::string&>();
  return p != "Succeeded" && p != "Failed";
}

std::string node_of(const nlohmann::json& pod) {
  const auto spec = pod.find("spec");
  if (spec == pod.end() || !spec->is_object()) return "";
  const auto node = spec->find("nodeName");
  return node != spec->end() && node->is_string() ? node->get<std::string>() : "";
}

class WorkloadScaler final : public Scaler {
 public:
  WorkloadScaler(kubernetes::Objects& objects, std::string ns, WorkloadConfig config)
      : objects_(objects), ns_(std::move(ns)), config_(std::move(config)) {}

  Result<PollResult> poll() override {
    auto pods = objects_.list(kubernetes::kPods, ns_, config_.pod_selector);
    if (!pods)
      return fail("error inspecting kubernetes workload: " + pods.error().message,
                  pods.error().transient);
    std::size_t count = 0;
    std::set<std::string> nodes;
    for (const auto& pod : *pods) {
      if (!counts(pod)) continue;
      if (!config_.group_by_node) {
        ++count;
      } else if (auto node = node_of(pod); !node.empty()) {
        nodes.insert(std::move(node));
      }
    }
    const auto value = static_cast<double>(config_.group_by_node ? nodes.size() : count);
    return PollResult{value, value > config_.activation_value};
  }

 private:
  kubernetes::Objects& objects_;
  const std::string ns_;
  const WorkloadConfig config_;
};

class WorkloadTrigger final : public TriggerConfig {
 public:
  WorkloadTrigger(MetricSpec spec, std::string ns, WorkloadConfig config)
      : spec_(std::move(spec)), ns_(std::move(ns)), config_(std::move(config)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override {
    return "kubernetes pods in namespace " + ebb::quoted(ns_) + " matching " +
           ebb::quoted(config_.pod_selector);
  }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    auto objects = kubernetes::cluster_objects(pools);
    if (!objects) return unexpected(objects.error());
    return std::unique_ptr<Scaler>(std::make_unique<WorkloadScaler>(**objects, ns_, config_));
  }

 private:
  MetricSpec spec_;
  std::string ns_;
  WorkloadConfig config_;
};

bool has_error_at(const FieldErrors& errors, const std::string& path) {
  for (const auto& e : errors)
    if (e.path == path) return true;
  return false;
}

ParseResult parse(const TriggerContext& ctx) {
  WorkloadConfig c;
  FieldErrors errors = table().parse(ctx, c);
  const auto value_path = path_of(ctx, "value", {M});
  if (c.value <= 0 && !ctx.as_metric_source && !has_error_at(errors, value_path))
    errors.push_back({value_path, "value must be a float greater than 0"});
  if (!c.pod_selector.empty())
    if (auto selector = kube::LabelSelector::parse(c.pod_selector); !selector)
      errors.push_back({path_of(ctx, "podSelector", {M}),
                        "error parsing pod selector: " + selector.error().message});
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, "workload-" + ctx.scaled_object_namespace, c.value,
                              c.activation_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(std::make_unique<WorkloadTrigger>(
      std::move(spec), ctx.scaled_object_namespace, std::move(c)));
}

}  // namespace

void register_kubernetes_workload_scaler(Registry& registry) {
  registry.add(ScalerDefinition{
      .types = {"kubernetes-workload"},
      .keda_name = "kubernetesWorkloadScaler",
      .summary = "number of Pods matching a selector in the ScaledObject's namespace "
                 "(or of nodes they run on)",
      .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
