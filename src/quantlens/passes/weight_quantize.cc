// Weight-only conversions: float16 weights and dynamic range (int8 weights, float activations).
// Both keep the float graph's ops and tensors and only replace constant operands, so tensor
// indices of activations, graph inputs/outputs and the layer map are unchanged.
#include <cstring>

#include "quantlens/passes/quant_params.h"
#include "quantlens/passes/quantize.h"

namespace ql::passes {
namespace {

using ir::DType;
using ir::OpType;

std::span<const float> FloatData(const ir::Tensor& t) {
  return {reinterpret_cast<const float*>(t.data.data()), t.data.size() / sizeof(float)};
}

void CountOps(const ir::Graph& g, QuantizeReport* report, const char* weights) {
  if (!report) return;
  for (const ir::Op& op : g.ops) {
    std::string prec = "float32";
    if (op.type == OpType::kDEQUANTIZE) prec = "conversion";
    else
      for (int t : op.inputs)
        if (t >= 0 && g.tensors[t].is_constant &&
            (g.tensors[t].dtype == DType::kInt8))
          prec = weights;
    ++report->op_counts[{std::string(ir::OpTypeName(op.type)), prec}];
  }
}

}  // namespace

Result<ir::Graph> ConvertFloat16Weights(const ir::Graph& float_graph, QuantizeReport* report) {
  ir::Graph g = float_graph;
  // TensorFlow's converter puts one DEQUANTIZE per float16 constant at the start of the graph:
  // the runtime evaluates them once at prepare time.
  std::vector<ir::Op> dequantize;
  std::vector<int> replaced(g.tensors.size(), -1);
  const size_t n = g.tensors.size();
  for (size_t t = 0; t < n; ++t) {
    if (!g.tensors[t].is_constant || g.tensors[t].dtype != DType::kFloat32) continue;
    bool used = false;
    for (const ir::Op& op : g.ops)
      for (int i : op.inputs) used |= i == static_cast<int>(t);
    if (!used) continue;
    ir::Tensor half;
    half.name = g.tensors[t].name;
    half.dtype = DType::kFloat16;
    half.shape = g.tensors[t].shape;
    half.layer = g.tensors[t].layer;
    half.is_constant = true;
    const auto f = FloatData(g.tensors[t]);
    half.data.resize(f.size() * 2);
    for (size_t i = 0; i < f.size(); ++i) {
      const uint16_t h = FloatToHalf(f[i]);
      std::memcpy(half.data.data() + 2 * i, &h, 2);
    }
    g.tensors.push_back(std::move(half));
    const int h = static_cast<int>(g.tensors.size()) - 1;
    // The float32 tensor becomes DEQUANTIZE's output: every consumer keeps its index.
    ir::Tensor& out = g.tensors[t];
    out.is_constant = false;
    out.data.clear();
    out.name += "_dequantized";
    ir::Op op;
    op.type = OpType::kDEQUANTIZE;
    op.version = 0;
    op.inputs = {h};
    op.outputs = {static_cast<int>(t)};
    op.layer = out.layer;
    dequantize.push_back(std::move(op));
    replaced[t] = h;
  }
  for (ir::Op& op : g.ops) op.source_index = -1;
  g.ops.insert(g.ops.begin(), dequantize.begin(), dequantize.end());
  QL_RETURN_IF_ERROR(ir::VerifyGraph(g));
  CountOps(g, report, "int8");
  return g;
}

Result<ir::Graph> ConvertDynamicRange(const ir::Graph& float_graph, bool per_channel,
                                      int64_t min_elements, QuantizeReport* report) {
  ir::Graph g = float_graph;
  std::vector<int> done(g.tensors.size(), 0);
  for (ir::Op& op : g.ops) {
    op.source_index = -1;
    if (op.type != OpType::kCONV_2D && op.type != OpType::kDEPTHWISE_CONV_2D &&
        op.type != OpType::kFULLY_CONNECTED)
      continue;
    if (op.inputs.size() < 2 || op.inputs[1] < 0) continue;
    const int w = op.inputs[1];
    ir::Tensor& wt = g.tensors[w];
    if (!wt.is_constant || wt.dtype != DType::kFloat32) continue;
    if (static_cast<int64_t>(wt.data.size() / 4) < min_elements) continue;
    if (op.inputs[0] < 0 || g.tensors[op.inputs[0]].dtype != DType::kFloat32) continue;
    int axis = -1;
    if (per_channel && op.type == OpType::kCONV_2D) axis = 0;
    if (per_channel && op.type == OpType::kDEPTHWISE_CONV_2D) axis = 3;
    // The weights may be shared by several ops: quantize once.
    if (!done[w]) {
      QuantizedWeights q = QuantizeWeightsSymmetric(FloatData(wt), wt.shape, axis);
      wt.dtype = DType::kInt8;
      wt.data.assign(reinterpret_cast<const uint8_t*>(q.values.data()),
                     reinterpret_cast<const uint8_t*>(q.values.data()) + q.values.size());
      wt.quant.scale = q.scales;
      wt.quant.zero_point.assign(q.scales.size(), 0);
      wt.quant.axis = q.scales.size() > 1 ? q.axis : 0;
      done[w] = 1;
    }
    // Rows quantized with their own zero point lose less than symmetric rows; TensorFlow's
    // converter sets this for dynamic-range FULLY_CONNECTED as well.
    if (auto* fc = std::get_if<ir::FullyConnectedAttrs>(&op.attrs))
      fc->asymmetric_quantize_inputs = true;
    op.version = 0;
  }
  QL_RETURN_IF_ERROR(ir::VerifyGraph(g));
  CountOps(g, report, "int8-weights");
  return g;
}

}  // namespace ql::passes
