#include "metrics_api/endpoints.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>

#include "ebb/json.h"
#include "ebb/strings.h"

namespace ebb::scalers::metrics_api {

Result<ServiceUrl> parse_service_url(const std::string& url) {
  ServiceUrl out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return fail("the url has no scheme");
  out.scheme = to_lower(url.substr(0, scheme_end));
  const auto authority_start = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_start);
  std::string authority = url.substr(authority_start, authority_end == std::string::npos
                                                          ? std::string::npos
                                                          : authority_end - authority_start);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  std::string host = authority;
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return fail("the url has an invalid port " + ebb::quoted(port));
    out.port = std::stoi(port);
  }
  if (out.port == 0) out.port = out.scheme == "https" ? 443 : 80;
  // KEDA splits the host with its port (svc.ns:8080 gives the namespace "ns:8080"); Ebb splits
  // the host alone, so that URL works.
  const auto labels = split(host, '.');
  if (labels.size() < 2 || labels[0].empty() || labels[1].empty())
    return fail(
        "invalid hostname " + host +
        " : expected at least 2 elements, first being service name and second being the namespace");
  out.service = labels[0];
  out.namespace_ = labels[1];
  if (authority_end != std::string::npos && url[authority_end] == '/') {
    const auto path_end = url.find_first_of("?#", authority_end);
    out.path = url.substr(authority_end, path_end == std::string::npos ? std::string::npos
                                                                       : path_end - authority_end);
  }
  return out;
}

std::string slice_selector(const ServiceUrl& service) {
  return "kubernetes.io/service-name=" + service.service;
}

std::vector<std::string> endpoint_urls(const ServiceUrl& service,
                                       const std::vector<nlohmann::json>& slices) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& slice : slices) {
    bool has_port = false;
    for (const auto& port : json_member(slice, "ports"))
      if (json_int(port, {"port"}) == service.port) has_port = true;
    for (const auto& endpoint : json_member(slice, "endpoints")) {
      // Only an explicit ready: false excludes an endpoint (nil counts as ready).
      const auto& ready = json_at(endpoint, {"conditions", "ready"});
      if (ready.is_boolean() && !ready.get<bool>()) continue;
      for (const auto& address : json_member(endpoint, "addresses")) {
        if (!address.is_string()) continue;
        const std::string a = address.get<std::string>();
        if (!seen.insert(a).second) continue;
        const std::string host = a.find(':') != std::string::npos ? "[" + a + "]" : a;
        out.push_back(service.scheme + "://" + host +
                      (has_port ? ":" + std::to_string(service.port) : "") + service.path);
      }
    }
  }
  return out;
}

double aggregate(const std::vector<double>& values, const std::string& type) {
  if (values.empty()) return 0;
  if (type == "sum") return std::accumulate(values.begin(), values.end(), 0.0);
  if (type == "max") return *std::max_element(values.begin(), values.end());
  if (type == "min") return *std::min_element(values.begin(), values.end());
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace ebb::scalers::metrics_api
