// Static evidence about a layer's weights, read from the candidate alone: how many quantization
// levels each output channel's weights use, and whether float16 weights overflowed. A per-tensor
// scale shared by channels of very different ranges (a depthwise conv with one outlier channel)
// leaves most channels a handful of levels; the mean over channels of each channel's rounding
// noise relative to its power says how much that costs.
#include <cmath>
#include <limits>

#include "quantlens/analysis/analysis_internal.h"
#include "quantlens/io/results.h"
#include "quantlens/passes/graph_edit.h"

namespace ql::analysis {

namespace {

bool PassThrough(ir::OpType t) {
  using T = ir::OpType;
  // Ops that follow a weighted op within one Keras layer (a Dense with softmax, an unfused
  // activation) or only change representation.
  return t == T::kQUANTIZE || t == T::kDEQUANTIZE || t == T::kRESHAPE || t == T::kRELU ||
         t == T::kRELU6 || t == T::kRELU_N1_TO_1 || t == T::kSOFTMAX || t == T::kLOGISTIC || t == T::kTANH;
}

bool HasWeights(ir::OpType t) {
  using T = ir::OpType;
  return t == T::kCONV_2D || t == T::kDEPTHWISE_CONV_2D || t == T::kFULLY_CONNECTED ||
         t == T::kTRANSPOSE_CONV;
}

}  // namespace

std::optional<WeightEvidence> WeightEvidenceFor(const ir::Graph& g, const passes::UseDef& ud, int tensor) {
  if (tensor < 0 || tensor >= static_cast<int>(ud.producer.size())) return std::nullopt;
  int op = ud.producer[tensor];
  for (int hops = 0; op >= 0 && hops < 4 && !HasWeights(g.ops[op].type); ++hops) {
    if (!PassThrough(g.ops[op].type) || g.ops[op].inputs.empty() || g.ops[op].inputs[0] < 0) return std::nullopt;
    op = ud.producer[g.ops[op].inputs[0]];
  }
  if (op < 0 || !HasWeights(g.ops[op].type) || g.ops[op].inputs.size() < 2 || g.ops[op].inputs[1] < 0)
    return std::nullopt;
  int w = g.ops[op].inputs[1];
  if (!g.tensors[w].is_constant) {
    // float16 weights reach the op through a DEQUANTIZE of the float16 constant.
    const int p = ud.producer[w];
    if (p < 0 || g.ops[p].type != ir::OpType::kDEQUANTIZE || g.ops[p].inputs.empty() ||
        g.ops[p].inputs[0] < 0 || !g.tensors[g.ops[p].inputs[0]].is_constant)
      return std::nullopt;
    w = g.ops[p].inputs[0];
  }
  const ir::Tensor& wt = g.tensors[w];
  const bool float16 = wt.dtype == ir::DType::kFloat16;
  const bool quantized = ir::IsInteger(wt.dtype) && !wt.quant.empty() && wt.quant.scale[0] > 0;
  if (!float16 && !quantized) return std::nullopt;
  io::Array a;
  a.dtype = wt.dtype;
  a.shape = wt.shape;
  a.data = wt.data;
  auto values = io::Dequantize(a, wt.quant);
  if (!values.ok() || wt.shape.empty()) return std::nullopt;

  WeightEvidence e;
  e.tensor = wt.name;
  // Output channels: the last axis of a depthwise filter [1, H, W, C], the first of the others.
  const bool depthwise = g.ops[op].type == ir::OpType::kDEPTHWISE_CONV_2D;
  int axis = depthwise ? static_cast<int>(wt.shape.size()) - 1 : 0;
  if (wt.quant.per_axis()) axis = wt.quant.axis;
  const int64_t channels = wt.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < wt.shape.size(); ++d) inner *= wt.shape[d];
  if (channels <= 0 || inner <= 0) return std::nullopt;
  e.channels = channels;
  std::vector<double> power(channels, 0), peak(channels, 0);
  std::vector<int64_t> count(channels, 0);
  for (size_t i = 0; i < values->size(); ++i) {
    const double v = (*values)[i];
    if (!std::isfinite(v)) {
      ++e.float16_overflow;
      continue;
    }
    const int64_t c = (static_cast<int64_t>(i) / inner) % channels;
    power[c] += v * v;
    peak[c] = std::max(peak[c], std::fabs(v));
    ++count[c];
  }
  if (float16) {
    e.sqnr_db = std::numeric_limits<double>::infinity();
    e.worst_channel_sqnr_db = e.sqnr_db;
    return e;
  }
  e.per_tensor = wt.quant.scale.size() == 1 && channels > 1;
  double nsr_sum = 0, worst_nsr = -1;
  int64_t used = 0;
  for (int64_t c = 0; c < channels; ++c) {
    if (count[c] == 0 || power[c] <= 0) continue;
    const double step = wt.quant.scale[wt.quant.scale.size() == 1 ? 0 : static_cast<size_t>(c)];
    // Uniform rounding noise (step^2 / 12) against the channel's mean power.
    const double nsr = step * step / 12.0 / (power[c] / static_cast<double>(count[c]));
    nsr_sum += nsr;
    ++used;
    if (nsr > worst_nsr) {
      worst_nsr = nsr;
      e.worst_channel = c;
      e.worst_channel_levels = peak[c] / step;
    }
  }
  if (used == 0) return std::nullopt;
  e.sqnr_db = -10.0 * std::log10(nsr_sum / static_cast<double>(used));
  e.worst_channel_sqnr_db = -10.0 * std::log10(worst_nsr);
  return e;
}

}  // namespace ql::analysis
