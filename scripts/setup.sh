#!/usr/bin/env bash
# Installs every dependency (Debian packages) and builds what Ebb ships and what the demo runs
# into build/ (binaries in build/bin): ebb, ebb-operator, ebb-metrics-adapter and the test API
# server the demo uses in place of a cluster. The test suite is built by scripts/test.sh.
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=(ebb ebb-operator ebb-metrics-adapter ebb-test-apiserver)
cmake --build build --target "${targets[@]}"
echo "setup: built ${targets[*]} in build/bin"
