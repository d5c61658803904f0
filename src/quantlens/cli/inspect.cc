// `quantlens inspect MODEL [--json]`: what a model file holds and what running it costs.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "quantlens/cli/commands.h"
#include "quantlens/cli/common.h"
#include "quantlens/cli/keras_inspect.h"
#include "quantlens/formats/model_loader.h"
#include "quantlens/runtime/interpreter.h"
#include "quantlens/util/printable.h"

namespace ql::cli {
namespace {

using nlohmann::json;

std::string TensorRefName(const ir::Graph& g, int t) {
  if (t < 0) return "-";
  const ir::Tensor& tensor = g.tensors[t];
  return fmt::format("t{}", tensor.source_index >= 0 ? tensor.source_index : t);
}

std::string QuantText(const ir::Quantization& q) {
  if (q.empty()) return "";
  if (q.per_axis()) return fmt::format("per-axis ({} scales, axis {})", q.scale.size(), q.axis);
  return fmt::format("scale {:.9g} zero_point {}", q.scale[0], q.zero_point.empty() ? 0 : q.zero_point[0]);
}

json QuantJson(const ir::Quantization& q) {
  if (q.empty()) return nullptr;
  return json{{"scale", q.scale}, {"zero_point", q.zero_point}, {"axis", q.axis},
              {"per_axis_count", q.per_axis() ? q.scale.size() : 0}};
}

std::string OpName(const ir::Op& op) {
  return op.type == ir::OpType::kCUSTOM ? fmt::format("CUSTOM:{}", op.custom_code)
                                        : std::string(ir::OpTypeName(op.type));
}

struct Facts {
  int64_t param_count = 0, param_bytes = 0, const_tensors = 0;
  std::unique_ptr<rt::Interpreter> interp;
  std::string interp_error;
};

const ir::Shape& ShapeOf(const Facts& f, const ir::Graph& g, int t) {
  return f.interp ? f.interp->tensor_shape(t) : g.tensors[t].shape;
}

json TensorJson(const Facts& f, const ir::Graph& g, int t) {
  const ir::Tensor& tensor = g.tensors[t];
  return json{{"index", tensor.source_index >= 0 ? tensor.source_index : t},
              {"name", tensor.name},
              {"dtype", std::string(ir::DTypeName(tensor.dtype))},
              {"shape", tensor.shape},
              {"resolved_shape", ShapeOf(f, g, t)},
              {"quantization", QuantJson(tensor.quant)}};
}

void PrintText(const ir::Graph& g, const Facts& f, std::ostream& out) {
  out << "model: " << Printable(g.source_path) << "\n";
  if (!g.description.empty()) out << "description: " << Printable(g.description) << "\n";
  auto io_line = [&](const char* kind, const std::vector<int>& list) {
    out << kind << ":\n";
    for (size_t i = 0; i < list.size(); ++i) {
      const int t = list[i];
      const ir::Tensor& tensor = g.tensors[t];
      out << fmt::format("  {} {} '{}' {} {} {}\n", i, TensorRefName(g, t), Printable(tensor.name),
                         ir::DTypeName(tensor.dtype), ir::ShapeToString(tensor.shape),
                         QuantText(tensor.quant));
    }
  };
  io_line("inputs", g.inputs);
  io_line("outputs", g.outputs);
  out << fmt::format("ops: {}\n", g.ops.size());
  out << fmt::format("  {:>4}  {:<28} {:<28} {:<12} {}\n", "#", "op", "inputs", "outputs", "output");
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const ir::Op& op = g.ops[i];
    std::string ins, outs, first;
    auto join = [&](const std::vector<int>& list) {
      std::string s;
      for (int t : list) {
        if (!s.empty()) s += ',';
        s += TensorRefName(g, t);
      }
      return s;
    };
    ins = join(op.inputs);
    outs = join(op.outputs);
    if (!op.outputs.empty() && op.outputs[0] >= 0) {
      const int t = op.outputs[0];
      first = fmt::format("{} {}", ir::DTypeName(g.tensors[t].dtype), ir::ShapeToString(ShapeOf(f, g, t)));
    }
    out << fmt::format("  {:>4}  {:<28} {:<28} {:<12} {}\n", op.source_index >= 0 ? op.source_index : int(i),
                       Printable(OpName(op)), ins, outs, first);
  }
  // Written by quantlens from a Keras model: which tensor holds each Keras layer's output.
  if (!g.layer_outputs.empty()) {
    out << fmt::format("layer map: {} Keras layer outputs\n", g.layer_outputs.size());
    for (const ir::LayerOutput& lo : g.layer_outputs)
      out << fmt::format("  {}{} -> {} '{}'\n", Printable(lo.layer),
                         lo.node ? fmt::format(":{}", lo.node) : "", TensorRefName(g, lo.tensor),
                         Printable(g.tensors[lo.tensor].name));
  }
  out << fmt::format("parameters: {} values in {} constant tensors, {} bytes\n", f.param_count,
                     f.const_tensors, f.param_bytes);
  if (f.interp) {
    out << fmt::format("activation memory: {} bytes planned arena, {} bytes folded at prepare\n",
                       f.interp->arena_bytes(), f.interp->static_bytes());
  } else {
    out << "activation memory: unknown (" << Printable(f.interp_error) << ")\n";
  }
}

json MakeJson(const ir::Graph& g, const Facts& f) {
  json j;
  j["model"] = g.source_path;
  j["description"] = g.description;
  j["inputs"] = json::array();
  for (int t : g.inputs) j["inputs"].push_back(TensorJson(f, g, t));
  j["outputs"] = json::array();
  for (int t : g.outputs) j["outputs"].push_back(TensorJson(f, g, t));
  j["ops"] = json::array();
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const ir::Op& op = g.ops[i];
    json o{{"index", op.source_index >= 0 ? op.source_index : static_cast<int>(i)},
           {"op", OpName(op)},
           {"version", op.version}};
    if (op.type == ir::OpType::kCUSTOM) o["custom_code"] = op.custom_code;
    json ins = json::array(), outs = json::array();
    for (int t : op.inputs) ins.push_back(t < 0 ? -1 : (g.tensors[t].source_index >= 0 ? g.tensors[t].source_index : t));
    for (int t : op.outputs) {
      if (t < 0) continue;
      outs.push_back(TensorJson(f, g, t));
    }
    o["inputs"] = ins;
    o["outputs"] = outs;
    j["ops"].push_back(o);
  }
  if (!g.layer_outputs.empty()) {
    json map = json::array();
    for (const ir::LayerOutput& lo : g.layer_outputs) {
      const ir::Tensor& t = g.tensors[lo.tensor];
      map.push_back({{"layer", lo.layer},
                     {"node", lo.node},
                     {"tensor", t.source_index >= 0 ? t.source_index : lo.tensor},
                     {"tensor_name", t.name}});
    }
    j["layer_map"] = std::move(map);
  }
  j["parameters"] = {{"count", f.param_count}, {"bytes", f.param_bytes}, {"tensors", f.const_tensors}};
  if (f.interp) {
    j["activation_memory"] = {{"arena_bytes", f.interp->arena_bytes()},
                              {"static_bytes", f.interp->static_bytes()}};
  } else {
    j["activation_memory"] = {{"error", f.interp_error}};
  }
  return j;
}

}  // namespace

int RunInspect(const InspectArgs& args) {
  if (LooksLikeKerasModel(args.model)) return InspectKeras(args.model, args.json, std::cout);
  auto graph = LoadModel(args.model);
  if (!graph.ok()) return Fail(graph.status());
  const ir::Graph& g = *graph;
  Facts f;
  for (const ir::Tensor& t : g.tensors) {
    if (!t.is_constant) continue;
    ++f.const_tensors;
    f.param_bytes += static_cast<int64_t>(t.data.size());
    auto n = ir::CheckedNumElements(t.shape);
    if (n.ok()) f.param_count += *n;
  }
  // A model quantlens cannot run (unsupported op) is still worth inspecting: report why the
  // memory plan is missing instead of failing.
  auto interp = rt::Interpreter::Create(g);
  if (interp.ok()) {
    f.interp = std::move(interp).value();
  } else {
    f.interp_error = interp.status().message();
  }
  if (args.json) {
    std::cout << MakeJson(g, f).dump(1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    PrintText(g, f, std::cout);
  }
  std::cout.flush();
  return std::cout ? kExitOk : Fail("cannot write to standard output");
}

}  // namespace ql::cli
