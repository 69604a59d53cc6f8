#!/usr/bin/env bash
# Builds Ebb and runs every test against real servers on loopback ports: installs the Debian
# packages, configures and builds, starts the shared servers (tests/servers.sh), runs ctest, and
# stops the servers even when tests fail or the run is interrupted. CI runs this via .ci/run.
#
#   bash scripts/test.sh [--build-dir DIR] [--werror] [--sanitize | --tsan] [--no-install] [-- CTEST_ARGS...]
#
# e.g. `bash scripts/test.sh -- -R redis` runs only the tests whose name matches "redis".
# --sanitize builds Debug with ASan+UBSan (-DEBB_SANITIZE=ON) into build-asan unless --build-dir
# says otherwise, and runs the same suite (the Kafka mock server too) with every finding fatal.
# --tsan builds only the concurrency tests (scheduler, work queue, informer, controller,
# connection pools, formula sharing) with ThreadSanitizer (-DEBB_SANITIZE=thread, -O1) into
# build-tsan and runs them (ctest -R of their names, unless CTEST_ARGS are given); a data race
# or lock-order inversion fails its test.
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
    --tsan) sanitize=thread; shift ;;
    --no-install) install=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
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
# ThreadSanitizer: the tests whose point is concurrency, and the programs they need. -O1, as the
# TSan documentation recommends (at -O0 these run several times slower).
tsan_targets=(ebb_kube_tests ebb_kube_informer_tests ebb_kube_leader_election_tests ebb-lease-holder
  ebb_runtime_controller_test ebb_adapter_scheduler_test ebb_adapter_engine_test ebb_adapter_actuator_test
  ebb_scalers_unit_bounded_pool_test ebb_scalers_unit_formula_test ebb_scalers_it_redis_test)
tsan_tests='^(kube:|kube informer:|kube leader_election:|runtime controller_test:|adapter scheduler_test:|adapter engine_test:|adapter actuator_test:StatusWriter|unit bounded_pool_test:|unit formula_test:|integration redis_test:)'
build_targets=()
if [[ $sanitize == thread ]]; then
  build_dir=${build_dir:-build-tsan}
  sanitize_args=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" "-DCMAKE_C_FLAGS_DEBUG=-O1 -g")
  build_targets=(--target "${tsan_targets[@]}")
  ((${#ctest_args[@]})) || ctest_args=(-R "$tsan_tests")
  # Every report ends the process with status 86 and fails its test. Races proven to be inside
  # a third-party library only may go into tests/tsan.supp, one reason each.
  export TSAN_OPTIONS="halt_on_error=1:exitcode=86:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
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
locked cmake --build "$build_dir" "${build_targets[@]}"

build_dir=$(cd "$build_dir" && pwd)
env_file=$build_dir/test-servers.env
# shellcheck source=SCRIPTDIR/../tests/servers.sh
source tests/servers.sh
trap ebb_servers_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s%N)
kafka_mock=$build_dir/bin/kafka_mock_server
[[ $sanitize == thread ]] && kafka_mock=none  # see tests/servers.sh
ebb_servers_start "$build_dir/test-servers" "$env_file" "$kafka_mock"
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
