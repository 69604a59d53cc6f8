// The flags every Ebb process takes (runtime::CommonOptions), registered by one call so that
// their names, defaults, checks and Kubernetes-style behaviour cannot drift apart between
// ebb-operator and ebb-metrics-adapter: --kubeconfig, --context, --kube-api-qps,
// --kube-api-burst, --leader-elect, --leader-election-id, --leader-election-namespace,
// --leader-election-lease-duration, --leader-election-renew-deadline,
// --leader-election-retry-period, --metrics-bind-address, --log-level.
//
// CommandLine wraps it with what every process's command line does the same way: --help and
// --version, pflag's last-value-wins, and the exit codes of Kubernetes components.
//
// Header-only because it needs CLI11: only the processes' option parsers (which link CLI11)
// include it; ebb_runtime itself does not depend on CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "ebb/process/cli.h"
#include "ebb/process/flags.h"
#include "ebb/runtime/options.h"

namespace ebb::runtime {

// The parts of the help that say what the process does with a flag.
struct CommonFlagsHelp {
  std::string kubeconfig =
      "Path to a kubeconfig. Default: $KUBECONFIG, else the in-cluster service account, else "
      "~/.kube/config";
  std::string leader_elect =
      "Elect a leader through a Lease; only the leader writes (--leader-elect=false to disable)";
  // Put the flags in the help groups "Cluster access", "Leader election" and "Observability"
  // (a process whose --help is grouped); otherwise they stay in CLI11's default group.
  bool grouped = false;
};

class CommonFlags {
 public:
  // Registers the flags on `app`, writing into `options` (whose current values are the defaults
  // --help shows). Call after app.option_defaults()->always_capture_default() and before
  // ebb::process::last_value_wins(app).
  CommonFlags(CLI::App& app, CommonOptions& options, const CommonFlagsHelp& help = {})
      : o_(options) {
    auto group = [&](CLI::Option* option, const char* name) {
      if (help.grouped) option->group(name);
      return option;
    };
    group(app.add_option("--kubeconfig", o_.kubeconfig, help.kubeconfig), "Cluster access");
    group(app.add_option("--context", o_.context,
                         "The kubeconfig context to use (default: current-context)"),
          "Cluster access");
    group(app.add_option("--kube-api-qps", o_.kube_api_qps,
                         "Client-side rate limit for API requests (per second)"),
          "Cluster access")
        ->check(CLI::PositiveNumber);
    group(app.add_option("--kube-api-burst", o_.kube_api_burst,
                         "Burst of the client-side rate limit"),
          "Cluster access")
        ->check(CLI::Range(1, 1'000'000));

    group(app.add_flag("--leader-elect{true}", o_.leader_elect, help.leader_elect),
          "Leader election")
        ->default_str("true");
    group(app.add_option("--leader-election-id", o_.leader_election_id, "Name of the Lease"),
          "Leader election");
    group(app.add_option("--leader-election-namespace", o_.leader_election_namespace,
                         "Namespace of the Lease. Default: the pod's namespace, else \"default\""),
          "Leader election");
    for (auto* d : {&lease_, &renew_, &retry_})
      group(app.add_option(d->name, d->text, d->help), "Leader election");

    group(app.add_option("--metrics-bind-address", o_.metrics_bind_address,
                         "host:port for the plain-HTTP Prometheus /metrics (\"0\" disables)"),
          "Observability");
    group(app.add_option("--log-level", o_.log_level, "debug, info, warn or error"),
          "Observability")
        ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));
  }
  CommonFlags(const CommonFlags&) = delete;
  CommonFlags& operator=(const CommonFlags&) = delete;

  // After app.parse(): the durations (positive Go durations) and their order (retry period <
  // renew deadline < lease duration). Throws CLI::ValidationError naming the flag.
  void validate() {
    for (auto* d : {&lease_, &renew_, &retry_}) {
      auto value = ebb::process::parse_duration(d->text);
      if (!value || value->count() <= 0)
        throw CLI::ValidationError(
            d->name, "not a positive duration: \"" + d->text + "\" (e.g. 15s, 500ms)");
      *d->target = *value;
    }
    if (o_.renew_deadline >= o_.lease_duration)
      throw CLI::ValidationError(renew_.name,
                                 "must be shorter than --leader-election-lease-duration");
    if (o_.retry_period >= o_.renew_deadline)
      throw CLI::ValidationError(retry_.name,
                                 "must be shorter than --leader-election-renew-deadline");
  }

 private:
  // A duration flag kept as text so the error names the flag and the value.
  struct Duration {
    const char* name;
    std::string text;
    std::chrono::milliseconds* target;
    const char* help;
  };

  CommonOptions& o_;
  Duration lease_{"--leader-election-lease-duration", "15s", &o_.lease_duration,
                  "Leader election: lease duration (Go duration)"};
  Duration renew_{"--leader-election-renew-deadline", "10s", &o_.renew_deadline,
                  "Leader election: renew deadline (Go duration)"};
  Duration retry_{"--leader-election-retry-period", "2s", &o_.retry_period,
                  "Leader election: retry period (Go duration)"};
};

// A TCP port flag: 0 to 65535.
inline CLI::Option* add_port_option(CLI::App& app, const std::string& name, int& port,
                                    const std::string& help) {
  return app.add_option(name, port, help)->check(CLI::Range(0, 65535));
}

// A list flag as Kubernetes components take them: a comma list, or the flag repeated; an empty
// value (--flag=) means an empty list, not the default.
inline CLI::Option* add_list_option(CLI::App& app, const std::string& name, std::vector<std::string>& values,
                                    const std::string& help) {
  return app.add_option(name, values, help)->delimiter(',')->expected(0, CLI::detail::expected_max_vector_size);
}

// The command line of an Ebb process: a CLI11 app with --help, --version and the common flags;
// the process adds its own options on app() and calls parse() once.
class CommandLine {
 public:
  // --help starts with "<name>: <description>"; --version prints "<name> <version>".
  CommandLine(const std::string& name, const std::string& version, const std::string& description,
              CommonOptions& options, const CommonFlagsHelp& help = {})
      : app_(name + ": " + description),
        common_(prepare(app_, name + " " + version), options, help) {}
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  CLI::App& app() { return app_; }

  // Parses (a repeated single-value flag keeps its last value, as pflag does), checks the common
  // flags, then runs `validate`, which throws CLI::ValidationError naming the flag. nullopt: run;
  // else the exit code: 0 after --help or --version, 2 after a usage error (printed on stderr).
  std::optional<int> parse(int argc, char** argv, const std::function<void()>& validate = {}) {
    ebb::process::last_value_wins(app_);
    try {
      app_.parse(argc, argv);
      common_.validate();
      if (validate) validate();
    } catch (const CLI::ParseError& e) {
      const int code = app_.exit(e);
      return code == 0 ? 0 : 2;
    }
    return std::nullopt;
  }

 private:
  static CLI::App& prepare(CLI::App& app, const std::string& version) {
    app.set_version_flag("--version", version);
    app.option_defaults()->always_capture_default();
    return app;
  }

  CLI::App app_;
  CommonFlags common_;
};

}  // namespace ebb::runtime
