#include "process/options.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "ebb/kube/resource.h"
#include "ebb/process/cli.h"
#include "ebb/runtime/flags.h"
#include "ebb/strings.h"

namespace ebb::adapter::process {

namespace {

// A duration flag kept as text so the error names the flag and the value.
struct DurationFlag {
  const char* name;
  std::string text;
  bool allow_zero;
  const char* help;
};

// Comma lists and repeated flags both end up as one list; blanks are dropped so that
// `--requestheader-allowed-names=` means "none" (any certificate from the requestheader CA).
std::vector<std::string> clean_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    for (const auto& part : split(value, ',')) {
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

// True when `flag` appears on the command line and every occurrence has an empty value
// ("--flag=" or "--flag" ""). CLI11 keeps a vector's default when an option gets no value.
bool only_empty_values(int argc, char** argv, const std::string& flag) {
  bool seen = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    std::string value;
    if (arg.rfind(flag + "=", 0) == 0) {
      value = arg.substr(flag.size() + 1);
    } else if (arg == flag) {
      value = i + 1 < argc ? argv[i + 1] : "";
      ++i;
    } else {
      continue;
    }
    seen = true;
    if (!trim(value).empty() && value.find_first_not_of(", ") != std::string::npos) return false;
  }
  return seen;
}

}  // namespace

ParsedOptions parse_options(int argc, char** argv) {
  AdapterOptions o;
  // Cluster access, Leader election and Observability (with the adapter's help texts).
  runtime::CommandLine cli(
      "ebb-metrics-adapter", kAdapterVersion,
      "serves external.metrics.k8s.io/v1beta1 for KEDA ScaledObjects, polls their event sources "
      "and scales targets between 0 and 1 replicas",
      o,
      {.kubeconfig =
           "Path to a kubeconfig, also used for delegated authentication and authorization. "
           "Default: $KUBECONFIG, else the in-cluster service account, else ~/.kube/config",
       .leader_elect =
           "Elect a leader through a Lease; only the leader writes /scale, status and Events, "
           "every replica serves reads (--leader-elect=false to disable)",
       .grouped = true});
  CLI::App& app = cli.app();
  std::vector<DurationFlag*> durations;
  auto add_duration = [&](DurationFlag& d) {
    app.add_option(d.name, d.text, d.help);
    durations.push_back(&d);
  };

  // --- Cluster access
  app.option_defaults()->group("Cluster access");
  runtime::add_list_option(
      app, "--namespace", o.namespaces,
      "Namespace(s) whose ScaledObjects are served: one, a comma list, or the flag repeated. "
      "Default: $WATCH_NAMESPACE (a comma list), else all namespaces");
  app.add_option("--label-selector", o.label_selector,
                 "Only serve ScaledObjects matching this label selector");

  // --- Serving (the aggregated API)
  app.option_defaults()->group("Serving");
  app.add_option("--bind-address", o.bind_address,
                 "IP address the external metrics API listens on (default: all interfaces)");
  runtime::add_port_option(
      app, "--secure-port", o.secure_port,
      "HTTPS port of the external metrics API (0 picks a free port, logged at start)");
  app.add_option(
      "--cert-dir", o.cert_dir,
      "Directory the self-signed serving certificate (apiserver.crt, apiserver.key) is written to "
      "when --tls-cert-file is not given; created if missing");
  app.add_option("--tls-cert-file", o.tls_cert_file,
                 "Serving certificate (PEM, may include intermediates); re-read when it changes");
  app.add_option("--tls-private-key-file", o.tls_private_key_file,
                 "Serving private key (PEM) for --tls-cert-file");
  app.add_flag("--tls-cert-optional{true}", o.tls_cert_optional,
               "Start with a self-signed certificate when --tls-cert-file or "
               "--tls-private-key-file does not exist yet (a Secret volume the operator's "
               "certificate rotation fills), and serve them once they appear");
  app.add_option("--tls-min-version", o.tls_min_version,
                 "Minimum TLS version: VersionTLS12 or VersionTLS13")
      ->check(CLI::IsMember({"VersionTLS12", "VersionTLS13"}));

  // --- Authentication
  app.option_defaults()->group("Authentication");
  app.add_option("--requestheader-client-ca-file", o.requestheader_client_ca_file,
                 "CA bundle (PEM) that verifies front-proxy client certificates. Default: "
                 "requestheader-client-ca-file of kube-system/extension-apiserver-authentication");
  runtime::add_list_option(app, "--requestheader-allowed-names", o.requestheader_allowed_names,
                           "Common names of front-proxy client certificates allowed to pass "
                           "identity headers (comma list); "
                           "empty: any certificate signed by the requestheader CA");
  app.add_option(
         "--requestheader-username-headers", o.requestheader_username_headers,
         "Request headers that carry the user name (comma list); the first non-empty one wins")
      ->delimiter(',');
  runtime::add_list_option(app, "--requestheader-group-headers", o.requestheader_group_headers,
                           "Request headers that carry the groups (comma list)");
  runtime::add_list_option(
      app, "--requestheader-extra-headers-prefix", o.requestheader_extra_headers_prefix,
      "Request header prefixes that carry extra user information (comma list)");
  app.add_option(
      "--client-ca-file", o.client_ca_file,
      "CA bundle (PEM) that verifies direct client certificates (user = CN, groups = O). Default: "
      "client-ca-file of kube-system/extension-apiserver-authentication");
  app.add_flag(
         "--authentication-skip-lookup{true}", o.authentication_skip_lookup,
         "Do not read kube-system/extension-apiserver-authentication; only the CA flags count")
      ->default_str("false");

  // --- Authorization
  app.option_defaults()->group("Authorization");
  runtime::add_list_option(app, "--authorization-always-allow-paths",
                           o.authorization_always_allow_paths,
                           "Paths served without authentication or authorization (comma list; a "
                           "trailing * matches a prefix)");
  app.add_flag("--authorization-always-allow{true}", o.authorization_always_allow,
               "Allow every authenticated request without a SubjectAccessReview (development and "
               "tests only)")
      ->default_str("false");
  DurationFlag authorized_ttl{
      "--authorization-webhook-cache-authorized-ttl", "10s", true,
      "How long a SubjectAccessReview's 'allowed' is cached (Go duration; 0 disables)"};
  add_duration(authorized_ttl);
  DurationFlag unauthorized_ttl{"--authorization-webhook-cache-unauthorized-ttl", "10s", true,
                                "How long a SubjectAccessReview's 'denied' is cached (Go duration; 0 disables)"};
  add_duration(unauthorized_ttl);

  // --- Polling
  app.option_defaults()->group("Polling");
  app.add_option("--max-concurrent-polls", o.max_concurrent_polls, "Scaler polls running at the same time")
      ->check(CLI::Range(1, 10'000));
  DurationFlag poll_timeout{"--poll-timeout", "10s", false, "Timeout of one poll of a trigger (Go duration)"};
  add_duration(poll_timeout);
  DurationFlag hpa_sync{"--hpa-sync-period", "15s", false,
                        "The cluster's HPA sync period (kube-controller-manager --horizontal-pod-autoscaler-sync-period); "
                        "bounds how stale a served value may be"};
  add_duration(hpa_sync);
  ebb::process::add_cluster_object_namespace_flag(app, o.cluster_object_namespace);

  const auto exit_code = cli.parse(argc, argv, [&] {
    std::vector<std::chrono::milliseconds> values;
    for (auto* d : durations) {
      auto value = ebb::process::parse_duration(d->text);
      if (!value || value->count() < 0 || (!d->allow_zero && value->count() == 0)) {
        throw CLI::ValidationError(d->name, std::string("not a ") + (d->allow_zero ? "" : "positive ") +
                                                "duration: \"" + d->text + "\" (e.g. 15s, 500ms)");
      }
      values.push_back(*value);
    }
    o.authorization_allowed_ttl = values[0];
    o.authorization_denied_ttl = values[1];
    o.poll_timeout = values[2];
    if (values[3] < std::chrono::seconds(1) || values[3].count() % 1000 != 0)
      throw CLI::ValidationError(hpa_sync.name, "must be a whole number of seconds, at least 1s: \"" + hpa_sync.text + "\"");
    o.hpa_sync_period = std::chrono::duration_cast<std::chrono::seconds>(values[3]);
    if (!o.label_selector.empty()) {
      auto selector = kube::LabelSelector::parse(o.label_selector);
      if (!selector) throw CLI::ValidationError("--label-selector", selector.error().message);
    }
    if (o.tls_cert_file.empty() != o.tls_private_key_file.empty())
      throw CLI::ValidationError(o.tls_cert_file.empty() ? "--tls-cert-file" : "--tls-private-key-file",
                                 "--tls-cert-file and --tls-private-key-file go together");
    if (o.tls_cert_file.empty() && trim(o.cert_dir).empty())
      throw CLI::ValidationError("--cert-dir", "must not be empty when --tls-cert-file is not given");

    o.namespaces = clean_list(o.namespaces);
    o.requestheader_allowed_names = clean_list(o.requestheader_allowed_names);
    o.requestheader_username_headers = clean_list(o.requestheader_username_headers);
    o.requestheader_group_headers = clean_list(o.requestheader_group_headers);
    o.requestheader_extra_headers_prefix = clean_list(o.requestheader_extra_headers_prefix);
    o.authorization_always_allow_paths = clean_list(o.authorization_always_allow_paths);
    // Given, but only ever empty (`--authorization-always-allow-paths=`): none, not the default.
    for (auto [flag, list] : {std::pair{"--namespace", &o.namespaces},
                              std::pair{"--authorization-always-allow-paths", &o.authorization_always_allow_paths},
                              std::pair{"--requestheader-allowed-names", &o.requestheader_allowed_names},
                              std::pair{"--requestheader-username-headers", &o.requestheader_username_headers},
                              std::pair{"--requestheader-group-headers", &o.requestheader_group_headers},
                              std::pair{"--requestheader-extra-headers-prefix", &o.requestheader_extra_headers_prefix}}) {
      if (only_empty_values(argc, argv, flag)) list->clear();
    }
    // KEDA's metrics server reads WATCH_NAMESPACE; the flag wins when both are given.
    if (app.count("--namespace") == 0) o.namespaces = ebb::process::watch_namespace_env();
    if (o.requestheader_username_headers.empty())
      throw CLI::ValidationError("--requestheader-username-headers", "needs at least one header name");

    for (const auto& path : o.authorization_always_allow_paths) {
      if (path.front() != '/')
        throw CLI::ValidationError("--authorization-always-allow-paths",
                                   "paths start with '/': \"" + path + "\"");
      const auto star = path.find('*');
      if (star != std::string::npos && star != path.size() - 1)
        throw CLI::ValidationError("--authorization-always-allow-paths",
                                   "'*' is only allowed at the end of a path: \"" + path + "\"");
    }
    if (!o.metrics_bind_address.empty() && o.metrics_bind_address != "0" &&
        o.metrics_bind_address.find(':') == std::string::npos)
      throw CLI::ValidationError("--metrics-bind-address",
                                 "expected host:port, :port or \"0\": \"" + o.metrics_bind_address + "\"");
  });
  if (exit_code) return {std::nullopt, *exit_code};
  return {std::move(o), 0};
}

}  // namespace ebb::adapter::process
