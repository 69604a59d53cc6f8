// Self-managed certificates (issue 17, part 1): the real ebb-operator with
// --enable-cert-rotation creates the CA and serving certificate Secret, keeps the caBundle of the
// APIService and of the ValidatingWebhookConfiguration equal to its ca.crt, and rotates the
// certificate and the CA before they expire; the real adapter and the operator's webhook serve the
// files of that Secret (written here as the kubelet would project the Secret volume) and pick up
// rotated files without a restart. Clients verify with the CA bundle and the Service's DNS name.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "adapter_harness.h"
#include "ebb/net/certificates.h"
#include "ebb/net/http_client.h"
#include "ebb/strings.h"
#include "harness.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace resources = ebb::kube::resources;

namespace {

const ebb::kube::Resource kApiServices{
    "apiregistration.k8s.io", "v1", "apiservices", "APIService", false, {}};
const ebb::kube::Resource kWebhookConfigurations{
    "admissionregistration.k8s.io",   "v1",  "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration", false, {}};

std::string data_of(const Object& secret, const std::string& key) {
  const auto& data = secret.value("data", Object::object());
  if (!data.contains(key) || !data[key].is_string()) return "";
  return ebb::base64_decode(data[key].get<std::string>()).value_or("");
}

// As the kubelet updates a Secret volume: every file replaced at once (rename).
void project(const Object& secret, const std::string& dir) {
  for (const char* key : {"tls.key", "tls.crt"}) {
    const std::string path = dir + "/" + key, tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << data_of(secret, key);
      REQUIRE(out.good());
    }
    REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
  }
}

// Any HTTP answer over a TLS connection verified with `ca_pem` for `name`: 0 when the
// handshake (or the connection) failed.
int verified_status(std::uint16_t port, const std::string& ca_pem, const std::string& name,
                    const std::string& path) {
  ebb::net::HttpClientOptions options;
  options.tls.ca_pem = ca_pem;
  options.tls.server_name = name;
  ebb::net::HttpClient client(options);
  ebb::net::HttpRequest request;
  request.method = "GET";
  request.url = "https://127.0.0.1:" + std::to_string(port) + path;
  auto response = client.send(request);
  return response ? response->status : 0;
}

}  // namespace

TEST_CASE("self-managed certificates: Secret, caBundles, verified TLS, rotation without restarts",
          "[system][certificates]") {
  EBB_SYSTEM_NEEDS_TEST_SERVER();  // creates an APIService and a webhook configuration of its own
  Cluster cluster;
  const std::string ns = cluster.ns();
  const std::string apiservice = "v1beta1." + ns + ".ebb.test";
  const std::string vwc = "ebb-validation-" + ns;
  // As the chart creates them: no caBundle. The APIService even skips verification, as Ebb's
  // older selfSigned mode left it; the rotation turns that off.
  cluster.create(
      kApiServices,
      {{"apiVersion", "apiregistration.k8s.io/v1"},
       {"kind", "APIService"},
       {"metadata", {{"name", apiservice}}},
       {"spec",
        {{"group", ns + ".ebb.test"},
         {"version", "v1beta1"},
         {"groupPriorityMinimum", 100},
         {"versionPriority", 100},
         {"insecureSkipTLSVerify", true},
         {"service", {{"name", "ebb-metrics-adapter"}, {"namespace", ns}, {"port", 443}}}}}});
  Object webhooks = Object::array();
  for (const char* name : {"vscaledobject.ebb.dev", "vtriggerauthentication.ebb.dev"})
    webhooks.push_back(
        {{"name", name},
         {"admissionReviewVersions", {"v1"}},
         {"sideEffects", "None"},
         {"clientConfig",
          {{"service", {{"name", "ebb-webhooks"}, {"namespace", ns}, {"path", "/x"}}}}}});
  cluster.create(kWebhookConfigurations, {{"apiVersion", "admissionregistration.k8s.io/v1"},
                                          {"kind", "ValidatingWebhookConfiguration"},
                                          {"metadata", {{"name", vwc}}},
                                          {"webhooks", webhooks}});

  // The files the kubelet would project from the Secret; empty until it exists.
  const std::string webhook_dir = cluster.dir() + "/webhook-certs",
                    adapter_dir = cluster.dir() + "/adapter-certs";
  REQUIRE(ebb::test::run_command({"mkdir", "-p", webhook_dir, adapter_dir}).exit_code == 0);

  // Certificate 30 s, renewed 20 s before: a new one after ~10 s; the CA 40 s: a new CA after
  // ~20 s, with the old one still in ca.crt.
  OperatorRun op(
      cluster,
      {"--enable-cert-rotation", "--cert-secret-namespace=" + ns, "--cert-secret-name=ebb-certs",
       "--cert-service=ebb-metrics-adapter,ebb-webhooks", "--cert-apiservice-name=" + apiservice,
       "--cert-webhook-configuration-name=" + vwc, "--ca-validity=40s", "--cert-validity=30s",
       "--cert-renew-before=20s", "--cert-check-interval=1s", "--webhook-cert-dir=" + webhook_dir,
       "--webhook-cert-optional"});
  op.require_ready();

  std::optional<Object> secret;
  eventually(
      "the operator creates Secret ebb-certs",
      [&] {
        secret = cluster.get(resources::secrets(), "ebb-certs");
        return secret.has_value();
      },
      30s, &op);
  const std::string ca = data_of(*secret, "ca.crt");
  const std::string first_cert = data_of(*secret, "tls.crt");
  REQUIRE_FALSE(data_of(*secret, "ca.key").empty());
  REQUIRE(ebb::net::key_matches_certificate(first_cert, data_of(*secret, "tls.key")));
  CHECK(ebb::net::certificate_verifies(first_cert, ca));
  auto info = ebb::net::inspect_certificate(first_cert);
  REQUIRE(info);
  const std::vector<std::string> expected_names{"ebb-metrics-adapter",
                                                "ebb-metrics-adapter." + ns,
                                                "ebb-metrics-adapter." + ns + ".svc",
                                                "ebb-metrics-adapter." + ns + ".svc.cluster.local",
                                                "ebb-webhooks",
                                                "ebb-webhooks." + ns,
                                                "ebb-webhooks." + ns + ".svc",
                                                "ebb-webhooks." + ns + ".svc.cluster.local"};
  CHECK(info->dns_names == expected_names);

  // Both caBundles equal ca.crt; the APIService no longer skips verification.
  const std::string bundle_b64 = ebb::base64_encode(ca);
  eventually(
      "the caBundles are patched",
      [&] {
        auto api = cluster.get(kApiServices, apiservice);
        auto hooks = cluster.get(kWebhookConfigurations, vwc);
        if (!api || !hooks) return false;
        if (api->at("spec").value("caBundle", "") != bundle_b64 ||
            api->at("spec").value("insecureSkipTLSVerify", false))
          return false;
        for (const auto& w : hooks->at("webhooks"))
          if (w["clientConfig"].value("caBundle", "") != bundle_b64) return false;
        return true;
      },
      30s, &op);

  // The webhook serves a placeholder until the files exist: a client that trusts the CA refuses it.
  const std::string webhook_name = "ebb-webhooks." + ns + ".svc";
  const std::string adapter_name = "ebb-metrics-adapter." + ns + ".svc";
  CHECK(verified_status(op.ports().webhook, ca, webhook_name, "/") == 0);
  project(*secret, webhook_dir);
  project(*secret, adapter_dir);
  eventually(
      "the webhook serves the Secret's certificate",
      [&] { return verified_status(op.ports().webhook, ca, webhook_name, "/") == 404; }, 20s, &op);

  const auto pki = make_adapter_pki(cluster.dir());
  AdapterRun adapter(cluster, pki,
                     {"--tls-cert-file=" + adapter_dir + "/tls.crt",
                      "--tls-private-key-file=" + adapter_dir + "/tls.key", "--tls-cert-optional"});
  // Ready, over a connection verified with the Secret's CA for the Service's name, as the
  // aggregator connects with the APIService's caBundle.
  eventually_adapter(
      "the adapter answers /readyz 200 to a client that trusts ca.crt",
      [&] { return verified_status(adapter.ports().secure, ca, adapter_name, "/readyz") == 200; },
      30s, adapter, &op);
  // The wrong name is refused: the certificate names the Services, nothing else.
  CHECK(verified_status(adapter.ports().secure, ca, "elsewhere.example", "/readyz") == 0);

  // The serving certificate is renewed first (same CA), then the CA; the old CA stays trusted.
  eventually(
      "a new serving certificate signed by the same CA",
      [&] {
        secret = cluster.get(resources::secrets(), "ebb-certs");
        return secret && data_of(*secret, "tls.crt") != first_cert &&
               data_of(*secret, "ca.crt") == ca;
      },
      30s, &op);
  std::string new_ca_bundle;
  eventually(
      "a new CA, with the old one kept in ca.crt",
      [&] {
        secret = cluster.get(resources::secrets(), "ebb-certs");
        if (!secret) return false;
        new_ca_bundle = data_of(*secret, "ca.crt");
        auto certs = ebb::net::split_certificates(new_ca_bundle);
        return certs && certs->size() == 2 && (*certs)[1] == ca;
      },
      40s, &op);
  const std::string new_ca = ebb::net::split_certificates(new_ca_bundle)->front();
  CHECK(ebb::net::certificate_verifies(data_of(*secret, "tls.crt"), new_ca));
  eventually(
      "the caBundles follow the new ca.crt",
      [&] {
        auto api = cluster.get(kApiServices, apiservice);
        auto hooks = cluster.get(kWebhookConfigurations, vwc);
        const std::string b64 =
            ebb::base64_encode(data_of(*cluster.get(resources::secrets(), "ebb-certs"), "ca.crt"));
        if (!api || !hooks || api->at("spec").value("caBundle", "") != b64) return false;
        for (const auto& w : hooks->at("webhooks"))
          if (w["clientConfig"].value("caBundle", "") != b64) return false;
        return true;
      },
      30s, &op);

  // Until the files change, a client that trusts only the new CA is refused; once the kubelet
  // projects them, both servers serve the new certificate without a restart.
  CHECK(verified_status(adapter.ports().secure, new_ca, adapter_name, "/readyz") == 0);
  const pid_t adapter_pid = adapter.pid(), operator_pid = op.pid();
  project(*secret, adapter_dir);
  project(*secret, webhook_dir);
  eventually_adapter(
      "the adapter serves the certificate of the new CA",
      [&] {
        return verified_status(adapter.ports().secure, new_ca, adapter_name, "/readyz") == 200;
      },
      20s, adapter, &op);
  eventually(
      "the webhook serves the certificate of the new CA",
      [&] { return verified_status(op.ports().webhook, new_ca, webhook_name, "/") == 404; }, 20s,
      &op);
  CHECK(adapter.pid() == adapter_pid);
  CHECK(op.pid() == operator_pid);
  CHECK(adapter.running());
  CHECK(op.running());

  // No key material in either log.
  CHECK(op.log().find("PRIVATE KEY") == std::string::npos);
  CHECK(adapter.log().find("PRIVATE KEY") == std::string::npos);
  CHECK(op.log().find("\"newCA\":true") != std::string::npos);
}

TEST_CASE("self-managed certificates: bad flags are usage errors", "[system][certificates]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--enable-cert-rotation", "--cert-secret-namespace=x"},  // no --cert-service
           {"--enable-cert-rotation", "--cert-service=a", "--cert-validity=1h",
            "--cert-renew-before=2h"},
           {"--cert-validity=soon"}}) {
    std::vector<std::string> argv{EBB_OPERATOR_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = ebb::test::run_command(argv);
    INFO(result.out + result.err);
    CHECK(result.exit_code == 2);
  }
}
