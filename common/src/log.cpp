#include "ebb/process/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "ebb/time.h"

namespace ebb::process {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_write_mutex;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}


}  // namespace

bool parse_log_level(std::string_view text, LogLevel& level) {
  if (text == "debug") level = LogLevel::debug;
  else if (text == "info") level = LogLevel::info;
  else if (text == "warn" || text == "warning") level = LogLevel::warn;
  else if (text == "error") level = LogLevel::error;
  else return false;
  return true;
}

void Logger::set_level(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool Logger::enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string format_log_line(LogLevel level, std::string_view logger, std::string_view msg, LogFields fields) {
  // Fixed keys first, in a fixed order, so the lines read well without a JSON viewer.
  nlohmann::ordered_json line;
  line["ts"] = format_rfc3339_millis(std::chrono::system_clock::now());
  line["level"] = level_name(level);
  line["logger"] = logger;
  line["msg"] = msg;
  for (const auto& [key, value] : fields) {
    const std::string k(key);
    if (k == "ts" || k == "level" || k == "logger" || k == "msg") continue;
    line[k] = value;
  }
  // Replace, never throw, on invalid UTF-8 coming from an API error body.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void Logger::log(LogLevel level, std::string_view msg, LogFields fields) const {
  if (!enabled(level)) return;
  std::string text = format_log_line(level, name_, msg, fields);
  text += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ebb::process
