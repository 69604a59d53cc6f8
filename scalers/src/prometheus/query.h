// The pure half of the prometheus trigger (KEDA pkg/scalers/prometheus_scaler.go,
// ExecutePromQuery): the instant-query URL and how an answer turns into a value or an error,
// with KEDA's messages. Unit tests feed it KEDA's table of answers without a server.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "ebb/result.h"
#include "ebb/time.h"

namespace ebb::scalers::prometheus {

struct Query {
  std::string server_address;  // used verbatim, as KEDA concatenates it
  std::string query;           // PromQL
  std::string namespace_;      // "" for none
  std::map<std::string, std::string> query_parameters;
};

// <serverAddress>/api/v1/query?query=<q>&time=<now, RFC 3339 seconds>[&namespace=<ns>][&k=v...]:
// KEDA's concatenation, with the namespace escaped (the same text for any valid namespace name)
// and the extra parameters in key order (KEDA's order is Go's random map order).
std::string query_url(const Query& q, SystemTime now);

// Interprets an answer of /api/v1/query (KEDA's steps, §4.5 of the spec): a non-2xx status,
// a body that is not a vector of at most one sample, or a value that is not a number are
// errors; an empty result, an empty value list and NaN/±Inf are 0 when `ignore_null_values`,
// else errors. Messages are KEDA's where KEDA has one (without the endpoint; the caller adds it).
Result<double> read_answer(int status, const std::string& body, const std::string& query,
                           bool ignore_null_values);

}  // namespace ebb::scalers::prometheus
