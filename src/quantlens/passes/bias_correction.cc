#include "quantlens/passes/bias_correction.h"

#include <set>

#include "quantlens/runtime/interpreter.h"

namespace ql::passes {

Result<std::map<int, std::vector<double>>> MeasureInputChannelMeans(const ir::Graph& g,
                                                                    io::SampleSource& samples) {
  // Which tensors to watch: the activation input of every weighted op.
  std::set<int> watched;
  for (const ir::Op& op : g.ops)
    if ((op.type == ir::OpType::kCONV_2D || op.type == ir::OpType::kDEPTHWISE_CONV_2D ||
         op.type == ir::OpType::kFULLY_CONNECTED) &&
        !op.inputs.empty() && op.inputs[0] >= 0 && g.tensors[op.inputs[0]].dtype == ir::DType::kFloat32)
      watched.insert(op.inputs[0]);
  std::map<int, std::vector<double>> sums;
  std::map<int, int64_t> counts;
  auto add = [&](int t, const rt::TensorRef& ref) {
    if (!watched.count(t) || ref.shape.empty() || !ref.data) return;
    const int64_t c = ref.shape.back();
    const int64_t n = ref.num_elements();
    if (c <= 0 || n <= 0) return;
    auto& s = sums[t];
    s.resize(static_cast<size_t>(c), 0.0);
    const float* p = ref.as<float>();
    for (int64_t i = 0; i < n; ++i) s[static_cast<size_t>(i % c)] += p[i];
    counts[t] += n / c;
  };
  QL_ASSIGN_OR_RETURN(auto interp, rt::Interpreter::Create(g));
  interp->AddObserver([&](const ir::Graph& graph, int op_index, std::span<const rt::TensorRef* const> outs) {
    const ir::Op& op = graph.ops[op_index];
    for (size_t k = 0; k < outs.size() && k < op.outputs.size(); ++k)
      if (outs[k]) add(op.outputs[k], *outs[k]);
  });
  for (int64_t s = 0; s < samples.num_samples(); ++s) {
    QL_ASSIGN_OR_RETURN(std::vector<io::Array> in, samples.Get(s));
    for (int i = 0; i < interp->num_inputs() && i < static_cast<int>(in.size()); ++i) {
      QL_RETURN_IF_ERROR(interp->SetInput(i, in[i].data.data(), in[i].data.size()));
      add(g.inputs[i], interp->input(i));  // graph inputs are no op's output
    }
    QL_RETURN_IF_ERROR(interp->Invoke());
  }
  for (auto& [t, s] : sums)
    for (double& v : s) v /= static_cast<double>(std::max<int64_t>(counts[t], 1));
  return sums;
}

std::vector<double> ExpectedOutputShift(ir::OpType type, const ir::Shape& ws, std::span<const float> w,
                                        std::span<const float> dq, const std::vector<double>& mean) {
  std::vector<double> shift;
  if (type == ir::OpType::kDEPTHWISE_CONV_2D) {
    // [1, kh, kw, in * mult]: output channel c reads input channel c / mult.
    if (ws.size() != 4) return shift;
    const int64_t out_c = ws[3], taps = ws[1] * ws[2];
    const int64_t in_c = static_cast<int64_t>(mean.size());
    if (in_c <= 0 || out_c % in_c != 0) return shift;
    const int64_t mult = out_c / in_c;
    shift.assign(static_cast<size_t>(out_c), 0.0);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c = 0; c < out_c; ++c) {
        const size_t k = static_cast<size_t>(t * out_c + c);
        shift[c] += (double{dq[k]} - double{w[k]}) * mean[static_cast<size_t>(c / mult)];
      }
    return shift;
  }
  // CONV_2D [out, kh, kw, in] and FULLY_CONNECTED [out, in]: the innermost axis is the input channel.
  if (ws.empty()) return shift;
  const int64_t out_c = ws[0];
  const int64_t per_out = out_c > 0 ? static_cast<int64_t>(w.size()) / out_c : 0;
  const int64_t in_c = ws.back();
  if (in_c != static_cast<int64_t>(mean.size()) || per_out <= 0) return shift;
  shift.assign(static_cast<size_t>(out_c), 0.0);
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t k = 0; k < per_out; ++k) {
      const size_t idx = static_cast<size_t>(o * per_out + k);
      shift[o] += (double{dq[idx]} - double{w[idx]}) * mean[static_cast<size_t>(k % in_c)];
    }
  return shift;
}

}  // namespace ql::passes
