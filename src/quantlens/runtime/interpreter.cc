#include "quantlens/runtime/interpreter.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "quantlens/runtime/memory_planner.h"
#include "quantlens/runtime/registry.h"

namespace ql::rt {
namespace {

constexpr size_t kArenaAlignment = 64;
// No single tensor the interpreter allocates (graph input, op output) may exceed this many bytes,
// nor the whole arena InterpreterOptions::max_arena_bytes: guards against shapes in hostile files that are valid
// integers but would exhaust memory. Real models stay far below (MobileNet v2: 5 MB of arena).
constexpr int64_t kMaxTensorBytes = int64_t{8} << 30;

std::string ModelName(const ir::Graph& g) {
  return g.source_path.empty() ? std::string("model") : g.source_path;
}

// Kernels already start their messages with KernelArgs::Where(); add it only where one did not.
Status WithOpContext(const Status& s, const KernelArgs& args) {
  if (s.ok()) return s;
  const std::string where = args.Where();
  if (s.message().rfind(where, 0) == 0) return s;
  return s.WithContext(where);
}

// The shape must be fully known, its type one quantlens holds, and its size under the cap.
Status CheckTensorSize(const TensorRef& ref, const std::string& where) {
  auto n = ir::CheckedNumElements(ref.shape);
  if (!n.ok()) return n.status().WithContext(where);
  const size_t elem = ir::DTypeSize(ref.dtype());
  if (elem == 0)
    return Unsupported("{}has type {}, which quantlens cannot hold", where, ir::DTypeName(ref.dtype()));
  if (*n > kMaxTensorBytes / static_cast<int64_t>(elem))
    return InvalidModel("{}shape {} needs more than {} bytes", where, ir::ShapeToString(ref.shape),
                        kMaxTensorBytes);
  return Status::Ok();
}

}  // namespace

void Interpreter::FreeDeleter::operator()(void* p) const { std::free(p); }

std::vector<OpNumerics> AssignOpNumerics(const ir::Graph& graph, Profile profile) {
  // Both builtin profiles run every op with builtin kernels. (The WASM build creates the XNNPACK
  // delegate for models with float tensors; reproducing which ops it claims is the XNNPACK issue.)
  const OpNumerics n = profile == Profile::kTfliteWasm ? OpNumerics::kBuiltinWasm : OpNumerics::kBuiltinX86;
  return std::vector<OpNumerics>(graph.ops.size(), n);
}

Interpreter::Interpreter(const ir::Graph& graph, InterpreterOptions options)
    : graph_(graph), options_(options),
      ctx_(std::make_unique<KernelContext>(std::clamp(options.threads, 1, 256))) {}

Interpreter::~Interpreter() = default;

Result<std::unique_ptr<Interpreter>> Interpreter::Create(const ir::Graph& graph,
                                                         InterpreterOptions options) {
  QL_RETURN_IF_ERROR(ir::VerifyGraph(graph).WithContext(ModelName(graph) + ": "));
  std::unique_ptr<Interpreter> interp(new Interpreter(graph, options));
  QL_RETURN_IF_ERROR(interp->Prepare());
  return interp;
}

KernelArgs Interpreter::ArgsFor(int op_index) {
  return KernelArgs{graph_, graph_.ops[op_index], op_index, op_inputs_[op_index],
                    op_outputs_[op_index], op_numerics_[op_index], ctx_.get()};
}

Status Interpreter::Prepare() {
  const int nt = static_cast<int>(graph_.tensors.size());
  const int nops = static_cast<int>(graph_.ops.size());
  refs_.resize(nt);
  static_storage_.resize(nt);
  for (int t = 0; t < nt; ++t) {
    const ir::Tensor& tensor = graph_.tensors[t];
    auto ref = std::make_unique<TensorRef>();
    ref->info = &tensor;
    ref->shape = tensor.shape;
    if (tensor.is_variable && !tensor.is_constant) {
      // Variables (stateful RNN state) live outside the arena for the interpreter's lifetime.
      // TFLite 2.9 resets them to zero, int8 ones to their zero point (ResetVariableTensors).
      QL_RETURN_IF_ERROR(CheckTensorSize(*ref, fmt::format("{}: variable tensor {} '{}': ",
                                                           ModelName(graph_), t, tensor.name)));
      const size_t bytes = ref->bytes();
      const uint8_t fill = tensor.dtype == ir::DType::kInt8 && !tensor.quant.zero_point.empty()
                               ? static_cast<uint8_t>(static_cast<int8_t>(tensor.quant.zero_point[0]))
                               : 0;
      static_storage_[t].reset(new uint8_t[bytes > 0 ? bytes : 1]);
      std::memset(static_storage_[t].get(), fill, bytes);
      ref->BindWritable(static_storage_[t].get());
      static_bytes_ += bytes;
    }
    if (tensor.is_constant) {
      ref->is_static = true;
      ref->BindConstant(tensor.data.data());  // read-only: no kernel can overwrite model weights
    }
    refs_[t] = std::move(ref);
  }
  // Graph inputs: an open (-1) dimension, usually the batch, runs with size 1.
  for (int in : graph_.inputs) {
    TensorRef& ref = *refs_[in];
    if (!graph_.tensors[in].shape_declared)
      return InvalidModel("{}: input tensor {} '{}' declares no shape", ModelName(graph_), in,
                          graph_.tensors[in].name);
    for (auto& d : ref.shape)
      if (d < 0) d = 1;
    if (options_.batch > 0) {
      if (ref.shape.empty() || ref.shape[0] != 1)
        return Unsupported("{}: input tensor {} '{}' of shape {} has no batch dimension of 1; it "
                           "cannot run as a batch of {}",
                           ModelName(graph_), in, graph_.tensors[in].name,
                           ir::ShapeToString(ref.shape), options_.batch);
      ref.shape[0] = options_.batch;
    }
    // Graph inputs are allocated from the file's shape alone: the same cap as op outputs.
    QL_RETURN_IF_ERROR(CheckTensorSize(ref, fmt::format("{}: input tensor {} '{}': ",
                                                        ModelName(graph_), in, ref.info->name)));
  }
  op_numerics_ = AssignOpNumerics(graph_, options_.profile);
  op_inputs_.assign(nops, {});
  op_outputs_.assign(nops, {});
  kernels_.resize(nops);
  kernel_names_.assign(nops, "");
  op_static_.assign(nops, false);

  for (int i = 0; i < nops; ++i) {
    const ir::Op& op = graph_.ops[i];
    for (int t : op.inputs) op_inputs_[i].push_back(t < 0 ? nullptr : refs_[t].get());
    for (int t : op.outputs) {
      // Writing state needs a stateful kernel (LSTM and friends), which quantlens does not have;
      // an ordinary op's output is planned in the arena and must not alias a variable's storage.
      if (graph_.tensors[t].is_variable)
        return Unsupported("{}: {}: writes variable tensor {} '{}'; stateful ops are not supported",
                           ModelName(graph_), graph_.OpLabel(i), t, graph_.tensors[t].name);
      op_outputs_[i].push_back(refs_[t].get());
    }
    KernelSelection selection;
    selection.reference_only = options_.reference_kernels;
    KernelFactory factory =
        KernelRegistry::Global().Select(graph_, op, op_numerics_[i], selection, &kernel_names_[i]);
    if (!factory) {
      if (op.type == ir::OpType::kCUSTOM)
        return Unsupported("{}: {}: custom operator '{}' is not supported", ModelName(graph_),
                           graph_.OpLabel(i), op.custom_code);
      return Unsupported("{}: {}: operator {} has no quantlens kernel", ModelName(graph_),
                         graph_.OpLabel(i), ir::OpTypeName(op.type));
    }
    kernels_[i] = factory();
    KernelArgs args = ArgsFor(i);
    QL_RETURN_IF_ERROR(WithOpContext(kernels_[i]->Prepare(args), args));
    for (size_t k = 0; k < op.outputs.size(); ++k) {
      const TensorRef& out = *op_outputs_[i][k];
      QL_RETURN_IF_ERROR(
          CheckTensorSize(out, args.Where() + fmt::format("output {} '{}': ", k, out.info->name)));
    }
    // An op whose inputs are all known now (constants, or outputs of ops folded before it) is
    // evaluated once here. This is what resolves shape computations (SHAPE -> STRIDED_SLICE ->
    // PACK -> RESHAPE) before any data arrives, and turns float16 weights into float32 once.
    bool all_static = !op.inputs.empty();
    for (const TensorRef* in : op_inputs_[i])
      if (in && !in->is_static) all_static = false;
    if (op.type == ir::OpType::kSHAPE) all_static = true;  // depends only on the (resolved) shape
    if (all_static) {
      op_static_[i] = true;
      for (size_t k = 0; k < op.outputs.size(); ++k) {
        TensorRef& out = *op_outputs_[i][k];
        const size_t bytes = out.bytes();
        static_storage_[op.outputs[k]].reset(new uint8_t[bytes > 0 ? bytes : 1]());
        out.BindWritable(static_storage_[op.outputs[k]].get());
        static_bytes_ += bytes;
      }
      QL_RETURN_IF_ERROR(WithOpContext(kernels_[i]->Eval(args), args));
      for (TensorRef* out : op_outputs_[i]) out->is_static = true;
    }
  }

  // Lifetimes of everything that lives in the arena: graph inputs and outputs of ops not folded.
  std::vector<int> first(nt, INT_MAX), last(nt, -1);
  std::vector<bool> in_arena(nt, false);
  for (int in : graph_.inputs) {
    if (refs_[in]->is_static) continue;
    in_arena[in] = true;
    first[in] = -1;
  }
  for (int i = 0; i < nops; ++i) {
    if (op_static_[i]) continue;
    for (int t : graph_.ops[i].outputs) {
      in_arena[t] = true;
      first[t] = std::min(first[t], i);
      last[t] = std::max(last[t], i);
    }
    for (int t : graph_.ops[i].inputs)
      if (t >= 0) last[t] = std::max(last[t], i);
  }
  for (int out : graph_.outputs) last[out] = INT_MAX;
  // Graph inputs keep their memory for the interpreter's life, as in TFLite: Invoke may run again
  // on the same input without SetInput.
  for (int in : graph_.inputs)
    if (in_arena[in]) last[in] = INT_MAX;
  std::vector<PlannedBuffer> buffers;
  std::vector<int> buffer_tensor;
  for (int t = 0; t < nt; ++t) {
    if (!in_arena[t]) continue;
    buffers.push_back({refs_[t]->bytes(), first[t], std::max(last[t], first[t]), 0});
    buffer_tensor.push_back(t);
  }
  arena_bytes_ = PlanArena(buffers, kArenaAlignment);
  if (arena_bytes_ > static_cast<size_t>(std::max<int64_t>(options_.max_arena_bytes, 0)))
    return InvalidModel("{}: the planned activation memory is {} bytes, more than the {}-byte limit",
                        ModelName(graph_), arena_bytes_, options_.max_arena_bytes);
  // aligned_alloc wants a multiple of the alignment; PlanArena's offsets are aligned, its total
  // may not be.
  const size_t alloc_bytes = std::max<size_t>(
      kArenaAlignment, (arena_bytes_ + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
  void* mem = std::aligned_alloc(kArenaAlignment, alloc_bytes);
  if (!mem) return Internal("{}: cannot allocate a {}-byte arena", ModelName(graph_), arena_bytes_);
  arena_.reset(static_cast<uint8_t*>(mem));
  // Only the graph inputs are cleared (a caller that runs Invoke without SetInput sees zeros, as
  // in TFLite); every op output is written by its kernel before anything reads it, so the rest of
  // the arena is left untouched instead of paging in all of it.
  for (size_t b = 0; b < buffers.size(); ++b) {
    TensorRef& ref = *refs_[buffer_tensor[b]];
    ref.BindWritable(arena_.get() + buffers[b].offset);
    if (first[buffer_tensor[b]] == -1) std::memset(ref.mutable_data(), 0, ref.bytes());
  }
  return Status::Ok();
}

Status Interpreter::SetInput(int i, const void* data, size_t bytes) {
  if (i < 0 || i >= num_inputs())
    return InvalidArgument("{}: input {} does not exist (the model has {})", ModelName(graph_), i,
                           num_inputs());
  TensorRef& ref = *refs_[graph_.inputs[i]];
  if (bytes != ref.bytes())
    return InvalidArgument("{}: input {} '{}' of shape {} ({}) needs {} bytes, got {}",
                           ModelName(graph_), i, ref.info->name, ir::ShapeToString(ref.shape),
                           ir::DTypeName(ref.dtype()), ref.bytes(), bytes);
  if (bytes) std::memcpy(ref.mutable_data(), data, bytes);
  return Status::Ok();
}

Status Interpreter::Invoke() {
  const int nops = static_cast<int>(graph_.ops.size());
  for (int i = 0; i < nops; ++i) {
    KernelArgs args = ArgsFor(i);
    if (!op_static_[i]) QL_RETURN_IF_ERROR(WithOpContext(kernels_[i]->Eval(args), args));
    if (!hooks_.empty()) {
      const OpEvent event{graph_, i, static_cast<bool>(op_static_[i]), args.inputs, args.outputs};
      for (auto& hook : hooks_) hook(event);
    }
    if (!observers_.empty()) {
      std::span<const TensorRef* const> outs(op_outputs_[i].data(), op_outputs_[i].size());
      for (auto& obs : observers_) obs(graph_, i, outs);
    }
  }
  return Status::Ok();
}

Status Interpreter::RunOp(int op_index, std::span<const void* const> inputs,
                          std::span<void* const> outputs) {
  if (op_index < 0 || op_index >= static_cast<int>(graph_.ops.size()))
    return InvalidArgument("{}: op {} does not exist (the model has {})", ModelName(graph_), op_index,
                           graph_.ops.size());
  const size_t ni = op_inputs_[op_index].size(), no = op_outputs_[op_index].size();
  if (inputs.size() != ni || outputs.size() != no)
    return InvalidArgument("{}: {} has {} input(s) and {} output(s); RunOp got {} and {}",
                           ModelName(graph_), graph_.OpLabel(op_index), ni, no, inputs.size(),
                           outputs.size());
  // Copies of the prepared tensor views, rebound to the caller's memory: the kernel sees the same
  // shapes and quantization it was prepared with.
  std::vector<TensorRef> in_copies(ni), out_copies(no);
  std::vector<const TensorRef*> in_ptrs(ni, nullptr);
  std::vector<TensorRef*> out_ptrs(no, nullptr);
  for (size_t k = 0; k < ni; ++k) {
    const TensorRef* held = op_inputs_[op_index][k];
    if (!held) {
      if (inputs[k])
        return InvalidArgument("{}: {} input {} is omitted in the model; RunOp cannot supply it",
                               ModelName(graph_), graph_.OpLabel(op_index), k);
      continue;
    }
    // Kernels may precompute from static inputs at Prepare (packed weights, folded shapes), so
    // a replacement would be silently ignored: refuse it.
    if (inputs[k] && held->is_static)
      return InvalidArgument("{}: {} input {} '{}' is constant; RunOp replaces only activations",
                             ModelName(graph_), graph_.OpLabel(op_index), k, held->info->name);
    in_copies[k] = *held;
    if (inputs[k]) in_copies[k].BindConstant(inputs[k]);
    in_ptrs[k] = &in_copies[k];
  }
  for (size_t k = 0; k < no; ++k) {
    if (!outputs[k])
      return InvalidArgument("{}: {} output {}: RunOp needs a buffer", ModelName(graph_),
                             graph_.OpLabel(op_index), k);
    out_copies[k] = *op_outputs_[op_index][k];
    out_copies[k].BindWritable(outputs[k]);
    out_ptrs[k] = &out_copies[k];
  }
  KernelArgs args{graph_, graph_.ops[op_index], op_index, in_ptrs, out_ptrs, op_numerics_[op_index],
                  ctx_.get()};
  return WithOpContext(kernels_[op_index]->Eval(args), args);
}

}  // namespace ql::rt
