#!/usr/bin/env bash
# Builds Ebb and runs every test against real servers on loopback ports: installs the Debian
# packages, configures and builds, starts the shared servers (tests/servers.sh), runs ctest, and
# stops the servers even when tests fail or the run is interrupted. CI runs this via .ci/run.
#
#   bash scripts/test.sh [--build-dir DIR] [--werror] [--sanitize] [--no-install] [-- CTEST_ARGS...]
#
# e.g. `bash scripts/test.sh -- -R redis` runs only the tests whose name matches "redis".
# --sanitize builds Debug with ASan+UBSan (-DEBB_SANITIZE=ON) into build-asan unless --build-dir
# says otherwise, and runs the same suite (the Kafka mock server too) with every finding fatal.
# ctest's summary is the last line printed, and the exit status is ctest's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=""
werror=OFF
sanitize=OFF
install=1
ctest_args=()
while (($# > 0)); do
  case $1 in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --werror) werror=ON; shift ;;
    --sanitize) sanitize=ON; shift ;;
    --no-install) install=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Sanitized objects must never mix with plain ones, so they get a build directory of their own.
sanitize_args=()
if [[ $sanitize == ON ]]; then
  build_dir=${build_dir:-build-asan}
  sanitize_args=(-DCMAKE_BUILD_TYPE=Debug)
  # Every report (ASan, LSan at exit, UBSan) ends the process with status 86, never 1: tests
  # that expect `ebb` to exit 1 must not take a sanitizer report for the failure they wanted.
  # Third-party leaks we proved are not ours are suppressed in tests/lsan.supp, one reason each.
  # Our defaults first: a caller's own *SAN_OPTIONS come later and win.
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
build_dir=${build_dir:-build}

if ((install)); then
  bash scripts/install-deps.sh
fi

# One compile at a time when several people share a machine (docs/DEVELOPING.md).
build_lock=${EBB_BUILD_LOCK:-/tmp/ebb-build.lock}
locked() { if command -v flock >/dev/null; then flock "$build_lock" "$@"; else "$@"; fi; }
locked cmake -S . -B "$build_dir" -G Ninja -DEBB_WERROR="$werror" -DEBB_SANITIZE="$sanitize" \
  "${sanitize_args[@]}"
locked cmake --build "$build_dir"

build_dir=$(cd "$build_dir" && pwd)
env_file=$build_dir/test-servers.env
# shellcheck source=SCRIPTDIR/../tests/servers.sh
source tests/servers.sh
trap ebb_servers_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s%N)
ebb_servers_start "$build_dir/test-servers" "$env_file" "$build_dir/bin/kafka_mock_server"
echo "test servers ready in $(( ($(date +%s%N) - started) / 1000000 )) ms (logs: $build_dir/test-servers)"
export EBB_TEST_ENV_FILE=$env_file

ctest_log=$build_dir/ctest.log
set +e
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j"${EBB_CTEST_JOBS:-2}" \
  "${ctest_args[@]}" 2>&1 | tee "$ctest_log"
status=${PIPESTATUS[0]}
set -e
# ctest follows its summary with timings and the list of failures; CI reads the last line, so
# end on the summary itself ("100% tests passed, 0 tests failed out of N").
grep -E '^[0-9]+% tests passed' "$ctest_log" | tail -n 1 || true
exit "$status"
