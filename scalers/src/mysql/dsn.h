// The mysql trigger's connection settings (pure): go-sql-driver/mysql v1.10's DSN
//   [user[:password]@][net[(addr)]]/dbname[?param1=value1&...]
// parsed as its ParseDSN does (so every connectionString KEDA accepts is accepted and means the
// same), KEDA's DSN built from host/port/username/password/dbName (FormatDSN), and the database
// name KEDA puts into the metric name.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ebb/result.h"

namespace ebb::scalers::mysql {

// The `tls` parameter: false/absent, true (verified), skip-verify, preferred (TLS when the
// server offers it, unverified).
enum class TlsMode { Disabled, Verified, SkipVerify, Preferred };

struct Settings {
  std::string user;
  std::string password;     // secret
  std::string net = "tcp";  // tcp, tcp4, tcp6 or unix
  std::string address;      // "host:port" for tcp; a socket path for unix
  std::string dbname;
  TlsMode tls = TlsMode::Disabled;
  std::vector<std::string> charsets;  // tried in order; empty: utf8mb4
  std::string collation;
  bool compress = false;
  bool multi_statements = false;
  bool allow_cleartext_passwords = false;
  bool client_found_rows = false;
  // Go durations from the DSN; absent (or <= 0) means the client's own deadline.
  std::optional<std::chrono::milliseconds> timeout, read_timeout, write_timeout;
  // Parameters the driver does not know: session variables, "SET name = value" at connect.
  std::vector<std::pair<std::string, std::string>> session_variables;

  // "mysql 127.0.0.1:3306/orders", "mysql unix(/run/mysqld/mysqld.sock)/orders"; never
  // credentials.
  std::string endpoint() const;
  // Everything that makes two sessions interchangeable; the pool key (holds the password).
  std::string identity() const;
};

// ParseDSN, with the driver's error texts. Where the driver panics (`strict`) this is an error
// too. Messages never quote the user, the password or the network name (which holds part of a
// password when a DSN lost its slash).
Result<Settings, std::string> parse_dsn(std::string_view dsn);

// KEDA's metadataToConnectionStr without connectionString: mysql.NewConfig() with Addr
// net.JoinHostPort(host, port), Net tcp, and FormatDSN(), e.g.
// "user:pass@tcp(host:3306)/db". An empty user drops the password (FormatDSN writes it only
// after a user).
std::string format_dsn(const std::string& user, const std::string& password,
                       const std::string& host, const std::string& port, const std::string& dbname);

// Go's url.PathEscape.
std::string path_escape(std::string_view s);

// KEDA's parseMySQLDbNameFromConnectionStr: the text after the connection string's last '/',
// query parameters included.
std::string metric_db_name(std::string_view connection_string);

// Go's net.SplitHostPort: host and port of "host:port" / "[v6]:port", or its error text.
Result<std::pair<std::string, std::string>, std::string> split_host_port(std::string_view hostport);

}  // namespace ebb::scalers::mysql
