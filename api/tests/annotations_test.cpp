// Annotation value parsing with Go semantics (keda-compat §2).
#include <catch2/catch.hpp>

#include "ebb/api/annotations.h"

using namespace ebb::api;

TEST_CASE("Go ParseBool spellings") {
  for (const char* v : {"1", "t", "T", "TRUE", "true", "True"}) CHECK(parse_go_bool(v) == true);
  for (const char* v : {"0", "f", "F", "FALSE", "false", "False"}) CHECK(parse_go_bool(v) == false);
  for (const char* v : {"", "yes", "no", "tRUE", " true", "2"}) CHECK_FALSE(parse_go_bool(v));
}

TEST_CASE("a boolean annotation is false when absent and true for any non-boolean value") {
  Annotations a;
  CHECK_FALSE(bool_annotation(a, kPausedAnnotation));
  a[std::string(kPausedAnnotation)] = "false";
  CHECK_FALSE(bool_annotation(a, kPausedAnnotation));
  a[std::string(kPausedAnnotation)] = "yes";
  CHECK(bool_annotation(a, kPausedAnnotation));
  a[std::string(kPausedAnnotation)] = "";
  CHECK(bool_annotation(a, kPausedAnnotation));
}

TEST_CASE("paused-replicas parses like strconv.ParseInt(v, 10, 32)") {
  CHECK(parse_go_int32("0").value() == 0);
  CHECK(parse_go_int32("+5").value() == 5);
  CHECK(parse_go_int32("-3").value() == -3);
  CHECK(parse_go_int32("2147483647").value() == 2147483647);
  CHECK(parse_go_int32("2147483648").error() == "must be a 32-bit integer");
  CHECK(parse_go_int32("99999999999999999999").error() == "must be a 32-bit integer");
  for (const char* v : {"", "1.0", " 1", "1 ", "0x10", "1_000", "+-1", "--1", "abc"})
    CHECK(parse_go_int32(v).error() == "must be an integer");

  Annotations a;
  CHECK(paused_replicas(a).value() == std::nullopt);
  CHECK_FALSE(is_paused(a));
  a[std::string(kPausedReplicasAnnotation)] = "2";
  CHECK(paused_replicas(a).value() == 2);
  CHECK(is_paused(a));
  a[std::string(kPausedReplicasAnnotation)] = "two";
  CHECK_FALSE(paused_replicas(a).ok());
  CHECK(is_paused(a));  // presence alone pauses
}

TEST_CASE("pause and ownership-transfer annotations") {
  Annotations a{{std::string(kPausedAnnotation), "true"}};
  CHECK(is_paused(a));
  a[std::string(kPausedAnnotation)] = "false";
  CHECK_FALSE(is_paused(a));
  CHECK_FALSE(transfer_hpa_ownership_requested(a));
  a[std::string(kTransferHpaOwnershipAnnotation)] = "True";
  CHECK_FALSE(transfer_hpa_ownership_requested(a));
  a[std::string(kTransferHpaOwnershipAnnotation)] = "true";
  CHECK(transfer_hpa_ownership_requested(a));
}
