// Walks Sequential and Functional models (nested ones included) in the order Keras rebuilds them
// and lowers each layer call through the layer table.
#include <map>
#include <set>

#include "quantlens/formats/keras/keras_lowering.h"
#include "quantlens/formats/keras/lower_context.h"

namespace ql::keras {
namespace {

using nlohmann::json;

// The dtype a layer computes in: a string (Keras 2), a policy object (Keras 2 mixed precision,
// Keras 3 DTypePolicy) or absent (float32).
std::string LayerDType(const json& cfg) {
  auto it = cfg.find("dtype");
  if (it == cfg.end() || it->is_null()) return "float32";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("config");
    if (c != it->end() && c->is_object()) {
      auto n = c->find("name");
      if (n != c->end() && n->is_string()) return n->get<std::string>();
    }
  }
  return "unknown";
}

class ModelLowering {
 public:
  ModelLowering(ir::Graph& g, WeightStore& store, KerasFlavor flavor, std::string file,
                std::vector<KerasLayerInfo>* info)
      : b_(g), store_(store), flavor_(flavor), file_(std::move(file)), info_(info) {}

  // Lowers model `m`. At the top level (`bound` empty, `top` true) graph inputs are created;
  // a nested model gets its inputs bound to `bound`. `prefix` is prepended to layer names for
  // tags ("" or "submodel/"); `v3_prefix` is the model's Keras 3 weights path.
  Result<std::vector<Value>> Lower(const ModelSpec& m, bool top, const std::vector<Value>& bound,
                                   const std::string& prefix, const std::vector<std::string>& names,
                                   const std::string& v3_prefix, int outer_node) {
    // Keras 3 numbers the weight groups of a model's layers per class, in layer order.
    std::vector<WeightLocator> locs;
    std::map<std::string, int> per_class;
    for (const LayerSpec& l : m.layers) {
      const std::string snake = KerasSnakeCase(l.class_name);
      int k = per_class[snake]++;
      WeightLocator loc;
      loc.names = names;
      loc.names.push_back(l.name);
      loc.v3_path = v3_prefix + "layers/" + snake + (k > 0 ? "_" + std::to_string(k) : "");
      locs.push_back(std::move(loc));
    }
    if (m.sequential()) return LowerSequential(m, top, bound, prefix, locs, outer_node);
    return LowerFunctional(m, top, bound, prefix, locs, outer_node);
  }

 private:
  std::string Where(const std::string& tag, const LayerSpec& l) const {
    return fmt::format("{}: layer '{}' ({}): ", file_, tag, l.class_name);
  }

  Result<Value> MakeGraphInput(const LayerSpec& l, const std::string& tag, std::vector<int64_t> shape) {
    if (shape.empty()) return InvalidModel("{}input has no shape", Where(tag, l));
    for (size_t i = 1; i < shape.size(); ++i)
      if (shape[i] < 0)
        return Unsupported("{}input dimension {} is unknown (None); quantlens needs static shapes",
                           Where(tag, l), i);
    // Keras always has a batch dimension first; keep it open.
    shape[0] = -1;
    const std::string dtype = LayerDType(l.config);
    if (dtype != "float32")
      return Unsupported("{}input dtype is {}; only float32 models are lowered", Where(tag, l), dtype);
    const int t = b_.AddTensor(tag, ir::DType::kFloat32, shape, tag, 0);
    b_.graph().inputs.push_back(t);
    return Value{t, shape};
  }

  Result<std::vector<int64_t>> InputShapeOf(const LayerSpec& l, const std::string& tag) {
    ConfigView c(l.config, Where(tag, l));
    if (!c.IsNull("batch_shape")) return c.ShapeList("batch_shape");
    if (!c.IsNull("batch_input_shape")) return c.ShapeList("batch_input_shape");
    if (!c.IsNull("shape")) {
      QL_ASSIGN_OR_RETURN(auto s, c.ShapeList("shape"));
      s.insert(s.begin(), -1);
      return s;
    }
    return std::vector<int64_t>{};
  }

  // Records the layer's outputs and names each tensor the layer itself produced after the layer
  // ("conv2d", "conv2d:1" for a shared layer's second call), so reports and dumps speak in Keras
  // names. A pass-through (Dropout at inference) keeps its producer's name.
  void Record(const std::string& tag, int node, const std::vector<Value>& outs) {
    for (size_t k = 0; k < outs.size(); ++k) {
      const Value& v = outs[k];
      b_.graph().layer_outputs.push_back({tag, node, v.tensor});
      ir::Tensor& t = b_.graph().tensors[v.tensor];
      if (t.layer != tag || t.layer_node != node || t.is_constant) continue;
      t.name = tag + (node ? fmt::format(":{}", node) : "") + (outs.size() > 1 ? fmt::format("/{}", k) : "");
    }
  }

  void Describe(const std::string& tag, const std::string& cls, int node, const std::vector<Value>& outs,
                int64_t params, std::vector<std::string> inbound) {
    if (!info_) return;
    KerasLayerInfo row;
    row.name = tag;
    row.class_name = cls;
    row.node = node;
    for (const Value& v : outs) row.output_shapes.push_back(v.shape);
    row.params = params;
    row.inbound = std::move(inbound);
    info_->push_back(std::move(row));
  }

  // Lowers one call of layer `l` on `inputs`.
  Result<std::vector<Value>> CallLayer(const LayerSpec& l, const WeightLocator& loc,
                                       const std::string& tag, int node,
                                       const std::vector<Value>& inputs,
                                       std::vector<std::string> inbound) {
    if (l.model) {
      auto names = loc.names;
      QL_ASSIGN_OR_RETURN(auto outs, Lower(*l.model, false, inputs, tag + "/", names,
                                           loc.v3_path + "/", node));
      Record(tag, node, outs);
      Describe(tag, l.class_name, node, outs, 0, std::move(inbound));
      return outs;
    }
    const LayerTable& table = KerasLayerTable();
    auto it = table.find(l.class_name);
    if (it == table.end()) {
      if (l.class_name == "Lambda" || l.class_name == "TFOpLambda" || l.class_name == "SlicingOpLambda")
        return Unsupported("{}Lambda layers hold Python code, which quantlens cannot run", Where(tag, l));
      return Unsupported("{}unsupported layer class (a custom layer, or one quantlens does not lower)",
                         Where(tag, l));
    }
    if (!l.inbound_error.empty()) return InvalidModel("{}{}", Where(tag, l), l.inbound_error);
    const std::string dtype = LayerDType(l.config);
    if (dtype != "float32")
      return Unsupported("{}dtype policy '{}' is not float32; only float32 models are lowered",
                         Where(tag, l), dtype);
    LayerCtx ctx(b_, l, tag, node, flavor_, file_, store_, loc, inputs);
    // nlohmann accessors inside lowerings may throw on odd configs; keep that inside the library.
    Result<std::vector<Value>> outs = std::vector<Value>{};
    try {
      outs = it->second(ctx);
    } catch (const nlohmann::json::exception& e) {
      return InvalidModel("{}malformed config: {}", Where(tag, l), e.what());
    }
    if (!outs.ok()) return outs.status();
    Record(tag, node, *outs);
    Describe(tag, l.class_name, node, *outs, ctx.params_loaded(), std::move(inbound));
    return outs;
  }

  Result<std::vector<Value>> LowerSequential(const ModelSpec& m, bool top, const std::vector<Value>& bound,
                                             const std::string& prefix,
                                             const std::vector<WeightLocator>& locs, int outer_node) {
    if (m.layers.empty()) return InvalidModel("{}: Sequential model '{}' has no layers", file_, m.name);
    Value cur;
    size_t first = 0;
    std::string prev;  // the layer feeding the next one, for the inspect table
    if (!top) {
      if (bound.size() != 1)
        return InvalidModel("{}: Sequential model '{}' called with {} inputs", file_, m.name, bound.size());
      cur = bound[0];
      if (m.layers[0].class_name == "InputLayer") {
        Record(prefix + m.layers[0].name, outer_node, {cur});
        first = 1;
      }
    } else {
      const LayerSpec& l0 = m.layers[0];
      if (l0.class_name == "InputLayer") {
        QL_ASSIGN_OR_RETURN(auto shape, InputShapeOf(l0, prefix + l0.name));
        QL_ASSIGN_OR_RETURN(cur, MakeGraphInput(l0, prefix + l0.name, shape));
        Record(prefix + l0.name, 0, {cur});
        Describe(prefix + l0.name, l0.class_name, 0, {cur}, 0, {});
        prev = prefix + l0.name;
        first = 1;
      } else {
        // Keras 2 puts the input shape on the first layer and names the implicit input
        // "<layer>_input"; Keras 3 keeps it in the model's build_config.
        QL_ASSIGN_OR_RETURN(auto shape, InputShapeOf(l0, prefix + l0.name));
        if (shape.empty()) shape = m.build_input_shape;
        if (shape.empty())
          return InvalidModel("{}: Sequential model '{}' declares no input shape", file_, m.name);
        const std::string in_name = l0.name + "_input";
        QL_ASSIGN_OR_RETURN(cur, MakeGraphInput(l0, prefix + in_name, shape));
        Record(prefix + in_name, 0, {cur});
        Describe(prefix + in_name, "InputLayer", 0, {cur}, 0, {});
        prev = prefix + in_name;
      }
    }
    for (size_t i = first; i < m.layers.size(); ++i) {
      const LayerSpec& l = m.layers[i];
      if (l.class_name == "InputLayer")
        return InvalidModel("{}InputLayer in the middle of a Sequential model", Where(prefix + l.name, l));
      std::vector<std::string> inbound;
      if (!prev.empty()) inbound.push_back(prev);
      QL_ASSIGN_OR_RETURN(auto outs, CallLayer(l, locs[i], prefix + l.name, outer_node, {cur}, inbound));
      prev = prefix + l.name;
      if (outs.size() != 1)
        return InvalidModel("{}gives {} outputs; a Sequential layer must give one",
                            Where(prefix + l.name, l), outs.size());
      cur = outs[0];
    }
    if (top) b_.graph().outputs.push_back(cur.tensor);
    return std::vector<Value>{cur};
  }

  Result<std::vector<Value>> LowerFunctional(const ModelSpec& m, bool top, const std::vector<Value>& bound,
                                             const std::string& prefix,
                                             const std::vector<WeightLocator>& locs, int outer_node) {
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      if (!by_name.emplace(m.layers[i].name, i).second)
        return InvalidModel("{}: model '{}' has two layers named '{}'", file_, m.name, m.layers[i].name);
    }
    // A layer whose inbound nodes did not parse is never called below: say why here, rather
    // than "output never produced" later.
    for (const LayerSpec& l : m.layers)
      if (!l.inbound_error.empty()) return InvalidModel("{}{}", Where(prefix + l.name, l), l.inbound_error);
    // Outputs of each (layer, node) call, as Keras's keras_history refers to them.
    std::map<std::pair<std::string, int>, std::vector<Value>> produced;
    std::vector<size_t> next_node(m.layers.size(), 0);

    if (!top && bound.size() != m.inputs.size())
      return InvalidModel("{}: model '{}' takes {} inputs, called with {}", file_, m.name,
                          m.inputs.size(), bound.size());
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      const KerasTensorRef& r = m.inputs[i];
      auto it = by_name.find(r.layer);
      if (it == by_name.end() || m.layers[it->second].class_name != "InputLayer")
        return InvalidModel("{}: model '{}': input '{}' is not an InputLayer of the model", file_,
                            m.name, r.layer);
      const LayerSpec& l = m.layers[it->second];
      Value v;
      if (top) {
        QL_ASSIGN_OR_RETURN(auto shape, InputShapeOf(l, prefix + l.name));
        QL_ASSIGN_OR_RETURN(v, MakeGraphInput(l, prefix + l.name, shape));
      } else {
        v = bound[i];
      }
      produced[{l.name, 0}] = {v};
      next_node[it->second] = 1;
      Record(prefix + l.name, top ? 0 : outer_node, {v});
      Describe(prefix + l.name, l.class_name, top ? 0 : outer_node, {v}, 0, {});
    }

    // Keras rebuilds a functional model by repeatedly calling, in layer order, every layer whose
    // next call has all its inputs; shared layers may depend on later layers, hence the loop.
    size_t remaining = 0;
    for (size_t i = 0; i < m.layers.size(); ++i)
      if (m.layers[i].class_name != "InputLayer") remaining += m.layers[i].inbound_nodes.size();
    bool progress = true;
    while (remaining > 0 && progress) {
      progress = false;
      for (size_t i = 0; i < m.layers.size(); ++i) {
        const LayerSpec& l = m.layers[i];
        if (l.class_name == "InputLayer") continue;
        while (next_node[i] < l.inbound_nodes.size()) {
          const auto& refs = l.inbound_nodes[next_node[i]];
          std::vector<Value> ins;
          std::vector<std::string> inbound;
          bool ready = true;
          for (const KerasTensorRef& r : refs) {
            inbound.push_back(prefix + r.layer + (r.node > 0 ? ":" + std::to_string(r.node) : ""));
            auto p = produced.find({r.layer, r.node});
            if (p == produced.end()) {
              ready = false;
              break;
            }
            if (r.tensor < 0 || r.tensor >= static_cast<int>(p->second.size()))
              return InvalidModel("{}input refers to output {} of '{}', which has {}",
                                  Where(prefix + l.name, l), r.tensor, r.layer, p->second.size());
            ins.push_back(p->second[r.tensor]);
          }
          if (!ready) break;
          const int node = static_cast<int>(next_node[i]);
          if (ins.empty()) return InvalidModel("{}call {} has no inputs", Where(prefix + l.name, l), node);
          // Inside a nested model called several times, tag by the outer call.
          const int tag_node = top ? node : outer_node;
          QL_ASSIGN_OR_RETURN(auto outs, CallLayer(l, locs[i], prefix + l.name, tag_node, ins, inbound));
          produced[{l.name, node}] = std::move(outs);
          ++next_node[i];
          --remaining;
          progress = true;
        }
      }
    }
    if (remaining > 0) {
      for (size_t i = 0; i < m.layers.size(); ++i) {
        const LayerSpec& l = m.layers[i];
        if (l.class_name != "InputLayer" && next_node[i] < l.inbound_nodes.size())
          return InvalidModel("{}call {} waits for an input no layer produces", Where(prefix + l.name, l),
                              next_node[i]);
      }
    }
    std::vector<Value> outs;
    for (const KerasTensorRef& r : m.outputs) {
      auto p = produced.find({r.layer, r.node});
      if (p == produced.end() || r.tensor < 0 || r.tensor >= static_cast<int>(p->second.size()))
        return InvalidModel("{}: model '{}': output '{}' (node {}, tensor {}) is never produced", file_,
                            m.name, r.layer, r.node, r.tensor);
      outs.push_back(p->second[r.tensor]);
    }
    if (top)
      for (const Value& v : outs) b_.graph().outputs.push_back(v.tensor);
    return outs;
  }

  GraphBuilder b_;
  WeightStore& store_;
  KerasFlavor flavor_;
  std::string file_;
  std::vector<KerasLayerInfo>* info_;
};

}  // namespace

Result<ir::Graph> LowerKerasModel(const ModelSpec& model, WeightStore& store, KerasFlavor flavor,
                                  const std::string& file, ir::SourceFormat format,
                                  std::vector<KerasLayerInfo>* layers) {
  ir::Graph g;
  g.source_path = file;
  g.format = format;
  g.description = fmt::format("Keras {} model '{}' ({})", flavor == KerasFlavor::kKeras3 ? 3 : 2,
                              model.name, model.class_name);
  ModelLowering lowering(g, store, flavor, file, layers);
  QL_ASSIGN_OR_RETURN(auto outs, lowering.Lower(model, true, {}, "", {}, "", 0));
  (void)outs;
  QL_RETURN_IF_ERROR(ir::VerifyGraph(g).WithContext(file + ": lowered graph: "));
  return g;
}

}  // namespace ql::keras
