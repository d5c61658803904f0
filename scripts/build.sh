#!/usr/bin/env bash
# build.sh [release|asan|app]: configures and builds quantlens into build/<kind>. `app` is the
# Release library and command line without the tests (what the main job needs); `release` and
# `asan` build the tests too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
shared=${QUANTLENS_SHARED_DIR:-$root/../shared}
extra=()
case "$kind" in
  # The Release build is the -Werror gate (same sources); under -fsanitize GCC's flow-based
  # warnings (maybe-uninitialized, stringop-*) give false positives, so here they only warn.
  # -O1 -g1 (line tables only): a sanitizer report still names file and line, and the build,
  # mostly debug information at -g, takes half the time.
  asan) extra+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
                -DQUANTLENS_ASAN=ON -DQUANTLENS_TESTS=ON -DQUANTLENS_WERROR=OFF) ;;
  release)
    extra+=(-DCMAKE_BUILD_TYPE=Release -DQUANTLENS_TESTS=ON)
    extra+=(-DQUANTLENS_TFLITE_C_DIR="${QUANTLENS_TFLITE_C_DIR:-}") ;;
  app) extra+=(-DCMAKE_BUILD_TYPE=Release -DQUANTLENS_TESTS=OFF) ;;
  *) echo "usage: $0 [release|asan|app]" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$root/build/$kind" -G Ninja -DQUANTLENS_SHARED_DIR="$shared" "${extra[@]}" >/dev/null
ninja -C "$root/build/$kind" -j"$(nproc)"
