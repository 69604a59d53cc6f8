#include "process/options.h"

#include <CLI/CLI.hpp>

#include "ebb/kube/resource.h"
#include "ebb/process/cli.h"
#include "ebb/runtime/flags.h"
#include "ebb/strings.h"

namespace ebb::op::process {

ParsedOptions parse_options(int argc, char** argv) {
  OperatorOptions o;
  runtime::CommandLine cli(
      "ebb-operator", kOperatorVersion,
      "reconciles KEDA ScaledObjects (keda.sh/v1alpha1) into HorizontalPodAutoscalers", o,
      {.leader_elect = "Elect a leader through a Lease; only the leader reconciles "
                       "(--leader-elect=false to disable)"});
  CLI::App& app = cli.app();
  app.add_option("--namespace", o.namespaces,
                 "Namespace(s) to watch: one, a comma list, or the flag repeated. Default: all "
                 "namespaces")
      ->delimiter(',');
  app.add_option("--label-selector", o.label_selector,
                 "Only reconcile ScaledObjects matching this label selector (sharding)");
  app.add_option("--health-probe-bind-address", o.health_probe_bind_address,
                 "host:port for /healthz and /readyz (\"0\" disables)");
  runtime::add_port_option(app, "--webhook-port", o.webhook_port,
                           "HTTPS port of the admission webhook (0 disables)");
  app.add_option("--webhook-host", o.webhook_host,
                 "Address the webhook listens on (default: all interfaces)");
  app.add_option("--webhook-cert-dir", o.webhook_cert_dir,
                 "Directory with tls.crt and tls.key for the webhook (re-read when they change)");
  app.add_option("--webhook-cert-file", o.webhook_cert_file, "Webhook serving certificate (PEM)");
  app.add_option("--webhook-key-file", o.webhook_key_file, "Webhook serving key (PEM)");
  app.add_option("--concurrent-reconciles", o.concurrent_reconciles,
                 "ScaledObjects reconciled at the same time")
      ->check(CLI::Range(1, 1000));
  ebb::process::add_cluster_object_namespace_flag(app, o.cluster_object_namespace);

  const auto exit_code = cli.parse(argc, argv, [&] {
    if (!o.label_selector.empty()) {
      auto selector = kube::LabelSelector::parse(o.label_selector);
      if (!selector) throw CLI::ValidationError("--label-selector", selector.error().message);
    }
    if (o.webhook_cert_file.empty() != o.webhook_key_file.empty())
      throw CLI::ValidationError("--webhook-cert-file",
                                 "--webhook-cert-file and --webhook-key-file go together");
    if (!o.webhook_cert_dir.empty() && !o.webhook_cert_file.empty())
      throw CLI::ValidationError(
          "--webhook-cert-dir",
          "give --webhook-cert-dir or --webhook-cert-file/--webhook-key-file, not both");
    std::vector<std::string> namespaces;
    for (auto& ns : o.namespaces) {
      std::string trimmed(trim(ns));
      if (trimmed.empty()) continue;
      namespaces.push_back(trimmed);
    }
    o.namespaces = std::move(namespaces);
  });
  if (exit_code) return {std::nullopt, *exit_code};
  return {std::move(o), 0};
}

}  // namespace ebb::op::process
