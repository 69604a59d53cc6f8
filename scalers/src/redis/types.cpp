#include "redis/types.h"

#include <charconv>

#include "ebb/strings.h"

namespace ebb::scalers::redis {

std::string Endpoint::str() const { return join_host_port(host, std::to_string(port)); }

Result<Endpoint> parse_endpoint(std::string_view text) {
  // "redis://user:password@host:6379" (what other Redis tools take) can never connect as an
  // address, and the text may hold a password: refuse it without quoting it.
  if (text.find_first_of("/@") != std::string_view::npos)
    return fail("must be host:port, not a URL or user info; credentials go in the username and password parameters");
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("must be host:port, got \"" + std::string(text) + "\"");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return fail("must be host:port with a port in 1..65535, got \"" + std::string(text) + "\"");
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

namespace {
std::string join_endpoints(const std::vector<Endpoint>& eps) {
  std::vector<std::string> parts;
  for (const auto& ep : eps) parts.push_back(ep.str());
  return join(parts, ",");
}
}  // namespace

std::string Deployment::describe() const {
  switch (mode) {
    case Mode::Standalone: return addresses.empty() ? std::string("(no address)") : addresses.front().str();
    case Mode::Cluster: return "cluster " + join_endpoints(addresses);
    case Mode::Sentinel: return "sentinel " + join_endpoints(addresses) + " master " + sentinel_master;
  }
  return {};
}

}  // namespace ebb::scalers::redis
