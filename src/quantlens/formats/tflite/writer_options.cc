// ir::Attrs -> builtin options, the inverse of options.cc.
//
// Each case projects the op's attrs onto what the TFLite options table can hold, in the form the
// reader gives back (e.g. ELU: alpha 1; LOG_SOFTMAX: beta 1), and refuses the op when the
// projection differs from the attrs: a value TFLite cannot store is never dropped silently. Which
// ops get an options table follows TFLite's MLIR converter (tfl_ops.td `hasOptions`, confirmed on
// the converter-made corpus files): PAD, EXP, NEG, SQUARE, EXPAND_DIMS, LOG_SOFTMAX get an empty
// table; QUANTIZE, DEQUANTIZE, CAST, MAXIMUM, MINIMUM, TILE, TRANSPOSE and the activations
// without parameters get none; RESHAPE gets ReshapeOptions only when it carries new_shape.
#include <optional>

#include "quantlens/formats/tflite/writer_internal.h"
#include "quantlens/ir/graph_compare.h"

namespace ql::tflite {
namespace {

namespace tfl = ::tflite;
using O = tfl::BuiltinOptions;

tfl::ActivationFunctionType ActivationTo(ir::Activation a) {
  switch (a) {
    case ir::Activation::kNone: return tfl::ActivationFunctionType::NONE;
    case ir::Activation::kRelu: return tfl::ActivationFunctionType::RELU;
    case ir::Activation::kReluN1To1: return tfl::ActivationFunctionType::RELU_N1_TO_1;
    case ir::Activation::kRelu6: return tfl::ActivationFunctionType::RELU6;
    case ir::Activation::kTanh: return tfl::ActivationFunctionType::TANH;
    case ir::Activation::kSignBit: return tfl::ActivationFunctionType::SIGN_BIT;
  }
  return tfl::ActivationFunctionType::NONE;  // unreachable: every enumerator is listed
}

tfl::Padding PaddingTo(ir::Padding p) {
  return p == ir::Padding::kSame ? tfl::Padding::SAME : tfl::Padding::VALID;
}

// The attrs of `op` as a T. monostate stands for "what the reader gives an op without options"
// (`fallback`); any other alternative is an error.
template <typename T>
Result<T> AttrsAs(const ir::Op& op, T fallback = T{}) {
  if (const T* a = std::get_if<T>(&op.attrs)) return *a;
  if (std::holds_alternative<std::monostate>(op.attrs)) return fallback;
  return Unsupported("attrs are {}, but {} takes {}", ir::AttrsName(op.attrs),
                     ir::OpTypeName(op.type), ir::AttrsName(ir::Attrs(T{})));
}

// Refuses `have` when it differs from `kept`, the part TFLite's options hold.
Status CheckKept(const ir::Attrs& have, const ir::Attrs& kept, const ir::Op& op, const char* table) {
  const std::string d = ir::DiffAttrs(have, kept);
  if (d.empty()) return Status::Ok();
  return Unsupported("{} attribute {} (value vs what TFLite keeps) cannot be stored: {} has no "
                     "such field", ir::OpTypeName(op.type), d, table);
}

// For ops whose TFLite form has no parameters: monostate, or any attrs struct at its defaults.
Status CheckNoAttrs(const ir::Op& op) {
  if (std::holds_alternative<std::monostate>(op.attrs)) return Status::Ok();
  const ir::Attrs defaults =
      std::visit([](const auto& a) { return ir::Attrs(std::decay_t<decltype(a)>{}); }, op.attrs);
  const std::string d = ir::DiffAttrs(op.attrs, defaults);
  if (d.empty()) return Status::Ok();
  return Unsupported("{} attribute {} (value vs default) cannot be stored: TFLite's {} has no "
                     "parameters", ir::OpTypeName(op.type), d, ir::OpTypeName(op.type));
}

Status CheckPositive(const char* what, int v) {
  if (v < 1) return InvalidArgument("{} is {}, must be >= 1 (TFLite refuses it)", what, v);
  return Status::Ok();
}

ir::DType TensorType(const ir::Graph& g, const std::vector<int>& idx, size_t k) {
  if (k >= idx.size() || idx[k] < 0 || idx[k] >= static_cast<int>(g.tensors.size()))
    return ir::DType::kUnknown;
  return g.tensors[idx[k]].dtype;
}

// What the reader makes of a TypeAttrs field: the options' type unless it is FLOAT32 (an omitted
// field), else the tensor's. `written` is what the writer stores: the attrs value, or the
// tensor's type when the attrs leave it unknown.
struct TypeField {
  ir::DType written = ir::DType::kUnknown;
  ir::DType reread = ir::DType::kUnknown;
};
TypeField ResolveType(ir::DType attr, ir::DType tensor, bool stored) {
  TypeField f;
  f.written = attr == ir::DType::kUnknown ? tensor : attr;
  f.reread = (stored && f.written != ir::DType::kFloat32) ? f.written : tensor;
  return f;
}

// Every options table without fields has the same empty layout (PadOptions, ExpOptions, ...).
flatbuffers::Offset<void> EmptyTable(flatbuffers::FlatBufferBuilder& fbb) {
  return flatbuffers::Offset<void>(fbb.EndTable(fbb.StartTable()));
}

// The checked (and, with `fbb`, built) options of `op`.
Result<BuiltinOptionsOut> MapOptions(const ir::Graph& g, const ir::Op& op,
                                     flatbuffers::FlatBufferBuilder* fbb) {
  BuiltinOptionsOut out;
  auto empty_table = [&](O type) -> Result<BuiltinOptionsOut> {
    QL_RETURN_IF_ERROR(CheckNoAttrs(op));
    out.type = type;
    if (fbb) out.table = EmptyTable(*fbb);
    return out;
  };

  switch (op.type) {
    case ir::OpType::kCONV_2D:
    case ir::OpType::kDEPTHWISE_CONV_2D:
    case ir::OpType::kTRANSPOSE_CONV: {
      QL_ASSIGN_OR_RETURN(ir::ConvAttrs a, AttrsAs<ir::ConvAttrs>(op));
      ir::ConvAttrs kept;
      kept.padding = a.padding;
      kept.activation = a.activation;
      kept.stride_h = a.stride_h;
      kept.stride_w = a.stride_w;
      const char* table = "TransposeConvOptions";
      if (op.type != ir::OpType::kTRANSPOSE_CONV) {
        kept.dilation_h = a.dilation_h;
        kept.dilation_w = a.dilation_w;
        table = "Conv2DOptions";
      }
      if (op.type == ir::OpType::kDEPTHWISE_CONV_2D) {
        kept.depth_multiplier = a.depth_multiplier;
        table = "DepthwiseConv2DOptions";
      }
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, table));
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_w", a.dilation_w));
      QL_RETURN_IF_ERROR(CheckPositive("dilation_h", a.dilation_h));
      if (!fbb) return out;
      if (op.type == ir::OpType::kCONV_2D) {
        out.type = O::Conv2DOptions;
        out.table = tfl::CreateConv2DOptions(*fbb, PaddingTo(a.padding), a.stride_w, a.stride_h,
                                             ActivationTo(a.activation), a.dilation_w,
                                             a.dilation_h).Union();
      } else if (op.type == ir::OpType::kDEPTHWISE_CONV_2D) {
        out.type = O::DepthwiseConv2DOptions;
        out.table = tfl::CreateDepthwiseConv2DOptions(
                        *fbb, PaddingTo(a.padding), a.stride_w, a.stride_h, a.depth_multiplier,
                        ActivationTo(a.activation), a.dilation_w, a.dilation_h).Union();
      } else {
        out.type = O::TransposeConvOptions;
        out.table = tfl::CreateTransposeConvOptions(*fbb, PaddingTo(a.padding), a.stride_w,
                                                    a.stride_h, ActivationTo(a.activation)).Union();
      }
      return out;
    }
    case ir::OpType::kAVERAGE_POOL_2D:
    case ir::OpType::kMAX_POOL_2D: {
      // Every PoolAttrs field has a Pool2DOptions field.
      QL_ASSIGN_OR_RETURN(ir::PoolAttrs a, AttrsAs<ir::PoolAttrs>(op));
      QL_RETURN_IF_ERROR(CheckPositive("stride_w", a.stride_w));
      QL_RETURN_IF_ERROR(CheckPositive("stride_h", a.stride_h));
      QL_RETURN_IF_ERROR(CheckPositive("filter_width", a.filter_w));
      QL_RETURN_IF_ERROR(CheckPositive("filter_height", a.filter_h));
      out.type = O::Pool2DOptions;
      if (fbb)
        out.table = tfl::CreatePool2DOptions(*fbb, PaddingTo(a.padding), a.stride_w, a.stride_h,
                                             a.filter_w, a.filter_h,
                                             ActivationTo(a.activation)).Union();
      return out;
    }
    case ir::OpType::kFULLY_CONNECTED: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::FullyConnectedAttrs>(op));
      out.type = O::FullyConnectedOptions;
      if (fbb)
        out.table = tfl::CreateFullyConnectedOptions(
                        *fbb, ActivationTo(a.activation),
                        tfl::FullyConnectedOptionsWeightsFormat::DEFAULT, a.keep_num_dims,
                        a.asymmetric_quantize_inputs).Union();
      return out;
    }
    case ir::OpType::kADD:
    case ir::OpType::kSUB:
    case ir::OpType::kMUL:
    case ir::OpType::kDIV: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::BinaryAttrs>(op));
      const bool has_pot = op.type == ir::OpType::kADD || op.type == ir::OpType::kSUB;
      ir::BinaryAttrs kept;
      kept.activation = a.activation;
      if (has_pot) kept.pot_scale_int16 = a.pot_scale_int16;
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, op.type == ir::OpType::kMUL ? "MulOptions" : "DivOptions"));
      if (!fbb) return out;
      const auto act = ActivationTo(a.activation);
      switch (op.type) {
        case ir::OpType::kADD:
          out.type = O::AddOptions;
          out.table = tfl::CreateAddOptions(*fbb, act, a.pot_scale_int16).Union();
          break;
        case ir::OpType::kSUB:
          out.type = O::SubOptions;
          out.table = tfl::CreateSubOptions(*fbb, act, a.pot_scale_int16).Union();
          break;
        case ir::OpType::kMUL:
          out.type = O::MulOptions;
          out.table = tfl::CreateMulOptions(*fbb, act).Union();
          break;
        default:
          out.type = O::DivOptions;
          out.table = tfl::CreateDivOptions(*fbb, act).Union();
          break;
      }
      return out;
    }
    case ir::OpType::kCONCATENATION:
    case ir::OpType::kPACK:
    case ir::OpType::kUNPACK:
    case ir::OpType::kGATHER:
    case ir::OpType::kSPLIT: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::AxisAttrs>(op));
      ir::AxisAttrs kept;
      const char* table = "";
      switch (op.type) {
        case ir::OpType::kCONCATENATION:
          kept.axis = a.axis, kept.activation = a.activation, table = "ConcatenationOptions";
          break;
        case ir::OpType::kPACK: kept.axis = a.axis, kept.count = a.count, table = "PackOptions"; break;
        case ir::OpType::kUNPACK: kept.axis = a.axis, kept.count = a.count, table = "UnpackOptions"; break;
        case ir::OpType::kGATHER:
          kept.axis = a.axis, kept.batch_dims = a.batch_dims, table = "GatherOptions";
          break;
        default: kept.count = a.count, table = "SplitOptions (the axis is input 0)"; break;
      }
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, table));
      if (!fbb) return out;
      switch (op.type) {
        case ir::OpType::kCONCATENATION:
          out.type = O::ConcatenationOptions;
          out.table = tfl::CreateConcatenationOptions(*fbb, a.axis, ActivationTo(a.activation)).Union();
          break;
        case ir::OpType::kPACK:
          out.type = O::PackOptions;
          out.table = tfl::CreatePackOptions(*fbb, a.count, a.axis).Union();
          break;
        case ir::OpType::kUNPACK:
          out.type = O::UnpackOptions;
          out.table = tfl::CreateUnpackOptions(*fbb, a.count, a.axis).Union();
          break;
        case ir::OpType::kGATHER:
          out.type = O::GatherOptions;
          out.table = tfl::CreateGatherOptions(*fbb, a.axis, a.batch_dims).Union();
          break;
        default:
          out.type = O::SplitOptions;
          out.table = tfl::CreateSplitOptions(*fbb, a.count).Union();
          break;
      }
      return out;
    }
    case ir::OpType::kRESHAPE: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::ReshapeAttrs>(op));
      ir::ReshapeAttrs kept;
      if (a.has_new_shape) kept = a;
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, "ReshapeOptions without has_new_shape"));
      // The MLIR converter writes no options when the shape comes from input 1; TOCO wrote them.
      if (!a.has_new_shape) return out;
      out.type = O::ReshapeOptions;
      if (fbb) out.table = tfl::CreateReshapeOptions(*fbb, fbb->CreateVector(a.new_shape)).Union();
      return out;
    }
    case ir::OpType::kSOFTMAX:
    case ir::OpType::kLOG_SOFTMAX: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::SoftmaxAttrs>(op));
      // TFLite normalises over the last axis only; a Keras Softmax on another axis cannot be
      // written. The last axis given as a positive index reads back as -1.
      const bool has_input = !op.inputs.empty() && op.inputs[0] >= 0;
      const ir::Tensor* input = has_input ? &g.tensors[op.inputs[0]] : nullptr;
      const int rank = input ? static_cast<int>(input->shape.size()) : -1;
      if (a.axis != -1 && !(input && input->shape_declared && a.axis == rank - 1))
        return Unsupported("{} over axis {} of a rank-{} input: TFLite's kernel always uses the "
                           "last axis", ir::OpTypeName(op.type), a.axis, rank);
      ir::SoftmaxAttrs kept;
      kept.axis = a.axis;
      if (op.type == ir::OpType::kSOFTMAX) kept.beta = a.beta;
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, "LogSoftmaxOptions (beta is 1)"));
      if (op.type == ir::OpType::kLOG_SOFTMAX) {
        out.type = O::LogSoftmaxOptions;
        if (fbb) out.table = EmptyTable(*fbb);
        return out;
      }
      out.type = O::SoftmaxOptions;
      if (fbb) out.table = tfl::CreateSoftmaxOptions(*fbb, a.beta).Union();
      return out;
    }
    case ir::OpType::kMEAN:
    case ir::OpType::kSUM:
    case ir::OpType::kREDUCE_MAX:
    case ir::OpType::kREDUCE_MIN: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::ReducerAttrs>(op));
      out.type = O::ReducerOptions;
      if (fbb) out.table = tfl::CreateReducerOptions(*fbb, a.keep_dims).Union();
      return out;
    }
    case ir::OpType::kRESIZE_BILINEAR: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::ResizeAttrs>(op));
      out.type = O::ResizeBilinearOptions;
      if (fbb)
        out.table = tfl::CreateResizeBilinearOptions(*fbb, a.align_corners, a.half_pixel_centers).Union();
      return out;
    }
    case ir::OpType::kRESIZE_NEAREST_NEIGHBOR: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::ResizeAttrs>(op));
      out.type = O::ResizeNearestNeighborOptions;
      if (fbb)
        out.table = tfl::CreateResizeNearestNeighborOptions(*fbb, a.align_corners,
                                                            a.half_pixel_centers).Union();
      return out;
    }
    case ir::OpType::kSTRIDED_SLICE: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::StridedSliceAttrs>(op));
      out.type = O::StridedSliceOptions;
      if (fbb)
        out.table = tfl::CreateStridedSliceOptions(*fbb, a.begin_mask, a.end_mask, a.ellipsis_mask,
                                                   a.new_axis_mask, a.shrink_axis_mask, a.offset).Union();
      return out;
    }
    case ir::OpType::kARG_MAX:
    case ir::OpType::kARG_MIN:
    case ir::OpType::kCAST:
    case ir::OpType::kSHAPE: {
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::TypeAttrs>(op));
      // CAST's kernel takes both types from its tensors and the converter writes no options;
      // the others store the output type. The input type is never stored.
      const bool stores_out = op.type != ir::OpType::kCAST;
      const ir::DType in_t = TensorType(g, op.inputs, 0), out_t = TensorType(g, op.outputs, 0);
      const TypeField in = ResolveType(a.in_type, in_t, false);
      const TypeField outf = ResolveType(a.out_type, out_t, stores_out);
      ir::TypeAttrs kept;
      kept.in_type = a.in_type == ir::DType::kUnknown ? ir::DType::kUnknown : in.reread;
      kept.out_type = a.out_type == ir::DType::kUnknown ? ir::DType::kUnknown : outf.reread;
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, "the file (types come from the tensors)"));
      if (!stores_out) return out;
      QL_ASSIGN_OR_RETURN(const tfl::TensorType t, TfliteTypeFrom(outf.written));
      if (!fbb) {
        out.type = O::ArgMaxOptions;  // any non-NONE: only the builder needs the exact type
        return out;
      }
      if (op.type == ir::OpType::kARG_MAX) {
        out.type = O::ArgMaxOptions;
        out.table = tfl::CreateArgMaxOptions(*fbb, t).Union();
      } else if (op.type == ir::OpType::kARG_MIN) {
        out.type = O::ArgMinOptions;
        out.table = tfl::CreateArgMinOptions(*fbb, t).Union();
      } else {
        out.type = O::ShapeOptions;
        out.table = tfl::CreateShapeOptions(*fbb, t).Union();
      }
      return out;
    }
    case ir::OpType::kLEAKY_RELU:
    case ir::OpType::kGELU:
    case ir::OpType::kSQUEEZE:
    case ir::OpType::kELU: {
      ir::ActivationAttrs fallback;
      if (op.type == ir::OpType::kELU) fallback.alpha = 1.0f;  // TFLite's ELU: alpha fixed at 1
      QL_ASSIGN_OR_RETURN(auto a, AttrsAs<ir::ActivationAttrs>(op, fallback));
      ir::ActivationAttrs kept;
      const char* table = "";
      switch (op.type) {
        case ir::OpType::kLEAKY_RELU: kept.alpha = a.alpha, table = "LeakyReluOptions"; break;
        case ir::OpType::kGELU: kept.approximate = a.approximate, table = "GeluOptions"; break;
        case ir::OpType::kSQUEEZE: kept.squeeze_dims = a.squeeze_dims, table = "SqueezeOptions"; break;
        default: kept.alpha = 1.0f, table = "ELU (alpha is fixed at 1)"; break;
      }
      QL_RETURN_IF_ERROR(CheckKept(a, kept, op, table));
      if (op.type == ir::OpType::kELU) return out;
      if (op.type == ir::OpType::kLEAKY_RELU) {
        out.type = O::LeakyReluOptions;
        if (fbb) out.table = tfl::CreateLeakyReluOptions(*fbb, a.alpha).Union();
      } else if (op.type == ir::OpType::kGELU) {
        out.type = O::GeluOptions;
        if (fbb) out.table = tfl::CreateGeluOptions(*fbb, a.approximate).Union();
      } else {
        out.type = O::SqueezeOptions;
        if (fbb)
          out.table = tfl::CreateSqueezeOptions(
                          *fbb, a.squeeze_dims.empty() ? 0 : fbb->CreateVector(a.squeeze_dims)).Union();
      }
      return out;
    }
    case ir::OpType::kBATCH_MATMUL: {
      // The IR has no adjoint flags (the reader refuses adjoint BATCH_MATMUL): all false.
      QL_RETURN_IF_ERROR(CheckNoAttrs(op));
      out.type = O::BatchMatMulOptions;
      if (fbb) out.table = tfl::CreateBatchMatMulOptions(*fbb).Union();
      return out;
    }
    case ir::OpType::kCUSTOM:
      // custom_options are written by the caller; no builtin options.
      if (!std::holds_alternative<ir::CustomAttrs>(op.attrs)) QL_RETURN_IF_ERROR(CheckNoAttrs(op));
      return out;
    case ir::OpType::kPAD: return empty_table(O::PadOptions);
    case ir::OpType::kPADV2: return empty_table(O::PadV2Options);
    case ir::OpType::kEXP: return empty_table(O::ExpOptions);
    case ir::OpType::kEXPAND_DIMS: return empty_table(O::ExpandDimsOptions);
    case ir::OpType::kNEG: return empty_table(O::NegOptions);
    case ir::OpType::kSQUARE: return empty_table(O::SquareOptions);
    default:
      QL_RETURN_IF_ERROR(CheckNoAttrs(op));
      return out;
  }
}

}  // namespace

Result<tfl::TensorType> TfliteTypeFrom(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return tfl::TensorType::FLOAT32;
    case ir::DType::kFloat16: return tfl::TensorType::FLOAT16;
    case ir::DType::kFloat64: return tfl::TensorType::FLOAT64;
    case ir::DType::kInt8: return tfl::TensorType::INT8;
    case ir::DType::kUInt8: return tfl::TensorType::UINT8;
    case ir::DType::kInt16: return tfl::TensorType::INT16;
    case ir::DType::kInt32: return tfl::TensorType::INT32;
    case ir::DType::kInt64: return tfl::TensorType::INT64;
    case ir::DType::kBool: return tfl::TensorType::BOOL;
    case ir::DType::kString: return tfl::TensorType::STRING;
    case ir::DType::kUnknown: break;
  }
  return InvalidArgument("dtype {} has no TFLite tensor type", ir::DTypeName(t));
}

Status CheckBuiltinOptions(const ir::Graph& g, const ir::Op& op) {
  return MapOptions(g, op, nullptr).status();
}

BuiltinOptionsOut BuildBuiltinOptions(flatbuffers::FlatBufferBuilder& fbb, const ir::Graph& g,
                                      const ir::Op& op) {
  auto r = MapOptions(g, op, &fbb);
  return r.ok() ? *r : BuiltinOptionsOut{};
}

}  // namespace ql::tflite
