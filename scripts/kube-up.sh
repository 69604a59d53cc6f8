#!/usr/bin/env bash
# Starts a real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) on
# loopback for running the test suite against it (EBB_TEST_KUBECONFIG) and for benchmarks, and
# keeps it up until this script gets SIGINT/SIGTERM. Not for CI: the binaries are built once per
# machine by ../shared/tools/kube-control-plane.sh (Kubernetes v1.26, ~12 min cold), see
# docs/DEVELOPING.md "The suite on a real control plane".
#
#   scripts/kube-up.sh BIN DIR
#
# BIN: the multi-call binary that script builds (`BIN apiserver …`, `BIN controller-manager …`).
# DIR: a new or empty folder for certificates, etcd data and logs. Prints
#   kube-up: ready kubeconfig=DIR/admin.kubeconfig
# once the HPA controller runs, then waits. etcd comes from Debian's etcd-server (ETCD=…).
# Ports: ETCD_PORT (23790), APISERVER_PORT (26443), KCM_PORT (20257); the etcd peer port is
# ETCD_PORT + 10.
set -euo pipefail

bin=${1:?usage: kube-up.sh BIN DIR}
dir=${2:?usage: kube-up.sh BIN DIR}
etcd=${ETCD:-etcd}
etcd_port=${ETCD_PORT:-23790}
api_port=${APISERVER_PORT:-26443}
kcm_port=${KCM_PORT:-20257}

[[ -x $bin ]] || { echo "kube-up: $bin is not an executable" >&2; exit 2; }
command -v "$etcd" >/dev/null || { echo "kube-up: no etcd (apt-get install etcd-server)" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pids=()
# kube-apiserver's graceful shutdown can wait on open watches for a long time: TERM, then KILL
# whatever is still running after 15 s.
stop() {
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

wait_until() {  # what seconds command...
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "kube-up: $what not ready; logs in $dir" >&2
      exit 1
    fi
    sleep 1
  done
}

# Certificates: one CA for serving and client certificates, a front-proxy CA (aggregation), a
# service-account key pair. The admin user is in system:masters.
cert() {  # name subject extensions
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/$1.key" -out "$dir/$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" >"$dir/$1.ext"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 365 -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2>/dev/null
  rm -f "$dir/$1.csr" "$dir/$1.ext"
}
if [[ ! -f $dir/ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -subj "/CN=ebb-test-ca" 2>/dev/null
  client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
  cert admin "/O=system:masters/CN=ebb-test-admin" "$client"
  cert kcm "/CN=system:kube-controller-manager" "$client"
  cert front-proxy-client "/CN=front-proxy-client" "$client"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  chmod 600 "$dir"/*.key
fi
for user in admin kcm; do
  cat >"$dir/$user.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: ca.crt}
users:
- name: $user
  user: {client-certificate: $user.crt, client-key: $user.key}
contexts:
- name: local
  context: {cluster: local, user: $user}
current-context: local
EOF
done

"$etcd" --name ebb-test --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$((etcd_port + 10))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 10))" \
  --initial-cluster "ebb-test=http://127.0.0.1:$((etcd_port + 10))" \
  --logger zap --log-level warn >"$dir/etcd.log" 2>&1 &
pids+=($!)
wait_until etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

# --endpoint-reconciler-type=none: the kubernetes Service's endpoints cannot be loopback.
"$bin" apiserver --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --tls-cert-file="$dir/apiserver.crt" --tls-private-key-file="$dir/apiserver.key" \
  --client-ca-file="$dir/ca.crt" --authorization-mode=RBAC \
  --requestheader-client-ca-file="$dir/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$dir/front-proxy-client.crt" --proxy-client-key-file="$dir/front-proxy-client.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$dir/sa.pub" --service-account-signing-key-file="$dir/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
  --profiling=false --v=1 >"$dir/apiserver.log" 2>&1 &
pids+=($!)
wait_until kube-apiserver 120 curl -fsS --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
  "https://127.0.0.1:$api_port/readyz"

"$bin" controller-manager --kubeconfig="$dir/kcm.kubeconfig" \
  --authentication-kubeconfig="$dir/kcm.kubeconfig" --authorization-kubeconfig="$dir/kcm.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$kcm_port" --leader-elect=false \
  --use-service-account-credentials=true --service-account-private-key-file="$dir/sa.key" \
  --root-ca-file="$dir/ca.crt" --controllers='*' --horizontal-pod-autoscaler-sync-period=5s \
  --v=2 >"$dir/controller-manager.log" 2>&1 &
pids+=($!)
wait_until "the HPA controller" 120 grep -q 'Started "horizontalpodautoscaling"' "$dir/controller-manager.log"

echo "kube-up: ready kubeconfig=$dir/admin.kubeconfig"
wait
