// ebb: validate KEDA manifests offline and probe their triggers live.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "commands.h"
#include "ebb/scalers/params.h"

namespace {

void on_signal(int) { ebb::cli::request_stop(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ebb: validate and probe KEDA ScaledObjects (keda.sh/v1alpha1) without a cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ebb 0.1.0");

  std::vector<std::string> files;
  std::vector<std::string> secret_args;

  auto* validate = app.add_subcommand("validate", "Check manifests offline: schema, KEDA's rules, trigger parameters");
  validate->add_option("-f,--filename", files, "Manifest files (YAML or JSON; - for stdin)")->required();
  validate->add_option("--secret", secret_args, "NAME=FILE: values of Secret NAME as KEY=VALUE lines");

  ebb::cli::ProbeOptions probe_options;
  bool once = false;
  std::string interval = "5s";
  std::string output = "table";
  int count = 0;
  auto* probe = app.add_subcommand(
      "probe",
      "Poll every trigger now and show values, the replicas the HPA would choose and the Jobs a "
      "ScaledJob would create");
  probe->add_option("-f,--filename", files, "Manifest files (YAML or JSON; - for stdin)")->required();
  probe->add_option("--secret", secret_args, "NAME=FILE: values of Secret NAME as KEY=VALUE lines");
  auto* once_flag = probe->add_flag("--once", once, "Poll once (default)");
  probe->add_flag("--watch", probe_options.watch, "Poll repeatedly until interrupted")->excludes(once_flag);
  probe->add_option("--interval", interval, "Time between polls with --watch (e.g. 500ms, 5s)")
      ->capture_default_str();
  probe->add_option("--count", count, "With --watch, stop after this many polls")->check(CLI::PositiveNumber);
  probe->add_option("--current-replicas", probe_options.current_replicas,
                    "Current replicas, for Value metric targets")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  probe
      ->add_option("--running-jobs", probe_options.running_jobs,
                   "ScaledJobs: Jobs taken as running when deciding how many to create")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  probe
      ->add_option("--pending-jobs", probe_options.pending_jobs,
                   "ScaledJobs: of the running Jobs, those taken as pending")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  probe->add_option("--kubeconfig", probe_options.kubeconfig,
                    "Kubeconfig for triggers that read the cluster (default: $KUBECONFIG, in-cluster, "
                    "~/.kube/config)");
  probe->add_option("-o,--output", output, "Output format: table or json")
      ->capture_default_str()->check(CLI::IsMember({"table", "json"}));

  bool markdown = false;
  auto* scalers = app.add_subcommand("scalers", "List the trigger types this build runs, with their parameters");
  scalers->add_flag("--markdown", markdown, "Print the reference page (docs/scalers.md)");

  ebb::cli::MigrateCheckOptions migrate_options;
  auto* migrate = app.add_subcommand(
      "migrate", "Moving a cluster from KEDA to Ebb (docs/migrating-from-keda.md)");
  migrate->require_subcommand(1);
  auto* migrate_check = migrate->add_subcommand(
      "check", "List the KEDA objects of a cluster Ebb cannot serve yet, with the reason");
  migrate_check->add_option("--kubeconfig", migrate_options.kubeconfig,
                            "Kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  migrate_check->add_option("--context", migrate_options.context,
                            "Kubeconfig context (default: current)");
  migrate_check->add_option(
      "-n,--namespace", migrate_options.namespace_name,
      "Only this namespace (default: all, with ClusterTriggerAuthentications)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as documented.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (scalers->parsed()) return ebb::cli::run_scalers(markdown, std::cout);
  if (migrate_check->parsed())
    return ebb::cli::run_migrate_check(migrate_options, std::cout, std::cerr);

  ebb::cli::SecretSources secrets;
  secrets.environment = ebb::cli::process_environment();
  auto files_read = ebb::cli::read_secret_files(secret_args);
  if (!files_read) {
    std::cerr << "ebb: " << files_read.error().message << "\n";
    return 2;
  }
  secrets.files = *files_read;

  if (validate->parsed()) return ebb::cli::run_validate(files, secrets, std::cout, std::cerr);

  auto parsed_interval = ebb::scalers::params::parse_duration(interval);
  if (!parsed_interval || parsed_interval->count() <= 0) {
    std::cerr << "ebb: --interval: expected a positive duration such as 500ms or 5s, got \"" << interval << "\"\n";
    return 2;
  }
  probe_options.interval = *parsed_interval;
  probe_options.json = output == "json";
  if (count > 0) probe_options.count = count;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return ebb::cli::run_probe(files, secrets, probe_options, std::cout, std::cerr);
}
