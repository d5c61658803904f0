// Running one op of a golden model in isolation on the genuine runtime's own tensors: the cases
// that have an all-tensor dump (<engine>.all.npz), loading that dump, and feeding an op's inputs
// from it. Shared by the per-op-family golden tests (conv_golden_test, elementwise_golden_test),
// which differ only in which ops they pick and how they compare the outputs.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "corpus/golden_catalog.h"
#include "quantlens/ir/graph.h"
#include "quantlens/io/npy.h"
#include "quantlens/io/npz.h"
#include "quantlens/runtime/kernel.h"
#include "testing/single_op.h"

namespace ql::testing {

struct AllTensorCase {
  std::string model, input_dir, model_path, engine;
};

// One case per model and engine ("native", "tfjs-a6"): the first input folder holding that
// engine's all-tensor dump (it exists for one input folder per model, not always the first).
// tfjs-a6 runs with the XNNPACK delegate are left out: XNNPACK's arithmetic is not modelled.
inline std::vector<AllTensorCase> ListAllTensorCases() {
  std::vector<AllTensorCase> cases;
  for (const auto& m : ListGoldenModels()) {
    if (m.model_path.empty()) continue;
    for (const char* e : {"native", "tfjs-a6"}) {
      for (const auto& in : m.inputs) {
        const GoldenEngine* ge = in.engine(e);
        if (!ge || ge->failed || ge->xnnpack_applied) continue;
        if (!std::filesystem::exists(in.dir + "/" + e + ".all.npz")) continue;
        cases.push_back({m.name, in.dir, m.model_path, e});
        break;
      }
    }
  }
  return cases;
}

// The key of a graph tensor in the dump: "t" and its index in the source file.
inline std::string DumpKey(const ir::Tensor& t) { return "t" + std::to_string(t.source_index); }

// Every tensor of the case's dump plus the model inputs (input<i>.npy), keyed by DumpKey.
inline Result<std::map<std::string, io::Array>> LoadAllTensors(const AllTensorCase& c,
                                                               const ir::Graph& graph) {
  auto all = io::ReadNpz(c.input_dir + "/" + c.engine + ".all.npz");
  if (!all.ok()) return all.status();
  std::map<std::string, io::Array> tensors;
  for (auto& a : *all) tensors[a.name] = std::move(a.array);
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    auto a = io::ReadNpyFile(c.input_dir + "/input" + std::to_string(i) + ".npy");
    if (!a.ok()) return a.status();
    tensors[DumpKey(graph.tensors[graph.inputs[i]])] = std::move(*a);
  }
  return tensors;
}

// The numerics of the engine that wrote the case's dump.
inline rt::OpNumerics NumericsOf(const AllTensorCase& c) {
  return c.engine == "native" ? rt::OpNumerics::kBuiltinX86 : rt::OpNumerics::kBuiltinWasm;
}

// Adds `op`'s inputs to `single`: constants from the graph, the rest from `tensors`. False when an
// input was not dumped (the op cannot be checked in isolation).
inline bool AddDumpedInputs(const ir::Graph& graph, const ir::Op& op,
                            const std::map<std::string, io::Array>& tensors, SingleOp* single) {
  for (int idx : op.inputs) {
    if (idx < 0) {
      single->AddAbsentInput();
      continue;
    }
    const ir::Tensor& t = graph.tensors[idx];
    if (t.is_constant) {
      single->AddInput(t.dtype, t.shape, t.data, t.quant, true);
      continue;
    }
    auto it = tensors.find(DumpKey(t));
    if (it == tensors.end()) return false;
    single->AddInput(t.dtype, it->second.shape, it->second.data, t.quant, false);
  }
  return true;
}

}  // namespace ql::testing
