// RabbitMQ management HTTP API access for the rabbitmq scaler's HTTP protocol.
//
// HTTP clients keep keep-alive connections per host, so one client per TLS configuration is
// shared by all triggers (HttpClientPool); credentials travel per request.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ebb/net/http_client.h"
#include "ebb/result.h"
#include "rabbitmq/queue_stats.h"

namespace ebb::scalers::rabbitmq {

class HttpClientPool {
 public:
  std::shared_ptr<net::HttpClient> get(const net::TlsOptions& tls);

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<net::HttpClient>> clients_;
};

// Fetches and combines the queue statistics. Errors name the URL (which holds no credentials).
Result<QueueStats> fetch_queue_stats(net::HttpClient& client, const ManagementQuery& query);

}  // namespace ebb::scalers::rabbitmq
