#include "redis/metadata.h"

#include "ebb/strings.h"
#include "tls_params.h"

namespace ebb::scalers::redis {

namespace {

using params::A;
using params::E;
using params::M;

void parse_addresses(const TriggerContext& ctx, const ConnectionParams& p, Deployment& d, FieldErrors& errors) {
  if (!p.addresses.empty()) {
    const auto path = params::path_of(ctx, "address;addresses", {M, A, E});
    for (const auto& a : p.addresses) {
      if (auto ep = parse_endpoint(a))
        d.addresses.push_back(*ep);
      else
        errors.push_back({path, "address " + ep.error().message});
    }
    return;
  }
  if (p.hosts.empty()) {
    errors.push_back({"metadata.address",
                      "no addresses or hosts given: set address (a comma-separated list of host:port) or host "
                      "and port"});
    return;
  }
  const auto hosts_path = params::path_of(ctx, "host;hosts", {M, E, A});
  if (p.hosts.size() != p.ports.size()) {
    errors.push_back({params::path_of(ctx, "port;ports", {M, E, A}),
                      "not enough hosts or ports given: " + std::to_string(p.hosts.size()) + " host(s) and " +
                          std::to_string(p.ports.size()) + " port(s); every host needs its port"});
    return;
  }
  for (std::size_t i = 0; i < p.hosts.size(); ++i) {
    if (auto ep = parse_endpoint(join_host_port(p.hosts[i], p.ports[i])))
      d.addresses.push_back(*ep);
    else
      errors.push_back({hosts_path, "host and port " + ep.error().message});
  }
}

void parse_tls(const ConnectionParams& p, Deployment& d, FieldErrors& errors) {
  if (p.enable_tls && p.tls) {
    errors.push_back({"authParams.tls",
                      "TLS is set both by enableTLS in the trigger metadata and by tls in the trigger "
                      "authentication; set only one of them"});
    return;
  }
  if (p.cert.empty() != p.key.empty())
    errors.push_back({p.cert.empty() ? "authParams.cert" : "authParams.key", "cert and key must be given together"});
  d.tls.enabled = p.enable_tls.value_or(false) || p.tls.value_or("") == "enable";
  if (!d.tls.enabled) return;
  apply_tls_params(p, d.tls);
}

}  // namespace

Mode mode_for_type(std::string_view type) {
  if (type.starts_with("redis-cluster")) return Mode::Cluster;
  if (type.starts_with("redis-sentinel")) return Mode::Sentinel;
  return Mode::Standalone;
}

std::string describe_endpoint(const Deployment& d) { return "redis " + d.describe(); }

Result<Deployment, FieldErrors> build_deployment(const TriggerContext& ctx, const ConnectionParams& p, Mode mode) {
  FieldErrors errors;
  Deployment d;
  d.mode = mode;
  parse_addresses(ctx, p, d, errors);
  parse_tls(p, d, errors);
  if (p.database_index < 0) errors.push_back({"metadata.databaseIndex", "must not be negative"});
  if (mode == Mode::Sentinel && p.sentinel_master.empty())
    errors.push_back({"metadata.sentinelMaster",
                      "missing required parameter \"sentinelMaster\" in [triggerMetadata authParams resolvedEnv]"});
  if (!errors.empty()) return unexpected(std::move(errors));
  d.username = p.username;
  d.password = p.password;
  d.sentinel_username = p.sentinel_username;
  d.sentinel_password = p.sentinel_password;
  d.sentinel_master = p.sentinel_master;
  d.db = mode == Mode::Cluster ? 0 : p.database_index;  // clusters only have database 0
  return d;
}

}  // namespace ebb::scalers::redis
