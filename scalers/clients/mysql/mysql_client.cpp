#include "mysql/mysql_client.h"

#include <errmsg.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>

#include "ebb/strings.h"
#include "sql/query.h"
#include "sql/value.h"

namespace ebb::scalers::mysql {

namespace {

using namespace std::chrono_literals;

// How long after a query's server-side limit the client stops reading.
constexpr auto kGrace = 2s;
constexpr std::string_view kConnectPrefix = "error establishing MySQL connection: ";

unsigned int whole_seconds(std::chrono::milliseconds d) {
  return static_cast<unsigned int>(std::max<long long>(1, (d.count() + 999) / 1000));
}

// Types go-sql-driver decodes into int64/uint64/float32/float64 in the text protocol; the rest
// arrive as []uint8 and are parsed by database/sql.
bool is_number_type(enum_field_types type) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return true;
    default:
      return false;
  }
}

bool is_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct ResultFree {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

}  // namespace

MysqlSession::~MysqlSession() {
  if (db_) mysql_close(db_);
}

std::string MysqlSession::last_error() {
  const unsigned int code = mysql_errno(db_);
  const std::string message = mysql_error(db_);
  // CR_* (2000-2999) are Connector/C's own: the connection failed, timed out or lost sync.
  if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) {
    broken_ = true;
    return message;
  }
  return "Error " + std::to_string(code) + " (" + mysql_sqlstate(db_) + "): " + message;
}

void MysqlSession::drain_results() {
  // Every result must be read before the next query (multi statements, CALL).
  while (mysql_more_results(db_)) {
    const int rc = mysql_next_result(db_);
    if (rc > 0) {
      last_error();
      return;
    }
    if (rc < 0) return;
    if (MYSQL_RES* r = mysql_store_result(db_)) mysql_free_result(r);
  }
}

Result<void> MysqlSession::exec(const std::string& sql) {
  if (mysql_real_query(db_, sql.data(), sql.size()) != 0) return fail(last_error(), broken_);
  if (MYSQL_RES* r = mysql_store_result(db_)) mysql_free_result(r);
  drain_results();
  return {};
}

bool MysqlSession::idle_alive() {
  if (broken_) return false;
  // An idle session gets nothing unasked but the server's goodbye (or the end of the stream).
  pollfd p{static_cast<int>(mysql_get_socket(db_)), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Result<std::unique_ptr<MysqlSession>> MysqlSession::open(const Target& target) {
  // Not thread-safe the first time; every later mysql_init() is.
  static std::once_flag library;
  std::call_once(library, [] { mysql_library_init(0, nullptr, nullptr); });

  const Settings& s = target.settings;
  const auto failed = [&](const std::string& why) {
    return fail(std::string(kConnectPrefix) + sql::scrub_password(why, s.password), true);
  };
  std::string host, socket;
  unsigned int port = 0;
  if (s.net == "unix") {
    socket = s.address;
    host = "localhost";
  } else {
    auto hp = split_host_port(s.address);
    if (!hp) return failed("dial " + s.net + ": " + hp.error());
    host = hp->first.empty() ? "127.0.0.1" : hp->first;
    const std::string& text = hp->second;
    const bool numeric =
        !text.empty() && text.size() <= 5 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    // Connector/C reads port 0 as "the default, 3306"; Go dials port 0 and fails. An address
    // without a usable port is an error, as in KEDA.
    if (!numeric || std::stoul(text) == 0 || std::stoul(text) > 65535)
      return failed("dial " + s.net + ": invalid port " + quoted(text) + " in address " +
                    quoted(s.address));
    port = static_cast<unsigned int>(std::stoul(text));
  }

  MYSQL* db = mysql_init(nullptr);
  if (!db) return failed("out of memory");
  std::unique_ptr<MysqlSession> session(new MysqlSession(db));

  const unsigned int connect_s = whole_seconds(s.timeout.value_or(target.timeouts.connect));
  const unsigned int read_s =
      whole_seconds(s.read_timeout.value_or(target.timeouts.statement + kGrace));
  const unsigned int write_s = whole_seconds(s.write_timeout.value_or(target.timeouts.connect));
  mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
  mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &read_s);
  session->read_timeout_ = std::chrono::seconds(read_s);
  mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &write_s);
  const unsigned int protocol = s.net == "unix" ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
  mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &protocol);
  const std::string charset =
      s.charsets.empty() || s.charsets.front().empty() ? "utf8mb4" : s.charsets.front();
  mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, charset.c_str());
  const unsigned int no_local_files = 0;  // LOAD DATA LOCAL could read the adapter's files
  mysql_optionsv(db, MYSQL_OPT_LOCAL_INFILE, &no_local_files);
  if (s.compress) mysql_optionsv(db, MYSQL_OPT_COMPRESS, nullptr);
  if (s.allow_cleartext_passwords) {
    const my_bool yes = 1;
    mysql_optionsv(db, MYSQL_ENABLE_CLEARTEXT_PLUGIN, &yes);
  }
  const my_bool on = 1, off = 0;
  switch (s.tls) {
    case TlsMode::Disabled:
      break;
    case TlsMode::Verified:
      mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &on);
      mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
      break;
    case TlsMode::SkipVerify:
      mysql_optionsv(db, MYSQL_OPT_SSL_ENFORCE, &on);
      mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
      break;
    case TlsMode::Preferred:
      // TLS when the server offers it, unverified; plain otherwise (the driver's "preferred").
      mysql_ssl_set(db, nullptr, nullptr, nullptr, nullptr, nullptr);
      mysql_optionsv(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
      break;
  }

  unsigned long flags = CLIENT_MULTI_RESULTS;
  if (s.multi_statements) flags |= CLIENT_MULTI_STATEMENTS;
  if (s.client_found_rows) flags |= CLIENT_FOUND_ROWS;
  if (!mysql_real_connect(db, host.c_str(), s.user.c_str(), s.password.c_str(),
                          s.dbname.empty() ? nullptr : s.dbname.c_str(), port,
                          socket.empty() ? nullptr : socket.c_str(), flags))
    return failed(session->last_error());

  if (!s.collation.empty()) {
    if (!is_identifier(s.collation)) return failed("invalid collation " + quoted(s.collation));
    if (auto ok = session->exec("SET collation_connection = " + s.collation); !ok)
      return failed(ok.error().message);
  }
  // The server ends a query at the limit; older servers without the variable keep only the
  // client's read deadline, so a refusal here is not an error.
  const std::string server = mysql_get_server_info(db);
  char limit[64];
  if (server.find("MariaDB") != std::string::npos)
    std::snprintf(limit, sizeof limit, "SET SESSION max_statement_time = %.3f",
                  static_cast<double>(target.timeouts.statement.count()) / 1000);
  else
    std::snprintf(limit, sizeof limit, "SET SESSION max_execution_time = %lld",
                  static_cast<long long>(target.timeouts.statement.count()));
  if (auto ok = session->exec(limit); !ok && session->broken()) return failed(ok.error().message);
  // The driver's handleParams: unknown DSN parameters are session variables, values verbatim.
  if (!s.session_variables.empty()) {
    std::string set = "SET ";
    for (std::size_t i = 0; i < s.session_variables.size(); ++i)
      set += (i ? ", " : "") + s.session_variables[i].first + " = " + s.session_variables[i].second;
    if (auto ok = session->exec(set); !ok) return failed(ok.error().message);
  }
  return session;
}

Result<double> MysqlSession::query_value(const std::string& query) {
  timed_out_ = false;
  const auto started = std::chrono::steady_clock::now();
  // Connector/C reports its read timeout as a lost connection; the clock tells them apart.
  const auto failed = [&] {
    std::string error = last_error();
    if (broken_ && std::chrono::steady_clock::now() - started >= read_timeout_ - 250ms) {
      timed_out_ = true;
      error += " (no answer within " + std::to_string(read_timeout_.count()) + "s)";
    }
    return fail(error, broken_);
  };
  if (mysql_real_query(db_, query.data(), query.size()) != 0) return failed();
  std::unique_ptr<MYSQL_RES, ResultFree> result(mysql_store_result(db_));
  if (!result && mysql_field_count(db_) != 0) return failed();
  // Read the first result, then drop any others so the session is ready for the next query.
  std::optional<std::string> error;
  double value = 0;
  if (!result) {
    error = std::string(sql::kNoRows);  // a statement without rows (an INSERT, a SET)
  } else if (MYSQL_ROW row = mysql_fetch_row(result.get()); !row) {
    error = std::string(sql::kNoRows);
  } else if (const unsigned int columns = mysql_num_fields(result.get()); columns != 1) {
    error = sql::wrong_column_count(columns);
  } else {
    const unsigned long* lengths = mysql_fetch_lengths(result.get());
    const MYSQL_FIELD* field = mysql_fetch_field_direct(result.get(), 0);
    std::optional<std::string_view> text;
    if (row[0]) text = std::string_view(row[0], lengths[0]);
    auto number = sql::scan_float(
        text, is_number_type(field->type) ? sql::ValueKind::Number : sql::ValueKind::Text,
        field->name, "[]uint8");
    if (number)
      value = *number;
    else
      error = number.error();
  }
  result.reset();
  drain_results();
  if (error) return fail(*error);
  return value;
}

// ---- pool ----------------------------------------------------------------------------------

MysqlPool::MysqlPool() = default;

Result<double> MysqlPool::query_value(const Target& target, const std::string& query) {
  return pool_.run(
      target.pool_key(), target.timeouts.connect + target.timeouts.statement,
      [&] { return MysqlSession::open(target); },
      [&](MysqlSession& session) { return session.query_value(query); });
}

std::size_t MysqlPool::connection_count(const Target& target) const {
  return pool_.open_count(target.pool_key());
}

std::size_t MysqlPool::connection_count() const {
  return pool_.open_count();
}

}  // namespace ebb::scalers::mysql
