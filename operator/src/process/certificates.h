// Self-managed serving certificates (--enable-cert-rotation): the operator, while it leads, is
// the one owner of a Secret in its own namespace that holds a private CA and one serving
// certificate for the metrics adapter's and the webhook's Services (ca.crt, ca.key, tls.crt,
// tls.key — the keys KEDA's kedaorg-certs Secret uses). It creates them when missing or
// unusable, issues a new serving certificate when the current one expires within
// `renew_before` (or no longer names every Service, or was not signed by the current CA), and a
// new CA the same way; while a replaced CA is still valid it stays in ca.crt after the new one,
// so clients that still trust only the old CA and servers that still serve a certificate it
// signed keep working through the hand-over. It then makes the caBundle of the APIService and of
// every webhook of the ValidatingWebhookConfiguration equal ca.crt.
//
// The adapter and the webhook server read tls.crt/tls.key from the mounted Secret and reload
// them when the kubelet updates the files (net::ServerTls), so nothing restarts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ebb/kube/client.h"
#include "ebb/result.h"
#include "process/log.h"

namespace ebb::op::process {

struct CertificateRotationOptions {
  std::string secret_namespace;
  std::string secret_name = "ebb-certs";
  // Services in secret_namespace the certificate is for: <svc>, <svc>.<ns>, <svc>.<ns>.svc and
  // <svc>.<ns>.svc.<cluster_domain> each.
  std::vector<std::string> services;
  std::string cluster_domain = "cluster.local";
  std::string apiservice;             // "" = not patched
  std::string webhook_configuration;  // "" = not patched
  // KEDA's rotator keeps CA and certificates for 10 years and renews 90 days ahead; here the
  // serving certificate lives one year, so a leaked key is useful for less long.
  std::chrono::seconds ca_validity{std::chrono::hours(87600)};
  std::chrono::seconds cert_validity{std::chrono::hours(8760)};
  std::chrono::seconds renew_before{std::chrono::hours(2160)};
  std::chrono::milliseconds check_interval{std::chrono::minutes(10)};
};

// What one pass did, for logs and tests.
struct RotationOutcome {
  bool secret_written = false;
  bool new_ca = false;
  bool new_certificate = false;
  std::vector<std::string> patched;  // "APIService/<name>", "ValidatingWebhookConfiguration/<name>"
  std::vector<std::string> pending;  // targets not patched yet (missing): retried soon
};

class CertificateRotator {
 public:
  CertificateRotator(kube::Client& client, CertificateRotationOptions options);
  ~CertificateRotator();
  CertificateRotator(const CertificateRotator&) = delete;
  CertificateRotator& operator=(const CertificateRotator&) = delete;

  // The DNS names the serving certificate carries.
  std::vector<std::string> dns_names() const;
  // One pass: the Secret, then the caBundles. Errors name the object and the cause.
  Result<RotationOutcome> reconcile_once();

  // A thread that runs reconcile_once() now and every check_interval (sooner after an error
  // or while a caBundle target is missing, and when the next renewal is due earlier).
  void start();
  void stop();

 private:
  Result<void> patch_ca_bundles(const std::string& ca_bundle_b64, RotationOutcome& outcome);
  void loop();

  kube::Client& client_;
  CertificateRotationOptions o_;
  Logger log_{"cert-rotation"};
  std::chrono::system_clock::time_point next_due_{};  // earliest renewal seen by the last pass
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ebb::op::process
