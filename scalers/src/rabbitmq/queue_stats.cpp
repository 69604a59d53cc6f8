#include "rabbitmq/queue_stats.h"

#include <algorithm>
#include <cctype>

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include "ebb/scalers/registry.h"
#include "ebb/strings.h"

namespace ebb::scalers::rabbitmq {

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::QueueLength: return "QueueLength";
    case Mode::MessageRate: return "MessageRate";
    case Mode::DeliverGetRate: return "DeliverGetRate";
    case Mode::PublishedToDeliveredRatio: return "PublishedToDeliveredRatio";
    case Mode::ExpectedQueueConsumptionTime: return "ExpectedQueueConsumptionTime";
  }
  return "Unknown";
}

PollResult evaluate(Mode mode, std::int64_t messages, double publish_rate, double deliver_get_rate,
                    double activation_value) {
  const double n = static_cast<double>(messages);
  const double a = activation_value;
  const double p = publish_rate;
  const double d = deliver_get_rate;
  switch (mode) {
    case Mode::QueueLength:
      return {n, n > a};
    case Mode::MessageRate:
      // A backlog keeps the trigger active even when nobody publishes any more.
      return {p, p > a || n > a};
    case Mode::DeliverGetRate:
      return {d, d > a};
    case Mode::PublishedToDeliveredRatio: {
      // Publishing with nobody consuming has no ratio; KEDA reports the activation value and
      // forces activity so that consumers get started.
      const bool stalled = p > 0 && d == 0;
      double ratio = 0;
      if (stalled) ratio = a;
      else if (p > 0 && d > 0) ratio = p / d;
      return {ratio, ratio > a || stalled};
    }
    case Mode::ExpectedQueueConsumptionTime: {
      // A backlog nobody consumes cannot be estimated: report the activation value, stay active.
      const bool stalled = d == 0 && messages > 0;
      double eta = 0;
      if (messages == 0) eta = 0;
      else if (d == 0) eta = a;
      else eta = (p - d) / d + n / d;
      return {eta, eta > a || stalled};
    }
  }
  return {};
}

Result<QueueStats> combine(const std::vector<QueueStats>& queues, std::string_view operation) {
  QueueStats out;
  if (queues.empty()) return out;
  if (operation == "sum" || operation == "avg") {
    for (const auto& q : queues) {
      out.messages += q.messages;
      out.messages_ready += q.messages_ready;
      out.publish_rate += q.publish_rate;
      out.deliver_get_rate += q.deliver_get_rate;
    }
    if (operation == "avg") {
      const auto count = static_cast<std::int64_t>(queues.size());
      out.messages /= count;
      out.messages_ready /= count;
      out.publish_rate /= static_cast<double>(count);
      out.deliver_get_rate /= static_cast<double>(count);
    }
    return out;
  }
  if (operation == "max") {
    for (const auto& q : queues) {
      out.messages = std::max(out.messages, q.messages);
      out.messages_ready = std::max(out.messages_ready, q.messages_ready);
      out.publish_rate = std::max(out.publish_rate, q.publish_rate);
      out.deliver_get_rate = std::max(out.deliver_get_rate, q.deliver_get_rate);
    }
    return out;
  }
  return fail("operation mode " + std::string(operation) + " must be one of sum, avg, max");
}

namespace {

// Go's path.Join of single path segments: empty ones are skipped, "." dropped, ".." removes
// the segment before it; the result is "" only when every segment was empty.
std::string join_clean(const std::vector<std::string>& segments) {
  bool any = false;
  std::vector<std::string> stack;
  for (const auto& seg : segments) {
    if (seg.empty()) continue;
    any = true;
    if (seg == ".") continue;
    if (seg == ".." && !stack.empty() && stack.back() != "..") stack.pop_back();
    else stack.push_back(seg);
  }
  if (!any) return "";
  if (stack.empty()) return ".";
  return join(stack, "/");
}

// Splits on '/' keeping empty elements and whitespace (ebb::split trims, which paths must not).
std::vector<std::string> split_path(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find('/', start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

VhostAndPath vhost_and_path_from_url(std::string_view raw_path, std::string_view vhost_name) {
  auto parts = split_path(raw_path);
  VhostAndPath out;
  out.vhost_path = "/" + parts.back();
  parts.pop_back();
  out.path = join_clean(parts);
  if (!out.path.empty()) out.path = "/" + out.path;
  if (!vhost_name.empty()) out.vhost_path = "/" + query_escape(vhost_name);
  if (out.vhost_path == "/") out.vhost_path = "/%2F";
  return out;
}

UrlParts split_url(std::string_view url) {
  UrlParts out;
  // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'.
  std::size_t i = 0;
  if (!url.empty() && std::isalpha(static_cast<unsigned char>(url[0]))) {
    while (i < url.size() && (std::isalnum(static_cast<unsigned char>(url[i])) || url[i] == '+' ||
                              url[i] == '-' || url[i] == '.'))
      ++i;
    if (i < url.size() && url[i] == ':') {
      out.scheme = to_lower(url.substr(0, i));
      url.remove_prefix(i + 1);
    }
  }
  if (url.substr(0, 2) == "//") {
    url.remove_prefix(2);
    const auto end = url.find_first_of("/?#");
    std::string_view authority = url.substr(0, end);
    url = end == std::string_view::npos ? std::string_view{} : url.substr(end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      out.userinfo = std::string(authority.substr(0, at));
      out.has_userinfo = true;
      authority.remove_prefix(at + 1);
    } else if (const auto colon = authority.find(':');
               colon != std::string_view::npos && authority.front() != '[' &&
               url.find('@') != std::string_view::npos &&
               !std::all_of(authority.begin() + colon + 1, authority.end(),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      out.userinfo_cut = true;  // "user:pa" is no host:port, and an '@' follows
    }
    out.authority = std::string(authority);
  }
  out.path = std::string(url.substr(0, url.find_first_of("?#")));
  return out;
}

namespace {

std::int64_t count_field(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_integer() ? it->get<std::int64_t>() : static_cast<std::int64_t>(it->get<double>());
}

double rate_field(const nlohmann::json& j, const char* details) {
  const auto stats = j.find("message_stats");
  if (stats == j.end() || !stats->is_object()) return 0;
  const auto d = stats->find(details);
  if (d == stats->end() || !d->is_object()) return 0;
  const auto rate = d->find("rate");
  return rate != d->end() && rate->is_number() ? rate->get<double>() : 0;
}

// The counts are absent until the broker has collected the queue's statistics (the first
// seconds after it was declared, or after a restart). KEDA reads 0 then; for Ebb an unknown
// count is an error, never 0. Absent rates are 0: RabbitMQ omits them for queues without traffic.
Result<QueueStats> stats_from_json(const nlohmann::json& j) {
  for (const char* count : {"messages", "messages_ready"}) {
    if (const auto it = j.find(count); it != j.end() && it->is_number()) continue;
    const auto name = j.find("name");
    const std::string queue = name != j.end() && name->is_string() ? "queue " + ebb::quoted(name->get<std::string>())
                                                                     : "the queue";
    return fail("the management API reports no message count for " + queue + " yet (statistics not collected yet)",
                true);
  }
  return QueueStats{count_field(j, "messages"), count_field(j, "messages_ready"), rate_field(j, "publish_details"),
                    rate_field(j, "deliver_get_details")};
}

Result<nlohmann::json> parse_object(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail("the management API answered with something that is not a JSON object");
  return j;
}

}  // namespace

Result<QueueStats> parse_queue_json(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return unexpected(j.error());
  return stats_from_json(*j);
}

Result<std::vector<QueueStats>> parse_queue_list_json(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return unexpected(j.error());
  if (count_field(*j, "page_count") > 1) return fail("regex matches more queues than can be recovered at once");
  std::vector<QueueStats> out;
  if (const auto items = j->find("items"); items != j->end() && items->is_array())
    for (const auto& item : *items) {
      if (!item.is_object()) continue;
      auto stats = stats_from_json(item);
      if (!stats) return unexpected(stats.error());
      out.push_back(*stats);
    }
  return out;
}

std::string ManagementQuery::url() const {
  if (use_regex)
    return base_url + "/api/queues" + vhost_path + "?page=1&use_regex=true&pagination=false&name=" +
           query_escape(queue_name) + "&page_size=" + std::to_string(page_size);
  return base_url + "/api/queues" + vhost_path + "/" + query_escape(queue_name);
}

std::string anonymize_error(const std::string& message) {
  static const RE2 pattern(R"(([^ /:]+):([^/:]+)@)");
  std::string out = message;
  RE2::GlobalReplace(&out, pattern, "user:password@");
  return out;
}

}  // namespace ebb::scalers::rabbitmq
