// Redis Cluster routing: key -> hash slot (CRC16 with hash tags), the slot map from CLUSTER
// SLOTS, and MOVED/ASK redirections.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ebb/result.h"
#include "redis/resp.h"
#include "redis/types.h"

namespace ebb::scalers::redis {

inline constexpr std::uint16_t kClusterSlots = 16384;

// CRC16-CCITT (XMODEM), the checksum Redis Cluster uses.
std::uint16_t crc16(std::string_view data);
// Slot of a key: only the part inside the first non-empty {...} is hashed, so related keys
// ("{user1000}.following", "{user1000}.followers") land on the same node.
std::uint16_t key_slot(std::string_view key);

// Which master serves each slot. Immutable once built; a refresh builds a new one.
class SlotMap {
 public:
  // Parses a CLUSTER SLOTS reply. Nodes announced with an empty host are reachable at the
  // host we asked (`asked`), as Redis documents for nodes that do not know their own address.
  static Result<SlotMap> from_cluster_slots(const Reply& reply, const Endpoint& asked);

  const Endpoint* master_for(std::uint16_t slot) const;
  const std::vector<Endpoint>& masters() const { return masters_; }

 private:
  std::vector<Endpoint> masters_;
  std::vector<std::int16_t> slot_owner_ = std::vector<std::int16_t>(kClusterSlots, -1);  // index into masters_
};

struct Redirect {
  bool ask = false;  // ASK: one-off, send ASKING first; MOVED: the slot moved for good
  std::uint16_t slot = 0;
  Endpoint target;
};
// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for any other error.
std::optional<Redirect> parse_redirect(const Reply& reply, const Endpoint& asked);

}  // namespace ebb::scalers::redis
