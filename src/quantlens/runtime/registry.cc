#include "quantlens/runtime/registry.h"

#include <algorithm>

namespace ql::rt {

std::string KernelArgs::Where() const {
  return fmt::format("{}: {}: ", graph.source_path.empty() ? "model" : graph.source_path,
                     graph.OpLabel(op_index));
}

const CpuFeatures& HostCpuFeatures() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2");
    c.fma = __builtin_cpu_supports("fma");
    c.avx512f = __builtin_cpu_supports("avx512f");
    c.avx512vnni = __builtin_cpu_supports("avx512vnni");
#endif
    return c;
  }();
  return f;
}

std::string_view CpuLevelName(CpuLevel l) {
  switch (l) {
    case CpuLevel::kPortable: return "portable";
    case CpuLevel::kAvx2: return "avx2";
    case CpuLevel::kAvx512Vnni: return "avx512-vnni";
  }
  return "?";
}

const KernelRegistry& KernelRegistry::Global() {
  static const KernelRegistry* r = [] {
    auto* reg = new KernelRegistry();
    RegisterAllKernels(*reg);
    return reg;
  }();
  return *r;
}

void KernelRegistry::Add(ir::OpType type, KernelFactory factory) { builtin_[type] = factory; }

void KernelRegistry::AddCustom(std::string_view custom_code, KernelFactory factory) {
  custom_[std::string(custom_code)] = factory;
}

void KernelRegistry::AddVariant(ir::OpType type, KernelVariant variant) {
  variants_[type].push_back(std::move(variant));
}

KernelFactory KernelRegistry::Find(const ir::Op& op) const {
  if (op.type == ir::OpType::kCUSTOM) {
    auto it = custom_.find(op.custom_code);
    return it == custom_.end() ? nullptr : it->second;
  }
  auto it = builtin_.find(op.type);
  return it == builtin_.end() ? nullptr : it->second;
}

KernelFactory KernelRegistry::Select(const ir::Graph& graph, const ir::Op& op, OpNumerics numerics,
                                     const KernelSelection& selection, std::string* chosen) const {
  if (chosen) *chosen = "reference";
  if (!selection.reference_only && op.type != ir::OpType::kCUSTOM) {
    if (auto it = variants_.find(op.type); it != variants_.end()) {
      const ir::DType in0 = !op.inputs.empty() && op.inputs[0] >= 0 &&
                                    op.inputs[0] < static_cast<int>(graph.tensors.size())
                                ? graph.tensors[op.inputs[0]].dtype
                                : ir::DType::kUnknown;
      for (const KernelVariant& v : it->second) {
        const bool cpu_ok = v.needs == CpuLevel::kPortable ||
                            (v.needs == CpuLevel::kAvx2 && selection.cpu.avx2) ||
                            (v.needs == CpuLevel::kAvx512Vnni && selection.cpu.avx512vnni);
        const bool type_ok = v.input_types.empty() ||
                             std::find(v.input_types.begin(), v.input_types.end(), in0) != v.input_types.end();
        const bool numerics_ok = v.numerics.empty() ||
                                 std::find(v.numerics.begin(), v.numerics.end(), numerics) != v.numerics.end();
        if (cpu_ok && type_ok && numerics_ok) {
          if (chosen) *chosen = v.name;
          return v.factory;
        }
      }
    }
  }
  return Find(op);
}

const std::vector<KernelVariant>& KernelRegistry::Variants(ir::OpType type) const {
  static const std::vector<KernelVariant> none;
  auto it = variants_.find(type);
  return it == variants_.end() ? none : it->second;
}

}  // namespace ql::rt
