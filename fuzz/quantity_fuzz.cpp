// Quantities: the parsers (the scalers' lenient one, metrics-api's strict apimachinery grammar)
// on arbitrary text, and the formatters on arbitrary numbers. Properties: what Ebb writes, both
// parsers read back as the value written (to 1/1000 for milli forms), since the HPA and KEDA's
// tooling parse it with apimachinery.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "ebb/scalers/quantity.h"
#include "fuzz_input.h"
#include "metrics_api/value.h"

namespace {

using namespace ebb;

bool close(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::fmax(1.0, std::fmax(std::fabs(a), std::fabs(b)));
}

void check_reads_back(const std::string& text, double expected, const char* what) {
  double lenient = 0;
  if (!scalers::parse_quantity(text, lenient)) fuzz::fail(what, "parse_quantity refused " + text);
  if (!close(lenient, expected)) fuzz::fail(what, "parse_quantity misread " + text);
  const auto strict = scalers::metrics_api::parse_quantity(text);
  if (!strict) fuzz::fail(what, "apimachinery grammar refused " + text);
  if (!close(*strict, expected)) fuzz::fail(what, "apimachinery grammar misread " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_text(data, size));
  double parsed = 0;
  (void)scalers::parse_quantity(text, parsed);
  (void)scalers::metrics_api::parse_quantity(text);

  if (size < 8) return 0;
  std::int64_t n = 0;
  double d = 0;
  std::memcpy(&n, data, 8);
  std::memcpy(&d, data, 8);
  check_reads_back(scalers::int_quantity(n), static_cast<double>(n), "int_quantity");
  check_reads_back(scalers::milli_int_quantity(n), static_cast<double>(n) / 1000,
                   "milli_int_quantity");
  check_reads_back(scalers::milli_exponent_quantity(n), static_cast<double>(n) / 1000,
                   "milli_exponent_quantity");
  if (std::isfinite(d) && d >= 0 && d < 1e15) {
    // "%.3f" rounding: within half a thousandth (plus the double's own rounding).
    const std::string q = scalers::milli_quantity(d);
    double back = 0;
    if (!scalers::parse_quantity(q, back) || std::fabs(back - d) > 0.0005 + 1e-9 * d)
      fuzz::fail("milli_quantity", q);
    if (!scalers::metrics_api::parse_quantity(q))
      fuzz::fail("milli_quantity", "apimachinery grammar refused " + q);
  } else {
    (void)scalers::milli_quantity(d);
  }
  return 0;
}
