// Turning user data (arrays and images) into model input tensors, and splitting a batch of
// samples into the model's batch-1 inputs. Everything the `run` command does to an input before
// the interpreter sees it lives here, so other commands (compare, debug) feed models the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "quantlens/io/array.h"
#include "quantlens/io/image.h"
#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::io {

// What an input expects: the IR tensor (dtype, quantization, name, declared shape with -1 for
// open dimensions) and the shape of ONE sample as the interpreter resolved it (no -1).
struct InputSpec {
  const ir::Tensor* tensor = nullptr;
  ir::Shape sample_shape;
  std::string label;  // "input 0 'serving_default_x:0'" for messages
};

// Builds an InputSpec; `resolved` is the interpreter's shape (or the declared shape with -1 -> 1).
InputSpec MakeInputSpec(const ir::Tensor& tensor, int input_index, const ir::Shape& resolved);

// How image pixels become input values.
//  * Float inputs: value = pixel * scale + offset (defaults 1 and 0: raw pixel values).
//  * Quantized integer inputs with neither scale nor offset given: the raw-pixel convention of
//    TFLite image models (the input's quantization already maps pixels to the trained range):
//    uint8 gets the pixel, int8 gets pixel - 128 (both after rounding the resized value half away
//    from zero). With scale or offset given: value = pixel * scale + offset, then quantized with
//    the input's scale and zero point.
struct ImageFeedOptions {
  int resize_h = 0, resize_w = 0;  // 0: the model input's height and width
  std::optional<float> scale, offset;
  std::optional<bool> grayscale;   // unset: grayscale iff the input has 1 channel
};

// Converts `a` to the input's dtype, keeping its shape:
//  * same dtype: unchanged;
//  * integer/bool data into a float input: same values as floats;
//  * float data into a quantized integer input: q = clamp(round_half_away(x / scale) + zero_point)
//    computed in float32 as TFLite's QUANTIZE does;
//  * integer data into a different integer input: allowed when every value fits, else an error;
//  * anything else (float into an unquantized integer input, ...) is an error naming both dtypes.
Result<Array> ConvertToInputDType(const Array& a, const InputSpec& spec, const std::string& source);

// How many samples `a` holds for `spec`: 1 if its shape equals the sample shape (a -1 in the
// declared shape matches any size) or equals it without the leading batch dimension; N if it is
// [N, sample_shape[1:]...] and the model's batch is 1 or open. Otherwise an error showing both shapes.
Result<int64_t> CountSamples(const Array& a, const InputSpec& spec, const std::string& source);

// Sample `i` of `a` reshaped to `sample_shape` (the caller checked the count).
Array SliceSample(const Array& a, int64_t i, int64_t num_samples, const ir::Shape& sample_shape);

// Image -> input array with the input's dtype and sample shape (NHWC, HWC, or NCHW when the
// input's dim 1 is the only one of size 1 or 3).
Result<Array> ImageToInput(const Image& image, const InputSpec& spec, const ImageFeedOptions& opts,
                           const std::string& source);

// Loads FILE for one model input: .npy, .npz (array "x", or its only array), or an image (PNG,
// JPEG, BMP, by content). The result has the input's dtype; shape is one sample or N stacked
// samples (see CountSamples).
Result<Array> LoadInputFile(const std::string& path, const InputSpec& spec,
                            const ImageFeedOptions& image_opts);

// Stacks per-sample arrays along dim 0: [1, a, b] x N -> [N, a, b] (the batch dimension becomes the
// sample dimension); samples whose dim 0 is not 1 (or scalars) get a new leading axis. All must
// share dtype and shape.
Result<Array> StackSamples(const std::vector<Array>& samples);

}  // namespace ql::io
