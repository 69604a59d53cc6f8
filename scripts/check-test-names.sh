#!/usr/bin/env bash
# ctest splits a test name at ';', so a Catch2 TEST_CASE whose name holds one is registered as
# two names that match nothing, and Catch2 exits 0 for "no tests ran": the test silently never
# runs. This check fails the suite when such a name appears.
set -euo pipefail
cd "$(dirname "$0")/.."
# The whole name, also when clang-format moved it to the next line or split it into adjacent
# string literals ("first part; " "second part").
bad=$(git ls-files '*.cpp' | xargs perl -0777 -ne '
  while (/\b(?:TEST_CASE|SCENARIO|TEMPLATE_TEST_CASE)\(\s*((?:"[^"]*"\s*)+)/g) {
    my ($name, $at) = ($1, $-[0]);
    print "$ARGV:" . (1 + (substr($_, 0, $at) =~ tr/\n//)) . ": $name\n" if $name =~ /;/;
  }' || true)
if [[ -n "$bad" ]]; then
  echo "test names must not contain ';' (ctest splits them and the test never runs):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "ok: no test name contains ';'"
