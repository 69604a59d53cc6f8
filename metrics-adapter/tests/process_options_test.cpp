// ebb-metrics-adapter's command line (process/options.h): every flag, comma lists, the exact
// arguments the Helm chart passes, and usage errors that exit 2 naming the flag.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "process/options.h"

using namespace ebb::adapter::process;
using namespace std::chrono_literals;

namespace {

struct Parsed {
  ParsedOptions result;
  std::string out, err;
};

// parse_options over {"ebb-metrics-adapter", args...}, with what CLI11 prints captured.
Parsed parse(std::initializer_list<std::string> args) {
  std::vector<std::string> storage{"ebb-metrics-adapter"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  Parsed p{parse_options(static_cast<int>(storage.size()), argv.data()), "", ""};
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  p.out = out.str();
  p.err = err.str();
  return p;
}

const AdapterOptions& ok(const Parsed& p) {
  INFO("stderr: " << p.err);
  REQUIRE(p.result.options.has_value());
  return *p.result.options;
}

// A usage error: no options, exit code 2, and the message on stderr names `flag`.
void usage_error(std::initializer_list<std::string> args, const std::string& flag) {
  auto p = parse(args);
  INFO("stderr: " << p.err);
  CHECK_FALSE(p.result.options.has_value());
  CHECK(p.result.exit_code == 2);
  CHECK(p.err.find(flag) != std::string::npos);
}

int port_of(const std::string& bind_address) {
  const auto colon = bind_address.rfind(':');
  REQUIRE(colon != std::string::npos);
  return std::stoi(bind_address.substr(colon + 1));
}

}  // namespace

TEST_CASE("options: defaults") {
  const auto o = ok(parse({}));
  CHECK(o.kubeconfig.empty());
  CHECK(o.context.empty());
  CHECK(o.namespaces.empty());
  CHECK(o.label_selector.empty());
  CHECK(o.bind_address.empty());
  CHECK(o.secure_port == 6443);
  CHECK(o.cert_dir == "apiserver.local.config/certificates");
  CHECK(o.tls_cert_file.empty());
  CHECK(o.tls_private_key_file.empty());
  CHECK(o.tls_min_version == "VersionTLS12");
  CHECK(o.requestheader_client_ca_file.empty());
  CHECK(o.requestheader_allowed_names.empty());
  CHECK(o.requestheader_username_headers == std::vector<std::string>{"X-Remote-User"});
  CHECK(o.requestheader_group_headers == std::vector<std::string>{"X-Remote-Group"});
  CHECK(o.requestheader_extra_headers_prefix == std::vector<std::string>{"X-Remote-Extra-"});
  CHECK(o.client_ca_file.empty());
  CHECK_FALSE(o.authentication_skip_lookup);
  CHECK(o.authorization_always_allow_paths == std::vector<std::string>{"/healthz", "/readyz", "/livez"});
  CHECK_FALSE(o.authorization_always_allow);
  CHECK(o.authorization_allowed_ttl == 10s);
  CHECK(o.authorization_denied_ttl == 10s);
  CHECK(o.leader_elect);
  CHECK(o.leader_election_id == "ebb-metrics-adapter.keda.sh");
  CHECK(o.leader_election_namespace.empty());
  CHECK(o.lease_duration == 15s);
  CHECK(o.renew_deadline == 10s);
  CHECK(o.retry_period == 2s);
  CHECK(o.max_concurrent_polls == 16);
  CHECK(o.poll_timeout == 10s);
  CHECK(o.hpa_sync_period == 15s);
  CHECK(o.cluster_object_namespace.empty());
  CHECK(o.metrics_bind_address == ":9022");
  CHECK(o.kube_api_qps == 300);
  CHECK(o.kube_api_burst == 600);
  CHECK(o.log_level == "info");
}

TEST_CASE("options: default ports do not clash with ebb-operator's 8080 8081 and 9443") {
  const auto o = ok(parse({}));
  // ebb-operator: metrics :8080, health probes :8081, webhook 9443 (operator/src/process/options.h).
  const std::vector<int> operator_ports{8080, 8081, 9443};
  const std::vector<int> ours{o.secure_port, port_of(o.metrics_bind_address)};
  for (int port : ours) {
    INFO("port " << port);
    CHECK(std::find(operator_ports.begin(), operator_ports.end(), port) == operator_ports.end());
  }
  CHECK(ours[0] != ours[1]);
}

TEST_CASE("options: every flag, in --flag=value and --flag value forms") {
  const auto o = ok(parse({"--kubeconfig=/k/config",
                           "--context", "kind-ebb",
                           "--namespace=apps",
                           "--label-selector", "shard in (a,b),tier!=batch",
                           "--bind-address=127.0.0.1",
                           "--secure-port", "7443",
                           "--cert-dir=/tmp/certs",
                           "--tls-min-version=VersionTLS13",
                           "--requestheader-client-ca-file=/ca/front.crt",
                           "--requestheader-allowed-names=front-proxy-client",
                           "--requestheader-username-headers=X-User,X-Remote-User",
                           "--requestheader-group-headers", "X-Group",
                           "--requestheader-extra-headers-prefix=X-Extra-",
                           "--client-ca-file", "/ca/client.crt",
                           "--authentication-skip-lookup",
                           "--authorization-always-allow-paths=/healthz",
                           "--authorization-always-allow",
                           "--authorization-webhook-cache-authorized-ttl=1m",
                           "--authorization-webhook-cache-unauthorized-ttl", "0",
                           "--leader-elect=false",
                           "--leader-election-id=adapter-lease",
                           "--leader-election-namespace", "keda",
                           "--leader-election-lease-duration=30s",
                           "--leader-election-renew-deadline=20s",
                           "--leader-election-retry-period=500ms",
                           "--max-concurrent-polls=64",
                           "--poll-timeout", "3s",
                           "--hpa-sync-period=1m30s",
                           "--cluster-object-namespace=keda-system",
                           "--metrics-bind-address=127.0.0.1:19022",
                           "--kube-api-qps=50.5",
                           "--kube-api-burst", "100",
                           "--log-level=debug"}));
  CHECK(o.kubeconfig == "/k/config");
  CHECK(o.context == "kind-ebb");
  CHECK(o.namespaces == std::vector<std::string>{"apps"});
  CHECK(o.label_selector == "shard in (a,b),tier!=batch");
  CHECK(o.bind_address == "127.0.0.1");
  CHECK(o.secure_port == 7443);
  CHECK(o.cert_dir == "/tmp/certs");
  CHECK(o.tls_min_version == "VersionTLS13");
  CHECK(o.requestheader_client_ca_file == "/ca/front.crt");
  CHECK(o.requestheader_allowed_names == std::vector<std::string>{"front-proxy-client"});
  CHECK(o.requestheader_username_headers == std::vector<std::string>{"X-User", "X-Remote-User"});
  CHECK(o.requestheader_group_headers == std::vector<std::string>{"X-Group"});
  CHECK(o.requestheader_extra_headers_prefix == std::vector<std::string>{"X-Extra-"});
  CHECK(o.client_ca_file == "/ca/client.crt");
  CHECK(o.authentication_skip_lookup);
  CHECK(o.authorization_always_allow_paths == std::vector<std::string>{"/healthz"});
  CHECK(o.authorization_always_allow);
  CHECK(o.authorization_allowed_ttl == 60s);
  CHECK(o.authorization_denied_ttl == 0s);
  CHECK_FALSE(o.leader_elect);
  CHECK(o.leader_election_id == "adapter-lease");
  CHECK(o.leader_election_namespace == "keda");
  CHECK(o.lease_duration == 30s);
  CHECK(o.renew_deadline == 20s);
  CHECK(o.retry_period == 500ms);
  CHECK(o.max_concurrent_polls == 64);
  CHECK(o.poll_timeout == 3s);
  CHECK(o.hpa_sync_period == 90s);
  CHECK(o.cluster_object_namespace == "keda-system");
  CHECK(o.metrics_bind_address == "127.0.0.1:19022");
  CHECK(o.kube_api_qps == 50.5);
  CHECK(o.kube_api_burst == 100);
  CHECK(o.log_level == "debug");
}

TEST_CASE("options: serving certificate files") {
  const auto o = ok(parse({"--tls-cert-file=/etc/ebb/tls/tls.crt", "--tls-private-key-file", "/etc/ebb/tls/tls.key"}));
  CHECK(o.tls_cert_file == "/etc/ebb/tls/tls.crt");
  CHECK(o.tls_private_key_file == "/etc/ebb/tls/tls.key");
}

TEST_CASE("options: boolean flags take true and false values and the bare form") {
  CHECK(ok(parse({"--leader-elect"})).leader_elect);
  CHECK(ok(parse({"--leader-elect=true"})).leader_elect);
  CHECK_FALSE(ok(parse({"--leader-elect=false"})).leader_elect);
  CHECK(ok(parse({"--authorization-always-allow=true"})).authorization_always_allow);
  CHECK_FALSE(ok(parse({"--authorization-always-allow=false"})).authorization_always_allow);
  CHECK(ok(parse({"--authentication-skip-lookup=true"})).authentication_skip_lookup);
  CHECK_FALSE(ok(parse({"--authentication-skip-lookup=false"})).authentication_skip_lookup);
}

TEST_CASE("options: list flags take comma lists, repeats, and blanks are dropped") {
  const auto o = ok(parse({"--namespace=a,b", "--namespace", "c", "--namespace= d ,,",
                           "--authorization-always-allow-paths=/healthz,/readyz,/metrics*",
                           "--requestheader-allowed-names=front-proxy-client,aggregator",
                           "--requestheader-group-headers=X-Group,X-Remote-Group",
                           "--requestheader-extra-headers-prefix=X-Extra-,X-Remote-Extra-"}));
  CHECK(o.namespaces == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(o.authorization_always_allow_paths == std::vector<std::string>{"/healthz", "/readyz", "/metrics*"});
  CHECK(o.requestheader_allowed_names == std::vector<std::string>{"front-proxy-client", "aggregator"});
  CHECK(o.requestheader_group_headers == std::vector<std::string>{"X-Group", "X-Remote-Group"});
  CHECK(o.requestheader_extra_headers_prefix == std::vector<std::string>{"X-Extra-", "X-Remote-Extra-"});
}

TEST_CASE("options: a repeated single-value flag keeps its last value, as pflag does") {
  // The chart's extraArgs come after the flags it sets, to override them.
  const auto o = ok(parse({"--log-level=info", "--secure-port=6443", "--log-level=debug",
                           "--secure-port", "7443", "--leader-elect=true", "--leader-elect=false",
                           "--poll-timeout=5s", "--poll-timeout=2s"}));
  CHECK(o.log_level == "debug");
  CHECK(o.secure_port == 7443);
  CHECK_FALSE(o.leader_elect);
  CHECK(o.poll_timeout == std::chrono::seconds(2));
  // List flags still append.
  CHECK(ok(parse({"--namespace=a", "--namespace=b,c"})).namespaces == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("options: an empty list value means none") {
  const auto o = ok(parse({"--requestheader-allowed-names=", "--authorization-always-allow-paths=", "--namespace=",
                           "--requestheader-group-headers", "", "--requestheader-extra-headers-prefix=,"}));
  CHECK(o.requestheader_allowed_names.empty());  // any certificate from the requestheader CA
  CHECK(o.authorization_always_allow_paths.empty());
  CHECK(o.namespaces.empty());  // all namespaces
  CHECK(o.requestheader_group_headers.empty());
  CHECK(o.requestheader_extra_headers_prefix.empty());
  CHECK(o.requestheader_username_headers == std::vector<std::string>{"X-Remote-User"});  // untouched
}

TEST_CASE("options: the arguments charts/ebb passes to the adapter parse") {
  // charts/ebb/templates/metrics-adapter-deployment.yaml with watchNamespaces, labelSelector,
  // the default allow paths and two allowed names, in both certificate modes.
  const auto self_signed = ok(parse({"--namespace=team-a,team-b", "--label-selector=ebb.sh/shard=one",
                                     "--leader-elect=true", "--secure-port=6443", "--cert-dir=/tmp/certs",
                                     "--authorization-always-allow-paths=/healthz,/readyz,/livez",
                                     "--requestheader-allowed-names=front-proxy-client,aggregator",
                                     "--metrics-bind-address=:9022"}));
  CHECK(self_signed.namespaces == std::vector<std::string>{"team-a", "team-b"});
  CHECK(self_signed.label_selector == "ebb.sh/shard=one");
  CHECK(self_signed.leader_elect);
  CHECK(self_signed.secure_port == 6443);
  CHECK(self_signed.cert_dir == "/tmp/certs");
  CHECK(self_signed.authorization_always_allow_paths == std::vector<std::string>{"/healthz", "/readyz", "/livez"});
  CHECK(self_signed.requestheader_allowed_names == std::vector<std::string>{"front-proxy-client", "aggregator"});
  CHECK(self_signed.metrics_bind_address == ":9022");

  const auto files = ok(parse({"--leader-elect=false", "--secure-port=6443", "--tls-cert-file=/etc/ebb/tls/tls.crt",
                               "--tls-private-key-file=/etc/ebb/tls/tls.key",
                               "--authorization-always-allow-paths=/healthz,/readyz,/livez",
                               "--metrics-bind-address=:9022"}));
  CHECK_FALSE(files.leader_elect);
  CHECK(files.tls_cert_file == "/etc/ebb/tls/tls.crt");
  CHECK(files.tls_private_key_file == "/etc/ebb/tls/tls.key");
}

TEST_CASE("options: --help and --version exit 0") {
  auto help = parse({"--help"});
  CHECK_FALSE(help.result.options.has_value());
  CHECK(help.result.exit_code == 0);
  for (const char* flag : {"--kubeconfig", "--secure-port", "--cert-dir", "--tls-cert-file", "--tls-private-key-file",
                           "--requestheader-client-ca-file", "--requestheader-allowed-names", "--client-ca-file",
                           "--authorization-always-allow-paths", "--leader-elect", "--metrics-bind-address",
                           "--namespace", "--label-selector", "--max-concurrent-polls", "--poll-timeout"}) {
    INFO(flag);
    CHECK(help.out.find(flag) != std::string::npos);
  }
  auto version = parse({"--version"});
  CHECK_FALSE(version.result.options.has_value());
  CHECK(version.result.exit_code == 0);
  CHECK(version.out.find(std::string("ebb-metrics-adapter ") + kAdapterVersion) != std::string::npos);
}

TEST_CASE("options: bad values exit 2 and name the flag") {
  usage_error({"--secure-port=70000"}, "--secure-port");
  usage_error({"--secure-port=https"}, "--secure-port");
  usage_error({"--secure-port=-1"}, "--secure-port");
  usage_error({"--tls-min-version=VersionTLS10"}, "--tls-min-version");
  usage_error({"--tls-cert-file=/a.crt"}, "--tls-private-key-file");
  usage_error({"--tls-private-key-file=/a.key"}, "--tls-cert-file");
  usage_error({"--cert-dir="}, "--cert-dir");
  usage_error({"--poll-timeout=soon"}, "--poll-timeout");
  usage_error({"--poll-timeout=0s"}, "--poll-timeout");
  usage_error({"--hpa-sync-period=1500ms"}, "--hpa-sync-period");
  usage_error({"--hpa-sync-period=0"}, "--hpa-sync-period");
  usage_error({"--authorization-webhook-cache-authorized-ttl=-5s"}, "--authorization-webhook-cache-authorized-ttl");
  usage_error({"--authorization-webhook-cache-unauthorized-ttl=ten"}, "--authorization-webhook-cache-unauthorized-ttl");
  usage_error({"--leader-election-lease-duration=0s"}, "--leader-election-lease-duration");
  usage_error({"--leader-election-renew-deadline=20s"}, "--leader-election-renew-deadline");
  usage_error({"--leader-election-retry-period=10s"}, "--leader-election-retry-period");
  usage_error({"--leader-elect=maybe"}, "--leader-elect");
  usage_error({"--max-concurrent-polls=0"}, "--max-concurrent-polls");
  usage_error({"--max-concurrent-polls=many"}, "--max-concurrent-polls");
  usage_error({"--kube-api-qps=0"}, "--kube-api-qps");
  usage_error({"--kube-api-burst=0"}, "--kube-api-burst");
  usage_error({"--log-level=loud"}, "--log-level");
  usage_error({"--label-selector=a in (b"}, "--label-selector");
  usage_error({"--authorization-always-allow-paths=healthz"}, "--authorization-always-allow-paths");
  usage_error({"--authorization-always-allow-paths=/a*b"}, "--authorization-always-allow-paths");
  usage_error({"--requestheader-username-headers=,"}, "--requestheader-username-headers");
  usage_error({"--metrics-bind-address=9022"}, "--metrics-bind-address");
  usage_error({"--no-such-flag"}, "--no-such-flag");
}

TEST_CASE("options: the metrics endpoint can be disabled with 0") {
  CHECK(ok(parse({"--metrics-bind-address=0"})).metrics_bind_address == "0");
}

TEST_CASE("options: WATCH_NAMESPACE is KEDA's --namespace, the flag wins") {
  ::setenv("WATCH_NAMESPACE", "shop, team-a", 1);
  CHECK(ok(parse({})).namespaces == std::vector<std::string>{"shop", "team-a"});
  CHECK(ok(parse({"--namespace=other"})).namespaces == std::vector<std::string>{"other"});
  ::unsetenv("WATCH_NAMESPACE");
  CHECK(ok(parse({})).namespaces.empty());
}

TEST_CASE("options: --tls-cert-optional waits for the certificate files") {
  CHECK_FALSE(ok(parse({})).tls_cert_optional);
  CHECK(ok(parse({"--tls-cert-file=/c/tls.crt", "--tls-private-key-file=/c/tls.key",
                  "--tls-cert-optional"}))
            .tls_cert_optional);
}
