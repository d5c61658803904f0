#!/usr/bin/env bash
# Installs dependencies, builds the Release and AddressSanitizer configurations and runs the whole
# suite: Release runs every label (unit, hostile, corpus, diff); ASan runs unit and hostile tests.
# Ends with one summary line "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install_deps.sh" || exit 1
# The genuine TFLite C library for the differential tests (npm package, no install scripts).
if [ -f "$root/scripts/setup_tflite_c.sh" ]; then
  if ccdeps=$(bash "$root/scripts/setup_tflite_c.sh" "$root/.deps/tflite" | tail -n 1); then
    export QUANTLENS_TFLITE_C_DIR="$ccdeps"
  else
    echo "test.sh: could not install the genuine TFLite C library; differential tests will fail" >&2
    export QUANTLENS_TFLITE_C_DIR=""
    diff_missing=1
  fi
fi
bash "$root/scripts/build.sh" release || exit 1
bash "$root/scripts/build.sh" asan || exit 1

passed=0; failed=0
run_ctest() {  # dir, label regex
  local log; log=$(mktemp)
  (cd "$1" && ctest --output-on-failure -j2 -L "$2" 2>&1) | tee "$log"
  # ctest's summary: "97% tests passed, 3 tests failed out of 100".
  local summary total fail
  summary=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  fail=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")
  if [ -z "$summary" ] || [ "${total:-0}" -eq 0 ]; then
    echo "test.sh: no tests ran in $1 ($2)"
    failed=$((failed + 1))
  else
    passed=$((passed + total - fail)); failed=$((failed + fail))
  fi
  rm -f "$log"
}
run_ctest "$root/build/release" 'unit|hostile|corpus|diff'
run_ctest "$root/build/asan" 'unit|hostile'
[ "${diff_missing:-0}" = 1 ] && failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
