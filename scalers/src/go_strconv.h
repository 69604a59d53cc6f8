// Go's strconv number parsing, where a KEDA scaler hands a server's text to it and the accepted
// forms decide between a value and an error (SQL results through database/sql, beanstalkd
// statistics through mapstructure, etcd values, Prometheus sample values).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers {

// strconv.ParseFloat(s, 64): decimal and hexadecimal (0x…p…) floats, an optional sign,
// underscores between digits, "inf"/"infinity" (signed, any case) and "nan" (any case). The
// whole text must be the number (no spaces).
struct GoFloat {
  double value = 0;
  // strconv.NumError's cause, "invalid syntax" or "value out of range"; empty when ok.
  std::string error;
};
GoFloat go_parse_float(std::string_view s);

// The same, with the text of strconv's *NumError as the error, the input quoted by ebb::quoted:
// `strconv.ParseFloat: parsing "1x": invalid syntax`.
Result<double, std::string> strconv_parse_float(std::string_view s);

// strconv.ParseInt(s, 0, 64): optional sign, 0b/0o/0x prefixes, a leading 0 for octal,
// underscores between digits.
struct GoInt {
  std::int64_t value = 0;
  std::string error;  // "invalid syntax" or "value out of range"; empty when ok
};
GoInt go_parse_int(std::string_view s);

}  // namespace ebb::scalers
