// A private certificate authority and the serving certificates it signs, for a process that
// manages its own TLS (the operator's certificate rotation): generate, inspect, verify. Keys are
// EC P-256; everything is PEM text. Errors name what failed, never key material.
//
// This header stays free of OpenSSL: only src/certificates.cpp includes it.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ebb/result.h"

namespace ebb::net {

struct CertificateAndKey {
  std::string cert_pem, key_pem;
};

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign) valid from now (back-dated
// one minute for clock skew) for `validity`.
Result<CertificateAndKey> make_certificate_authority(const std::string& common_name,
                                                     const std::string& organization,
                                                     std::chrono::seconds validity);

// A serving certificate (serverAuth and clientAuth, CN = the first name) for `names` (DNS names
// or IP addresses, as subjectAltNames), signed by `ca`.
Result<CertificateAndKey> issue_serving_certificate(const CertificateAndKey& ca,
                                                    const std::vector<std::string>& names,
                                                    std::chrono::seconds validity);

// A self-signed certificate (EC P-256, 1 year, its own CA) for `hosts` (DNS names and IP
// addresses, "[::1]" too, as subjectAltNames; CN = the first): {cert PEM, key PEM}. For a process
// that serves TLS before it has been given a certificate.
Result<std::pair<std::string, std::string>> make_self_signed_certificate(
    const std::vector<std::string>& hosts);

struct CertificateInfo {
  std::chrono::system_clock::time_point not_before, not_after;
  std::vector<std::string> dns_names;  // subjectAltName DNS and IP entries, in order
  std::string serial;                  // hex
  bool is_ca = false;
};

// The first certificate of a PEM bundle.
Result<CertificateInfo> inspect_certificate(const std::string& pem);
// Every certificate of a PEM bundle, in order (an error when there is none or one is malformed).
Result<std::vector<std::string>> split_certificates(const std::string& pem);

// True when the first certificate of `cert_pem` chains to a CA of `ca_bundle_pem` and is within
// its validity now.
bool certificate_verifies(const std::string& cert_pem, const std::string& ca_bundle_pem);
// True when `key_pem` is the private key of the first certificate of `cert_pem`.
bool key_matches_certificate(const std::string& cert_pem, const std::string& key_pem);

}  // namespace ebb::net
