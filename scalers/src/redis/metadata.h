// Connection parameters shared by every Redis trigger type (keda-compat §6.3): addresses or
// hosts+ports, credentials, sentinel settings, database index and TLS, with KEDA's sources and
// its cross-field rules. Each scaler's config derives from ConnectionParams and calls
// add_connection_params() on its table, then build_deployment() after parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/params.h"
#include "redis/types.h"

namespace ebb::scalers::redis {

struct ConnectionParams {
  std::vector<std::string> addresses;
  std::vector<std::string> hosts;
  std::vector<std::string> ports;
  std::string username, password;
  std::string sentinel_username, sentinel_password, sentinel_master;
  std::int64_t database_index = 0;
  std::optional<bool> enable_tls;  // metadata "enableTLS"
  std::optional<std::string> tls;  // authParams "tls": enable | disable
  bool unsafe_ssl = false;
  std::string cert, key, key_password, ca;
};

template <class Config>
void add_connection_params(params::Table<Config>& t) {
  using namespace params;
  using Strings = std::vector<std::string>;
  const Options optional{.optional = true};
  const Options secret{.optional = true, .secret = true};
  t.template add<Strings>(&Config::addresses, "address;addresses", {M, A, E}, optional);
  t.template add<Strings>(&Config::hosts, "host;hosts", {M, E, A}, optional);
  t.template add<Strings>(&Config::ports, "port;ports", {M, E, A}, optional);
  t.template add<std::string>(&Config::username, "username", {M, E, A}, optional);
  t.template add<std::string>(&Config::password, "password", {M, E, A}, secret);
  t.template add<std::string>(&Config::sentinel_username, "sentinelUsername", {M, A, E}, optional);
  t.template add<std::string>(&Config::sentinel_password, "sentinelPassword", {M, A, E}, secret);
  t.template add<std::string>(&Config::sentinel_master, "sentinelMaster", {M, A, E}, optional);
  t.template add<std::int64_t>(&Config::database_index, "databaseIndex", {M}, {.default_value = "0"});
  t.template add<std::optional<bool>>(&Config::enable_tls, "enableTLS", {M}, optional);
  t.template add<std::optional<std::string>>(&Config::tls, "tls", {A},
                                             {.optional = true, .one_of = {"enable", "disable"}});
  t.template add<bool>(&Config::unsafe_ssl, "unsafeSsl", {M}, {.default_value = "false"});
  t.template add<std::string>(&Config::cert, "cert;Cert", {A}, optional);
  t.template add<std::string>(&Config::key, "key", {A}, secret);
  t.template add<std::string>(&Config::key_password, "keyPassword", {A}, secret);
  t.template add<std::string>(&Config::ca, "ca", {A}, optional);
}

// Applies the cross-field rules and produces the Deployment a scaler polls. `mode` comes from
// the trigger type. Errors carry the path of the offending parameter.
Result<Deployment, FieldErrors> build_deployment(const TriggerContext& ctx, const ConnectionParams& p, Mode mode);

// Mode from the trigger type: "redis-cluster…" -> Cluster, "redis-sentinel…" -> Sentinel.
Mode mode_for_type(std::string_view type);
// For TriggerConfig::endpoint(): "redis 127.0.0.1:6379", "redis cluster a:1,b:2", ...
std::string describe_endpoint(const Deployment& d);

}  // namespace ebb::scalers::redis
