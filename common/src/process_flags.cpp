#include "ebb/process/flags.h"

#include <cctype>
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

}  // namespace ebb::process
