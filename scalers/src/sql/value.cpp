#include "sql/value.h"

#include "go_strconv.h"

#include "ebb/strings.h"

namespace ebb::scalers::sql {

std::string wrong_column_count(std::size_t columns) {
  return "sql: expected " + std::to_string(columns) + " destination arguments in Scan, not 1";
}

Result<double, std::string> scan_float(std::optional<std::string_view> value, ValueKind kind,
                                       std::string_view column, std::string_view go_type) {
  const std::string prefix = "sql: Scan error on column index 0, name " + quoted(column) + ": ";
  if (!value) return unexpected(prefix + "converting NULL to float64 is unsupported");
  std::string text(*value);
  std::string type(go_type);
  if (kind == ValueKind::Bool) {
    text = !text.empty() && (text[0] == 't' || text[0] == '1') ? "true" : "false";
    type = "bool";
  }
  const GoFloat f = kind == ValueKind::Bool ? GoFloat{0, "invalid syntax"} : go_parse_float(text);
  if (!f.error.empty()) {
    // Long texts are cut: a poll error is a status line, not a dump of the column.
    if (text.size() > 64) text = text.substr(0, 64) + "...";
    return unexpected(prefix + "converting driver.Value type " + type + " (" + quoted(text) +
                      ") to a float64: " + f.error);
  }
  return f.value;
}

}  // namespace ebb::scalers::sql
