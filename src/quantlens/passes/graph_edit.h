// Small utilities for rewriting an ir::Graph in place: who produces and who reads a tensor,
// redirecting uses, adding and removing tensors and ops, and Compact(), which drops tensors
// nothing refers to any more and renumbers every index. Passes (legalization, quantization) build
// on these so that index bookkeeping lives in one tested place.
//
// Conventions: op indices are positions in g.ops (execution order) and change when ops are
// inserted or removed; tensor indices only change in Compact(). Functions that take indices check
// them and never crash on a malformed graph: lookups return -1 / empty, edits return a Status.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantlens/ir/graph.h"
#include "quantlens/util/status.h"

namespace ql::passes {

// Index of the op that writes `tensor`, or -1 (graph input, constant, unused or out of range).
// If several ops claim it (an invalid graph), the first one.
int ProducerOf(const ir::Graph& g, int tensor);
// Indices of the ops that read `tensor`, in execution order, each op once even if it reads the
// tensor through several inputs.
std::vector<int> ConsumersOf(const ir::Graph& g, int tensor);
// Number of reads of `tensor` by ops, counting an op once per input slot that names it.
int NumUses(const ir::Graph& g, int tensor);
bool IsGraphOutput(const ir::Graph& g, int tensor);
bool IsGraphInput(const ir::Graph& g, int tensor);

// Producer of every tensor (-1 where none) and consumers of every tensor, computed once for
// passes that query many tensors. Stale after any edit: rebuild it.
struct UseDef {
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;  // op indices, execution order, unique
};
UseDef BuildUseDef(const ir::Graph& g);

// Which references ReplaceAllUses rewrites.
struct ReplaceScope {
  bool op_inputs = true;
  bool graph_outputs = true;
  bool layer_outputs = true;
};

// Makes every reference to tensor `from` refer to `to` instead: op inputs, graph outputs and
// layer_outputs entries (as selected by `scope`). Op outputs are never rewritten. Ops at index
// `skip_op` (e.g. the op producing `to` from `from`) keep their inputs. Returns the number of
// references rewritten, or an error if an index is out of range.
Result<int> ReplaceAllUses(ir::Graph& g, int from, int to, int skip_op = -1,
                           const ReplaceScope& scope = {});

// A new op (version 0: the TFLite writer computes versions for ops passes create).
ir::Op NewOp(ir::OpType type, std::vector<int> inputs, std::vector<int> outputs, ir::Attrs attrs,
             const std::string& layer);

// Appends a tensor; returns its index.
int AddTensor(ir::Graph& g, ir::Tensor t);
// Appends a float32 activation tensor (no data).
int AddFloatTensor(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                   const std::string& layer = "", int layer_node = 0);
// Appends a constant tensor holding `values` (shape product must equal values.size()).
Result<int> AddFloatConstant(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                             std::span<const float> values, const std::string& layer = "");
Result<int> AddInt32Constant(ir::Graph& g, const std::string& name, const ir::Shape& shape,
                             std::span<const int32_t> values, const std::string& layer = "");

// Inserts `op` before op index `position` (position == g.ops.size() or -1 appends). Returns the
// index it got.
Result<int> InsertOp(ir::Graph& g, ir::Op op, int position = -1);
// Replaces op `op_index` with `replacement` (possibly empty or several ops, in order).
Status ReplaceOp(ir::Graph& g, int op_index, std::vector<ir::Op> replacement);
// Removes the listed ops (any order, duplicates allowed). Their output tensors stay in g.tensors
// until Compact(); callers first redirect uses of those outputs.
Status RemoveOps(ir::Graph& g, std::span<const int> op_indices);
// Removes ops none of whose outputs is read by another op or is a graph output, repeatedly (a
// chain of dead ops goes at once). layer_outputs do not keep an op alive. Returns how many went.
int RemoveDeadOps(ir::Graph& g);

// Drops every tensor that no op reads or writes and that is no graph input or output, then
// renumbers all tensor indices (op inputs/outputs, graph inputs/outputs, layer_outputs) keeping
// the surviving tensors in their old order. layer_outputs entries whose tensor was dropped are
// removed. Returns the map old index -> new index (-1: dropped); error if the graph refers to a
// tensor index out of range (nothing is changed then).
Result<std::vector<int>> Compact(ir::Graph& g);

// Float contents of a float32 constant (empty if it is not one).
std::vector<float> FloatData(const ir::Tensor& t);
// Makes `t` a float32 constant holding `values` with `shape`; error if the sizes differ.
Status SetFloatData(ir::Tensor& t, const ir::Shape& shape, std::span<const float> values);

// `base` if no tensor is named so, otherwise "base_1", "base_2", ... (the first free one).
std::string UniqueTensorName(const ir::Graph& g, const std::string& base);

}  // namespace ql::passes
