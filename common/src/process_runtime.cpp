#include "ebb/process/runtime.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <random>

namespace ebb::process {

std::string host_name(std::string_view fallback) {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return std::string(fallback);
  return buffer;
}

std::string random_suffix() {
  static const char* hex = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 8; ++i) out += hex[rd() % 16];
  return out;
}

sigset_t termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

bool bind_disabled(const std::string& bind_address) { return bind_address.empty() || bind_address == "0"; }

std::string machine_arch() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  std::string arch = u.machine;
  if (arch == "x86_64") return "amd64";
  if (arch == "aarch64") return "arm64";
  return arch;
}

}  // namespace ebb::process
