#include "quantlens/runtime/interpreter.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#include "quantlens/runtime/memory_planner.h"
#include "quantlens/runtime/registry.h"

namespace ql::rt {
namespace {

constexpr size_t kArenaAlignment = 64;
// No single activation tensor may exceed this many bytes: a guard against shapes in hostile files
// that are valid integers but would exhaust memory.
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

}  // namespace

void Interpreter::FreeDeleter::operator()(void* p) const { std::free(p); }

std::vector<OpNumerics> AssignOpNumerics(const ir::Graph& graph, Profile profile) {
  // Both builtin profiles run every op with builtin kernels. (The WASM build creates the XNNPACK
  // delegate for models with float tensors; reproducing which ops it claims is the XNNPACK issue.)
  const OpNumerics n = profile == Profile::kTfliteWasm ? OpNumerics::kBuiltinWasm : OpNumerics::kBuiltinX86;
  return std::vector<OpNumerics>(graph.ops.size(), n);
}

Interpreter::Interpreter(const ir::Graph& graph, InterpreterOptions options)
    : graph_(graph), options_(options) {}

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
                    op_outputs_[op_index], op_numerics_[op_index]};
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
    if (tensor.is_constant) {
      ref->is_static = true;
      ref->data = const_cast<uint8_t*>(tensor.data.data());
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
  }
  op_numerics_ = AssignOpNumerics(graph_, options_.profile);
  op_inputs_.assign(nops, {});
  op_outputs_.assign(nops, {});
  kernels_.resize(nops);
  op_static_.assign(nops, false);

  for (int i = 0; i < nops; ++i) {
    const ir::Op& op = graph_.ops[i];
    for (int t : op.inputs) op_inputs_[i].push_back(t < 0 ? nullptr : refs_[t].get());
    for (int t : op.outputs) op_outputs_[i].push_back(refs_[t].get());
    KernelFactory factory = KernelRegistry::Global().Find(op);
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
      TensorRef& out = *op_outputs_[i][k];
      auto n = ir::CheckedNumElements(out.shape);
      if (!n.ok())
        return n.status().WithContext(args.Where() + fmt::format("output {} '{}': ", k, out.info->name));
      const size_t elem = ir::DTypeSize(out.dtype());
      if (elem == 0)
        return Unsupported("{}output {} '{}' has type {}, which quantlens cannot hold", args.Where(),
                           k, out.info->name, ir::DTypeName(out.dtype()));
      if (*n > kMaxTensorBytes / static_cast<int64_t>(elem))
        return InvalidModel("{}output {} '{}' of shape {} needs more than {} bytes", args.Where(), k,
                            out.info->name, ir::ShapeToString(out.shape), kMaxTensorBytes);
    }
    // An op whose inputs are all known now (constants, or outputs of ops folded before it) is
    // evaluated once here. This is what resolves shape computations (SHAPE -> STRIDED_SLICE ->
    // PACK -> RESHAPE) before any data arrives, and turns float16 weights into float32 once.
    bool all_static = !op.inputs.empty();
    for (TensorRef* in : op_inputs_[i])
      if (in && !in->is_static) all_static = false;
    if (op.type == ir::OpType::kSHAPE) all_static = true;  // depends only on the (resolved) shape
    if (all_static) {
      op_static_[i] = true;
      for (size_t k = 0; k < op.outputs.size(); ++k) {
        TensorRef& out = *op_outputs_[i][k];
        const size_t bytes = out.bytes();
        static_storage_[op.outputs[k]].reset(new uint8_t[bytes > 0 ? bytes : 1]());
        out.data = static_storage_[op.outputs[k]].get();
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
  std::vector<PlannedBuffer> buffers;
  std::vector<int> buffer_tensor;
  for (int t = 0; t < nt; ++t) {
    if (!in_arena[t]) continue;
    buffers.push_back({refs_[t]->bytes(), first[t], std::max(last[t], first[t]), 0});
    buffer_tensor.push_back(t);
  }
  arena_bytes_ = PlanArena(buffers, kArenaAlignment);
  void* mem = std::aligned_alloc(kArenaAlignment, arena_bytes_ > 0 ? arena_bytes_ : kArenaAlignment);
  if (!mem) return Internal("{}: cannot allocate a {}-byte arena", ModelName(graph_), arena_bytes_);
  std::memset(mem, 0, arena_bytes_);
  arena_.reset(static_cast<uint8_t*>(mem));
  for (size_t b = 0; b < buffers.size(); ++b)
    refs_[buffer_tensor[b]]->data = arena_.get() + buffers[b].offset;
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
  if (bytes) std::memcpy(ref.data, data, bytes);
  return Status::Ok();
}

Status Interpreter::Invoke() {
  const int nops = static_cast<int>(graph_.ops.size());
  for (int i = 0; i < nops; ++i) {
    KernelArgs args = ArgsFor(i);
    if (!op_static_[i]) QL_RETURN_IF_ERROR(WithOpContext(kernels_[i]->Eval(args), args));
    if (!observers_.empty()) {
      std::span<const TensorRef* const> outs(op_outputs_[i].data(), op_outputs_[i].size());
      for (auto& obs : observers_) obs(graph_, i, outs);
    }
  }
  return Status::Ok();
}

}  // namespace ql::rt
