// The nats-jetstream trigger's I/O-free core (KEDA pkg/scalers/nats_jetstream_scaler.go): the
// monitoring URLs, the decoding of /jsz and /varz answers, and the per-query algorithm with its
// clustered-server leader lookup, written against a Fetch function so tests drive it with
// fixtures. nats_jetstream_scaler.cpp runs it over the shared HTTP clients.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::nats {

// --- URLs (KEDA getNATSJetStreamMonitoring*URL) ------------------------------------------------

// "<scheme>://<endpoint>/jsz?acc=<QueryEscape(accountID)>&config=true&consumers=true".
std::string monitoring_url(bool use_https, std::string_view endpoint, std::string_view account_id);

// The configured natsServerMonitoringEndpoint, "host", "host:port" or "[v6]:port".
struct MonitoringEndpoint {
  std::string scheme;    // "http" or "https"
  std::string endpoint;  // as configured
  std::string host;      // without brackets
  std::string port;      // "" when none was given
};
// Nullopt when `endpoint` is not host[:port] (a path, user info, blanks, a bad port).
std::optional<MonitoringEndpoint> parse_endpoint(bool use_https, std::string_view endpoint);

// The host of a URL as /varz lists them ("nats-1.nats:4222", "10.0.0.1:6222", "[::1]:4222",
// "nats://host:4222"), without scheme, port and brackets. KEDA splits at the first ':', which
// breaks IPv6; this does not.
std::string url_host(std::string_view url);
bool is_ip_address(std::string_view host);

// --- answers ---------------------------------------------------------------------------------

struct ConsumerDetail {
  std::string name;
  std::int64_t num_pending = 0;
  std::int64_t num_ack_pending = 0;
  std::string leader;  // cluster.leader: the server leading the consumer (also set standalone)
};
struct StreamDetail {
  std::string name;
  std::vector<ConsumerDetail> consumers;
};
struct AccountDetail {
  std::string id, name;
  std::vector<StreamDetail> streams;
};
struct Jsz {
  int cluster_size = 0;  // meta_cluster.cluster_size; 0 for a standalone server
  std::vector<AccountDetail> accounts;
};
struct Varz {
  std::vector<std::string> connect_urls;
  std::vector<std::string> cluster_urls;
  std::string server_name;
};
// Go encoding/json semantics for the fields KEDA reads: keys match case-insensitively (an exact
// match first), unknown keys are ignored, absent or null members are empty. A body that is not
// one JSON object (including `null`, on which KEDA panics) or a member of the wrong type is an
// error.
Result<Jsz> parse_jsz(std::string_view body);
Result<Varz> parse_varz(std::string_view body);

// --- the query -------------------------------------------------------------------------------

struct Target {
  std::string account;     // may be empty
  std::string account_id;  // defaults to account
  std::string stream;
  std::string consumer;
};

// A 2xx body, or an error naming the URL (transport failure, other status).
using Fetch = std::function<Result<std::string>(const std::string& url)>;

// One trigger's state across queries: the consumer's leader and the URL of its server once a
// clustered lookup found it. Not thread-safe (a Scaler is polled by one thread at a time).
class Monitor {
 public:
  Monitor(Target target, MonitoringEndpoint endpoint);

  // KEDA's getNATSJetstreamMonitoringData + getMaxMsgLag: num_pending + num_ack_pending of the
  // consumer. Where KEDA is fragile, this is not: a failing server during the leader lookup is
  // skipped (KEDA gives up at the first), IPv6 and IP addresses in /varz work, advertised URLs
  // and routes are both tried, and when the remembered leader cannot be asked the lookup starts
  // again from the configured endpoint in the same query (KEDA reaches the same by rebuilding
  // the scaler after the error).
  Result<std::int64_t> lag(const Fetch& fetch);

  const std::string& base_url() const { return base_url_; }
  const std::string& leader_url() const { return leader_url_; }
  const std::string& consumer_leader() const { return consumer_leader_; }

 private:
  struct Found {
    const StreamDetail* stream = nullptr;
    const ConsumerDetail* consumer = nullptr;
  };
  Found find(const Jsz& jsz) const;
  Result<std::int64_t> attempt(const Fetch& fetch, bool& leader_url_failed);
  Result<std::int64_t> discover(const Fetch& fetch);
  Unexpected<Error> not_found(const Found& found) const;
  std::string server_url(const std::string& host) const;  // /varz
  std::string node_url(const std::string& host) const;    // /jsz on host:<monitoring port>
  std::string node_url_by_node(const std::string& node) const;

  Target target_;
  MonitoringEndpoint endpoint_;
  std::string base_url_;
  std::string query_;
  std::string consumer_leader_;
  std::string leader_url_;
};

}  // namespace ebb::scalers::nats
