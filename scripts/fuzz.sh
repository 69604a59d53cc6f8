#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14 with ASan+UBSan, in build-fuzz/ unless
# EBB_FUZZ_BUILD_DIR says otherwise) and runs each for SECONDS (default 60), one after another.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 300 cron formula
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/) plus what earlier runs in
# the same build directory found (<build>/fuzz-corpus/<target>/, never committed). A crash, leak,
# sanitizer report, timeout (25 s for one input) or violated property stops that target and
# leaves the input in <build>/fuzz-artifacts/; reproduce with <build>/bin/fuzz_<target> FILE.
# The last line is `fuzz: N targets, M execs, K crashes`; the exit status is non-zero when
# K > 0 (or the build fails).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
all=(manifest_yaml manifest_json trigger_metadata formula cron quantity metrics_value resp http_request
     http_response)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (${all[*]})" >&2; exit 2; }
done

build_dir=${EBB_FUZZ_BUILD_DIR:-build-fuzz}
cc=${EBB_FUZZ_CC:-clang-14}
cxx=${EBB_FUZZ_CXX:-clang++-14}
# One compile at a time on a shared machine (docs/DEVELOPING.md).
build_lock=${EBB_BUILD_LOCK:-/tmp/ebb-build.lock}
locked() { if command -v flock >/dev/null; then flock "$build_lock" "$@"; else "$@"; fi; }
# -O1: several times the executions per second of -O0 for a small extra compile time; asserts
# stay on (no NDEBUG). Tests and the processes are not built here, only what the targets link.
locked cmake -S . -B "$build_dir" -G Ninja -DEBB_FUZZ=ON -DEBB_BUILD_TESTS=OFF \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
locked cmake --build "$build_dir" --target "${targets[@]/#/fuzz_}"

build_dir=$(cd "$build_dir" && pwd)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
mkdir -p "$build_dir/fuzz-artifacts" "$build_dir/fuzz-logs"

execs=0
crashes=0
for t in "${targets[@]}"; do
  work=$build_dir/fuzz-corpus/$t
  seeds=fuzz/corpus/$t
  mkdir -p "$work" "$seeds"
  log=$build_dir/fuzz-logs/$t.log
  extra=()
  asan_extra=""
  if [[ $t == resp ]]; then
    # hiredis 0.14 allocates a multi-bulk reply's element array from the count the server
    # announces ("*888887001" -> 7 GB calloc) before any element arrives (hiredis 1.0 added
    # maxelements). Not fixable in Ebb short of a second RESP parser: let such an allocation
    # fail as it would in production (hiredis then reports "Out of memory", a protocol error
    # that drops the connection) instead of stopping the run. See DEVELOPING.md, "Fuzzing".
    extra=(-malloc_limit_mb=1000000)
    asan_extra=:allocator_may_return_null=1
  fi
  set +e
  # The outer timeout only guards against a run that never ends (LeakSanitizer scanning a
  # runaway heap at exit can take minutes); libFuzzer's own limits normally stop it first.
  # CPU time (user + system) is what the DEVELOPING.md table counts: wall time on a shared
  # machine says little.
  ASAN_OPTIONS="$ASAN_OPTIONS$asan_extra" /usr/bin/time -f 'cpu %U %S' -o "$log.time" timeout -s KILL $((seconds + 300)) "$build_dir/bin/fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -max_len=8192 "${extra[@]}" \
    -print_final_stats=1 -artifact_prefix="$build_dir/fuzz-artifacts/$t-" "$work" "$seeds" >"$log" 2>&1
  status=$?
  set -e
  n=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  n=${n:-0}
  cpu=$(awk '/^cpu / { printf "%.0f", $2 + $3 }' "$log.time" 2>/dev/null)
  execs=$((execs + n))
  if ((status != 0)); then
    crashes=$((crashes + 1))
    artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "fuzz_$t: CRASH after $n execs, ${cpu:-?} CPU-s (status $status): ${artifact:-see $log}"
    grep -m1 -E 'ERROR: |runtime error|fuzz property violated|deadly signal' "$log" || true
  else
    echo "fuzz_$t: clean, $n execs, ${cpu:-?} CPU-s ($(find "$work" -type f | wc -l) inputs in its corpus)"
  fi
done
echo "fuzz: ${#targets[@]} targets, $execs execs, $crashes crashes"
((crashes == 0))
