// Batch normalization at inference is y = x * s + o per channel, with
//   s = gamma / sqrt(moving_variance + epsilon),  o = beta - moving_mean * s.
// FoldBatchNorms moves s and o into the weights and bias of the op producing x (what TensorFlow's
// converter reaches by lowering FusedBatchNormV3 to MUL + ADD and fusing both into the
// convolution); LowerBatchNorms turns the rest into that MUL + ADD.
//
// Arithmetic: s, o and the folded weights w * s and bias b * s + o are computed in double and
// rounded to float32 once. TensorFlow's converter rounds at every step (s, o, w * s, b * s, + o, each
// in float32), so its constants can differ from ours by a unit in the last place or two; ours are
// the correctly rounded values of the exact fold.
#include <cmath>

#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/legalize_internal.h"

namespace ql::passes::legalize_detail {
namespace {

using ir::OpType;

struct Affine {
  std::vector<double> scale, offset;
  int axis = 0;
};

// The per-channel scale and offset of BATCH_NORM op `bn`, checked.
Result<Affine> BatchNormAffine(const ir::Graph& g, int bn) {
  const ir::Op& op = g.ops[bn];
  const auto* a = std::get_if<ir::NormAttrs>(&op.attrs);
  if (!a || a->axes.size() != 1 || op.inputs.size() != 5 || op.outputs.size() != 1)
    return InvalidModel("{}BATCH_NORM needs 5 inputs (x, gamma, beta, mean, variance), one output "
                        "and one channel axis", Where(g, bn));
  const int x = op.inputs[0];
  if (x < 0 || x >= static_cast<int>(g.tensors.size()))
    return InvalidModel("{}input tensor {} is out of range", Where(g, bn), x);
  const ir::Shape& shape = g.tensors[x].shape;
  const int axis = a->axes[0];
  if (axis < 0 || axis >= static_cast<int>(shape.size()) || shape[axis] < 0)
    return Unsupported("{}channel axis {} of input shape {} is not a known dimension", Where(g, bn),
                       axis, ir::ShapeToString(shape));
  const int64_t c = shape[axis];
  std::vector<float> p[4];
  const char* names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
  for (int i = 0; i < 4; ++i) {
    const int t = op.inputs[1 + i];
    if (t == -1 && i < 2) continue;  // scale=False / center=False
    if (!IsFloatConstant(g, t))
      return Unsupported("{}{} must be a float32 constant", Where(g, bn), names[i]);
    p[i] = FloatData(g.tensors[t]);
    if (static_cast<int64_t>(p[i].size()) != c)
      return InvalidModel("{}{} has {} values for {} channels", Where(g, bn), names[i], p[i].size(), c);
  }
  Affine r;
  r.axis = axis;
  r.scale.resize(static_cast<size_t>(c));
  r.offset.resize(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    const double var_eps = static_cast<double>(p[3][i]) + static_cast<double>(a->epsilon);
    if (!(var_eps > 0) || !std::isfinite(var_eps))
      return InvalidModel("{}moving_variance[{}] + epsilon = {} is not a positive number; the "
                          "normalization would divide by zero", Where(g, bn), i, var_eps);
    double s = 1.0 / std::sqrt(var_eps);
    if (!p[0].empty()) s *= p[0][i];
    r.scale[i] = s;
    r.offset[i] = (p[1].empty() ? 0.0 : p[1][i]) - static_cast<double>(p[2][i]) * s;
  }
  return r;
}

// Where the op keeps its weights and bias, and which weight index is which output channel.
struct AffineSlots {
  int weights = 1;
  int bias = 2;
};

bool FoldableProducer(OpType t, AffineSlots* slots) {
  switch (t) {
    case OpType::kCONV_2D:
    case OpType::kDEPTHWISE_CONV_2D:
    case OpType::kFULLY_CONNECTED:
      *slots = {1, 2};
      return true;
    case OpType::kTRANSPOSE_CONV:  // (output_shape, weights, input, bias)
      *slots = {1, 3};
      return true;
    default: return false;
  }
}

ir::Activation FusedActivation(const ir::Op& op) {
  if (const auto* a = std::get_if<ir::ConvAttrs>(&op.attrs)) return a->activation;
  if (const auto* a = std::get_if<ir::FullyConnectedAttrs>(&op.attrs)) return a->activation;
  return ir::Activation::kNone;
}

// Output channel of flat weight index i: OHWI (CONV_2D, TRANSPOSE_CONV) and [out, in]
// (FULLY_CONNECTED) have it outermost, DEPTHWISE_CONV_2D's [1, H, W, O] innermost.
int64_t ChannelOf(OpType t, int64_t i, int64_t inner, int64_t channels) {
  return t == OpType::kDEPTHWISE_CONV_2D ? i % channels : i / inner;
}

// Folds BATCH_NORM `bn` into the op producing its input if every condition holds; returns whether
// it did. Conditions (those of TensorFlow's converter): the producer is a float conv / dense op
// with constant weights (and bias), no fused activation, its output read only by the batch norm
// and not a graph output, and the batch norm normalizes the channel axis (the last).
Result<bool> TryFold(Ctx& c, int bn, const UseDef& ud) {
  ir::Graph& g = c.g;
  const ir::Op& bop = g.ops[bn];
  if (bop.inputs.size() != 5 || bop.outputs.size() != 1) return false;
  const int x = bop.inputs[0];
  if (x < 0 || x >= static_cast<int>(g.tensors.size())) return false;
  const int p = ud.producer[x];
  AffineSlots slots;
  if (p < 0 || !FoldableProducer(g.ops[p].type, &slots)) return false;
  ir::Op& prod = g.ops[p];
  if (prod.outputs.size() != 1 || FusedActivation(prod) != ir::Activation::kNone) return false;
  if (NumUses(g, x) != 1 || IsGraphOutput(g, x)) return false;
  if (g.tensors[x].dtype != ir::DType::kFloat32) return false;
  const auto* na = std::get_if<ir::NormAttrs>(&bop.attrs);
  const int rank = static_cast<int>(g.tensors[x].shape.size());
  if (!na || na->axes.size() != 1 || na->axes[0] != rank - 1) return false;
  if (static_cast<int>(prod.inputs.size()) <= slots.weights) return false;
  const int w = prod.inputs[slots.weights];
  if (!IsFloatConstant(g, w)) return false;
  const bool has_bias = static_cast<int>(prod.inputs.size()) > slots.bias && prod.inputs[slots.bias] != -1;
  if (has_bias && !IsFloatConstant(g, prod.inputs[slots.bias])) return false;

  QL_ASSIGN_OR_RETURN(Affine aff, BatchNormAffine(g, bn));
  const int64_t channels = static_cast<int64_t>(aff.scale.size());
  const ir::Shape wshape = g.tensors[w].shape;
  const bool depthwise = prod.type == OpType::kDEPTHWISE_CONV_2D;
  if (wshape.empty() || (depthwise ? wshape.back() : wshape.front()) != channels) return false;
  if (prod.type == OpType::kFULLY_CONNECTED && wshape.size() != 2) return false;
  std::vector<float> wv = FloatData(g.tensors[w]);
  std::vector<float> bv(static_cast<size_t>(channels), 0.0f);
  if (has_bias) {
    bv = FloatData(g.tensors[prod.inputs[slots.bias]]);
    if (static_cast<int64_t>(bv.size()) != channels) return false;
  }
  const int64_t inner = channels > 0 ? static_cast<int64_t>(wv.size()) / channels : 0;
  for (int64_t i = 0; i < static_cast<int64_t>(wv.size()); ++i) {
    const int64_t o = ChannelOf(prod.type, i, inner, channels);
    wv[i] = static_cast<float>(static_cast<double>(wv[i]) * aff.scale[o]);
  }
  for (int64_t o = 0; o < channels; ++o)
    bv[o] = static_cast<float>(static_cast<double>(bv[o]) * aff.scale[o] + aff.offset[o]);

  const std::string layer = prod.layer;
  QL_ASSIGN_OR_RETURN(int nw, AddFloatConstant(g, layer + "/kernel", wshape, wv, layer));
  QL_ASSIGN_OR_RETURN(int nb, AddFloatConstant(g, layer + "/bias", {channels}, bv, layer));
  prod.inputs[slots.weights] = nw;  // new tensors: the old weights may be shared with another op
  if (static_cast<int>(prod.inputs.size()) <= slots.bias) prod.inputs.resize(slots.bias + 1, -1);
  prod.inputs[slots.bias] = nb;
  prod.outputs[0] = bop.outputs[0];
  const std::vector<std::string> hidden = DropLayerOutputs(g, x);
  c.report.actions.push_back(fmt::format("folded {} into {}{}", OpName(g, bn), OpName(g, p),
                                         has_bias ? "" : " (bias created)"));
  for (const std::string& l : hidden)
    if (l != g.ops[bn].layer && l != layer)
      c.report.actions.push_back(fmt::format("  output of {} is no longer materialized", l));
  ++c.report.batch_norms_folded;
  const int drop[] = {bn};
  QL_RETURN_IF_ERROR(RemoveOps(g, drop));
  return true;
}

}  // namespace

Status FoldBatchNorms(Ctx& c) {
  // One fold per sweep, then recompute uses: a fold changes which op produces the batch norm's
  // output, so a second batch norm right after the first can then fold into the same op.
  for (bool changed = true; changed;) {
    changed = false;
    const UseDef ud = BuildUseDef(c.g);
    for (int i = 0; i < static_cast<int>(c.g.ops.size()); ++i) {
      if (c.g.ops[i].type != OpType::kBATCH_NORM) continue;
      QL_ASSIGN_OR_RETURN(bool folded, TryFold(c, i, ud));
      if (folded) {
        changed = true;
        break;
      }
    }
  }
  return Status::Ok();
}

Status LowerBatchNorms(Ctx& c) {
  ir::Graph& g = c.g;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    if (g.ops[i].type != OpType::kBATCH_NORM) continue;
    QL_ASSIGN_OR_RETURN(Affine aff, BatchNormAffine(g, i));
    const ir::Op bop = g.ops[i];
    const int x = bop.inputs[0];
    const int y = bop.outputs[0];
    const int rank = static_cast<int>(g.tensors[x].shape.size());
    if (g.tensors[x].dtype != ir::DType::kFloat32)
      return Unsupported("{}only float32 batch normalization can be lowered (input is {})", Where(g, i),
                         ir::DTypeName(g.tensors[x].dtype));
    // Channel constants broadcast against the input: [C] for the last axis, else [C, 1, ..., 1].
    ir::Shape cshape = {static_cast<int64_t>(aff.scale.size())};
    for (int d = aff.axis + 1; d < rank; ++d) cshape.push_back(1);
    std::vector<float> s(aff.scale.size()), o(aff.offset.size());
    for (size_t k = 0; k < s.size(); ++k) {
      s[k] = static_cast<float>(aff.scale[k]);
      o[k] = static_cast<float>(aff.offset[k]);
    }
    QL_ASSIGN_OR_RETURN(int sc, AddFloatConstant(g, bop.layer + "/scale", cshape, s, bop.layer));
    QL_ASSIGN_OR_RETURN(int oc, AddFloatConstant(g, bop.layer + "/offset", cshape, o, bop.layer));
    const int mid = AddFloatTensor(g, bop.layer + "/mul", g.tensors[y].shape, bop.layer,
                                   g.tensors[y].layer_node);
    std::vector<ir::Op> repl;
    repl.push_back(NewOp(OpType::kMUL, {x, sc}, {mid}, ir::BinaryAttrs{}, bop.layer));
    repl.push_back(NewOp(OpType::kADD, {mid, oc}, {y}, ir::BinaryAttrs{}, bop.layer));
    QL_RETURN_IF_ERROR(ReplaceOp(g, i, std::move(repl)));
    c.report.actions.push_back(fmt::format("lowered {} to MUL + ADD (not foldable)", OpName(g, i)));
    ++c.report.batch_norms_lowered;
    ++i;  // skip the ADD just inserted
  }
  return Status::Ok();
}

}  // namespace ql::passes::legalize_detail
