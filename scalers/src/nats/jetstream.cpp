#include "nats/jetstream.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "ebb/strings.h"

namespace ebb::scalers::nats {

using nlohmann::json;

// --- URLs --------------------------------------------------------------------------------------

std::string monitoring_url(bool use_https, std::string_view endpoint, std::string_view account_id) {
  return std::string(use_https ? "https" : "http") + "://" + std::string(endpoint) +
         "/jsz?acc=" + query_escape(account_id) + "&config=true&consumers=true";
}

namespace {

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  const int n = std::stoi(std::string(p));
  return n >= 1 && n <= 65535;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

}  // namespace

std::optional<MonitoringEndpoint> parse_endpoint(bool use_https, std::string_view endpoint) {
  MonitoringEndpoint out;
  out.scheme = use_https ? "https" : "http";
  out.endpoint = std::string(endpoint);
  std::string_view rest = endpoint;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(rest.substr(1, close - 1));
    for (char c : out.host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return std::nullopt;
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !valid_port(rest.substr(1))) return std::nullopt;
      out.port = std::string(rest.substr(1));
    }
    return out;
  }
  const auto colon = rest.find(':');
  const std::string_view host = rest.substr(0, colon);
  if (host.empty()) return std::nullopt;
  for (char c : host)
    if (!valid_host_char(c)) return std::nullopt;
  out.host = std::string(host);
  if (colon != std::string_view::npos) {
    if (!valid_port(rest.substr(colon + 1))) return std::nullopt;
    out.port = std::string(rest.substr(colon + 1));
  }
  return out;
}

std::string url_host(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos)
    url = url.substr(scheme + 3);
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  if (url.starts_with('[')) {
    const auto close = url.find(']');
    return std::string(
        url.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  const auto colon = url.find(':');
  // More than one ':' without brackets is a bare IPv6 address.
  if (colon != std::string_view::npos && url.find(':', colon + 1) == std::string_view::npos)
    return std::string(url.substr(0, colon));
  return std::string(url);
}

bool is_ip_address(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;
  int parts = 0;
  for (const auto& p : split(host, '.')) {
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return false;
    ++parts;
  }
  return parts == 4;
}

// --- answers -----------------------------------------------------------------------------------

namespace {

// Go's encoding/json field matching: the exact key, else the first case-insensitive one.
const json* field(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  if (auto it = object.find(key); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it)
    if (iequals(it.key(), key)) return &*it;
  return nullptr;
}

struct Reader {
  std::string problem;

  std::string string(const json& object, std::string_view key, const std::string& path) {
    const json* v = field(object, key);
    if (!v || v->is_null()) return "";
    if (!v->is_string()) {
      note(path + "." + std::string(key) + " is not a string");
      return "";
    }
    return v->get<std::string>();
  }
  std::int64_t integer(const json& object, std::string_view key, const std::string& path) {
    const json* v = field(object, key);
    if (!v || v->is_null()) return 0;
    if (!v->is_number_integer()) {
      note(path + "." + std::string(key) + " is not an integer");
      return 0;
    }
    return v->get<std::int64_t>();
  }
  // Members of an array (null and absent: none); anything else is a problem.
  std::vector<const json*> array(const json& object, std::string_view key,
                                 const std::string& path) {
    std::vector<const json*> out;
    const json* v = field(object, key);
    if (!v || v->is_null()) return out;
    if (!v->is_array()) {
      note(path + "." + std::string(key) + " is not an array");
      return out;
    }
    for (const auto& e : *v) out.push_back(&e);
    return out;
  }
  const json* object(const json& parent, std::string_view key, const std::string& path) {
    const json* v = field(parent, key);
    if (!v || v->is_null()) return nullptr;
    if (!v->is_object()) {
      note(path + "." + std::string(key) + " is not an object");
      return nullptr;
    }
    return v;
  }
  void note(std::string p) {
    if (problem.empty()) problem = std::move(p);
  }
};

Result<json> parse_object(std::string_view body) {
  if (trim(body).empty()) return fail("empty body");
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail("not JSON: " + std::string(body.substr(0, 120)));
  if (doc.is_null()) return fail("the answer is null, not an object");
  if (!doc.is_object()) return fail("the answer is not a JSON object");
  return doc;
}

}  // namespace

Result<Jsz> parse_jsz(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return unexpected(doc.error());
  Reader r;
  Jsz out;
  if (const json* meta = r.object(*doc, "meta_cluster", "jsz"))
    out.cluster_size = static_cast<int>(r.integer(*meta, "cluster_size", "meta_cluster"));
  for (const json* a : r.array(*doc, "account_details", "jsz")) {
    AccountDetail account;
    account.id = r.string(*a, "id", "account_details[]");
    account.name = r.string(*a, "name", "account_details[]");
    for (const json* s : r.array(*a, "stream_detail", "account_details[]")) {
      StreamDetail stream;
      stream.name = r.string(*s, "name", "stream_detail[]");
      for (const json* c : r.array(*s, "consumer_detail", "stream_detail[]")) {
        ConsumerDetail consumer;
        consumer.name = r.string(*c, "name", "consumer_detail[]");
        consumer.num_pending = r.integer(*c, "num_pending", "consumer_detail[]");
        consumer.num_ack_pending = r.integer(*c, "num_ack_pending", "consumer_detail[]");
        if (const json* cluster = r.object(*c, "cluster", "consumer_detail[]"))
          consumer.leader = r.string(*cluster, "leader", "consumer_detail[].cluster");
        stream.consumers.push_back(std::move(consumer));
      }
      account.streams.push_back(std::move(stream));
    }
    out.accounts.push_back(std::move(account));
  }
  if (!r.problem.empty()) return fail(r.problem);
  return out;
}

Result<Varz> parse_varz(std::string_view body) {
  auto doc = parse_object(body);
  if (!doc) return unexpected(doc.error());
  Reader r;
  Varz out;
  auto strings = [&](const json& parent, std::string_view key, const std::string& path,
                     std::vector<std::string>& out_list) {
    for (const json* u : r.array(parent, key, path)) {
      if (u->is_string())
        out_list.push_back(u->get<std::string>());
      else
        r.note(path + "." + std::string(key) + "[] is not a string");
    }
  };
  strings(*doc, "connect_urls", "varz", out.connect_urls);
  if (const json* cluster = r.object(*doc, "cluster", "varz"))
    strings(*cluster, "urls", "varz.cluster", out.cluster_urls);
  out.server_name = r.string(*doc, "server_name", "varz");
  if (!r.problem.empty()) return fail(r.problem);
  return out;
}

// --- the query ---------------------------------------------------------------------------------

Monitor::Monitor(Target target, MonitoringEndpoint endpoint)
    : target_(std::move(target)), endpoint_(std::move(endpoint)) {
  if (target_.account_id.empty()) target_.account_id = target_.account;
  query_ = "acc=" + query_escape(target_.account_id) + "&config=true&consumers=true";
  base_url_ = endpoint_.scheme + "://" + endpoint_.endpoint + "/jsz?" + query_;
}

std::string Monitor::server_url(const std::string& host) const {
  if (host.empty()) return endpoint_.scheme + "://" + endpoint_.endpoint + "/varz";
  return endpoint_.scheme + "://" + join_host_port(host, endpoint_.port) + "/varz";
}

std::string Monitor::node_url(const std::string& host) const {
  return endpoint_.scheme + "://" + join_host_port(host, endpoint_.port) + "/jsz?" + query_;
}

std::string Monitor::node_url_by_node(const std::string& node) const {
  return endpoint_.scheme + "://" + node + "." + endpoint_.endpoint + "/jsz?" + query_;
}

// KEDA's setNATSJetStreamMonitoringData search: the first consumer of that name in a stream of
// that name in a matching account; the stream is kept even when the consumer is not in it.
Monitor::Found Monitor::find(const Jsz& jsz) const {
  Found found;
  for (const auto& account : jsz.accounts) {
    if (account.id != target_.account_id && account.name != target_.account) continue;
    for (const auto& stream : account.streams) {
      if (stream.name != target_.stream) continue;
      found.stream = &stream;
      for (const auto& consumer : stream.consumers)
        if (consumer.name == target_.consumer) {
          found.consumer = &consumer;
          return found;
        }
    }
  }
  return found;
}

Unexpected<Error> Monitor::not_found(const Found& found) const {
  if (!found.stream)
    return fail("stream " + ebb::quoted(target_.stream) + " not found in account " +
                    ebb::quoted(target_.account_id),
                true);
  return fail("consumer " + ebb::quoted(target_.consumer) + " not found in stream " +
                  ebb::quoted(target_.stream),
              true);
}

namespace {

std::int64_t lag_of(const ConsumerDetail& c) {
  return c.num_pending + c.num_ack_pending;
}

Result<Jsz> fetch_jsz(const Fetch& fetch, const std::string& url) {
  auto body = fetch(url);
  if (!body) return unexpected(body.error());
  auto jsz = parse_jsz(*body);
  if (!jsz) return fail("GET " + url + ": " + jsz.error().message, true);
  return jsz;
}

Result<Varz> fetch_varz(const Fetch& fetch, const std::string& url) {
  auto body = fetch(url);
  if (!body) return unexpected(body.error());
  auto varz = parse_varz(*body);
  if (!varz) return fail("GET " + url + ": " + varz.error().message, true);
  return varz;
}

}  // namespace

Result<std::int64_t> Monitor::lag(const Fetch& fetch) {
  bool leader_url_failed = false;
  auto result = attempt(fetch, leader_url_failed);
  if (result || !leader_url_failed) return result;
  // The remembered leader did not answer: it may be gone; look it up again from the start.
  consumer_leader_.clear();
  leader_url_.clear();
  return attempt(fetch, leader_url_failed);
}

Result<std::int64_t> Monitor::attempt(const Fetch& fetch, bool& leader_url_failed) {
  const std::string cached_leader = consumer_leader_;
  const bool at_leader = !leader_url_.empty();
  auto jsz = fetch_jsz(fetch, at_leader ? leader_url_ : base_url_);
  if (!jsz) {
    leader_url_failed = at_leader;
    return unexpected(jsz.error());
  }
  const Found found = find(*jsz);
  if (!cached_leader.empty() && !found.consumer) {
    consumer_leader_.clear();
    leader_url_.clear();
  }
  // The same leader as last time: this was the right server to ask.
  if (found.consumer && !cached_leader.empty() && cached_leader == found.consumer->leader)
    return lag_of(*found.consumer);
  if (jsz->cluster_size > 1) return discover(fetch);
  if (!found.consumer) return not_found(found);
  consumer_leader_ = found.consumer->leader;
  return lag_of(*found.consumer);
}

// KEDA's leader lookup over the servers /varz of the configured endpoint lists: the client URLs
// it advertises (each server's name from its own /varz), else its routes (the server name is the
// first DNS label, its monitoring host "<name>.<configured endpoint>"). Here advertised URLs and
// routes are both tried, a route with an IP address is asked for its name like an advertised
// one, and a server that fails is skipped instead of ending the lookup. The configured endpoint
// itself is never remembered as the leader: it may be a Service in front of every server.
Result<std::int64_t> Monitor::discover(const Fetch& fetch) {
  auto seed = fetch_varz(fetch, server_url(""));
  if (!seed) return unexpected(seed.error());

  struct Candidate {
    std::string host;
    bool named_by_route;  // the node name is the host's first label, not asked of the server
  };
  std::vector<Candidate> candidates;
  std::set<std::string> seen;
  for (const auto& url : seed->connect_urls) {
    std::string host = url_host(url);
    if (!host.empty() && seen.insert(host).second) candidates.push_back({host, false});
  }
  for (const auto& url : seed->cluster_urls) {
    std::string host = url_host(url);
    if (!host.empty() && seen.insert(host).second)
      candidates.push_back({host, !is_ip_address(host)});
  }

  std::vector<std::string> problems;
  for (const auto& c : candidates) {
    std::string node, url;
    if (c.named_by_route) {
      node = c.host.substr(0, c.host.find('.'));
      url = node_url_by_node(node);
    } else {
      auto varz = fetch_varz(fetch, server_url(c.host));
      if (!varz) {
        problems.push_back(varz.error().message);
        continue;
      }
      node = varz->server_name;
      url = node_url(c.host);
    }
    auto jsz = fetch_jsz(fetch, url);
    if (!jsz) {
      problems.push_back(jsz.error().message);
      continue;
    }
    const Found found = find(*jsz);
    if (found.consumer && !node.empty() && found.consumer->leader == node) {
      consumer_leader_ = node;
      leader_url_ = url;
      return lag_of(*found.consumer);
    }
  }
  std::string message = "leader node not found for consumer " + target_.consumer;
  if (!problems.empty())
    message += " (servers that could not be asked: " + join(problems, "; ") + ")";
  return fail(message, true);
}

}  // namespace ebb::scalers::nats
