#!/usr/bin/env bash
# The documented exit codes of the ebb binary: 0 valid, 1 invalid, 2 usage errors.
set -u
ebb=$1 examples=$2
fail=0
expect() {
  local want=$1; shift
  "$ebb" "$@" >/dev/null 2>&1
  local got=$?
  if [[ $got -ne $want ]]; then echo "FAIL: ebb $* exited $got, expected $want"; fail=1; fi
}
expect 0 --help
expect 0 --version
expect 2
expect 2 validate
expect 2 validate -f
expect 2 frobnicate
expect 2 probe -f "$examples/redis-list.yaml" --once --watch
expect 2 probe -f "$examples/redis-list.yaml" --interval soon
expect 2 probe -f "$examples/redis-list.yaml" -o yaml
expect 2 validate -f "$examples/redis-list.yaml" --secret nofile
expect 0 validate -f "$examples/redis-list.yaml"
expect 0 validate -f "$examples/prometheus.yaml"
expect 0 validate -f "$examples/metrics-api.yaml"
expect 0 validate -f "$examples/redis-list-job.yaml"
expect 1 validate -f "$examples/invalid.yaml"
expect 1 validate -f "$examples/does-not-exist.yaml"
exit $fail
