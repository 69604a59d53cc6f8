#include "redis/cluster.h"

namespace ebb::scalers::redis {

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kClusterSlots - 1);
}

namespace {

Result<Endpoint> node_endpoint(const Reply& node, const Endpoint& asked) {
  if (!node.is_array() || node.elements.size() < 2 || !node.elements[1].is_integer())
    return fail("malformed CLUSTER SLOTS node entry");
  const std::string& host = node.elements[0].str;
  const auto port = node.elements[1].integer;
  if (port <= 0 || port > 65535) return fail("CLUSTER SLOTS: bad port " + std::to_string(port));
  return Endpoint{host.empty() || host == "?" ? asked.host : host, static_cast<std::uint16_t>(port)};
}

}  // namespace

Result<SlotMap> SlotMap::from_cluster_slots(const Reply& reply, const Endpoint& asked) {
  if (reply.is_error()) return fail("CLUSTER SLOTS: " + reply.str);
  if (!reply.is_array()) return fail("CLUSTER SLOTS: unexpected reply type");
  SlotMap map;
  for (const auto& range : reply.elements) {
    if (!range.is_array() || range.elements.size() < 3 || !range.elements[0].is_integer() ||
        !range.elements[1].is_integer())
      return fail("CLUSTER SLOTS: malformed slot range");
    const auto first = range.elements[0].integer;
    const auto last = range.elements[1].integer;
    if (first < 0 || last >= kClusterSlots || first > last) return fail("CLUSTER SLOTS: slot range out of bounds");
    auto master = node_endpoint(range.elements[2], asked);
    if (!master) return unexpected(master.error());
    std::size_t index = 0;
    while (index < map.masters_.size() && !(map.masters_[index] == *master)) ++index;
    if (index == map.masters_.size()) map.masters_.push_back(*master);
    for (auto slot = first; slot <= last; ++slot) map.slot_owner_[static_cast<std::size_t>(slot)] = static_cast<std::int16_t>(index);
  }
  if (map.masters_.empty()) return fail("CLUSTER SLOTS: no slots are served (cluster not initialised?)");
  return map;
}

const Endpoint* SlotMap::master_for(std::uint16_t slot) const {
  const auto owner = slot_owner_[slot];
  return owner < 0 ? nullptr : &masters_[static_cast<std::size_t>(owner)];
}

std::optional<Redirect> parse_redirect(const Reply& reply, const Endpoint& asked) {
  if (!reply.is_error()) return std::nullopt;
  std::string_view text = reply.str;
  Redirect r;
  if (text.starts_with("MOVED ")) {
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    r.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  for (char c : text.substr(0, space)) {
    if (c < '0' || c > '9') return std::nullopt;
    slot = slot * 10 + static_cast<unsigned>(c - '0');
    if (slot >= kClusterSlots) return std::nullopt;
  }
  r.slot = static_cast<std::uint16_t>(slot);
  std::string_view where = text.substr(space + 1);
  // Redis 7 may announce ":port" when the node does not know its address: same host as asked.
  const bool same_host = where.starts_with(':');
  auto ep = parse_endpoint(same_host ? "host" + std::string(where) : std::string(where));
  if (ep && same_host) ep->host = asked.host;
  if (!ep) return std::nullopt;
  r.target = *ep;
  return r;
}

}  // namespace ebb::scalers::redis
