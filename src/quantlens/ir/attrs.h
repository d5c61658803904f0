// Typed attributes of IR operations. Each op carries at most one of these structs; which one is
// fixed by its OpType (see the comment on each struct). Fields use TFLite's meaning where TFLite
// has the op, so the TFLite reader and writer map them one to one.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "quantlens/ir/dtype.h"

namespace ql::ir {

enum class Padding : uint8_t { kSame, kValid };
enum class Activation : uint8_t { kNone, kRelu, kReluN1To1, kRelu6, kTanh, kSignBit };

// CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV
struct ConvAttrs {
  Padding padding = Padding::kValid;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int depth_multiplier = 1;  // DEPTHWISE_CONV_2D only
  Activation activation = Activation::kNone;
};

// AVERAGE_POOL_2D, MAX_POOL_2D
struct PoolAttrs {
  Padding padding = Padding::kValid;
  int stride_h = 1, stride_w = 1;
  int filter_h = 1, filter_w = 1;
  Activation activation = Activation::kNone;
};

// FULLY_CONNECTED
struct FullyConnectedAttrs {
  Activation activation = Activation::kNone;
  bool keep_num_dims = false;
  // Hybrid (float input, int8 weights) only: quantize input rows asymmetrically (with a zero
  // point) instead of symmetrically.
  bool asymmetric_quantize_inputs = false;
};

// ADD, SUB, MUL, DIV (and other binary ops that TFLite gives a fused activation)
struct BinaryAttrs {
  Activation activation = Activation::kNone;
  bool pot_scale_int16 = true;  // ADD/SUB int16 only
};

// CONCATENATION, PACK, UNPACK, GATHER, SPLIT, ARG_MAX/ARG_MIN (axis given by input there)
struct AxisAttrs {
  int axis = 0;
  int count = 0;        // PACK values_count, UNPACK num, SPLIT num_splits
  int batch_dims = 0;   // GATHER
  Activation activation = Activation::kNone;  // CONCATENATION
};

// RESHAPE (new_shape may be empty: the shape then comes from input 1)
struct ReshapeAttrs {
  std::vector<int32_t> new_shape;
  bool has_new_shape = false;
};

// SOFTMAX, LOG_SOFTMAX
struct SoftmaxAttrs {
  float beta = 1.0f;
  int axis = -1;  // Keras Softmax may name another axis; TFLite always uses the last
};

// MEAN, SUM, REDUCE_MAX, REDUCE_MIN (axes come from input 1)
struct ReducerAttrs {
  bool keep_dims = false;
};

// RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR (size comes from input 1)
struct ResizeAttrs {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

// STRIDED_SLICE
struct StridedSliceAttrs {
  int begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_axis_mask = 0;
  bool offset = false;
};

// ARG_MAX, ARG_MIN, CAST, SHAPE
struct TypeAttrs {
  DType in_type = DType::kUnknown;
  DType out_type = DType::kUnknown;
};

// LEAKY_RELU, ELU (alpha), GELU (approximate), SQUEEZE (squeeze_dims), HARD_SIGMOID
// (keras 2 vs 3 constants in alpha/beta), RELU with Keras max_value/threshold.
struct ActivationAttrs {
  float alpha = 0.0f;
  float beta = 0.0f;
  float max_value = -1.0f;   // < 0: none
  float threshold = 0.0f;
  bool approximate = false;  // GELU
  std::vector<int32_t> squeeze_dims;  // SQUEEZE
};

// LAYER_NORM, BATCH_NORM (inputs carry gamma/beta/mean/var as constants)
struct NormAttrs {
  std::vector<int32_t> axes;
  float epsilon = 1e-3f;
  bool center = true;
  bool scale = true;
};

// CUSTOM: the raw options bytes (flexbuffer for TFLite custom ops); parsed by the kernel.
struct CustomAttrs {
  std::vector<uint8_t> options;
};

using Attrs = std::variant<std::monostate, ConvAttrs, PoolAttrs, FullyConnectedAttrs, BinaryAttrs,
                           AxisAttrs, ReshapeAttrs, SoftmaxAttrs, ReducerAttrs, ResizeAttrs,
                           StridedSliceAttrs, TypeAttrs, ActivationAttrs, NormAttrs, CustomAttrs>;

std::string_view ActivationName(Activation a);

}  // namespace ql::ir
