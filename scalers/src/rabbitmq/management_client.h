// RabbitMQ management HTTP API access for the rabbitmq scaler's HTTP protocol, on the HTTP
// clients every HTTP scaler shares (http/client.h); credentials travel per request: Basic
// auth, or an OAuth2 client-credentials token (http/auth.h).
#pragma once

#include "ebb/net/http_client.h"
#include "ebb/result.h"
#include "http/auth.h"
#include "rabbitmq/queue_stats.h"

namespace ebb::scalers::rabbitmq {

// Fetches and combines the queue statistics; with `oauth`, the request carries its bearer token
// (a 401 drops the cached token, so the next poll fetches a new one). Errors name the URL
// (which holds no credentials).
Result<QueueStats> fetch_queue_stats(net::HttpClient& client, const ManagementQuery& query,
                                     http::Authenticator* oauth = nullptr);

}  // namespace ebb::scalers::rabbitmq
