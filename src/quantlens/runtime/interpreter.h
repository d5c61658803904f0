// Runs an ir::Graph: resolves shapes once, plans one arena by tensor lifetime, prepares every
// kernel once, and calls observers after each node (calibration, the layer debugger and
// profiling are all observers).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/runtime/kernel.h"
#include "quantlens/runtime/numerics.h"

namespace ql::rt {

struct InterpreterOptions {
  Profile profile = Profile::kTfliteX86;
  // Largest activation arena Create may allocate; a model that plans more is refused with a clear
  // error. The default bounds hostile files; callers with a memory budget (the fuzzers) set less.
  int64_t max_arena_bytes = int64_t{16} << 30;
  // Only the reference kernels (the normative arithmetic), never an optimized variant.
  bool reference_kernels = false;
  // Threads an op may split its work over (results do not depend on it); 1 by default, so that
  // runs are reproducible in time as well as in bytes.
  int threads = 1;
  // > 0: every graph input runs with this batch size in place of its dim 0, which must be 1 (or
  // open) in the file. Whether the model's ops then treat the samples independently is for the
  // caller to check (RunSamples compares a batch with single-sample runs).
  int batch = 0;
};

// Called after op `op_index` ran, with its outputs. The data pointers are valid only during the
// call (arena memory is reused later): copy what you keep.
using NodeObserver =
    std::function<void(const ir::Graph& graph, int op_index, std::span<const TensorRef* const> outputs)>;

// What an op hook sees right after op `op_index` ran: the op's inputs and outputs. A hook may
// overwrite the data of an output (outputs[k]->mutable_data(), outputs[k]->bytes() bytes) to
// substitute a value before the run continues: the layer debugger feeds a candidate model the
// reference's values this way. Outputs of ops folded at prepare time (`folded`) are shared by
// every later run and must not be written. Data pointers are valid only during the call.
struct OpEvent {
  const ir::Graph& graph;
  int op_index;
  bool folded;
  std::span<const TensorRef* const> inputs;  // null entries: omitted optional inputs
  std::span<TensorRef* const> outputs;
};
using OpHook = std::function<void(const OpEvent& event)>;

class Interpreter {
 public:
  // Prepares `graph` for running. The graph must outlive the interpreter. Errors name the op.
  static Result<std::unique_ptr<Interpreter>> Create(const ir::Graph& graph,
                                                     InterpreterOptions options = {});
  ~Interpreter();

  const ir::Graph& graph() const { return graph_; }
  const InterpreterOptions& options() const { return options_; }
  Profile profile() const { return options_.profile; }
  int num_inputs() const { return static_cast<int>(graph_.inputs.size()); }
  int num_outputs() const { return static_cast<int>(graph_.outputs.size()); }

  // Input i's resolved shape and dtype; copy `bytes` (which must equal its size) into it.
  const TensorRef& input(int i) const { return *refs_[graph_.inputs[i]]; }
  Status SetInput(int i, const void* data, size_t bytes);
  // Runs every op once.
  Status Invoke();
  // Output i after Invoke.
  const TensorRef& output(int i) const { return *refs_[graph_.outputs[i]]; }

  // Observers and hooks run after each op in the order added, hooks first (so observers see
  // substituted values).
  void AddObserver(NodeObserver observer) { observers_.push_back(std::move(observer)); }
  void AddHook(OpHook hook) { hooks_.push_back(std::move(hook)); }
  void ClearObservers() {
    observers_.clear();
    hooks_.clear();
  }

  // The op runner: evaluates op `op_index`'s prepared kernel once more on caller buffers, with
  // the shapes, parameters and tables of this interpreter's Prepare. `inputs[k]` replaces the
  // data of input k (nullptr keeps what the interpreter holds: weights, or the value of the last
  // Invoke); `outputs[k]` receives output k and must hold tensor_shape() of it in its dtype.
  // Nothing the interpreter holds changes. Error when the counts do not match the op's.
  Status RunOp(int op_index, std::span<const void* const> inputs, std::span<void* const> outputs);

  OpNumerics op_numerics(int op_index) const { return op_numerics_[op_index]; }
  // The kernel running op `op_index`: "reference" or an optimized variant's name.
  const std::string& kernel_name(int op_index) const { return kernel_names_[op_index]; }
  // Planned activation memory (the shared arena) and memory for tensors folded at prepare time.
  size_t arena_bytes() const { return arena_bytes_; }
  // Kernel scratch shared by all ops (GEMM tiles, per thread), reserved at prepare time.
  size_t scratch_bytes() const { return ctx_->scratch_bytes(); }
  int threads() const { return ctx_->threads(); }
  size_t static_bytes() const { return static_bytes_; }
  // The resolved shape of any tensor (valid after Create).
  const ir::Shape& tensor_shape(int tensor_index) const { return refs_[tensor_index]->shape; }

 private:
  Interpreter(const ir::Graph& graph, InterpreterOptions options);
  Status Prepare();
  KernelArgs ArgsFor(int op_index);

  const ir::Graph& graph_;
  InterpreterOptions options_;
  std::vector<std::unique_ptr<TensorRef>> refs_;
  std::vector<std::vector<const TensorRef*>> op_inputs_;  // kernels read inputs only
  std::vector<std::vector<TensorRef*>> op_outputs_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
  std::vector<OpNumerics> op_numerics_;
  std::vector<std::string> kernel_names_;
  std::vector<bool> op_static_;  // evaluated once at prepare time (all inputs static)
  // Outputs of ops folded at prepare time: one buffer per tensor.
  std::vector<std::unique_ptr<uint8_t[]>> static_storage_;
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  std::unique_ptr<uint8_t, FreeDeleter> arena_;  // 64-byte aligned
  size_t arena_bytes_ = 0;
  size_t static_bytes_ = 0;
  std::vector<NodeObserver> observers_;
  std::vector<OpHook> hooks_;
  std::unique_ptr<KernelContext> ctx_;  // thread pool and kernel scratch
};

// Which arithmetic each op of `graph` runs with under `profile`.
std::vector<OpNumerics> AssignOpNumerics(const ir::Graph& graph, Profile profile);

}  // namespace ql::rt
