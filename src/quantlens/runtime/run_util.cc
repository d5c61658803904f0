#include "quantlens/runtime/run_util.h"

#include <algorithm>
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

// An interpreter over the same graph running `batch` samples at once, if every input takes the
// batch and every output comes out as `batch` copies of the single-sample shape; else null.
std::unique_ptr<Interpreter> OpenBatched(const Interpreter& single, int batch) {
  InterpreterOptions o = single.options();
  o.batch = batch;
  auto b = Interpreter::Create(single.graph(), o);
  if (!b.ok()) return nullptr;
  for (int k = 0; k < single.num_outputs(); ++k) {
    const ir::Shape& one = single.output(k).shape;
    const ir::Shape& many = (*b)->output(k).shape;
    if (one.empty() || one[0] != 1 || many.size() != one.size() || many[0] != batch) return nullptr;
    for (size_t d = 1; d < one.size(); ++d)
      if (many[d] != one[d]) return nullptr;
  }
  return std::move(*b);
}

// Samples [s, s + count) of `a` (stacked on dim 0, `num` of them), or its one sample repeated.
void BatchBytes(const io::Array& a, int64_t num, int64_t s, int64_t count, std::vector<uint8_t>* out) {
  const size_t bytes = a.data.size() / static_cast<size_t>(num);
  out->resize(bytes * static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j) {
    const size_t from = num == 1 ? 0 : bytes * static_cast<size_t>(s + j);
    std::copy(a.data.begin() + static_cast<std::ptrdiff_t>(from),
              a.data.begin() + static_cast<std::ptrdiff_t>(from + bytes),
              out->begin() + static_cast<std::ptrdiff_t>(bytes * static_cast<size_t>(j)));
  }
}

// Sample j of a batched output, with the single-sample output's shape.
io::Array SliceBatch(const TensorRef& ref, const ir::Shape& one, int64_t j, int64_t batch) {
  io::Array a;
  a.dtype = ref.dtype();
  a.shape = one;
  const size_t bytes = ref.bytes() / static_cast<size_t>(batch);
  const auto* p = static_cast<const uint8_t*>(ref.data) + bytes * static_cast<size_t>(j);
  a.data.assign(p, p + bytes);
  return a;
}

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

  // One sample on the single-sample interpreter; its outputs go to `sink`.
  auto run_one = [&](int64_t s, std::vector<io::Array>* sink) -> Status {
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
    for (int k = 0; k < interp.num_outputs(); ++k) sink->push_back(CopyTensor(interp.output(k)));
    return Status::Ok();
  };

  std::unique_ptr<Interpreter> batched;
  const int64_t batch = options.batch;
  if (batch > 1 && n >= batch && !options.capture_all_tensors) batched = OpenBatched(interp, static_cast<int>(batch));
  bool verified = false;
  std::vector<uint8_t> feed;
  std::vector<io::Array> produced;
  int64_t s = 0;
  while (s < n) {
    produced.clear();
    int64_t count = 1;
    if (batched && s + batch <= n) {
      count = batch;
      for (int i = 0; i < interp.num_inputs(); ++i) {
        BatchBytes(inputs[i], counts[i], s, batch, &feed);
        Status st = batched->SetInput(i, feed.data(), feed.size());
        if (!st.ok()) return st.WithContext(fmt::format("{}: {}: ", g.source_path, specs[i].label));
      }
      QL_RETURN_IF_ERROR(batched->Invoke());
      for (int64_t j = 0; j < batch; ++j)
        for (int k = 0; k < interp.num_outputs(); ++k)
          produced.push_back(SliceBatch(batched->output(k), interp.output(k).shape, j, batch));
      if (!verified) {
        // The first batch is checked against single-sample runs: an op that mixes samples (a
        // RESHAPE that folds the batch away, say) shows as different bytes, and then every
        // sample runs alone.
        verified = true;
        std::vector<io::Array> singles;
        for (int64_t j = 0; j < batch; ++j) QL_RETURN_IF_ERROR(run_one(s + j, &singles));
        bool same = singles.size() == produced.size();
        for (size_t m = 0; same && m < singles.size(); ++m)
          same = singles[m].shape == produced[m].shape && singles[m].data == produced[m].data;
        if (!same) {
          batched.reset();
          produced = std::move(singles);
        }
      }
    } else {
      QL_RETURN_IF_ERROR(run_one(s, &produced));
    }
    for (int64_t j = 0; j < count; ++j) {
      for (int k = 0; k < interp.num_outputs(); ++k)
        outputs.Add(fmt::format("output{}", k), std::move(produced[static_cast<size_t>(j * interp.num_outputs() + k)]));
      if (options.on_sample_done) options.on_sample_done(s + j + 1, n);
    }
    s += count;
  }

  RunOutputs result;
  result.num_samples = n;
  result.batch = batched ? static_cast<int>(batch) : 1;
  QL_ASSIGN_OR_RETURN(result.outputs, outputs.Finish(n));
  if (options.capture_all_tensors) {
    QL_ASSIGN_OR_RETURN(result.tensors, tensors.Finish(n));
  }
  return result;
}

}  // namespace ql::rt
