#include "rabbitmq/management_client.h"

#include "ebb/strings.h"
#include "http/client.h"

namespace ebb::scalers::rabbitmq {

Result<QueueStats> fetch_queue_stats(net::HttpClient& client, const ManagementQuery& query,
                                     http::Authenticator* oauth) {
  net::HttpRequest request;
  request.url = query.url();
  request.timeout = query.timeout;
  request.headers.emplace_back("Accept", "application/json");
  if (oauth) {
    if (auto applied = oauth->apply(request, client, query.timeout); !applied) return unexpected(applied.error());
  } else if (query.has_credentials) {
    request.headers.emplace_back("Authorization", "Basic " + base64_encode(query.username + ":" + query.password));
  }

  auto response = client.send(request);
  if (!response) return fail(response.error().message, true);
  if (response->status == 401 && oauth) oauth->unauthorized();
  if (response->status != 200)
    return fail("error requesting RabbitMQ API status: " + std::to_string(response->status) +
                    ", response: " + http::excerpt(response->body) + ", from: " + request.url,
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
