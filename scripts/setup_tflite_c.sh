#!/usr/bin/env bash
# Installs the genuine TFLite 2.9 C library (npm package tfjs-tflite-node@0.0.2, which ships
# libtensorflowlite_c.so and its C headers) into DEST, unless it is already there, and prints the
# package's cc_deps folder: the value for -DQUANTLENS_TFLITE_C_DIR.
# The package and its dependencies are pinned by scripts/tflite_c/package-lock.json, integrity
# hashes included: `npm ci` refuses anything that does not match. Install scripts are skipped
# (--ignore-scripts): the package's own scripts build a Node addon the tests do not need.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
ccdeps="$dest/node_modules/tfjs-tflite-node/cc_deps"
lib="$ccdeps/linux_amd64/libtensorflowlite_c.so"
# The lock file is the install's identity: a DEST made from another lock is reinstalled.
if [ ! -f "$lib" ] || ! cmp -s "$here/tflite_c/package-lock.json" "$dest/package-lock.json"; then
  command -v npm >/dev/null || { echo "setup_tflite_c.sh: npm is not installed" >&2; exit 1; }
  mkdir -p "$dest"
  cp "$here/tflite_c/package.json" "$here/tflite_c/package-lock.json" "$dest/"
  # stdout carries only the result path, so npm's report goes to stderr.
  (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts) >&2
  [ -f "$lib" ] || { echo "setup_tflite_c.sh: $lib missing after npm ci" >&2; exit 1; }
fi
[ -f "$ccdeps/include/tensorflow/lite/c/c_api.h" ] ||
  { echo "setup_tflite_c.sh: C headers missing under $ccdeps/include" >&2; exit 1; }
(cd "$ccdeps" && pwd)
