// LegalizeForTflite's driver and the small passes: constant folding, identity removal,
// activation fusion and tensor naming. Batch norm: legalize_batchnorm.cc; lowering of internal
// ops: legalize_lower.cc. The rules and where they differ from TensorFlow's converter:
// docs/conversion_passes.md.
#include "quantlens/passes/legalize.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "quantlens/passes/graph_edit.h"
#include "quantlens/passes/legalize_internal.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::passes {
namespace legalize_detail {

using ir::OpType;


namespace {

// The Keras class an internal op comes from, where its type says so.
const char* KerasClassOf(const ir::Op& op) {
  switch (op.type) {
    case OpType::kBATCH_NORM: return "BatchNormalization";
    case OpType::kLAYER_NORM: return "LayerNormalization";
    case OpType::kRELU: return std::holds_alternative<ir::ActivationAttrs>(op.attrs) ? "ReLU" : nullptr;
    case OpType::kSOFTMAX: return std::holds_alternative<ir::SoftmaxAttrs>(op.attrs) ? "Softmax" : nullptr;
    default: return nullptr;
  }
}

}  // namespace

std::string Where(const ir::Graph& g, int op_index) {
  std::string s = g.source_path.empty() ? "" : g.source_path + ": ";
  if (op_index < 0 || op_index >= static_cast<int>(g.ops.size())) return s;
  const ir::Op& op = g.ops[op_index];
  if (op.layer.empty()) return s + g.OpLabel(op_index) + ": ";
  const char* cls = KerasClassOf(op);
  if (cls) return s + fmt::format("layer '{}' ({}): ", op.layer, cls);
  return s + fmt::format("layer '{}' (op {}): ", op.layer, ir::OpTypeName(op.type));
}

std::string OpName(const ir::Graph& g, int op_index) {
  if (op_index >= 0 && op_index < static_cast<int>(g.ops.size()) && !g.ops[op_index].layer.empty())
    return g.ops[op_index].layer;
  return g.OpLabel(op_index);
}

bool IsFloatConstant(const ir::Graph& g, int t) {
  if (t < 0 || t >= static_cast<int>(g.tensors.size())) return false;
  const ir::Tensor& x = g.tensors[t];
  return x.is_constant && x.dtype == ir::DType::kFloat32 && x.quant.empty();
}

std::vector<std::string> DropLayerOutputs(ir::Graph& g, int tensor) {
  std::vector<std::string> dropped;
  std::vector<ir::LayerOutput> kept;
  for (ir::LayerOutput& lo : g.layer_outputs) {
    if (lo.tensor == tensor) dropped.push_back(lo.layer);
    else kept.push_back(std::move(lo));
  }
  g.layer_outputs = std::move(kept);
  return dropped;
}

// ---- constant folding -------------------------------------------------------------------------

namespace {

bool AllInputsConstant(const ir::Graph& g, const ir::Op& op) {
  bool any = false;
  for (int t : op.inputs) {
    if (t == -1) continue;
    if (t < 0 || t >= static_cast<int>(g.tensors.size()) || !g.tensors[t].is_constant) return false;
    any = true;
  }
  return any;
}

// Runs op `i` alone on its constant inputs; on success its outputs become constants. Returns false
// (graph unchanged) when the op cannot be run here: folding is an optimization, and the op stays.
bool FoldOne(Ctx& c, int i) {
  ir::Graph& g = c.g;
  const ir::Op& op = g.ops[i];
  ir::Graph sub;
  sub.source_path = g.source_path;
  ir::Op sop = op;
  for (int& t : sop.inputs) {
    if (t == -1) continue;
    sub.tensors.push_back(g.tensors[t]);
    t = static_cast<int>(sub.tensors.size()) - 1;
  }
  for (int& t : sop.outputs) {
    if (t < 0 || t >= static_cast<int>(g.tensors.size())) return false;
    const int64_t n = ir::ShapeProduct(g.tensors[t].shape);
    if (n > c.opts.max_folded_elements) return false;
    sub.tensors.push_back(g.tensors[t]);
    t = static_cast<int>(sub.tensors.size()) - 1;
    sub.outputs.push_back(t);
  }
  sub.ops.push_back(std::move(sop));
  rt::InterpreterOptions io;
  io.max_arena_bytes = c.opts.max_folded_elements * 16;
  auto interp = rt::Interpreter::Create(sub, io);
  if (!interp.ok() || !(*interp)->Invoke().ok()) return false;
  std::vector<std::pair<ir::Shape, std::vector<uint8_t>>> results;
  for (int j = 0; j < (*interp)->num_outputs(); ++j) {
    const rt::TensorRef& r = (*interp)->output(j);
    if (r.num_elements() > c.opts.max_folded_elements || !r.data) return false;
    const auto* p = static_cast<const uint8_t*>(r.data);
    results.emplace_back(r.shape, std::vector<uint8_t>(p, p + r.bytes()));
  }
  for (size_t j = 0; j < results.size(); ++j) {
    ir::Tensor& t = g.tensors[op.outputs[j]];
    t.shape = std::move(results[j].first);
    t.data = std::move(results[j].second);
    t.is_constant = true;
    t.shape_declared = true;
  }
  return true;
}

}  // namespace

Status FoldConstants(Ctx& c) {
  ir::Graph& g = c.g;
  std::vector<int> folded;
  // One forward sweep: a folded output is constant for the ops after it.
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const ir::Op& op = g.ops[i];
    if (op.type == OpType::kCUSTOM || op.outputs.empty() || !AllInputsConstant(g, op)) continue;
    bool output_is_graph_output = false;
    for (int t : op.outputs) output_is_graph_output = output_is_graph_output || IsGraphOutput(g, t);
    if (output_is_graph_output) continue;  // a model output stays computed, as in TFLite files
    if (!FoldOne(c, i)) continue;
    c.report.actions.push_back(fmt::format("folded constant {} {}", OpName(g, i), ir::OpTypeName(op.type)));
    ++c.report.constants_folded;
    folded.push_back(i);
  }
  return RemoveOps(g, folded);
}

// ---- identities -------------------------------------------------------------------------------

namespace {

// Same static shape, where an unknown dimension may only be the batch (dim 0) of both.
bool SameShape(const ir::Tensor& a, const ir::Tensor& b) {
  if (!a.shape_declared || !b.shape_declared || a.shape != b.shape) return false;
  for (size_t d = 1; d < a.shape.size(); ++d)
    if (a.shape[d] < 0) return false;
  return true;
}

template <typename T>
bool ConstantIs(const ir::Tensor& t, const std::function<bool(size_t, T)>& pred) {
  if (!t.is_constant || ir::DTypeSize(t.dtype) != sizeof(T) || t.data.size() % sizeof(T)) return false;
  const size_t n = t.data.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
    if (!pred(i, v)) return false;
  }
  return true;
}

bool IntConstantIs(const ir::Tensor& t, const std::function<bool(size_t, int64_t)>& pred) {
  if (t.dtype == ir::DType::kInt32)
    return ConstantIs<int32_t>(t, [&](size_t i, int32_t v) { return pred(i, v); });
  if (t.dtype == ir::DType::kInt64) return ConstantIs<int64_t>(t, pred);
  return false;
}

ir::Activation* ActivationSlot(ir::Op& op, bool create);

// Whether op `i` passes its first input through unchanged (same shape, same values).
bool IsIdentity(ir::Graph& g, int i) {
  ir::Op& op = g.ops[i];
  const int nt = static_cast<int>(g.tensors.size());
  if (op.outputs.size() != 1 || op.inputs.empty()) return false;
  for (int t : op.inputs)
    if (t < -1 || t >= nt) return false;
  for (int t : op.outputs)
    if (t < 0 || t >= nt) return false;
  if (op.inputs[0] < 0) return false;
  const ir::Tensor& x = g.tensors[op.inputs[0]];
  const ir::Tensor& y = g.tensors[op.outputs[0]];
  if (x.dtype != y.dtype && op.type != OpType::kCAST) return false;
  auto input = [&](size_t k) -> const ir::Tensor* {
    return k < op.inputs.size() && op.inputs[k] >= 0 ? &g.tensors[op.inputs[k]] : nullptr;
  };
  switch (op.type) {
    case OpType::kRESHAPE:
    case OpType::kSQUEEZE:
    case OpType::kEXPAND_DIMS:
      return SameShape(x, y);
    case OpType::kCAST:
      return x.dtype == y.dtype && x.quant.empty() && y.quant.empty();
    case OpType::kTRANSPOSE: {
      const ir::Tensor* perm = input(1);
      return perm && SameShape(x, y) &&
             IntConstantIs(*perm, [](size_t k, int64_t v) { return v == static_cast<int64_t>(k); });
    }
    case OpType::kPAD:
    case OpType::kPADV2: {
      const ir::Tensor* pads = input(1);
      return pads && SameShape(x, y) && IntConstantIs(*pads, [](size_t, int64_t v) { return v == 0; });
    }
    case OpType::kCONCATENATION: {
      ir::Activation* act = ActivationSlot(op, false);
      return op.inputs.size() == 1 && (!act || *act == ir::Activation::kNone) && SameShape(x, y);
    }
    case OpType::kMUL: {
      // x * 1 with a constant of ones that does not broadcast x to a larger shape.
      ir::Activation* act = ActivationSlot(op, false);
      const ir::Tensor* k = input(1);
      return (!act || *act == ir::Activation::kNone) && k && k->dtype == ir::DType::kFloat32 &&
             k->quant.empty() && x.quant.empty() && SameShape(x, y) &&
             ConstantIs<float>(*k, [](size_t, float v) { return v == 1.0f; });
    }
    default: return false;
  }
}

}  // namespace

Status RemoveIdentities(Ctx& c) {
  ir::Graph& g = c.g;
  std::vector<int> removed;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    if (!IsIdentity(g, i)) continue;
    const int x = g.ops[i].inputs[0];
    const int y = g.ops[i].outputs[0];
    // A model output must stay an op's output, distinct from the inputs and other outputs.
    if (IsGraphOutput(g, y) && (IsGraphInput(g, x) || IsGraphOutput(g, x) || g.tensors[x].is_constant))
      continue;
    QL_RETURN_IF_ERROR(ReplaceAllUses(g, y, x, i).status());
    c.report.actions.push_back(fmt::format("removed identity {} {}", OpName(g, i),
                                           ir::OpTypeName(g.ops[i].type)));
    ++c.report.identities_removed;
    removed.push_back(i);
  }
  return RemoveOps(g, removed);
}

// ---- activation fusion ------------------------------------------------------------------------

namespace {

// The fused-activation field of ops whose TFLite kernels apply one and which TensorFlow's
// converter fuses into (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB, MUL, DIV,
// AVERAGE_POOL_2D, MAX_POOL_2D); null for others. With `create`, attrs left empty by a reader are
// made the op's attribute struct first.
ir::Activation* ActivationSlot(ir::Op& op, bool create) {
  auto slot = [&](auto tag) -> ir::Activation* {
    using A = decltype(tag);
    if (std::holds_alternative<std::monostate>(op.attrs) && create) op.attrs = A{};
    A* a = std::get_if<A>(&op.attrs);
    return a ? &a->activation : nullptr;
  };
  switch (op.type) {
    case OpType::kCONV_2D:
    case OpType::kDEPTHWISE_CONV_2D: return slot(ir::ConvAttrs{});
    case OpType::kFULLY_CONNECTED: return slot(ir::FullyConnectedAttrs{});
    case OpType::kADD:
    case OpType::kSUB:
    case OpType::kMUL:
    case OpType::kDIV: return slot(ir::BinaryAttrs{});
    case OpType::kAVERAGE_POOL_2D:
    case OpType::kMAX_POOL_2D: return slot(ir::PoolAttrs{});
    case OpType::kCONCATENATION: return slot(ir::AxisAttrs{});  // identity check only, never fused
    default: return nullptr;
  }
}

bool FusesInto(OpType t) { return t != OpType::kCONCATENATION; }

// The fused activation an activation op can become. TANH is left alone: TFLite's CONV_2D, ADD,
// ... kernels clamp only for the RELU family and ignore (or refuse) a fused TANH.
bool AsFused(const ir::Op& op, ir::Activation* a) {
  if (!std::holds_alternative<std::monostate>(op.attrs)) return false;  // Keras RELU options
  switch (op.type) {
    case OpType::kRELU: *a = ir::Activation::kRelu; return true;
    case OpType::kRELU6: *a = ir::Activation::kRelu6; return true;
    case OpType::kRELU_N1_TO_1: *a = ir::Activation::kReluN1To1; return true;
    default: return false;
  }
}

}  // namespace

Status FuseActivations(Ctx& c) {
  ir::Graph& g = c.g;
  UseDef ud = BuildUseDef(g);
  std::vector<int> removed;
  const int nt = static_cast<int>(g.tensors.size());
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    ir::Activation act;
    const ir::Op& a = g.ops[i];
    if (!AsFused(a, &act) || a.inputs.size() != 1 || a.outputs.size() != 1) continue;
    const int t = a.inputs[0];
    const int y = a.outputs[0];
    if (t < 0 || t >= nt || y < 0 || y >= nt) continue;
    const int p = ud.producer[t];
    if (p < 0) continue;
    ir::Op& prod = g.ops[p];
    if (!FusesInto(prod.type) || prod.outputs.size() != 1) continue;
    ir::Activation* slot = ActivationSlot(prod, true);
    if (!slot || *slot != ir::Activation::kNone) continue;
    // The pre-activation value must have no other reader: it disappears.
    if (NumUses(g, t) != 1 || IsGraphOutput(g, t)) continue;
    if (g.tensors[t].dtype != ir::DType::kFloat32 || g.tensors[y].dtype != ir::DType::kFloat32) continue;
    *slot = act;
    prod.outputs[0] = y;
    ud.producer[y] = p;
    DropLayerOutputs(g, t);
    c.report.actions.push_back(fmt::format("fused {} ({}) into {}", OpName(g, i), ir::OpTypeName(a.type),
                                           OpName(g, p)));
    ++c.report.activations_fused;
    removed.push_back(i);
  }
  return RemoveOps(g, removed);
}

// ---- naming -----------------------------------------------------------------------------------

namespace {

// What a constant is to the op reading it at input `slot`; empty if nothing specific.
const char* ConstantRole(OpType t, int slot) {
  switch (t) {
    case OpType::kCONV_2D:
    case OpType::kDEPTHWISE_CONV_2D:
    case OpType::kFULLY_CONNECTED:
      return slot == 1 ? "kernel" : slot == 2 ? "bias" : nullptr;
    case OpType::kTRANSPOSE_CONV:
      return slot == 0 ? "output_shape" : slot == 1 ? "kernel" : slot == 3 ? "bias" : nullptr;
    case OpType::kPRELU: return slot == 1 ? "alpha" : nullptr;
    case OpType::kRESHAPE: return slot == 1 ? "shape" : nullptr;
    case OpType::kTRANSPOSE: return slot == 1 ? "perm" : nullptr;
    case OpType::kPAD:
    case OpType::kPADV2: return slot == 1 ? "paddings" : nullptr;
    case OpType::kMEAN:
    case OpType::kSUM:
    case OpType::kREDUCE_MAX:
    case OpType::kREDUCE_MIN: return slot == 1 ? "axes" : nullptr;
    default: return nullptr;
  }
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

// The part after "<layer>/" of a name a pass gave (e.g. "mean" in "layer_norm/mean"), or empty
// when the name has no such part or it is only the reader's counter ("conv2d/0").
std::string KeptSuffix(const std::string& name, const std::string& layer) {
  const std::string prefix = layer + "/";
  if (layer.empty() || name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return "";
  const std::string rest = name.substr(prefix.size());
  if (std::all_of(rest.begin(), rest.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
    return "";
  return rest;
}

}  // namespace

void NameTensors(ir::Graph& g) {
  const int nt = static_cast<int>(g.tensors.size());
  std::vector<std::string> want(nt);
  std::vector<bool> is_layer_output(nt, false);
  for (const ir::LayerOutput& lo : g.layer_outputs) {
    if (lo.tensor < 0 || lo.tensor >= nt || is_layer_output[lo.tensor]) continue;
    is_layer_output[lo.tensor] = true;
    want[lo.tensor] = lo.node == 0 ? lo.layer : fmt::format("{}:{}", lo.layer, lo.node);
  }
  const UseDef ud = BuildUseDef(g);
  for (int t = 0; t < nt; ++t) {
    if (is_layer_output[t]) continue;
    const ir::Tensor& x = g.tensors[t];
    const int reader = ud.consumers[t].empty() ? -1 : ud.consumers[t][0];
    const int writer = ud.producer[t];
    const int owner = writer >= 0 ? writer : reader;
    std::string layer = x.layer;
    if (layer.empty() && owner >= 0) layer = g.ops[owner].layer;
    if (layer.empty()) {
      want[t] = x.name.empty() ? fmt::format("tensor_{}", t) : x.name;
      continue;
    }
    std::string suffix = KeptSuffix(x.name, layer);
    if (x.is_constant && reader >= 0) {
      const ir::Op& op = g.ops[reader];
      const int slot = static_cast<int>(std::find(op.inputs.begin(), op.inputs.end(), t) - op.inputs.begin());
      if (const char* role = ConstantRole(op.type, slot)) suffix = role;
    }
    if (suffix.empty()) suffix = x.is_constant ? "const" : writer >= 0 ? Lower(ir::OpTypeName(g.ops[writer].type)) : "tensor";
    want[t] = layer + "/" + suffix;
  }
  // Layer outputs claim their names first, so "conv2d" is the layer's output even if a constant
  // of another layer could have wanted it.
  std::set<std::string> used;
  auto claim = [&](int t) {
    std::string n = want[t];
    for (int k = 1; used.count(n); ++k) n = fmt::format("{}_{}", want[t], k);
    used.insert(n);
    g.tensors[t].name = n;
  };
  for (int t = 0; t < nt; ++t)
    if (is_layer_output[t]) claim(t);
  for (int t = 0; t < nt; ++t)
    if (!is_layer_output[t]) claim(t);
}

}  // namespace legalize_detail

std::string LegalizeReport::Summary() const {
  std::string s = fmt::format("{} -> {} ops", ops_before, ops_after);
  std::vector<std::string> parts;
  auto add = [&](int n, const char* what) {
    if (n) parts.push_back(fmt::format("{} {}", n, what));
  };
  add(batch_norms_folded, "batch norms folded");
  add(batch_norms_lowered, "batch norms lowered to MUL+ADD");
  add(activations_fused, "activations fused");
  add(ops_lowered, "ops lowered");
  add(identities_removed, "identities removed");
  add(constants_folded, "constants folded");
  add(dead_ops_removed, "dead ops removed");
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : ": ") + parts[i];
  return s;
}

namespace {

// CONV_2D and DEPTHWISE_CONV_2D get a zero bias when the layer has none (use_bias=False), as
// TensorFlow's converter always writes one: TFLite 2.9 crashed (inside memcpy, preparing the
// interpreter) on str_ww_ref_model's bias-less DEPTHWISE_CONV_2D ops, and its hybrid depthwise
// kernel reads the bias unconditionally.
Status AddMissingConvBiases(ir::Graph& g, LegalizeReport& r) {
  for (size_t i = 0; i < g.ops.size(); ++i) {
    ir::Op& op = g.ops[i];
    if (op.type != ir::OpType::kCONV_2D && op.type != ir::OpType::kDEPTHWISE_CONV_2D) continue;
    if (op.inputs.size() >= 3 && op.inputs[2] >= 0) continue;
    if (op.inputs.size() < 2 || op.inputs[1] < 0) continue;
    const ir::Tensor& w = g.tensors[op.inputs[1]];
    if (w.shape.size() != 4 || w.dtype != ir::DType::kFloat32) continue;
    const int64_t out_c = op.type == ir::OpType::kCONV_2D ? w.shape[0] : w.shape[3];
    if (out_c <= 0) continue;
    const std::vector<float> zeros(static_cast<size_t>(out_c), 0.0f);
    const std::string layer = op.layer;
    QL_ASSIGN_OR_RETURN(int b, AddFloatConstant(g, (layer.empty() ? w.name : layer) + "/bias", {out_c},
                                                zeros, layer));
    ir::Op& o = g.ops[i];  // AddFloatConstant appends a tensor, not an op: `op` stays valid, but be explicit
    o.inputs.resize(3, -1);
    o.inputs[2] = b;
    r.actions.push_back(fmt::format("gave {} a zero bias (TFLite expects one)",
                                    layer.empty() ? std::string(ir::OpTypeName(o.type)) : layer));
  }
  return Status::Ok();
}

}  // namespace

Result<ir::Graph> LegalizeForTflite(const ir::Graph& g, const LegalizeOptions& opts,
                                    LegalizeReport* report) {
  using namespace legalize_detail;
  LegalizeReport local;
  LegalizeReport& r = report ? *report : local;
  r = LegalizeReport{};
  r.ops_before = static_cast<int>(g.ops.size());
  QL_RETURN_IF_ERROR(ir::VerifyGraph(g).WithContext(g.source_path.empty() ? "" : g.source_path + ": "));
  ir::Graph out = g;
  Ctx c{out, opts, r};
  if (opts.fold_constants) QL_RETURN_IF_ERROR(FoldConstants(c));
  if (opts.remove_identities) QL_RETURN_IF_ERROR(RemoveIdentities(c));
  if (opts.fold_batch_norm) QL_RETURN_IF_ERROR(FoldBatchNorms(c));
  QL_RETURN_IF_ERROR(LowerBatchNorms(c));
  QL_RETURN_IF_ERROR(LowerInternalOps(c));
  if (opts.fuse_activations) QL_RETURN_IF_ERROR(FuseActivations(c));
  QL_RETURN_IF_ERROR(AddMissingConvBiases(out, r));
  r.dead_ops_removed = RemoveDeadOps(out);
  if (r.dead_ops_removed)
    r.actions.push_back(fmt::format("removed {} op(s) whose results nothing reads", r.dead_ops_removed));
  QL_ASSIGN_OR_RETURN(auto remap, Compact(out));
  (void)remap;
  NameTensors(out);
  Status v = ir::VerifyGraph(out);
  if (!v.ok()) return Internal("legalization produced an invalid graph: {}", v.message());
  for (int i = 0; i < static_cast<int>(out.ops.size()); ++i) {
    if (ir::OpTypeTfliteCode(out.ops[i].type) < 0)
      return Internal("{}legalization left the internal op {}", Where(out, i),
                      ir::OpTypeName(out.ops[i].type));
  }
  r.ops_after = static_cast<int>(out.ops.size());
  return out;
}

}  // namespace ql::passes
