// What the SQL triggers share (sql/query.h): the password scrub of driver messages and the
// warning for a credential in plain metadata.
#include <catch2/catch.hpp>

#include "sql/query.h"

using namespace ebb;
using namespace ebb::scalers;

TEST_CASE("sql: scrub_password replaces every occurrence, and leaves short passwords alone") {
  CHECK(sql::scrub_password("access denied for s3cret at s3cret", "s3cret") ==
        "access denied for xxxxx at xxxxx");
  CHECK(sql::scrub_password("nothing here", "s3cret") == "nothing here");
  // The replacement is searched past, so a password inside "xxxxx" cannot loop.
  CHECK(sql::scrub_password("xxxpw", "xxx") == "xxxxxpw");
  CHECK(sql::scrub_password("abab", "ab") == "abab");
  CHECK(sql::scrub_password("", "s3cret") == "");
}

TEST_CASE("sql: credential_metadata_warnings follows the table's warnings, in the given order") {
  TriggerContext ctx;
  ctx.metadata = {{"password", "x"}, {"connection", "y"}, {"query", "select 1"}};
  const FieldErrors table_warnings{{"metadata.extra", "unknown"}};
  const auto w = sql::credential_metadata_warnings(ctx, table_warnings, {"connection", "password"});
  REQUIRE(w.size() == 3);
  CHECK(w[0].path == "metadata.extra");
  CHECK(w[1].path == "metadata.connection");
  CHECK(w[1].message ==
        "connection is read only from authParams or connectionFromEnv, as in KEDA; this metadata "
        "value is ignored (and a secret does not belong there)");
  CHECK(w[2].path == "metadata.password");
  CHECK(sql::credential_metadata_warnings(TriggerContext{}, {}, {"password"}).empty());
}
