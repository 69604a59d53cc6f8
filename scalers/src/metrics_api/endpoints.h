// metrics-api's aggregateFromKubeServiceEndpoints (KEDA getEndpointsUrlsFromServiceURL and
// aggregateMetricsFromMultipleEndpoints), pure: a Service URL -> the URLs of its ready
// endpoints from its EndpointSlices, and how the values read from them combine.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/result.h"

namespace ebb::scalers::metrics_api {

// "http://<service>.<namespace>[.svc...][:port]/path": what the endpoint URLs are built from.
struct ServiceUrl {
  std::string scheme;  // "http" or "https"
  std::string service, namespace_;
  int port = 0;      // the URL's port, else 443 for https and 80 otherwise
  std::string path;  // the query, fragment and user info are dropped, as in KEDA
};
Result<ServiceUrl> parse_service_url(const std::string& url);

// The label selector of the Service's EndpointSlices.
std::string slice_selector(const ServiceUrl& service);

// One URL per distinct address of every endpoint not marked ready: false, in slice order. The
// port is written when the slice lists the URL's port number, else left to the scheme's
// default (KEDA's rule: EndpointSlice ports are the pods' ports). IPv6 addresses in brackets.
std::vector<std::string> endpoint_urls(const ServiceUrl& service,
                                       const std::vector<nlohmann::json>& slices);

// Combines the values of the endpoints that answered: average, sum, max or min.
double aggregate(const std::vector<double>& values, const std::string& type);

}  // namespace ebb::scalers::metrics_api
