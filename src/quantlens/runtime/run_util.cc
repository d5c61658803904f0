#include "quantlens/runtime/run_util.h"

#include <map>

#include "quantlens/io/feed.h"

namespace ql::rt {
namespace {

bool IsKeras(const ir::Graph& g) {
  return g.format == ir::SourceFormat::kKerasH5 || g.format == ir::SourceFormat::kKerasV3;
}

io::Array CopyTensor(const TensorRef& ref) {
  io::Array a;
  a.dtype = ref.dtype();
  a.shape = ref.shape;
  if (ref.data && ir::DTypeSize(a.dtype) > 0) {
    const auto* p = static_cast<const uint8_t*>(ref.data);
    a.data.assign(p, p + ref.bytes());
  }
  return a;
}

// Per-key sample lists, in first-seen order so the archive follows execution order.
class Collector {
 public:
  void Add(const std::string& key, io::Array a) {
    auto [it, inserted] = index_.try_emplace(key, samples_.size());
    if (inserted) samples_.push_back({key, {}});
    samples_[it->second].second.push_back(std::move(a));
  }
  Result<std::vector<io::NamedArray>> Finish(int64_t num_samples) {
    std::vector<io::NamedArray> out;
    for (auto& [key, list] : samples_) {
      if (static_cast<int64_t>(list.size()) != num_samples) {
        return Internal("tensor '{}' was seen {} times over {} samples", key, list.size(), num_samples);
      }
      if (num_samples == 1) {
        out.push_back({key, std::move(list[0])});
        continue;
      }
      auto stacked = io::StackSamples(list);
      if (!stacked.ok()) return stacked.status().WithContext(fmt::format("tensor '{}': ", key));
      out.push_back({key, std::move(stacked).value()});
    }
    return out;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::pair<std::string, std::vector<io::Array>>> samples_;
};

}  // namespace

std::vector<std::string> TensorKeys(const ir::Graph& graph, int tensor_index) {
  std::vector<std::string> keys;
  if (IsKeras(graph)) {
    for (const ir::LayerOutput& lo : graph.layer_outputs) {
      if (lo.tensor == tensor_index) keys.push_back(fmt::format("layer/{}:{}", lo.layer, lo.node));
    }
    return keys;
  }
  const ir::Tensor& t = graph.tensors[tensor_index];
  // Tensors a pass created have no source index; name them by IR index so they stay distinct.
  keys.push_back(t.source_index >= 0 ? fmt::format("t{}", t.source_index)
                                     : fmt::format("ir{}", tensor_index));
  return keys;
}

Result<RunOutputs> RunSamples(Interpreter& interp, const std::vector<io::Array>& inputs,
                              const RunOptions& options) {
  const ir::Graph& g = interp.graph();
  if (static_cast<int>(inputs.size()) != interp.num_inputs()) {
    return InvalidArgument("{}: the model has {} input(s) but {} were given", g.source_path,
                           interp.num_inputs(), inputs.size());
  }
  // Work out N and each input's per-sample view.
  int64_t n = 1;
  std::vector<int64_t> counts(inputs.size());
  std::vector<io::InputSpec> specs;
  for (int i = 0; i < interp.num_inputs(); ++i) {
    const int t = g.inputs[i];
    specs.push_back(io::MakeInputSpec(g.tensors[t], i, interp.input(i).shape));
    QL_ASSIGN_OR_RETURN(counts[i], io::CountSamples(inputs[i], specs[i], g.source_path));
    if (counts[i] != 1) {
      if (n != 1 && n != counts[i]) {
        return InvalidArgument("{}: inputs hold different sample counts ({} and {}); give every input "
                               "the same count, or one sample",
                               g.source_path, n, counts[i]);
      }
      n = counts[i];
    }
  }

  Collector outputs, tensors;
  const bool keras = IsKeras(g);
  if (options.capture_all_tensors) {
    interp.AddObserver([&](const ir::Graph& graph, int op_index, std::span<const TensorRef* const> outs) {
      const ir::Op& op = graph.ops[op_index];
      for (size_t j = 0; j < outs.size() && j < op.outputs.size(); ++j) {
        if (!outs[j] || op.outputs[j] < 0) continue;
        for (const std::string& key : TensorKeys(graph, op.outputs[j])) tensors.Add(key, CopyTensor(*outs[j]));
      }
    });
  }
  // Always remove our observer: it captures locals of this call.
  struct ObserverGuard {
    Interpreter& interp;
    bool active;
    ~ObserverGuard() {
      if (active) interp.ClearObservers();
    }
  } guard{interp, options.capture_all_tensors};

  for (int64_t s = 0; s < n; ++s) {
    for (int i = 0; i < interp.num_inputs(); ++i) {
      const int64_t which = counts[i] == 1 ? 0 : s;
      io::Array sample = io::SliceSample(inputs[i], which, counts[i], specs[i].sample_shape);
      if (keras && options.capture_all_tensors) {
        // Input layers produce no op, so their layer outputs are the fed data itself.
        for (const std::string& key : TensorKeys(g, g.inputs[i])) tensors.Add(key, sample);
      }
      Status st = interp.SetInput(i, sample.data.data(), sample.data.size());
      if (!st.ok()) return st.WithContext(fmt::format("{}: {}: ", g.source_path, specs[i].label));
    }
    QL_RETURN_IF_ERROR(interp.Invoke());
    for (int k = 0; k < interp.num_outputs(); ++k) {
      outputs.Add(fmt::format("output{}", k), CopyTensor(interp.output(k)));
    }
    if (options.on_sample_done) options.on_sample_done(s + 1, n);
  }

  RunOutputs result;
  result.num_samples = n;
  QL_ASSIGN_OR_RETURN(result.outputs, outputs.Finish(n));
  if (options.capture_all_tensors) {
    QL_ASSIGN_OR_RETURN(result.tensors, tensors.Finish(n));
  }
  return result;
}

}  // namespace ql::rt
