// ExternalMetricsApi::handle: authentication, authorization and the routes of
// external.metrics.k8s.io/v1beta1 (see external_metrics_api.h).
#include <algorithm>
#include <ctime>

#include "api_internal.h"
#include "ebb/adapter/external_metrics_api.h"
#include "ebb/strings.h"
#include "ebb/time.h"

namespace ebb::adapter {

namespace {

using detail::OrderedJson;
using detail::status_body;

net::ServerResponse status_response(int code, const std::string& reason, const std::string& message,
                                    const OrderedJson& details = nullptr) {
  return net::ServerResponse::json(code, status_body(code, reason, message, details));
}

net::ServerResponse not_found() {
  return status_response(404, "NotFound", "the server could not find the requested resource");
}


bool path_allowed_without_auth(const std::vector<std::string>& patterns, const std::string& path) {
  for (const auto& p : patterns) {
    if (p.empty()) continue;
    if (p.back() == '*') {
      if (path.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0) return true;
    } else if (p == path) {
      return true;
    }
  }
  return false;
}

std::string forbidden_message(const UserInfo& user, const RequestAttributes& a) {
  if (!a.resource_request) {
    return "forbidden: User " + ebb::quoted(user.name) + " cannot " + a.verb + " path " +
           ebb::quoted(a.path);
  }
  const std::string qualified = a.group.empty() ? a.resource : a.resource + "." + a.group;
  std::string message = qualified + (a.name.empty() ? "" : " " + ebb::quoted(a.name)) +
                        " is forbidden: User " + ebb::quoted(user.name) + " cannot " + a.verb +
                        " resource " + ebb::quoted(a.resource) + " in API group " +
                        ebb::quoted(a.group);
  message += a.ns.empty() ? " at the cluster scope" : " in the namespace " + ebb::quoted(a.ns);
  return message;
}

// /healthz, /livez, /readyz and their per-check sub-paths. "ping" always passes; "ready"
// (healthz and readyz only) follows options.ready.
std::optional<net::ServerResponse> health(const std::string& path,
                                          const net::ServerRequest& request,
                                          const std::function<bool()>& ready) {
  std::string endpoint, check;
  for (const char* e : {"/healthz", "/livez", "/readyz"}) {
    const std::string base = e;
    if (path == base) {
      endpoint = base.substr(1);
    } else if (path.size() > base.size() + 1 && path.compare(0, base.size() + 1, base + "/") == 0) {
      endpoint = base.substr(1);
      check = path.substr(base.size() + 1);
    }
  }
  if (endpoint.empty()) return std::nullopt;
  std::vector<std::pair<std::string, bool>> checks = {{"ping", true}};
  if (endpoint != "livez") checks.emplace_back("ready", !ready || ready());
  if (!check.empty()) {
    for (const auto& [name, ok] : checks) {
      if (name != check) continue;
      if (ok) return net::ServerResponse::text(200, "ok");
      return net::ServerResponse::text(500, "internal server error: " + name + " check failed");
    }
    return net::ServerResponse::text(404, "404 page not found");
  }
  bool all_ok = true;
  std::string verbose;
  for (const auto& [name, ok] : checks) {
    all_ok = all_ok && ok;
    verbose += (ok ? "[+]" : "[-]") + name + (ok ? " ok\n" : " failed: reason withheld\n");
  }
  const bool want_verbose =
      request.query_value("verbose") == "true" || request.query_value("verbose") == "1" ||
      std::any_of(request.query.begin(), request.query.end(),
                  [](const auto& q) { return q.first == "verbose" && q.second.empty(); });
  if (all_ok) {
    return net::ServerResponse::text(200,
                                     want_verbose ? verbose + endpoint + " check passed\n" : "ok");
  }
  return net::ServerResponse::text(500, verbose + endpoint + " check failed\n");
}

}  // namespace

ExternalMetricsApi::ExternalMetricsApi(MetricsProvider& provider, ExternalMetricsApiOptions options)
    : provider_(provider), options_(std::move(options)) {}

net::ServerResponse ExternalMetricsApi::handle(const net::ServerRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  std::string user_name;
  auto answer = [&](net::ServerResponse response) {
    if (options_.on_request) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      options_.on_request(request.method, request.path, response.status, user_name, seconds);
    }
    return response;
  };

  std::string path = request.path.empty() ? "/" : request.path;
  if (!path_allowed_without_auth(options_.always_allow_paths, path)) {
    auto user = authenticate(options_.authentication, request);
    // The reason (which header, which CN) is for the server's log, never for the client.
    if (!user) return answer(status_response(401, "Unauthorized", "Unauthorized"));
    user_name = user->name;
    if (options_.authorizer) {
      const RequestAttributes attributes = request_attributes(request);
      auto allowed = options_.authorizer->authorize(*user, attributes);
      if (!allowed) {
        return answer(status_response(500, "InternalError",
                                      "Internal error occurred: " + allowed.error().message));
      }
      if (!*allowed) {
        OrderedJson details = nullptr;
        if (attributes.resource_request) {
          details = OrderedJson::object();
          if (!attributes.name.empty()) details["name"] = attributes.name;
          details["group"] = attributes.group;
          details["kind"] = attributes.resource;
        }
        return answer(
            status_response(403, "Forbidden", forbidden_message(*user, attributes), details));
      }
    }
  }

  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const bool get = request.method == "GET";
  auto document = [&](const std::string& body) {
    if (!get)
      return status_response(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource");
    return net::ServerResponse::json(200, body);
  };

  if (auto h = health(path, request, options_.ready)) {
    if (!get)
      return answer(
          status_response(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource"));
    return answer(std::move(*h));
  }
  if (path == "/apis") return answer(document(detail::api_group_list()));
  if (path == detail::kGroupPath) return answer(document(detail::api_group()));
  if (path == detail::kGroupVersionPath) return answer(document(detail::api_resource_list()));
  if (path == "/openapi/v2") return answer(document(detail::openapi_v2()));
  if (path == "/openapi/v3") return answer(document(detail::openapi_v3_index()));
  if (path == detail::kOpenApiV3GroupVersionPath) {
    auto response = document(detail::openapi_v3_group_version());
    if (response.status == 200)
      response.headers.emplace_back("ETag", "\"" + detail::openapi_v3_group_version_hash() + "\"");
    return answer(std::move(response));
  }

  // /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}
  const std::string prefix = std::string(detail::kGroupVersionPath) + "/namespaces/";
  if (path.compare(0, prefix.size(), prefix) != 0) return answer(not_found());
  const std::string rest = path.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size() ||
      rest.find('/', slash + 1) != std::string::npos) {
    return answer(not_found());
  }
  if (!get) {
    return answer(
        status_response(405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource"));
  }
  MetricQuery query{.ns = rest.substr(0, slash),
                    .metric = rest.substr(slash + 1),
                    .label_selector = request.query_value("labelSelector")};

  Result<std::vector<MetricSample>, MetricError> samples = unexpected(MetricError{});
  try {
    samples = provider_.external_metric(query);
  } catch (const std::exception&) {
    // The exception text could hold anything; the client gets a generic error.
    return answer(status_response(
        500, "InternalError",
        "Internal error occurred: the metrics provider failed for " + ebb::quoted(query.metric)));
  }
  if (!samples) {
    const MetricError& e = samples.error();
    const int code = e.code >= 400 && e.code <= 599 ? e.code : 500;
    return answer(status_response(code, e.reason, e.message));
  }

  OrderedJson list;
  list["kind"] = "ExternalMetricValueList";
  list["apiVersion"] = detail::kGroupVersion;
  list["metadata"] = OrderedJson::object();
  list["items"] = OrderedJson::array();
  for (const MetricSample& s : *samples) {
    if (s.quantity.empty()) {
      return answer(status_response(
          500, "InternalError",
          "Internal error occurred: metric " + ebb::quoted(query.metric) + " has no value"));
    }
    OrderedJson item;
    item["metricName"] = s.metric_name.empty() ? query.metric : s.metric_name;
    item["metricLabels"] = nullptr;
    item["timestamp"] = format_rfc3339(s.timestamp);  // seconds, as KEDA's metrics service hop leaves them
    item["value"] = s.quantity;
    list["items"].push_back(std::move(item));
  }
  return answer(net::ServerResponse::json(
      200, list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

}  // namespace ebb::adapter
