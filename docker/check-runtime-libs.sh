#!/bin/sh
# Build-stage check: every shared library a binary links (ldd) belongs to a package listed in
# runtime-packages.txt, so the runtime image, which installs only those, can start it.
#   sh docker/check-runtime-libs.sh docker/runtime-packages.txt BINARY...
set -eu
list=$1
shift
missing=0
for bin in "$@"; do
  if ldd "$bin" | grep -q 'not found'; then
    echo "check-runtime-libs: $bin has unresolved libraries" >&2
    missing=1
  fi
  for lib in $(ldd "$bin" | awk '$3 ~ /^\// {print $3}'); do
    real=$(readlink -f "$lib")
    pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || true)
    pkg=${pkg%%:*}
    if [ -z "$pkg" ] || ! grep -qx "$pkg" "$list"; then
      echo "check-runtime-libs: $bin needs $lib from '${pkg:-no package}', which $list does not list" >&2
      missing=1
    fi
  done
done
exit $missing
