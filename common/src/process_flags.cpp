#include "ebb/process/flags.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "ebb/time.h"

namespace ebb::process {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  auto d = parse_go_duration(text);
  if (!d || d->count() < 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::string pod_namespace(const std::string& namespace_file) {
  std::ifstream in(namespace_file);
  if (!in) return "";
  std::string ns;
  std::getline(in, ns);
  while (!ns.empty() && std::isspace(static_cast<unsigned char>(ns.back()))) ns.pop_back();
  return ns;
}

std::vector<std::string> watch_namespace_env(const std::function<std::string(const char*)>& env) {
  std::string value;
  if (env) {
    value = env("WATCH_NAMESPACE");
  } else if (const char* v = std::getenv("WATCH_NAMESPACE")) {
    value = v;
  }
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    std::string item =
        value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    std::size_t first = 0;
    while (first < item.size() && std::isspace(static_cast<unsigned char>(item[first]))) ++first;
    if (first < item.size()) out.push_back(item.substr(first));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
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
