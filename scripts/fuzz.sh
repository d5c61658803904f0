#!/usr/bin/env bash
# fuzz.sh [SECONDS_PER_TARGET] [--runs N] [--only TARGET[,TARGET...]] [--build-only]
#
# Builds the libFuzzer targets (build/fuzz: clang, ASan + UBSan + coverage) and runs each one,
# bounded by time (default 120 s per target) or by a number of executions (--runs N), from seed
# folders made in a temporary directory (small corpus models from ../shared, the repository's
# the malformed-file set of tools/make_malformed, and tiny files generated here). Prints, per target, the executions, the
# final coverage (libFuzzer's cov: and ft:), exec/s and whether it crashed. Crash, leak, timeout
# and OOM reproducers go to build/fuzz/artifacts/. Exits 1 if any target failed.
#
# Limits per exec: -timeout=5 (s), -rss_limit_mb=2048. Environment: QUANTLENS_SHARED_DIR (corpus),
# QL_FUZZ_JOBS (build parallelism), QL_FUZZ_NICE=1 (run the fuzzers under nice), QL_FUZZ_TESTS=ON
# (also build the unit and hostile tests in the same sanitized build: scripts/test.sh runs them
# there, so the library is compiled with sanitizers once, not twice). --build-only stops after
# the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${QUANTLENS_SHARED_DIR:-$root/../shared}
seconds=120
runs=""
only=""
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    --only) only=$2; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) seconds=$1; shift ;;
  esac
done

# --- dependencies: the project's and the test suite's (clang with its sanitizer and libFuzzer
# runtimes among them) -----------------------------------------------------------------------------
bash "$root/scripts/install_deps.sh" --tests
# Readable stack traces.
[ -x /usr/bin/llvm-symbolizer-14 ] && export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
# Leaks inside libhdf5 itself are not quantlens's to fix (fuzz/lsan.supp says which).
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# --- build ---------------------------------------------------------------------------------------
build=$root/build/fuzz
# -O1 -g1 as in the ASan build (scripts/build.sh): reports keep file and line, the build is faster.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DQUANTLENS_FUZZ=ON -DQUANTLENS_TESTS="${QL_FUZZ_TESTS:-OFF}" -DQUANTLENS_WERROR=OFF \
  -DQUANTLENS_SHARED_DIR="$shared" >/dev/null
if [ "${QL_FUZZ_TESTS:-OFF}" = ON ]; then
  ninja -C "$build" -j"${QL_FUZZ_JOBS:-$(nproc)}"
else
  ninja -C "$build" -j"${QL_FUZZ_JOBS:-$(nproc)}" fuzz_all make_malformed
fi
mkdir -p "$build/artifacts"
[ "$build_only" = 1 ] && exit 0

# --- seeds (temporary; nothing is written into the repository or ../shared) ----------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ql_fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
seeds=$tmp/seeds
mkdir -p "$seeds"/{tflite,keras_h5,keras_zip,npy,npz,image}
copy_seeds() {  # copy_seeds DEST MAX_KB DIR [NAME_GLOB...]
  local dest=$1 max=$2 dir=$3
  shift 3
  [ -d "$dir" ] || return 0
  for g in "$@"; do
    find "$dir" -type f -name "$g" -size -"$max"k -print0 | while IFS= read -r -d '' f; do
      # Name by content hash: same-named files from different folders do not collide.
      cp "$f" "$dest/$(sha1sum "$f" | cut -c1-16)_$(basename "$f")"
    done
  done
}
# The malformed-file set (tools/make_malformed), generated for this run: it is not checked in.
malformed=$tmp/malformed
"$build/make_malformed" "$malformed" >/dev/null
copy_seeds "$seeds/tflite" 1024 "$shared/corpus" '*.tflite'
copy_seeds "$seeds/tflite" 1024 "$malformed" '*.tflite'
copy_seeds "$seeds/keras_h5" 2048 "$shared/corpus" '*.h5'
copy_seeds "$seeds/keras_h5" 2048 "$malformed" '*.h5'
copy_seeds "$seeds/keras_zip" 4200 "$shared/corpus" '*.keras'
copy_seeds "$seeds/keras_zip" 4200 "$malformed" '*.keras'
copy_seeds "$seeds/npy" 64 "$malformed" '*.npy'
copy_seeds "$seeds/npz" 64 "$malformed" '*.npz'
copy_seeds "$seeds/image" 128 "$malformed" '*.png' '*.jpg' '*.jpeg' '*.bmp'
copy_seeds "$seeds/image" 128 "$shared/corpus/images" '*.jpg' '*.bmp'
/usr/bin/python3 - "$seeds" <<'EOF'
# Tiny hand-made seeds: .npy of every dtype quantlens reads (and some it refuses), .npz stored and
# deflated, PNG of each colour type, BMP 24/32-bit.
import struct, sys, zlib
import numpy as np
s = sys.argv[1]
arrays = {
    "f32": np.arange(48, dtype=np.float32).reshape(1, 4, 4, 3),
    "u8": np.arange(15, dtype=np.uint8).reshape(1, 5, 3, 1),
    "i8": np.arange(-6, 6, dtype=np.int8).reshape(1, 3, 2, 2),
    "i32": np.arange(12, dtype=np.int32).reshape(2, 6),
    "f16": np.ones((2, 2, 1), np.float16), "f64": np.zeros((3,), np.float64),
    "bool": np.array([True, False]), "i64": np.arange(4, dtype=np.int64),
    "i16": np.arange(3, dtype=np.int16), "scalar": np.float32(3),
    "batch": np.zeros((2, 1, 4, 4, 3), np.float32), "unicode": np.array(["ab"]),
    "big_endian": np.arange(3, dtype=">i4"), "fortran": np.asfortranarray(np.zeros((2, 3), np.float32)),
}
for k, a in arrays.items():
    np.save(f"{s}/npy/{k}.npy", a)
np.savez(f"{s}/npz/x_f32.npz", x=arrays["f32"])
np.savez_compressed(f"{s}/npz/x_u8_deflated.npz", x=arrays["u8"])
np.savez(f"{s}/npz/multi.npz", a=arrays["i32"], b=arrays["f16"], s=arrays["unicode"])
np.savez(f"{s}/npz/single_y.npz", y=arrays["i8"])
np.savez_compressed(f"{s}/npz/batch.npz", x=arrays["batch"])

def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
def png(w, h, ct, bd, bpp, extra=b""):
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 13) & 255 for x in range(w * bpp)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bd, ct, 0, 0, 0)) + extra
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def bmp(w, h, bpp):
    rowb = ((w * bpp // 8) + 3) // 4 * 4
    data = bytes((i * 5) & 255 for i in range(rowb * h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, 0, len(data), 2835, 2835, 0, 0) + data)
imgs = {"gray.png": png(4, 4, 0, 8, 1), "rgb.png": png(5, 3, 2, 8, 3), "rgba.png": png(3, 5, 6, 8, 4),
        "rgb16.png": png(2, 2, 2, 16, 6),
        "palette.png": png(4, 2, 3, 8, 1, chunk(b"PLTE", bytes(i & 255 for i in range(768)))),
        "rgb24.bmp": bmp(4, 4, 24), "rgb32.bmp": bmp(3, 2, 32)}
for k, v in imgs.items():
    open(f"{s}/image/{k}", "wb").write(v)
EOF

# --- run -----------------------------------------------------------------------------------------
# target:seed folder:max_len[:extra flags]
targets=(
  "fuzz_tflite:tflite:1048576:-dict=$root/fuzz/tflite.dict"
  "fuzz_keras_h5:keras_h5:2097152:-dict=$root/fuzz/keras.dict"
  "fuzz_keras_zip:keras_zip:4300000:-dict=$root/fuzz/keras.dict"
  "fuzz_npy:npy:16384:-dict=$root/fuzz/npy.dict"
  "fuzz_npz:npz:65536:-dict=$root/fuzz/npy.dict"
  "fuzz_image:image:131072"
)
nice_cmd=()
[ "${QL_FUZZ_NICE:-0}" = 1 ] && nice_cmd=(nice)
failed=0
summary=()
for entry in "${targets[@]}"; do
  IFS=: read -r name seed_dir max_len extra <<<"$entry"
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
  work=$tmp/work/$name
  mkdir -p "$work"
  log=$build/$name.log
  args=(-max_len="$max_len" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1
        -artifact_prefix="$build/artifacts/$name-")
  [ -n "$extra" ] && args+=("$extra")
  if [ -n "$runs" ]; then args+=(-runs="$runs"); else args+=(-max_total_time="$seconds"); fi
  # QL_FUZZ_SEED fixes libFuzzer's random stream, so a bounded run (CI's) explores the same inputs
  # every time and a finding reproduces; exploratory runs leave it unset.
  [ -n "${QL_FUZZ_SEED:-}" ] && args+=(-seed="$QL_FUZZ_SEED")
  echo "fuzz.sh: $name (${runs:+$runs runs}${runs:-$seconds s}), log $log"
  set +e
  "${nice_cmd[@]}" "$build/$name" "${args[@]}" "$work" "$seeds/$seed_dir" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  if [ $rc -eq 0 ]; then
    status=ok
  else
    status="FAILED (exit $rc: $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^(]*|SUMMARY: [^ ]+: [a-z-]+|runtime error: .*' "$log" | head -1))"
    failed=1
  fi
  summary+=("$(printf '%-15s execs %-9s cov %-6s ft %-7s exec/s %-6s %s' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${speed:-?}" "$status")")
done
echo
echo "fuzz.sh summary (artifacts in $build/artifacts):"
for line in "${summary[@]}"; do echo "  $line"; done
exit $failed
