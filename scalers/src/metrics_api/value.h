// The pure half of the metrics-api trigger (KEDA pkg/scalers/metrics_api_scaler.go,
// GetValueFromResponse): the value at `valueLocation` in a response body of each format.
//
// - json: a GJSON path (github.com/tidwall/gjson), the subset Ebb implements:
//     keys separated by '.'; '\' escapes the next character ("a\.b" is the key "a.b");
//     '*' and '?' wildcards in a key (the first matching key in document order);
//     a number indexes an array (on an object it is a key, as in GJSON);
//     '#' is an array's length; "arr.#.key" collects values, which is not a number (an error,
//     as in KEDA).
//   Queries ("#(...)"), modifiers ("@reverse"), pipes ('|') and multipaths are refused with an
//   error rather than guessed. The body must be valid JSON (GJSON reads broken JSON best-effort).
// - yaml: KEDA's dotted path (pkg/util/value_by_path.go): keys split on '.', list items by
//   index, the first scalar met is the value even if the path goes on; values typed as
//   gopkg.in/yaml.v3 types them (int, float incl. .nan/.inf, string; bool, null, timestamps and
//   integers beyond int64 are errors).
// - xml: KEDA's format never works (Go cannot unmarshal XML into a map). Ebb reads the dotted
//   path it documents: the first component is the root element, then child elements by name;
//   repeated elements form a list indexed by number; an element without child elements is its
//   text. Attributes are not addressable.
// - prometheus: `valueLocation` is a PromQL metric selector (metric{label="v",...}); the value
//   of the first series, in file order, that matches every matcher, in the text exposition
//   format.
// Strings are read as Kubernetes quantities ("64", "1k", "500m"). A value that is NaN or
// infinite is an error in every format (KEDA passes it on).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers::metrics_api {

enum class Format { Json, Yaml, Xml, Prometheus };

Result<double> value_from_response(std::string_view body, const std::string& location,
                                   Format format);

// k8s.io/apimachinery resource.ParseQuantity followed by AsApproximateFloat64: a strict
// grammar (no spaces, no NaN/Inf, no hex); nullopt when `s` is not a quantity.
std::optional<double> parse_quantity(std::string_view s);

}  // namespace ebb::scalers::metrics_api
