// How kubernetes-resource turns the text of a ConfigMap or Secret key into a number, as KEDA's
// kubernetes_resource_scaler.go does with Go's libraries: fmt.Sscanf("%f"/"%d") for plain
// numbers (leading spaces skipped, trailing text ignored, a leading newline an error),
// apimachinery's resource.ParseQuantity + AsApproximateFloat64 for quantities, tidwall/gjson
// paths into JSON and KEDA's GetValueByPath into YAML decoded as gopkg.in/yaml.v3 types it.
// Error texts are Go's; with `secret` set no part of the value appears in them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::scalers::kubernetes {

enum class Format { Number, Json, Yaml };
enum class ValueType { Float64, Int64, Quantity };

// fmt.Sscanf(s, "%f", &float64) and fmt.Sscanf(s, "%d", &int64), with Go's error texts.
Result<double, std::string> scan_float(std::string_view s, bool secret = false);
Result<double, std::string> scan_int(std::string_view s, bool secret = false);

// resource.ParseQuantity(s).AsApproximateFloat64(), with apimachinery's error texts.
Result<double, std::string> parse_quantity(std::string_view s);

// Where Ebb's gjson subset cannot follow a valueLocation KEDA's gjson would: modifiers (@),
// pipes (|), queries (#(…)), multipaths ([…], {…}), literals (!) and JSON lines (..). nullopt
// when supported: dotted keys with \ escapes, * and ? wildcards, array indexes, # and #.key.
std::optional<std::string> unsupported_json_path(std::string_view path);

// kubernetesResourceScaler.parseValue: the raw text in `format`, at `location` for json/yaml,
// converted by `type`. Errors are KEDA's messages below "error getting metric value from …".
Result<double, std::string> parse_value(std::string_view raw, Format format, ValueType type,
                                        std::string_view location, bool secret);

}  // namespace ebb::scalers::kubernetes
