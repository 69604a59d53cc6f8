#!/usr/bin/env bash
# ctest splits a test name at ';', so a Catch2 TEST_CASE whose name holds one is registered as
# two names that match nothing, and Catch2 exits 0 for "no tests ran": the test silently never
# runs. This check fails the suite when such a name appears.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files '*.cpp' | xargs grep -nE '(TEST_CASE|SCENARIO|TEMPLATE_TEST_CASE)\("[^"]*;' || true)
if [[ -n "$bad" ]]; then
  echo "test names must not contain ';' (ctest splits them and the test never runs):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "ok: no test name contains ';'"
