#include "ebb/process/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

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

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
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
  line["ts"] = now_rfc3339();
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
