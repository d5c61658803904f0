#include "quantlens/analysis/layer_compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "quantlens/io/results.h"
#include "quantlens/runtime/interpreter.h"

namespace ql::analysis {
namespace {

// Element count with open (negative) dimensions taken as 1: batch 1.
int64_t Batch1Elements(const ir::Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d < 0 ? 1 : d;
  return n;
}

// Position of each tensor in execution order: graph inputs first (by input index), then op
// outputs by op index and output position. Constants and unproduced tensors are absent.
std::map<int, int64_t> ExecutionOrder(const ir::Graph& g) {
  std::map<int, int64_t> order;
  int64_t pos = 0;
  for (int t : g.inputs) order.emplace(t, pos++);
  for (const ir::Op& op : g.ops)
    for (int t : op.outputs)
      if (t >= 0) order.emplace(t, pos++);
  return order;
}

// Path segments of a TensorFlow converter name: "model/conv2d_3/Relu;model/bn_3/Fused" gives
// {model, conv2d_3, Relu, model, bn_3, Fused}.
std::vector<std::string> NameSegments(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : name) {
    if (c == '/' || c == ';') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string LayerLabel(const ir::LayerOutput& lo) {
  return lo.node == 0 ? lo.layer : fmt::format("{} (node {})", lo.layer, lo.node);
}

// Dequantized copy of a runtime tensor (float tensors pass through as values).
Result<std::vector<float>> Floats(const rt::TensorRef& t) {
  io::Array a;
  a.dtype = t.dtype();
  a.shape = t.shape;
  const auto* p = static_cast<const uint8_t*>(t.data);
  a.data.assign(p, p + t.bytes());
  QL_ASSIGN_OR_RETURN(std::vector<double> d, io::Dequantize(a, t.quant()));
  return std::vector<float>(d.begin(), d.end());
}

double Drop(double prev, double cur) {
  if (std::isinf(prev) && std::isinf(cur)) return 0;
  return prev - cur;
}

}  // namespace

std::string_view AlignMethodName(AlignMethod m) {
  switch (m) {
    case AlignMethod::kLayerMap: return "layer-map";
    case AlignMethod::kTensorName: return "tensor-name";
    case AlignMethod::kConverterName: return "converter-name";
    case AlignMethod::kGraphIO: return "graph-io";
  }
  return "?";
}

Result<LayerAlignment> AlignLayers(const ir::Graph& reference, const ir::Graph& candidate) {
  if (reference.layer_outputs.empty())
    return InvalidArgument("{}: the reference has no layer outputs (a Keras model, or a .tflite "
                           "written by `quantlens convert`, has them)", reference.source_path);
  const std::map<int, int64_t> ref_order = ExecutionOrder(reference);
  const std::map<int, int64_t> cand_order = ExecutionOrder(candidate);

  // Reference layer outputs in execution order.
  std::vector<const ir::LayerOutput*> ref_layers;
  LayerAlignment out;
  for (const ir::LayerOutput& lo : reference.layer_outputs) {
    if (lo.tensor < 0 || lo.tensor >= static_cast<int>(reference.tensors.size()) ||
        !ref_order.count(lo.tensor)) {
      out.unaligned_reference.push_back({LayerLabel(lo), "its output is not computed by the reference"});
      continue;
    }
    ref_layers.push_back(&lo);
  }
  std::stable_sort(ref_layers.begin(), ref_layers.end(), [&](const auto* a, const auto* b) {
    return ref_order.at(a->tensor) < ref_order.at(b->tensor);
  });
  // Latest execution position of each layer name (node 0 for name-based matching).
  std::map<std::string, int64_t> layer_pos;
  for (const auto* lo : ref_layers) layer_pos[lo->layer] = ref_order.at(lo->tensor);

  // Candidate layer map, by (layer, node).
  std::map<std::pair<std::string, int>, int> cand_map;
  for (const ir::LayerOutput& lo : candidate.layer_outputs)
    if (lo.tensor >= 0 && cand_order.count(lo.tensor)) cand_map[{lo.layer, lo.node}] = lo.tensor;

  // Name-based candidates per layer: exact names, and converter names attributed to the layer
  // executed last among those they name. Kept in candidate execution order.
  std::map<std::string, std::vector<int>> exact, converter;
  std::set<int> attributed;
  for (const auto& [t, pos] : cand_order) {
    const std::string& name = candidate.tensors[t].name;
    if (layer_pos.count(name)) {
      exact[name].push_back(t);
      attributed.insert(t);
      continue;
    }
    // TensorFlow names a fused op's result by the outermost op first ("model/activation_1/Relu;
    // model/batch_normalization_1/...;model/conv2d_1/BiasAdd;model/conv2d_2/Conv2D" is
    // activation_1's output; later parts may name weights of other layers): the first layer named.
    for (const std::string& seg : NameSegments(name)) {
      if (layer_pos.count(seg)) {
        converter[seg].push_back(t);
        attributed.insert(t);
        break;
      }
    }
  }
  auto by_cand_order = [&](std::vector<int>& v) {
    std::sort(v.begin(), v.end(), [&](int a, int b) { return cand_order.at(a) < cand_order.at(b); });
  };
  for (auto& [k, v] : exact) by_cand_order(v);
  for (auto& [k, v] : converter) by_cand_order(v);

  // Graph inputs and outputs align by position when their sizes agree.
  std::map<int, int> io_pair;
  if (reference.inputs.size() == candidate.inputs.size())
    for (size_t i = 0; i < reference.inputs.size(); ++i) io_pair[reference.inputs[i]] = candidate.inputs[i];
  if (reference.outputs.size() == candidate.outputs.size()) {
    std::map<int, const ir::Op*> producer;
    for (const ir::Op& op : reference.ops)
      for (int t : op.outputs) producer[t] = &op;
    for (size_t i = 0; i < reference.outputs.size(); ++i) {
      // A quantized reference's layer output may reach the graph output through (DE)QUANTIZE
      // ops (a `quantlens convert` file maps "dense" to "dense_int8"): same values, same output.
      int t = reference.outputs[i];
      for (size_t hops = 0; hops <= reference.ops.size(); ++hops) {
        io_pair.emplace(t, candidate.outputs[i]);
        auto it = producer.find(t);
        if (it == producer.end() || it->second->inputs.empty() || it->second->inputs[0] < 0 ||
            (it->second->type != ir::OpType::kQUANTIZE && it->second->type != ir::OpType::kDEQUANTIZE))
          break;
        t = it->second->inputs[0];
      }
    }
  }

  std::set<std::pair<std::string, int>> used_map;
  for (const auto* lo : ref_layers) {
    const int64_t want = Batch1Elements(reference.tensors[lo->tensor].shape);
    auto matches = [&](int t) { return Batch1Elements(candidate.tensors[t].shape) == want; };
    LayerPair p{lo->layer, lo->node, lo->tensor, -1, AlignMethod::kLayerMap};
    std::string reason = candidate.layer_outputs.empty()
                             ? "no candidate tensor is named after it"
                             : "not in the candidate's layer map (fused into another layer?)";
    if (auto it = cand_map.find({lo->layer, lo->node}); it != cand_map.end()) {
      used_map.insert(it->first);
      if (matches(it->second)) {
        p.candidate_tensor = it->second;
      } else {
        reason = fmt::format("the candidate's layer map gives '{}' with shape {}, the reference has {}",
                             candidate.tensors[it->second].name,
                             ir::ShapeToString(candidate.tensors[it->second].shape),
                             ir::ShapeToString(reference.tensors[lo->tensor].shape));
      }
    } else if (auto io = io_pair.find(lo->tensor);
               candidate.layer_outputs.empty() && io != io_pair.end() && matches(io->second)) {
      p.candidate_tensor = io->second;
      p.method = AlignMethod::kGraphIO;
    } else if (candidate.layer_outputs.empty() && lo->node == 0) {
      // The last-computed tensor of the right size: a layer's later tensors are its output.
      for (auto [table, method] : {std::pair{&exact, AlignMethod::kTensorName},
                                   std::pair{&converter, AlignMethod::kConverterName}}) {
        auto it = table->find(lo->layer);
        if (it == table->end()) continue;
        for (auto t = it->second.rbegin(); t != it->second.rend(); ++t) {
          if (matches(*t)) {
            p.candidate_tensor = *t;
            p.method = method;
            break;
          }
        }
        if (p.candidate_tensor >= 0) break;
        reason = fmt::format("candidate tensors naming it ('{}') differ in size from {}",
                             candidate.tensors[it->second.back()].name,
                             ir::ShapeToString(reference.tensors[lo->tensor].shape));
      }
    }
    if (p.candidate_tensor >= 0) {
      out.pairs.push_back(std::move(p));
    } else {
      out.unaligned_reference.push_back({LayerLabel(*lo), reason});
    }
  }
  // Candidate side: layer-map entries no reference layer took; without a map, computed tensors
  // that name no reference layer (graph inputs and outputs included).
  if (!candidate.layer_outputs.empty()) {
    for (const ir::LayerOutput& lo : candidate.layer_outputs)
      if (!used_map.count({lo.layer, lo.node}))
        out.unaligned_candidate.push_back({LayerLabel(lo), "no reference layer of this name"});
  } else {
    std::set<int> paired;
    for (const LayerPair& p : out.pairs) paired.insert(p.candidate_tensor);
    std::vector<int> rest;
    for (const auto& [t, pos] : cand_order)
      if (!paired.count(t) && !attributed.count(t) && !candidate.tensors[t].is_constant) rest.push_back(t);
    by_cand_order(rest);
    for (int t : rest)
      out.unaligned_candidate.push_back({candidate.tensors[t].name, "names no reference layer"});
  }
  return out;
}

Result<LayerCompareResult> CompareLayers(const ir::Graph& reference, const ir::Graph& candidate,
                                         const CompareOptions& options) {
  QL_ASSIGN_OR_RETURN(LayerAlignment align, AlignLayers(reference, candidate));
  QL_ASSIGN_OR_RETURN(auto model_pair, ModelPair::Open(reference, candidate, options, /*same_outputs=*/false));
  rt::Interpreter& ref = model_pair->reference();
  rt::Interpreter& cand = model_pair->candidate();

  const size_t n = align.pairs.size();
  // One sample's captured values per pair; which pairs each tensor feeds.
  std::vector<std::vector<float>> ref_vals(n), cand_vals(n);
  std::vector<bool> ref_got(n), cand_got(n);
  std::multimap<int, size_t> ref_slots, cand_slots;
  for (size_t i = 0; i < n; ++i) {
    ref_slots.emplace(align.pairs[i].reference_tensor, i);
    cand_slots.emplace(align.pairs[i].candidate_tensor, i);
  }
  Status capture_error;
  auto capture = [&capture_error](const std::multimap<int, size_t>& slots,
                                  std::vector<std::vector<float>>& vals, std::vector<bool>& got,
                                  int tensor, const rt::TensorRef& t) {
    auto [b, e] = slots.equal_range(tensor);
    if (b == e || !capture_error.ok()) return;
    auto f = Floats(t);
    if (!f.ok()) {
      capture_error = f.status().WithContext(fmt::format("tensor '{}': ", t.info->name));
      return;
    }
    for (auto it = b; it != e; ++it) {
      vals[it->second] = *f;
      got[it->second] = true;
    }
  };
  auto observer = [&](const std::multimap<int, size_t>& slots, std::vector<std::vector<float>>& vals,
                      std::vector<bool>& got) {
    return [&, slots_p = &slots, vals_p = &vals, got_p = &got](
               const ir::Graph& g, int op, std::span<const rt::TensorRef* const> outs) {
      for (size_t k = 0; k < outs.size() && k < g.ops[op].outputs.size(); ++k)
        capture(*slots_p, *vals_p, *got_p, g.ops[op].outputs[k], *outs[k]);
    };
  };
  ref.AddObserver(observer(ref_slots, ref_vals, ref_got));
  cand.AddObserver(observer(cand_slots, cand_vals, cand_got));

  io::SampleSource& source = model_pair->source();

  LayerCompareResult res;
  res.data_description = source.description();
  res.num_samples = source.num_samples();
  res.unaligned_reference = std::move(align.unaligned_reference);
  res.unaligned_candidate = std::move(align.unaligned_candidate);
  std::vector<OutputAccumulator> acc(n);
  std::vector<bool> dead(n);  // pairs whose values could not be compared (reason below)
  std::vector<std::string> dead_reason(n);
  for (int64_t s = 0; s < res.num_samples; ++s) {
    std::fill(ref_got.begin(), ref_got.end(), false);
    std::fill(cand_got.begin(), cand_got.end(), false);
    QL_RETURN_IF_ERROR(model_pair->Feed(s));
    for (int i = 0; i < ref.num_inputs(); ++i) {
      capture(ref_slots, ref_vals, ref_got, reference.inputs[i], ref.input(i));
      capture(cand_slots, cand_vals, cand_got, candidate.inputs[i], cand.input(i));
    }
    QL_RETURN_IF_ERROR(ref.Invoke().WithContext("reference: "));
    QL_RETURN_IF_ERROR(cand.Invoke().WithContext("candidate: "));
    QL_RETURN_IF_ERROR(capture_error);
    for (size_t i = 0; i < n; ++i) {
      if (dead[i]) continue;
      if (!ref_got[i] || !cand_got[i]) {
        dead[i] = true;
        dead_reason[i] = fmt::format("the {} never computed it", ref_got[i] ? "candidate" : "reference");
      } else if (ref_vals[i].size() != cand_vals[i].size()) {
        dead[i] = true;
        dead_reason[i] = fmt::format("at run time the reference gives {} values and the candidate {}",
                                     ref_vals[i].size(), cand_vals[i].size());
      } else {
        acc[i].Add(s, ref_vals[i], cand_vals[i]);
      }
    }
    if (options.progress) options.progress(s + 1, res.num_samples);
  }
  double prev = 0;
  bool have_prev = false;
  for (size_t i = 0; i < n; ++i) {
    const LayerPair& p = align.pairs[i];
    if (dead[i]) {
      res.unaligned_reference.push_back({p.layer, dead_reason[i]});
      continue;
    }
    LayerComparison lc;
    lc.pair = p;
    lc.candidate_name = candidate.tensors[p.candidate_tensor].name;
    lc.candidate_dtype = candidate.tensors[p.candidate_tensor].dtype;
    lc.metrics = acc[i].Finish();
    lc.sqnr_drop_db = have_prev ? Drop(prev, lc.metrics.sqnr_db) : 0;
    prev = lc.metrics.sqnr_db;
    have_prev = true;
    res.layers.push_back(std::move(lc));
  }
  return res;
}

std::vector<size_t> WorstSqnrDrops(const LayerCompareResult& result, size_t k) {
  std::vector<size_t> idx(result.layers.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return result.layers[a].sqnr_drop_db > result.layers[b].sqnr_drop_db;
  });
  if (idx.size() > k) idx.resize(k);
  return idx;
}

}  // namespace ql::analysis
