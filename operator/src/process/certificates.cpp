#include "process/certificates.h"

#include <algorithm>
#include <set>

#include "ebb/json.h"
#include "ebb/kube/resource.h"
#include "ebb/net/certificates.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::op::process {
namespace {

using Clock = std::chrono::system_clock;
using kube::Object;

kube::Resource apiservices() {
  return {"apiregistration.k8s.io", "v1", "apiservices", "APIService", false, {}};
}
kube::Resource validating_webhook_configurations() {
  return {"admissionregistration.k8s.io",   "v1",  "validatingwebhookconfigurations",
          "ValidatingWebhookConfiguration", false, {}};
}

// data[key] of a Secret, decoded; "" when absent or not base64.
std::string secret_value(const Object& secret, const char* key) {
  const std::string encoded = json_string(secret, {"data", key});
  if (encoded.empty()) return "";
  return base64_decode(encoded).value_or("");
}

bool renewal_due(const net::CertificateInfo& info, Clock::time_point now,
                 std::chrono::seconds renew_before) {
  return info.not_after - now <= renew_before;
}

}  // namespace

CertificateRotator::CertificateRotator(kube::Client& client, CertificateRotationOptions options)
    : client_(client), o_(std::move(options)) {}

CertificateRotator::~CertificateRotator() {
  stop();
}

std::vector<std::string> CertificateRotator::dns_names() const {
  std::vector<std::string> names;
  const std::string& ns = o_.secret_namespace;
  for (const auto& svc : o_.services) {
    for (std::string name : {svc, svc + "." + ns, svc + "." + ns + ".svc",
                             svc + "." + ns + ".svc." + o_.cluster_domain})
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

Result<RotationOutcome> CertificateRotator::reconcile_once() {
  RotationOutcome outcome;
  const auto now = Clock::now();
  const std::string where = "Secret " + o_.secret_namespace + "/" + o_.secret_name;
  auto existing = client_.get(kube::resources::secrets(), o_.secret_namespace, o_.secret_name);
  if (!existing && !existing.error().not_found())
    return fail("reading " + where + ": " + existing.error().message);
  const Object secret = existing ? *existing : Object::object();
  const std::string old_bundle = secret_value(secret, "ca.crt");
  net::CertificateAndKey ca{"", secret_value(secret, "ca.key")};
  net::CertificateAndKey serving{secret_value(secret, "tls.crt"), secret_value(secret, "tls.key")};

  // The current CA is the first certificate of ca.crt, with ca.key its key.
  std::vector<std::string> bundle_certs;
  if (auto split = net::split_certificates(old_bundle)) bundle_certs = *split;
  std::optional<net::CertificateInfo> ca_info;
  if (!bundle_certs.empty()) {
    ca.cert_pem = bundle_certs.front();
    auto info = net::inspect_certificate(ca.cert_pem);
    if (info && info->is_ca && net::key_matches_certificate(ca.cert_pem, ca.key_pem) &&
        !renewal_due(*info, now, o_.renew_before))
      ca_info = *info;
  }
  std::vector<std::string> bundle;
  if (!ca_info) {
    auto made = net::make_certificate_authority("ebb-ca", "ebb", o_.ca_validity);
    if (!made) return fail("creating the CA for " + where + ": " + made.error().message);
    ca = *made;
    ca_info = net::inspect_certificate(ca.cert_pem).value_or(net::CertificateInfo{});
    outcome.new_ca = true;
    bundle.push_back(ca.cert_pem);
    // The replaced CA stays trusted while it is valid: servers may still serve what it signed
    // until the kubelet refreshes their files.
    if (!bundle_certs.empty()) {
      auto old = net::inspect_certificate(bundle_certs.front());
      if (old && old->is_ca && old->not_after > now) bundle.push_back(bundle_certs.front());
    }
  } else {
    // Keep the bundle as it is, minus CAs that expired since.
    for (const auto& cert : bundle_certs) {
      auto info = net::inspect_certificate(cert);
      if (info && info->not_after > now) bundle.push_back(cert);
    }
  }
  std::string ca_bundle;
  for (const auto& cert : bundle) ca_bundle += cert;

  const auto wanted = dns_names();
  bool serving_ok = !outcome.new_ca && !serving.cert_pem.empty() &&
                    net::key_matches_certificate(serving.cert_pem, serving.key_pem) &&
                    net::certificate_verifies(serving.cert_pem, ca.cert_pem);
  std::optional<net::CertificateInfo> serving_info;
  if (serving_ok) {
    auto info = net::inspect_certificate(serving.cert_pem);
    serving_ok = info && !renewal_due(*info, now, o_.renew_before) &&
                 std::set<std::string>(info->dns_names.begin(), info->dns_names.end()) ==
                     std::set<std::string>(wanted.begin(), wanted.end());
    if (serving_ok) serving_info = *info;
  }
  if (!serving_ok) {
    auto issued = net::issue_serving_certificate(ca, wanted, o_.cert_validity);
    if (!issued)
      return fail("issuing the serving certificate for " + where + ": " + issued.error().message);
    serving = *issued;
    serving_info = net::inspect_certificate(serving.cert_pem).value_or(net::CertificateInfo{});
    outcome.new_certificate = true;
  }
  next_due_ = std::min(ca_info->not_after, serving_info->not_after) - o_.renew_before;

  if (!existing || outcome.new_ca || outcome.new_certificate || ca_bundle != old_bundle) {
    Object updated = secret;
    if (!existing) {
      updated = Object{{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata",
                        {{"name", o_.secret_name},
                         {"namespace", o_.secret_namespace},
                         {"labels", {{"app.kubernetes.io/managed-by", "ebb-operator"}}}}},
                       {"type", "Opaque"}};
    }
    updated["data"] = Object{{"ca.crt", base64_encode(ca_bundle)},
                             {"ca.key", base64_encode(ca.key_pem)},
                             {"tls.crt", base64_encode(serving.cert_pem)},
                             {"tls.key", base64_encode(serving.key_pem)}};
    auto written = existing ? client_.update(kube::resources::secrets(), updated)
                            : client_.create(kube::resources::secrets(), updated);
    if (!written)
      return fail((existing ? "updating " : "creating ") + where + ": " + written.error().message);
    outcome.secret_written = true;
    log_.info("certificates written",
              {{"secret", o_.secret_namespace + "/" + o_.secret_name},
               {"newCA", outcome.new_ca},
               {"newCertificate", outcome.new_certificate},
               {"caNotAfter", format_rfc3339(ca_info->not_after)},
               {"certificateNotAfter", format_rfc3339(serving_info->not_after)},
               {"trustedCAs", static_cast<std::int64_t>(bundle.size())}});
  }
  auto patched = patch_ca_bundles(base64_encode(ca_bundle), outcome);
  if (!patched) return unexpected(patched.error());
  return outcome;
}

Result<void> CertificateRotator::patch_ca_bundles(const std::string& ca_bundle_b64,
                                                  RotationOutcome& outcome) {
  if (!o_.apiservice.empty()) {
    const std::string what = "APIService/" + o_.apiservice;
    auto api = client_.get(apiservices(), "", o_.apiservice);
    if (!api) {
      if (!api.error().not_found()) return fail("reading " + what + ": " + api.error().message);
      outcome.pending.push_back(what);
    } else {
      const auto& spec = json_at(*api, {"spec"});
      const bool insecure = spec.is_object() && spec.value("insecureSkipTLSVerify", false);
      if (json_string(*api, {"spec", "caBundle"}) != ca_bundle_b64 || insecure) {
        // null removes insecureSkipTLSVerify: the API server rejects it next to a caBundle.
        Object patch{{"spec", {{"caBundle", ca_bundle_b64}, {"insecureSkipTLSVerify", nullptr}}}};
        auto done = client_.patch(apiservices(), "", o_.apiservice, kube::PatchType::merge, patch);
        if (!done) return fail("patching the caBundle of " + what + ": " + done.error().message);
        outcome.patched.push_back(what);
        log_.info("caBundle patched", {{"target", what}});
      }
    }
  }
  if (!o_.webhook_configuration.empty()) {
    const std::string what = "ValidatingWebhookConfiguration/" + o_.webhook_configuration;
    auto vwc = client_.get(validating_webhook_configurations(), "", o_.webhook_configuration);
    if (!vwc) {
      if (!vwc.error().not_found()) return fail("reading " + what + ": " + vwc.error().message);
      outcome.pending.push_back(what);
    } else {
      Object updated = *vwc;
      bool changed = false;
      if (updated.contains("webhooks") && updated["webhooks"].is_array()) {
        for (auto& webhook : updated["webhooks"]) {
          if (!webhook.is_object()) continue;
          auto& config = webhook["clientConfig"];
          if (!config.is_object()) config = Object::object();
          if (config.value("caBundle", std::string()) != ca_bundle_b64) {
            config["caBundle"] = ca_bundle_b64;
            changed = true;
          }
        }
      }
      if (changed) {
        // An update carries resourceVersion: a concurrent writer makes it fail, and the next
        // pass starts from what it wrote.
        auto done = client_.update(validating_webhook_configurations(), updated);
        if (!done) return fail("patching the caBundle of " + what + ": " + done.error().message);
        outcome.patched.push_back(what);
        log_.info("caBundle patched", {{"target", what}});
      }
    }
  }
  return {};
}

void CertificateRotator::start() {
  thread_ = std::thread([this] { loop(); });
}

void CertificateRotator::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CertificateRotator::loop() {
  constexpr auto kRetry = std::chrono::seconds(5);
  bool pending_reported = false;
  for (;;) {
    std::chrono::milliseconds wait = o_.check_interval;
    auto outcome = reconcile_once();
    if (!outcome) {
      log_.error("certificate rotation failed, retrying", {{"error", outcome.error().message}});
      wait = std::min<std::chrono::milliseconds>(wait, kRetry);
    } else {
      if (!outcome->pending.empty()) {
        // The chart creates them next to the operator; without them clients cannot verify us.
        if (!pending_reported) {
          std::string targets;
          for (const auto& t : outcome->pending) targets += (targets.empty() ? "" : ",") + t;
          log_.warn("caBundle targets not found yet, retrying", {{"targets", targets}});
          pending_reported = true;
        }
        wait = std::min<std::chrono::milliseconds>(wait, kRetry);
      } else {
        pending_reported = false;
      }
      const auto until_due =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_due_ - Clock::now());
      wait = std::max<std::chrono::milliseconds>(std::min(wait, until_due),
                                                 std::chrono::milliseconds(200));
    }
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace ebb::op::process
