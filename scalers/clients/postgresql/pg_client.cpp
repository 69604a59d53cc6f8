#include "postgresql/pg_client.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ebb/strings.h"
#include "sql/query.h"
#include "sql/value.h"

namespace ebb::scalers::postgresql {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How long after a query's statement_timeout the client stops waiting for the server's answer.
constexpr auto kGrace = 2s;
constexpr std::string_view kConnectPrefix = "error establishing postgreSQL connection: ";
constexpr std::string_view kQueryPrefix = "could not query postgreSQL: ";

// Type OIDs whose text libpq hands over that pgx would have decoded into an integer or a float.
bool is_number_type(Oid type) {
  switch (type) {
    case 20:
    case 21:
    case 23:
    case 26:
    case 700:
    case 701:  // int8 int2 int4 oid float4 float8
      return true;
    default:
      return false;
  }
}
constexpr Oid kBoolOid = 16;

// libpq's messages end in a newline and continue on tab-indented lines; a poll error is one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    if (!out.empty()) out += ' ';
    out += line;
  }
  return out;
}

// libpq quotes the whole URL (password included) in some parse errors, and parts of a
// mis-quoted password in others: every quoted fragment longer than one character goes.
std::string redact_quoted(const std::string& message) {
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    const auto open = message.find('"', i);
    const auto close = open == std::string::npos ? std::string::npos : message.find('"', open + 1);
    if (close == std::string::npos) {
      out += message.substr(i);
      break;
    }
    out += message.substr(i, open + 1 - i);
    out += close - open - 1 > 1 ? "..." : message.substr(open + 1, close - open - 1);
    out += '"';
    i = close + 1;
  }
  return out;
}

std::string millis(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

}  // namespace

PgSession::~PgSession() {
  if (conn_) PQfinish(conn_);
}

std::string PgSession::connection_error() const {
  return one_line(PQerrorMessage(conn_));
}

bool PgSession::broken() const {
  return broken_ || PQstatus(conn_) != CONNECTION_OK;
}

bool PgSession::idle_alive() {
  if (broken()) return false;
  // Nothing arrives unasked on an idle session of ours (no LISTEN, no SET after setup), except
  // the server's goodbye: a termination notice or the end of the stream.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Result<void> PgSession::wait_readable(Clock::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return fail("timeout");
    pollfd p{PQsocket(conn_), POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR) return fail(std::string("poll: ") + std::strerror(errno));
  }
}

Result<PgSession::ResultPtr> PgSession::exec(const std::string& sql, Clock::time_point deadline) {
  // The extended protocol, as pgx's default: one statement per query, text results.
  if (PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
    broken_ = PQstatus(conn_) != CONNECTION_OK;
    return fail(connection_error(), true);
  }
  ResultPtr kept;
  while (true) {
    while (PQisBusy(conn_)) {
      if (auto ok = wait_readable(deadline); !ok) {
        // The session is mid-query: it cannot serve anyone else.
        broken_ = true;
        timed_out_ = ok.error().message == "timeout";
        return fail(timed_out_ ? "the server did not answer in time" : ok.error().message, true);
      }
      if (PQconsumeInput(conn_) != 1) {
        broken_ = true;
        return fail(connection_error(), true);
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    const auto status = PQresultStatus(r);
    // An error outranks any result before it; later results are drained and dropped.
    if (!kept || status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR)
      kept.reset(r);
    else
      PQclear(r);
  }
  if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
  if (!kept) return fail(connection_error(), true);
  return kept;
}

Result<std::unique_ptr<PgSession>> PgSession::open(const Target& target) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(target.conninfo.c_str(), &parse_error);
  if (!options) {
    std::string why = parse_error ? one_line(parse_error) : "out of memory";
    if (parse_error) PQfreemem(parse_error);
    return fail(std::string(kConnectPrefix) + "invalid connection string: " + redact_quoted(why));
  }
  std::vector<const char*> keywords, values;
  std::string password;
  bool named = false;
  for (const PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    keywords.push_back(o->keyword);
    values.push_back(o->val);
    if (std::strcmp(o->keyword, "password") == 0) password = o->val;
    if (std::strcmp(o->keyword, "application_name") == 0 ||
        std::strcmp(o->keyword, "fallback_application_name") == 0)
      named = true;
  }
  // Lets a DBA tell Ebb's sessions apart in pg_stat_activity unless the user named them.
  if (!named) {
    keywords.push_back("fallback_application_name");
    values.push_back("ebb");
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectStartParams(keywords.data(), values.data(), 0);
  PQconninfoFree(options);
  if (!conn) return fail(std::string(kConnectPrefix) + "out of memory", true);
  std::unique_ptr<PgSession> session(new PgSession(conn));
  const auto failed = [&](const std::string& why) {
    return fail(std::string(kConnectPrefix) + sql::scrub_password(why, password), true);
  };
  if (PQstatus(conn) == CONNECTION_BAD) return failed(session->connection_error());
  // libpq prints server notices on stderr by default.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);

  const auto deadline = Clock::now() + target.timeouts.connect;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) return failed(session->connection_error());
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return failed("timeout expired after " + millis(target.timeouts.connect));
    pollfd p{PQsocket(conn), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
             0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (rc < 0 && errno != EINTR) return failed(std::string("poll: ") + std::strerror(errno));
    if (rc == 0) continue;  // the deadline check above ends it
    state = PQconnectPoll(conn);
  }

  // Lower the session's statement_timeout to ours unless it is lower already (from the server,
  // the role, or options=-c statement_timeout=… in the connection string).
  const std::string limit = std::to_string(target.timeouts.statement.count());
  auto set = session->exec(
      "SELECT set_config('statement_timeout', CASE WHEN setting::bigint = 0 OR setting::bigint > " +
          limit + " THEN '" + limit +
          "' ELSE setting END, false) FROM pg_settings WHERE name = 'statement_timeout'",
      Clock::now() + target.timeouts.statement);
  // A server without pg_settings (a proxy, a look-alike) still gets the client-side deadline.
  if (!set && session->broken()) return failed(set.error().message);
  return session;
}

Result<double> PgSession::query_value(const std::string& query, std::chrono::milliseconds timeout) {
  timed_out_ = false;
  auto result = exec(query, Clock::now() + timeout + kGrace);
  if (!result && timed_out_)
    return fail(std::string(kQueryPrefix) + "no answer within " + millis(timeout + kGrace) +
                    " (statement_timeout " + millis(timeout) + ")",
                true);
  if (!result) return fail(std::string(kQueryPrefix) + result.error().message, true);
  PGresult* r = result->get();
  switch (PQresultStatus(r)) {
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
      break;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      // A statement without rows (an INSERT, a SET): database/sql's QueryRow finds no row.
      return fail(std::string(kQueryPrefix) + std::string(sql::kNoRows));
    default: {
      const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
      if (!severity) severity = PQresultErrorField(r, PG_DIAG_SEVERITY);
      const char* message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      // pgx's PgError format, which KEDA's messages carry.
      if (severity && message && code)
        return fail(std::string(kQueryPrefix) + severity + ": " + message + " (SQLSTATE " + code +
                    ")");
      const std::string text = one_line(PQresultErrorMessage(r));
      return fail(std::string(kQueryPrefix) + (text.empty() ? connection_error() : text), true);
    }
  }
  if (PQntuples(r) == 0) return fail(std::string(kQueryPrefix) + std::string(sql::kNoRows));
  if (PQnfields(r) != 1)
    return fail(std::string(kQueryPrefix) +
                sql::wrong_column_count(static_cast<std::size_t>(PQnfields(r))));
  std::optional<std::string_view> value;
  if (!PQgetisnull(r, 0, 0))
    value = std::string_view(PQgetvalue(r, 0, 0), static_cast<std::size_t>(PQgetlength(r, 0, 0)));
  const Oid type = PQftype(r, 0);
  const auto kind = type == kBoolOid       ? sql::ValueKind::Bool
                    : is_number_type(type) ? sql::ValueKind::Number
                                           : sql::ValueKind::Text;
  auto number = sql::scan_float(value, kind, PQfname(r, 0), "string");
  if (!number) return fail(std::string(kQueryPrefix) + number.error());
  return *number;
}

// ---- pool ----------------------------------------------------------------------------------

PgPool::PgPool() = default;

Result<double> PgPool::query_value(const Target& target, const std::string& query) {
  return pool_.run(
      target.pool_key(), target.timeouts.connect + target.timeouts.statement,
      [&] { return PgSession::open(target); },
      [&](PgSession& session) { return session.query_value(query, target.timeouts.statement); });
}

std::size_t PgPool::connection_count(const Target& target) const {
  return pool_.open_count(target.pool_key());
}

std::size_t PgPool::connection_count() const {
  return pool_.open_count();
}

}  // namespace ebb::scalers::postgresql
