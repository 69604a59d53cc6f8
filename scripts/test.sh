#!/usr/bin/env bash
# Builds Ebb and runs every test against real servers on loopback ports: installs the Debian
# packages, configures and builds, starts the shared servers (tests/servers.sh), runs ctest, and
# stops the servers even when tests fail or the run is interrupted. CI runs this via .ci/run.
#
#   bash scripts/test.sh [--build-dir DIR] [--werror] [--no-install] [-- CTEST_ARGS...]
#
# e.g. `bash scripts/test.sh -- -R redis` runs only the tests whose name matches "redis".
# ctest's summary is the last line printed, and the exit status is ctest's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build_dir=build
werror=OFF
install=1
ctest_args=()
while (($# > 0)); do
  case $1 in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --werror) werror=ON; shift ;;
    --no-install) install=0; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ((install)); then
  bash scripts/install-deps.sh
fi

# One compile at a time when several people share a machine (docs/DEVELOPING.md).
build_lock=${EBB_BUILD_LOCK:-/tmp/ebb-build.lock}
locked() { if command -v flock >/dev/null; then flock "$build_lock" "$@"; else "$@"; fi; }
locked cmake -S . -B "$build_dir" -G Ninja -DEBB_WERROR="$werror"
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
