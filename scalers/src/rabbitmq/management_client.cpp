#include "rabbitmq/management_client.h"

#include "ebb/scalers/registry.h"
#include "ebb/strings.h"

namespace ebb::scalers::rabbitmq {

namespace {

std::string tls_key(const net::TlsOptions& tls) {
  std::string out;
  for (std::string_view field : {std::string_view(tls.enabled ? "1" : "0"),
                                 std::string_view(tls.insecure_skip_verify ? "1" : "0"), std::string_view(tls.ca_pem),
                                 std::string_view(tls.cert_pem), std::string_view(tls.key_pem),
                                 std::string_view(tls.key_password), std::string_view(tls.server_name)})
    append_key_field(out, field);
  return out;
}

// Error bodies can be whole HTML pages from a proxy; keep messages readable.
std::string excerpt(const std::string& body) {
  constexpr std::size_t kMax = 512;
  return body.size() <= kMax ? body : body.substr(0, kMax) + "...";
}

}  // namespace

std::shared_ptr<net::HttpClient> HttpClientPool::get(const net::TlsOptions& tls) {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = clients_[tls_key(tls)];
  if (auto existing = slot.lock()) return existing;
  net::HttpClientOptions options;
  options.tls = tls;
  auto created = std::make_shared<net::HttpClient>(options);
  slot = created;
  return created;
}

Result<QueueStats> fetch_queue_stats(net::HttpClient& client, const ManagementQuery& query) {
  net::HttpRequest request;
  request.url = query.url();
  request.timeout = query.timeout;
  request.headers.emplace_back("Accept", "application/json");
  if (query.has_credentials)
    request.headers.emplace_back("Authorization", "Basic " + base64_encode(query.username + ":" + query.password));

  auto response = client.send(request);
  if (!response) return fail(response.error().message, true);
  if (response->status != 200)
    return fail("error requesting RabbitMQ API status: " + std::to_string(response->status) +
                    ", response: " + excerpt(response->body) + ", from: " + request.url,
                true);
  if (!query.use_regex) {
    auto stats = parse_queue_json(response->body);
    if (!stats) return fail(stats.error().message + ", from: " + request.url, stats.error().transient);
    return stats;
  }
  auto queues = parse_queue_list_json(response->body);
  if (!queues) return fail(queues.error().message + ", from: " + request.url, queues.error().transient);
  return combine(*queues, query.operation);
}

}  // namespace ebb::scalers::rabbitmq
