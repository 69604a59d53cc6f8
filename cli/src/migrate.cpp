// `ebb migrate check`: reads a cluster that runs KEDA and lists what Ebb cannot serve yet, with
// the reason, before the switch of docs/migrating-from-keda.md. It only reads.
#include <map>
#include <ostream>

#include "commands.h"
#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/cluster/resources.h"
#include "ebb/json.h"
#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "ebb/scalers/scaled_object.h"

namespace ebb::cli {
namespace {

struct Finding {
  std::string kind, name, reason;
};

std::string qualified(const kube::Object& object) {
  const std::string ns = json_string(object, {"metadata", "namespace"});
  const std::string name = json_string(object, {"metadata", "name"});
  return ns.empty() ? name : ns + "/" + name;
}

void add_errors(std::vector<Finding>& findings, const std::string& kind, const std::string& name,
                const FieldErrors& errors) {
  for (const auto& e : errors) findings.push_back({kind, name, e.str()});
}

}  // namespace

int run_migrate_check(const MigrateCheckOptions& options, std::ostream& out, std::ostream& err) {
  auto config = kube::load_config(options.kubeconfig, options.context);
  if (!config) {
    err << "ebb migrate check: no cluster configuration (" << config.error().message
        << "): give --kubeconfig FILE or set KUBECONFIG\n";
    return 2;
  }
  kube::Client client(*config);
  std::vector<Finding> findings;
  std::map<std::string, int> counts;
  auto list = [&](const kube::Resource& resource,
                  const std::string& what) -> std::optional<kube::ObjectList> {
    auto listed = client.list_all(resource, options.namespace_name);
    if (!listed) {
      err << "ebb migrate check: listing " << what << " on " << config->server << ": "
          << listed.error().message << "\n";
      return std::nullopt;
    }
    return std::move(*listed);
  };

  // ScaledObjects: what Ebb's operator would reject (unsupported trigger types through the
  // scaler registry, rules KEDA's webhook skipped), as `ebb validate` reports it.
  const auto validation = scalers::validation_options();
  auto scaled_objects =
      list(cluster::scaled_objects(), "ScaledObjects (are KEDA's CRDs installed?)");
  if (!scaled_objects) return 2;
  for (const auto& item : scaled_objects->items) {
    ++counts["ScaledObject"];
    const std::string name = qualified(item);
    auto so = api::decode_scaled_object(item);
    if (!so) {
      add_errors(findings, "ScaledObject", name, so.error());
      continue;
    }
    add_errors(findings, "ScaledObject", name, api::validate(*so, validation).errors);
  }

  auto check_auth = [&](const kube::Resource& resource, const std::string& kind) -> bool {
    auto auths = list(resource, kind + "s");
    if (!auths) return false;
    for (const auto& item : auths->items) {
      ++counts[kind];
      const std::string name = qualified(item);
      auto ta = api::decode_trigger_authentication(item);
      if (!ta) {
        add_errors(findings, kind, name, ta.error());
        continue;
      }
      add_errors(findings, kind, name, api::validate(*ta).errors);
    }
    return true;
  };
  if (!check_auth(cluster::trigger_authentications(), "TriggerAuthentication")) return 2;
  if (options.namespace_name.empty() &&
      !check_auth(cluster::cluster_trigger_authentications(), "ClusterTriggerAuthentication"))
    return 2;

  // ScaledJobs: the metrics adapter runs their job loop; what it would reject is a finding,
  // as for ScaledObjects.
  if (auto jobs_resource = client.discovery().resource_for(
          kube::GroupVersionKind{"keda.sh", "v1alpha1", "ScaledJob"})) {
    auto jobs = list(*jobs_resource, "ScaledJobs");
    if (!jobs) return 2;
    for (const auto& item : jobs->items) {
      ++counts["ScaledJob"];
      const std::string name = qualified(item);
      auto sj = api::decode_scaled_job(item);
      if (!sj) {
        add_errors(findings, "ScaledJob", name, sj.error());
        continue;
      }
      add_errors(findings, "ScaledJob", name, api::validate(*sj, validation).errors);
    }
  }

  // What the switch changes, for the record: the HPAs that are adopted in place, and who serves
  // the external metrics API now.
  int adoptable = 0;
  if (auto hpas =
          client.list_all(kube::resources::horizontal_pod_autoscalers(), options.namespace_name)) {
    for (const auto& hpa : hpas->items)
      for (const auto& ref : json_at(hpa, {"metadata", "ownerReferences"}))
        if (ref.is_object() && ref.value("kind", "") == "ScaledObject" &&
            ref.value("controller", false)) {
          ++adoptable;
          break;
        }
  }
  const kube::Resource apiservices{
      "apiregistration.k8s.io", "v1", "apiservices", "APIService", false, {}};
  std::string metrics_api = "not registered";
  if (auto api = client.get(apiservices, "", "v1beta1.external.metrics.k8s.io")) {
    const auto& svc = json_at(*api, {"spec", "service"});
    metrics_api = svc.is_object() ? "served by Service " + svc.value("namespace", "") + "/" +
                                        svc.value("name", "")
                                  : "served locally";
  }

  out << "checked " << counts["ScaledObject"] << " ScaledObjects, "
      << counts["TriggerAuthentication"] << " TriggerAuthentications, "
      << counts["ClusterTriggerAuthentication"] << " ClusterTriggerAuthentications, "
      << counts["ScaledJob"] << " ScaledJobs on " << config->server << "\n";
  out << "HPAs controlled by a ScaledObject (adopted in place by Ebb): " << adoptable << "\n";
  out << "external.metrics.k8s.io: " << metrics_api << "\n";
  if (findings.empty()) {
    out << "ready: Ebb can serve every KEDA object found\n";
    return 0;
  }
  out << findings.size() << " finding(s): objects Ebb cannot serve yet\n";
  for (const auto& f : findings) out << f.kind << " " << f.name << ": " << f.reason << "\n";
  return 1;
}

}  // namespace ebb::cli
