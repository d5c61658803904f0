#include "quantlens/ir/graph.h"

#include <limits>

namespace ql::ir {

std::string Graph::OpLabel(int op_index) const {
  if (op_index < 0 || op_index >= static_cast<int>(ops.size())) return fmt::format("op {}", op_index);
  const Op& op = ops[op_index];
  int shown = op.source_index >= 0 ? op.source_index : op_index;
  if (op.type == OpType::kCUSTOM) return fmt::format("op {} (CUSTOM {})", shown, op.custom_code);
  if (!op.layer.empty())
    return fmt::format("op {} ({}, layer '{}')", shown, OpTypeName(op.type), op.layer);
  return fmt::format("op {} ({})", shown, OpTypeName(op.type));
}

int64_t ShapeProduct(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  }
  return n;
}

Result<int64_t> CheckedNumElements(const Shape& shape, int64_t max_elements) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidModel("shape {} has a negative or unknown dimension", ShapeToString(shape));
    if (d != 0 && n > max_elements / d)
      return InvalidModel("shape {} has more than {} elements", ShapeToString(shape), max_elements);
    n *= d;
  }
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status VerifyGraph(const Graph& g) {
  const int nt = static_cast<int>(g.tensors.size());
  std::vector<int> producer(nt, -1);
  std::vector<bool> available(nt, false);
  for (int t = 0; t < nt; ++t) {
    const Tensor& tensor = g.tensors[t];
    if (tensor.is_constant) {
      available[t] = true;
      size_t elem = DTypeSize(tensor.dtype);
      if (elem != 0) {
        auto n = CheckedNumElements(tensor.shape);
        if (!n.ok())
          return n.status().WithContext(fmt::format("tensor {} '{}': ", t, tensor.name));
        if (static_cast<uint64_t>(*n) * elem != tensor.data.size())
          return InvalidModel("tensor {} '{}': constant holds {} bytes but shape {} of {} needs {}",
                              t, tensor.name, tensor.data.size(), ShapeToString(tensor.shape),
                              DTypeName(tensor.dtype), static_cast<uint64_t>(*n) * elem);
      }
    }
    if (tensor.is_variable) available[t] = true;
    const Quantization& q = tensor.quant;
    if (!q.empty()) {
      if (q.zero_point.size() != q.scale.size() && !(q.zero_point.empty()))
        return InvalidModel("tensor {} '{}': {} scales but {} zero points", t, tensor.name,
                            q.scale.size(), q.zero_point.size());
      if (q.per_axis()) {
        if (q.axis < 0 || q.axis >= static_cast<int>(tensor.shape.size()))
          return InvalidModel("tensor {} '{}': quantized dimension {} is outside its rank {}", t,
                              tensor.name, q.axis, tensor.shape.size());
        if (tensor.shape[q.axis] != static_cast<int64_t>(q.scale.size()))
          return InvalidModel("tensor {} '{}': {} scales for dimension {} of size {}", t,
                              tensor.name, q.scale.size(), q.axis, tensor.shape[q.axis]);
      }
    }
  }
  for (int in : g.inputs) {
    if (in < 0 || in >= nt) return InvalidModel("graph input {} is not a tensor index (0..{})", in, nt - 1);
    // The caller writes inputs; a constant (data in the file) is read-only model memory.
    if (g.tensors[in].is_constant)
      return InvalidModel("graph input tensor {} '{}' is a constant (it has data in the file); an "
                          "input must be fed, not stored", in, g.tensors[in].name);
    available[in] = true;
  }
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const Op& op = g.ops[i];
    for (int t : op.inputs) {
      if (t == -1) continue;
      if (t < 0 || t >= nt)
        return InvalidModel("{}: input tensor index {} is out of range (0..{})", g.OpLabel(i), t, nt - 1);
      if (!available[t])
        return InvalidModel("{}: reads tensor {} '{}' before any op produces it", g.OpLabel(i), t,
                            g.tensors[t].name);
    }
    for (int t : op.outputs) {
      if (t < 0 || t >= nt)
        return InvalidModel("{}: output tensor index {} is out of range (0..{})", g.OpLabel(i), t, nt - 1);
      if (g.tensors[t].is_constant)
        return InvalidModel("{}: writes tensor {} '{}', which is a constant", g.OpLabel(i), t,
                            g.tensors[t].name);
      if (producer[t] != -1)
        return InvalidModel("{}: tensor {} '{}' is already produced by {}", g.OpLabel(i), t,
                            g.tensors[t].name, g.OpLabel(producer[t]));
      producer[t] = i;
      available[t] = true;
    }
  }
  for (int out : g.outputs) {
    if (out < 0 || out >= nt) return InvalidModel("graph output {} is not a tensor index (0..{})", out, nt - 1);
    if (!available[out])
      return InvalidModel("graph output tensor {} '{}' is never produced", out, g.tensors[out].name);
  }
  return Status::Ok();
}

}  // namespace ql::ir
