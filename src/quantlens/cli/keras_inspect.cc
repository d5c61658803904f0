// `quantlens inspect MODEL.h5|MODEL.keras`: the Keras layer table (name, class, output shape,
// stored parameters, inbound layers) of the model as quantlens lowers it.
#include "quantlens/cli/keras_inspect.h"

#include <nlohmann/json.hpp>

#include "quantlens/cli/common.h"
#include "quantlens/formats/keras/reader.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

std::string ShapeText(const std::vector<ir::Shape>& shapes) {
  std::string s;
  for (const auto& sh : shapes) {
    if (!s.empty()) s += ", ";
    s += "(";
    for (size_t i = 0; i < sh.size(); ++i) {
      if (i) s += ", ";
      s += sh[i] < 0 ? std::string("None") : std::to_string(sh[i]);
    }
    s += sh.size() == 1 ? ",)" : ")";
  }
  return s;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + Printable(e);
  return s;
}

// Printed, so escaped (names come from the file).
std::string LayerKey(const keras::KerasLayerInfo& l) {
  return Printable(l.node > 0 ? l.name + ":" + std::to_string(l.node) : l.name);
}

}  // namespace

int InspectKeras(const std::string& path, bool json, std::ostream& out) {
  auto info = keras::ReadKerasModelInfo(path);
  if (!info.ok()) return Fail(info.status());
  const keras::KerasModelInfo& m = *info;
  const ir::Graph& g = m.graph;
  int64_t total = 0;
  for (const auto& l : m.layers) total += l.params;
  if (json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : m.layers) {
      nlohmann::json shapes = nlohmann::json::array();
      for (const auto& s : l.output_shapes) {
        nlohmann::json dims = nlohmann::json::array();
        for (int64_t d : s) dims.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
        shapes.push_back(dims);
      }
      layers.push_back({{"name", l.name}, {"class", l.class_name}, {"node", l.node},
                        {"output_shapes", shapes}, {"params", l.params}, {"inbound", l.inbound}});
    }
    nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
    for (int t : g.inputs) inputs.push_back({{"name", g.tensors[t].name}, {"shape", g.tensors[t].shape}});
    for (int t : g.outputs)
      outputs.push_back({{"layer", g.tensors[t].layer}, {"name", g.tensors[t].name}, {"shape", g.tensors[t].shape}});
    nlohmann::json doc = {{"path", path},
                          {"format", m.container == "h5" ? "keras_h5" : "keras_v3"},
                          {"keras_version", m.keras_version},
                          {"backend", m.backend},
                          {"model_class", m.model_class},
                          {"model_name", m.model_name},
                          {"total_params", total},
                          {"inputs", inputs},
                          {"outputs", outputs},
                          {"layers", layers},
                          {"ir_ops", g.ops.size()}};
    // Names come from the file: invalid UTF-8 becomes U+FFFD instead of an exception.
    out << doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  out << fmt::format("{}: Keras {} model '{}' ({}), keras_version {}{}\n", Printable(path),
                     m.container == "h5" ? ".h5" : ".keras", Printable(m.model_name),
                     Printable(m.model_class),
                     m.keras_version.empty() ? "unknown" : Printable(m.keras_version),
                     m.backend.empty() ? "" : ", backend " + Printable(m.backend));
  size_t wn = 5, wc = 5, ws = 12;
  for (const auto& l : m.layers) {
    wn = std::max(wn, LayerKey(l).size());
    wc = std::max(wc, Printable(l.class_name).size());
    ws = std::max(ws, ShapeText(l.output_shapes).size());
  }
  out << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>10}  {}\n", "layer", wn, "class", wc, "output shape", ws,
                     "params", "inbound");
  for (const auto& l : m.layers)
    out << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>10}  {}\n", LayerKey(l), wn, Printable(l.class_name), wc,
                       ShapeText(l.output_shapes), ws, l.params, Joined(l.inbound));
  out << fmt::format("total parameters: {}; lowered to {} IR ops, {} tensors\n", total, g.ops.size(),
                     g.tensors.size());
  return kExitOk;
}

}  // namespace ql::cli
