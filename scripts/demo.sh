#!/usr/bin/env bash
# The main job, locally: a real redis-server, the unchanged KEDA manifest in
# examples/redis-list.yaml, and `ebb probe --watch` showing the value and the replica count the
# HPA would choose rise as orders arrive and fall back to zero as they are drained.
set -euo pipefail
cd "$(dirname "$0")/.."
EBB=build/bin/ebb
[[ -x $EBB ]] || { echo "demo: $EBB missing; run scripts/setup.sh first" >&2; exit 1; }

dir=$(mktemp -d)
# A loopback port nothing listens on.
while :; do
  port=$((20000 + RANDOM % 20000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
password="demo-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --requirepass "$password" \
  --dir "$dir" --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
redis_pid=$!
probe_pid=""
cleanup() {
  [[ -n $probe_pid ]] && kill "$probe_pid" 2>/dev/null && wait "$probe_pid" 2>/dev/null
  kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
rcli() { redis-cli -p "$port" --no-auth-warning -a "$password" "$@" >/dev/null; }
for _ in $(seq 50); do rcli ping 2>/dev/null && break; sleep 0.1; done

printf 'password=%s\n' "$password" >"$dir/redis-secret.env"
echo "demo: redis-server on 127.0.0.1:$port; probing examples/redis-list.yaml every second"
REDIS_ADDRESS="127.0.0.1:$port" "$EBB" probe -f examples/redis-list.yaml \
  --secret "redis-secret=$dir/redis-secret.env" --watch --interval 1s &
probe_pid=$!
sleep 1.5
echo "demo: pushing 23 orders"
for i in $(seq 1 23); do rcli rpush orders "order-$i"; done
sleep 2.5
echo "demo: a worker drains 15 orders"
for _ in $(seq 1 15); do rcli lpop orders; done
sleep 2.5
echo "demo: the rest are drained"
rcli del orders
sleep 2.5
echo "demo: done"
