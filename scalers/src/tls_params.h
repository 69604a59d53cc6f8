// KEDA's TLS helper parameters (keda-compat §6.0, pkg/util/tls_config.go) as every scaler's
// config declares them: PEM `ca`, `cert`, `key`, `keyPassword` (contents, not paths) and
// `unsafeSsl`. Whether TLS is on, and which of these apply when, stays each scaler's rule
// (KEDA's scalers differ there); how the parameters map onto the TLS options is the same
// everywhere, so it is written once.
#pragma once

#include "ebb/net/stream.h"

namespace ebb::scalers {

// Copies unsafeSsl and the PEM texts of `c` into `tls`; leaves `enabled` and `server_name`.
template <class Config>
void apply_tls_params(const Config& c, net::TlsOptions& tls) {
  tls.insecure_skip_verify = c.unsafe_ssl;
  tls.ca_pem = c.ca;
  tls.cert_pem = c.cert;
  tls.key_pem = c.key;
  tls.key_password = c.key_password;
}

}  // namespace ebb::scalers
