#include "etcd/gateway.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "ebb/strings.h"
#include "http/client.h"

namespace ebb::scalers::etcd {

using nlohmann::json;

namespace {

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  const long n = std::strtol(std::string(p).c_str(), nullptr, 10);
  return n >= 1 && n <= 65535;
}

bool valid_host(std::string_view h) {
  if (h.empty()) return false;
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return false;
    for (char c : h.substr(1, h.size() - 2))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    return true;
  }
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_')
      return false;
  return true;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

}  // namespace

std::optional<std::string> endpoint_url(std::string_view endpoint, bool tls) {
  std::string scheme = tls ? "https" : "http";
  if (endpoint.starts_with("http://")) {
    scheme = "http";
    endpoint.remove_prefix(7);
  } else if (endpoint.starts_with("https://")) {
    scheme = "https";
    endpoint.remove_prefix(8);
  }
  if (endpoint.ends_with('/')) endpoint.remove_suffix(1);
  const auto colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto host = endpoint.substr(0, colon);
  if (!valid_host(host) || !valid_port(endpoint.substr(colon + 1))) return std::nullopt;
  return scheme + "://" + std::string(endpoint);
}

std::string range_body(std::string_view key) {
  return json{{"key", base64_encode(key)}}.dump();
}

std::string watch_body(std::string_view key) {
  return json{{"create_request", {{"key", base64_encode(key)}, {"progress_notify", true}}}}.dump();
}

std::string authenticate_body(std::string_view user, std::string_view password) {
  return json{{"name", std::string(user)}, {"password", std::string(password)}}.dump();
}

std::string gateway_error(int status, std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_object()) {
    for (const char* member : {"message", "error"}) {
      auto it = doc.find(member);
      if (it != doc.end() && it->is_string() && !it->get<std::string>().empty())
        return it->get<std::string>();
    }
  }
  return "HTTP " + std::to_string(status) + ": " + http::excerpt(std::string(body));
}

Result<std::optional<std::string>> decode_range(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object())
    return fail("the range answer is not a JSON object: " + http::excerpt(std::string(body)));
  auto kvs = doc.find("kvs");
  if (kvs == doc.end() || kvs->is_null()) return std::optional<std::string>();
  if (!kvs->is_array()) return fail("the range answer's kvs is not an array");
  if (kvs->empty()) return std::optional<std::string>();
  const json& first = kvs->front();
  if (!first.is_object()) return fail("the range answer's kvs[0] is not an object");
  auto value = first.find("value");
  if (value == first.end() || value->is_null()) return std::optional<std::string>(std::string());
  if (!value->is_string()) return fail("the range answer's value is not a base64 string");
  auto decoded = base64_decode(value->get<std::string>());
  if (!decoded) return fail("the range answer's value is not valid base64");
  return std::optional<std::string>(std::move(*decoded));
}

Result<WatchMessage> decode_watch_message(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object())
    return fail("a watch message is not a JSON object: " + http::excerpt(std::string(text)));
  WatchMessage m;
  if (auto error = doc.find("error"); error != doc.end() && !error->is_null()) {
    if (error->is_object()) {
      auto message = error->find("message");
      m.error = message != error->end() && message->is_string() ? message->get<std::string>()
                                                                : error->dump();
    } else {
      m.error = error->is_string() ? error->get<std::string>() : error->dump();
    }
    if (m.error.empty()) m.error = "watch stream error";
    return m;
  }
  auto result = doc.find("result");
  if (result == doc.end() || !result->is_object())
    return fail("a watch message has no result: " + http::excerpt(std::string(text)));
  m.created = result->value("created", false);
  m.canceled = result->value("canceled", false);
  if (auto reason = result->find("cancel_reason"); reason != result->end() && reason->is_string())
    m.cancel_reason = reason->get<std::string>();
  if (auto rev = result->find("compact_revision"); rev != result->end()) {
    if (rev->is_string())
      m.compact_revision = std::strtoll(rev->get<std::string>().c_str(), nullptr, 10);
    else if (rev->is_number_integer())
      m.compact_revision = rev->get<std::int64_t>();
  }
  if (auto events = result->find("events"); events != result->end() && events->is_array())
    m.events = events->size();
  return m;
}

bool JsonObjectSplitter::feed(std::string_view data,
                              const std::function<bool(std::string_view)>& on_object) {
  for (char c : data) {
    if (depth_ == 0 && c != '{') continue;  // separators between objects
    pending_ += c;
    if (in_string_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        in_string_ = false;
      continue;
    }
    if (c == '"')
      in_string_ = true;
    else if (c == '{')
      ++depth_;
    else if (c == '}' && --depth_ == 0) {
      const std::string object = std::move(pending_);
      pending_.clear();
      if (!on_object(object)) return false;
    }
  }
  return true;
}

// --- requests ----------------------------------------------------------------------------------

std::string Tokens::key(const std::string& endpoint, const std::string& user,
                        const std::string& password) {
  std::string k;
  append_key_field(k, endpoint);
  append_key_field(k, user);
  append_key_field(k, password);
  return k;
}

Result<std::optional<std::string>> Tokens::get(net::HttpClient& client, const std::string& endpoint,
                                               const std::string& user, const std::string& password,
                                               net::Timeout timeout) {
  const std::string k = key(endpoint, user, password);
  {
    std::lock_guard lock(mutex_);
    if (auto it = tokens_.find(k); it != tokens_.end()) return it->second;
  }
  net::HttpRequest request;
  request.method = "POST";
  request.url = endpoint + "/v3/auth/authenticate";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = authenticate_body(user, password);
  request.timeout = timeout;
  auto response = client.send(request);
  if (!response)
    return fail("authenticating at " + endpoint + ": " + response.error().message, true);
  std::optional<std::string> token;
  if (response->status < 200 || response->status > 299) {
    const std::string message = gateway_error(response->status, response->body);
    // clientv3 tolerates a server without auth: it just sends no token.
    if (!contains(message, "authentication is not enabled"))
      return fail("authenticating at " + endpoint + " as " + ebb::quoted(user) + ": " + message,
                  response->status >= 500);
  } else {
    const json doc = json::parse(response->body, nullptr, false);
    auto t = doc.is_object() ? doc.find("token") : doc.end();
    if (!doc.is_object() || t == doc.end() || !t->is_string() || t->get<std::string>().empty())
      return fail("authenticating at " + endpoint + ": the answer has no token", true);
    token = t->get<std::string>();
  }
  std::lock_guard lock(mutex_);
  tokens_[k] = token;
  return token;
}

void Tokens::drop(const std::string& endpoint, const std::string& user,
                  const std::string& password) {
  std::lock_guard lock(mutex_);
  tokens_.erase(key(endpoint, user, password));
}

Result<std::optional<std::string>> read_key(net::HttpClient& client, Tokens& tokens,
                                            const std::string& endpoint,
                                            const Credentials& credentials, const std::string& key,
                                            net::Timeout timeout) {
  for (int attempt = 0;; ++attempt) {
    net::HttpRequest request;
    request.method = "POST";
    request.url = endpoint + "/v3/kv/range";
    request.headers = {{"Content-Type", "application/json"}};
    request.body = range_body(key);
    request.timeout = timeout;
    if (credentials.given()) {
      auto token = tokens.get(client, endpoint, credentials.user, credentials.password, timeout);
      if (!token) return unexpected(token.error());
      if (*token) request.headers.emplace_back("Authorization", **token);
    }
    auto response = client.send(request);
    if (!response) return fail(endpoint + ": " + response.error().message, true);
    if (response->status >= 200 && response->status <= 299) {
      auto value = decode_range(response->body);
      if (!value) return fail(endpoint + ": " + value.error().message, true);
      return value;
    }
    const std::string message = gateway_error(response->status, response->body);
    // An expired token, or auth enabled since we learnt it was off: log in again, once.
    const bool stale_login =
        contains(message, "invalid auth token") || contains(message, "user name is empty");
    if (credentials.given() && stale_login && attempt == 0) {
      tokens.drop(endpoint, credentials.user, credentials.password);
      continue;
    }
    return fail(endpoint + ": " + message, response->status >= 500 || response->status == 429);
  }
}

}  // namespace ebb::scalers::etcd
