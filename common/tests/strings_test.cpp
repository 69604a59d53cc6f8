// ebb/strings.h's percent_decode, which the postgresql URL, the rabbitmq URL and the OAuth form
// answers share.
#include <catch2/catch.hpp>

#include "ebb/strings.h"

TEST_CASE("percent_decode: escapes of either case, and '%' without two hex digits kept") {
  CHECK(ebb::percent_decode("") == "");
  CHECK(ebb::percent_decode("plain") == "plain");
  CHECK(ebb::percent_decode("p%40ss%2Fw%2fd") == "p@ss/w/d");
  CHECK(ebb::percent_decode("%41%62") == "Ab");
  CHECK(ebb::percent_decode("%00x") == std::string("\0x", 2));
  CHECK(ebb::percent_decode("%ff") == "\xff");
  CHECK(ebb::percent_decode("100%") == "100%");
  CHECK(ebb::percent_decode("%4") == "%4");
  CHECK(ebb::percent_decode("%4g%") == "%4g%");
  CHECK(ebb::percent_decode("%%41") == "%A");
  CHECK(ebb::percent_decode("%2541") == "%41");  // decoded once, not twice
}

TEST_CASE("percent_decode: '+' is a space only in form encoding") {
  CHECK(ebb::percent_decode("a+b%2B") == "a+b+");
  CHECK(ebb::percent_decode("a+b%2B", true) == "a b+");
  CHECK(ebb::percent_decode("+%20+", true) == "   ");
}

TEST_CASE("utf8_prefix: never ends inside a UTF-8 sequence") {
  const std::string s = "ab\xC3\xA9\xE2\x82\xAC";  // "abé€": 2 + 2 + 3 bytes
  CHECK(ebb::utf8_prefix(s, 100) == s);
  CHECK(ebb::utf8_prefix(s, 7) == s);
  CHECK(ebb::utf8_prefix(s, 6) == "ab\xC3\xA9");  // € (3 bytes) does not fit
  CHECK(ebb::utf8_prefix(s, 5) == "ab\xC3\xA9");
  CHECK(ebb::utf8_prefix(s, 4) == "ab\xC3\xA9");
  CHECK(ebb::utf8_prefix(s, 3) == "ab");  // é cut after its lead byte: dropped whole
  CHECK(ebb::utf8_prefix(s, 2) == "ab");
  CHECK(ebb::utf8_prefix(s, 0).empty());
}
