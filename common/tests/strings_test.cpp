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
