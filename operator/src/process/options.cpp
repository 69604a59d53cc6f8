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
                 "Namespace(s) to watch: one, a comma list, or the flag repeated. Default: "
                 "$WATCH_NAMESPACE (a comma list), else all namespaces")
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
  app.add_flag("--webhook-cert-optional{true}", o.webhook_cert_optional,
               "Start with a self-signed webhook certificate when the certificate files do not "
               "exist yet, and serve them once they appear");

  app.add_flag("--enable-cert-rotation{true}", o.cert_rotation,
               "Create and rotate a CA and the serving certificate of --cert-service in "
               "--cert-secret-name, and patch the caBundle of --cert-apiservice-name and "
               "--cert-webhook-configuration-name (leader only)");
  app.add_option("--cert-secret-name", o.cert_secret_name,
                 "Secret holding ca.crt, ca.key, tls.crt and tls.key");
  app.add_option("--cert-secret-namespace", o.cert_secret_namespace,
                 "Namespace of that Secret and of the Services. Default: the pod's namespace");
  app.add_option("--cert-service", o.cert_services,
                 "Service(s) the serving certificate names (comma list or repeated)")
      ->delimiter(',');
  app.add_option("--cluster-domain", o.cluster_domain, "Cluster DNS domain of the Service names");
  app.add_option("--cert-apiservice-name", o.cert_apiservice,
                 "APIService whose caBundle is kept equal to ca.crt (\"\" = none)");
  app.add_option("--cert-webhook-configuration-name", o.cert_webhook_configuration,
                 "ValidatingWebhookConfiguration whose caBundles are kept equal to ca.crt "
                 "(\"\" = none)");
  app.add_option("--ca-validity", o.ca_validity, "Validity of a new CA (Go duration)");
  app.add_option("--cert-validity", o.cert_validity,
                 "Validity of a new serving certificate (Go duration)");
  app.add_option("--cert-renew-before", o.cert_renew_before,
                 "Renew the CA or the certificate when it expires within this (Go duration)");
  app.add_option("--cert-check-interval", o.cert_check_interval,
                 "How often the Secret and the caBundles are checked (Go duration)");

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
    auto duration = [](const char* flag, const std::string& text) {
      auto value = parse_duration(text);
      if (!value || value->count() <= 0)
        throw CLI::ValidationError(flag,
                                   "not a positive duration: \"" + text + "\" (e.g. 8760h, 90m)");
      return *value;
    };
    const auto ca_validity = duration("--ca-validity", o.ca_validity);
    const auto cert_validity = duration("--cert-validity", o.cert_validity);
    const auto renew_before = duration("--cert-renew-before", o.cert_renew_before);
    duration("--cert-check-interval", o.cert_check_interval);
    if (renew_before >= cert_validity || renew_before >= ca_validity)
      throw CLI::ValidationError("--cert-renew-before",
                                 "must be shorter than --cert-validity and --ca-validity");
    std::vector<std::string> services;
    for (auto& svc : o.cert_services)
      if (auto trimmed = std::string(trim(svc)); !trimmed.empty()) services.push_back(trimmed);
    o.cert_services = std::move(services);
    if (o.cert_rotation && o.cert_services.empty())
      throw CLI::ValidationError("--cert-service",
                                 "--enable-cert-rotation needs at least one --cert-service");
    std::vector<std::string> namespaces;
    for (auto& ns : o.namespaces) {
      std::string trimmed(trim(ns));
      if (trimmed.empty()) continue;
      namespaces.push_back(trimmed);
    }
    o.namespaces = std::move(namespaces);
    // KEDA's operator reads WATCH_NAMESPACE; the flag wins when both are given.
    if (app.count("--namespace") == 0) o.namespaces = ebb::process::watch_namespace_env();
  });
  if (exit_code) return {std::nullopt, *exit_code};
  return {std::move(o), 0};
}

}  // namespace ebb::op::process
