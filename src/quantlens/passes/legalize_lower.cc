// Lowering of quantlens-internal ops (and Keras-only attributes of builtin ops) to TFLite builtins,
// following the formulas Keras's TensorFlow backend computes, which are what TensorFlow's
// converter sees. Each lowering writes the original op's output tensor last, so consumers, graph
// outputs and layer_outputs stay as they were. Where the IR has no comparison / select op (which
// TensorFlow uses for some of these) an equivalent formula of builtins is used; the unit tests
// check each one against the internal op's kernel.
#include <algorithm>
#include <cmath>

#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/legalize_internal.h"

namespace ql::passes::legalize_detail {
namespace {

using ir::OpType;

// Appends the ops that replace one op; tensors it creates are tagged with that op's layer.
class Emitter {
 public:
  Emitter(ir::Graph& g, const ir::Op& src) : g_(g), layer_(src.layer) {
    if (!src.outputs.empty() && src.outputs[0] >= 0 && src.outputs[0] < static_cast<int>(g.tensors.size()))
      node_ = g.tensors[src.outputs[0]].layer_node;
  }

  int Tmp(const std::string& suffix, const ir::Shape& shape) {
    return AddFloatTensor(g_, layer_ + "/" + suffix, shape, layer_, node_);
  }
  Result<int> Const(const std::string& suffix, const ir::Shape& shape, std::vector<float> v) {
    return AddFloatConstant(g_, layer_ + "/" + suffix, shape, v, layer_);
  }
  Result<int> Scalar(const std::string& suffix, float v) { return Const(suffix, {}, {v}); }
  Result<int> I32(const std::string& suffix, std::vector<int32_t> v) {
    return AddInt32Constant(g_, layer_ + "/" + suffix, {static_cast<int64_t>(v.size())}, v, layer_);
  }
  // Appends op `type` writing `out` (an existing tensor).
  int To(OpType type, std::vector<int> in, int out, ir::Attrs attrs = {}) {
    ops_.push_back(NewOp(type, std::move(in), {out}, std::move(attrs), layer_));
    return out;
  }
  // Appends op `type` writing a new tensor of `shape`, named "<layer>/<suffix>".
  int Op(OpType type, std::vector<int> in, const ir::Shape& shape, const std::string& suffix,
         ir::Attrs attrs = {}) {
    return To(type, std::move(in), Tmp(suffix, shape), std::move(attrs));
  }
  std::vector<ir::Op> Take() { return std::move(ops_); }

 private:
  ir::Graph& g_;
  std::string layer_;
  int node_ = 0;
  std::vector<ir::Op> ops_;
};

ir::BinaryAttrs NoAct() { return ir::BinaryAttrs{}; }

// HARD_SIGMOID: clip(alpha * x + beta, 0, 1) as MUL, ADD, then MINIMUM(1) and MAXIMUM(0), the
// order of tf.clip_by_value. Keras 2 (alpha 0.2) computes exactly this; for Keras 3
// (relu6(x + 3) / 6) quantlens keeps the slope form the reader chose (alpha 1/6, beta 0.5).
Status LowerHardSigmoid(Emitter& e, const ir::Op& op, const ir::Shape& s) {
  const auto* a = std::get_if<ir::ActivationAttrs>(&op.attrs);
  if (!a) return InvalidModel("HARD_SIGMOID needs ActivationAttrs (alpha, beta)");
  QL_ASSIGN_OR_RETURN(int alpha, e.Scalar("alpha", a->alpha));
  QL_ASSIGN_OR_RETURN(int beta, e.Scalar("beta", a->beta));
  QL_ASSIGN_OR_RETURN(int one, e.Scalar("one", 1.0f));
  QL_ASSIGN_OR_RETURN(int zero, e.Scalar("zero", 0.0f));
  int t = e.Op(OpType::kMUL, {op.inputs[0], alpha}, s, "mul", NoAct());
  t = e.Op(OpType::kADD, {t, beta}, s, "add", NoAct());
  t = e.Op(OpType::kMINIMUM, {t, one}, s, "minimum");
  e.To(OpType::kMAXIMUM, {t, zero}, op.outputs[0]);
  return Status::Ok();
}

// SWISH (silu): x * sigmoid(x), as tf.nn.silu computes it.
Status LowerSwish(Emitter& e, const ir::Op& op, const ir::Shape& s) {
  const int sig = e.Op(OpType::kLOGISTIC, {op.inputs[0]}, s, "sigmoid");
  e.To(OpType::kMUL, {op.inputs[0], sig}, op.outputs[0], NoAct());
  return Status::Ok();
}

// SOFTPLUS: log(1 + exp(x)) in the overflow-free form relu(x) + log(1 + exp(-|x|)). Exact where
// Keras returns x (large x); for x below about -9 the result keeps an absolute error under 1e-7
// (log of a sum rounded to 1) where Keras's log1p keeps the relative error small.
Status LowerSoftplus(Emitter& e, const ir::Op& op, const ir::Shape& s) {
  const int x = op.inputs[0];
  QL_ASSIGN_OR_RETURN(int one, e.Scalar("one", 1.0f));
  const int pos = e.Op(OpType::kRELU, {x}, s, "relu");
  int t = e.Op(OpType::kABS, {x}, s, "abs");
  t = e.Op(OpType::kNEG, {t}, s, "neg");
  t = e.Op(OpType::kEXP, {t}, s, "exp");
  t = e.Op(OpType::kADD, {t, one}, s, "add", NoAct());
  t = e.Op(OpType::kLOG, {t}, s, "log");
  e.To(OpType::kADD, {pos, t}, op.outputs[0], NoAct());
  return Status::Ok();
}

// SOFTSIGN: x / (1 + |x|).
Status LowerSoftsign(Emitter& e, const ir::Op& op, const ir::Shape& s) {
  const int x = op.inputs[0];
  QL_ASSIGN_OR_RETURN(int one, e.Scalar("one", 1.0f));
  int t = e.Op(OpType::kABS, {x}, s, "abs");
  t = e.Op(OpType::kADD, {t, one}, s, "add", NoAct());
  e.To(OpType::kDIV, {x, t}, op.outputs[0], NoAct());
  return Status::Ok();
}

// SELU: scale * (x > 0 ? x : alpha * expm1(x)) without a select:
// scale * relu(x) + (scale * alpha) * elu(min(x, 0)); one term is always zero, so each element
// gets exactly the product the kernel computes.
Status LowerSelu(Emitter& e, const ir::Op& op, const ir::Shape& s) {
  constexpr float kAlpha = 1.6732632423543772848170429916717f;
  constexpr float kScale = 1.0507009873554804934193349852946f;
  const int x = op.inputs[0];
  QL_ASSIGN_OR_RETURN(int zero, e.Scalar("zero", 0.0f));
  QL_ASSIGN_OR_RETURN(int scale, e.Scalar("scale", kScale));
  QL_ASSIGN_OR_RETURN(int scale_alpha, e.Scalar("scale_alpha", kScale * kAlpha));
  const int pos = e.Op(OpType::kRELU, {x}, s, "relu");
  int neg = e.Op(OpType::kMINIMUM, {x, zero}, s, "minimum");
  neg = e.Op(OpType::kELU, {neg}, s, "elu");
  const int ps = e.Op(OpType::kMUL, {pos, scale}, s, "mul_pos", NoAct());
  const int ns = e.Op(OpType::kMUL, {neg, scale_alpha}, s, "mul_neg", NoAct());
  e.To(OpType::kADD, {ps, ns}, op.outputs[0], NoAct());
  return Status::Ok();
}

// LAYER_NORM as tf.nn.moments + tf.nn.batch_normalization:
//   mean = MEAN(x), var = MEAN(SQUARED_DIFFERENCE(x, mean)), inv = RSQRT(var + eps) [* gamma],
//   y = x * inv + (beta - mean * inv)   (or x * inv - mean * inv without beta).
Status LowerLayerNorm(Emitter& e, const ir::Graph& g, const ir::Op& op, const ir::Shape& s) {
  const auto* a = std::get_if<ir::NormAttrs>(&op.attrs);
  if (!a || a->axes.empty() || op.inputs.size() != 3)
    return InvalidModel("LAYER_NORM needs NormAttrs with axes and 3 inputs (x, gamma, beta)");
  const int rank = static_cast<int>(s.size());
  std::vector<int32_t> axes = a->axes;
  std::sort(axes.begin(), axes.end());
  ir::Shape reduced = s;
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 1 || axes[i] >= rank || (i > 0 && axes[i] == axes[i - 1]))
      return Unsupported("normalized axes must be distinct and not the batch axis (rank {})", rank);
    if (s[axes[i]] < 0) return Unsupported("normalized axis {} has unknown size", axes[i]);
    reduced[axes[i]] = 1;
  }
  // gamma / beta hold the normalized axes' values in order; to broadcast against x they take the
  // shape of x from the first normalized axis on, with 1 for axes not normalized.
  ir::Shape pshape;
  for (int d = axes[0]; d < rank; ++d)
    pshape.push_back(std::find(axes.begin(), axes.end(), d) != axes.end() ? s[d] : 1);
  auto param = [&](int slot, const char* name) -> Result<int> {
    const int t = op.inputs[slot];
    if (t == -1) return -1;
    if (!IsFloatConstant(g, t)) return Unsupported("{} must be a float32 constant", name);
    std::vector<float> v = FloatData(g.tensors[t]);
    if (static_cast<int64_t>(v.size()) != ir::ShapeProduct(pshape))
      return InvalidModel("{} has {} values, the normalized axes {}", name, v.size(), ir::ShapeToString(pshape));
    return e.Const(name, pshape, std::move(v));
  };
  QL_ASSIGN_OR_RETURN(int gamma, param(1, "gamma"));
  QL_ASSIGN_OR_RETURN(int beta, param(2, "beta"));
  QL_ASSIGN_OR_RETURN(int ax, e.I32("axes", axes));
  QL_ASSIGN_OR_RETURN(int eps, e.Scalar("epsilon", a->epsilon));
  ir::ReducerAttrs keep;
  keep.keep_dims = true;
  const int x = op.inputs[0];
  const int mean = e.Op(OpType::kMEAN, {x, ax}, reduced, "mean", keep);
  const int sq = e.Op(OpType::kSQUARED_DIFFERENCE, {x, mean}, s, "squared_difference");
  int inv = e.Op(OpType::kMEAN, {sq, ax}, reduced, "variance", keep);
  inv = e.Op(OpType::kADD, {inv, eps}, reduced, "add_eps", NoAct());
  inv = e.Op(OpType::kRSQRT, {inv}, reduced, "rsqrt");
  if (gamma != -1) inv = e.Op(OpType::kMUL, {inv, gamma}, s, "mul_gamma", NoAct());
  const ir::Shape& inv_shape = gamma != -1 ? s : reduced;
  const int xs = e.Op(OpType::kMUL, {x, inv}, s, "mul_x", NoAct());
  const int ms = e.Op(OpType::kMUL, {mean, inv}, inv_shape, "mul_mean", NoAct());
  if (beta != -1) {
    const int off = e.Op(OpType::kSUB, {beta, ms}, inv_shape, "offset", NoAct());
    e.To(OpType::kADD, {xs, off}, op.outputs[0], NoAct());
  } else {
    e.To(OpType::kSUB, {xs, ms}, op.outputs[0], NoAct());
  }
  return Status::Ok();
}

// Keras ReLU(max_value=m) (m != 6): relu then clip at m, as Keras 2's backend.relu does (its
// clip_by_value's lower bound 0 is a no-op after relu and is left out). A threshold has no
// builtin form: it needs a comparison op.
Status LowerKerasRelu(Emitter& e, const ir::Op& op, const ir::Shape& s, bool* changed) {
  const auto* a = std::get_if<ir::ActivationAttrs>(&op.attrs);
  if (!a) return Status::Ok();
  if (a->threshold != 0.0f || a->alpha != 0.0f)
    return Unsupported("ReLU with threshold {} (negative_slope {}) needs a comparison op, which "
                       "TFLite builtins cannot express without SELECT; remove the threshold",
                       a->threshold, a->alpha);
  *changed = true;
  QL_ASSIGN_OR_RETURN(int m, e.Scalar("max_value", a->max_value));
  const int r = e.Op(OpType::kRELU, {op.inputs[0]}, s, "relu");
  e.To(OpType::kMINIMUM, {r, m}, op.outputs[0]);
  return Status::Ok();
}

// SOFTMAX / LOG_SOFTMAX over an axis other than the last: TRANSPOSE it last, normalize, and
// TRANSPOSE back, as tf.nn.softmax(axis=k) does.
Status LowerSoftmaxAxis(Emitter& e, ir::Op& op, const ir::Shape& s, bool* changed) {
  auto* a = std::get_if<ir::SoftmaxAttrs>(&op.attrs);
  if (!a || a->axis == -1) return Status::Ok();
  const int rank = static_cast<int>(s.size());
  if (a->axis < 0 || a->axis >= rank) return InvalidModel("softmax axis {} outside rank {}", a->axis, rank);
  if (a->axis == rank - 1) {
    a->axis = -1;  // the same thing, spelled as TFLite does
    return Status::Ok();
  }
  *changed = true;
  std::vector<int32_t> perm(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) perm[d] = d;
  std::swap(perm[a->axis], perm[rank - 1]);
  ir::Shape ts = s;
  std::swap(ts[a->axis], ts[rank - 1]);
  QL_ASSIGN_OR_RETURN(int p, e.I32("perm", perm));
  ir::SoftmaxAttrs last = *a;
  last.axis = -1;
  int t = e.Op(OpType::kTRANSPOSE, {op.inputs[0], p}, ts, "transpose_in");
  t = e.Op(op.type, {t}, ts, op.type == OpType::kSOFTMAX ? "softmax" : "log_softmax", last);
  e.To(OpType::kTRANSPOSE, {t, p}, op.outputs[0]);
  return Status::Ok();
}

}  // namespace

Status LowerInternalOps(Ctx& c) {
  ir::Graph& g = c.g;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    ir::Op& op = g.ops[i];
    const OpType t = op.type;
    const bool internal = ir::OpTypeTfliteCode(t) < 0;
    const bool keras_relu = t == OpType::kRELU && std::holds_alternative<ir::ActivationAttrs>(op.attrs);
    const bool softmax = t == OpType::kSOFTMAX || t == OpType::kLOG_SOFTMAX;
    if (!internal && !keras_relu && !softmax) continue;
    if (t == OpType::kBATCH_NORM) continue;  // LowerBatchNorms' job
    if (op.inputs.empty() || op.outputs.size() != 1 || op.inputs[0] < 0 ||
        op.inputs[0] >= static_cast<int>(g.tensors.size()))
      return InvalidModel("{}expects an input and one output", Where(g, i));
    const ir::Tensor& in = g.tensors[op.inputs[0]];
    if (in.dtype != ir::DType::kFloat32)
      return Unsupported("{}only float32 can be lowered (input is {})", Where(g, i), ir::DTypeName(in.dtype));
    const ir::Shape s = g.tensors[op.outputs[0]].shape;
    if (keras_relu) {
      const auto& a = std::get<ir::ActivationAttrs>(op.attrs);
      if (a.threshold == 0.0f && a.alpha == 0.0f && !(a.max_value >= 0.0f)) {
        op.attrs = std::monostate{};  // plain relu: nothing Keras-specific left
        continue;
      }
    }
    const ir::Op src = op;  // a copy: the replacement below overwrites g.ops[i]
    Emitter e(g, src);
    bool changed = true;
    Status st;
    switch (t) {
      case OpType::kHARD_SIGMOID: st = LowerHardSigmoid(e, src, s); break;
      case OpType::kSWISH: st = LowerSwish(e, src, s); break;
      case OpType::kSOFTPLUS: st = LowerSoftplus(e, src, s); break;
      case OpType::kSOFTSIGN: st = LowerSoftsign(e, src, s); break;
      case OpType::kSELU: st = LowerSelu(e, src, s); break;
      case OpType::kLAYER_NORM: st = LowerLayerNorm(e, g, src, s); break;
      case OpType::kRELU:
        changed = false;
        st = LowerKerasRelu(e, src, s, &changed);
        break;
      case OpType::kSOFTMAX:
      case OpType::kLOG_SOFTMAX:
        changed = false;
        st = LowerSoftmaxAxis(e, g.ops[i], s, &changed);
        break;
      default:
        return Unsupported("{}no TFLite builtin form is known for {}", Where(g, i), ir::OpTypeName(t));
    }
    if (!st.ok()) return st.WithContext(Where(g, i));
    if (!changed) continue;
    std::vector<ir::Op> repl = e.Take();
    const int n = static_cast<int>(repl.size());
    c.report.actions.push_back(fmt::format("lowered {} {} to {} builtin op{}", OpName(g, i),
                                           ir::OpTypeName(t), n, n == 1 ? "" : "s"));
    ++c.report.ops_lowered;
    QL_RETURN_IF_ERROR(ReplaceOp(g, i, std::move(repl)));
    i += n - 1;
  }
  return Status::Ok();
}

}  // namespace ql::passes::legalize_detail
