#!/usr/bin/env bash
# Module boundaries (docs/DEVELOPING.md), checked on every test run:
#  1. neither process includes the other: operator/ never includes ebb/adapter/, metrics-adapter/
#     never ebb/operator/;
#  2. kube/ and runtime/ are generic: no KEDA name in their code;
#  3. no module but scalers/ names a trigger type in its code: everything per type is the
#     registry's (api/'s catalogue of KEDA's type names is the one exception);
#  4. the operator binary links no broker client library (it parses triggers, never polls),
#     gRPC and protobuf (the external scalers' client) included.
# Comments do not count (they may cite KEDA). Usage: check-boundaries.sh [EBB_OPERATOR_BINARY]
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
problem() { echo "boundary: $*" >&2; failed=1; }

# Source lines without // comments (and without lines inside /* */ blocks that start with *).
code_lines() {
  grep -rnH --include='*.cpp' --include='*.h' -E "$1" "${@:2}" 2>/dev/null |
    sed -E 's#^([^:]+:[0-9]+:)(.*)$#\1\2#' |
    awk -F: '{ line=$0; sub(/^[^:]+:[0-9]+:/, "", line); sub(/\/\/.*/, "", line);
               if (line ~ /^[[:space:]]*\*/) next; if (line ~ pat) print $0 }' pat="$1"
}

while IFS= read -r hit; do problem "operator/ includes the adapter: $hit"; done < <(code_lines '#include "ebb/adapter/' operator)
while IFS= read -r hit; do problem "metrics-adapter/ includes the operator: $hit"; done < <(code_lines '#include "ebb/operator/' metrics-adapter)

while IFS= read -r hit; do
  case $hit in */tests/*) continue ;; esac
  problem "KEDA in a generic module: $hit"
done < <(code_lines '[Kk][Ee][Dd][Aa]|ScaledObject|keda[.]sh' kube runtime)

# Every KEDA type name as a string literal, except "external", which is also the HPA's metric
# source key.
types=$(grep -oE '"[a-z0-9-]+"' api/src/keda_types.cpp | grep -vx '"external"' | sort -u | paste -sd'|')
for dir in api cluster cli common kube net operator metrics-adapter runtime; do
  [[ -d $dir ]] || continue
  while IFS= read -r hit; do
    case $hit in api/src/keda_types.cpp:* | */tests/*) continue ;; esac
    problem "a trigger type named outside scalers/ (ask the registry): $hit"
  done < <(code_lines "$types" "$dir")
done

if [[ $# -ge 1 ]]; then
  libs=$(ldd "$1" | grep -oE 'lib(rdkafka|hiredis|rabbitmq|pq|mariadb|grpc|gpr|protobuf)[^ ]*' | sort -u | paste -sd' ')
  [[ -z $libs ]] || problem "ebb-operator links broker clients: $libs"
fi

if ((failed)); then exit 1; fi
echo "boundaries: ok"
