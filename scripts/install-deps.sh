#!/usr/bin/env bash
# Installs every Debian package Ebb needs to build, test and run its demo.
# Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache mold git ca-certificates curl
  # libraries
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libssl-dev librdkafka-dev librabbitmq-dev libhiredis-dev nlohmann-json3-dev catch2
  libyaml-cpp-dev libspdlog-dev libcli11-dev libmuparser-dev libpq-dev libmariadb-dev
  prometheus-cpp-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # the cron trigger's time zones: cctz reads the IANA database tzdata installs
  libcctz-dev tzdata
  # PromQL label regexes (metrics-api's Prometheus format), the engine Prometheus uses
  libre2-dev
  # the informers' caches keep objects zstd-compressed against a per-cache dictionary
  libzstd-dev
  # servers the tests and the demo start on loopback ports (tests/servers.sh, tests/support)
  redis-server redis-sentinel redis-tools rabbitmq-server openssl procps
  postgresql mariadb-server mariadb-client nats-server etcd-server etcd-client beanstalkd prometheus
  # the HTTP client tests serve pages with python3 -m http.server
  python3
  # what tests/servers.sh uses to find free ports (ss), isolate and lock (unshare, flock)
  iproute2 util-linux
  # the test-only Helm chart renderer (tests/chart): Go's text/template with sprig, as Helm
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -o DPkg::Lock::Timeout=600 >/dev/null
$SUDO apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
# Installing rabbitmq-server leaves a system epmd running on 0.0.0.0:4369; our servers use
# a private epmd port, so it is only a nuisance. Stop it if it belongs to the package user.
pkill -u rabbitmq epmd 2>/dev/null || true
