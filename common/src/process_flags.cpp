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
