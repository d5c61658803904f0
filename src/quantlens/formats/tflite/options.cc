// Builtin options -> ir::Attrs.
//
// Defaults: when a file carries no options table at all, the op gets the IR struct's defaults
// (stride 1, dilation 1, beta 1, ...), so that the attrs are always meaningful. When a table is
// present, each field is read as flatbuffers reports it, i.e. an omitted field has the schema
// default (stride 0, dilation 1, beta 0): that is what the TFLite runtime sees too. Values that no
// TFLite kernel accepts (stride 0, unknown padding or activation enum values) are errors here,
// because the flatbuffers verifier does not range-check enums.
#include "quantlens/formats/tflite/options.h"

#include <optional>

namespace ql::tflite {
namespace {

namespace tfl = ::tflite;

Result<ir::Activation> ActivationFrom(tfl::ActivationFunctionType a) {
  switch (a) {
    case tfl::ActivationFunctionType::NONE: return ir::Activation::kNone;
    case tfl::ActivationFunctionType::RELU: return ir::Activation::kRelu;
    case tfl::ActivationFunctionType::RELU_N1_TO_1: return ir::Activation::kReluN1To1;
    case tfl::ActivationFunctionType::RELU6: return ir::Activation::kRelu6;
    case tfl::ActivationFunctionType::TANH: return ir::Activation::kTanh;
    case tfl::ActivationFunctionType::SIGN_BIT: return ir::Activation::kSignBit;
  }
  return InvalidModel("fused activation function {} is not one of TFLite's (0..5)",
                      static_cast<int>(a));
}

Result<ir::Padding> PaddingFrom(tfl::Padding p) {
  switch (p) {
    case tfl::Padding::SAME: return ir::Padding::kSame;
    case tfl::Padding::VALID: return ir::Padding::kValid;
  }
  return InvalidModel("padding {} is neither SAME (0) nor VALID (1)", static_cast<int>(p));
}

Status CheckPositive(const char* what, int v) {
  if (v < 1) return InvalidModel("{} is {}, must be >= 1", what, v);
  return Status::Ok();
}

// The options table an op must carry, or NONE for ops whose options quantlens does not read.
tfl::BuiltinOptions ExpectedOptions(ir::OpType t) {
  using O = tfl::BuiltinOptions;
  switch (t) {
    case ir::OpType::kCONV_2D: return O::Conv2DOptions;
    case ir::OpType::kDEPTHWISE_CONV_2D: return O::DepthwiseConv2DOptions;
    case ir::OpType::kTRANSPOSE_CONV: return O::TransposeConvOptions;
    case ir::OpType::kAVERAGE_POOL_2D:
    case ir::OpType::kMAX_POOL_2D: return O::Pool2DOptions;
    case ir::OpType::kFULLY_CONNECTED: return O::FullyConnectedOptions;
    case ir::OpType::kADD: return O::AddOptions;
    case ir::OpType::kSUB: return O::SubOptions;
    case ir::OpType::kMUL: return O::MulOptions;
    case ir::OpType::kDIV: return O::DivOptions;
    case ir::OpType::kCONCATENATION: return O::ConcatenationOptions;
    case ir::OpType::kPACK: return O::PackOptions;
    case ir::OpType::kUNPACK: return O::UnpackOptions;
    case ir::OpType::kGATHER: return O::GatherOptions;
    case ir::OpType::kSPLIT: return O::SplitOptions;
    case ir::OpType::kRESHAPE: return O::ReshapeOptions;
    case ir::OpType::kSOFTMAX: return O::SoftmaxOptions;
    case ir::OpType::kMEAN:
    case ir::OpType::kSUM:
    case ir::OpType::kREDUCE_MAX:
    case ir::OpType::kREDUCE_MIN: return O::ReducerOptions;
    case ir::OpType::kRESIZE_BILINEAR: return O::ResizeBilinearOptions;
    case ir::OpType::kRESIZE_NEAREST_NEIGHBOR: return O::ResizeNearestNeighborOptions;
    case ir::OpType::kSTRIDED_SLICE: return O::StridedSliceOptions;
    case ir::OpType::kARG_MAX: return O::ArgMaxOptions;
    case ir::OpType::kARG_MIN: return O::ArgMinOptions;
    case ir::OpType::kCAST: return O::CastOptions;
    case ir::OpType::kSHAPE: return O::ShapeOptions;
    case ir::OpType::kLEAKY_RELU: return O::LeakyReluOptions;
    case ir::OpType::kGELU: return O::GeluOptions;
    case ir::OpType::kSQUEEZE: return O::SqueezeOptions;
    case ir::OpType::kBATCH_MATMUL: return O::BatchMatMulOptions;
    default: return O::NONE;
  }
}

std::vector<int32_t> ToIntVector(const flatbuffers::Vector<int32_t>* v) {
  if (v == nullptr) return {};
  return std::vector<int32_t>(v->begin(), v->end());
}

ir::DType TensorDType(const ir::Graph& g, const std::vector<int>& idx, size_t k) {
  if (k >= idx.size() || idx[k] < 0 || idx[k] >= static_cast<int>(g.tensors.size()))
    return ir::DType::kUnknown;
  return g.tensors[idx[k]].dtype;
}

// TFLite's bias/accumulator override (Conv2D v8, FullyConnected v11, TransposeConv v5).
// FLOAT32 (0) means "not set". quantlens's kernels derive the accumulator from the bias tensor,
// so an override is accepted only when it says the same thing.
Status CheckQuantizedBiasType(tfl::TensorType t, const ir::Graph& g, const std::vector<int>& in) {
  if (t == tfl::TensorType::FLOAT32) return Status::Ok();
  auto want = DTypeFromTflite(t);
  ir::DType bias = TensorDType(g, in, 2);
  if (!want.ok() || *want != bias)
    return Unsupported("quantized_bias_type {} differs from the bias tensor's type {}",
                       tfl::EnumNameTensorType(t), ir::DTypeName(bias));
  return Status::Ok();
}

}  // namespace

Result<ir::DType> DTypeFromTflite(tfl::TensorType t) {
  switch (t) {
    case tfl::TensorType::FLOAT32: return ir::DType::kFloat32;
    case tfl::TensorType::FLOAT16: return ir::DType::kFloat16;
    case tfl::TensorType::FLOAT64: return ir::DType::kFloat64;
    case tfl::TensorType::INT8: return ir::DType::kInt8;
    case tfl::TensorType::UINT8: return ir::DType::kUInt8;
    case tfl::TensorType::INT16: return ir::DType::kInt16;
    case tfl::TensorType::INT32: return ir::DType::kInt32;
    case tfl::TensorType::INT64: return ir::DType::kInt64;
    case tfl::TensorType::BOOL: return ir::DType::kBool;
    case tfl::TensorType::STRING: return ir::DType::kString;
    default: break;
  }
  const char* name = tfl::EnumNameTensorType(t);
  return Unsupported("tensor type {} ({}) is not supported", static_cast<int>(t),
                     (name && *name) ? name : "unknown");
}

std::string TfliteBuiltinName(int code) {
  if (code < static_cast<int>(tfl::BuiltinOperator::MIN) ||
      code > static_cast<int>(tfl::BuiltinOperator::MAX))
    return "unknown";
  const char* name = tfl::EnumNameBuiltinOperator(static_cast<tfl::BuiltinOperator>(code));
  return (name && *name) ? name : "unknown";
}

Result<ir::Attrs> ParseBuiltinOptions(const tfl::Operator& op, ir::OpType type, const ir::Graph& g,
                                      const std::vector<int>& in, const std::vector<int>& out) {
  const tfl::BuiltinOptions have = op.builtin_options_type();
  const tfl::BuiltinOptions want = ExpectedOptions(type);
  if (want != tfl::BuiltinOptions::NONE && have != tfl::BuiltinOptions::NONE && have != want) {
    const char* hn = tfl::EnumNameBuiltinOptions(have);
    return InvalidModel("builtin options are {} ({}), expected {}", (hn && *hn) ? hn : "unknown",
                        static_cast<int>(have), tfl::EnumNameBuiltinOptions(want));
  }

  switch (type) {
    case ir::OpType::kCONV_2D: {
      ir::ConvAttrs a;
      if (const auto* o = op.builtin_options_as_Conv2DOptions()) {
        QL_ASSIGN_OR_RETURN(a.padding, PaddingFrom(o->padding()));
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.stride_w = o->stride_w();
        a.stride_h = o->stride_h();
        a.dilation_w = o->dilation_w_factor();
        a.dilation_h = o->dilation_h_factor();
        QL_RETURN_IF_ERROR(CheckQuantizedBiasType(o->quantized_bias_type(), g, in));
      }
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_w_factor", a.dilation_w));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_h_factor", a.dilation_h));
      return ir::Attrs(a);
    }
    case ir::OpType::kDEPTHWISE_CONV_2D: {
      ir::ConvAttrs a;
      if (const auto* o = op.builtin_options_as_DepthwiseConv2DOptions()) {
        QL_ASSIGN_OR_RETURN(a.padding, PaddingFrom(o->padding()));
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.stride_w = o->stride_w();
        a.stride_h = o->stride_h();
        a.dilation_w = o->dilation_w_factor();
        a.dilation_h = o->dilation_h_factor();
        a.depth_multiplier = o->depth_multiplier();
      }
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_w_factor", a.dilation_w));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_h_factor", a.dilation_h));
      // depth_multiplier is redundant (TFLite >= 2.1 derives it from the shapes) and some
      // converters write 0, so it is kept as is and not validated here.
      return ir::Attrs(a);
    }
    case ir::OpType::kTRANSPOSE_CONV: {
      ir::ConvAttrs a;
      if (const auto* o = op.builtin_options_as_TransposeConvOptions()) {
        QL_ASSIGN_OR_RETURN(a.padding, PaddingFrom(o->padding()));
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.stride_w = o->stride_w();
        a.stride_h = o->stride_h();
        // TRANSPOSE_CONV's inputs are (output_shape, weights, input, bias): bias is input 3.
        if (o->quantized_bias_type() != tfl::TensorType::FLOAT32) {
          std::vector<int> shifted(in.begin() + std::min<size_t>(1, in.size()), in.end());
          QL_RETURN_IF_ERROR(CheckQuantizedBiasType(o->quantized_bias_type(), g, shifted));
        }
      }
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      return ir::Attrs(a);
    }
    case ir::OpType::kAVERAGE_POOL_2D:
    case ir::OpType::kMAX_POOL_2D: {
      ir::PoolAttrs a;
      if (const auto* o = op.builtin_options_as_Pool2DOptions()) {
        QL_ASSIGN_OR_RETURN(a.padding, PaddingFrom(o->padding()));
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.stride_w = o->stride_w();
        a.stride_h = o->stride_h();
        a.filter_w = o->filter_width();
        a.filter_h = o->filter_height();
      }
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      QL_RETURN_IF_ERROR(CheckPositive("filter_width", a.filter_w));
      QL_RETURN_IF_ERROR(CheckPositive("filter_height", a.filter_h));
      return ir::Attrs(a);
    }
    case ir::OpType::kFULLY_CONNECTED: {
      ir::FullyConnectedAttrs a;
      if (const auto* o = op.builtin_options_as_FullyConnectedOptions()) {
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.keep_num_dims = o->keep_num_dims();
        a.asymmetric_quantize_inputs = o->asymmetric_quantize_inputs();
        if (o->weights_format() != tfl::FullyConnectedOptionsWeightsFormat::DEFAULT)
          return Unsupported("weights_format {} (shuffled weights) is not supported",
                             static_cast<int>(o->weights_format()));
        QL_RETURN_IF_ERROR(CheckQuantizedBiasType(o->quantized_bias_type(), g, in));
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kADD:
    case ir::OpType::kSUB: {
      ir::BinaryAttrs a;
      if (const auto* o = op.builtin_options_as_AddOptions()) {
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
        a.pot_scale_int16 = o->pot_scale_int16();
      } else if (const auto* s = op.builtin_options_as_SubOptions()) {
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(s->fused_activation_function()));
        a.pot_scale_int16 = s->pot_scale_int16();
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kMUL:
    case ir::OpType::kDIV: {
      ir::BinaryAttrs a;
      if (const auto* o = op.builtin_options_as_MulOptions()) {
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
      } else if (const auto* d = op.builtin_options_as_DivOptions()) {
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(d->fused_activation_function()));
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kCONCATENATION: {
      ir::AxisAttrs a;
      if (const auto* o = op.builtin_options_as_ConcatenationOptions()) {
        a.axis = o->axis();
        QL_ASSIGN_OR_RETURN(a.activation, ActivationFrom(o->fused_activation_function()));
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kPACK: {
      ir::AxisAttrs a;
      if (const auto* o = op.builtin_options_as_PackOptions()) {
        a.axis = o->axis();
        a.count = o->values_count();
      } else {
        a.count = static_cast<int>(in.size());
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kUNPACK: {
      ir::AxisAttrs a;
      if (const auto* o = op.builtin_options_as_UnpackOptions()) {
        a.axis = o->axis();
        a.count = o->num();
      } else {
        a.count = static_cast<int>(out.size());
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kGATHER: {
      ir::AxisAttrs a;
      if (const auto* o = op.builtin_options_as_GatherOptions()) {
        a.axis = o->axis();
        a.batch_dims = o->batch_dims();
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kSPLIT: {
      ir::AxisAttrs a;  // the axis is input 0 of SPLIT
      if (const auto* o = op.builtin_options_as_SplitOptions()) a.count = o->num_splits();
      else a.count = static_cast<int>(out.size());
      return ir::Attrs(a);
    }
    case ir::OpType::kRESHAPE: {
      ir::ReshapeAttrs a;
      if (const auto* o = op.builtin_options_as_ReshapeOptions()) {
        if (o->new_shape() != nullptr) {
          a.new_shape = ToIntVector(o->new_shape());
          a.has_new_shape = true;
        }
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kSOFTMAX: {
      ir::SoftmaxAttrs a;
      if (const auto* o = op.builtin_options_as_SoftmaxOptions()) a.beta = o->beta();
      return ir::Attrs(a);
    }
    case ir::OpType::kLOG_SOFTMAX:
      return ir::Attrs(ir::SoftmaxAttrs{});
    case ir::OpType::kMEAN:
    case ir::OpType::kSUM:
    case ir::OpType::kREDUCE_MAX:
    case ir::OpType::kREDUCE_MIN: {
      ir::ReducerAttrs a;
      if (const auto* o = op.builtin_options_as_ReducerOptions()) a.keep_dims = o->keep_dims();
      return ir::Attrs(a);
    }
    case ir::OpType::kRESIZE_BILINEAR: {
      ir::ResizeAttrs a;
      if (const auto* o = op.builtin_options_as_ResizeBilinearOptions()) {
        a.align_corners = o->align_corners();
        a.half_pixel_centers = o->half_pixel_centers();
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kRESIZE_NEAREST_NEIGHBOR: {
      ir::ResizeAttrs a;
      if (const auto* o = op.builtin_options_as_ResizeNearestNeighborOptions()) {
        a.align_corners = o->align_corners();
        a.half_pixel_centers = o->half_pixel_centers();
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kSTRIDED_SLICE: {
      ir::StridedSliceAttrs a;
      if (const auto* o = op.builtin_options_as_StridedSliceOptions()) {
        a.begin_mask = o->begin_mask();
        a.end_mask = o->end_mask();
        a.ellipsis_mask = o->ellipsis_mask();
        a.new_axis_mask = o->new_axis_mask();
        a.shrink_axis_mask = o->shrink_axis_mask();
        a.offset = o->offset();
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kARG_MAX:
    case ir::OpType::kARG_MIN:
    case ir::OpType::kCAST:
    case ir::OpType::kSHAPE: {
      // The TFLite kernels of these ops take their types from the tensors; the options only
      // repeat them. Tensor types are the default, options override when they name a type
      // quantlens knows (an omitted field reads as FLOAT32, which no converter means here).
      ir::TypeAttrs a;
      a.in_type = TensorDType(g, in, 0);
      a.out_type = TensorDType(g, out, 0);
      auto set = [](ir::DType& dst, tfl::TensorType t) {
        auto d = DTypeFromTflite(t);
        if (d.ok() && t != tfl::TensorType::FLOAT32) dst = *d;
      };
      if (const auto* o = op.builtin_options_as_ArgMaxOptions()) set(a.out_type, o->output_type());
      if (const auto* o = op.builtin_options_as_ArgMinOptions()) set(a.out_type, o->output_type());
      if (const auto* o = op.builtin_options_as_ShapeOptions()) set(a.out_type, o->out_type());
      if (const auto* o = op.builtin_options_as_CastOptions()) {
        set(a.in_type, o->in_data_type());
        set(a.out_type, o->out_data_type());
      }
      return ir::Attrs(a);
    }
    case ir::OpType::kLEAKY_RELU: {
      ir::ActivationAttrs a;
      if (const auto* o = op.builtin_options_as_LeakyReluOptions()) a.alpha = o->alpha();
      return ir::Attrs(a);
    }
    case ir::OpType::kELU: {
      ir::ActivationAttrs a;
      a.alpha = 1.0f;  // TFLite's ELU has no options: alpha is fixed at 1
      return ir::Attrs(a);
    }
    case ir::OpType::kGELU: {
      ir::ActivationAttrs a;
      if (const auto* o = op.builtin_options_as_GeluOptions()) a.approximate = o->approximate();
      return ir::Attrs(a);
    }
    case ir::OpType::kSQUEEZE: {
      ir::ActivationAttrs a;
      if (const auto* o = op.builtin_options_as_SqueezeOptions())
        a.squeeze_dims = ToIntVector(o->squeeze_dims());
      return ir::Attrs(a);
    }
    case ir::OpType::kBATCH_MATMUL: {
      // The IR has no adjoint flags; refusing is better than silently multiplying the wrong way.
      if (const auto* o = op.builtin_options_as_BatchMatMulOptions()) {
        if (o->adj_x() || o->adj_y())
          return Unsupported("adj_x={} adj_y={}: adjoint BATCH_MATMUL is not supported",
                             o->adj_x(), o->adj_y());
      }
      return ir::Attrs(std::monostate{});
    }
    case ir::OpType::kCUSTOM: {
      ir::CustomAttrs a;
      if (const auto* c = op.custom_options()) a.options.assign(c->begin(), c->end());
      return ir::Attrs(a);
    }
    default:
      return ir::Attrs(std::monostate{});
  }
}

}  // namespace ql::tflite
