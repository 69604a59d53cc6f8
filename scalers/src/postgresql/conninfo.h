// Connection strings of the postgresql trigger (pure): KEDA's construction from host, port,
// userName, dbName, sslmode and password, and a description of any libpq connection string
// (keyword/value or postgres:// URL) for messages that never shows its credentials.
#pragma once

#include <string>
#include <string_view>

namespace ebb::scalers::postgresql {

// KEDA's escapePostgreConnectionParameter: a value with a Unicode space, a quote or a backslash
// is single-quoted with \ and ' escaped; anything else (also "") is written as is.
std::string escape_parameter(std::string_view value);

struct ConnectionParams {
  std::string host, port, user_name, db_name, sslmode, password;
};
// "host=… port=… user=… dbname=… sslmode=… password=…", in this order, each value escaped;
// "password=" stays even when empty, as in KEDA.
std::string build_connection(const ConnectionParams& p);

// "postgresql <host>:<port>/<dbname>" from a connection string's host (or hostaddr), port and
// dbname, libpq's defaults where absent (port 5432; "(default host)"). Lenient: a string libpq
// will refuse is described as far as it can be read; user names and passwords never appear.
std::string describe(std::string_view conninfo);

// True for a postgres:// URL whose credentials hold an unescaped '/', '?' or '#' (an '@' after
// the authority ended): every URL parser, libpq's too, reads part of the password as host, port
// or database then, and may show it in an error. Such a URL can never work as meant.
bool url_password_cut(std::string_view conninfo);

}  // namespace ebb::scalers::postgresql
