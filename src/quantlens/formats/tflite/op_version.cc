// Operator versions as TensorFlow Lite 2.9's converter assigns them. The rules follow
// tensorflow/lite/tools/versioning/op_version.cc (GetBuiltinOperatorVersion) and the facts its
// OpSignature gathers (op_signature.cc) as of the 2.9 release; they are restated here from
// reading that source, op by op, in the order TFLite tests them (the first rule that applies
// wins, so the order matters: e.g. int16 MUL is version 4 even when its rescale is >= 1).
//
// What TFLite looks at, and how the IR gives it:
// - tensor types: ir::Tensor::dtype; an omitted optional input (-1) has no type (kUnknown), as
//   TFLite's kTfLiteNoType;
// - ranks and dims: ir::Tensor::shape (a file's open dims are -1 in the IR where TFLite sees the
//   1 its converter writes in `shape`; only ranks, whole-shape equality and channel counts
//   matter here);
// - per-channel quantization: the scale count compared with a dimension, as TFLite does;
// - builtin options: ir::Attrs.
// TFLite 2.9 decides "hybrid" (float activations, int8 weights) from the types alone: it does not
// check that the weights are constant, so neither does this.
#include "quantlens/formats/tflite/op_version.h"

#include <algorithm>
#include <map>
#include <utility>
#include <variant>

namespace ql::tflite {
namespace {

using ir::DType;
using ir::OpType;

// The parts of one operand TFLite's rules read.
struct Spec {
  DType type = DType::kUnknown;  // kUnknown: omitted optional operand (kTfLiteNoType)
  const ir::Tensor* tensor = nullptr;

  size_t rank() const { return tensor ? tensor->shape.size() : 0; }
};

class Signature {
 public:
  Signature(const ir::Graph& g, const ir::Op& op) : op_(op) {
    for (int i : op.inputs) inputs_.push_back(SpecOf(g, i));
    for (int i : op.outputs) outputs_.push_back(SpecOf(g, i));
  }

  size_t num_inputs() const { return inputs_.size(); }
  // Missing operands read as "no type": TFLite would index out of range instead; a graph that
  // lacks a required operand fails verification long before its version matters.
  const Spec& in(size_t i) const { return i < inputs_.size() ? inputs_[i] : kNone; }
  const Spec& out(size_t i) const { return i < outputs_.size() ? outputs_[i] : kNone; }
  DType in_type(size_t i) const { return in(i).type; }
  DType out_type(size_t i) const { return out(i).type; }

  // TFLite's NeedBroadcastForBinaryInputs: the first two inputs' shapes differ. TFLite compares
  // the files' `shape` fields, where its converter writes an open dimension as 1 (the -1 is in
  // shape_signature only), so an open dimension counts as 1 here too.
  bool NeedsBroadcast() const {
    if (inputs_.size() < 2) return false;
    return FileShape(inputs_[0].tensor) != FileShape(inputs_[1].tensor);
  }
  // TFLite's GetInputMaxDims: the largest rank among all inputs.
  size_t MaxInputRank() const {
    size_t r = 0;
    for (const Spec& s : inputs_) r = std::max(r, s.rank());
    return r;
  }

  template <typename A>
  const A* attrs() const { return std::get_if<A>(&op_.attrs); }

 private:
  static ir::Shape FileShape(const ir::Tensor* t) {
    ir::Shape s = t ? t->shape : ir::Shape();
    for (int64_t& d : s) d = d < 0 ? 1 : d;
    return s;
  }
  static Spec SpecOf(const ir::Graph& g, int index) {
    Spec s;
    if (index >= 0 && static_cast<size_t>(index) < g.tensors.size()) {
      s.tensor = &g.tensors[static_cast<size_t>(index)];
      s.type = s.tensor->dtype;
    }
    return s;
  }

  static inline const Spec kNone{};
  const ir::Op& op_;
  std::vector<Spec> inputs_, outputs_;
};

// Dimension `d` of `t`'s shape, or nullopt-like -2 when the rank is too small (TFLite reads past
// the shape there; the comparison it feeds then simply fails).
int64_t Dim(const ir::Tensor* t, size_t d) {
  if (t == nullptr || d >= t->shape.size()) return -2;
  return t->shape[d];
}

// TFLite's per-channel test for filters and QUANTIZE/DEQUANTIZE: a non-empty scale list whose
// length equals dimension `dim` of the tensor.
bool ScaleCountMatchesDim(const ir::Tensor* t, size_t dim) {
  if (t == nullptr || t->quant.scale.empty()) return false;
  return static_cast<int64_t>(t->quant.scale.size()) == Dim(t, dim);
}

// QUANTIZE output / DEQUANTIZE input: more than one scale, as many as the quantized dimension.
bool PerAxisAlongQuantizedDim(const ir::Tensor* t) {
  if (t == nullptr || t->quant.scale.size() <= 1 || t->quant.axis < 0) return false;
  return ScaleCountMatchesDim(t, static_cast<size_t>(t->quant.axis));
}

bool Int8Or(DType t, DType other) { return t == DType::kInt8 || t == other; }

// The hybrid pattern (float input, int8 weights at `weights`, float output).
bool IsHybrid(const Signature& s, size_t weights) {
  return s.in_type(0) == DType::kFloat32 && s.in_type(weights) == DType::kInt8 &&
         s.out_type(0) == DType::kFloat32;
}

int Conv2dVersion(const Signature& s) {
  const ir::Tensor* input = s.in(0).tensor;
  const ir::Tensor* filter = s.in(1).tensor;
  // Grouped convolution: the filter has fewer input channels than the input (checked only when
  // the input's shape is known). An unknown (-1) input channel count is not taken as grouping.
  if (input != nullptr && !input->shape.empty()) {
    const int64_t in_ch = Dim(input, 3), filter_ch = Dim(filter, 3);
    if (in_ch >= 0 && in_ch != filter_ch) return 6;
  }
  // TFLite 2.9 tests int16 input AND int16 filter (and the second output, which CONV_2D never
  // has) for version 4; int16x8 convolutions have int8 filters, so they never match this and fall
  // through to version 1 (or 6). Kept exactly as TFLite 2.9's versioning has it (see op_version.h
  // on int16x8 files).
  if (s.in_type(0) == DType::kInt16 && s.in_type(1) == DType::kInt16 &&
      s.out_type(1) == DType::kInt16)
    return 4;
  if (s.in_type(0) == DType::kInt8 && s.in_type(1) == DType::kInt8 && s.out_type(0) == DType::kInt8)
    return 3;
  if (IsHybrid(s, 1)) {
    // Per channel: one scale per output channel (filter dim 0).
    return ScaleCountMatchesDim(filter, 0) ? 5 : 2;
  }
  return 1;
}

int DepthwiseConv2dVersion(const Signature& s) {
  // Same int16 test as CONV_2D (int16 filter required, so int16x8 never matches).
  if (s.in_type(0) == DType::kInt16 && s.in_type(1) == DType::kInt16 &&
      s.out_type(1) == DType::kInt16)
    return 5;
  if (IsHybrid(s, 1)) {
    // Per channel: one scale per output channel (filter dim 3 of [1, H, W, C*M]).
    return ScaleCountMatchesDim(s.in(1).tensor, 3) ? 6 : 4;
  }
  if (s.in_type(0) == DType::kInt8 && s.in_type(1) == DType::kInt8 && s.out_type(0) == DType::kInt8)
    return 3;
  if (const auto* a = s.attrs<ir::ConvAttrs>())
    if (a->dilation_w != 1 || a->dilation_h != 1) return 2;
  return 1;
}

int FullyConnectedVersion(const Signature& s) {
  // Version 8 (sparse weights) and 2 (shuffled 4x16 int8 weights) need weight formats the IR
  // does not represent; the reader refuses both, so no IR graph can ask for them.
  // Int16 needs int16 weights too (TFLite's test), so int16x8 does not match.
  if (s.in_type(0) == DType::kInt16 && s.in_type(1) == DType::kInt16 &&
      s.out_type(0) == DType::kInt16)
    return 7;
  // Exactly two inputs (no bias operand at all; an omitted bias written as -1 still counts).
  if (s.num_inputs() == 2) return 6;
  const auto* a = s.attrs<ir::FullyConnectedAttrs>();
  if (a != nullptr && a->keep_num_dims) return 5;
  if (s.in_type(0) == DType::kInt8 && s.in_type(1) == DType::kInt8 && s.out_type(0) == DType::kInt8)
    return 4;
  if (IsHybrid(s, 1)) return (a != nullptr && a->asymmetric_quantize_inputs) ? 9 : 3;
  return 1;
}

int MulVersion(const Signature& s) {
  if (s.in_type(0) == DType::kInt64) return 5;
  if (s.in_type(0) == DType::kInt16) return 4;
  // Version 3: quantized with input1_scale * input2_scale / output_scale >= 1 (first scale of
  // each; TFLite computes it in float).
  const ir::Tensor* a = s.in(0).tensor;
  const ir::Tensor* b = s.in(1).tensor;
  const ir::Tensor* o = s.out(0).tensor;
  if (s.num_inputs() >= 2 && a && b && o && !a->quant.scale.empty() && !b->quant.scale.empty() &&
      !o->quant.scale.empty()) {
    const float sa = a->quant.scale[0], sb = b->quant.scale[0], so = o->quant.scale[0];
    if (sa != 0.0f && sb != 0.0f && so != 0.0f && sa * sb / so >= 1.0f) return 3;
  }
  if (s.in_type(0) == DType::kInt8) return 2;
  return 1;
}

// int16 in and out -> `v16`, int8 in -> 2, else 1 (pools, TANH, LOGISTIC).
int Int16InOutOrInt8(const Signature& s, int v16) {
  if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) return v16;
  if (s.in_type(0) == DType::kInt8) return 2;
  return 1;
}

// int16 in -> 3, int8 in -> 2, else 1 (CONCATENATION, SOFTMAX, MEAN, REDUCE_MAX/MIN, RELU6).
int Int16OrInt8(const Signature& s) {
  if (s.in_type(0) == DType::kInt16) return 3;
  if (s.in_type(0) == DType::kInt8) return 2;
  return 1;
}

int ByRules(const Signature& s, OpType type) {
  switch (type) {
    case OpType::kCONV_2D: return Conv2dVersion(s);
    case OpType::kDEPTHWISE_CONV_2D: return DepthwiseConv2dVersion(s);
    case OpType::kFULLY_CONNECTED: return FullyConnectedVersion(s);
    case OpType::kMUL: return MulVersion(s);

    case OpType::kGATHER: {
      const auto* a = s.attrs<ir::AxisAttrs>();
      if (a != nullptr && a->batch_dims != 0) return 5;
      if (s.in_type(0) == DType::kInt16) return 4;
      if (s.in_type(0) == DType::kBool) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }

    case OpType::kMAX_POOL_2D:
    case OpType::kAVERAGE_POOL_2D:
    case OpType::kTANH:
    case OpType::kLOGISTIC:
      return Int16InOutOrInt8(s, 3);

    case OpType::kTRANSPOSE:
      if (s.in_type(0) == DType::kInt16) return 5;
      if (s.in(0).rank() > 4) return 4;
      if (s.in_type(0) == DType::kBool) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    case OpType::kTRANSPOSE_CONV:
      // Inputs: output shape, weights, input, optional bias. A present bias is version 3.
      if (s.num_inputs() == 4 && s.in_type(3) != DType::kUnknown) return 3;
      if (s.in_type(1) == DType::kInt8) return 2;
      return 1;

    case OpType::kSPLIT:
      // Input 0 is the axis; the data is input 1.
      if (s.in_type(1) == DType::kInt16) return 4;
      if (s.in_type(1) == DType::kInt32) return 3;
      if (s.in_type(1) == DType::kInt8) return 2;
      return 1;

    case OpType::kSLICE:
      if (s.in(0).rank() > 4) return 5;
      if (s.in_type(0) == DType::kInt16) return 4;
      if (s.in_type(0) == DType::kString) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    case OpType::kUNPACK:
      if (Int8Or(s.in_type(0), DType::kUInt8)) return 2;
      if (s.in_type(0) == DType::kBool) return 3;
      if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) return 4;
      return 1;

    case OpType::kDEQUANTIZE:
      if (s.in_type(0) == DType::kInt16 || s.in_type(0) == DType::kFloat16) return 3;
      if (s.in_type(0) == DType::kInt8) return PerAxisAlongQuantizedDim(s.in(0).tensor) ? 5 : 2;
      return 1;

    case OpType::kQUANTIZE:
      if (PerAxisAlongQuantizedDim(s.out(0).tensor)) return 3;
      if (s.out_type(0) == DType::kInt16) return 2;
      return 1;

    case OpType::kFLOOR_DIV:
      return s.in_type(0) == DType::kFloat32 ? 2 : 1;

    case OpType::kABS:
      // int16: version 3 when quantized, 4 for plain int16 integers. (TFLite tests whether the
      // tensor has a quantization table at all; files from its converter always carry one, the
      // IR keeps only whether it holds parameters.)
      if (s.in_type(0) == DType::kInt16) return (s.in(0).tensor && !s.in(0).tensor->quant.empty()) ? 3 : 4;
      if (Int8Or(s.in_type(0), DType::kUInt8)) return 2;
      return 1;

    case OpType::kRELU:
      if (s.in_type(0) == DType::kInt16) return 3;
      if (Int8Or(s.in_type(0), DType::kUInt8)) return 2;
      return 1;

    case OpType::kSTRIDED_SLICE: {
      const auto* a = s.attrs<ir::StridedSliceAttrs>();
      if (a != nullptr && (a->ellipsis_mask != 0 || a->new_axis_mask != 0)) return 6;
      if (s.in_type(0) == DType::kString) return 5;
      if (s.in(0).rank() > 4) return 4;
      if (s.in_type(0) == DType::kBool) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }

    case OpType::kRESIZE_BILINEAR: {
      if (s.in_type(0) == DType::kInt16) return 4;
      const auto* a = s.attrs<ir::ResizeAttrs>();
      if (a != nullptr && a->half_pixel_centers) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }
    case OpType::kRESIZE_NEAREST_NEIGHBOR: {
      if (s.in_type(0) == DType::kInt16) return 4;
      const auto* a = s.attrs<ir::ResizeAttrs>();
      if (a != nullptr && (a->half_pixel_centers || a->align_corners)) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }

    case OpType::kMAXIMUM:
    case OpType::kMINIMUM:
      if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) return 4;
      if (s.NeedsBroadcast() && s.MaxInputRank() > 4) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    case OpType::kPACK:
      if (s.in_type(0) == DType::kInt8) return 2;
      if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) return 3;
      return 1;

    case OpType::kTILE:
      if (s.in_type(0) == DType::kInt8) return 3;
      if (s.in_type(0) == DType::kString) return 2;
      return 1;

    case OpType::kSQUEEZE:
      return s.in_type(0) == DType::kString ? 2 : 1;

    case OpType::kADD: {
      if (s.in_type(0) == DType::kInt64) return 4;
      if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) {
        const auto* a = s.attrs<ir::BinaryAttrs>();
        if (a != nullptr && !a->pot_scale_int16) return 3;
      }
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }

    case OpType::kSUB: {
      if (s.in_type(0) == DType::kInt16 && s.out_type(0) == DType::kInt16) {
        const auto* a = s.attrs<ir::BinaryAttrs>();
        if (a != nullptr && !a->pot_scale_int16) return 5;
      }
      if (s.in_type(0) == DType::kInt64) return 4;
      if (s.NeedsBroadcast() && s.MaxInputRank() > 4) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;
    }

    case OpType::kGATHER_ND:
      if (s.in_type(0) == DType::kInt16) return 3;
      if (s.in_type(0) == DType::kString) return 2;
      return 1;

    case OpType::kDIV:
      return (s.NeedsBroadcast() && s.MaxInputRank() > 4) ? 2 : 1;

    case OpType::kLEAKY_RELU:
      // Only int16 has its own version; int8 and uint8 LEAKY_RELU are version 1.
      return s.in_type(0) == DType::kInt16 ? 2 : 1;

    case OpType::kBATCH_MATMUL:
      // Version 4 (hybrid with asymmetric_quantize_inputs) needs an option the IR does not carry
      // for BATCH_MATMUL; the hybrid without it stays version 1.
      if (s.in_type(0) == DType::kInt16) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    case OpType::kPAD:
    case OpType::kPADV2:
      if (s.in(0).rank() > 4) return 4;
      if (s.in_type(0) == DType::kInt16) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    case OpType::kCONCATENATION:
    case OpType::kSOFTMAX:
    case OpType::kMEAN:
    case OpType::kREDUCE_MAX:
    case OpType::kREDUCE_MIN:
    case OpType::kRELU6:
      return Int16OrInt8(s);

    case OpType::kARG_MAX:
    case OpType::kARG_MIN:
      if (s.in_type(0) == DType::kBool) return 3;
      if (s.in_type(0) == DType::kInt8) return 2;
      return 1;

    // int8 input -> 2 (uint8 and int16 stay 1).
    case OpType::kSUM:
    case OpType::kLOG_SOFTMAX:
    case OpType::kRSQRT:
    case OpType::kSQUARED_DIFFERENCE:
      return s.in_type(0) == DType::kInt8 ? 2 : 1;

    case OpType::kCAST:
      // TFLite's versions 4 (uint16) and 2 (uint32) need types the IR does not have.
      if (s.in_type(0) == DType::kInt8 || s.out_type(0) == DType::kInt8) return 3;
      return 1;

    case OpType::kGELU:
      return Int8Or(s.in_type(0), DType::kUInt8) ? 2 : 1;

    // TFLite 2.9 has a single version of these whatever the types.
    case OpType::kCUSTOM:
    case OpType::kELU:
    case OpType::kEXP:
    case OpType::kEXPAND_DIMS:
    case OpType::kFLOOR:
    case OpType::kHARD_SWISH:
    case OpType::kLOG:
    case OpType::kNEG:
    case OpType::kPOW:
    case OpType::kPRELU:
    case OpType::kRELU_N1_TO_1:
    case OpType::kRESHAPE:
    case OpType::kSHAPE:
    case OpType::kSQRT:
    case OpType::kSQUARE:
      return 1;

    // quantlens-internal operations have no TFLite version; 1 keeps writers' arithmetic simple.
    case OpType::kBATCH_NORM:
    case OpType::kHARD_SIGMOID:
    case OpType::kLAYER_NORM:
    case OpType::kSELU:
    case OpType::kSOFTPLUS:
    case OpType::kSOFTSIGN:
    case OpType::kSWISH:
    case OpType::kNumOpTypes:
      return 1;
  }
  return 1;
}

}  // namespace

int ComputeOpVersion(const ir::Graph& g, const ir::Op& op) {
  if (ir::OpTypeTfliteCode(op.type) < 0) return 1;
  return ByRules(Signature(g, op), op.type);
}

std::vector<int> ComputeOperatorCodeVersions(const ir::Graph& g) {
  // One OperatorCode per builtin, or per custom code for CUSTOM; starts at 1 and only goes up.
  std::map<std::pair<OpType, std::string>, int> code_version;
  std::vector<std::pair<OpType, std::string>> keys;
  keys.reserve(g.ops.size());
  for (const ir::Op& op : g.ops) {
    auto key = std::make_pair(op.type, op.type == OpType::kCUSTOM ? op.custom_code : std::string());
    int& v = code_version.try_emplace(key, 1).first->second;
    v = std::max(v, ComputeOpVersion(g, op));
    keys.push_back(std::move(key));
  }
  std::vector<int> out;
  out.reserve(keys.size());
  for (const auto& key : keys) out.push_back(code_version.at(key));
  return out;
}

}  // namespace ql::tflite
