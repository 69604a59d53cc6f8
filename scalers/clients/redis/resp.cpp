#include "redis/resp.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

namespace ebb::scalers::redis {

Reply Reply::make_integer(long long v) {
  Reply r;
  r.type = Type::Integer;
  r.integer = v;
  return r;
}

Reply Reply::make_text(Type t, std::string s) {
  Reply r;
  r.type = t;
  r.str = std::move(s);
  return r;
}

Reply Reply::make_array(std::vector<Reply> elements) {
  Reply r;
  r.type = Type::Array;
  r.elements = std::move(elements);
  return r;
}

void encode_command(const Command& command, std::string& out) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const auto& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* encoded = nullptr;
  const int n = redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (n < 0 || encoded == nullptr) throw std::bad_alloc();  // hiredis fails only on allocation
  out.append(encoded, static_cast<std::size_t>(n));
  redisFreeCommand(encoded);
}

namespace {

Reply convert(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING: return Reply::make_text(Reply::Type::String, std::string(r.str, r.len));
    case REDIS_REPLY_STATUS: return Reply::make_text(Reply::Type::Status, std::string(r.str, r.len));
    case REDIS_REPLY_ERROR: return Reply::make_text(Reply::Type::Error, std::string(r.str, r.len));
    case REDIS_REPLY_INTEGER: return Reply::make_integer(r.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) elements.push_back(convert(*r.element[i]));
      return Reply::make_array(std::move(elements));
    }
    default: return Reply{};  // REDIS_REPLY_NIL
  }
}

}  // namespace

void ReplyParser::ReaderDeleter::operator()(void* reader) const {
  redisReaderFree(static_cast<redisReader*>(reader));
}

ReplyParser::ReplyParser() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

ReplyParser::~ReplyParser() = default;

void ReplyParser::feed(const char* data, std::size_t size) {
  redisReaderFeed(static_cast<redisReader*>(reader_.get()), data, size);
}

Result<std::unique_ptr<Reply>> ReplyParser::next() {
  auto* reader = static_cast<redisReader*>(reader_.get());
  void* raw = nullptr;
  if (redisReaderGetReply(reader, &raw) != REDIS_OK)
    return fail(std::string("protocol error: ") + reader->errstr);
  if (raw == nullptr) return std::unique_ptr<Reply>();
  auto reply = std::make_unique<Reply>(convert(*static_cast<redisReply*>(raw)));
  freeReplyObject(raw);
  return reply;
}

std::string command_name(const Command& command) { return command.empty() ? std::string() : command.front(); }

}  // namespace ebb::scalers::redis
