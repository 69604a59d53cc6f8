// Go's rune decoding, unicode.IsSpace and the UTF-8 encoder the scalers share (go_utf8.h):
// what utf8.DecodeRuneInString answers for valid and invalid input, and round trips.
#include <catch2/catch.hpp>

#include "go_utf8.h"

using namespace ebb::scalers;

namespace {

std::pair<char32_t, std::size_t> rune(std::string_view s) {
  return go_decode_rune(s, 0);
}

}  // namespace

TEST_CASE("go utf8: valid runes of every length decode with their byte count") {
  CHECK(rune("a") == std::pair<char32_t, std::size_t>{U'a', 1});
  CHECK(rune("\u00e9x") == std::pair<char32_t, std::size_t>{0xE9, 2});
  CHECK(rune("\u3000") == std::pair<char32_t, std::size_t>{0x3000, 3});
  CHECK(rune("\U0001F600") == std::pair<char32_t, std::size_t>{0x1F600, 4});
  CHECK(rune("\U0010FFFF") == std::pair<char32_t, std::size_t>{0x10FFFF, 4});
  const std::string s = "a\u00e9";
  CHECK(go_decode_rune(s, 1) == std::pair<char32_t, std::size_t>{0xE9, 2});
}

TEST_CASE("go utf8: invalid input is U+FFFD of one byte, as utf8.DecodeRuneInString says") {
  const std::pair<char32_t, std::size_t> bad{0xFFFD, 1};
  CHECK(rune("\x80") == bad);              // a stray continuation byte
  CHECK(rune("\xC0\xA0") == bad);          // overlong space
  CHECK(rune("\xC1\x85") == bad);          // overlong
  CHECK(rune("\xE0\x80\xA0") == bad);      // overlong space, three bytes
  CHECK(rune("\xF0\x80\x80\xA0") == bad);  // overlong, four bytes
  CHECK(rune("\xED\xA0\x80") == bad);      // a surrogate (U+D800)
  CHECK(rune("\xF4\x90\x80\x80") == bad);  // above U+10FFFF
  CHECK(rune("\xF5\x80\x80\x80") == bad);
  CHECK(rune("\xE3\x80") == bad);  // truncated
  CHECK(rune("\xC3") == bad);
  CHECK(rune("\xC3x") == bad);  // no continuation
  // Only the bytes of the string count, never what lies past its end.
  const std::string whole = "\xE3\x80\x80";
  CHECK(go_decode_rune(std::string_view(whole).substr(0, 2), 0) == bad);
}

TEST_CASE("go utf8: unicode.IsSpace") {
  for (char32_t r :
       {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', char32_t{0x85}, char32_t{0xA0}, char32_t{0x1680},
        char32_t{0x2000}, char32_t{0x2005}, char32_t{0x200A}, char32_t{0x2028}, char32_t{0x2029},
        char32_t{0x202F}, char32_t{0x205F}, char32_t{0x3000}}) {
    INFO(static_cast<std::uint32_t>(r));
    CHECK(go_is_space(r));
  }
  for (char32_t r :
       {U'a', U'0', char32_t{0x08}, char32_t{0x0E}, char32_t{0x1F}, char32_t{0x84},
        char32_t{0x1FFF}, char32_t{0x200B}, char32_t{0x2030}, char32_t{0xFEFF}, char32_t{0xFFFD}}) {
    INFO(static_cast<std::uint32_t>(r));
    CHECK_FALSE(go_is_space(r));
  }
}

TEST_CASE("go utf8: append_utf8 writes the bytes Go's decoder reads back") {
  for (char32_t cp : {char32_t{0}, char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800},
                      char32_t{0xFFFD}, char32_t{0xFFFF}, char32_t{0x10000}, char32_t{0x10FFFF}}) {
    std::string out;
    append_utf8(out, cp);
    INFO(static_cast<std::uint32_t>(cp));
    const std::size_t expected = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    REQUIRE(out.size() == expected);
    CHECK(go_decode_rune(out, 0) == std::pair<char32_t, std::size_t>{cp, expected});
  }
  std::string out = "x";
  append_utf8(out, 0xE9);
  CHECK(out == "x\u00e9");
  // A surrogate is written as given (XML character references keep that behaviour); Go's
  // decoder reads it as invalid.
  out.clear();
  append_utf8(out, 0xD800);
  CHECK(out == "\xED\xA0\x80");
}
