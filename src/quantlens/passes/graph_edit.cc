#include "quantlens/passes/graph_edit.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace ql::passes {
namespace {

bool InRange(const ir::Graph& g, int tensor) {
  return tensor >= 0 && tensor < static_cast<int>(g.tensors.size());
}

}  // namespace

int ProducerOf(const ir::Graph& g, int tensor) {
  if (!InRange(g, tensor)) return -1;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    for (int t : g.ops[i].outputs)
      if (t == tensor) return i;
  }
  return -1;
}

std::vector<int> ConsumersOf(const ir::Graph& g, int tensor) {
  std::vector<int> out;
  if (!InRange(g, tensor)) return out;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const auto& ins = g.ops[i].inputs;
    if (std::find(ins.begin(), ins.end(), tensor) != ins.end()) out.push_back(i);
  }
  return out;
}

int NumUses(const ir::Graph& g, int tensor) {
  if (!InRange(g, tensor)) return 0;
  int n = 0;
  for (const ir::Op& op : g.ops) n += static_cast<int>(std::count(op.inputs.begin(), op.inputs.end(), tensor));
  return n;
}

bool IsGraphOutput(const ir::Graph& g, int tensor) {
  return std::find(g.outputs.begin(), g.outputs.end(), tensor) != g.outputs.end();
}

bool IsGraphInput(const ir::Graph& g, int tensor) {
  return std::find(g.inputs.begin(), g.inputs.end(), tensor) != g.inputs.end();
}

UseDef BuildUseDef(const ir::Graph& g) {
  UseDef u;
  u.producer.assign(g.tensors.size(), -1);
  u.consumers.resize(g.tensors.size());
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    for (int t : g.ops[i].outputs)
      if (InRange(g, t) && u.producer[t] == -1) u.producer[t] = i;
    for (int t : g.ops[i].inputs) {
      if (!InRange(g, t)) continue;
      auto& c = u.consumers[t];
      if (c.empty() || c.back() != i) c.push_back(i);  // ops are visited in order: no duplicates
    }
  }
  return u;
}

Result<int> ReplaceAllUses(ir::Graph& g, int from, int to, int skip_op, const ReplaceScope& scope) {
  if (!InRange(g, from) || !InRange(g, to))
    return Internal("ReplaceAllUses: tensor index {} or {} is out of range (0..{})", from, to,
                    static_cast<int>(g.tensors.size()) - 1);
  int n = 0;
  if (scope.op_inputs) {
    for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
      if (i == skip_op) continue;
      for (int& t : g.ops[i].inputs)
        if (t == from) t = to, ++n;
    }
  }
  if (scope.graph_outputs)
    for (int& t : g.outputs)
      if (t == from) t = to, ++n;
  if (scope.layer_outputs)
    for (ir::LayerOutput& lo : g.layer_outputs)
      if (lo.tensor == from) lo.tensor = to, ++n;
  return n;
}

int AddTensor(ir::Graph& g, ir::Tensor t) {
  g.tensors.push_back(std::move(t));
  return static_cast<int>(g.tensors.size()) - 1;
}

int AddFloatTensor(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                   const std::string& layer, int layer_node) {
  ir::Tensor t;
  t.name = name;
  t.dtype = ir::DType::kFloat32;
  t.shape = shape;
  t.layer = layer;
  t.layer_node = layer_node;
  return AddTensor(g, std::move(t));
}

namespace {

template <typename T>
Result<int> AddConstant(ir::Graph& g, const std::string& name, ir::DType dtype,
                        const ir::Shape& shape, std::span<const T> values, const std::string& layer) {
  int64_t n = ir::ShapeProduct(shape);
  if (n < 0 || static_cast<uint64_t>(n) != values.size())
    return Internal("constant '{}': shape {} needs {} values, got {}", name, ir::ShapeToString(shape),
                    n, values.size());
  ir::Tensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = shape;
  t.is_constant = true;
  t.layer = layer;
  t.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return AddTensor(g, std::move(t));
}

}  // namespace

Result<int> AddFloatConstant(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                             std::span<const float> values, const std::string& layer) {
  return AddConstant<float>(g, name, ir::DType::kFloat32, shape, values, layer);
}

Result<int> AddInt32Constant(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                             std::span<const int32_t> values, const std::string& layer) {
  return AddConstant<int32_t>(g, name, ir::DType::kInt32, shape, values, layer);
}

Result<int> InsertOp(ir::Graph& g, ir::Op op, int position) {
  const int n = static_cast<int>(g.ops.size());
  if (position == -1) position = n;
  if (position < 0 || position > n)
    return Internal("InsertOp: position {} is out of range (0..{})", position, n);
  g.ops.insert(g.ops.begin() + position, std::move(op));
  return position;
}

Status ReplaceOp(ir::Graph& g, int op_index, std::vector<ir::Op> replacement) {
  const int n = static_cast<int>(g.ops.size());
  if (op_index < 0 || op_index >= n)
    return Internal("ReplaceOp: op index {} is out of range (0..{})", op_index, n - 1);
  g.ops.erase(g.ops.begin() + op_index);
  g.ops.insert(g.ops.begin() + op_index, std::make_move_iterator(replacement.begin()),
               std::make_move_iterator(replacement.end()));
  return Status::Ok();
}

Status RemoveOps(ir::Graph& g, std::span<const int> op_indices) {
  const int n = static_cast<int>(g.ops.size());
  std::vector<bool> drop(n, false);
  for (int i : op_indices) {
    if (i < 0 || i >= n) return Internal("RemoveOps: op index {} is out of range (0..{})", i, n - 1);
    drop[i] = true;
  }
  std::vector<ir::Op> kept;
  kept.reserve(n);
  for (int i = 0; i < n; ++i)
    if (!drop[i]) kept.push_back(std::move(g.ops[i]));
  g.ops = std::move(kept);
  return Status::Ok();
}

int RemoveDeadOps(ir::Graph& g) {
  int removed = 0;
  // One backward sweep suffices: an op's consumers come after it, so by the time we reach it every
  // dead consumer has already lost its reads.
  std::vector<int> reads(g.tensors.size(), 0);
  for (const ir::Op& op : g.ops)
    for (int t : op.inputs)
      if (InRange(g, t)) ++reads[t];
  for (int t : g.outputs)
    if (InRange(g, t)) ++reads[t];
  std::vector<bool> dead(g.ops.size(), false);
  for (int i = static_cast<int>(g.ops.size()) - 1; i >= 0; --i) {
    const ir::Op& op = g.ops[i];
    bool live = op.outputs.empty();  // an op with no outputs exists for a side effect: keep it
    for (int t : op.outputs)
      if (!InRange(g, t) || reads[t] > 0) live = true;
    if (live) continue;
    dead[i] = true;
    ++removed;
    for (int t : op.inputs)
      if (InRange(g, t)) --reads[t];
  }
  if (removed) {
    std::vector<ir::Op> kept;
    for (size_t i = 0; i < g.ops.size(); ++i)
      if (!dead[i]) kept.push_back(std::move(g.ops[i]));
    g.ops = std::move(kept);
  }
  return removed;
}

Result<std::vector<int>> Compact(ir::Graph& g) {
  const int nt = static_cast<int>(g.tensors.size());
  std::vector<bool> used(nt, false);
  auto mark = [&](int t, bool allow_omitted, const char* what) -> Status {
    if (allow_omitted && t == -1) return Status::Ok();
    if (t < 0 || t >= nt)
      return Internal("Compact: {} refers to tensor index {}, out of range (0..{})", what, t, nt - 1);
    used[t] = true;
    return Status::Ok();
  };
  for (const ir::Op& op : g.ops) {
    for (int t : op.inputs) QL_RETURN_IF_ERROR(mark(t, true, "an op input"));
    for (int t : op.outputs) QL_RETURN_IF_ERROR(mark(t, false, "an op output"));
  }
  for (int t : g.inputs) QL_RETURN_IF_ERROR(mark(t, false, "a graph input"));
  for (int t : g.outputs) QL_RETURN_IF_ERROR(mark(t, false, "a graph output"));

  std::vector<int> remap(nt, -1);
  std::vector<ir::Tensor> kept;
  for (int t = 0; t < nt; ++t) {
    if (!used[t]) continue;
    remap[t] = static_cast<int>(kept.size());
    kept.push_back(std::move(g.tensors[t]));
  }
  g.tensors = std::move(kept);
  auto re = [&](int& t) {
    if (t >= 0) t = remap[t];
  };
  for (ir::Op& op : g.ops) {
    for (int& t : op.inputs) re(t);
    for (int& t : op.outputs) re(t);
  }
  for (int& t : g.inputs) re(t);
  for (int& t : g.outputs) re(t);
  std::vector<ir::LayerOutput> los;
  for (ir::LayerOutput lo : g.layer_outputs) {
    if (lo.tensor < 0 || lo.tensor >= nt || remap[lo.tensor] < 0) continue;
    lo.tensor = remap[lo.tensor];
    los.push_back(std::move(lo));
  }
  g.layer_outputs = std::move(los);
  return remap;
}

std::vector<float> FloatData(const ir::Tensor& t) {
  std::vector<float> v;
  if (!t.is_constant || t.dtype != ir::DType::kFloat32) return v;
  v.resize(t.data.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), t.data.data(), v.size() * sizeof(float));
  return v;
}

Status SetFloatData(ir::Tensor& t, const ir::Shape& shape, std::span<const float> values) {
  int64_t n = ir::ShapeProduct(shape);
  if (n < 0 || static_cast<uint64_t>(n) != values.size())
    return Internal("tensor '{}': shape {} needs {} values, got {}", t.name, ir::ShapeToString(shape),
                    n, values.size());
  t.dtype = ir::DType::kFloat32;
  t.shape = shape;
  t.is_constant = true;
  t.data.resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return Status::Ok();
}

std::string UniqueTensorName(const ir::Graph& g, const std::string& base) {
  std::unordered_set<std::string_view> names;
  for (const ir::Tensor& t : g.tensors) names.insert(t.name);
  if (!names.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string s = fmt::format("{}_{}", base, i);
    if (!names.count(s)) return s;
  }
}

ir::Op NewOp(ir::OpType type, std::vector<int> inputs, std::vector<int> outputs, ir::Attrs attrs,
             const std::string& layer) {
  ir::Op op;
  op.type = type;
  op.version = 0;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  op.attrs = std::move(attrs);
  op.layer = layer;
  return op;
}

}  // namespace ql::passes
