// What the redis client reads from a server: RESP replies (hiredis' reader behind
// ReplyParser), fed in pieces of a size the input chooses, as the socket delivers them; every
// reply then goes through the cluster code's readers (CLUSTER SLOTS, MOVED/ASK).
// Property: a command encoded by encode_command() parses back as the same arguments.
// hiredis itself comes from Debian uninstrumented: its reader is exercised, only Ebb's side of
// it is coverage-guided and checked by ASan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "redis/cluster.h"
#include "redis/resp.h"

namespace {

using namespace ebb::scalers::redis;

void drain(ReplyParser& parser, const Endpoint& asked) {
  while (true) {
    auto reply = parser.next();
    if (!reply.ok() || *reply == nullptr) return;
    const Reply& r = **reply;
    (void)SlotMap::from_cluster_slots(r, asked);
    (void)parse_redirect(r, asked);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = std::max<std::size_t>(1, data[0] % 64);
  const std::string_view stream = ebb::fuzz::as_text(data + 1, size - 1);
  const Endpoint asked{"127.0.0.1", 6379};

  ReplyParser parser;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    const auto chunk = stream.substr(at, piece);
    parser.feed(chunk.data(), chunk.size());
    drain(parser, asked);
  }

  Command command;
  for (auto arg : ebb::fuzz::split(stream, '\n')) {
    if (command.size() == 16) break;
    command.emplace_back(arg);
  }
  if (command.empty()) return 0;
  std::string encoded;
  encode_command(command, encoded);
  ReplyParser decoder;
  decoder.feed(encoded.data(), encoded.size());
  auto reply = decoder.next();
  if (!reply.ok() || *reply == nullptr || !(*reply)->is_array() ||
      (*reply)->elements.size() != command.size())
    ebb::fuzz::fail("an encoded command does not parse back", encoded);
  for (std::size_t i = 0; i < command.size(); ++i) {
    if ((*reply)->elements[i].str != command[i])
      ebb::fuzz::fail("argument changed in the round trip", encoded);
  }
  return 0;
}
