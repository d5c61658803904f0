#include "quantlens/formats/keras/model_config.h"

#include <cstdlib>

namespace ql::keras {
namespace {

using nlohmann::json;

// Keras 2 writes a connection as [layer, node, tensor] or [layer, node, tensor, kwargs].
bool IsHistoryTriple(const json& j) {
  return j.is_array() && j.size() >= 3 && j[0].is_string() && j[1].is_number_integer() &&
         j[2].is_number_integer();
}

KerasTensorRef RefFromTriple(const json& j) {
  return {j[0].get<std::string>(), j[1].get<int>(), j[2].get<int>()};
}

// Keras 3 writes call arguments as nested lists and dicts holding
// {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}.
void CollectKeras3Tensors(const json& j, std::vector<KerasTensorRef>& out, bool& bad, int depth) {
  if (depth > 32) {
    bad = true;
    return;
  }
  if (j.is_object()) {
    auto cls = j.find("class_name");
    if (cls != j.end() && cls->is_string() && *cls == "__keras_tensor__") {
      const json* hist = nullptr;
      auto cfg = j.find("config");
      if (cfg != j.end() && cfg->is_object() && cfg->contains("keras_history")) hist = &(*cfg)["keras_history"];
      if (!hist || !IsHistoryTriple(*hist)) {
        bad = true;
        return;
      }
      out.push_back(RefFromTriple(*hist));
      return;
    }
    for (const auto& [k, v] : j.items()) CollectKeras3Tensors(v, out, bad, depth + 1);
  } else if (j.is_array()) {
    for (const auto& v : j) CollectKeras3Tensors(v, out, bad, depth + 1);
  }
}

// One inbound node in either spelling; false if it is in neither.
bool ParseInboundNode(const json& node, std::vector<KerasTensorRef>& refs) {
  if (node.is_object() && node.contains("args")) {  // Keras 3
    bool bad = false;
    CollectKeras3Tensors(node["args"], refs, bad, 0);
    // Inputs passed by keyword (layer(inputs=x)) sit in kwargs; use them only if args had none.
    if (refs.empty() && node.contains("kwargs")) CollectKeras3Tensors(node["kwargs"], refs, bad, 0);
    return !bad;
  }
  if (node.is_array()) {  // Keras 2: a list of triples
    for (const auto& e : node) {
      if (!IsHistoryTriple(e)) return false;
      refs.push_back(RefFromTriple(e));
    }
    return true;
  }
  return false;
}

// input_layers / output_layers: one triple, a list of triples, or (Keras 3) a dict of them,
// flattened in sorted key order as Keras's tree.flatten does (nlohmann objects are key-sorted).
bool ParseEndpoints(const json& j, std::vector<KerasTensorRef>& out) {
  if (IsHistoryTriple(j)) {
    out.push_back(RefFromTriple(j));
    return true;
  }
  if (j.is_array() || j.is_object()) {
    for (const auto& e : j) {
      if (!ParseEndpoints(e, out)) return false;
    }
    return true;
  }
  return false;
}

Result<ModelSpec> ParseModel(const json& model, const std::string& where, int depth);

Result<LayerSpec> ParseLayer(const json& lj, const std::string& where, size_t index, int depth) {
  if (!lj.is_object() || !lj.contains("class_name") || !lj["class_name"].is_string())
    return InvalidModel("{}: layer #{} has no class_name", where, index);
  LayerSpec l;
  l.class_name = lj["class_name"].get<std::string>();
  if (!lj.contains("config") || !lj["config"].is_object())
    return InvalidModel("{}: layer #{} ({}) has no config object", where, index, l.class_name);
  l.config = lj["config"];
  if (lj.contains("name") && lj["name"].is_string()) l.name = lj["name"].get<std::string>();
  else if (l.config.contains("name") && l.config["name"].is_string()) l.name = l.config["name"].get<std::string>();
  else return InvalidModel("{}: layer #{} ({}) has no name", where, index, l.class_name);
  if (lj.contains("inbound_nodes") && !lj["inbound_nodes"].is_null()) {
    const json& nodes = lj["inbound_nodes"];
    if (!nodes.is_array()) {
      l.inbound_error = "inbound_nodes is not a list";
    } else {
      for (const auto& node : nodes) {
        std::vector<KerasTensorRef> refs;
        if (!ParseInboundNode(node, refs)) {
          l.inbound_error = "an inbound node is neither a Keras 2 nor a Keras 3 connection list";
          break;
        }
        l.inbound_nodes.push_back(std::move(refs));
      }
    }
  }
  if (IsModelClass(l.class_name) && l.config.contains("layers")) {
    QL_ASSIGN_OR_RETURN(auto sub, ParseModel(lj, where, depth + 1));
    l.model = std::make_unique<ModelSpec>(std::move(sub));
  }
  return l;
}

Result<ModelSpec> ParseModel(const json& model, const std::string& where, int depth) {
  if (depth > 16) return Unsupported("{}: models nested more than 16 deep", where);
  if (!model.is_object() || !model.contains("class_name") || !model["class_name"].is_string())
    return InvalidModel("{}: model config has no class_name", where);
  ModelSpec m;
  m.class_name = model["class_name"].get<std::string>();
  if (!IsModelClass(m.class_name))
    return Unsupported("{}: top-level object is a '{}', not a Sequential or Functional model", where,
                       m.class_name);
  if (!model.contains("config") || !model["config"].is_object())
    return InvalidModel("{}: model '{}' has no config object", where, m.class_name);
  const json& cfg = model["config"];
  if (cfg.contains("name") && cfg["name"].is_string()) m.name = cfg["name"].get<std::string>();
  if (!cfg.contains("layers") || !cfg["layers"].is_array())
    return Unsupported("{}: model '{}' ({}) has no layer list (subclassed models are not readable)",
                       where, m.name, m.class_name);
  const json& layers = cfg["layers"];
  for (size_t i = 0; i < layers.size(); ++i) {
    QL_ASSIGN_OR_RETURN(auto l, ParseLayer(layers[i], where, i, depth));
    m.layers.push_back(std::move(l));
  }
  if (!m.sequential()) {
    if (!cfg.contains("input_layers") || !ParseEndpoints(cfg["input_layers"], m.inputs) || m.inputs.empty())
      return InvalidModel("{}: model '{}' ({}): input_layers missing or malformed", where, m.name,
                          m.class_name);
    if (!cfg.contains("output_layers") || !ParseEndpoints(cfg["output_layers"], m.outputs) ||
        m.outputs.empty())
      return InvalidModel("{}: model '{}' ({}): output_layers missing or malformed", where, m.name,
                          m.class_name);
  }
  // Keras 3 keeps the input shape of a Sequential model built without an InputLayer here.
  if (model.contains("build_config") && model["build_config"].is_object()) {
    const json& bc = model["build_config"];
    if (bc.contains("input_shape") && bc["input_shape"].is_array()) {
      for (const auto& d : bc["input_shape"]) {
        if (d.is_null()) m.build_input_shape.push_back(-1);
        else if (d.is_number_integer() && d.get<int64_t>() >= 0) m.build_input_shape.push_back(d.get<int64_t>());
        else {
          m.build_input_shape.clear();
          break;
        }
      }
    }
  }
  return m;
}

}  // namespace

bool IsModelClass(const std::string& c) {
  return c == "Sequential" || c == "Functional" || c == "Model";
}

Result<ModelSpec> ParseModelConfig(const nlohmann::json& model, const std::string& where) {
  // nlohmann's accessors can throw on unexpected types deep inside; keep them inside the library.
  try {
    return ParseModel(model, where, 0);
  } catch (const nlohmann::json::exception& e) {
    return InvalidModel("{}: malformed model config: {}", where, e.what());
  }
}

KerasFlavor FlavorFromVersion(const std::string& v, const nlohmann::json& model_config) {
  if (!v.empty() && v[0] >= '0' && v[0] <= '9') {
    const int major = std::atoi(v.c_str());
    return major >= 3 ? KerasFlavor::kKeras3 : KerasFlavor::kKeras2;
  }
  // No usable version: Keras 3 writes dtype policies as objects, Keras 2 as strings.
  const std::string dumped = model_config.dump();
  return dumped.find("\"DTypePolicy\"") != std::string::npos ? KerasFlavor::kKeras3
                                                              : KerasFlavor::kKeras2;
}

}  // namespace ql::keras
