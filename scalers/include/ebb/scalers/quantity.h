// Kubernetes quantity strings exactly as KEDA produces them (keda-compat §5.4), so values and
// targets Ebb serves compare byte-for-byte with KEDA's.
#pragma once

#include <cstdint>
#include <string>

namespace ebb::scalers {

// A metric value or float target: rounded to 1/1000 ("%.3f") and parsed as a quantity, which
// keeps non-canonical forms such as "1.500". NaN, infinities and negatives become "0".
std::string milli_quantity(double value);
// A count of thousandths as resource.NewMilliQuantity(milli, DecimalSI) writes it (fallback
// values): 100000 -> "100", 12500 -> "12500m".
std::string milli_int_quantity(std::int64_t milli);
// A count of thousandths set with SetMilli on a zero quantity (DecimalExponent, the composite
// metric): 2500 -> "2500e-3", 7000 -> "7", 1000000 -> "1e3".
std::string milli_exponent_quantity(std::int64_t milli);
// An integer target (resource.NewQuantity(n, DecimalSI)): canonical form, e.g. 1000 -> "1k".
std::string int_quantity(std::int64_t value);
// `value` rounded to the nearest integer (halves away from zero, as std::llround), clamped to
// int64's range, NaN -> 0: std::llround's result is unspecified outside that range, and a
// target such as 1e30 must not turn into a negative quantity.
std::int64_t round_to_int64(double value);
// Parses a quantity string ("1.5", "250m", "3k", "1E") back into a double; for tests and for
// reading targets written by others. Returns false on malformed input.
bool parse_quantity(const std::string& text, double& out);

}  // namespace ebb::scalers
