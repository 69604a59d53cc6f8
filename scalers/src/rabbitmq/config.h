// Typed configuration of one rabbitmq trigger (keda-compat §6.2). Parsed by the pure step in
// scalers/src/rabbitmq_scaler.cpp; declared here so unit tests can inspect the result.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/scaler.h"
#include "rabbitmq/queue_stats.h"

namespace ebb::scalers::rabbitmq {

enum class Protocol { Amqp, Http };

struct Config {
  std::string queue_name;
  std::string mode_text;  // as written; resolved into `mode`
  double queue_length = 0;
  double value = 0;
  double activation_value = 0;
  std::string host;
  std::string protocol_text = "auto";
  std::string vhost_name;
  bool use_regex = false;
  bool exclude_unacknowledged = false;
  std::int64_t page_size = 100;
  std::string operation = "sum";
  std::chrono::milliseconds timeout{0};  // 0: the global default
  bool unsafe_ssl = false;
  std::string username, password;
  std::string tls = "disable";
  std::string ca, cert, key, key_password;
  std::string workload_identity_resource;
  std::string oauth_token_uri, client_id, client_secret, endpoint_params;
  std::vector<std::string> scopes;

  // Derived by validation.
  Mode mode = Mode::QueueLength;
  Protocol protocol = Protocol::Amqp;
  bool has_oauth2() const { return !oauth_token_uri.empty() && !client_id.empty() && !client_secret.empty(); }
};

// Metadata, auth params and resolved env -> Config, or every problem found (paths relative to
// the trigger, e.g. "metadata.mode").
Result<Config, FieldErrors> parse_config(const TriggerContext& ctx);

}  // namespace ebb::scalers::rabbitmq
