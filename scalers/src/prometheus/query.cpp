#include "prometheus/query.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "ebb/strings.h"
#include "go_strconv.h"
#include "http/client.h"

namespace ebb::scalers::prometheus {
namespace {

using nlohmann::json;

// Go's encoding/json matches struct fields case-insensitively ({"Data":{"Result":...}} decodes).
const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  if (auto it = object.find(std::string(key)); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it)
    if (iequals(it.key(), key)) return &*it;
  return nullptr;
}

std::string go_float_text(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

}  // namespace

std::string query_url(const Query& q, SystemTime now) {
  std::string url = q.server_address + "/api/v1/query?query=" + query_escape(q.query) +
                    "&time=" + format_rfc3339(now);
  if (!q.namespace_.empty()) url += "&namespace=" + query_escape(q.namespace_);
  for (const auto& [key, value] : q.query_parameters)
    url += "&" + query_escape(key) + "=" + query_escape(value);
  return url;
}

Result<double> read_answer(int status, const std::string& body, const std::string& query,
                           bool ignore_null_values) {
  if (status < 200 || status > 299)
    return fail("prometheus query api returned error. status: " + std::to_string(status) +
                    (body.empty() ? "" : ", response: " + http::excerpt(body)),
                status >= 500 || status == 429);
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return fail("prometheus query api returned a body that is not JSON: " + http::excerpt(body));
  if (!doc.is_object()) return fail("prometheus query api returned JSON that is not an object");

  const json* data = member(doc, "data");
  const json* result = data && !data->is_null() ? member(*data, "result") : nullptr;
  if (data && !data->is_null() && !data->is_object())
    return fail("prometheus query api returned a \"data\" member that is not an object");
  const std::size_t size = result && result->is_array() ? result->size() : 0;
  if (result && !result->is_null() && !result->is_array())
    return fail("prometheus query api returned a \"result\" member that is not a list");
  if (size > 0 && !(*result)[0].is_object()) {
    // A scalar or string result is [time, "value"], not a list of series (KEDA fails to decode).
    const json* type = member(*data, "resultType");
    return fail("prometheus query " + query + " returned a " +
                (type && type->is_string() ? type->get<std::string>() : std::string("non-vector")) +
                " result; the query must return an instant vector");
  }

  if (size == 0) {
    if (ignore_null_values) return 0.0;
    return fail("prometheus metrics 'prometheus' target may be lost, the result is empty");
  }
  if (size > 1) return fail("prometheus query " + query + " returned multiple elements");

  // A matrix series has "values", not "value": an empty value list, as in KEDA.
  const json* value = member((*result)[0], "value");
  if (value && !value->is_null() && !value->is_array())
    return fail("prometheus query " + query + " returned a sample that is not a list");
  if (!value || value->is_null() || value->empty()) {
    if (ignore_null_values) return 0.0;
    return fail("prometheus metrics 'prometheus' target may be lost, the value list is empty");
  }
  if (value->size() < 2) return fail("prometheus query " + query + " didn't return enough values");

  const json& sample = (*value)[1];
  // KEDA panics on a number and reads null as -1 without error; neither is a known value.
  if (!sample.is_string())
    return fail("prometheus query " + query + " returned a non-string value: " + sample.dump());
  auto v = strconv_parse_float(sample.get<std::string>());
  if (!v) return fail(v.error());
  if (std::isnan(*v) || std::isinf(*v)) {
    if (ignore_null_values) return 0.0;
    return fail("prometheus query returns " + go_float_text(*v));
  }
  return *v;
}

}  // namespace ebb::scalers::prometheus
