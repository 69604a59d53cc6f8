#include "ebb/process/flags.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace ebb::process {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double value = 0;
    try {
      std::size_t used = 0;
      value = std::stod(text.substr(start, i - start), &used);
      if (used != i - start) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
    const std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "h") scale = 3'600'000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "s") scale = 1'000;
    else if (unit == "ms") scale = 1;
    else if (unit == "us" || unit == "µs") scale = 0.001;
    else if (unit == "ns") scale = 0.000001;
    else return std::nullopt;
    total_ms += value * scale;
  }
  return std::chrono::milliseconds(static_cast<long long>(total_ms + 0.5));
}

std::string pod_namespace(const std::string& namespace_file) {
  std::ifstream in(namespace_file);
  if (!in) return "";
  std::string ns;
  std::getline(in, ns);
  while (!ns.empty() && std::isspace(static_cast<unsigned char>(ns.back()))) ns.pop_back();
  return ns;
}

std::string cluster_object_namespace(const std::string& flag, const NamespaceLookups& lookups) {
  if (!flag.empty()) return flag;
  auto env = [&](const char* name) -> std::string {
    if (lookups.env) return lookups.env(name);
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  for (const char* name : {"KEDA_CLUSTER_OBJECT_NAMESPACE", "POD_NAMESPACE"})
    if (std::string value = env(name); !value.empty()) return value;
  if (std::string ns = lookups.namespace_file ? lookups.namespace_file() : pod_namespace();
      !ns.empty())
    return ns;
  return "keda";
}

}  // namespace ebb::process
