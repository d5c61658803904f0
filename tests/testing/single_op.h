// Runs one kernel on hand-made tensors, without the interpreter: builds a one-op ir::Graph, finds
// the kernel in the registry, calls Prepare then Eval. For kernel unit tests.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/runtime/kernel.h"
#include "quantlens/runtime/registry.h"

namespace ql::testing {

class SingleOp {
 public:
  SingleOp(ir::OpType type, ir::Attrs attrs = {}, std::string custom_code = "") {
    op_.type = type;
    op_.attrs = std::move(attrs);
    op_.custom_code = std::move(custom_code);
    graph_.source_path = "test";
  }

  // Adds an input. `data` holds the values (as the dtype's C++ type); constant inputs are static at
  // Prepare, like weights in a model file.
  template <typename T>
  int AddInput(ir::DType dtype, ir::Shape shape, const std::vector<T>& data,
               ir::Quantization q = {}, bool constant = false) {
    ir::Tensor t;
    t.name = "in" + std::to_string(op_.inputs.size());
    t.dtype = dtype;
    t.shape = shape;
    t.quant = std::move(q);
    t.data.resize(data.size() * sizeof(T));
    if (!data.empty()) std::memcpy(t.data.data(), data.data(), t.data.size());
    t.is_constant = constant;
    graph_.tensors.push_back(std::move(t));
    op_.inputs.push_back(static_cast<int>(graph_.tensors.size()) - 1);
    return op_.inputs.back();
  }
  // An omitted optional input (-1 in the file).
  void AddAbsentInput() { op_.inputs.push_back(-1); }

  int AddOutput(ir::DType dtype, ir::Quantization q = {}) {
    ir::Tensor t;
    t.name = "out" + std::to_string(op_.outputs.size());
    t.dtype = dtype;
    t.quant = std::move(q);
    graph_.tensors.push_back(std::move(t));
    op_.outputs.push_back(static_cast<int>(graph_.tensors.size()) - 1);
    return op_.outputs.back();
  }

  // Prepares and evaluates with the reference kernel, or with `variant` (a registry variant's
  // factory). Returns the first error.
  Status Run(rt::OpNumerics numerics = rt::OpNumerics::kBuiltinX86, rt::KernelFactory variant = nullptr) {
    graph_.ops = {op_};
    auto factory = variant ? variant : rt::KernelRegistry::Global().Find(op_);
    if (!factory) return Unsupported("no kernel registered for {}", graph_.OpLabel(0));
    kernel_ = factory();
    refs_.clear();
    std::vector<const rt::TensorRef*> ins;
    std::vector<rt::TensorRef*> outs, in_refs;
    for (int idx : op_.inputs) {
      if (idx < 0) {
        ins.push_back(nullptr);
        in_refs.push_back(nullptr);
        continue;
      }
      auto r = std::make_unique<rt::TensorRef>();
      const ir::Tensor& t = graph_.tensors[idx];
      r->info = &t;
      r->shape = t.shape;
      r->is_static = t.is_constant;
      if (t.is_constant) r->BindConstant(t.data.data());
      ins.push_back(r.get());
      in_refs.push_back(r.get());
      refs_.push_back(std::move(r));
    }
    for (int idx : op_.outputs) {
      auto r = std::make_unique<rt::TensorRef>();
      r->info = &graph_.tensors[idx];
      outs.push_back(r.get());
      refs_.push_back(std::move(r));
    }
    rt::KernelArgs args{graph_, graph_.ops[0], 0, ins, outs, numerics, ctx_.get()};
    Status s = kernel_->Prepare(args);
    if (!s.ok()) return s;
    // Bind data for Eval (non-constant inputs too) and allocate outputs.
    for (size_t i = 0; i < op_.inputs.size(); ++i)
      if (in_refs[i]) in_refs[i]->BindConstant(graph_.tensors[op_.inputs[i]].data.data());
    out_data_.assign(outs.size(), {});
    for (size_t i = 0; i < outs.size(); ++i) {
      out_data_[i].assign(outs[i]->bytes() + 1, 0);
      outs[i]->BindWritable(out_data_[i].data());
    }
    outs_ = outs;
    return kernel_->Eval(args);
  }

  const ir::Shape& OutputShape(int i = 0) const { return outs_[i]->shape; }
  template <typename T>
  std::vector<T> Output(int i = 0) const {
    std::vector<T> v(outs_[i]->num_elements());
    if (!v.empty()) std::memcpy(v.data(), out_data_[i].data(), v.size() * sizeof(T));
    return v;
  }

 private:
  ir::Graph graph_;
  ir::Op op_;
  std::unique_ptr<rt::KernelContext> ctx_ = std::make_unique<rt::KernelContext>();  // movable
  std::unique_ptr<rt::Kernel> kernel_;
  std::vector<std::unique_ptr<rt::TensorRef>> refs_;
  std::vector<rt::TensorRef*> outs_;
  std::vector<std::vector<uint8_t>> out_data_;
};

inline ir::Quantization Quant(float scale, int64_t zero_point) { return {{scale}, {zero_point}, 0}; }
inline ir::Quantization QuantPerAxis(std::vector<float> scales, int axis) {
  return {scales, std::vector<int64_t>(scales.size(), 0), axis};
}

}  // namespace ql::testing
