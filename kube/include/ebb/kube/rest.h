// The REST layer: one HTTP request to the API server with authentication, a deadline, the
// client-side rate limit, and retries. Everything above (typed operations, watch, informers)
// goes through RestClient; nothing else talks to net::HttpClient.
//
// Retry policy (each attempt waits for the rate limiter; the whole call keeps one deadline):
// - 429 Too Many Requests: any verb. The API server (max-in-flight, priority and fairness)
//   sends 429 before running the request, so repeating it cannot apply a write twice.
// - 5xx and transport failures after the request was sent: idempotent verbs only
//   (GET, HEAD, PUT, DELETE, OPTIONS): a POST or PATCH may have been applied.
// - transport failures before any byte was sent (DNS, connect, TLS): any verb.
// Retry-After (seconds) is honoured as the minimum wait; otherwise exponential backoff with
// jitter. A retry that could not finish before the deadline is not started.
//
// Rate limit defaults (qps 300, burst 600): reads in Ebb come from informer caches, so API
// traffic is writes (HPA apply, status patches, /scale) plus the informers' initial paged
// lists. A cold start of 10,000 ScaledObjects costs about 2-3 requests per object:
// ~25,000 requests take ~80 s at 300 QPS, where KEDA's 20 QPS needs ~21 minutes
// (KEDA #3730, #3810). Steady state is far below 300 QPS, so the limit only guards against a
// runaway loop; server-side API Priority and Fairness protects the API server itself.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ebb/kube/config.h"
#include "ebb/kube/errors.h"
#include "ebb/kube/rate_limit.h"
#include "ebb/net/http_client.h"

namespace ebb::kube {

struct RestOptions {
  double qps = 300;
  int burst = 600;
  std::chrono::milliseconds timeout{30'000};  // per call, all attempts together
  int max_attempts = 6;                        // first try plus retries
  Backoff backoff;
  std::chrono::seconds max_retry_after{60};  // a larger Retry-After is clamped
  std::string user_agent = "ebb";
  std::size_t max_idle_per_host = 32;
};

// The transport below RestClient. Tests substitute it to script responses.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<net::HttpResponse> send(const net::HttpRequest& request, bool& request_sent) = 0;
  virtual Result<void> stream(const net::HttpRequest& request, net::Timeout idle_timeout,
                              const net::HttpStreamHandlers& handlers, bool& request_sent) = 0;
};
// net::HttpClient with the config's TLS settings.
std::unique_ptr<Transport> make_http_transport(const Config& config, std::size_t max_idle_per_host);

struct RestRequest {
  std::string method = "GET";
  std::string path;  // "/api/v1/namespaces/x/pods"
  std::vector<std::pair<std::string, std::string>> query;  // unescaped; encoded here
  std::string body;
  std::string content_type;  // defaults to application/json when there is a body
  std::optional<std::chrono::milliseconds> timeout;  // overrides RestOptions::timeout
};

struct RestResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct RestStats {
  std::atomic<std::uint64_t> requests{0};  // attempts sent
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::int64_t> throttled_ns{0};  // total time spent waiting for the rate limiter
};

class RestClient {
 public:
  RestClient(Config config, RestOptions options = {});
  // For tests: a scripted transport.
  RestClient(Config config, RestOptions options, std::unique_ptr<Transport> transport);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // Any 2xx is success; anything else is an ApiError decoded from the Status body.
  ApiResult<RestResponse> call(const RestRequest& request);

  // A streaming GET (watch). Not retried here: the watch loop resumes with its own
  // resourceVersion logic. Non-2xx responses are read whole and returned as ApiError.
  // `on_data` returning false stops the stream (ok result); so does `on_open`, called once on a
  // 2xx head before the body is read.
  ApiResult<void> stream(const RestRequest& request, std::chrono::milliseconds idle_timeout,
                         const std::function<bool(std::string_view)>& on_data,
                         std::shared_ptr<net::HttpStreamCancel> cancel = nullptr,
                         const std::function<bool()>& on_open = {});

  const Config& config() const { return config_; }
  const RestOptions& options() const { return options_; }
  const RestStats& stats() const { return stats_; }
  TokenBucket& rate_limiter() { return bucket_; }

  // "path?k=v&..." with each key and value percent-encoded.
  static std::string target(const std::string& path, const std::vector<std::pair<std::string, std::string>>& query);

 private:
  Result<net::HttpRequest> build(const RestRequest& request, Clock::time_point deadline);
  std::chrono::milliseconds retry_delay(int retry, const std::string& retry_after);

  Config config_;
  RestOptions options_;
  std::unique_ptr<Transport> transport_;
  TokenBucket bucket_;
  RestStats stats_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
};

bool is_idempotent(std::string_view method);
// Parses Retry-After as delta-seconds; nullopt for anything else (HTTP-dates are not sent by
// the API server).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace ebb::kube
