#!/usr/bin/env bash
# The main job end to end on one machine, in about half a minute, without a cluster or kubectl:
#
#   redis-server (password from a Secret) ← ebb-metrics-adapter → /scale of Deployment orders-worker
#   ebb-test-apiserver (the CRDs of crds/) ← ebb-operator → HPA
#
# The unchanged KEDA manifest examples/redis-list.yaml is applied to ebb-test-apiserver (server-side
# apply with curl); only its cooldownPeriod is shortened afterwards by a JSON merge patch, and the
# demo says so. Then the demo shows the operator's HPA, orders pushed to the list making the
# adapter scale orders-worker 0 → 1, the external metric read as the HPA reads it (curl with a
# client certificate of a CA made here), the list drained and orders-worker back at 0 after the
# cooldown, and the ScaledObject's conditions. The test API server has no HPA controller, so above
# 1 replica the demo only prints what the HPA would choose from the metric and the HPA's target.
#
# Needs the binaries of scripts/setup.sh in build/bin (EBB_BIN_DIR overrides), redis-server,
# redis-cli, curl, openssl and python3 (scripts/install-deps.sh). Every process and file it starts
# or writes is removed on exit, also on failure; a step that does not happen in time fails the
# demo (exit 1) with the tail of the log of the process responsible.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin=${EBB_BIN_DIR:-build/bin}
[[ $bin == /* ]] || bin=$repo/$bin
for b in ebb-test-apiserver ebb-operator ebb-metrics-adapter; do
  # ebb-test-apiserver is a test target: setup.sh builds it unless given -DEBB_BUILD_TESTS=OFF.
  [[ -x $bin/$b ]] || { echo "demo: $bin/$b missing; run scripts/setup.sh first" >&2; exit 1; }
done
for t in redis-server redis-cli curl openssl python3; do
  command -v "$t" >/dev/null || { echo "demo: $t missing; run scripts/install-deps.sh" >&2; exit 1; }
done

dir=$(mktemp -d)
pids=()
stop() {  # SIGTERM, then SIGKILL after 10 s
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=${EPOCHREALTIME/./}
say() {  # a line of the story, with the seconds since the start
  local ds=$(((${EPOCHREALTIME/./} - t0) / 100000))
  printf '[%3d.%ds] %s\n' $((ds / 10)) $((ds % 10)) "$*"
}
fail() {  # fail MESSAGE [LOG]
  echo "demo: FAILED: $1" >&2
  if [[ -n ${2:-} && -f $2 ]]; then
    echo "demo: last lines of $(basename "$2"):" >&2
    tail -n 25 "$2" >&2
  fi
  exit 1
}
# until_ok SECONDS MESSAGE LOG COMMAND...: run COMMAND every 0.25 s until it succeeds.
until_ok() {
  local deadline=$((SECONDS + $1)) what=$2 log=$3
  shift 3
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$what within $1 s" "$log"
    sleep 0.25
  done
}
free_port() {  # a loopback port nothing listens on
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
# jget EXPRESSION: evaluates a Python expression over the JSON document on stdin, bound to d.
jget() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# --- redis-server, its password only in files of the temp dir -------------------------------
redis_port=$(free_port)
password="demo-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
umask 077
printf 'requirepass %s\n' "$password" >"$dir/redis.conf"
redis-server "$dir/redis.conf" --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$dir" --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
pids+=($!)
export REDISCLI_AUTH=$password
rcli() { redis-cli -p "$redis_port" "$@"; }
until_ok 30 "redis-server did not answer" "$dir/redis.log" rcli ping

# --- ebb-test-apiserver with the CRDs, and a kubeconfig for it ------------------------------
(cd "$dir" && exec "$bin/ebb-test-apiserver" --port 0) >"$dir/apiserver.out" 2>"$dir/apiserver.log" &
pids+=($!)
until_ok 30 "ebb-test-apiserver did not start" "$dir/apiserver.log" grep -q 'url=' "$dir/apiserver.out"
api_url=$(sed -n 's/.*url=\([^ ]*\).*/\1/p' "$dir/apiserver.out")
cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: demo
    cluster:
      server: $api_url
users:
  - name: demo
    user:
      token: demo
contexts:
  - name: demo
    context:
      cluster: demo
      user: demo
current-context: demo
EOF
api() {  # api METHOD PATH [curl args...]: a request to the API server; the body on stdout
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -m 10 -X "$method" "$@" "$api_url$path"
}
post() { api POST "$1" -H 'Content-Type: application/json' --data-binary @- >/dev/null; }
# apply FILE: server-side apply of every document of a YAML file, as `kubectl apply
# --server-side` does. The resource is the kind in lower case plus "s" (true of every kind here).
# ScaledObjects go last, so that the operator's first look at one finds its TriggerAuthentication
# (in file order it would first report the missing TriggerAuthentication, then recover).
apply() {
  local n=0 doc kind version name ns path
  rm -f "$dir"/doc-*.yaml
  awk -v out="$dir/doc-" '/^---/ { n++; next } { print > (out n ".yaml") }' "$1"
  for doc in $(grep -L '^kind: ScaledObject$' "$dir"/doc-*.yaml) $(grep -l '^kind: ScaledObject$' "$dir"/doc-*.yaml); do
    kind=$(awk '/^kind:/ { print $2; exit }' "$doc")
    [[ -n $kind ]] || continue
    version=$(awk '/^apiVersion:/ { print $2; exit }' "$doc")
    name=$(awk '/^metadata:/ { m = 1; next } m && /^[^ #]/ { m = 0 } m && /^  name:/ { print $2; exit }' "$doc")
    ns=$(awk '/^metadata:/ { m = 1; next } m && /^[^ #]/ { m = 0 } m && /^  namespace:/ { print $2; exit }' "$doc")
    if [[ $version == */* ]]; then path=/apis/$version; else path=/api/$version; fi
    [[ -n $ns ]] && path+=/namespaces/$ns
    path+=/${kind,,}s/$name
    api PATCH "$path?fieldManager=ebb-demo" -H 'Content-Type: application/apply-patch+yaml' \
      --data-binary @"$doc" >/dev/null || fail "applying $kind $name from $1" "$dir/apiserver.log"
    n=$((n + 1))
  done
  echo "$n"
}
for f in crds/*.yaml; do apply "$f" >/dev/null; done
say "ebb-test-apiserver on $api_url (plain HTTP), CRDs of crds/ created; redis-server on 127.0.0.1:$redis_port"

# --- the workload: namespace shop, Deployment orders-worker at 0, the redis Secret -------------
post /api/v1/namespaces <<<'{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' ||
  fail "creating namespace shop" "$dir/apiserver.log"
post /apis/apps/v1/namespaces/shop/deployments <<EOF || fail "creating Deployment orders-worker" "$dir/apiserver.log"
{"apiVersion": "apps/v1", "kind": "Deployment",
 "metadata": {"name": "orders-worker", "namespace": "shop", "labels": {"app": "orders-worker"}},
 "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "orders-worker"}},
  "template": {"metadata": {"labels": {"app": "orders-worker"}},
   "spec": {"containers": [{"name": "worker", "image": "example.com/orders-worker:1",
    "env": [{"name": "REDIS_ADDRESS", "value": "127.0.0.1:$redis_port"}]}]}}}}
EOF
post /api/v1/namespaces/shop/secrets <<EOF || fail "creating Secret redis-secret" "$dir/apiserver.log"
{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
 "metadata": {"name": "redis-secret", "namespace": "shop"},
 "data": {"password": "$(printf %s "$password" | base64 -w0)"}}
EOF
say "namespace shop: Deployment orders-worker (0 replicas, REDIS_ADDRESS=127.0.0.1:$redis_port), Secret redis-secret"

# --- a CA for the adapter's serving certificate and for the client certificate curl uses --------
ssl() { openssl "$@" >>"$dir/openssl.log" 2>&1 || fail "openssl $1" "$dir/openssl.log"; }
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ebb-demo-ca \
  -keyout "$dir/ca.key" -out "$dir/ca.crt"
ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$dir/serving.key" -out "$dir/serving.csr"
ssl x509 -req -in "$dir/serving.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n') \
  -out "$dir/serving.crt"
ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=system:serviceaccounts/CN=system:serviceaccount:kube-system:horizontal-pod-autoscaler" \
  -keyout "$dir/client.key" -out "$dir/client.csr"
ssl x509 -req -in "$dir/client.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
  -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$dir/client.crt"

# --- ebb-operator and ebb-metrics-adapter --------------------------------------------------------
op_health=$(free_port)
(cd "$dir" && exec "$bin/ebb-operator" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
  --health-probe-bind-address "127.0.0.1:$op_health" --metrics-bind-address 0 --webhook-port 0) \
  </dev/null >/dev/null 2>"$dir/operator.log" &
pids+=($!)
adapter_port=$(free_port)
(cd "$dir" && exec "$bin/ebb-metrics-adapter" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port "$adapter_port" --cert-dir "$dir/certs" \
  --tls-cert-file "$dir/serving.crt" --tls-private-key-file "$dir/serving.key" \
  --client-ca-file "$dir/ca.crt" --authentication-skip-lookup --metrics-bind-address 0) \
  </dev/null >/dev/null 2>"$dir/adapter.log" &
pids+=($!)
until_ok 60 "ebb-operator not ready" "$dir/operator.log" curl -sf -m 2 "http://127.0.0.1:$op_health/readyz"
until_ok 60 "ebb-metrics-adapter not ready" "$dir/adapter.log" \
  curl -sf -m 2 --cacert "$dir/ca.crt" "https://127.0.0.1:$adapter_port/readyz"
say "ebb-operator and ebb-metrics-adapter (https://127.0.0.1:$adapter_port) ready"

# --- the unchanged KEDA manifest -----------------------------------------------------------------
so_path=/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects/orders-worker
n=$(apply examples/redis-list.yaml)
cooldown=10
api PATCH "$so_path" -H 'Content-Type: application/merge-patch+json' \
  --data-binary "{\"spec\":{\"cooldownPeriod\":$cooldown}}" >/dev/null ||
  fail "patching cooldownPeriod" "$dir/apiserver.log"
say "applied examples/redis-list.yaml unchanged ($n objects: ScaledObject orders-worker, TriggerAuthentication redis-auth)"
say "  then cooldownPeriod 60 → $cooldown s by a JSON merge patch, only to keep the demo short"

hpa_name() { api GET "$so_path" | jget 'd["status"]["hpaName"]'; }
hpa_exists() { local h; h=$(hpa_name) && api GET "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/$h"; }
until_ok 60 "the operator did not create the HPA" "$dir/operator.log" hpa_exists
hpa=$(hpa_name)
hpa_json=$(api GET "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/$hpa")
metric=$(jget 'd["spec"]["metrics"][0]["external"]["metric"]["name"]' <<<"$hpa_json")
selector=$(jget '",".join(k + "=" + v for k, v in d["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"].items())' <<<"$hpa_json")
target=$(jget 'd["spec"]["metrics"][0]["external"]["target"]["averageValue"]' <<<"$hpa_json")
range=$(jget 'str(d["spec"].get("minReplicas", 1)) + ".." + str(d["spec"]["maxReplicas"])' <<<"$hpa_json")
say "operator created HPA $hpa: orders-worker $range replicas on external metric $metric{$selector}, averageValue $target"

# --- orders arrive: the adapter scales 0 → 1 ------------------------------------------------------
replicas=$(api GET /apis/apps/v1/namespaces/shop/deployments/orders-worker | jget 'd["spec"]["replicas"]')
say "orders-worker spec.replicas = $replicas"
# wait_replicas WANT SECONDS: poll the Deployment, print every change, until it has WANT.
wait_replicas() {
  local deadline=$((SECONDS + $2)) now
  while :; do
    now=$(api GET /apis/apps/v1/namespaces/shop/deployments/orders-worker | jget 'd["spec"]["replicas"]') ||
      fail "reading Deployment orders-worker" "$dir/apiserver.log"
    if [[ $now != "$replicas" ]]; then
      say "orders-worker spec.replicas $replicas → $now"
      replicas=$now
    fi
    [[ $replicas == "$1" ]] && return
    ((SECONDS < deadline)) || fail "orders-worker did not reach $1 replicas within $2 s" "$dir/adapter.log"
    sleep 0.25
  done
}
orders=23
for i in $(seq 1 "$orders"); do rcli rpush orders "order-$i" >/dev/null; done
say "pushed $orders orders to the redis list orders"
wait_replicas 1 60

# --- the metric, as the HPA reads it --------------------------------------------------------------
metric_url="https://127.0.0.1:$adapter_port/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/$metric?labelSelector=$(
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$selector")"
read_metric() {
  curl -sS --fail-with-body -m 10 --cacert "$dir/ca.crt" --cert "$dir/client.crt" --key "$dir/client.key" \
    "$metric_url" | jget 'd["items"][0]["value"]'
}
value=$(read_metric) || fail "reading the external metric $metric" "$dir/adapter.log"
say "the HPA's read (client certificate, SubjectAccessReview): GET /${metric_url#https://*/} → $value"
want=$(python3 -c 'import math, sys; print(math.ceil(float(sys.argv[1]) / float(sys.argv[2])))' "$value" "$target")
say "  the HPA would choose ceil($value / $target) = $want replicas (no HPA controller runs here)"

# --- drained: back to 0 after the cooldown --------------------------------------------------------
rcli del orders >/dev/null
say "the workers drained the list"
deadline=$((SECONDS + 60))
until [[ $(read_metric 2>/dev/null) == 0 ]]; do
  ((SECONDS < deadline)) || fail "the metric did not fall to 0" "$dir/adapter.log"
  sleep 0.5
done
active=$(api GET "$so_path" |
  jget '[c["reason"] + ": " + c.get("message", "") for c in d["status"]["conditions"] if c["type"] == "Active"][0]')
say "metric $metric is 0; Active condition: $active"
wait_replicas 0 $((cooldown + 60))

# --- where it ended ------------------------------------------------------------------------------
say "ScaledObject orders-worker conditions:"
api GET "$so_path" | jget '"\n".join(("    %-8s %-6s %-22s %s" % (c["type"], c["status"], c.get("reason", ""), c.get("message", ""))).rstrip() for c in d["status"]["conditions"])'
say "Events (events.k8s.io/v1) in namespace shop:"
api GET /apis/events.k8s.io/v1/namespaces/shop/events | jget '"\n".join(("    %-27s %-7s %-26s %s" % (e.get("reportingController", ""), e.get("type", ""), e.get("reason", ""), e.get("note", ""))).rstrip() for e in sorted(d["items"], key=lambda e: e.get("eventTime") or ""))'
say "done"
