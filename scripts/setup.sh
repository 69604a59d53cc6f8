#!/usr/bin/env bash
# Installs every dependency (Debian packages) and builds Ebb into build/ (binaries in build/bin).
# Idempotent: re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build
echo "setup: built $(ls build/bin | tr '\n' ' ')"
