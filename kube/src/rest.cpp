#include "ebb/kube/rest.h"

#include <charconv>
#include <thread>

#include "encoding.h"
#include "ebb/strings.h"

namespace ebb::kube {
namespace {

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(net::HttpClientOptions options) : client_(std::move(options)) {}
  Result<net::HttpResponse> send(const net::HttpRequest& request, bool& request_sent) override {
    return client_.send(request, request_sent);
  }
  Result<void> stream(const net::HttpRequest& request, net::Timeout idle_timeout,
                      const net::HttpStreamHandlers& handlers, bool& request_sent) override {
    return client_.stream(request, idle_timeout, handlers, &request_sent);
  }

 private:
  net::HttpClient client_;
};

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
}

}  // namespace

std::unique_ptr<Transport> make_http_transport(const Config& config, std::size_t max_idle_per_host) {
  net::HttpClientOptions options;
  options.tls.ca_pem = config.ca_pem;
  options.tls.cert_pem = config.cert_pem;
  options.tls.key_pem = config.key_pem;
  options.tls.insecure_skip_verify = config.insecure_skip_tls_verify;
  options.tls.server_name = config.tls_server_name;
  options.max_idle_per_host = max_idle_per_host;
  return std::make_unique<HttpTransport>(std::move(options));
}

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  value = trim(value);
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

RestClient::RestClient(Config config, RestOptions options)
    : RestClient(config, options, make_http_transport(config, options.max_idle_per_host)) {}

RestClient::RestClient(Config config, RestOptions options, std::unique_ptr<Transport> transport)
    : config_(std::move(config)),
      options_(std::move(options)),
      transport_(std::move(transport)),
      bucket_(options_.qps, options_.burst),
      rng_(std::random_device{}()) {}

RestClient::~RestClient() = default;

std::string RestClient::target(const std::string& path,
                               const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out = path;
  char sep = '?';
  for (const auto& [key, value] : query) {
    out += sep;
    out += net::url_escape_component(key);
    out += '=';
    out += net::url_escape_component(value);
    sep = '&';
  }
  return out;
}

Result<net::HttpRequest> RestClient::build(const RestRequest& request, Clock::time_point deadline) {
  net::HttpRequest http;
  http.method = request.method;
  http.url = config_.server + target(request.path, request.query);
  http.timeout = std::max(left_until(deadline), std::chrono::milliseconds(1));
  http.headers.emplace_back("Accept", "application/json");
  http.headers.emplace_back("User-Agent", options_.user_agent);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    http.headers.emplace_back("Content-Type",
                              request.content_type.empty() ? "application/json" : request.content_type);
  }
  if (config_.token) {
    auto token = config_.token->current();
    if (!token) return unexpected(token.error());
    if (!token->empty()) http.headers.emplace_back("Authorization", "Bearer " + *token);
  } else if (!config_.username.empty()) {
    http.headers.emplace_back("Authorization",
                              "Basic " + detail::base64_encode(config_.username + ":" + config_.password));
  }
  http.body = request.body;
  return http;
}

std::chrono::milliseconds RestClient::retry_delay(int retry, const std::string& retry_after) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(rng_mutex_);
    delay = options_.backoff.delay(retry, rng_);
  }
  if (auto server = parse_retry_after(retry_after)) {
    const auto wanted = std::chrono::milliseconds(std::min(*server, options_.max_retry_after));
    delay = std::max(delay, wanted);
  }
  return delay;
}

ApiResult<RestResponse> RestClient::call(const RestRequest& request) {
  const auto deadline = Clock::now() + request.timeout.value_or(options_.timeout);
  const std::string what = request.method + " " + request.path;
  std::optional<ApiError> last;
  bool token_refreshed = false;
  for (int attempt = 0; attempt < std::max(options_.max_attempts, 1); ++attempt) {
    const auto wait_start = Clock::now();
    if (!bucket_.wait(deadline)) {
      if (last) return unexpected(*last);
      return api_fail(0, "Timeout", what + ": the client-side rate limit (" + std::to_string(options_.qps) +
                                        " QPS) would delay it past its deadline", true);
    }
    stats_.throttled_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - wait_start).count();

    auto http = build(request, deadline);
    if (!http) return api_fail(0, "", what + ": " + http.error().message);
    bool sent = false;
    ++stats_.requests;
    auto response = transport_->send(*http, sent);

    bool retryable = false;
    std::string retry_after;
    if (!response) {
      last = ApiError{0, "", what + ": " + response.error().message, true};
      retryable = !sent || is_idempotent(request.method);
    } else if (response->status >= 200 && response->status < 300) {
      return RestResponse{response->status, std::move(response->body), std::move(response->headers)};
    } else {
      last = error_from_response(what, response->status, response->body);
      retry_after = response->header("Retry-After");
      const int code = response->status;
      retryable = code == 429 || (code >= 500 && code != 501 && is_idempotent(request.method));
      // A rotated token file may have been read just before it changed: re-read once.
      if (code == 401 && config_.token && !config_.token->path().empty() && !token_refreshed) {
        config_.token->invalidate();
        token_refreshed = true;
        retryable = true;
      }
    }
    if (!retryable || attempt + 1 >= options_.max_attempts) break;
    const auto delay = retry_delay(attempt, retry_after);
    if (Clock::now() + delay >= deadline) break;
    std::this_thread::sleep_for(delay);
    ++stats_.retries;
  }
  return unexpected(*last);
}

ApiResult<void> RestClient::stream(const RestRequest& request,
                                   std::chrono::milliseconds idle_timeout,
                                   const std::function<bool(std::string_view)>& on_data,
                                   std::shared_ptr<net::HttpStreamCancel> cancel,
                                   const std::function<bool()>& on_open) {
  const auto deadline = Clock::now() + request.timeout.value_or(options_.timeout);
  const std::string what = request.method + " " + request.path;
  if (!bucket_.wait(deadline)) {
    return api_fail(0, "Timeout", what + ": the client-side rate limit would delay it past its deadline", true);
  }
  auto http = build(request, deadline);
  if (!http) return api_fail(0, "", what + ": " + http.error().message);
  int status = 0;
  bool accepted = false;  // a 2xx head
  std::string error_body;
  net::HttpStreamHandlers handlers;
  handlers.cancel = std::move(cancel);
  handlers.on_head = [&](const net::HttpResponse& head) {
    status = head.status;
    accepted = status >= 200 && status < 300;
    return !accepted || !on_open || on_open();
  };
  handlers.on_data = [&](std::string_view data) {
    if (accepted) return on_data(data);
    if (error_body.size() < (1u << 20)) error_body.append(data);
    return true;
  };
  bool sent = false;
  ++stats_.requests;
  auto streamed = transport_->stream(*http, idle_timeout, handlers, sent);
  if (status != 0 && !accepted) return unexpected(error_from_response(what, status, error_body));
  if (!streamed) return api_fail(0, "", what + ": " + streamed.error().message, true);
  return {};
}

}  // namespace ebb::kube
