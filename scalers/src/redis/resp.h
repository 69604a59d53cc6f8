// RESP (Redis protocol) values and codec. hiredis 0.14 does the actual encoding
// (redisFormatCommandArgv) and parsing (redisReader); this wrapper turns its C reply objects into
// owned C++ values so callers never touch hiredis memory management.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::redis {

// One command as its arguments, e.g. {"LLEN", "jobs"}. Arguments are binary-safe.
using Command = std::vector<std::string>;

struct Reply {
  enum class Type { String, Array, Integer, Nil, Status, Error };

  Type type = Type::Nil;
  std::string str;             // String, Status, Error
  long long integer = 0;       // Integer
  std::vector<Reply> elements; // Array

  bool is_error() const { return type == Type::Error; }
  bool is_integer() const { return type == Type::Integer; }
  bool is_nil() const { return type == Type::Nil; }
  bool is_array() const { return type == Type::Array; }
  bool is_text() const { return type == Type::String || type == Type::Status; }

  static Reply make_integer(long long v);
  static Reply make_text(Type t, std::string s);
  static Reply make_array(std::vector<Reply> elements);
};

// Appends the RESP encoding of `command` to `out`.
void encode_command(const Command& command, std::string& out);

// Incremental reply parser: feed bytes as they arrive, take replies as they complete.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  void feed(const char* data, std::size_t size);
  // The next complete reply, or nullptr when more bytes are needed.
  // A protocol error leaves the parser unusable: the connection must be dropped.
  Result<std::unique_ptr<Reply>> next();

 private:
  struct ReaderDeleter {
    void operator()(void* reader) const;
  };
  std::unique_ptr<void, ReaderDeleter> reader_;
};

// The command name for messages: the first argument only, so values never leak into errors.
std::string command_name(const Command& command);

}  // namespace ebb::scalers::redis
