#!/usr/bin/env bash
# The main job on a default that needs no user files: install, build, then inspect and run a
# corpus model from ../shared (a uint8 MobileNet v2 on a cat photo, top-5 classes). The demo issue
# will replace this with the full Keras-vs-TFLite explanation.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${QUANTLENS_SHARED_DIR:-$root/../shared}
bash "$root/scripts/install_deps.sh"
bash "$root/scripts/build.sh" release
ql="$root/build/release/quantlens"
model="$shared/corpus/coral/mobilenet_v2_1.0_224_quant.tflite"
"$ql" inspect "$model"
"$ql" run "$model" --input "$shared/corpus/images/cat.bmp" --top 5 \
  --labels "$shared/corpus/coral/imagenet_labels.txt"
