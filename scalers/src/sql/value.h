// Reading a SQL scaler's one number the way KEDA does (database/sql's Row.Scan into a float64),
// shared by the postgresql and mysql clients: which results are errors, and the texts of those
// errors, which users of KEDA search for.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers::sql {

// What a driver hands database/sql for the first column: numbers it decoded itself (integers,
// floats) never fail; text is parsed with ParseFloat; booleans always fail.
enum class ValueKind { Number, Text, Bool };

// database/sql's messages, verbatim.
inline constexpr std::string_view kNoRows = "sql: no rows in result set";
// More than one column: "sql: expected 3 destination arguments in Scan, not 1".
std::string wrong_column_count(std::size_t columns);

// The first column's value as Scan(&float64) gives it, or database/sql's error, e.g.
//   sql: Scan error on column index 0, name "n": converting NULL to float64 is unsupported
// `go_type` is how the Go driver would have typed a text value in the message ("string" for
// pgx, "[]uint8" for go-sql-driver/mysql).
Result<double, std::string> scan_float(std::optional<std::string_view> value, ValueKind kind,
                                       std::string_view column, std::string_view go_type);

}  // namespace ebb::scalers::sql
