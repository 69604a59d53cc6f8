#!/usr/bin/env bash
# Builds the test-only chart renderer offline from Debian's Go packages (golang-go,
# golang-github-masterminds-sprig-dev, golang-k8s-sigs-yaml-dev), in GOPATH mode:
#   bash tests/chart/build-renderer.sh OUT_BINARY WORK_DIR
# Debian installs sprig v3 and semver v3 without the /v3 suffix in their directory names, so a
# small GOPATH in WORK_DIR maps the /v3 import paths onto them; everything else comes from
# /usr/share/gocode. Nothing is downloaded (GOPROXY=off).
set -euo pipefail
out=${1:?usage: build-renderer.sh OUT_BINARY WORK_DIR}
work=${2:?usage: build-renderer.sh OUT_BINARY WORK_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gocode=/usr/share/gocode/src
for dep in github.com/Masterminds/sprig github.com/Masterminds/semver sigs.k8s.io/yaml; do
  if [[ ! -d $gocode/$dep ]]; then
    echo "build-renderer: $gocode/$dep is missing; run scripts/install-deps.sh" >&2
    exit 1
  fi
done
command -v go >/dev/null || { echo "build-renderer: go is missing; run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$work/gopath/src/github.com/Masterminds/sprig" "$work/gopath/src/github.com/Masterminds/semver"
ln -sfn "$gocode/github.com/Masterminds/sprig" "$work/gopath/src/github.com/Masterminds/sprig/v3"
ln -sfn "$gocode/github.com/Masterminds/semver" "$work/gopath/src/github.com/Masterminds/semver/v3"
cd "$here/render"
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="$work/gocache" \
  go build -o "$out" .
