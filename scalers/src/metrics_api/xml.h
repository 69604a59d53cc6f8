// A small XML reader for metrics-api's `format: xml`: elements, their text and their child
// elements. Enough for the documents a metrics endpoint serves; no DTDs, no namespaces
// (a prefix stays part of the name), attributes are read past and dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::metrics_api {

struct XmlElement {
  std::string name;
  std::string text;  // character data directly inside the element, entities decoded, trimmed
  std::vector<XmlElement> children;
};

// The root element. Errors say what is wrong and at which byte offset.
Result<XmlElement> parse_xml(std::string_view document);

}  // namespace ebb::scalers::metrics_api
