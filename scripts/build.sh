#!/usr/bin/env bash
# build.sh [release|asan]: configures and builds quantlens into build/<kind>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
shared=${QUANTLENS_SHARED_DIR:-$root/../shared}
extra=()
if [ "$kind" = asan ]; then
  extra+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUANTLENS_ASAN=ON)
else
  extra+=(-DCMAKE_BUILD_TYPE=Release)
  [ -n "${QUANTLENS_TFLITE_C_DIR:-}" ] && extra+=(-DQUANTLENS_TFLITE_C_DIR="$QUANTLENS_TFLITE_C_DIR")
fi
cmake -S "$root" -B "$root/build/$kind" -G Ninja -DQUANTLENS_SHARED_DIR="$shared" "${extra[@]}" >/dev/null
ninja -C "$root/build/$kind" -j"$(nproc)"
