#include "process/options.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <fstream>
#include <iostream>

#include "ebb/kube/resource.h"
#include "ebb/process/cli.h"
#include "ebb/strings.h"
#include "process/log.h"

namespace ebb::op::process {

namespace {

// A duration flag kept as text so the error names the flag and the value.
struct DurationFlag {
  std::string text;
  std::chrono::milliseconds* target;
  const char* name;
};

}  // namespace

ParsedOptions parse_options(int argc, char** argv) {
  OperatorOptions o;
  CLI::App app{"ebb-operator: reconciles KEDA ScaledObjects (keda.sh/v1alpha1) into HorizontalPodAutoscalers"};
  app.set_version_flag("--version", std::string("ebb-operator ") + kOperatorVersion);
  app.option_defaults()->always_capture_default();

  app.add_option("--kubeconfig", o.kubeconfig,
                 "Path to a kubeconfig. Default: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config");
  app.add_option("--context", o.context, "The kubeconfig context to use (default: current-context)");
  app.add_option("--namespace", o.namespaces,
                 "Namespace(s) to watch: one, a comma list, or the flag repeated. Default: all namespaces")
      ->delimiter(',');
  app.add_option("--label-selector", o.label_selector,
                 "Only reconcile ScaledObjects matching this label selector (sharding)");
  app.add_flag("--leader-elect{true}", o.leader_elect,
               "Elect a leader through a Lease; only the leader reconciles (--leader-elect=false to disable)")
      ->default_str("true");
  app.add_option("--leader-election-id", o.leader_election_id, "Name of the Lease");
  app.add_option("--leader-election-namespace", o.leader_election_namespace,
                 "Namespace of the Lease. Default: the pod's namespace, else \"default\"");
  DurationFlag lease{"15s", &o.lease_duration, "--leader-election-lease-duration"};
  DurationFlag renew{"10s", &o.renew_deadline, "--leader-election-renew-deadline"};
  DurationFlag retry{"2s", &o.retry_period, "--leader-election-retry-period"};
  for (auto* d : {&lease, &renew, &retry}) app.add_option(d->name, d->text, "Leader election timing (Go duration)");
  app.add_option("--health-probe-bind-address", o.health_probe_bind_address,
                 "host:port for /healthz and /readyz (\"0\" disables)");
  app.add_option("--metrics-bind-address", o.metrics_bind_address,
                 "host:port for Prometheus /metrics (\"0\" disables)");
  app.add_option("--webhook-port", o.webhook_port, "HTTPS port of the admission webhook (0 disables)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--webhook-host", o.webhook_host, "Address the webhook listens on (default: all interfaces)");
  app.add_option("--webhook-cert-dir", o.webhook_cert_dir,
                 "Directory with tls.crt and tls.key for the webhook (re-read when they change)");
  app.add_option("--webhook-cert-file", o.webhook_cert_file, "Webhook serving certificate (PEM)");
  app.add_option("--webhook-key-file", o.webhook_key_file, "Webhook serving key (PEM)");
  app.add_option("--concurrent-reconciles", o.concurrent_reconciles,
                 "ScaledObjects reconciled at the same time")
      ->check(CLI::Range(1, 1000));
  app.add_option("--kube-api-qps", o.kube_api_qps, "Client-side rate limit for API requests (per second)")
      ->check(CLI::PositiveNumber);
  app.add_option("--kube-api-burst", o.kube_api_burst, "Burst of the client-side rate limit")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));

  ebb::process::last_value_wins(app);  // --flag=a --flag=b keeps b, as pflag does
  try {
    app.parse(argc, argv);
    for (auto* d : {&lease, &renew, &retry}) {
      auto value = parse_duration(d->text);
      if (!value || value->count() <= 0)
        throw CLI::ValidationError(d->name, "not a positive duration: \"" + d->text + "\" (e.g. 15s, 500ms)");
      *d->target = *value;
    }
    if (o.renew_deadline >= o.lease_duration)
      throw CLI::ValidationError("--leader-election-renew-deadline",
                                 "must be shorter than --leader-election-lease-duration");
    if (o.retry_period >= o.renew_deadline)
      throw CLI::ValidationError("--leader-election-retry-period",
                                 "must be shorter than --leader-election-renew-deadline");
    if (!o.label_selector.empty()) {
      auto selector = kube::LabelSelector::parse(o.label_selector);
      if (!selector) throw CLI::ValidationError("--label-selector", selector.error().message);
    }
    if (o.webhook_cert_file.empty() != o.webhook_key_file.empty())
      throw CLI::ValidationError("--webhook-cert-file", "--webhook-cert-file and --webhook-key-file go together");
    if (!o.webhook_cert_dir.empty() && !o.webhook_cert_file.empty())
      throw CLI::ValidationError("--webhook-cert-dir", "give --webhook-cert-dir or --webhook-cert-file/--webhook-key-file, not both");
    std::vector<std::string> namespaces;
    for (auto& ns : o.namespaces) {
      std::string trimmed(trim(ns));
      if (trimmed.empty()) continue;
      namespaces.push_back(trimmed);
    }
    o.namespaces = std::move(namespaces);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2.
    const int code = app.exit(e);
    return {std::nullopt, code == 0 ? 0 : 2};
  }
  return {std::move(o), 0};
}

}  // namespace ebb::op::process
