// The HTTP side every HTTP-based scaler shares (prometheus, metrics-api, the rabbitmq
// management API, ...): KEDA's process-wide HTTP settings, the effective timeout of a trigger,
// and one pool of kept-alive connections per TLS configuration, so every trigger that reaches
// the same host with the same TLS settings shares connections. Get the pool with
// pools.get<http::Clients>(); the TLS options come from the trigger's ca/cert/key/keyPassword/
// unsafeSsl parameters (tls_params.h).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ebb/net/http_client.h"

namespace ebb::scalers::http {

// KEDA's environment variables for scaler HTTP clients (keda-compat §6.0):
//   KEDA_HTTP_DEFAULT_TIMEOUT     integer milliseconds, default 3000;
//   KEDA_HTTP_DISABLE_KEEP_ALIVE  Go ParseBool, default false;
//   KEDA_HTTP_MIN_TLS_VERSION     TLS12 (default) or TLS13; TLS10 and TLS11 are refused (Ebb
//                                 never speaks below TLS 1.2) and TLS12 is used.
// An invalid value keeps the default and is listed in `problems`, which the process logs once
// (KEDA exits on an invalid timeout; a scaler setting is not worth a crash loop here).
struct Environment {
  std::chrono::milliseconds default_timeout{3000};
  bool disable_keep_alive = false;
  bool tls13_minimum = false;
  std::vector<std::string> problems;

  static Environment from(const std::function<std::optional<std::string>(const char*)>& getenv);
  // The process's environment, read once.
  static const Environment& process();
};

// A trigger's timeout: its own `timeout` when above 0, else KEDA_HTTP_DEFAULT_TIMEOUT; KEDA
// uses 300 ms when that is 0 or less.
std::chrono::milliseconds effective_timeout(std::chrono::milliseconds trigger_timeout,
                                            const Environment& env = Environment::process());

// One net::HttpClient per TLS configuration, shared by every trigger using it. Clients live as
// long as some scaler holds them.
class Clients {
 public:
  std::shared_ptr<net::HttpClient> get(const net::TlsOptions& tls);

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<net::HttpClient>> clients_;
};

// Error bodies can be whole HTML pages from a proxy: the first 512 bytes, for messages.
std::string excerpt(const std::string& body);

}  // namespace ebb::scalers::http
