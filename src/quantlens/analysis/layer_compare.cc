#include "quantlens/analysis/layer_compare.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>


namespace ql::analysis {
namespace {

// Element count with open (negative) dimensions taken as 1: batch 1.
int64_t Batch1Elements(const ir::Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d < 0 ? 1 : d;
  return n;
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

}  // namespace

std::map<int, int64_t> ExecutionOrder(const ir::Graph& g) {
  std::map<int, int64_t> order;
  int64_t pos = 0;
  for (int t : g.inputs) order.emplace(t, pos++);
  for (const ir::Op& op : g.ops)
    for (int t : op.outputs)
      if (t >= 0) order.emplace(t, pos++);
  return order;
}

std::string_view AlignMethodName(AlignMethod m) {
  switch (m) {
    case AlignMethod::kLayerMap: return "layer-map";
    case AlignMethod::kTensorName: return "tensor-name";
    case AlignMethod::kConverterName: return "converter-name";
    case AlignMethod::kGraphIO: return "graph-io";
    case AlignMethod::kValueCorrelation: return "value-correlation";
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
      out.unaligned_reference.push_back({LayerLabel(lo), "its output is not computed by the reference", lo.layer, lo.node, -1});
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
      out.unaligned_reference.push_back({LayerLabel(*lo), reason, lo->layer, lo->node, lo->tensor});
    }
  }
  // Candidate side: layer-map entries no reference layer took; without a map, computed tensors
  // that name no reference layer (graph inputs and outputs included).
  if (!candidate.layer_outputs.empty()) {
    for (const ir::LayerOutput& lo : candidate.layer_outputs)
      if (!used_map.count({lo.layer, lo.node}))
        out.unaligned_candidate.push_back({LayerLabel(lo), "no reference layer of this name", lo.layer, lo.node, -1});
  } else {
    std::set<int> paired;
    for (const LayerPair& p : out.pairs) paired.insert(p.candidate_tensor);
    std::vector<int> rest;
    for (const auto& [t, pos] : cand_order)
      if (!paired.count(t) && !attributed.count(t) && !candidate.tensors[t].is_constant) rest.push_back(t);
    by_cand_order(rest);
    for (int t : rest)
      out.unaligned_candidate.push_back({candidate.tensors[t].name, "names no reference layer", "", 0, -1});
  }
  return out;
}

}  // namespace ql::analysis
