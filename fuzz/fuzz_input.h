// Helpers shared by the fuzz targets: carving structured inputs out of the fuzzer's bytes, and
// stopping the process when a property (not just memory safety) does not hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the text up to the first `separator` (consumed) from `in`; all of it when none is left.
inline std::string_view take(std::string_view& in, char separator = '\n') {
  const auto at = in.find(separator);
  std::string_view head = in.substr(0, at);
  in = at == std::string_view::npos ? std::string_view{} : in.substr(at + 1);
  return head;
}

inline std::vector<std::string_view> split(std::string_view in, char separator) {
  std::vector<std::string_view> parts;
  while (!in.empty()) parts.push_back(take(in, separator));
  return parts;
}

// A property violated: libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz property violated: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace ebb::fuzz
