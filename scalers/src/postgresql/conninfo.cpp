#include "postgresql/conninfo.h"

#include <cstdint>
#include <map>
#include <vector>

#include "ebb/strings.h"
#include "go_utf8.h"
#include "postgresql/client.h"

namespace ebb::scalers::postgresql {

namespace {

// strings.IndexFunc(s, unicode.IsSpace) != -1: invalid UTF-8 decodes to U+FFFD, which is not a
// space.
bool has_unicode_space(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto [r, n] = go_decode_rune(s, i);
    if (go_is_space(r)) return true;
    i += n;
  }
  return false;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// libpq's keyword/value syntax, as far as it parses; stops at the first thing it cannot read.
std::map<std::string, std::string> read_keyword_values(std::string_view s) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    std::string key;
    while (i < s.size() && s[i] != '=' && !is_space(s[i])) key += s[i++];
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') break;
    ++i;
    while (i < s.size() && is_space(s[i])) ++i;
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value += s[i + 1];
          i += 2;
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value += s[i++];
        }
      }
      if (!closed) break;
    } else {
      while (i < s.size() && !is_space(s[i])) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
    }
    out[key] = value;
  }
  return out;
}

// postgres[ql]://[user[:password]@][host[:port][,...]][/dbname][?param=value&...]
std::map<std::string, std::string> read_url(std::string_view s) {
  std::map<std::string, std::string> out;
  s.remove_prefix(s.find("://") + 3);
  const auto end_of_authority = s.find_first_of("/?");
  std::string_view authority = s.substr(0, end_of_authority);
  std::string_view rest =
      end_of_authority == std::string_view::npos ? "" : s.substr(end_of_authority);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);

  std::vector<std::string> hosts, ports;
  for (const auto& spec : split(authority, ',')) {
    std::string host = spec, port;
    if (!spec.empty() && spec[0] == '[') {
      const auto close = spec.find(']');
      host = spec.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      if (close != std::string::npos && close + 1 < spec.size() && spec[close + 1] == ':')
        port = spec.substr(close + 2);
    } else if (const auto colon = spec.rfind(':'); colon != std::string::npos) {
      host = spec.substr(0, colon);
      port = spec.substr(colon + 1);
    }
    hosts.push_back(percent_decode(host));
    ports.push_back(port);
  }
  bool any_host = false, any_port = false;
  for (const auto& h : hosts) any_host = any_host || !h.empty();
  for (const auto& p : ports) any_port = any_port || !p.empty();
  if (any_host) out["host"] = join(hosts, ",");
  if (any_port) out["port"] = join(ports, ",");

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.size() > 1) out["dbname"] = percent_decode(rest.substr(1));
  for (const auto& pair : split(query, '&')) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    std::string key = percent_decode(pair.substr(0, eq));
    if (key == "host" || key == "hostaddr" || key == "port" || key == "dbname")
      out[key] = percent_decode(pair.substr(eq + 1));
  }
  return out;
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos && (host.empty() || host[0] != '/') ? "[" + host + "]"
                                                                                 : host;
}

}  // namespace

std::string escape_parameter(std::string_view value) {
  if (!has_unicode_space(value) && value.find_first_of("'\\") == std::string_view::npos)
    return std::string(value);
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string build_connection(const ConnectionParams& p) {
  return "host=" + escape_parameter(p.host) + " port=" + escape_parameter(p.port) +
         " user=" + escape_parameter(p.user_name) + " dbname=" + escape_parameter(p.db_name) +
         " sslmode=" + escape_parameter(p.sslmode) + " password=" + escape_parameter(p.password);
}

bool url_password_cut(std::string_view conninfo) {
  if (!conninfo.starts_with("postgresql://") && !conninfo.starts_with("postgres://")) return false;
  const std::string_view rest = conninfo.substr(conninfo.find("://") + 3);
  const auto end_of_authority = rest.find_first_of("/?#");
  return end_of_authority != std::string_view::npos &&
         rest.find('@', end_of_authority) != std::string_view::npos;
}

std::string describe(std::string_view conninfo) {
  if (url_password_cut(conninfo)) return "postgresql (unreadable URL)";
  const bool url = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
  auto settings = url ? read_url(conninfo) : read_keyword_values(conninfo);
  std::string hosts = settings["host"];
  if (hosts.empty()) hosts = settings["hostaddr"];
  std::string ports = settings["port"];
  if (ports.empty()) ports = "5432";

  const auto host_list = split(hosts, ',');
  const auto port_list = split(ports, ',');
  std::vector<std::string> where;
  for (std::size_t i = 0; i < host_list.size(); ++i) {
    const std::string host = host_list[i].empty() ? "(default host)" : bracketed(host_list[i]);
    const std::string& port =
        port_list.size() == host_list.size() ? port_list[i] : port_list.front();
    where.push_back(host + ":" + (port.empty() ? "5432" : port));
  }
  std::string out = "postgresql " + join(where, ",");
  if (!settings["dbname"].empty()) out += "/" + settings["dbname"];
  return out;
}

std::string Target::pool_key() const {
  std::string key;
  append_key_field(key, conninfo);
  append_key_field(key, std::to_string(timeouts.connect.count()));
  append_key_field(key, std::to_string(timeouts.statement.count()));
  return key;
}

}  // namespace ebb::scalers::postgresql
