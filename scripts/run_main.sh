#!/usr/bin/env bash
# The main job on a default that needs no user files: install, build, then inspect and run a
# corpus model from ../shared (a uint8 MobileNet v2 on a cat photo, top-5 classes), then one photo
# through a Keras model and its float and int8 TFLite conversions, then quantlens's own int8 conversion
# compared with TensorFlow's. The demo issue will replace this
# with the full Keras-vs-TFLite explanation.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${QUANTLENS_SHARED_DIR:-$root/../shared}
bash "$root/scripts/install_deps.sh"
bash "$root/scripts/build.sh" app
ql="$root/build/app/quantlens"
model="$shared/corpus/coral/mobilenet_v2_1.0_224_quant.tflite"
"$ql" inspect "$model"
"$ql" run "$model" --input "$shared/corpus/images/cat.bmp" --top 5 \
  --labels "$shared/corpus/coral/imagenet_labels.txt"

# The same photo through the three forms of one network: the Keras original, TensorFlow's float
# conversion and its int8 conversion (MLPerf Tiny ResNet-8, CIFAR-10 classes).
echo
echo "== ResNet-8 on cat.bmp (32x32): Keras .h5, float .tflite, int8 .tflite =="
labels="$shared/corpus/cifar10/classes.txt"
echo "-- Keras original (pretrainedResnet.h5):"
"$ql" run "$shared/corpus/mlperf_tiny/pretrainedResnet.h5" --input "$shared/corpus/images/cat.bmp" --top 3 --labels "$labels"
echo "-- TensorFlow's float conversion (pretrainedResnet.tflite):"
"$ql" run "$shared/corpus/mlperf_tiny/pretrainedResnet.tflite" --input "$shared/corpus/images/cat.bmp" --top 3 --labels "$labels"
echo "-- TensorFlow's int8 conversion (pretrainedResnet_quant.tflite), as TFLite 2.9 on x86 runs it:"
"$ql" run "$shared/corpus/mlperf_tiny/pretrainedResnet_quant.tflite" --input "$shared/corpus/images/cat.bmp" --top 3 --labels "$labels"

# quantlens's own conversion of the same Keras model (int8, TensorFlow's default minmax calibration
# on 1,000 CIFAR-10 training images, per-channel weights), then both int8 files against the Keras
# model on the first 1,000 CIFAR-10 test images: agreement, accuracy, SQNR.
out="$root/build/main_job"
mkdir -p "$out"
echo
echo "== quantlens convert: ResNet-8 (.h5) to int8 =="
"$ql" convert "$shared/corpus/mlperf_tiny/pretrainedResnet.h5" -o "$out/pretrainedResnet_int8.tflite" \
  --mode int8 --calibration "$shared/corpus/cifar10/train_1000.npz"
echo
echo "== quantlens compare: Keras model vs TensorFlow's int8 conversion (1,000 CIFAR-10 test images):"
echo "   where the error enters, why, and the measured fixes; HTML report in $out/compare_report.html =="
"$ql" compare "$shared/corpus/mlperf_tiny/pretrainedResnet.h5" \
  "$shared/corpus/mlperf_tiny/pretrainedResnet_quant.tflite" --data "$shared/corpus/cifar10/test.npz" --samples 1000 \
  --try-fixes --fix-calibration "$shared/corpus/cifar10/train_1000.npz" \
  --html "$out/compare_report.html" --json "$out/compare_report.json"
echo
echo "== quantlens compare: Keras model vs quantlens's int8 conversion (same images) =="
"$ql" compare "$shared/corpus/mlperf_tiny/pretrainedResnet.h5" "$out/pretrainedResnet_int8.tflite" \
  --data "$shared/corpus/cifar10/test.npz" --samples 1000
