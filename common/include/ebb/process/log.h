// Structured logs for Ebb's processes (ebb-operator, ebb-metrics-adapter): one JSON object per
// line on stderr with ts (RFC 3339, UTC, milliseconds), level, logger, msg, then the call's key/values
// (namespace, name, error, ...). Lines are written whole under one lock, so concurrent
// workers never interleave. Callers must not pass secrets as values.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace ebb::process {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// "debug", "info", "warn"/"warning", "error" (case-sensitive, as zap's flag). False otherwise.
bool parse_log_level(std::string_view text, LogLevel& level);

using LogFields = std::initializer_list<std::pair<std::string_view, nlohmann::json>>;

class Logger {
 public:
  explicit Logger(std::string name) : name_(std::move(name)) {}

  // Process-wide threshold; lines below it are dropped.
  static void set_level(LogLevel level);
  static bool enabled(LogLevel level);

  void log(LogLevel level, std::string_view msg, LogFields fields = {}) const;
  void debug(std::string_view msg, LogFields fields = {}) const { log(LogLevel::debug, msg, fields); }
  void info(std::string_view msg, LogFields fields = {}) const { log(LogLevel::info, msg, fields); }
  void warn(std::string_view msg, LogFields fields = {}) const { log(LogLevel::warn, msg, fields); }
  void error(std::string_view msg, LogFields fields = {}) const { log(LogLevel::error, msg, fields); }

  Logger child(std::string_view name) const { return Logger(name_ + "." + std::string(name)); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// One line as log() writes it, without the trailing newline (exposed for tests).
std::string format_log_line(LogLevel level, std::string_view logger, std::string_view msg, LogFields fields);

}  // namespace ebb::process
