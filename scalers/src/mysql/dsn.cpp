#include "mysql/dsn.h"

#include <algorithm>
#include <set>

#include "ebb/strings.h"
#include "ebb/time.h"
#include "mysql/client.h"

namespace ebb::scalers::mysql {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

// Go's url.PathUnescape / url.QueryUnescape (`plus`: '+' is a space).
Result<std::string, std::string> unescape(std::string_view s, bool plus) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
        return unexpected("invalid URL escape " + quoted(s.substr(i, 3)));
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 3;
    } else {
      out += plus && s[i] == '+' ? ' ' : s[i];
      ++i;
    }
  }
  return out;
}

// go-sql-driver's readBool.
std::optional<bool> read_bool(std::string_view v) {
  if (v == "1" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "false" || v == "FALSE" || v == "False") return false;
  return std::nullopt;
}

Result<std::optional<std::chrono::milliseconds>, std::string> read_duration(std::string_view v) {
  auto d = parse_go_duration(v);
  if (!d) return unexpected("time: invalid duration " + quoted(v));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() <= 0) return std::optional<std::chrono::milliseconds>();
  return std::optional<std::chrono::milliseconds>(ms);
}

const std::set<std::string_view> kUnsafeCollations = {
    "big5_chinese_ci",    "sjis_japanese_ci",  "gbk_chinese_ci",
    "big5_bin",           "gb2312_bin",        "gbk_bin",
    "sjis_bin",           "cp932_japanese_ci", "cp932_bin",
    "gb18030_chinese_ci", "gb18030_bin",       "gb18030_unicode_520_ci"};

// parseDSNParams; `interpolate` reports interpolateParams for normalize().
Result<void, std::string> parse_params(Settings& s, std::string_view params, bool& interpolate) {
  const auto invalid_bool = [](std::string_view v) {
    return unexpected("invalid bool value: " + std::string(v));
  };
  std::size_t start = 0;
  while (start <= params.size()) {
    const auto amp = params.find('&', start);
    const std::string_view pair =
        params.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    start = amp == std::string_view::npos ? params.size() + 1 : amp + 1;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);

    // Booleans the driver knows; most change nothing for one read-only query.
    bool* flag = nullptr;
    bool ignored = false;
    if (key == "allowCleartextPasswords")
      flag = &s.allow_cleartext_passwords;
    else if (key == "multiStatements")
      flag = &s.multi_statements;
    else if (key == "compress")
      flag = &s.compress;
    else if (key == "clientFoundRows")
      flag = &s.client_found_rows;
    else if (key == "interpolateParams")
      flag = &interpolate;
    else if (key == "allowAllFiles" || key == "allowFallbackToPlaintext" ||
             key == "allowNativePasswords" || key == "allowOldPasswords" ||
             key == "checkConnLiveness" || key == "columnsWithAlias" || key == "parseTime" ||
             key == "rejectReadOnly")
      flag = &ignored;
    if (flag) {
      auto b = read_bool(value);
      if (!b) return invalid_bool(value);
      *flag = *b;
      continue;
    }

    if (key == "charset") {
      s.charsets = split(value, ',');
    } else if (key == "collation") {
      s.collation = std::string(value);
    } else if (key == "loc") {
      // Time zones only matter for DATETIME values, never for the number read here.
      if (auto v = unescape(value, true); !v) return unexpected(v.error());
    } else if (key == "timeTruncate") {
      if (!parse_go_duration(value))
        return unexpected("invalid timeTruncate value: " + std::string(value) +
                          ", error: time: invalid duration " + quoted(value));
    } else if (key == "readTimeout" || key == "writeTimeout" || key == "timeout") {
      auto d = read_duration(value);
      if (!d) return unexpected(d.error());
      (key == "timeout" ? s.timeout : key == "readTimeout" ? s.read_timeout : s.write_timeout) = *d;
    } else if (key == "serverPubKey") {
      auto name = unescape(value, true);
      if (!name) return unexpected("invalid value for server pub key name: " + name.error());
      // KEDA registers no server public keys, so any name is unknown to its driver.
      return unexpected("invalid value / unknown server pub key name: " + *name);
    } else if (key == "strict") {
      // The driver panics here; an error says the same without the crash.
      return unexpected(
          std::string("strict mode has been removed. See "
                      "https://github.com/go-sql-driver/mysql/wiki/strict-mode"));
    } else if (key == "tls") {
      if (auto b = read_bool(value)) {
        s.tls = *b ? TlsMode::Verified : TlsMode::Disabled;
      } else if (const auto lower = to_lower(value); lower == "skip-verify") {
        s.tls = TlsMode::SkipVerify;
      } else if (lower == "preferred") {
        s.tls = TlsMode::Preferred;
      } else {
        auto name = unescape(value, true);
        if (!name) return unexpected("invalid value for TLS config name: " + name.error());
        // KEDA registers no TLS configurations by name either.
        return unexpected("invalid value / unknown config name: " + *name);
      }
    } else if (key == "maxAllowedPacket") {
      const bool digits =
          !value.empty() &&
          std::all_of(value.begin() + (value[0] == '-' || value[0] == '+'), value.end(),
                      [](char c) { return c >= '0' && c <= '9'; }) &&
          value.size() > static_cast<std::size_t>(value[0] == '-' || value[0] == '+');
      if (!digits) return unexpected("strconv.Atoi: parsing " + quoted(value) + ": invalid syntax");
    } else if (key == "connectionAttributes") {
      if (auto v = unescape(value, true); !v)
        return unexpected("invalid connectionAttributes value: " + v.error());
    } else {
      auto v = unescape(value, true);
      if (!v) return unexpected(v.error());
      auto existing = std::find_if(s.session_variables.begin(), s.session_variables.end(),
                                   [&](const auto& p) { return p.first == key; });
      if (existing != s.session_variables.end())
        existing->second = *v;
      else
        s.session_variables.emplace_back(std::string(key), *v);
    }
  }
  return {};
}

}  // namespace

Result<std::pair<std::string, std::string>, std::string> split_host_port(
    std::string_view hostport) {
  const auto error = [&](const char* why) {
    return unexpected("address " + std::string(hostport) + ": " + why);
  };
  const auto i = hostport.rfind(':');
  if (i == std::string_view::npos) return error("missing port in address");
  std::string_view host;
  std::size_t j = 0, k = 0;
  if (hostport[0] == '[') {
    const auto end = hostport.find(']');
    if (end == std::string_view::npos) return error("missing ']' in address");
    if (end + 1 == hostport.size()) return error("missing port in address");
    if (end + 1 != i)
      return error(hostport[end + 1] == ':' ? "too many colons in address"
                                            : "missing port in address");
    host = hostport.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.substr(0, i);
    if (host.find(':') != std::string_view::npos) return error("too many colons in address");
  }
  if (hostport.substr(j).find('[') != std::string_view::npos)
    return error("unexpected '[' in address");
  if (hostport.substr(k).find(']') != std::string_view::npos)
    return error("unexpected ']' in address");
  return std::pair<std::string, std::string>(std::string(host),
                                             std::string(hostport.substr(i + 1)));
}

Result<Settings, std::string> parse_dsn(std::string_view dsn) {
  Settings s;
  s.net.clear();
  bool interpolate = false;
  const auto slash = dsn.rfind('/');
  if (slash == std::string_view::npos) {
    if (!dsn.empty())
      return unexpected(std::string("invalid DSN: missing the slash separating the database name"));
  } else {
    if (slash > 0) {
      // [user[:password]@][net[(addr)]]: the last '@' ends the credentials, the first ':' the user.
      const std::string_view left = dsn.substr(0, slash);
      const auto at = left.rfind('@');
      std::size_t net_start = 0;
      if (at != std::string_view::npos) {
        const std::string_view creds = left.substr(0, at);
        const auto colon = creds.find(':');
        s.user = std::string(creds.substr(0, colon));
        if (colon != std::string_view::npos) s.password = std::string(creds.substr(colon + 1));
        net_start = at + 1;
      }
      const std::string_view net_addr = left.substr(net_start);
      const auto paren = net_addr.find('(');
      if (paren != std::string_view::npos) {
        if (net_addr.back() != ')') {
          if (net_addr.substr(paren + 1).find(')') != std::string_view::npos)
            return unexpected(std::string("invalid DSN: did you forget to escape a param value?"));
          return unexpected(
              std::string("invalid DSN: network address not terminated (missing closing brace)"));
        }
        s.address = std::string(net_addr.substr(paren + 1, net_addr.size() - paren - 2));
      }
      s.net = std::string(net_addr.substr(0, paren));
    }
    std::string_view dbname = dsn.substr(slash + 1);
    if (const auto q = dbname.find('?'); q != std::string_view::npos) {
      if (auto ok = parse_params(s, dbname.substr(q + 1), interpolate); !ok)
        return unexpected(ok.error());
      dbname = dbname.substr(0, q);
    }
    auto name = unescape(dbname, false);
    if (!name) return unexpected("invalid dbname " + quoted(dbname) + ": " + name.error());
    s.dbname = *name;
  }

  // normalize()
  if (interpolate && kUnsafeCollations.count(s.collation))
    return unexpected(
        std::string("invalid DSN: interpolateParams can not be used with unsafe collations"));
  if (s.net.empty()) s.net = "tcp";
  if (s.net != "tcp" && s.net != "tcp4" && s.net != "tcp6" && s.net != "unix")
    return unexpected(
        std::string("invalid DSN: unknown network before the address (tcp, tcp4, tcp6 or unix; not "
                    "quoted, as a DSN that lost a "
                    "character there may show part of a password)"));
  if (s.address.empty()) {
    if (s.net == "tcp")
      s.address = "127.0.0.1:3306";
    else if (s.net == "unix")
      s.address = "/tmp/mysql.sock";
    else
      return unexpected("default addr for network '" + s.net + "' unknown");
  } else if (s.net == "tcp" && !split_host_port(s.address)) {
    s.address = join_host_port(s.address, "3306");
  }
  std::sort(s.session_variables.begin(), s.session_variables.end());
  return s;
}

std::string path_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~' || c == '$' || c == '&' ||
                      c == '+' || c == ':' || c == '=' || c == '@';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string format_dsn(const std::string& user, const std::string& password,
                       const std::string& host, const std::string& port,
                       const std::string& dbname) {
  std::string out;
  if (!user.empty()) {
    out += user;
    if (!password.empty()) out += ":" + password;
    out += "@";
  }
  return out + "tcp(" + join_host_port(host, port) + ")/" + path_escape(dbname);
}

std::string metric_db_name(std::string_view connection_string) {
  const auto slash = connection_string.rfind('/');
  return std::string(slash == std::string_view::npos ? connection_string
                                                     : connection_string.substr(slash + 1));
}

std::string Settings::endpoint() const {
  const std::string where = net == "unix" ? "unix(" + address + ")" : address;
  return "mysql " + where + "/" + dbname;
}

std::string Settings::identity() const {
  std::string key;
  for (const std::string* f : {&user, &password, &net, &address, &dbname, &collation})
    append_key_field(key, *f);
  append_key_field(key, std::to_string(static_cast<int>(tls)));
  append_key_field(key, join(charsets, ","));
  append_key_field(
      key, std::string{compress ? '1' : '0', multi_statements ? '1' : '0',
                       allow_cleartext_passwords ? '1' : '0', client_found_rows ? '1' : '0'});
  for (const auto* d : {&timeout, &read_timeout, &write_timeout})
    append_key_field(key, *d ? std::to_string((*d)->count()) : "-");
  for (const auto& [name, value] : session_variables) {
    append_key_field(key, name);
    append_key_field(key, value);
  }
  return key;
}

std::string Target::pool_key() const {
  std::string key = settings.identity();
  append_key_field(key, std::to_string(timeouts.connect.count()));
  append_key_field(key, std::to_string(timeouts.statement.count()));
  return key;
}

}  // namespace ebb::scalers::mysql
