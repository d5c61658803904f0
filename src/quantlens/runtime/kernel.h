// The kernel interface. A kernel is created per op, prepared once (shapes, multipliers, tables),
// then evaluated many times. Kernels know the graph only through these arguments.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "quantlens/ir/graph.h"
#include "quantlens/runtime/numerics.h"
#include "quantlens/runtime/thread_pool.h"
#include "quantlens/util/status.h"

namespace ql::rt {

// A tensor as a kernel sees it: the IR tensor's static description, its resolved shape and (at
// Eval, or at Prepare for static tensors) its data.
struct TensorRef {
  const ir::Tensor* info = nullptr;  // dtype, quantization, name; never null
  ir::Shape shape;                   // resolved shape (no -1)
  const void* data = nullptr;        // null at Prepare unless `is_static`
  bool is_static = false;            // contents known before any input arrives (constant or folded)

  ir::DType dtype() const { return info->dtype; }
  const ir::Quantization& quant() const { return info->quant; }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape[i]; }
  // The interpreter checks every tensor's size against its cap at Prepare, so in a kernel this is
  // never -1 (ir::ShapeProduct's overflow marker); bytes() is 0 for such a shape, never wrapped.
  int64_t num_elements() const { return ir::ShapeProduct(shape); }
  size_t bytes() const {
    const int64_t n = num_elements();
    return n < 0 ? 0 : static_cast<size_t>(n) * ir::DTypeSize(dtype());
  }
  template <typename T> const T* as() const { return static_cast<const T*>(data); }
  // Writable storage. Kernels see their inputs as `const TensorRef&`, so only outputs reach
  // these; model constants are bound read-only and have none (nullptr).
  void* mutable_data() { return writable_; }
  template <typename T> T* mut() { return static_cast<T*>(writable_); }

  // Binding, done by the interpreter: storage it owns (arena, folded outputs) or a model constant.
  void BindWritable(void* p) { data = p; writable_ = p; }
  void BindConstant(const void* p) { data = p; writable_ = nullptr; }
  // Per-tensor scale / zero point (the first entry); 0 when unquantized.
  float scale() const { return info->quant.scale.empty() ? 0.0f : info->quant.scale[0]; }
  int32_t zero_point() const {
    return info->quant.zero_point.empty() ? 0 : static_cast<int32_t>(info->quant.zero_point[0]);
  }

 private:
  void* writable_ = nullptr;
};

// What Prepare and Eval receive. `inputs[i]` is null for an omitted optional input (-1 in the
// file). At Prepare, a kernel must set `outputs[i]->shape` for every output.
struct KernelArgs {
  const ir::Graph& graph;
  const ir::Op& op;
  int op_index;
  std::span<const TensorRef* const> inputs;  // read-only: a kernel cannot write its inputs
  std::span<TensorRef* const> outputs;
  OpNumerics numerics;
  // The thread pool and scratch memory (never null when an interpreter or SingleOp calls).
  KernelContext* ctx = nullptr;

  // "model.tflite: op 12 (CONV_2D): " for error messages.
  std::string Where() const;
  int num_inputs() const { return static_cast<int>(inputs.size()); }
  int num_outputs() const { return static_cast<int>(outputs.size()); }
  const TensorRef& in(int i) const { return *inputs[i]; }  // inputs[i] must not be null
  TensorRef& out(int i) const { return *outputs[i]; }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Checks types, attributes and shapes (a combination no corpus model uses is refused with
  // kUnsupported, never guessed), sets every output shape, and precomputes everything that does
  // not depend on input data (multipliers and shifts, clamp bounds, lookup tables).
  virtual Status Prepare(const KernelArgs& args) = 0;
  // Computes outputs from inputs. Does no float work on quantization parameters.
  virtual Status Eval(const KernelArgs& args) = 0;
};

using KernelFactory = std::unique_ptr<Kernel> (*)();

}  // namespace ql::rt
