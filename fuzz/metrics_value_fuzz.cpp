// How scalers read values out of HTTP answers: metrics-api's value_from_response (GJSON paths
// on JSON, dotted paths on YAML and XML, selectors on the Prometheus text format), prometheus'
// read_answer on /api/v1/query bodies, and Go's ParseFloat as it reads sample values.
// Input: byte 0 picks the format and the flags, line 1 is the location (or query), the rest the
// body. Property: a value that is returned is finite (NaN and infinities are errors, or 0 when
// ignoreNullValues says so).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "go_strconv.h"
#include "metrics_api/value.h"
#include "prometheus/query.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ebb::scalers;
  if (size < 1) return 0;
  std::string_view in = ebb::fuzz::as_text(data + 1, size - 1);
  const std::string location(ebb::fuzz::take(in));
  const std::string body(in);
  static const metrics_api::Format kFormats[] = {
      metrics_api::Format::Json, metrics_api::Format::Yaml, metrics_api::Format::Xml,
      metrics_api::Format::Prometheus};
  const auto format = kFormats[data[0] & 3u];
  auto value = metrics_api::value_from_response(body, location, format);
  if (value.ok() && !std::isfinite(*value))
    ebb::fuzz::fail("value_from_response returned a non-finite value", location);

  static const int kStatuses[] = {200, 204, 400, 503};
  auto answer = prometheus::read_answer(kStatuses[(data[0] >> 2) & 3u], body, location,
                                        (data[0] & 0x10) != 0);
  if (answer.ok() && !std::isfinite(*answer))
    ebb::fuzz::fail("read_answer returned a non-finite value", body);
  (void)go_parse_float(location);
  return 0;
}
