#!/usr/bin/env bash
# deploy/ applies as its README says (`kubectl apply --server-side`, in one go: namespace and CRDs
# first in the file) against ebb-test-apiserver, a bare cluster (no cert-manager or Prometheus
# Operator CRDs), and every object in it is then served. The whole directory is applied, so a
# file kubectl cannot apply there (a values file) fails the test.
#   kubectl_apply_test.sh EBB_TEST_APISERVER_BINARY REPO_ROOT
set -euo pipefail
server_bin=${1:?usage: kubectl_apply_test.sh SERVER_BINARY REPO_ROOT}
root=${2:?usage: kubectl_apply_test.sh SERVER_BINARY REPO_ROOT}
command -v kubectl >/dev/null || { echo "FAIL: kubectl is not installed" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() { if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

"$server_bin" --port 0 > "$work/server.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'url=' "$work/server.out" && break
  sleep 0.05
done
url=$(grep -o 'url=[^ ]*' "$work/server.out" | cut -d= -f2)
[[ -n $url ]] || { echo "FAIL: ebb-test-apiserver did not start" >&2; cat "$work/server.out" >&2; exit 1; }
cat > "$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "$url"}}]
users: [{name: test, user: {token: test}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
KC
k() { HOME=$work kubectl --kubeconfig "$work/kubeconfig" "$@"; }

k apply --server-side --validate=false -f "$root/deploy/" > "$work/apply.out"
expected=$(grep -c '^kind: ' "$root/deploy/ebb.yaml")
applied=$(grep -c 'serverside-applied' "$work/apply.out")
if [[ $applied -ne $expected ]]; then
  echo "FAIL: kubectl applied $applied of $expected objects" >&2
  cat "$work/apply.out" >&2
  exit 1
fi
# Read a few back through kubectl, across the API groups the file uses.
k -n ebb-system get deployment ebb-operator ebb-metrics-adapter -o name > /dev/null
k get apiservice v1beta1.external.metrics.k8s.io -o jsonpath='{.spec.service.name}' | grep -qx ebb-metrics-adapter
k get validatingwebhookconfiguration ebb-validation -o jsonpath='{.webhooks[0].failurePolicy}' | grep -qx Ignore
# The operator makes the certificates: its Secret is not in the file, its Role to write it is.
k -n ebb-system get role ebb-operator-certs -o name > /dev/null
if k -n ebb-system get secret ebb-certs -o name > /dev/null 2>&1; then
  echo "FAIL: deploy/ebb.yaml created the certificate Secret (the operator's to create)" >&2
  exit 1
fi
k get crd scaledobjects.keda.sh -o name > /dev/null
echo "kubectl applied all $expected objects of deploy/ebb.yaml"
