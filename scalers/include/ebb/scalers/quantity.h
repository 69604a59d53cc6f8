// Kubernetes quantity strings exactly as KEDA produces them (keda-compat §5.4), so values and
// targets Ebb serves compare byte-for-byte with KEDA's.
#pragma once

#include <cstdint>
#include <string>

namespace ebb::scalers {

// A metric value or float target: rounded to 1/1000 ("%.3f") and parsed as a quantity, which
// keeps non-canonical forms such as "1.500". NaN, infinities and negatives become "0".
std::string milli_quantity(double value);
// An integer target (resource.NewQuantity(n, DecimalSI)): canonical form, e.g. 1000 -> "1k".
std::string int_quantity(std::int64_t value);
// Parses a quantity string ("1.5", "250m", "3k", "1E") back into a double; for tests and for
// reading targets written by others. Returns false on malformed input.
bool parse_quantity(const std::string& text, double& out);

}  // namespace ebb::scalers
