#include "http/client.h"

#include <cstdlib>

#include "ebb/strings.h"

namespace ebb::scalers::http {
namespace {

std::string tls_key(const net::TlsOptions& tls) {
  std::string out;
  for (std::string_view field : {std::string_view(tls.enabled ? "1" : "0"),
                                 std::string_view(tls.insecure_skip_verify ? "1" : "0"), std::string_view(tls.ca_pem),
                                 std::string_view(tls.cert_pem), std::string_view(tls.key_pem),
                                 std::string_view(tls.key_password), std::string_view(tls.server_name),
                                 std::string_view(tls.tls13_minimum ? "13" : "12")})
    append_key_field(out, field);
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
  for (auto t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return true;
  for (auto f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return false;
  return std::nullopt;
}

}  // namespace

Environment Environment::from(const std::function<std::optional<std::string>(const char*)>& getenv) {
  Environment env;
  if (auto v = getenv("KEDA_HTTP_DEFAULT_TIMEOUT"); v && !v->empty()) {
    char* end = nullptr;
    const long long ms = std::strtoll(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0')
      env.problems.push_back("KEDA_HTTP_DEFAULT_TIMEOUT=" + ebb::quoted(*v) +
                             " is not an integer number of milliseconds: using 3000");
    else
      env.default_timeout = std::chrono::milliseconds(ms);
  }
  if (auto v = getenv("KEDA_HTTP_DISABLE_KEEP_ALIVE"); v && !v->empty()) {
    if (auto b = parse_go_bool(*v))
      env.disable_keep_alive = *b;
    else
      env.problems.push_back("KEDA_HTTP_DISABLE_KEEP_ALIVE=" + ebb::quoted(*v) + " is not a boolean: keeping connections alive");
  }
  if (auto v = getenv("KEDA_HTTP_MIN_TLS_VERSION"); v && !v->empty()) {
    if (*v == "TLS13")
      env.tls13_minimum = true;
    else if (*v != "TLS12")
      env.problems.push_back("KEDA_HTTP_MIN_TLS_VERSION=" + ebb::quoted(*v) +
                             (*v == "TLS10" || *v == "TLS11" ? std::string(": Ebb never speaks below TLS 1.2")
                                                             : std::string(" is not one of TLS12, TLS13")) +
                             ": using TLS12");
  }
  return env;
}

const Environment& Environment::process() {
  static const Environment env = from([](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (!v) return std::nullopt;
    return std::string(v);
  });
  return env;
}

std::chrono::milliseconds effective_timeout(std::chrono::milliseconds trigger_timeout, const Environment& env) {
  const auto t = trigger_timeout.count() > 0 ? trigger_timeout : env.default_timeout;
  return t.count() > 0 ? t : std::chrono::milliseconds(300);
}

std::shared_ptr<net::HttpClient> Clients::get(const net::TlsOptions& given) {
  const auto& env = Environment::process();
  net::TlsOptions tls = given;
  tls.tls13_minimum = tls.tls13_minimum || env.tls13_minimum;
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = clients_[tls_key(tls)];
  if (auto existing = slot.lock()) return existing;
  net::HttpClientOptions options;
  options.tls = tls;
  if (env.disable_keep_alive) options.max_idle_per_host = 0;
  auto created = std::make_shared<net::HttpClient>(options);
  slot = created;
  return created;
}

std::string excerpt(const std::string& body) {
  constexpr std::size_t kMax = 512;
  return body.size() <= kMax ? body : body.substr(0, kMax) + "...";
}

}  // namespace ebb::scalers::http
