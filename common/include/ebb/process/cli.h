// CLI11 settings both processes share. Header-only: only the processes' option parsers (which
// link CLI11) include it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace ebb::process {

// Kubernetes components parse flags with pflag, where a single-value flag given twice keeps the
// last value and a list flag appends. Deployments rely on that: a Helm chart's `extraArgs`
// repeat a flag the template already sets (--log-level=debug after --log-level=info) to
// override it. CLI11 rejects a repeated single-value option by default; call this after every
// option is added to get pflag's behaviour. List options (vectors) keep appending.
inline void last_value_wins(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_items_expected_max() <= 1) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
}

// --cluster-object-namespace, the same in every process; resolve it with
// cluster_object_namespace() (flags.h).
inline CLI::Option* add_cluster_object_namespace_flag(CLI::App& app, std::string& target) {
  return app.add_option(
      "--cluster-object-namespace", target,
      "Namespace of the Secrets and ConfigMaps ClusterTriggerAuthentications refer to. "
      "Default: $KEDA_CLUSTER_OBJECT_NAMESPACE, else $POD_NAMESPACE, else the service account's "
      "namespace, else \"keda\"");
}

}  // namespace ebb::process
