#include "ebb/net/certificates.h"

#include "openssl_util.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace ebb::net {
namespace {

using namespace detail;

BioPtr read_bio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::vector<X509Ptr> parse_all(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = read_bio(pem);
  if (!bio) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    certs.emplace_back(cert);
  // Running out of input is how the loop ends; anything else is a malformed certificate.
  const unsigned long code = ERR_peek_last_error();
  if (code != 0 && ERR_GET_REASON(code) != PEM_R_NO_START_LINE) certs.clear();
  ERR_clear_error();
  return certs;
}

PkeyPtr parse_key(const std::string& pem) {
  BioPtr bio = read_bio(pem);
  if (!bio) return nullptr;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

bool is_ip(const std::string& host, unsigned char* buffer = nullptr) {
  unsigned char scratch[16];
  unsigned char* out = buffer ? buffer : scratch;
  return inet_pton(AF_INET, host.c_str(), out) == 1 || inet_pton(AF_INET6, host.c_str(), out) == 1;
}

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

Result<NamesPtr> general_names(const std::vector<std::string>& hosts, const std::string& what) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return fail(what + ": " + openssl_error());
  for (const auto& raw : hosts) {
    const std::string host = strip_brackets(raw);  // "[::1]", as a URL writes an IPv6 host
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (!name) return fail(what + ": " + openssl_error());
    if (is_ip(host)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
      if (!ip) {
        GENERAL_NAME_free(name);
        return fail(what + ": invalid IP address \"" + raw + "\"");
      }
      GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
    } else {
      // Letters, digits, '-', '.', and '_' / '*' (service records, wildcards); anything else
      // (',' or ':' above all) could smuggle another name into the extension's text form.
      const bool valid =
          !host.empty() && host.size() <= 253 && std::all_of(host.begin(), host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '*';
          });
      if (!valid) {
        GENERAL_NAME_free(name);
        return fail(what + ": invalid host name \"" + raw + "\"");
      }
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (!dns || ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(name);
        return fail(what + ": " + openssl_error());
      }
      GENERAL_NAME_set0_value(name, GEN_DNS, dns);
    }
    sk_GENERAL_NAME_push(names.get(), name);
  }
  return names;
}

// A new certificate for a new key: serial, validity, subject; issuer and signature come later.
// Back-dated by `backdate`: a peer whose clock is slightly behind still accepts a fresh one.
Result<std::pair<X509Ptr, PkeyPtr>> new_certificate(const std::string& common_name,
                                                    const std::string& organization,
                                                    std::chrono::seconds validity,
                                                    const std::string& what,
                                                    std::chrono::seconds backdate = std::chrono::minutes(1)) {
  if (validity.count() <= 0) return fail(what + ": the validity must be positive");
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) return fail(what + ": " + openssl_error());
  X509* x = cert.get();
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1)
    return fail(what + ": " + openssl_error());
  serial_bytes[0] &= 0x7f;  // positive
  serial_bytes[0] |= 0x01;  // and never a leading zero byte
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  bool ok =
      serial && X509_set_version(x, X509_VERSION_3) == 1 &&
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) != nullptr &&
      X509_gmtime_adj(X509_getm_notBefore(x), -static_cast<long>(backdate.count())) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(validity.count())) != nullptr &&
      X509_set_pubkey(x, key.get()) == 1;
  X509_NAME* subject = X509_get_subject_name(x);
  const std::string cn = common_name.substr(0, 64);  // ub-common-name
  if (ok && !organization.empty())
    ok = X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(organization.c_str()),
                                    -1, -1, 0) == 1;
  ok = ok && X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                        0) == 1;
  if (!ok) return fail(what + ": " + openssl_error());
  return std::pair{std::move(cert), std::move(key)};
}

Result<void> add_extensions(X509* cert, X509* issuer,
                            const std::vector<std::pair<int, const char*>>& extensions,
                            const std::string& what) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) return fail(what + ": " + openssl_error());
    const int added = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1) return fail(what + ": " + openssl_error());
  }
  return {};
}

Result<CertificateAndKey> to_pem(X509* cert, EVP_PKEY* key, const std::string& what) {
  BioPtr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail(what + ": " + openssl_error());
  return CertificateAndKey{bio_string(cert_bio.get()), bio_string(key_bio.get())};
}

// The rest of a certificate made by new_certificate: issuer (`issuer`'s subject; the certificate
// itself for a self-signed one), extensions, subjectAltNames when given, the signature with
// `issuer_key`; then the certificate and its own key as PEM.
Result<CertificateAndKey> finish_certificate(
    X509* cert, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
    const std::vector<std::pair<int, const char*>>& extensions, GENERAL_NAMES* sans,
    const std::string& what) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1)
    return fail(what + ": " + openssl_error());
  auto ext = add_extensions(cert, issuer, extensions, what);
  if (!ext) return unexpected(ext.error());
  if ((sans && X509_add1_ext_i2d(cert, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) ||
      X509_sign(cert, issuer_key, EVP_sha256()) == 0)
    return fail(what + ": " + openssl_error());
  return to_pem(cert, key, what);
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

Result<CertificateAndKey> make_certificate_authority(const std::string& common_name,
                                                     const std::string& organization,
                                                     std::chrono::seconds validity) {
  const std::string what = "CA certificate";
  ERR_clear_error();
  auto made = new_certificate(common_name, organization, validity, what);
  if (!made) return unexpected(made.error());
  auto& [cert, key] = *made;
  return finish_certificate(cert.get(), key.get(), cert.get(), key.get(),
                            {{NID_basic_constraints, "critical,CA:TRUE"},
                             {NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"},
                             {NID_subject_key_identifier, "hash"}},
                            nullptr, what);
}

Result<CertificateAndKey> issue_serving_certificate(const CertificateAndKey& ca,
                                                    const std::vector<std::string>& names,
                                                    std::chrono::seconds validity) {
  const std::string what = "serving certificate";
  if (names.empty()) return fail(what + ": no DNS names");
  ERR_clear_error();
  auto ca_certs = parse_all(ca.cert_pem);
  if (ca_certs.empty()) return fail(what + ": the CA certificate is not valid PEM");
  PkeyPtr ca_key = parse_key(ca.key_pem);
  if (!ca_key) return fail(what + ": the CA key is not a valid PEM private key");
  X509* issuer = ca_certs.front().get();
  if (X509_check_private_key(issuer, ca_key.get()) != 1) {
    ERR_clear_error();
    return fail(what + ": the CA key does not match the CA certificate");
  }
  auto sans = general_names(names, what);
  if (!sans) return unexpected(sans.error());
  auto made = new_certificate(names.front(), "", validity, what);
  if (!made) return unexpected(made.error());
  auto& [cert, key] = *made;
  return finish_certificate(cert.get(), key.get(), issuer, ca_key.get(),
                            {{NID_basic_constraints, "critical,CA:FALSE"},
                             {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                             {NID_ext_key_usage, "serverAuth,clientAuth"},
                             {NID_subject_key_identifier, "hash"},
                             {NID_authority_key_identifier, "keyid:always"}},
                            sans->get(), what);
}

Result<std::vector<std::string>> split_certificates(const std::string& pem) {
  auto certs = parse_all(pem);
  if (certs.empty()) return fail("no valid PEM certificate");
  std::vector<std::string> out;
  for (const auto& cert : certs) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return fail(openssl_error());
    out.push_back(bio_string(bio.get()));
  }
  return out;
}

Result<CertificateInfo> inspect_certificate(const std::string& pem) {
  auto certs = parse_all(pem);
  if (certs.empty()) return fail("no valid PEM certificate");
  X509* x = certs.front().get();
  CertificateInfo info;
  info.not_before = to_time_point(X509_get0_notBefore(x));
  info.not_after = to_time_point(X509_get0_notAfter(x));
  info.is_ca = X509_check_ca(x) != 0;
  if (BnPtr serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)}) {
    char* hex = BN_bn2hex(serial.get());
    if (hex) {
      info.serial = hex;
      OPENSSL_free(hex);
    }
  }
  if (NamesPtr names{static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))}) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type == GEN_DNS) {
        const ASN1_STRING* s = name->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      } else if (name->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = name->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        const int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
        if (inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text) != nullptr)
          info.dns_names.emplace_back(text);
      }
    }
  }
  ERR_clear_error();
  return info;
}

bool certificate_verifies(const std::string& cert_pem, const std::string& ca_bundle_pem) {
  auto leaf = parse_all(cert_pem);
  auto cas = parse_all(ca_bundle_pem);
  if (leaf.empty() || cas.empty()) return false;
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx) return false;
  for (const auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  bool ok = X509_STORE_CTX_init(ctx.get(), store.get(), leaf.front().get(), nullptr) == 1 &&
            X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

bool key_matches_certificate(const std::string& cert_pem, const std::string& key_pem) {
  auto certs = parse_all(cert_pem);
  PkeyPtr key = parse_key(key_pem);
  if (certs.empty() || !key) return false;
  const bool ok = X509_check_private_key(certs.front().get(), key.get()) == 1;
  ERR_clear_error();
  return ok;
}

Result<std::pair<std::string, std::string>> make_self_signed_certificate(
    const std::vector<std::string>& hosts) {
  const std::string what = "self-signed certificate";
  if (hosts.empty()) return fail(what + ": no host names");
  ERR_clear_error();
  auto sans = general_names(hosts, what);
  if (!sans) return unexpected(sans.error());
  // An hour back: these are made at start-up, before anyone could fix a skewed clock.
  auto made = new_certificate(strip_brackets(hosts.front()), "", std::chrono::hours(24 * 365), what,
                              std::chrono::hours(1));
  if (!made) return unexpected(made.error());
  auto& [cert, key] = *made;
  // Its own CA, so that clients can trust exactly this certificate as a root (OpenSSL and Go both
  // accept that), and a server certificate for the listed names.
  auto pem = finish_certificate(cert.get(), key.get(), cert.get(), key.get(),
                                {{NID_basic_constraints, "critical,CA:TRUE"},
                                 {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                                 {NID_ext_key_usage, "serverAuth"},
                                 {NID_subject_key_identifier, "hash"}},
                                sans->get(), what);
  if (!pem) return unexpected(pem.error());
  return std::pair{std::move(pem->cert_pem), std::move(pem->key_pem)};
}

}  // namespace ebb::net
