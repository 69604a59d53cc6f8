// The pure half of the rabbitmq scaler: what KEDA computes from a queue's numbers, and how it
// finds the management API path for a host URL. No I/O here, so every rule is tested with
// tables (scalers/tests/rabbitmq_test.cpp) against the vectors of KEDA's
// pkg/scalers/rabbitmq_scaler_test.go.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"
#include "ebb/scalers/scaler.h"

namespace ebb::scalers::rabbitmq {

enum class Mode { QueueLength, MessageRate, DeliverGetRate, PublishedToDeliveredRatio, ExpectedQueueConsumptionTime };
std::string_view to_string(Mode mode);

// One queue as the management API (or a passive queue.declare) reports it.
struct QueueStats {
  std::int64_t messages = 0;        // ready + unacknowledged
  std::int64_t messages_ready = 0;  // ready only
  double publish_rate = 0;          // message_stats.publish_details.rate
  double deliver_get_rate = 0;      // message_stats.deliver_get_details.rate
};

// The metric value and activity KEDA's GetMetricsAndActivity derives for `mode`, where
// `messages` is the count already chosen (ready only when excludeUnacknowledged).
PollResult evaluate(Mode mode, std::int64_t messages, double publish_rate, double deliver_get_rate,
                    double activation_value);

// Combines the queues a regex matched with `operation` (sum, avg, max). Averages of counts use
// integer division, as KEDA's Go ints do. An empty list is all zeros whatever the operation;
// otherwise an unknown operation is an error (KEDA only checks it here, at query time).
Result<QueueStats> combine(const std::vector<QueueStats>& queues, std::string_view operation);

// KEDA's getVhostAndPathFromURL: the last segment of the host URL's (escaped) path is the
// vhost, earlier segments are a path prefix (for a management API behind a reverse proxy).
// `vhost_name` overrides the vhost and is query-escaped; an empty or "/" vhost becomes "/%2F".
struct VhostAndPath {
  std::string vhost_path;  // "/%2F", "/myVhost"
  std::string path;        // "" or "/sub1/sub2"
  bool operator==(const VhostAndPath&) const = default;
};
VhostAndPath vhost_and_path_from_url(std::string_view raw_path, std::string_view vhost_name);

// Pieces of an absolute URL as written (nothing decoded), enough for the host parameter.
struct UrlParts {
  std::string scheme;     // lower-cased, "" when there is none
  std::string userinfo;   // "user:pass" (escaped), without '@'
  bool has_userinfo = false;
  std::string authority;  // "host:port" without userinfo
  std::string path;       // escaped path, may be ""
  // "user:pa/ss@host": an unescaped '/', '?' or '#' in the password ended the authority early,
  // so authority and path above hold pieces of the password. Such a URL must not be used or
  // shown (net::redact_url masks the same shape).
  bool userinfo_cut = false;
};
UrlParts split_url(std::string_view url);

// Management API reply bodies. Absent rates are 0, as Go's JSON decoding leaves them; absent
// counts (statistics not collected yet) are an error, where KEDA reads 0.
Result<QueueStats> parse_queue_json(std::string_view body);
// The regex listing: every matched queue; an error when the broker says there is more than one
// page ("regex matches more queues than can be recovered at once").
Result<std::vector<QueueStats>> parse_queue_list_json(std::string_view body);

// What one HTTP-mode trigger asks the management API.
struct ManagementQuery {
  std::string base_url;      // "http://host:port" + path prefix, no userinfo
  std::string vhost_path;    // "/%2F"
  std::string queue_name;    // a name, or a regex when use_regex
  bool use_regex = false;
  std::int64_t page_size = 100;
  std::string operation = "sum";
  std::string username, password;  // Basic auth when has_credentials
  bool has_credentials = false;
  std::chrono::milliseconds timeout{std::chrono::seconds(3)};

  // The request URL exactly as KEDA builds it (without credentials, so it can be shown).
  std::string url() const;
};

// KEDA's anonymizeRabbitMQError: every "user:password@" in a message becomes
// "user:password@" literally. Ebb never puts credentials into messages; this is the safety net
// for text from elsewhere (a broker's or a proxy's answer), so it runs in linear time whatever
// that text's length (RE2; std::regex recursed once per character).
std::string anonymize_error(const std::string& message);

}  // namespace ebb::scalers::rabbitmq
