#!/usr/bin/env bash
# install_deps.sh [--tests]: installs the Debian packages quantlens builds with; with --tests, also
# what only the test suite needs (GoogleTest, clang for the fuzzers, Node.js/npm for the genuine
# TFLite library of the differential tests, Chromium for the HTML report's render test).
# Idempotent: apt runs only when a package is missing.
# Run as root (or with sudo available) on Debian 12.
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config libflatbuffers-dev flatbuffers-compiler flatbuffers-compiler-dev
      libhdf5-dev nlohmann-json3-dev libzip-dev libcli11-dev libfmt-dev libstb-dev)
if [ "${1:-}" = --tests ]; then
  # clang builds the fuzzers; Debian only recommends libclang-rt-14-dev, which holds libFuzzer and
  # the sanitizer runtimes, and llvm-14 gives readable sanitizer stack traces.
  pkgs+=(libgtest-dev clang libclang-rt-14-dev llvm-14)
  # Headless Chromium renders the HTML compare report (tests/corpus/html_render_test.cc).
  pkgs+=(chromium)
  # Machines that already have a Node.js with its own npm (e.g. a vendor build) keep it: Debian's
  # npm package conflicts with those.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--tests]" >&2
  exit 2
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install_deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
